# Study 8791: the VAE as density estimation by importance sampling; VAE (k=1) vs IWAE (k=5, 50).
# Each job runs one module of kexue_repro.vae with its step's settings (params.yaml vae.<step>).

VAE = "results/vae"
VAE_RUNS = config["vae"]["runs"]
VAE_SCALE = config["vae"]["scales"][config["scale"]]
VAE_RUN_NAMES = expand("k{k}_seed{seed}", k=VAE_RUNS["k_train"], seed=VAE_RUNS["seeds"])


wildcard_constraints:
    k=r"\d+",
    seed=r"\d+",


rule vae_data:
    input:
        settings=step_settings(config, "vae", "data"),
        checksums=config["data"]["checksums"]["mnist"],
        code=code_of("kexue_repro.vae.data"),
    output:
        "data/processed/vae/mnist.npz",
    log:
        "results/logs/vae/data.log",
    benchmark:
        "results/benchmarks/vae/data.tsv"
    priority: PRIORITY["long"]
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        mirrors=" ".join(f"--mirror {m}" for m in config["data"]["mirrors"]),
    shell:
        "python -m kexue_repro.vae.data --settings {input.settings} --raw-dir data/raw/mnist"
        " {params.mirrors} --checksums {input.checksums} --out {output} > {log} 2>&1"


rule vae_train:
    # One job per seed trains each k in turn (one process, start-up paid once; each run written and resumable
    # on its own): the seeds' jobs take equal time, where one job per k would leave k=50's alone at the end.
    input:
        settings=step_settings(config, "vae", "train"),
        data=rules.vae_data.output[0],
        code=code_of("kexue_repro.vae.train"),
    output:
        model=expand(
            f"{VAE}/models/k{{k}}_seed{{seed}}.pt",
            k=VAE_RUNS["k_train"],
            allow_missing=True,
        ),
        curve=expand(
            f"{VAE}/curves/k{{k}}_seed{{seed}}.csv",
            k=VAE_RUNS["k_train"],
            allow_missing=True,
        ),
    log:
        "results/logs/vae/train_seed{seed}.log",
    benchmark:
        "results/benchmarks/vae/train_seed{seed}.tsv"
    priority: PRIORITY["long"]
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=VAE_SCALE["runtime_min"] * len(VAE_RUNS["k_train"]),
        gpu=1 if config["scale"] == "full" else 0,
    params:
        k_train=VAE_RUNS["k_train"],
        checkpoints=expand(
            f"{VAE}/checkpoints/k{{k}}_seed{{seed}}.pt",
            k=VAE_RUNS["k_train"],
            allow_missing=True,
        ),
        device=config["device"],
    shell:
        "python -m kexue_repro.vae.train --settings {input.settings} --data {input.data}"
        " --k {params.k_train} --seed {wildcards.seed} --threads {threads} --device {params.device}"
        " --checkpoint {params.checkpoints} --out {output.model} --curve {output.curve} > {log} 2>&1"


rule vae_evaluate:
    input:
        settings=step_settings(config, "vae", "evaluate"),
        data=rules.vae_data.output[0],
        model=rules.vae_train.output.model,
        code=code_of("kexue_repro.vae.evaluate"),
    output:
        expand(
            f"{VAE}/evals/k{{k}}_seed{{seed}}.json",
            k=VAE_RUNS["k_train"],
            allow_missing=True,
        ),
    log:
        "results/logs/vae/evaluate_seed{seed}.log",
    benchmark:
        "results/benchmarks/vae/evaluate_seed{seed}.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=VAE_SCALE["runtime_min"] * len(VAE_RUNS["k_train"]),
        gpu=1 if config["scale"] == "full" else 0,
    params:
        device=config["device"],
    shell:
        "python -m kexue_repro.vae.evaluate --settings {input.settings} --data {input.data}"
        " --model {input.model} --threads {threads} --device {params.device} --out {output} > {log} 2>&1"


rule vae_exact:
    input:
        settings=step_settings(config, "vae", "exact"),
        code=code_of("kexue_repro.vae.exact"),
    output:
        f"{VAE}/tables/exact_gap.csv",
    log:
        "results/logs/vae/exact.log",
    benchmark:
        "results/benchmarks/vae/exact.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python -m kexue_repro.vae.exact --settings {input.settings} --threads {threads}"
        " --out {output} > {log} 2>&1"


rule vae_claims:
    input:
        settings=step_settings(config, "vae", "claims"),
        evals=expand(f"{VAE}/evals/{{run}}.json", run=VAE_RUN_NAMES),
        curves=expand(f"{VAE}/curves/{{run}}.csv", run=VAE_RUN_NAMES),
        exact=rules.vae_exact.output[0],
        anchors="data/anchors/vae_burda2016_table1.csv",
        code=code_of("kexue_repro.vae.claims"),
    output:
        tables=multiext(
            f"{VAE}/tables/",
            "bounds.csv",
            "bounds_summary.csv",
            "comparisons.csv",
            "active_units.csv",
        ),
        bound_plot=report(
            f"{VAE}/plots/bound_vs_k.png",
            caption="../report/vae_bound_vs_k.rst",
            category=post_category("8791"),
        ),
        curve_plot=report(
            f"{VAE}/plots/training_curves.png",
            caption="../report/vae_training_curves.rst",
            category=post_category("8791"),
        ),
        exact_plot=report(
            f"{VAE}/plots/exact_gap.png",
            caption="../report/vae_exact_gap.rst",
            category=post_category("8791"),
        ),
        claims=f"{VAE}/claims.json",
        provenance=f"{VAE}/provenance.json",
        metrics=f"{VAE}/metrics.json",
        numbers=f"{VAE}/numbers.json",
    log:
        "results/logs/vae/claims.log",
    benchmark:
        "results/benchmarks/vae/claims.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        provenance=provenance_options(config, "vae"),
        scale=config["scale"],
        tables_dir=lambda wildcards, output: os.path.dirname(output.tables[0]),
        plots_dir=lambda wildcards, output: os.path.dirname(output.bound_plot),
    shell:
        "python -m kexue_repro.vae.claims --settings {input.settings} --evals {input.evals}"
        " --curves {input.curves} --exact {input.exact} --anchors {input.anchors} --scale {params.scale}"
        " --tables-dir {params.tables_dir} --plots-dir {params.plots_dir}"
        " {params.provenance} --provenance-out {output.provenance}"
        " --claims-out {output.claims} --metrics-out {output.metrics} --numbers-out {output.numbers} > {log} 2>&1"


rule vae:
    """Every output of study 8791 (the DVC stage of the same name runs this target)."""
    input:
        expand(rules.vae_train.output, seed=VAE_RUNS["seeds"]),
        rules.vae_claims.input.evals,
        rules.vae_exact.output,
        rules.vae_claims.output,
