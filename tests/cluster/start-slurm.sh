#!/usr/bin/env bash
# Install, configure and start a real single-node SLURM cluster for the cluster tests: munge, MariaDB +
# slurmdbd (accounting, so `sacct` works: the executor plugin asks sacct for job states), slurmctld and
# slurmd, as root, without systemd or cgroups. The node offers one GPU as a generic resource (a count,
# bound to no device) so a job's GPU request is scheduled, allocated and accounted like on a GPU cluster.
#
# Idempotent: installs only missing packages, starts only daemons not already running, and records the
# ones it started in $SLURM_CI_DIR/run/started/ (stop-slurm.sh stops those and nothing else).
# Adapted from ../shared/reference/slurm/start-slurm.sh.
#
#   SLURM_CI_DIR=/tmp/kexue-repro-slurm   state, logs, pid files, MariaDB datadir
#   SLURM_CI_DB_PORT=3307                  port of the private MariaDB (127.0.0.1 only)
#   SLURM_CI_REALMEM                       node RealMemory in MB (default min(20000, 85% of MemTotal))
#
# The config must be /etc/slurm/slurm.conf (the compiled-in default): the plugin's job step strips
# SLURM_CONF before its nested `srun`. A slurm.conf this script did not write is never overwritten.
set -euo pipefail

D=${SLURM_CI_DIR:-/tmp/kexue-repro-slurm}
DBPORT=${SLURM_CI_DB_PORT:-3307}
NODE=localhost
MARK="# Written by kexue-repro tests/cluster/start-slurm.sh"
T0=$(date +%s.%N)

