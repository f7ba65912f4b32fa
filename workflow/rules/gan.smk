# Study 8757: WGAN with gradient normalization (GN), its Lipschitz behaviour and Su's three objections.
# Smoke experiments (2-D ring of 8 Gaussians, 28x28 digits) at every scale; scale full adds GN-GAN with the
# official CNN on CIFAR-10 (FID/IS curve, claim (f)). Each job runs one module of kexue_repro.gan with its
# step's settings (params.yaml gan.<step>; a job of one dataset gets that dataset's, kexue_repro.gan.plan).

from kexue_repro.gan.plan import cost_settings as gan_cost_settings
from kexue_repro.gan.plan import dataset_settings as gan_dataset_settings

GAN = "results/gan"
GAN_RUNS_CFG = config["gan"]["runs"]
GAN_RUNS = {
    dataset: expand(
        f"{dataset}_{{method}}_seed{{seed}}",
        method=GAN_RUNS_CFG["methods"],
        seed=GAN_RUNS_CFG["seeds"],
    )
    for dataset in ("ring", "mnist")
}


GAN_FULL = config["scale"] == "full"
GAN_CIFAR_RUNS_CFG = config["gan"]["cifar_runs"]
GAN_CIFAR_RUNS = (
    expand(f"{GAN}/runs/cifar10_gn_seed{{seed}}.json", seed=GAN_CIFAR_RUNS_CFG["seeds"])
    if GAN_FULL
    else []
)
GAN_CIFAR_MODELS = (
    expand(f"{GAN}/models/cifar10_gn_seed{{seed}}.pt", seed=GAN_CIFAR_RUNS_CFG["seeds"])
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
            category=post_category("8757"),
        ),
    }
    if GAN_FULL
    else {}
)


wildcard_constraints:
    dataset="ring|mnist",
    method="|".join(GAN_RUNS_CFG["methods"]),


rule gan_digits:
    input:
        settings=step_settings(config, "gan", "digits"),
        code=code_of("kexue_repro.gan.data"),
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
    shell:
        "python -m kexue_repro.gan.data --settings {input.settings} --out {output} > {log} 2>&1"


rule gan_classifier:
    input:
        settings=step_settings(config, "gan", "classifier"),
        digits=rules.gan_digits.output[0],
        code=code_of("kexue_repro.gan.classifier"),
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
    shell:
        "python -m kexue_repro.gan.classifier --settings {input.settings} --digits {input.digits}"
        " --threads {threads} --out {output.model} --metrics-out {output.metrics} > {log} 2>&1"


rule gan_train:
    # One job per (dataset, method) runs its seeds in turn (one process, start-up paid once; each seed written
    # and resumable on its own). Ring runs ignore the digits; every run gets them so the rule has one shape.
    input:
        settings=lambda wildcards: settings_file(
            f"gan/train/{wildcards.dataset}",
            gan_dataset_settings(config, "train", wildcards.dataset),
        ),
        digits=rules.gan_digits.output[0],
        code=code_of("kexue_repro.gan.train"),
    output:
        model=expand(
            f"{GAN}/models/{{dataset}}_{{method}}_seed{{seed}}.pt",
            seed=GAN_RUNS_CFG["seeds"],
            allow_missing=True,
        ),
        run=expand(
            f"{GAN}/runs/{{dataset}}_{{method}}_seed{{seed}}.json",
            seed=GAN_RUNS_CFG["seeds"],
            allow_missing=True,
        ),
    log:
        "results/logs/gan/train_{dataset}_{method}.log",
    benchmark:
        "results/benchmarks/gan/train_{dataset}_{method}.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30 * len(GAN_RUNS_CFG["seeds"]),
        gpu=0,
    params:
        seeds=GAN_RUNS_CFG["seeds"],
        checkpoints=expand(
            f"{GAN}/checkpoints/{{dataset}}_{{method}}_seed{{seed}}.pt",
            seed=GAN_RUNS_CFG["seeds"],
            allow_missing=True,
        ),
        device=config["device"],
    shell:
        "python -m kexue_repro.gan.train --settings {input.settings} --dataset {wildcards.dataset}"
        " --method {wildcards.method} --seed {params.seeds} --threads {threads} --device {params.device}"
        " --checkpoint {params.checkpoints} --digits {input.digits}"
        " --out {output.model} --metrics-out {output.run} > {log} 2>&1"


rule gan_samples:
    # The quality of each run's samples, scored after training: one job per dataset, as the probes.
    input:
        settings=lambda wildcards: settings_file(
            f"gan/samples/{wildcards.dataset}",
            gan_dataset_settings(config, "samples", wildcards.dataset),
        ),
        models=lambda wildcards: expand(
            f"{GAN}/models/{{run}}.pt", run=GAN_RUNS[wildcards.dataset]
        ),
        digits=rules.gan_digits.output[0],
        classifier=rules.gan_classifier.output.model,
        code=code_of("kexue_repro.gan.samples"),
    output:
        f"{GAN}/samples/{{dataset}}.json",
    log:
        "results/logs/gan/samples_{dataset}.log",
    benchmark:
        "results/benchmarks/gan/samples_{dataset}.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python -m kexue_repro.gan.samples --settings {input.settings} --models {input.models}"
        " --classifier {input.classifier} --digits {input.digits} --threads {threads} --out {output} > {log} 2>&1"


