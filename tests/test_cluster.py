"""The workflow on a real single-node SLURM cluster, through workflow/profiles/slurm and Snakemake's SLURM
executor plugin, compared with a local run of the same targets and seeds.

tests/cluster/start-slurm.sh installs and starts the cluster (munge, MariaDB + slurmdbd so that `sacct`
works, slurmctld, slurmd with one GPU as a generic resource) and stop-slurm.sh stops what it started; the
`slurm` fixture runs both, so the cluster lives exactly as long as this module. It needs root or
passwordless sudo: without either the tests fail, they do not skip.

One cluster session serves every test (the `runs` fixture): the targets below first with every download
source unreachable, so that the CLUE download job fails while the rest of the workflow completes, then
again with the mirror up. Meanwhile the same targets run locally, for the comparison.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import BIN, CLOSED_URL, REPO, copy_repository, run, serve_directory, tool

pytestmark = pytest.mark.cluster

CLUSTER_TOOLS = Path(__file__).parent / "cluster"
STATE_DIR = os.environ.get("SLURM_CI_DIR", "/tmp/kexue-repro-slurm")
CLUE_MIRROR = REPO.parent / "shared/data/clue"
TARGETS = ["report", "data/processed/clue/cluewsc2020/meta.json"]
CONFIG = ["--configfile", "tests/config/tiny.yaml", "tests/cluster/subset.yaml"]  # last: it takes a list
ON_SLURM = [
    tool("snakemake"),
    "--profile",
    "workflow/profiles/slurm",
    # The plugin polls SLURM first after 2 s (default 40), then 10 s later each time no job has finished.
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--verbose",  # the plugin logs each sbatch command at debug level
]
LOCAL = [tool("snakemake"), "--profile", "workflow/profiles/local"]
RUN_LIMIT_S = 300  # per Snakemake run; `timeout -k` because Snakemake ignores SIGTERM while waiting on jobs
# No download source answers: every URL goes through a proxy that refuses connections (whether or not
# this machine is online), and the mirror is a closed port.
UNREACHABLE = {
    **{proxy: CLOSED_URL for proxy in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")},
    **{bypass: "" for bypass in ("NO_PROXY", "no_proxy")},
    "KEXUE_REPRO_MIRRORS": CLOSED_URL,
}
FAILING_RULE, FAILING_LOG = "clue_fetch", "results/logs/clue/fetch_cluewsc2020.log"


def as_root(script: str, state_dir: str | os.PathLike = STATE_DIR) -> list[str]:
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    return [*prefix, "env", f"SLURM_CI_DIR={state_dir}", "bash", str(CLUSTER_TOOLS / script)]


@pytest.fixture(scope="module")
def slurm():
    """A running single-node cluster for this module; stopped afterwards (only the daemons it started)."""
    if os.geteuid() != 0 and not (
        shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0
    ):
        pytest.fail(
            "the cluster tests start a SLURM cluster on this machine (apt packages, daemons, /etc/slurm): "
            "run them as root or with passwordless sudo"
        )
    try:
        started = subprocess.run(as_root("start-slurm.sh"), capture_output=True, text=True, timeout=600)
        if started.returncode != 0:
            pytest.fail(f"tests/cluster/start-slurm.sh failed:\n{started.stdout}\n{started.stderr}")
        yield started.stdout
    finally:
        subprocess.run(as_root("stop-slurm.sh"), capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def mirror(slurm):
    with serve_directory(CLUE_MIRROR) as httpd:
        yield httpd.base


def environment(**overrides: str) -> dict[str, str]:
    """This process's environment with the test venv first on PATH, partition and account set the way the
    profile reads them, and ``overrides``."""
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "SBATCH_PARTITION": "debug",
        "SBATCH_ACCOUNT": "root",
        **overrides,
    }


def start_snakemake(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        ["timeout", "-k", "15", str(RUN_LIMIT_S), *cmd],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(proc: subprocess.Popen, expect_success: bool = True) -> str:
    """Snakemake's whole output (stdout and stderr, as a user sees them) once it has exited."""
    out, _ = proc.communicate(timeout=RUN_LIMIT_S + 60)
    if expect_success and proc.returncode != 0:
        raise AssertionError(f"{' '.join(proc.args)} exited {proc.returncode}\n{out[-6000:]}")
    return out


def snakemake(cmd: list[str], cwd: Path, env: dict[str, str], expect_success: bool = True) -> str:
    return finish(start_snakemake(cmd, cwd, env), expect_success)


