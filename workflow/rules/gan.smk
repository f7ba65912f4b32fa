# Study 8757: WGAN with gradient normalization (GN), its Lipschitz behaviour and Su's three objections.
# Smoke experiments (2-D ring of 8 Gaussians, 28x28 digits) at every scale; scale full adds GN-GAN with the
# official CNN on CIFAR-10 (FID/IS curve, claim (f)).

GAN = "results/gan"
GAN_CFG = config["gan"]
GAN_RUNS = {
    dataset: expand(
        f"{dataset}_{{method}}_seed{{seed}}",
        method=GAN_CFG["methods"],
        seed=GAN_CFG["seeds"],
    )
    for dataset in ("ring", "mnist")
}


GAN_FULL = config["scale"] == "full"
GAN_CIFAR = GAN_CFG["cifar10"]
GAN_CIFAR_RUNS = (
    expand(f"{GAN}/runs/cifar10_gn_seed{{seed}}.json", seed=GAN_CIFAR["seeds"])
    if GAN_FULL
    else []
)
GAN_CIFAR_MODELS = (
    expand(f"{GAN}/models/cifar10_gn_seed{{seed}}.pt", seed=GAN_CIFAR["seeds"])
    if GAN_FULL
    else []
)
# Outputs of the claims step at full scale only: the FID-at-step table and plot. They live in the evals
# directory, a persistent DVC out of the gan stage at every scale (dvc.yaml cannot list files per scale).
GAN_CIFAR_CURVE = (
    {
        "cifar_curve_csv": f"{GAN}/evals/cifar10_curve.csv",
        "cifar_curve_png": report(
            f"{GAN}/evals/cifar10_fid_curve.png",
            caption="../report/gan_cifar10_curve.rst",
            category="8757 GN-GAN",
        ),
    }
    if GAN_FULL
    else {}
)


wildcard_constraints:
    dataset="ring|mnist",
    method="|".join(GAN_CFG["methods"]),


rule gan_digits:
    output:
        "data/processed/gan/digits.npz",
    log:
        "results/logs/gan/digits.log",
    benchmark:
        "results/benchmarks/gan/digits.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        cfg=GAN_CFG["digits"],
    shell:
        "python -m kexue_repro.gan digits --n-test {params.cfg[n_test]}"
        " --split-seed {params.cfg[split_seed]} --out {output} > {log} 2>&1"


rule gan_classifier:
    input:
        digits=rules.gan_digits.output[0],
    output:
        model=f"{GAN}/models/classifier.pt",
        metrics=f"{GAN}/evals/classifier.json",
    log:
        "results/logs/gan/classifier.log",
    benchmark:
        "results/benchmarks/gan/classifier.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        cfg=GAN_CFG["classifier"],
    shell:
        "python -m kexue_repro.gan classifier --digits {input.digits} --hidden {params.cfg[hidden]}"
        " --feature-dim {params.cfg[feature_dim]} --steps {params.cfg[steps]}"
        " --batch-size {params.cfg[batch_size]} --lr {params.cfg[lr]} --seed {params.cfg[seed]}"
        " --threads {threads} --out {output.model} --metrics-out {output.metrics} > {log} 2>&1"


