FIGURES.append(("beyond", "scorecard"))


rule scorecard:
    input:
        cascading=f"figures/adebayo2018/cascading_rank_{SCORECARD_MODEL}.csv",
        independent=f"figures/adebayo2018/independent_rank_{SCORECARD_MODEL}.csv",
        gupta_rank="figures/gupta2019/competition_rank.csv",
        entries=[
            entry(d, n) for d, n in FIGURES if d in ("kindermans2017", "gupta2019")
        ],
    output:
        png="figures/scorecard.png",
        pdf="figures/scorecard.pdf",
        csv="figures/scorecard.csv",
        entry=entry("beyond", "scorecard"),
    log:
        "results/logs/scorecard.log",
    conda:
        ENV
    params:
        model=SCORECARD_MODEL,
    script:
        "../scripts/scorecard.py"


rule report:
    input:
        [entry(doc, name) for doc, name in FIGURES],
    output:
        claims="figures/claims.csv",
        gallery="figures/README.md",
    log:
        "results/logs/report.log",
    conda:
        ENV
    script:
        "../scripts/report.py"
