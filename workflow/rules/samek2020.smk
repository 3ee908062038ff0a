# samek2020 figures (MNIST tier). Each figure: an experiment rule writing results/samek2020/..., and a
# figure rule writing figures/samek2020/<name>.png|pdf|csv plus its gallery entry.
# (shattered_table is analytic: its figure rule samples the constructed function itself.)
#
# results/samek2020/{name}.npz           arrays of each experiment (maps, curves, differences)
# results/logs/samek2020/{rule}.log, results/benchmarks/samek2020/{name}.tsv
SAMEK = config["samek2020"]
#: models of the multi-model experiments (their order is the experiment's model axis)
SAMEK_IG_MODELS = [SAMEK["homogeneous_model"], SAMEK["biased_model"]]
SAMEK_CONNECTION_MODELS = SAMEK_IG_MODELS + SAMEK["connections"]["extra_models"]

FIGURES.extend(
    ("samek2020", name)
    for name in (
        "linear_model",
        "occlusion",
        "ig_equals_gi",
        "gradient_input_practice",
        "shattered_gradients",
        "shattered_table",
        "smoothgrad",
        "deconvnet",
        "lrp_rules",
        "method_connections",
        "other_methods",
    )
)


rule samek2020_linear_model_data:
    input:
        mnist=mnist_files(),
        testbed="results/data/testbed.json",
        checkpoint=checkpoint(SAMEK["linear_model"]),
    output:
        "results/samek2020/linear_model.npz",
    log:
        "results/logs/samek2020/linear_model_data.log",
    benchmark:
        "results/benchmarks/samek2020/linear_model.tsv"
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
    params:
        root=mnist_root,
        images=SAMEK["show"],
        device=config["device"],
    script:
        "../scripts/samek2020_linear_model_data.py"


rule samek2020_occlusion_data:
    input:
        mnist=mnist_files(),
        testbed="results/data/testbed.json",
        checkpoint=checkpoint(SAMEK["model"]),
    output:
        "results/samek2020/occlusion.npz",
    log:
        "results/logs/samek2020/occlusion_data.log",
    benchmark:
        "results/benchmarks/samek2020/occlusion.tsv"
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
    params:
        root=mnist_root,
        settings=SAMEK["occlusion"],
        device=config["device"],
    script:
        "../scripts/samek2020_occlusion_data.py"


rule samek2020_ig_equals_gi_data:
    input:
        mnist=mnist_files(),
        testbed="results/data/testbed.json",
        checkpoints=[checkpoint(m) for m in SAMEK_IG_MODELS],
    output:
        "results/samek2020/ig_equals_gi.npz",
    log:
        "results/logs/samek2020/ig_equals_gi_data.log",
    benchmark:
        "results/benchmarks/samek2020/ig_equals_gi.tsv"
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
    params:
        root=mnist_root,
        models=SAMEK_IG_MODELS,
        settings=SAMEK["ig"],
        device=config["device"],
    script:
        "../scripts/samek2020_ig_equals_gi_data.py"


rule samek2020_gradient_input_practice_data:
    input:
        mnist=mnist_files(),
        testbed="results/data/testbed.json",
        checkpoint=checkpoint(SAMEK["model"]),
    output:
        "results/samek2020/gradient_input_practice.npz",
    log:
        "results/logs/samek2020/gradient_input_practice_data.log",
    benchmark:
        "results/benchmarks/samek2020/gradient_input_practice.tsv"
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
    params:
        root=mnist_root,
        show=SAMEK["show"],
        device=config["device"],
    script:
        "../scripts/samek2020_gradient_input_practice_data.py"