rule gan_train:
    # Ring runs ignore the digits and the classifier; every run gets them so the rule has one shape.
    input:
        digits=rules.gan_digits.output[0],
        classifier=rules.gan_classifier.output.model,
        code=["src/kexue_repro/gan/model.py", "src/kexue_repro/gan/train.py"],
    output:
        model=f"{GAN}/models/{{dataset}}_{{method}}_seed{{seed}}.pt",
        run=f"{GAN}/runs/{{dataset}}_{{method}}_seed{{seed}}.json",
    log:
        f"results/logs/gan/train_{{dataset}}_{{method}}_seed{{seed}}.log",
    benchmark:
        f"results/benchmarks/gan/train_{{dataset}}_{{method}}_seed{{seed}}.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
        gpu=0,
    params:
        checkpoint=f"{GAN}/checkpoints/{{dataset}}_{{method}}_seed{{seed}}.pt",
        net=lambda wildcards: GAN_CFG[wildcards.dataset],
        ring=GAN_CFG["ring"],
        train=GAN_CFG["train"],
        betas=" ".join(map(str, GAN_CFG["train"]["betas"])),
        device=config["device"],
    shell:
        "python -m kexue_repro.gan train --dataset {wildcards.dataset} --method {wildcards.method}"
        " --seed {wildcards.seed} --steps {params.net[steps]} --batch-size {params.net[batch_size]}"
        " --lr {params.train[lr]} --betas {params.betas} --n-dis {params.train[n_dis]}"
        " --gp-lambda {params.train[gp_lambda]} --gran-eps {params.train[gran_eps]}"
        " --latent {params.net[latent]} --gen-hidden {params.net[gen_hidden]}"
        " --gen-depth {params.net[gen_depth]} --critic-hidden {params.net[critic_hidden]}"
        " --critic-depth {params.net[critic_depth]} --ring-modes {params.ring[modes]}"
        " --ring-radius {params.ring[radius]} --ring-std {params.ring[std]} --n-eval {params.net[n_eval]}"
        " --mode-share {params.ring[mode_share]} --n-show {params.net[n_show]}"
        " --warmup-steps {params.train[warmup_steps]} --checkpoint-every {params.train[checkpoint_every]}"
        " --threads {threads} --device {params.device} --checkpoint {params.checkpoint}"
        " --classifier {input.classifier} --digits {input.digits}"
        " --out {output.model} --metrics-out {output.run} > {log} 2>&1"


rule gan_probe:
    input:
        digits=rules.gan_digits.output[0],
        models=lambda wildcards: expand(
            f"{GAN}/models/{{run}}.pt", run=GAN_RUNS[wildcards.dataset]
        ),
    output:
        f"{GAN}/probes/{{dataset}}.json",
    log:
        "results/logs/gan/probe_{dataset}.log",
    benchmark:
        "results/benchmarks/gan/probe_{dataset}.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        size=lambda wildcards: GAN_CFG["probe"][wildcards.dataset],
        scales=" ".join(map(str, GAN_CFG["probe"]["scales"])),
        seed=GAN_CFG["probe"]["seed"],
    shell:
        "python -m kexue_repro.gan probe --models {input.models} --points {params.size[points]}"
        " --pairs {params.size[pairs]} --scales {params.scales} --seed {params.seed}"
        " --digits {input.digits} --threads {threads} --out {output} > {log} 2>&1"


rule gan_cifar10:
    output:
        data="data/processed/gan/cifar10.npz",
        summary=f"{GAN}/evals/cifar10_data.json",
    log:
        "results/logs/gan/cifar10.log",
    benchmark:
        "results/benchmarks/gan/cifar10.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        retries=GAN_CIFAR["fetch_retries"],
        mirrors=" ".join(f"--mirror {m}" for m in config["data"]["mirrors"]),
    shell:
        "python -m kexue_repro.gan cifar10 --raw-dir data/raw/cifar10 --retries {params.retries}"
        " {params.mirrors} --out {output.data} --summary-out {output.summary} > {log} 2>&1"


rule gan_train_cifar:
    input:
        data=rules.gan_cifar10.output.data,
        code=[
            "src/kexue_repro/gan/cnn.py",
            "src/kexue_repro/gan/cifar_train.py",
            "src/kexue_repro/gan/image_metrics.py",
        ],
    output:
        model=f"{GAN}/models/cifar10_gn_seed{{seed}}.pt",
        run=f"{GAN}/runs/cifar10_gn_seed{{seed}}.json",
    log:
        "results/logs/gan/train_cifar10_gn_seed{seed}.log",
    benchmark:
        "results/benchmarks/gan/train_cifar10_gn_seed{seed}.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=24000,
        runtime=GAN_CIFAR["runtime_min"],
        gpu=1,
    params:
        cfg=GAN_CIFAR,
        betas=" ".join(map(str, GAN_CIFAR["betas"])),
        weights=(
            f"--inception-weights {GAN_CIFAR['inception_weights']}"
            if GAN_CIFAR["inception_weights"]
            else ""
        ),
        checkpoint=f"{GAN}/checkpoints/cifar10_gn_seed{{seed}}.pt",
        device=config["device"],
    shell:
        "python -m kexue_repro.gan train-cifar --data {input.data} --seed {wildcards.seed}"
        " --steps {params.cfg[steps]} --batch-size-d {params.cfg[batch_size_d]}"
        " --batch-size-g {params.cfg[batch_size_g]} --lr-d {params.cfg[lr_d]} --lr-g {params.cfg[lr_g]}"
        " --betas {params.betas} --n-dis {params.cfg[n_dis]} --latent {params.cfg[latent]}"
        " --ema-decay {params.cfg[ema_decay]} --lr-decay-start {params.cfg[lr_decay_start]}"
        " --eval-every {params.cfg[eval_every]} --n-eval {params.cfg[n_eval]} --n-real {params.cfg[n_real]}"
        " --is-splits {params.cfg[is_splits]} --features {params.cfg[features]} {params.weights}"
        " --checkpoint-every {params.cfg[checkpoint_every]} --threads {threads} --device {params.device}"
        " --checkpoint {params.checkpoint} --out {output.model} --metrics-out {output.run} > {log} 2>&1"


