# gupta2019 figures (MNIST tier). Each figure: an experiment rule writing results/gupta2019/..., and a
# figure rule writing figures/gupta2019/<name>.png|pdf|csv plus its gallery entry.
#
# results/gupta2019/
#   all_logits.npz, score_histogram.npz, approximate_completeness.npz, cgi_maps.npz,
#   data_randomization.npz                     one experiment each
#   {run}.npz                                  plain and competitive maps after each randomisation
#                                              step, run in layerwise_cgi, cascading_cgi,
#                                              cascading_clrp, cascading_cdasp (GUPTA2019_RUNS)
GUPTA2019 = config["gupta2019"]
GUPTA2019_FIGURES = [
    "all_logits",
    "score_histogram",
    "approximate_completeness",
    "cgi_maps",
    "layerwise_cgi",
    "cascading_cgi",
    "cascading_clrp",
    "cascading_cdasp",
    "data_randomization",
    "competition_rank",
]
FIGURES.extend(("gupta2019", name) for name in GUPTA2019_FIGURES)

#: randomisation runs: model, procedure, base methods (all-class maps once per step; the plain
#: and competitive maps both come from them), test-bed images, the method the figure shows,
#: whether its figure carries claims, a caption note (looked up by common.smk's gupta2019_run)
GUPTA2019_RUNS = {
    "layerwise_cgi": {
        "model": GUPTA2019["model"],
        "checkpoint": checkpoint(GUPTA2019["model"]),
        "procedure": "independent",
        "methods": {"gradient_input": {}},
        "images": GUPTA2019["rank_images"],
        "shown": "gradient_input",
        "claims": False,
        "note": "",
    },
    "cascading_cgi": {
        "model": GUPTA2019["model"],
        "checkpoint": checkpoint(GUPTA2019["model"]),
        "procedure": "cascading",
        "methods": {"gradient_input": {}},
        "images": GUPTA2019["rank_images"],
        "shown": "gradient_input",
        # the mass claims of FIGURES.md (gupta2019.cgi_mass_after_randomization.<layer>)
        "claims": True,
        "note": "",
    },
    "cascading_clrp": {
        "model": GUPTA2019["model"],
        "checkpoint": checkpoint(GUPTA2019["model"]),
        "procedure": "cascading",
        "methods": {GUPTA2019["lrp_method"]: {}},
        "images": GUPTA2019["rank_images"],
        "shown": GUPTA2019["lrp_method"],
        "claims": False,
        "note": f"LRP rule: {GUPTA2019['lrp_method']} (registry defaults).",
    },
    "cascading_cdasp": {
        "model": GUPTA2019["dasp"]["model"],
        "checkpoint": checkpoint(GUPTA2019["dasp"]["model"]),
        "procedure": "cascading",
        "methods": {
            "dasp": {
                "coalition_sizes": GUPTA2019["dasp"]["coalition_sizes"],
                "batch_size": GUPTA2019["dasp"]["batch_size"],
            },
            "gradient_input": {},
        },
        "images": GUPTA2019["dasp"]["images"],
        "shown": "dasp",
        "claims": False,
        "note": (
            f"DASP with {GUPTA2019['dasp']['coalition_sizes']} coalition size(s) (ancona2019: "
            f"16) on {GUPTA2019['dasp']['images']} image(s), because of its cost."
        ),
    },
}


rule gupta2019_all_logits_maps:
    input:
        mnist=mnist_files(),
        testbed="results/data/testbed.json",
        model=checkpoint(GUPTA2019["model"]),
    output:
        "results/gupta2019/all_logits.npz",
    log:
        "results/logs/gupta2019/all_logits_maps.log",
    benchmark:
        "results/benchmarks/gupta2019/all_logits.tsv"
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
    params:
        root=mnist_root,
        digit=GUPTA2019["digit"],
        device=config["device"],
    script:
        "../scripts/gupta2019_all_logits_maps.py"


rule gupta2019_all_logits:
    input:
        "results/gupta2019/all_logits.npz",
    output:
        **figure_files("gupta2019", "all_logits"),
        entry=entry("gupta2019", "all_logits"),
    log:
        "results/logs/gupta2019/all_logits.log",
    conda:
        ENV
    script:
        "../scripts/gupta2019_all_logits.py"


