# Study 8747: why BERT initialises with std 0.02 (gradient flow of Post-LN / Pre-LN at initialisation,
# warmup and the stall of Post-LN, the last LayerNorm's gamma), and the MAE identity of study 8770.

TF = "results/transformer"
TF_CFG = config["transformer"]
TF_SCALE = TF_CFG["scales"][config["scale"]]
TF_SHAPES = {shape["name"]: shape for shape in TF_CFG["gradflow"]["configurations"]}
TF_MLM = TF_SCALE["mlm"]
# The warmup sweep (head of params mlm.head), and the Post-LN runs of the LayerNorm-gamma claim with and
# without BERT's extra Dense+LN in the head; runs whose settings coincide are shared.
TF_RUNS = sorted(
    set(
        expand(
            "{norm}_{head}_lr{lr}_w{warmup}_seed{seed}",
            norm=TF_CFG["norms"],
            head=TF_CFG["mlm"]["head"],
            lr=TF_MLM["lrs"],
            warmup=TF_MLM["warmup_steps"],
            seed=TF_MLM["seeds"],
        )
        + expand(
            "post_{head}_lr{lr}_w{warmup}_seed{seed}",
            head=["dense_ln", "plain"],
            lr=TF_SCALE["last_ln"]["lr"],
            warmup=TF_SCALE["last_ln"]["warmup_steps"],
            seed=TF_MLM["seeds"],
        )
    )
)


rule transformer_gradflow:
    input:
        code=[
            "src/kexue_repro/transformer/model.py",
            "src/kexue_repro/transformer/gradflow.py",
        ],
    output:
        f"{TF}/evals/gradflow_{{configuration}}.json",
    log:
        "results/logs/transformer/gradflow_{configuration}.log",
    benchmark:
        "results/benchmarks/transformer/gradflow_{configuration}.tsv"
    wildcard_constraints:
        configuration="|".join(TF_SHAPES),
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=TF_SCALE["runtime_min"],
        gpu=1 if config["scale"] == "full" else 0,
    params:
        shape=lambda wildcards: TF_SHAPES[wildcards.configuration],
        cfg=TF_CFG["gradflow"],
        size=TF_SCALE["gradflow"],
        norms=" ".join(TF_CFG["norms"]),
        inits=" ".join(TF_CFG["inits"]),
        seeds=" ".join(map(str, TF_SCALE["gradflow"]["seeds"])),
        device=config["device"],
    shell:
        "python -m kexue_repro.transformer gradflow --name {wildcards.configuration}"
        " --depth {params.shape[depth]}"
        " --width {params.shape[width]} --heads {params.shape[heads]} --ffn {params.shape[ffn]}"
        " --head {params.cfg[head]} --output {params.cfg[output]} --vocab {params.cfg[vocab]}"
        " --seq-len {params.size[seq_len]} --batch-size {params.size[batch_size]}"
        " --mask-prob {params.cfg[mask_prob]} --norms {params.norms} --inits {params.inits}"
        " --seeds {params.seeds} --threads {threads} --device {params.device} --out {output} > {log} 2>&1"


rule transformer_init_std:
    input:
        code="src/kexue_repro/transformer/model.py",
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
    params:
        cfg=TF_CFG["init_std"],
    shell:
        "python -m kexue_repro.transformer init-std --width {params.cfg[width]}"
        " --matrices {params.cfg[matrices]} --seed {params.cfg[seed]} --out {output} > {log} 2>&1"


rule transformer_mlm:
    input:
        code=[
            "src/kexue_repro/transformer/model.py",
            "src/kexue_repro/transformer/data.py",
            "src/kexue_repro/transformer/train.py",
        ],
    output:
        f"{TF}/runs/{{norm}}_{{head}}_lr{{lr}}_w{{warmup}}_seed{{seed}}.json",
    log:
        "results/logs/transformer/mlm_{norm}_{head}_lr{lr}_w{warmup}_seed{seed}.log",
    benchmark:
        "results/benchmarks/transformer/mlm_{norm}_{head}_lr{lr}_w{warmup}_seed{seed}.tsv"
    wildcard_constraints:
        norm="post|pre",
        head="dense_ln|plain",
        lr=r"[0-9.e+-]+",
        warmup=r"\d+",
        seed=r"\d+",
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=TF_SCALE["runtime_min"],
        gpu=1 if config["scale"] == "full" else 0,
    params:
        net=TF_CFG["mlm"],
        corpus=TF_CFG["corpus"],
        size=TF_MLM,
        checkpoint=f"{TF}/checkpoints/{{norm}}_{{head}}_lr{{lr}}_w{{warmup}}_seed{{seed}}.pt",
        device=config["device"],
    shell:
        "python -m kexue_repro.transformer mlm --norm {wildcards.norm} --head {wildcards.head}"
        " --output {params.net[output]} --init {params.net[init]} --depth {params.net[depth]}"
        " --width {params.net[width]} --heads {params.net[heads]} --ffn {params.net[ffn]}"
        " --dropout {params.net[dropout]} --corpus-vocab {params.corpus[vocab]}"
        " --corpus-topics {params.corpus[topics]} --corpus-support {params.corpus[support]}"
        " --corpus-seed {params.corpus[seed]} --mask-prob {params.net[mask_prob]}"
        " --seq-len {params.size[seq_len]} --batch-size {params.size[batch_size]}"
        " --steps {params.size[steps]} --lr {wildcards.lr} --warmup-steps {wildcards.warmup}"
        " --eval-batches {params.size[eval_batches]} --seed {wildcards.seed}"
        " --checkpoint-every {params.net[checkpoint_every]} --threads {threads}"
        " --device {params.device} --checkpoint {params.checkpoint} --out {output} > {log} 2>&1"


