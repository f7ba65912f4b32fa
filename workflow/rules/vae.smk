# Study 8791: the VAE as density estimation by importance sampling; VAE (k=1) vs IWAE (k=5, 50).

from kexue_repro.vae.schedule import schedule_label

VAE = "results/vae"
VAE_CFG = config["vae"]
VAE_SCALE = VAE_CFG["scales"][config["scale"]]
VAE_RUNS = expand("k{k}_seed{seed}", k=VAE_CFG["k_train"], seed=VAE_CFG["seeds"])


wildcard_constraints:
    k=r"\d+",
    seed=r"\d+",


rule vae_data:
    output:
        "data/processed/vae/mnist.npz",
    log:
        "results/logs/vae/data.log",
    benchmark:
        "results/benchmarks/vae/data.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        source=VAE_SCALE["source"],
        n_test=VAE_SCALE["n_test"],
        split_seed=VAE_CFG["split_seed"],
        clip=VAE_CFG["pixel_mean_clip"],
        mirrors=" ".join(f"--mirror {m}" for m in config["data"]["mirrors"]),
    shell:
        "python -m kexue_repro.vae data --source {params.source} --raw-dir data/raw/mnist"
        " --n-test {params.n_test} --split-seed {params.split_seed} --pixel-mean-clip {params.clip}"
        " {params.mirrors} --out {output} > {log} 2>&1"


rule vae_train:
    input:
        data=rules.vae_data.output[0],
        # Retrain when the model or the loop changes, not only the rule.
        code=["src/kexue_repro/vae/model.py", "src/kexue_repro/vae/train.py"],
    output:
        model=f"{VAE}/models/k{{k}}_seed{{seed}}.pt",
        curve=f"{VAE}/curves/k{{k}}_seed{{seed}}.csv",
    log:
        f"results/logs/vae/train_k{{k}}_seed{{seed}}.log",
    benchmark:
        f"results/benchmarks/vae/train_k{{k}}_seed{{seed}}.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=VAE_SCALE["runtime_min"],
        gpu=1 if config["scale"] == "full" else 0,
    params:
        checkpoint=f"{VAE}/checkpoints/k{{k}}_seed{{seed}}.pt",
        hidden=VAE_CFG["hidden"],
        latent=VAE_CFG["latent"],
        lr=VAE_CFG["lr"],
        schedule=VAE_SCALE["schedule"],
        length=(
            f"--epochs {VAE_SCALE['epochs']}"
            if VAE_SCALE["schedule"] == "constant"
            else f"--passes {VAE_SCALE['passes']}"
        ),
        batch_size=VAE_SCALE["batch_size"],
        device=config["device"],
    shell:
        "python -m kexue_repro.vae train --data {input.data} --k {wildcards.k} --seed {wildcards.seed}"
        " --hidden {params.hidden} --latent {params.latent} --schedule {params.schedule} {params.length}"
        " --lr {params.lr} --batch-size {params.batch_size} --threads {threads} --device {params.device}"
        " --checkpoint {params.checkpoint} --out {output.model} --curve {output.curve} > {log} 2>&1"


rule vae_evaluate:
    input:
        data=rules.vae_data.output[0],
        model=rules.vae_train.output.model,
        code=["src/kexue_repro/vae/model.py", "src/kexue_repro/vae/evaluate.py"],
    output:
        f"{VAE}/evals/k{{k}}_seed{{seed}}.json",
    log:
        f"results/logs/vae/evaluate_k{{k}}_seed{{seed}}.log",
    benchmark:
        f"results/benchmarks/vae/evaluate_k{{k}}_seed{{seed}}.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=VAE_SCALE["runtime_min"],
        gpu=1 if config["scale"] == "full" else 0,
    params:
        k_eval=" ".join(map(str, VAE_CFG["k_eval"])),
        n_eval=VAE_SCALE["n_eval"],
        chunk=VAE_CFG["eval_chunk"],
        seed=VAE_CFG["eval_seed"],
        threshold=VAE_CFG["active_threshold"],
        device=config["device"],
    shell:
        "python -m kexue_repro.vae evaluate --data {input.data} --model {input.model}"
        " --k-eval {params.k_eval} --n-eval {params.n_eval} --chunk {params.chunk} --seed {params.seed}"
        " --active-threshold {params.threshold} --threads {threads} --device {params.device}"
        " --out {output} > {log} 2>&1"


rule vae_exact:
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
    params:
        k=" ".join(map(str, VAE_CFG["exact"]["k"])),
        cfg=VAE_CFG["exact"],
    shell:
        "python -m kexue_repro.vae exact --k {params.k} --dim-x {params.cfg[dim_x]}"
        " --dim-z {params.cfg[dim_z]} --n-points {params.cfg[n_points]} --noise-std {params.cfg[noise_std]}"
        " --proposal-scale {params.cfg[proposal_scale]} --repeats {params.cfg[repeats]}"
        " --chunk {params.cfg[chunk]} --seed {params.cfg[seed]} --threads {threads} --out {output} > {log} 2>&1"


rule vae_claims:
    input:
        evals=expand(f"{VAE}/evals/{{run}}.json", run=VAE_RUNS),
        curves=expand(f"{VAE}/curves/{{run}}.csv", run=VAE_RUNS),
        exact=rules.vae_exact.output[0],
        anchors="data/anchors/vae_burda2016_table1.csv",
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
            category="8791 VAE / IWAE",
        ),
        curve_plot=report(
            f"{VAE}/plots/training_curves.png",
            caption="../report/vae_training_curves.rst",
            category="8791 VAE / IWAE",
        ),
        exact_plot=report(
            f"{VAE}/plots/exact_gap.png",
            caption="../report/vae_exact_gap.rst",
            category="8791 VAE / IWAE",
        ),
        claims=f"{VAE}/claims.json",
        provenance=f"{VAE}/provenance.json",
        metrics=f"{VAE}/metrics.json",
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
        label=schedule_label(
            config["scale"], VAE_SCALE["schedule"], VAE_SCALE.get("passes")
        ),
        confidence=VAE_CFG["confidence"],
        exact_threshold=VAE_CFG["exact"]["threshold"],
        anchor_tolerance=VAE_CFG["anchor_tolerance"],
        tables_dir=lambda wildcards, output: os.path.dirname(output.tables[0]),
        plots_dir=lambda wildcards, output: os.path.dirname(output.bound_plot),
    shell:
        "python -m kexue_repro.vae claims --evals {input.evals} --curves {input.curves} --exact {input.exact}"
        " --anchors {input.anchors} --scale {params.scale} --schedule-label {params.label}"
        " --confidence {params.confidence} --exact-threshold {params.exact_threshold}"
        " --anchor-tolerance {params.anchor_tolerance} --tables-dir {params.tables_dir} --plots-dir {params.plots_dir}"
        " {params.provenance} --provenance-out {output.provenance}"
        " --claims-out {output.claims} --metrics-out {output.metrics} > {log} 2>&1"


rule vae:
    """Every output of study 8791 (the DVC stage of the same name runs this target)."""
    input:
        expand(rules.vae_train.output, k=VAE_CFG["k_train"], seed=VAE_CFG["seeds"]),
        rules.vae_claims.input.evals,
        rules.vae_exact.output,
        rules.vae_claims.output,
