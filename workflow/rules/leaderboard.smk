# Study 8783: GLUE/SuperGLUE leaderboards re-averaged with AM, GM and HM under three task-set rules.

LB = "results/leaderboard"


rule leaderboard_score:
    input:
        table=config["leaderboard"]["table"],
    output:
        official=report(
            f"{LB}/tables/official_scores.csv",
            caption="../report/leaderboard_official.rst",
            category="8783 leaderboard",
        ),
        means=f"{LB}/tables/means.csv",
    log:
        "results/logs/leaderboard/score.log",
    benchmark:
        "results/benchmarks/leaderboard/score.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        tolerance=config["leaderboard"]["official_tolerance"],
    shell:
        "python -m kexue_repro.leaderboard score --table {input.table} --tolerance {params.tolerance}"
        " --official-out {output.official} --means-out {output.means} > {log} 2>&1"


rule leaderboard_rank:
    input:
        means=rules.leaderboard_score.output.means,
    output:
        ranks=f"{LB}/tables/ranks.csv",
        kendall=report(
            f"{LB}/tables/kendall_tau.csv",
            caption="../report/leaderboard_kendall.rst",
            category="8783 leaderboard",
        ),
        human=report(
            f"{LB}/tables/human_rank.csv",
            caption="../report/leaderboard_human.rst",
            category="8783 leaderboard",
        ),
    log:
        "results/logs/leaderboard/rank.log",
    benchmark:
        "results/benchmarks/leaderboard/rank.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python -m kexue_repro.leaderboard rank --means {input.means} --ranks-out {output.ranks}"
        " --kendall-out {output.kendall} --human-out {output.human} > {log} 2>&1"


rule leaderboard_plot:
    input:
        ranks=rules.leaderboard_rank.output.ranks,
    output:
        report(
            f"{LB}/plots/rank_changes.png",
            caption="../report/leaderboard_rank_changes.rst",
            category="8783 leaderboard",
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
    shell:
        "python -m kexue_repro.leaderboard plot --ranks {input.ranks} --out {output} > {log} 2>&1"


rule leaderboard_claims:
    input:
        official=rules.leaderboard_score.output.official,
        ranks=rules.leaderboard_rank.output.ranks,
        kendall=rules.leaderboard_rank.output.kendall,
        human=rules.leaderboard_rank.output.human,
    output:
        claims=f"{LB}/claims.json",
        provenance=f"{LB}/provenance.json",
        metrics=f"{LB}/metrics.json",
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
        tolerance=config["leaderboard"]["official_tolerance"],
        rounding_bound=config["leaderboard"]["rounding_bound"],
        tau_threshold=config["leaderboard"]["tau_threshold"],
        scale=config["scale"],
    shell:
        "python -m kexue_repro.leaderboard claims --official {input.official} --ranks {input.ranks}"
        " --kendall {input.kendall} --human {input.human} --tolerance {params.tolerance}"
        " --rounding-bound {params.rounding_bound} --tau-threshold {params.tau_threshold} --scale {params.scale}"
        " {params.provenance} --provenance-out {output.provenance}"
        " --claims-out {output.claims} --metrics-out {output.metrics} > {log} 2>&1"


rule leaderboard:
    """Every output of study 8783 (the DVC stage of the same name runs this target)."""
    input:
        rules.leaderboard_score.output,
        rules.leaderboard_rank.output,
        rules.leaderboard_plot.output,
        rules.leaderboard_claims.output,