@dataclass(frozen=True)
class Submission:
    rule: str
    slurm_id: str
    sbatch: str  # the sbatch command the plugin ran


def submissions(output: str) -> list[Submission]:
    """Every job the plugin submitted, in order, with its SLURM job id and the sbatch command it ran (matched
    through the SLURM log path: the command's --output with %j replaced by the job id)."""
    calls = {
        m.group(1).strip("'"): m.group(0)
        for m in re.finditer(r"sbatch call: sbatch .*?--output (\S+) .*", output)
    }
    found = []
    for m in re.finditer(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\.", output):
        slurm_id, log = m.groups()
        rule = re.search(r"/slurm_logs/rule_(\w+)/", log).group(1)
        sbatch = next((c for out, c in calls.items() if out.replace("%j", slurm_id) == log), "")
        found.append(Submission(rule, slurm_id, sbatch))
    return found


def jobs_run(output: str) -> list[tuple[str, int]]:
    """(rule, GPUs the rule declares) of every job a Snakemake run reports, sorted."""
    jobs = re.findall(r"^(?:local)?rule (\w+):\n(?:    .*\n)*?    resources: (.*)$", output, re.M)
    return sorted((rule, int(dict(re.findall(r"(\w+)=([^,]+)", res)).get("gpu", 0))) for rule, res in jobs)


def sacct(job_ids: list[str]) -> dict[str, dict[str, str]]:
    """Accounting records of the given jobs (allocations, not steps), by job id."""
    fields = ["JobIDRaw", "JobName", "State", "Comment", "AllocTRES"]
    deadline = time.monotonic() + 30
    while True:  # slurmctld hands records to slurmdbd asynchronously
        out = run(
            ["sacct", "-X", "-n", "-P", "-j", ",".join(job_ids), "-o", ",".join(fields)], cwd=REPO
        ).stdout
        records = {
            r["JobIDRaw"]: r for r in csv.DictReader(io.StringIO(out), fieldnames=fields, delimiter="|")
        }
        if set(job_ids) <= set(records) or time.monotonic() > deadline:
            return records
        time.sleep(1)


@dataclass(frozen=True)
class ClusterRuns:
    cluster: Path
    local: Path
    local_jobs: list[tuple[str, int]]  # the jobs of the local run, the reference
    failed_run: str
    rerun: str

    @property
    def submitted(self) -> list[Submission]:
        return submissions(self.failed_run) + submissions(self.rerun)


@pytest.fixture(scope="module")
def runs(mirror, tmp_path_factory) -> ClusterRuns:
    cluster = copy_repository(tmp_path_factory.mktemp("cluster") / "repo")
    local = copy_repository(tmp_path_factory.mktemp("local") / "repo")
    # Concurrently, at the lowest CPU priority: it takes the cycles the cluster runs leave while they wait
    # between their status polls, and slows their jobs as little as possible.
    baseline = start_snakemake(
        ["nice", "-n", "19", *LOCAL, *TARGETS, *CONFIG], local, environment(KEXUE_REPRO_MIRRORS=mirror)
    )
    try:
        failed_run = snakemake([*ON_SLURM, *TARGETS, *CONFIG], cluster, environment(**UNREACHABLE), False)
        rerun = snakemake([*ON_SLURM, *TARGETS, *CONFIG], cluster, environment(KEXUE_REPRO_MIRRORS=mirror))
        local_jobs = jobs_run(finish(baseline))
    finally:
        if baseline.poll() is None:
            baseline.kill()
    return ClusterRuns(cluster, local, local_jobs, failed_run, rerun)


def test_a_failed_job_names_its_rule_and_log_and_the_rerun_resubmits_only_it_and_what_follows(runs):
    out = runs.failed_run
    assert "Exiting because a job execution failed" in out, out[-3000:]
    assert f"Error in rule {FAILING_RULE}" in out and FAILING_LOG in out, out[-3000:]
    assert "required file" in out and "is unavailable" in out, (
        "show-failed-logs: the job's log, with the cause"
    )
    first = [s.rule for s in submissions(out)]
    # The profile's restart-times: 1 submits the failing job twice; its keep-going: true lets every job
    # that does not depend on it finish, so the rerun has exactly the failed job and what follows it.
    assert first.count(FAILING_RULE) == 2 and "clue_prepare" not in first
    assert set(first) == {rule for rule, _ in runs.local_jobs} - {"clue_prepare"}
    assert sorted(s.rule for s in submissions(runs.rerun)) == ["clue_fetch", "clue_prepare"]


def test_every_job_ran_as_a_slurm_job(runs):
    failed = [s for s in submissions(runs.failed_run) if s.rule == FAILING_RULE]
    done = [s for s in runs.submitted if s not in failed]
    assert sorted(s.rule for s in done) == sorted(rule for rule, _ in runs.local_jobs)
    records = sacct([s.slurm_id for s in runs.submitted])
    for s in runs.submitted:
        assert records[s.slurm_id]["Comment"].startswith(f"rule_{s.rule}"), records[s.slurm_id]
    assert {records[s.slurm_id]["State"] for s in done} == {"COMPLETED"}
    assert [records[s.slurm_id]["State"] for s in failed] == ["FAILED", "FAILED"]
    run_ids = set(re.findall(r"SLURM run ID: (\S+)", runs.failed_run + runs.rerun))
    assert len(run_ids) == 2 and {records[s.slurm_id]["JobName"] for s in runs.submitted} == run_ids


def test_cluster_results_equal_the_local_run(runs):
    """Byte for byte: same seeds, same thread counts (1 per job), same machine. Files that record wall
    times (training curves, benchmarks, metrics.json of studies that time their steps) are left out."""
    compared = [
        "results/claims.csv",
        "results/report.md",
        "results/vae/claims.json",
        "results/vae/evals/k1_seed0.json",
        "results/vae/tables/bounds.csv",
        "results/vae/tables/exact_gap.csv",
        "data/processed/clue/cluewsc2020/train.jsonl",
        "data/processed/clue/cluewsc2020/dev.jsonl",
        "data/processed/clue/cluewsc2020/meta.json",
    ]
    for rel in compared:
        assert (runs.cluster / rel).read_bytes() == (runs.local / rel).read_bytes(), f"{rel} differs"
    with open(runs.cluster / "results/claims.csv", newline="") as fh:
        ledger = list(csv.DictReader(fh))
    assert {row["study"] for row in ledger} == {"vae"}, "report.studies: [vae] reports that study alone"
    assert len(ledger) >= 5 and "reproduced" in {row["verdict"] for row in ledger}


def test_gpu_requests_follow_the_rules(runs):
    """A job whose rule declares gpu=N (training and evaluation at full scale) asks sbatch for N GPUs and
    is allocated them; every other job asks for none. All get partition, account, memory, time and CPUs."""
    declared = dict(runs.local_jobs)
    assert declared["vae_train"] == 1 and declared["vae_data"] == 0
    records = sacct([s.slurm_id for s in runs.submitted])
    for s in runs.submitted:
        assert s.sbatch, f"no sbatch command logged for {s.rule} (job {s.slurm_id})"
        allocated = records[s.slurm_id]["AllocTRES"]
        if declared[s.rule]:
            assert f"--gpus={declared[s.rule]}" in s.sbatch, s.sbatch
            assert f"gres/gpu={declared[s.rule]}" in allocated, allocated
        else:
            assert "--gpus" not in s.sbatch and "--gres" not in s.sbatch, s.sbatch
            assert "gres/gpu" not in allocated, allocated
        assert " -p debug" in s.sbatch and " -A root" in s.sbatch, s.sbatch
        assert re.search(r" --mem \d+ ", s.sbatch) and re.search(r" -t \d+ ", s.sbatch), s.sbatch
        assert "--cpus-per-task=1" in s.sbatch, s.sbatch


def test_stop_spares_what_start_did_not_start_and_start_is_idempotent(slurm, tmp_path):
    """stop-slurm.sh signals a recorded pid only while it runs the recorded daemon; start-slurm.sh run
    again leaves the running daemons alone."""
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / "run/started").mkdir(parents=True)
        (tmp_path / "run/started/slurmd").write_text(f"{bystander.pid}\n")
        stop = run(as_root("stop-slurm.sh", tmp_path), REPO)
        assert "slurmd" in stop.stdout and "was not running" in stop.stdout
        assert bystander.poll() is None, "stop-slurm.sh killed a process it had not started"
        assert not (tmp_path / "run/started/slurmd").exists()
        again = run(as_root("start-slurm.sh"), REPO).stdout
        assert all(f"{daemon} already running" in again for daemon in ("munged", "slurmctld", "slurmd"))
    finally:
        bystander.kill()
        bystander.wait()
