#!/usr/bin/env bash
# Stop only the daemons start-slurm.sh started (their pids are in $SLURM_CI_DIR/run/started/<name>), in
# reverse start order, after cancelling the jobs still on that controller. A pid is signalled only while
# /proc/<pid>/comm still names the expected program. Idempotent: nothing recorded, nothing done.
# SLURM_CI_PURGE=1 also deletes the state, logs and accounting database under $SLURM_CI_DIR.
set -uo pipefail
D=${SLURM_CI_DIR:-/tmp/kexue-repro-slurm}
S="$D/run/started"

[ "$(id -u)" = 0 ] || { echo "stop-slurm: ERROR: must run as root" >&2; exit 1; }

stop() {  # stop <name>:<comm> ...: TERM them all, wait up to 15 s, KILL what is left
  local entry name comm pid
  local -A pids=()
  for entry in "$@"; do
    name=${entry%%:*} comm=${entry#*:}
    [ -s "$S/$name" ] || continue
    pid=$(cat "$S/$name")
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]; then
      kill -TERM "$pid" 2>/dev/null && pids[$name]=$pid
    else
      echo "stop-slurm: $name ($pid) was not running"
    fi
    rm -f "$S/$name"
  done
  for _ in $(seq 1 75); do
    for name in "${!pids[@]}"; do
      [ -e "/proc/${pids[$name]}" ] || { echo "stop-slurm: $name (${pids[$name]}) stopped"; unset "pids[$name]"; }
    done
    [ ${#pids[@]} = 0 ] && return 0
    sleep 0.2
  done
  for name in "${!pids[@]}"; do
    kill -KILL "${pids[$name]}" 2>/dev/null
    echo "stop-slurm: $name (${pids[$name]}) killed"
  done
}

# Cancel what is still queued or running on our controller, so no slurmstepd outlives slurmd.
if [ -s "$S/slurmctld" ] && [ "$(cat "/proc/$(cat "$S/slurmctld")/comm" 2>/dev/null)" = slurmctld ]; then
  scancel --partition=debug 2>/dev/null || true
  for _ in $(seq 1 50); do squeue -h -t R,CG,PD 2>/dev/null | grep -q . || break; sleep 0.2; done
fi

# The cluster first, then what it used (slurmctld hands its last accounting records to slurmdbd).
stop slurmd:slurmd slurmctld:slurmctld
stop slurmdbd:slurmdbd mariadbd:mariadbd munged:munged

if [ "${SLURM_CI_PURGE:-0}" = 1 ]; then
  rm -rf "$D/state" "$D/mysql" "$D/run" "$D/log"
  echo "stop-slurm: purged the state under $D"
fi
