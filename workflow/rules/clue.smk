# Study 8739 (CLUE baseline), data part: each task's official files, verified against
# data/checksums/clue.csv (mirrors of data.mirrors file by file when the official archive is unreachable),
# then train/dev jsonl subsampled for the scale. The fine-tuning rules and the study's target come later.

from kexue_repro.data.clue import TASKS as CLUE_TASKS

CLUE_CFG = config["clue"]
CLUE_RAW = "data/raw/clue"
CLUE_PROCESSED = "data/processed/clue"


wildcard_constraints:
    task="|".join(CLUE_TASKS),


rule clue_fetch:
    input:
        checksums="data/checksums/clue.csv",
    output:
        f"{CLUE_RAW}/{{task}}/fetch.json",
    log:
        "results/logs/clue/fetch_{task}.log",
    benchmark:
        "results/benchmarks/clue/fetch_{task}.tsv"
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