rule gupta2019_score_histogram_scores:
    input:
        mnist=mnist_files(),
        testbed="results/data/testbed.json",
        model=checkpoint(GUPTA2019["model"]),
    output:
        "results/gupta2019/score_histogram.npz",
    log:
        "results/logs/gupta2019/score_histogram_scores.log",
    benchmark:
        "results/benchmarks/gupta2019/score_histogram.tsv"
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
    params:
        root=mnist_root,
        images=GUPTA2019["histogram_images"],
        components=GUPTA2019["components"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/gupta2019_score_histogram_scores.py"


rule gupta2019_score_histogram:
    input:
        "results/gupta2019/score_histogram.npz",
    output:
        **figure_files("gupta2019", "score_histogram"),
        entry=entry("gupta2019", "score_histogram"),
    log:
        "results/logs/gupta2019/score_histogram.log",
    conda:
        ENV
    script:
        "../scripts/gupta2019_score_histogram.py"


rule gupta2019_approximate_completeness_sums:
    input:
        mnist=mnist_files(),
        testbed="results/data/testbed.json",
        models=[checkpoint(m) for m in GUPTA2019["completeness_models"]],
    output:
        "results/gupta2019/approximate_completeness.npz",
    log:
        "results/logs/gupta2019/approximate_completeness_sums.log",
    benchmark:
        "results/benchmarks/gupta2019/approximate_completeness.tsv"
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
    params:
        root=mnist_root,
        names=GUPTA2019["completeness_models"],
        images=GUPTA2019["completeness_images"],
        device=config["device"],
    script:
        "../scripts/gupta2019_approximate_completeness_sums.py"


rule gupta2019_approximate_completeness:
    input:
        gi="results/gupta2019/approximate_completeness.npz",
        dasp="results/gupta2019/cascading_cdasp.npz",
    output:
        **figure_files("gupta2019", "approximate_completeness"),
        entry=entry("gupta2019", "approximate_completeness"),
    log:
        "results/logs/gupta2019/approximate_completeness.log",
    conda:
        ENV
    script:
        "../scripts/gupta2019_approximate_completeness.py"


rule gupta2019_cgi_maps_maps:
    input:
        mnist=mnist_files(),
        testbed="results/data/testbed.json",
        model=checkpoint(GUPTA2019["model"]),
    output:
        "results/gupta2019/cgi_maps.npz",
    log:
        "results/logs/gupta2019/cgi_maps_maps.log",
    benchmark:
        "results/benchmarks/gupta2019/cgi_maps.tsv"
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
    params:
        root=mnist_root,
        images=GUPTA2019["gallery_images"],
        device=config["device"],
    script:
        "../scripts/gupta2019_cgi_maps_maps.py"


rule gupta2019_cgi_maps:
    input:
        "results/gupta2019/cgi_maps.npz",
    output:
        **figure_files("gupta2019", "cgi_maps"),
        entry=entry("gupta2019", "cgi_maps"),
    log:
        "results/logs/gupta2019/cgi_maps.log",
    conda:
        ENV
    script:
        "../scripts/gupta2019_cgi_maps.py"


rule gupta2019_randomization_maps:
    input:
        mnist=mnist_files(),
        testbed="results/data/testbed.json",
        model=gupta2019_run("checkpoint"),
    output:
        "results/gupta2019/{run}.npz",
    log:
        "results/logs/gupta2019/{run}_maps.log",
    benchmark:
        "results/benchmarks/gupta2019/{run}.tsv"
    wildcard_constraints:
        run="|".join(GUPTA2019_RUNS),
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
    params:
        root=mnist_root,
        procedure=gupta2019_run("procedure"),
        methods=gupta2019_run("methods"),
        images=gupta2019_run("images"),
        seed=config["seed"],
        explained=GUPTA2019["explained_class"],
        batch_size=GUPTA2019["batch_size"],
        device=config["device"],
    script:
        "../scripts/gupta2019_randomization_maps.py"


rule gupta2019_randomization:
    input:
        "results/gupta2019/{run}.npz",
    output:
        png="figures/gupta2019/{run}.png",
        pdf="figures/gupta2019/{run}.pdf",
        csv="figures/gupta2019/{run}.csv",
        entry="results/report/gupta2019/{run}.json",
    log:
        "results/logs/gupta2019/{run}.log",
    wildcard_constraints:
        run="|".join(GUPTA2019_RUNS),
    conda:
        ENV
    params:
        method=gupta2019_run("shown"),
        display=GUPTA2019["display_images"],
        claims=gupta2019_run("claims"),
        note=gupta2019_run("note"),
    script:
        "../scripts/gupta2019_randomization.py"


rule gupta2019_data_randomization_maps:
    input:
        mnist=mnist_files(),
        testbed="results/data/testbed.json",
        normal=checkpoint(GUPTA2019["model"]),
        random_labels=checkpoint(GUPTA2019["model"], "random_labels"),
    output:
        "results/gupta2019/data_randomization.npz",
    log:
        "results/logs/gupta2019/data_randomization_maps.log",
    benchmark:
        "results/benchmarks/gupta2019/data_randomization.tsv"
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
    params:
        root=mnist_root,
        images=GUPTA2019["data_randomization_images"],
        device=config["device"],
    script:
        "../scripts/gupta2019_data_randomization_maps.py"


rule gupta2019_data_randomization:
    input:
        maps="results/gupta2019/data_randomization.npz",
        normal=metrics(GUPTA2019["model"]),
        random_labels=metrics(GUPTA2019["model"], "random_labels"),
    output:
        **figure_files("gupta2019", "data_randomization"),
        entry=entry("gupta2019", "data_randomization"),
    log:
        "results/logs/gupta2019/data_randomization.log",
    conda:
        ENV
    params:
        display=GUPTA2019["gallery_images"],
    script:
        "../scripts/gupta2019_data_randomization.py"


rule gupta2019_competition_rank:
    input:
        expand(
            "results/gupta2019/{run}.npz",
            run=["cascading_cgi", "cascading_clrp", "cascading_cdasp"],
        ),
    output:
        **figure_files("gupta2019", "competition_rank"),
        entry=entry("gupta2019", "competition_rank"),
    log:
        "results/logs/gupta2019/competition_rank.log",
    conda:
        ENV
    script:
        "../scripts/gupta2019_competition_rank.py"