rule gan_claims:
    input:
        runs=expand(
            f"{GAN}/runs/{{run}}.json", run=GAN_RUNS["ring"] + GAN_RUNS["mnist"]
        ),
        probes=expand(f"{GAN}/probes/{{dataset}}.json", dataset=["ring", "mnist"]),
        classifier=rules.gan_classifier.output.metrics,
        anchors="data/anchors/gan.csv",
        cifar_runs=GAN_CIFAR_RUNS,
    output:
        **GAN_CIFAR_CURVE,
        tables=multiext(
            f"{GAN}/tables/",
            "runs.csv",
            "summary.csv",
            "cost.csv",
            "probes.csv",
            "discontinuity.csv",
        ),
        ring_plot=report(
            f"{GAN}/plots/ring_samples.png",
            caption="../report/gan_ring_samples.rst",
            category="8757 GN-GAN",
        ),
        mnist_plot=report(
            f"{GAN}/plots/mnist_samples.png",
            caption="../report/gan_mnist_samples.rst",
            category="8757 GN-GAN",
        ),
        discontinuity_plot=report(
            f"{GAN}/plots/discontinuity.png",
            caption="../report/gan_discontinuity.rst",
            category="8757 GN-GAN",
        ),
        claims=f"{GAN}/claims.json",
        provenance=f"{GAN}/provenance.json",
        metrics=f"{GAN}/metrics.json",
    log:
        "results/logs/gan/claims.log",
    benchmark:
        "results/benchmarks/gan/claims.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        provenance=provenance_options(config, "gan"),
        cfg=GAN_CFG["claims"],
        # Claims (a)-(e) come from the smoke experiments at every scale; (f) states its own scale (full).
        scale="smoke",
        full=lambda wildcards, input, output: (
            f"--cifar-runs {' '.join(input.cifar_runs)} --cifar-curve-csv {output.cifar_curve_csv}"
            f" --cifar-curve-png {output.cifar_curve_png}"
            f" --fid-tolerance {GAN_CIFAR['fid_tolerance']} --is-tolerance {GAN_CIFAR['is_tolerance']}"
            if GAN_FULL
            else ""
        ),
        tables_dir=lambda wildcards, output: os.path.dirname(output.tables[0]),
        plots_dir=lambda wildcards, output: os.path.dirname(output.ring_plot),
    shell:
        "python -m kexue_repro.gan claims --runs {input.runs} --probes {input.probes}"
        " --classifier-metrics {input.classifier} --anchors {input.anchors}"
        " --confidence {params.cfg[confidence]} --tolerance {params.cfg[tolerance]}"
        " --mode-success {params.cfg[mode_success]} --tables-dir {params.tables_dir}"
        " --plots-dir {params.plots_dir} --scale {params.scale} {params.full}"
        " {params.provenance} --provenance-out {output.provenance}"
        " --claims-out {output.claims} --metrics-out {output.metrics} > {log} 2>&1"


rule gan:
    """Every output of study 8757 (the DVC stage of the same name runs this target)."""
    input:
        rules.gan_classifier.output,
        expand(f"{GAN}/models/{{run}}.pt", run=GAN_RUNS["ring"] + GAN_RUNS["mnist"]),
        rules.gan_claims.input.runs,
        rules.gan_claims.input.probes,
        rules.gan_claims.output,
        rules.gan_claims.input.cifar_runs,
        GAN_CIFAR_MODELS,
        rules.gan_cifar10.output.summary if GAN_FULL else [],
