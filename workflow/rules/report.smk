# The claims ledger of every study assembled into one table and one readable report.


rule report:
    input:
        claims=[f"results/{study}/claims.json" for study in STUDIES],
        plots=[
            p
            for study in STUDIES
            for p in getattr(rules, study).input
            if p.endswith(".png")
        ],
    output:
        table=report(
            "results/claims.csv", caption="../report/claims.rst", category="Claims"
        ),
        markdown="results/report.md",
    log:
        "results/logs/report.log",
    benchmark:
        "results/benchmarks/report.tsv"
    conda:
        "../envs/kexue-repro.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python -m kexue_repro.report --claims {input.claims} --plots {input.plots}"
        " --table-out {output.table} --markdown-out {output.markdown} > {log} 2>&1"