rule transformer_mae:
    input:
        code="src/kexue_repro/transformer/mae.py",
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
    params:
        cfg=TF_CFG["mae"],
        samples=" ".join(map(str, TF_CFG["mae"]["samples"])),
    shell:
        "python -m kexue_repro.transformer mae --n {params.cfg[n]} --keep-prob {params.cfg[keep_prob]}"
        " --logit-std {params.cfg[logit_std]} --samples {params.samples} --seed {params.cfg[seed]}"
        " --out {output} > {log} 2>&1"


rule transformer_claims:
    input:
        gradflow=expand(
            f"{TF}/evals/gradflow_{{configuration}}.json", configuration=TF_SHAPES
        ),
        init_std=rules.transformer_init_std.output[0],
        runs=expand(f"{TF}/runs/{{run}}.json", run=TF_RUNS),
        mae=rules.transformer_mae.output[0],
        anchors="data/anchors/transformer.csv",
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
                category="8747 BERT init",
            )
            for configuration in TF_SHAPES
        ],
        curves_plot=report(
            f"{TF}/plots/mlm_curves.png",
            caption="../report/transformer_mlm_curves.rst",
            category="8747 BERT init",
        ),
        last_ln_plot=report(
            f"{TF}/plots/last_ln_gamma.png",
            caption="../report/transformer_last_ln_gamma.rst",
            category="8747 BERT init",
        ),
        mae_plot=report(
            f"{TF}/plots/mae_gap.png",
            caption="../report/transformer_mae_gap.rst",
            category="8770 MLM and MAE",
        ),
        claims=f"{TF}/claims.json",
        provenance=f"{TF}/provenance.json",
        metrics=f"{TF}/metrics.json",
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
        cfg=TF_CFG["claims"],
        head=TF_CFG["mlm"]["head"],
        last_ln=TF_SCALE["last_ln"],
        scale=config["scale"],
        tables_dir=lambda wildcards, output: os.path.dirname(output.tables[0]),
        plots_dir=lambda wildcards, output: os.path.dirname(output.curves_plot),
    shell:
        "python -m kexue_repro.transformer claims --gradflow {input.gradflow} --init-std {input.init_std}"
        " --runs {input.runs} --mae {input.mae} --anchors {input.anchors}"
        " --confidence {params.cfg[confidence]} --std-rel-tol {params.cfg[std_rel_tol]}"
        " --flat-min {params.cfg[flat_min]} --flat-max {params.cfg[flat_max]}"
        " --vanish-threshold {params.cfg[vanish_threshold]} --explode-ratio {params.cfg[explode_ratio]}"
        " --stall-margin {params.cfg[stall_margin]} --sweep-head {params.head}"
        " --last-ln-lr {params.last_ln[lr]} --last-ln-warmup {params.last_ln[warmup_steps]}"
        " --identity-tol {params.cfg[identity_tol]} --mc-z {params.cfg[mc_z]}"
        " --tables-dir {params.tables_dir} --plots-dir {params.plots_dir} --scale {params.scale}"
        " {params.provenance} --provenance-out {output.provenance}"
        " --claims-out {output.claims} --metrics-out {output.metrics} > {log} 2>&1"


rule transformer:
    """Every output of study 8747 and the MAE identity of 8770 (the DVC stage of the same name runs this)."""
    input:
        rules.transformer_claims.input.gradflow,
        rules.transformer_claims.input.init_std,
        rules.transformer_claims.input.runs,
        rules.transformer_claims.input.mae,
        rules.transformer_claims.output,
