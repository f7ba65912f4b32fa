# Study 8739, the rest of the post: CLUE's reading comprehension (CMRC2018 spans, C3 choices, CHID idioms)
# and NER (CLUENER), with the post's heads (GlobalPointer; a score per choice; Hungarian assignment of CHID's
# shared candidates). Data through clue_fetch and clue_prepare (workflow/rules/clue.smk); one fine-tuning
# job per (run task, seed), vanilla only (the variants stay on the classification tasks); then the claims:
# dev scores beside the post's and CLUE's published numbers, and CHID's assignment against independent
# argmax. Smoke runs none of these tasks (offline); clue-cpu runs CLUENER and C3; full all four.

MRC_NER = "results/clue_mrc_ner"
MRC_NER_RUN_TASKS = clue_plan.mrc_ner_run_tasks(config)
# Each run task reads the splits clue_prepare (workflow/rules/clue.smk) writes for its CLUE task.


rule clue_mrc_ner_finetune:
    input:
        settings=lambda wildcards: settings_file(
            f"clue_mrc_ner/finetune/{wildcards.task}",
            clue_plan.mrc_ner_settings(config, wildcards.task),
        ),
        train=lambda wildcards: rules.clue_prepare.output.train.format(
            task=wildcards.task.split("@")[0]
        ),
        dev=lambda wildcards: rules.clue_prepare.output.dev.format(
            task=wildcards.task.split("@")[0]
        ),
        meta=lambda wildcards: rules.clue_prepare.output.meta.format(
            task=wildcards.task.split("@")[0]
        ),
        model=lambda wildcards: clue_plan.model_inputs(config, wildcards.task),
        code=code_of("kexue_repro.clue.mrc_ner.train"),
    output:
        run=f"{MRC_NER}/runs/{{task}}/seed{{seed}}.json",
        predictions=f"{MRC_NER}/runs/{{task}}/seed{{seed}}.predictions.json",
    log:
        "results/logs/clue_mrc_ner/{task}/seed{seed}.log",
    benchmark:
        "results/benchmarks/clue_mrc_ner/{task}/seed{seed}.tsv"
    wildcard_constraints:
        task="(cmrc2018|c3|chid|cluener)(@[A-Za-z0-9_.-]+)?",
        seed=r"\d+",
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=4000 if config["scale"] != "full" else 32000,
        runtime=CLUE_SCALE["runtime_min"],
        gpu=1 if config["scale"] == "full" else 0,
    params:
        model=lambda wildcards: clue_plan.model(config, wildcards.task),
        checkpoint=f"{MRC_NER}/checkpoints/{{task}}/seed{{seed}}.pt",
        device=config["device"],
    shell:
        "python -m kexue_repro.clue.mrc_ner.train --settings {input.settings} --task {wildcards.task}"
        " --seed {wildcards.seed} --model {params.model} --train {input.train} --dev {input.dev}"
        " --meta {input.meta} --threads {threads} --device {params.device} --checkpoint {params.checkpoint}"
        " --predictions-out {output.predictions} --run-out {output.run} > {log} 2>&1"


rule clue_mrc_ner_claims:
    input:
        settings=settings_file(
            "clue_mrc_ner/claims", clue_plan.mrc_ner_claims_settings(config)
        ),
        runs=expand(
            f"{MRC_NER}/runs/{{task}}/seed{{seed}}.json",
            task=MRC_NER_RUN_TASKS,
            seed=CLUE_SEEDS,
        ),
        # Each run's best-epoch dev predictions (same order as runs) and the dev files they answer.
        predictions=expand(
            f"{MRC_NER}/runs/{{task}}/seed{{seed}}.predictions.json",
            task=MRC_NER_RUN_TASKS,
            seed=CLUE_SEEDS,
        ),
        dev=sorted(
            {
                rules.clue_prepare.output.dev.format(task=task.split("@")[0])
                for task in MRC_NER_RUN_TASKS
            }
        ),
        anchors="data/anchors/clue_mrc_ner.csv",
        code=code_of("kexue_repro.clue.mrc_ner.claims"),
    output:
        claims=f"{MRC_NER}/claims.json",
        provenance=f"{MRC_NER}/provenance.json",
        metrics=f"{MRC_NER}/metrics.json",
        numbers=f"{MRC_NER}/numbers.json",
        # One row per run: runs/ exists at every scale, a DVC out even where no task runs (smoke).
        index=f"{MRC_NER}/runs/index.csv",
        tables=expand(
            f"{MRC_NER}/tables/{{name}}.csv",
            name=["scores", "anchors", "chid_decoding"],
        ),
        # One markdown table per task, shown under the study in results/report.md.
        summary=f"{MRC_NER}/tables.md",
    log:
        "results/logs/clue_mrc_ner/claims.log",
    benchmark:
        "results/benchmarks/clue_mrc_ner/claims.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        provenance=provenance_options(config, "clue_mrc_ner"),
        scale=config["scale"],
        tables_dir=lambda wildcards, output: os.path.dirname(output.tables[0]),
        # expand() of no run task is empty: the options then carry no file
        runs=lambda wildcards, input: (
            " ".join(["--runs", *input.runs]) if input.runs else ""
        ),
        predictions=lambda wildcards, input: (
            " ".join(["--predictions", *input.predictions])
            if input.predictions
            else ""
        ),
        dev=lambda wildcards, input: (
            " ".join(["--dev", *input.dev]) if input.dev else ""
        ),
    shell:
        "python -m kexue_repro.clue.mrc_ner.claims --settings {input.settings} {params.runs} {params.predictions}"
        " {params.dev} --anchors {input.anchors} --index-out {output.index} --tables-dir {params.tables_dir}"
        " --summary-out {output.summary}"
        " --scale {params.scale} {params.provenance} --provenance-out {output.provenance}"
        " --claims-out {output.claims} --metrics-out {output.metrics} --numbers-out {output.numbers} > {log} 2>&1"


rule clue_mrc_ner:
    """Reading-comprehension and NER runs (dev scores and predictions per task and seed) and their claims."""
    input:
        rules.clue_mrc_ner_claims.input.runs,
        rules.clue_mrc_ner_claims.input.predictions,
        rules.clue_mrc_ner_claims.output,
