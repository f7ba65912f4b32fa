# Study 8728: CAN (classification with alternating normalization) on the dev probabilities of every CLUE
# fine-tuning run of the clue study (kexue_repro.clue.plan: run tasks x variants x seeds): accuracy before and
# after per run and setting, a tau x alpha x iterations sweep per task tuned on one half of dev and reported on
# the other, and the claims. Each job runs one module of kexue_repro.can with its step's settings
# (kexue_repro.can.plan: params.yaml can.<step>).

import re

import kexue_repro.can.plan as can_plan
import kexue_repro.clue.plan as clue_plan

CAN = "results/can"
try:  # a setting named in can.sweep or can.claims must exist: one line before any job
    CAN_SETTINGS = {
        step: settings_file(f"can/{step}", can_plan.step_block(config, step))
        for step in can_plan.STEPS
    }
except ValueError as err:
    sys.exit(str(err))
CLUE_RUNS_DIR = "results/clue/runs"
CAN_CLUE_TASKS = clue_plan.run_tasks(config)
CAN_CLUE_VARIANTS = clue_plan.variants(config)
CAN_CLUE_SEEDS = clue_plan.seeds(config)
CAN_RUNS = expand(
    "{task}/{variant}/seed{seed}",
    task=CAN_CLUE_TASKS,
    variant=CAN_CLUE_VARIANTS,
    seed=CAN_CLUE_SEEDS,
)
# Per task, (variant, seed, probabilities file) of every fine-tuning run.
CAN_TASK_RUNS = {
    task: [
        (variant, seed, f"{CLUE_RUNS_DIR}/{task}/{variant}/seed{seed}.npy")
        for variant in CAN_CLUE_VARIANTS
        for seed in CAN_CLUE_SEEDS
    ]
    for task in CAN_CLUE_TASKS
}


rule can_apply:
    input:
        settings=CAN_SETTINGS["apply"],
        train=lambda wildcards: clue_plan.task_file(wildcards.task, "train.jsonl"),
        dev=lambda wildcards: clue_plan.task_file(wildcards.task, "dev.jsonl"),
        meta=lambda wildcards: clue_plan.task_file(wildcards.task, "meta.json"),
        probs=f"{CLUE_RUNS_DIR}/{{task}}/{{variant}}/seed{{seed}}.npy",
        run=f"{CLUE_RUNS_DIR}/{{task}}/{{variant}}/seed{{seed}}.json",
        code=code_of("kexue_repro.can.apply"),
    output:
        f"{CAN}/apply/{{task}}/{{variant}}/seed{{seed}}.json",
    log:
        "results/logs/can/apply_{task}_{variant}_seed{seed}.log",
    benchmark:
        "results/benchmarks/can/apply_{task}_{variant}_seed{seed}.tsv"
    # Rule-level: the global `task` constraint of clue.smk lists the CLUE tasks only.
    wildcard_constraints:
        task="|".join(map(re.escape, CAN_CLUE_TASKS)),
        variant="|".join(map(re.escape, CAN_CLUE_VARIANTS)),
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python -m kexue_repro.can.apply --settings {input.settings} --task {wildcards.task}"
        " --variant {wildcards.variant} --seed {wildcards.seed} --probs {input.probs}"
        " --run-record {input.run} --train {input.train} --dev {input.dev} --meta {input.meta}"
        " --out {output} > {log} 2>&1"


rule can_sweep:
    # One job per task: the halves of dev are the task's, and each variant's setting is chosen on the
    # tuning half of all its seeds, then reported per seed on the other half.
    input:
        settings=CAN_SETTINGS["sweep"],
        train=lambda wildcards: clue_plan.task_file(wildcards.task, "train.jsonl"),
        dev=lambda wildcards: clue_plan.task_file(wildcards.task, "dev.jsonl"),
        meta=lambda wildcards: clue_plan.task_file(wildcards.task, "meta.json"),
        probs=lambda wildcards: [p for _, _, p in CAN_TASK_RUNS[wildcards.task]],
        code=code_of("kexue_repro.can.sweep"),
    output:
        f"{CAN}/sweep/{{task}}.json",
    log:
        "results/logs/can/sweep_{task}.log",
    benchmark:
        "results/benchmarks/can/sweep_{task}.tsv"
    wildcard_constraints:
        task="|".join(map(re.escape, CAN_CLUE_TASKS)),
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        probs=lambda wildcards: " ".join(
            f"--probs {v} {s} {p}" for v, s, p in CAN_TASK_RUNS[wildcards.task]
        ),
    shell:
        "python -m kexue_repro.can.sweep --settings {input.settings} --task {wildcards.task}"
        " --train {input.train} --dev {input.dev} --meta {input.meta} {params.probs}"
        " --out {output} > {log} 2>&1"


rule can_claims:
    input:
        settings=CAN_SETTINGS["claims"],
        applied=expand(f"{CAN}/apply/{{run}}.json", run=CAN_RUNS),
        sweeps=expand(f"{CAN}/sweep/{{task}}.json", task=CAN_CLUE_TASKS),
        anchors="data/anchors/can.csv",
        code=code_of("kexue_repro.can.claims"),
    output:
        tables=multiext(
            f"{CAN}/tables/",
            "runs.csv",
            "gains.csv",
            "sweep.csv",
            "tuned_gains.csv",
            "trained.csv",
        ),
        gains_plot=report(
            f"{CAN}/plots/gains.png",
            caption="../report/can_gains.rst",
            category=post_category("8728"),
        ),
        subsets_plot=report(
            f"{CAN}/plots/subsets.png",
            caption="../report/can_subsets.rst",
            category=post_category("8728"),
        ),
        claims=f"{CAN}/claims.json",
        provenance=f"{CAN}/provenance.json",
        metrics=f"{CAN}/metrics.json",
        numbers=f"{CAN}/numbers.json",
    log:
        "results/logs/can/claims.log",
    benchmark:
        "results/benchmarks/can/claims.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        provenance=provenance_options(config, "can"),
        scale=config["scale"],
        tables_dir=lambda wildcards, output: os.path.dirname(output.tables[0]),
        plots_dir=lambda wildcards, output: os.path.dirname(output.gains_plot),
    shell:
        "python -m kexue_repro.can.claims --settings {input.settings} --applied {input.applied}"
        " --sweeps {input.sweeps} --anchors {input.anchors} --tables-dir {params.tables_dir}"
        " --plots-dir {params.plots_dir} --scale {params.scale}"
        " {params.provenance} --provenance-out {output.provenance}"
        " --claims-out {output.claims} --metrics-out {output.metrics} --numbers-out {output.numbers} > {log} 2>&1"


rule can:
    """Every output of study 8728 (the DVC stage of the same name runs this target)."""
    input:
        rules.can_claims.input.applied,
        rules.can_claims.input.sweeps,
        rules.can_claims.output,
