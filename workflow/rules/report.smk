# The claims ledger of every study (or of those in report.studies) assembled into one table and one
# readable report.

REPORT_CHOICE = config["report"]["studies"]
if REPORT_CHOICE != "all" and not set(REPORT_CHOICE) <= set(STUDIES):
    sys.exit(
        f"config: key 'report.studies': unknown study '{sorted(set(REPORT_CHOICE) - set(STUDIES))[0]}'"
        f" (studies: {', '.join(STUDIES)})"
    )
REPORTED = [s for s in STUDIES if REPORT_CHOICE == "all" or s in REPORT_CHOICE]


rule report:
    input:
        claims=[f"results/{study}/claims.json" for study in REPORTED],
        # Each study's claims step writes it (common.provenance.provenance_options in its claims rule).
        provenance=[
            p
            for study in REPORTED
            for p in getattr(rules, study).input
            if os.path.basename(p) == "provenance.json"
        ],
        plots=[
            p
            for study in REPORTED
            for p in getattr(rules, study).input
            if p.endswith(".png")
        ],
        # Markdown tables a study writes for the report (results/<study>/tables.md), shown under it.
        tables=[
            p
            for study in REPORTED
            for p in getattr(rules, study).input
            if os.path.basename(p) == "tables.md"
        ],
        code=code_of("kexue_repro.report"),
    output:
        table=report(
            "results/claims.csv", caption="../report/claims.rst", category="Claims"
        ),
        markdown="results/report.md",
        front=REPORT_FRONT,  # the HTML report's first view (Snakefile, `report:`)
        # Each post's claims as a table under its category of the HTML report.
        by_post=[
            report(
                f"results/claims_by_post/{post.number}.html",
                caption="../report/claims_by_post.rst",
                category=post_category(post.number),
            )
            for post in POSTS
        ],
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
        "python -m kexue_repro.report --claims {input.claims} --provenance {input.provenance}"
        " --plots {input.plots} --tables {input.tables}"
        " --table-out {output.table} --markdown-out {output.markdown}"
        " --front-out {output.front} --by-post-out {output.by_post} > {log} 2>&1"