rule samek2020_shattered_gradients_data:
    input:
        mnist=mnist_files(),
        testbed="results/data/testbed.json",
        checkpoints=[checkpoint(m) for m in SAMEK["shattered"]["models"]],
    output:
        "results/samek2020/shattered_gradients.npz",
    log:
        "results/logs/samek2020/shattered_gradients_data.log",
    benchmark:
        "results/benchmarks/samek2020/shattered_gradients.tsv"
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
    params:
        root=mnist_root,
        models=SAMEK["shattered"]["models"],
        settings=SAMEK["shattered"],
        device=config["device"],
    script:
        "../scripts/samek2020_shattered_gradients_data.py"


rule samek2020_smoothgrad_data:
    input:
        mnist=mnist_files(),
        testbed="results/data/testbed.json",
        checkpoint=checkpoint(SAMEK["model"]),
    output:
        "results/samek2020/smoothgrad.npz",
    log:
        "results/logs/samek2020/smoothgrad_data.log",
    benchmark:
        "results/benchmarks/samek2020/smoothgrad.tsv"
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
    params:
        root=mnist_root,
        show=SAMEK["show"],
        settings=SAMEK["smoothgrad"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/samek2020_smoothgrad_data.py"


rule samek2020_method_connections_data:
    input:
        mnist=mnist_files(),
        testbed="results/data/testbed.json",
        checkpoints=[checkpoint(m) for m in SAMEK_CONNECTION_MODELS],
    output:
        "results/samek2020/method_connections.npz",
    log:
        "results/logs/samek2020/method_connections_data.log",
    benchmark:
        "results/benchmarks/samek2020/method_connections.tsv"
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
    params:
        root=mnist_root,
        models=SAMEK_CONNECTION_MODELS,
        settings=SAMEK["connections"],
        steps=SAMEK["ig"]["default_steps"],
        device=config["device"],
    script:
        "../scripts/samek2020_method_connections_data.py"


rule samek2020_deconvnet_data:
    input:
        mnist=mnist_files(),
        testbed="results/data/testbed.json",
        checkpoint=checkpoint(SAMEK["model"]),
    output:
        "results/samek2020/deconvnet.npz",
    log:
        "results/logs/samek2020/deconvnet_data.log",
    benchmark:
        "results/benchmarks/samek2020/deconvnet.tsv"
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
    params:
        root=mnist_root,
        show=SAMEK["show"],
        settings=SAMEK["deconvnet"],
        device=config["device"],
    script:
        "../scripts/samek2020_method_maps_data.py"


rule samek2020_lrp_rules_data:
    input:
        mnist=mnist_files(),
        testbed="results/data/testbed.json",
        checkpoint=checkpoint(SAMEK["model"]),
    output:
        "results/samek2020/lrp_rules.npz",
    log:
        "results/logs/samek2020/lrp_rules_data.log",
    benchmark:
        "results/benchmarks/samek2020/lrp_rules.tsv"
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
    params:
        root=mnist_root,
        show=SAMEK["show"],
        settings=SAMEK["lrp_rules"],
        device=config["device"],
    script:
        "../scripts/samek2020_method_maps_data.py"


rule samek2020_other_methods_data:
    input:
        mnist=mnist_files(),
        testbed="results/data/testbed.json",
        checkpoint=checkpoint(SAMEK["model"]),
    output:
        "results/samek2020/other_methods.npz",
    log:
        "results/logs/samek2020/other_methods_data.log",
    benchmark:
        "results/benchmarks/samek2020/other_methods.tsv"
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
    params:
        root=mnist_root,
        show=SAMEK["show"],
        settings=SAMEK["other_methods"],
        device=config["device"],
    script:
        "../scripts/samek2020_method_maps_data.py"


rule samek2020_linear_model:
    input:
        npz="results/samek2020/linear_model.npz",
    output:
        **figure_files("samek2020", "linear_model"),
        entry=entry("samek2020", "linear_model"),
    log:
        "results/logs/samek2020/linear_model.log",
    conda:
        ENV
    script:
        "../scripts/samek2020_linear_model.py"


rule samek2020_occlusion:
    input:
        npz="results/samek2020/occlusion.npz",
    output:
        **figure_files("samek2020", "occlusion"),
        entry=entry("samek2020", "occlusion"),
    log:
        "results/logs/samek2020/occlusion.log",
    conda:
        ENV
    script:
        "../scripts/samek2020_occlusion.py"


rule samek2020_ig_equals_gi:
    input:
        npz="results/samek2020/ig_equals_gi.npz",
    output:
        **figure_files("samek2020", "ig_equals_gi"),
        entry=entry("samek2020", "ig_equals_gi"),
    log:
        "results/logs/samek2020/ig_equals_gi.log",
    conda:
        ENV
    params:
        default_steps=SAMEK["ig"]["default_steps"],
    script:
        "../scripts/samek2020_ig_equals_gi.py"


rule samek2020_gradient_input_practice:
    input:
        npz="results/samek2020/gradient_input_practice.npz",
    output:
        **figure_files("samek2020", "gradient_input_practice"),
        entry=entry("samek2020", "gradient_input_practice"),
    log:
        "results/logs/samek2020/gradient_input_practice.log",
    conda:
        ENV
    script:
        "../scripts/samek2020_gradient_input_practice.py"


rule samek2020_shattered_gradients:
    input:
        npz="results/samek2020/shattered_gradients.npz",
    output:
        **figure_files("samek2020", "shattered_gradients"),
        entry=entry("samek2020", "shattered_gradients"),
    log:
        "results/logs/samek2020/shattered_gradients.log",
    conda:
        ENV
    script:
        "../scripts/samek2020_shattered_gradients.py"


rule samek2020_smoothgrad:
    input:
        npz="results/samek2020/smoothgrad.npz",
    output:
        **figure_files("samek2020", "smoothgrad"),
        entry=entry("samek2020", "smoothgrad"),
    log:
        "results/logs/samek2020/smoothgrad.log",
    conda:
        ENV
    script:
        "../scripts/samek2020_smoothgrad.py"


rule samek2020_deconvnet:
    input:
        npz="results/samek2020/deconvnet.npz",
    output:
        **figure_files("samek2020", "deconvnet"),
        entry=entry("samek2020", "deconvnet"),
    log:
        "results/logs/samek2020/deconvnet.log",
    conda:
        ENV
    script:
        "../scripts/samek2020_deconvnet.py"


rule samek2020_lrp_rules:
    input:
        npz="results/samek2020/lrp_rules.npz",
    output:
        **figure_files("samek2020", "lrp_rules"),
        entry=entry("samek2020", "lrp_rules"),
    log:
        "results/logs/samek2020/lrp_rules.log",
    conda:
        ENV
    script:
        "../scripts/samek2020_lrp_rules.py"


rule samek2020_method_connections:
    input:
        npz="results/samek2020/method_connections.npz",
    output:
        **figure_files("samek2020", "method_connections"),
        entry=entry("samek2020", "method_connections"),
    log:
        "results/logs/samek2020/method_connections.log",
    conda:
        ENV
    params:
        homogeneous=SAMEK["homogeneous_model"],
    script:
        "../scripts/samek2020_method_connections.py"


rule samek2020_other_methods:
    input:
        npz="results/samek2020/other_methods.npz",
    output:
        **figure_files("samek2020", "other_methods"),
        entry=entry("samek2020", "other_methods"),
    log:
        "results/logs/samek2020/other_methods.log",
    conda:
        ENV
    params:
        settings=SAMEK["other_methods"]["methods"],
    script:
        "../scripts/samek2020_other_methods.py"


rule samek2020_shattered_table:
    output:
        **figure_files("samek2020", "shattered_table"),
        entry=entry("samek2020", "shattered_table"),
    log:
        "results/logs/samek2020/shattered_table.log",
    conda:
        ENV
    params:
        depth=SAMEK["shattered"]["depth"],
        grid=SAMEK["shattered"]["grid"],
    script:
        "../scripts/samek2020_shattered_table.py"