log() { printf '[start-slurm %5.1fs] %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN{print a-b}')" "$*"; }
die() { echo "start-slurm: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (the tests call it through sudo -n when not root)"

wait_for() {  # wait_for <seconds> <what> <command...>
  local end=$(($(date +%s) + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || { echo "start-slurm: timeout waiting for $what" >&2; return 1; }
    sleep 0.2
  done
}

alive() {  # alive <pidfile> <comm>: the pid in the file runs the expected program
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}

mark_started() { echo "$2" >"$D/run/started/$1"; }

# ------------------------------------------------------------------------------------------- packages
PKGS="munge slurmctld slurmd slurm-client slurmdbd slurm-wlm-mysql-plugin mariadb-server"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  log "installing:$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  log "packages installed"
else
  log "packages already installed"
fi

# ------------------------------------------------------------------------------------------- config
for f in slurm.conf slurmdbd.conf gres.conf; do
  if [ -s "/etc/slurm/$f" ] && ! grep -qF "$MARK" "/etc/slurm/$f"; then
    die "/etc/slurm/$f exists and was not written by this script; refusing to overwrite it"
  fi
done
mkdir -p "$D"/{etc,log,run/started,state/ctld,state/d}
install -d -o munge -g munge -m 755 /run/munge "$D/run/munge"
[ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key

CPUS=$(nproc)
MEMTOTAL=$(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo)
REALMEM=${SLURM_CI_REALMEM:-$((MEMTOTAL * 85 / 100 < 20000 ? MEMTOTAL * 85 / 100 : 20000))}
cat >"$D/etc/slurm.conf" <<EOF
$MARK
# Single-node SLURM for the cluster tests: no systemd, no cgroups, accounting through slurmdbd.
ClusterName=ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$D/state/ctld
SlurmdSpoolDir=$D/state/d
SlurmctldPidFile=$D/run/slurmctld.pid
SlurmdPidFile=$D/run/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
SwitchType=switch/none
MinJobAge=300
InactiveLimit=0
KillWait=5
Waittime=0
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$REALMEM Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
cat >"$D/etc/gres.conf" <<EOF
$MARK
NodeName=$NODE Name=gpu File=/dev/null
EOF
cat >"$D/etc/slurmdbd.conf" <<EOF
$MARK
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
PidFile=$D/run/slurmdbd.pid
LogFile=$D/log/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DBPORT
StorageUser=slurm
StoragePass=slurmci
StorageLoc=slurm_acct_db
EOF
conf_changed=0
cmp -s "$D/etc/slurm.conf" /etc/slurm/slurm.conf && cmp -s "$D/etc/gres.conf" /etc/slurm/gres.conf ||
  conf_changed=1
install -m 644 "$D/etc/slurm.conf" /etc/slurm/slurm.conf
install -m 644 "$D/etc/gres.conf" /etc/slurm/gres.conf
install -m 600 "$D/etc/slurmdbd.conf" /etc/slurm/slurmdbd.conf # must be 600, owned by SlurmUser
log "config written (CPUs=$CPUS RealMemory=$REALMEM gpu=1)"

# ------------------------------------------------------------------------------------------- munge
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  log "munged already running"
else
  runuser -u munge -- /usr/sbin/munged --pid-file="$D/run/munge/munged.pid"
  wait_for 10 munged sh -c 'munge -n | unmunge'
  mark_started munged "$(cat "$D/run/munge/munged.pid")"
  log "munged started"
fi

# ------------------------------------------------------------------------------------------- MariaDB
MYSOCK="$D/run/mysql/mysqld.sock"
install -d -o mysql -g mysql -m 755 "$D/run/mysql" "$D/mysql"
if alive "$D/run/mysql/mysqld.pid" mariadbd; then
  log "mariadbd already running"
else
  if [ ! -d "$D/mysql/mysql" ]; then
    mariadb-install-db --no-defaults --user=mysql --datadir="$D/mysql" \
      --auth-root-authentication-method=socket --skip-test-db >"$D/log/mariadb-install.log" 2>&1
  fi
  setsid /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$D/mysql" \
    --socket="$MYSOCK" --pid-file="$D/run/mysql/mysqld.pid" \
    --bind-address=127.0.0.1 --port="$DBPORT" --skip-name-resolve \
    --log-error="$D/log/mariadb.err" \
    --innodb-buffer-pool-size=64M --innodb-log-file-size=16M --innodb-lock-wait-timeout=900 \
    </dev/null >/dev/null 2>&1 &
  wait_for 60 mariadbd mariadb-admin --no-defaults --socket="$MYSOCK" ping ||
    { tail -20 "$D/log/mariadb.err" >&2; die "mariadbd did not start"; }
  wait_for 10 "mariadbd pid file" test -s "$D/run/mysql/mysqld.pid"
  mark_started mariadbd "$(cat "$D/run/mysql/mysqld.pid")"
  log "mariadbd started"
fi
mariadb --no-defaults --socket="$MYSOCK" -u root -e "
  CREATE DATABASE IF NOT EXISTS slurm_acct_db;
  CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurmci';
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
  FLUSH PRIVILEGES;"

# ------------------------------------------------------------------------------------------- slurmdbd
if alive "$D/run/slurmdbd.pid" slurmdbd; then
  log "slurmdbd already running"
else
  /usr/sbin/slurmdbd
  wait_for 30 slurmdbd sacctmgr -n list cluster ||
    { tail -20 "$D/log/slurmdbd.log" >&2; die "slurmdbd did not come up"; }
  mark_started slurmdbd "$(cat "$D/run/slurmdbd.pid")"
  log "slurmdbd started"
fi

# ------------------------------------------------------------------------------------------- slurmctld
if alive "$D/run/slurmctld.pid" slurmctld; then
  [ "$conf_changed" = 0 ] || { scontrol reconfigure && log "slurmctld reconfigured"; }
  log "slurmctld already running"
else
  /usr/sbin/slurmctld
  wait_for 30 slurmctld sh -c 'scontrol ping | grep -q UP' ||
    { tail -20 "$D/log/slurmctld.log" >&2; die "slurmctld did not come up"; }
  mark_started slurmctld "$(cat "$D/run/slurmctld.pid")"
  log "slurmctld started"
fi

# ------------------------------------------------------------------------------------------- slurmd
if alive "$D/run/slurmd.pid" slurmd; then
  log "slurmd already running"
else
  /usr/sbin/slurmd -N "$NODE"
  wait_for 10 "slurmd pid file" test -s "$D/run/slurmd.pid"
  mark_started slurmd "$(cat "$D/run/slurmd.pid")"
  log "slurmd started"
fi
node_ok() { sinfo -h -n "$NODE" -o %T | grep -Eq '^(idle|mixed|allocated|completing)'; }
if ! wait_for 30 "node $NODE idle" node_ok; then
  scontrol update NodeName="$NODE" State=RESUME || true # e.g. left DOWN by an earlier run
  wait_for 15 "node $NODE idle" node_ok ||
    { sinfo -R >&2; tail -20 "$D/log/slurmd.log" >&2; die "node $NODE not usable"; }
fi
log "node $NODE: $(sinfo -h -n "$NODE" -o '%T cpus=%c mem=%m gres=%G')"

# A user who started this through sudo submits under account root too (the tests' SBATCH_ACCOUNT).
if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
  sacctmgr -i add user "$SUDO_USER" account=root >/dev/null 2>&1 || true
fi
out=$(srun -N1 -n1 -t 1 hostname) || die "srun smoke test failed"
log "srun smoke test passed ($out); cluster ready"