rule gan_probe:
    input:
        settings=lambda wildcards: settings_file(
            f"gan/probe/{wildcards.dataset}",
            gan_dataset_settings(config, "probe", wildcards.dataset),
        ),
        digits=rules.gan_digits.output[0],
        models=lambda wildcards: expand(
            f"{GAN}/models/{{run}}.pt", run=GAN_RUNS[wildcards.dataset]
        ),
        code=code_of("kexue_repro.gan.probe"),
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
    shell:
        "python -m kexue_repro.gan.probe --settings {input.settings} --models {input.models}"
        " --digits {input.digits} --threads {threads} --out {output} > {log} 2>&1"


rule gan_cost:
    # Claims (d): every method's training step timed in interleaved rounds in one process, and its FLOPs counted.
    input:
        settings=settings_file("gan/cost", gan_cost_settings(config)),
        digits=rules.gan_digits.output[0],
        code=code_of("kexue_repro.gan.cost"),
    output:
        f"{GAN}/cost.json",
    log:
        "results/logs/gan/cost.log",
    benchmark:
        "results/benchmarks/gan/cost.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    shell:
        "python -m kexue_repro.gan.cost --settings {input.settings} --digits {input.digits}"
        " --threads {threads} --out {output} > {log} 2>&1"


rule gan_cifar10:
    input:
        settings=step_settings(config, "gan", "cifar_data"),
        checksums=config["data"]["checksums"]["cifar10"],
        code=code_of("kexue_repro.gan.cifar_data"),
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
        mirrors=" ".join(f"--mirror {m}" for m in config["data"]["mirrors"]),
    shell:
        "python -m kexue_repro.gan.cifar_data --settings {input.settings} --raw-dir data/raw/cifar10"
        " {params.mirrors} --checksums {input.checksums} --out {output.data} --summary-out {output.summary}"
        " > {log} 2>&1"


rule gan_train_cifar:
    input:
        settings=step_settings(config, "gan", "cifar_train"),
        data=rules.gan_cifar10.output.data,
        code=code_of("kexue_repro.gan.cifar_train"),
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
        runtime=GAN_CIFAR_RUNS_CFG["runtime_min"],
        gpu=1,
    params:
        checkpoint=f"{GAN}/checkpoints/cifar10_gn_seed{{seed}}.pt",
        device=config["device"],
    shell:
        "python -m kexue_repro.gan.cifar_train --settings {input.settings} --data {input.data}"
        " --seed {wildcards.seed} --threads {threads} --device {params.device}"
        " --checkpoint {params.checkpoint} --out {output.model} --metrics-out {output.run} > {log} 2>&1"


rule gan_claims:
    input:
        settings=step_settings(config, "gan", "claims"),
        runs=expand(
            f"{GAN}/runs/{{run}}.json", run=GAN_RUNS["ring"] + GAN_RUNS["mnist"]
        ),
        samples=expand(f"{GAN}/samples/{{dataset}}.json", dataset=["ring", "mnist"]),
        probes=expand(f"{GAN}/probes/{{dataset}}.json", dataset=["ring", "mnist"]),
        cost=rules.gan_cost.output[0],
        classifier=rules.gan_classifier.output.metrics,
        anchors="data/anchors/gan.csv",
        cifar_runs=GAN_CIFAR_RUNS,
        code=code_of("kexue_repro.gan.claims"),
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
            category=post_category("8757"),
        ),
        mnist_plot=report(
            f"{GAN}/plots/mnist_samples.png",
            caption="../report/gan_mnist_samples.rst",
            category=post_category("8757"),
        ),
        discontinuity_plot=report(
            f"{GAN}/plots/discontinuity.png",
            caption="../report/gan_discontinuity.rst",
            category=post_category("8757"),
        ),
        claims=f"{GAN}/claims.json",
        provenance=f"{GAN}/provenance.json",
        metrics=f"{GAN}/metrics.json",
        numbers=f"{GAN}/numbers.json",
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
        scale=config["scale"],
        # Claims (a)-(e) come from the smoke experiments at every scale; (f) and its curve at full scale only.
        cifar_curve=lambda wildcards, output: (
            f"--cifar-curve-csv {output.cifar_curve_csv} --cifar-curve-png {output.cifar_curve_png}"
            if GAN_FULL
            else ""
        ),
        tables_dir=lambda wildcards, output: os.path.dirname(output.tables[0]),
        plots_dir=lambda wildcards, output: os.path.dirname(output.ring_plot),
    shell:
        "python -m kexue_repro.gan.claims --settings {input.settings} --runs {input.runs} --samples {input.samples}"
        " --probes {input.probes} --cost {input.cost} --classifier-metrics {input.classifier}"
        " --anchors {input.anchors}"
        " --tables-dir {params.tables_dir} --plots-dir {params.plots_dir}"
        " --cifar-runs {input.cifar_runs} {params.cifar_curve} --scale {params.scale}"
        " {params.provenance} --provenance-out {output.provenance}"
        " --claims-out {output.claims} --metrics-out {output.metrics} --numbers-out {output.numbers} > {log} 2>&1"


rule gan:
    """Every output of study 8757 (the DVC stage of the same name runs this target)."""
    input:
        rules.gan_classifier.output,
        expand(f"{GAN}/models/{{run}}.pt", run=GAN_RUNS["ring"] + GAN_RUNS["mnist"]),
        rules.gan_claims.input.runs,
        rules.gan_claims.input.samples,
        rules.gan_claims.input.probes,
        rules.gan_claims.input.cost,
        rules.gan_claims.output,
        rules.gan_claims.input.cifar_runs,
        GAN_CIFAR_MODELS,
        rules.gan_cifar10.output.summary if GAN_FULL else [],
