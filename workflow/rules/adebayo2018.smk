# adebayo2018 figures (MNIST tier). Each figure: an experiment rule writing results/adebayo2018/..., and a
# figure rule writing figures/adebayo2018/<name>.png|pdf|csv plus its gallery entry.
#
# results/adebayo2018/{mode}_maps_{model}.npz    maps of every method after every randomisation step
# results/adebayo2018/{mode}_similarity_{model}.csv  similarity to the original maps per step
# figures/adebayo2018/{mode}_grid_{model}.*, {mode}_rank_{model}.*   (mode: cascading|independent)

ADEBAYO = config["adebayo2018"]
ADEBAYO_MODES = ["cascading", "independent"]

FIGURES.extend(
    ("adebayo2018", f"{mode}_{kind}_{model}")
    for model in ADEBAYO["models"]
    for mode in ADEBAYO_MODES
    for kind in ("grid", "rank")
)
ADEBAYO_MAPS = "results/adebayo2018/{mode}_maps_{model}.npz"
ADEBAYO_SIMILARITY = "results/adebayo2018/{mode}_similarity_{model}.csv"


rule adebayo2018_maps:
    input:
        mnist=mnist_files(),
        testbed="results/data/testbed.json",
        checkpoint=checkpoint("{model}"),
    output:
        maps=ADEBAYO_MAPS,
        similarity=ADEBAYO_SIMILARITY,
    log:
        "results/logs/adebayo2018/{mode}_maps_{model}.log",
    benchmark:
        "results/benchmarks/adebayo2018/{mode}_maps_{model}.tsv"
    wildcard_constraints:
        mode="|".join(ADEBAYO_MODES),
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
    params:
        root=mnist_root,
        methods=ADEBAYO["methods"],
        seed=ADEBAYO["randomization_seed"],
        explained_class=ADEBAYO["explained_class"],
        grid_position=ADEBAYO["grid_position"],
        hog_images=ADEBAYO["hog_images"],
        device=config["device"],
    script:
        "../scripts/adebayo2018_maps.py"


rule adebayo2018_rank:
    input:
        maps=ADEBAYO_MAPS,
        similarity=ADEBAYO_SIMILARITY,
    output:
        **figure_files("adebayo2018", "{mode}_rank_{model}"),
        entry=entry("adebayo2018", "{mode}_rank_{model}"),
    log:
        "results/logs/adebayo2018/{mode}_rank_{model}.log",
    wildcard_constraints:
        mode="|".join(ADEBAYO_MODES),
    conda:
        ENV
    params:
        methods=ADEBAYO["methods"],
        threshold=ADEBAYO["sensitivity_threshold"],
    script:
        "../scripts/adebayo2018_rank.py"


rule adebayo2018_grid:
    input:
        maps=ADEBAYO_MAPS,
    output:
        **figure_files("adebayo2018", "{mode}_grid_{model}"),
        entry=entry("adebayo2018", "{mode}_grid_{model}"),
    log:
        "results/logs/adebayo2018/{mode}_grid_{model}.log",
    wildcard_constraints:
        mode="|".join(ADEBAYO_MODES),
    conda:
        ENV
    script:
        "../scripts/adebayo2018_grid.py"
