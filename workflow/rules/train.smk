rule train:
    input:
        mnist=mnist_files(),
    output:
        checkpoint=checkpoint("{model}", "{variant}"),
        metrics=metrics("{model}", "{variant}"),
    log:
        "results/logs/train/{model}_{variant}.log",
    benchmark:
        "results/benchmarks/train/{model}_{variant}.tsv"
    conda:
        ENV
    threads: 4
    resources:
        gpu=1,
    params:
        root=mnist_root,
        recipe=recipe,
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/train.py"


rule shifted_network:
    input:
        mnist=mnist_files(),
        checkpoint=checkpoint("kindermans_mlp"),
    output:
        checkpoint=checkpoint("kindermans_mlp", "shifted"),
        metrics=metrics("kindermans_mlp", "shifted"),
    log:
        "results/logs/shifted_network.log",
    benchmark:
        "results/benchmarks/shifted_network.tsv"
    conda:
        ENV
    params:
        root=mnist_root,
        shift=config["kindermans2017"]["constant_shift"],
    script:
        "../scripts/shifted_network.py"
