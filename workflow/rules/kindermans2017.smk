rule kindermans2017_networks:
    input:
        shifted=metrics("kindermans_mlp", "shifted"),
        trained=[metrics(m, v) for m, v in TRAINED],
    output:
        **figure_files("kindermans2017", "networks"),
        entry=entry("kindermans2017", "networks"),
    log:
        "results/logs/kindermans2017/networks.log",
    conda:
        ENV
    params:
        names=[f"{m}/{v}" for m, v in TRAINED],
    script:
        "../scripts/kindermans2017_networks.py"
