# Two entry points (see README): `make reproduce` and `make test`. Both set up the venv first, once.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SETUP_STAMP := $(VENV)/.setup-done
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup reproduce pull test report benchmark benchmark-studies gpu-check

setup: $(SETUP_STAMP)

# Re-runs only when the pins change. torch==2.13.0 comes from requirements.lock like every other pin.
$(SETUP_STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# The whole pipeline at the scale set in params.yaml (smoke by default), versioned by DVC: one Snakemake run
# of the whole graph keeps every core busy across studies (DVC runs its stages one after another); then each
# DVC stage finds its target done and records it in dvc.lock (`dvc repro` alone gives the same results); then
# the per-post table of what was found (python -m kexue_repro summary; results/report.md opens with it).
reproduce: setup
	snakemake --profile workflow/profiles/local
	dvc repro
	python -m kexue_repro summary

# Every output from the DVC remote; once DVC vouches for them (`dvc status -q` exits 0), Snakemake is told
# they are current (pulled files' mtimes do not follow the graph; docs/versions.md).
pull: setup
	dvc pull
	dvc status --quiet
	snakemake --profile workflow/profiles/local --touch

# Two workers (pytest-xdist), one module to a worker; then the cluster tests, which install SLURM's client,
# after every other test (with it installed, each Snakemake start waits ~10 s: tests/conftest.py).
test: setup
	pytest -m "not cluster" -n 2 --dist loadscope
	pytest -m cluster

# HTML report with captions, from the results of the last run.
report: setup
	snakemake --profile workflow/profiles/local --report results/report.html

benchmark: setup
	python -m kexue_repro.benchmarks.rule_times

# Each study's wall time from a fresh clone of HEAD, in pipeline order, against its 6-minute budget; then
# `make reproduce` as a whole against the smoke pipeline's 10 minutes. Both split job time into start-up and work.
benchmark-studies: setup
	python -m kexue_repro.benchmarks.study_wall
	python -m kexue_repro.benchmarks.study_wall --reproduce

# Each training study's step at full scale on this machine's GPU (or CPU) and the projected cost of a full
# reproduction (docs/scales.md, "Before a full run"); `python -m kexue_repro.benchmarks.gpu_check --fid` adds FID/IS.
gpu-check: setup
	python -m kexue_repro.benchmarks.gpu_check
