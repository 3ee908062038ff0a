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
