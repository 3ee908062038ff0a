# Data: MNIST (download, or the offline mirror), the fixed test-bed, and the ImageNet tier's
# images preprocessed for each model.


rule fetch_mnist:
    output:
        CAT.mnist_files(),
    log:
        f"{RESULTS}/logs/fetch_mnist.log",
    conda:
        ENV
    params:
        # the mirror (config or $SALIENCY_SANITY_MNIST_MIRROR) is read in the job: it says
        # where the files come from, the checksums what they are, so a moved mirror (or a copy
        # of results/ elsewhere) reruns nothing
        call=call(
            "saliency_sanity.data:fetch",
            root=MNIST_ROOT,
            checksums=config["data"]["checksums"],
            in_job={"mirror": "data.mirror"},
        ),
    message:
        "fetch MNIST into {output[0]}"
    script:
        ADAPTER


rule testbed:
    input:
        CAT.mnist_files(),
    output:
        out=f"{RESULTS}/data/testbed.npz",
    log:
        f"{RESULTS}/logs/testbed.log",
    conda:
        ENV
    params:
        call=call(
            "saliency_sanity.experiments.testbed:write_testbed",
            mnist=MNIST_ROOT,
            size=config["testbed"]["size"],
            seed=config["testbed"]["seed"],
        ),
    message:
        "choose the test-bed"
    script:
        ADAPTER


rule imagenet_testbed:
    output:
        out=f"{RESULTS}/data/imagenet_{{imagenet_model}}.npz",
    log:
        f"{RESULTS}/logs/imagenet_testbed/{{imagenet_model}}.log",
    conda:
        ENV
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        call=imagenet_testbed_call,
    message:
        "ImageNet test-bed for {wildcards.imagenet_model}"
    script:
        ADAPTER
