"""Reproductions of eight Scientific Spaces (kexue.fm) posts, Oct-Dec 2021.

One study per post; each ends in results/<study>/claims.json, and the report rule assembles
results/claims.csv and results/report.md. Run `snakemake --profile workflow/profiles/local`.
"""

import os
import sys

from snakemake.utils import min_version

from kexue_repro.common.cli import STARTUP_LOG_ENV
from kexue_repro.common.params import check_params, load_yaml
from kexue_repro.common.provenance import provenance_options
from kexue_repro.report.posts import POSTS, post_category

min_version("9.0")

# The workflow's own helpers: the code a job runs (code_of) and the settings a step reads (step_settings).
sys.path.insert(0, os.path.join(workflow.basedir, "workflow", "lib"))
from code_deps import code_of
from step_settings import settings_file, step_settings

# A YAML syntax error is named with its line before Snakemake's own, vaguer, message.
try:
    load_yaml("params.yaml")
except ValueError as err:
    sys.exit(str(err))


configfile: "params.yaml"


try:
    check_params(
        config, os.path.join(workflow.basedir, "workflow/schemas/params.schema.yaml")
    )
except ValueError as err:
    sys.exit(str(err))

# Jobs run `python -m kexue_repro ...` with the environment that runs Snakemake, activated or not, and log
# their start-up time (kexue_repro.common.cli.log_startup; `make benchmark` splits job time with it).
shell.prefix(
    f'export PATH="{os.path.dirname(sys.executable)}:$PATH" {STARTUP_LOG_ENV}=1; '
)

# Scheduling only, no result depends on it: in a run of the whole graph (`make reproduce`) Snakemake starts the
# critical path first, the tiny BERT's pretraining (two threads; every CLUE and CAN job waits for its model),
# then the CLUE fine-tunings, then the longest single jobs (VAE's trainings, BERT-base's gradient flow), so
# that short jobs fill the end and no core idles while one long job finishes.
PRIORITY = {"bert": 30, "clue": 20, "long": 10}

# Studies in report order; each has workflow/rules/<study>.smk ending in a target rule of that name.
STUDIES = [
    "leaderboard",
    "vae",
    "gan",
    "transformer",
    "bert",
    "clue",
    "clue_mrc_ner",
    "can",
]


# The HTML report (`make report`) opens on the per-post summary of the last run (the report rule's `front`
# output), or on the workflow's description before any run.
REPORT_FRONT = "results/report_front.rst"


report: REPORT_FRONT if os.path.exists(REPORT_FRONT) else "workflow/report/workflow.rst"


include: "workflow/rules/leaderboard.smk"
include: "workflow/rules/vae.smk"
include: "workflow/rules/gan.smk"
include: "workflow/rules/clue.smk"
include: "workflow/rules/clue_mrc_ner.smk"
include: "workflow/rules/transformer.smk"
include: "workflow/rules/bert.smk"
include: "workflow/rules/can.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        rules.leaderboard.input,
        rules.vae.input,
        rules.gan.input,
        rules.transformer.input,
        rules.bert.input,
        rules.clue.input,
        rules.clue_mrc_ner.input,
        rules.can.input,
        rules.report.output,
