# Study 8747: why BERT initialises with std 0.02 (gradient flow of Post-LN / Pre-LN at initialisation,
# warmup and the stall of Post-LN, the last LayerNorm's gamma), and the MAE identity of study 8770.
# Each job runs one module of kexue_repro.transformer with its step's settings (params.yaml
# transformer.<step>); kexue_repro.transformer.plan names the jobs.

from step_settings import step_block

import kexue_repro.transformer.plan as tf_plan

TF = "results/transformer"
TF_SCALE = config["transformer"]["scales"][config["scale"]]
TF_GRADFLOW = step_block(config, "transformer", "gradflow")
TF_CONFIGURATIONS = tf_plan.configurations(TF_GRADFLOW)
TF_RUNS_BLOCK = step_block(config, "transformer", "runs")
TF_RUNS = tf_plan.run_names(TF_RUNS_BLOCK, step_block(config, "transformer", "claims"))
TF_SEEDS = TF_RUNS_BLOCK["seeds"]


rule transformer_gradflow:
    input:
        settings=lambda wildcards: settings_file(
            f"transformer/gradflow/{wildcards.configuration}",
            tf_plan.gradflow_settings(TF_GRADFLOW, wildcards.configuration),
        ),
        code=code_of("kexue_repro.transformer.gradflow"),
    output:
        f"{TF}/evals/gradflow_{{configuration}}.json",
    log:
        "results/logs/transformer/gradflow_{configuration}.log",
    benchmark:
        "results/benchmarks/transformer/gradflow_{configuration}.tsv"
    wildcard_constraints:
        configuration="|".join(TF_CONFIGURATIONS),
    priority: PRIORITY["long"]
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=TF_SCALE["runtime_min"],
        gpu=1 if config["scale"] == "full" else 0,
    params:
        device=config["device"],
    shell:
        "python -m kexue_repro.transformer.gradflow --settings {input.settings}"
        " --configuration {wildcards.configuration} --threads {threads} --device {params.device}"
        " --out {output} > {log} 2>&1"


rule transformer_init_std:
    input:
        settings=step_settings(config, "transformer", "init_std"),
        code=code_of("kexue_repro.transformer.init_std"),
    output:
        f"{TF}/evals/init_std.json",
    log:
        "results/logs/transformer/init_std.log",
    benchmark:
        "results/benchmarks/transformer/init_std.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    shell:
        "python -m kexue_repro.transformer.init_std --settings {input.settings} --out {output} > {log} 2>&1"


rule transformer_mlm:
    # One job per setting runs its seeds in turn (one process, start-up paid once; each seed written and
    # resumable on its own).
    input:
        settings=step_settings(config, "transformer", "mlm"),
        code=code_of("kexue_repro.transformer.train"),
    output:
        expand(
            f"{TF}/runs/{{norm}}_{{head}}_lr{{lr}}_w{{warmup}}_seed{{seed}}.json",
            seed=TF_SEEDS,
            allow_missing=True,
        ),
    log:
        "results/logs/transformer/mlm_{norm}_{head}_lr{lr}_w{warmup}.log",
    benchmark:
        "results/benchmarks/transformer/mlm_{norm}_{head}_lr{lr}_w{warmup}.tsv"
    wildcard_constraints:
        norm="post|pre",
        head="dense_ln|plain",
        lr=r"[0-9.e+-]+",
        warmup=r"\d+",
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=TF_SCALE["runtime_min"] * len(TF_SEEDS),
        gpu=1 if config["scale"] == "full" else 0,
    params:
        seeds=TF_SEEDS,
        checkpoints=expand(
            f"{TF}/checkpoints/{{norm}}_{{head}}_lr{{lr}}_w{{warmup}}_seed{{seed}}.pt",
            seed=TF_SEEDS,
            allow_missing=True,
        ),
        device=config["device"],
    shell:
        "python -m kexue_repro.transformer.train --settings {input.settings}"
        " --norm {wildcards.norm} --head {wildcards.head} --lr {wildcards.lr} --warmup-steps {wildcards.warmup}"
        " --seed {params.seeds} --threads {threads} --device {params.device}"
        " --checkpoint {params.checkpoints} --out {output} > {log} 2>&1"


rule transformer_mae:
    input:
        settings=step_settings(config, "transformer", "mae"),
        code=code_of("kexue_repro.transformer.mae"),
    output:
        f"{TF}/evals/mae.json",
    log:
        "results/logs/transformer/mae.log",
    benchmark:
        "results/benchmarks/transformer/mae.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python -m kexue_repro.transformer.mae --settings {input.settings} --out {output} > {log} 2>&1"


rule transformer_claims:
    input:
        settings=step_settings(config, "transformer", "claims"),
        gradflow=expand(
            f"{TF}/evals/gradflow_{{configuration}}.json",
            configuration=TF_CONFIGURATIONS,
        ),
        init_std=rules.transformer_init_std.output[0],
        runs=expand(f"{TF}/runs/{{run}}.json", run=TF_RUNS),
        mae=rules.transformer_mae.output[0],
        anchors="data/anchors/transformer.csv",
        code=code_of("kexue_repro.transformer.claims"),
    output:
        tables=multiext(
            f"{TF}/tables/",
            "gradflow_layers.csv",
            "gradflow_profiles.csv",
            "init_std.csv",
            "mlm_runs.csv",
            "mlm_curves.csv",
            "mae.csv",
        ),
        gradflow_plots=[
            report(
                f"{TF}/plots/gradflow_{configuration}.png",
                caption="../report/transformer_gradflow.rst",
                category=post_category("8747"),
            )
            for configuration in TF_CONFIGURATIONS
        ],
        curves_plot=report(
            f"{TF}/plots/mlm_curves.png",
            caption="../report/transformer_mlm_curves.rst",
            category=post_category("8747"),
        ),
        last_ln_plot=report(
            f"{TF}/plots/last_ln_gamma.png",
            caption="../report/transformer_last_ln_gamma.rst",
            category=post_category("8747"),
        ),
        mae_plot=report(
            f"{TF}/plots/mae_gap.png",
            caption="../report/transformer_mae_gap.rst",
            category=post_category("8770"),
        ),
        claims=f"{TF}/claims.json",
        provenance=f"{TF}/provenance.json",
        metrics=f"{TF}/metrics.json",
        numbers=f"{TF}/numbers.json",
    log:
        "results/logs/transformer/claims.log",
    benchmark:
        "results/benchmarks/transformer/claims.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        provenance=provenance_options(config, "transformer"),
        scale=config["scale"],
        tables_dir=lambda wildcards, output: os.path.dirname(output.tables[0]),
        plots_dir=lambda wildcards, output: os.path.dirname(output.curves_plot),
    shell:
        "python -m kexue_repro.transformer.claims --settings {input.settings} --gradflow {input.gradflow}"
        " --init-std {input.init_std} --runs {input.runs} --mae {input.mae} --anchors {input.anchors}"
        " --tables-dir {params.tables_dir} --plots-dir {params.plots_dir} --scale {params.scale}"
        " {params.provenance} --provenance-out {output.provenance}"
        " --claims-out {output.claims} --metrics-out {output.metrics} --numbers-out {output.numbers} > {log} 2>&1"


rule transformer:
    """Every output of study 8747 and the MAE identity of 8770 (the DVC stage of the same name runs this)."""
    input:
        rules.transformer_claims.input.gradflow,
        rules.transformer_claims.input.init_std,
        rules.transformer_claims.input.runs,
        rules.transformer_claims.input.mae,
        rules.transformer_claims.output,
