# Study 8783: GLUE/SuperGLUE leaderboards re-averaged with AM, GM and HM under three task-set rules.

LB = "results/leaderboard"


rule leaderboard_evaluate:
    input:
        table=config["leaderboard"]["table"],
        code=code_of("kexue_repro.leaderboard.evaluate"),
    output:
        official=report(
            f"{LB}/tables/official_scores.csv",
            caption="../report/leaderboard_official.rst",
            category=post_category("8783"),
        ),
        means=f"{LB}/tables/means.csv",
        ranks=f"{LB}/tables/ranks.csv",
        kendall=report(
            f"{LB}/tables/kendall_tau.csv",
            caption="../report/leaderboard_kendall.rst",
            category=post_category("8783"),
        ),
        human=report(
            f"{LB}/tables/human_rank.csv",
            caption="../report/leaderboard_human.rst",
            category=post_category("8783"),
        ),
    log:
        "results/logs/leaderboard/evaluate.log",
    benchmark:
        "results/benchmarks/leaderboard/evaluate.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        tables_dir=lambda wildcards, output: os.path.dirname(output.official),
    shell:
        "python -m kexue_repro.leaderboard.evaluate --table {input.table}"
        " --tables-dir {params.tables_dir} > {log} 2>&1"


rule leaderboard_plot:
    input:
        ranks=rules.leaderboard_evaluate.output.ranks,
        code=code_of("kexue_repro.leaderboard.plots"),
    output:
        report(
            f"{LB}/plots/rank_changes.png",
            caption="../report/leaderboard_rank_changes.rst",
            category=post_category("8783"),
        ),
    log:
        "results/logs/leaderboard/plot.log",
    benchmark:
        "results/benchmarks/leaderboard/plot.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        scale=config["scale"],
    shell:
        "python -m kexue_repro.leaderboard.plots --ranks {input.ranks} --out {output} --scale {params.scale}"
        " > {log} 2>&1"


rule leaderboard_claims:
    input:
        settings=step_settings(config, "leaderboard", "claims"),
        tables=rules.leaderboard_evaluate.output,
        code=code_of("kexue_repro.leaderboard.claims"),
    output:
        claims=f"{LB}/claims.json",
        provenance=f"{LB}/provenance.json",
        metrics=f"{LB}/metrics.json",
        numbers=f"{LB}/numbers.json",
    log:
        "results/logs/leaderboard/claims.log",
    benchmark:
        "results/benchmarks/leaderboard/claims.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        provenance=provenance_options(config, "leaderboard"),
        scale=config["scale"],
        tables_dir=lambda wildcards, input: os.path.dirname(input.tables[0]),
    shell:
        "python -m kexue_repro.leaderboard.claims --settings {input.settings} --tables-dir {params.tables_dir}"
        " --scale {params.scale} {params.provenance} --provenance-out {output.provenance}"
        " --claims-out {output.claims} --metrics-out {output.metrics} --numbers-out {output.numbers} > {log} 2>&1"


rule leaderboard:
    """Every output of study 8783 (the DVC stage of the same name runs this target)."""
    input:
        rules.leaderboard_evaluate.output,
        rules.leaderboard_plot.output,
        rules.leaderboard_claims.output,
