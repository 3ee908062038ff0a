FIGURES.append(("kindermans2017", "networks"))


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


# --- input invariance: network 1 vs network 2 = bias-compensated for a shift m2 (Secs. 3-4) ---
#
# results/patterns/{model}/{variant}_{estimator}.pt   PatternNet patterns of a trained model
# results/kindermans2017/shift_{shift}.npz             maps of both networks for one shift

#: the shifts m2 of kindermans2017 (constant: Sec. 2; checkerboard: Fig. 4; cat: Fig. 5)
KINDERMANS_SHIFTS = ["constant", "checkerboard", "cat"]
#: the PatternNet estimators (kindermans2018): both are computed, the config picks the claims'
PATTERN_ESTIMATORS = ["relu", "linear"]


rule patterns:
    input:
        mnist=mnist_files(),
        checkpoint=checkpoint("{model}", "{variant}"),
    output:
        patterns_file("{model}", "{variant}", "{estimator}"),
    log:
        "results/logs/patterns/{model}_{variant}_{estimator}.log",
    benchmark:
        "results/benchmarks/patterns/{model}_{variant}_{estimator}.tsv"
    wildcard_constraints:
        estimator="|".join(PATTERN_ESTIMATORS),
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
    params:
        root=mnist_root,
        fit=config["kindermans2017"]["patterns"],
        device=config["device"],
    script:
        "../scripts/kindermans2017_patterns.py"


rule kindermans2017_shift:
    input:
        mnist=mnist_files(),
        testbed="results/data/testbed.json",
        checkpoint=checkpoint("kindermans_mlp"),
        patterns=expand(
            patterns_file("kindermans_mlp", "normal", "{estimator}"),
            estimator=PATTERN_ESTIMATORS,
        ),
    output:
        shift_maps("{shift}"),
    log:
        "results/logs/kindermans2017/shift_{shift}.log",
    benchmark:
        "results/benchmarks/kindermans2017/shift_{shift}.tsv"
    wildcard_constraints:
        shift="|".join(KINDERMANS_SHIFTS),
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
    params:
        root=mnist_root,
        estimators=PATTERN_ESTIMATORS,
        settings=config["kindermans2017"],
        device=config["device"],
    script:
        "../scripts/kindermans2017_shift.py"


FIGURES.append(("kindermans2017", "gradient_signal"))


rule kindermans2017_gradient_signal:
    input:
        shift_maps("constant"),
    output:
        **figure_files("kindermans2017", "gradient_signal"),
        entry=entry("kindermans2017", "gradient_signal"),
    log:
        "results/logs/kindermans2017/gradient_signal.log",
    conda:
        ENV
    script:
        "../scripts/kindermans2017_shift_figure.py"


FIGURES.append(("kindermans2017", "attribution_shift"))


rule kindermans2017_attribution_shift:
    input:
        shift_maps("constant"),
    output:
        **figure_files("kindermans2017", "attribution_shift"),
        entry=entry("kindermans2017", "attribution_shift"),
    log:
        "results/logs/kindermans2017/attribution_shift.log",
    conda:
        ENV
    script:
        "../scripts/kindermans2017_shift_figure.py"


FIGURES.append(("kindermans2017", "checkerboard_shift"))


rule kindermans2017_checkerboard_shift:
    input:
        shift_maps("checkerboard"),
    output:
        **figure_files("kindermans2017", "checkerboard_shift"),
        entry=entry("kindermans2017", "checkerboard_shift"),
    log:
        "results/logs/kindermans2017/checkerboard_shift.log",
    conda:
        ENV
    script:
        "../scripts/kindermans2017_shift_figure.py"


FIGURES.append(("kindermans2017", "cat_shift"))


rule kindermans2017_cat_shift:
    input:
        shift_maps("cat"),
    output:
        **figure_files("kindermans2017", "cat_shift"),
        entry=entry("kindermans2017", "cat_shift"),
    log:
        "results/logs/kindermans2017/cat_shift.log",
    conda:
        ENV
    script:
        "../scripts/kindermans2017_shift_figure.py"


FIGURES.append(("kindermans2017", "reference_points"))


rule kindermans2017_reference_points:
    input:
        shift_maps("constant"),
    output:
        **figure_files("kindermans2017", "reference_points"),
        entry=entry("kindermans2017", "reference_points"),
    log:
        "results/logs/kindermans2017/reference_points.log",
    conda:
        ENV
    script:
        "../scripts/kindermans2017_reference_points.py"
