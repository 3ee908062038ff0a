# Models: every trained variant of the config (normal, random_labels), and network 2 of
# kindermans2017 (the bias-compensated copy for shifted inputs).

#: a training's runtime limit (minutes, for a cluster), also its priority: the longest jobs first
TRAIN_RUNTIME = 60


rule train:
    input:
        CAT.mnist_files(),
    output:
        checkpoint=f"{RESULTS}/models/{{model}}/{{variant}}.pt",
        metrics=f"{RESULTS}/models/{{model}}/{{variant}}.json",
    log:
        f"{RESULTS}/logs/train/{{model}}/{{variant}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{model}}_{{variant}}.tsv"
    priority: TRAIN_RUNTIME
    conda:
        ENV
    threads: job_threads(2)
    resources:
        gpu=1,
        mem_mb=3000,
        runtime=TRAIN_RUNTIME,
    params:
        call=train_call,
    message:
        "train {wildcards.model} ({wildcards.variant})"
    script:
        ADAPTER


rule shifted_network:
    input:
        CAT.mnist_files(),
        checkpoint=f"{RESULTS}/models/kindermans_mlp/normal.pt",
    output:
        checkpoint=f"{RESULTS}/models/kindermans_mlp/shifted.pt",
        metrics=f"{RESULTS}/models/kindermans_mlp/shifted.json",
    log:
        f"{RESULTS}/logs/shifted_network.log",
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        call=call(
            "saliency_sanity.experiments.training:shifted_network",
            mnist=MNIST_ROOT,
            network1=f"{RESULTS}/models/kindermans_mlp/normal.pt",
            shift=config["kindermans2017"]["shifts"]["constant"],
        ),
    message:
        "network 2 of kindermans2017"
    script:
        ADAPTER


rule imagenet_model:
    output:
        out=f"{RESULTS}/models/{{imagenet_model}}/imagenet.json",
    log:
        f"{RESULTS}/logs/imagenet_model/{{imagenet_model}}.log",
    conda:
        ENV
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        call=imagenet_model_call,
    message:
        "ImageNet model {wildcards.imagenet_model}"
    script:
        ADAPTER
