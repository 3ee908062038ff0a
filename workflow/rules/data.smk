rule fetch_mnist:
    output:
        mnist_files(),
    log:
        "results/logs/fetch_mnist.log",
    conda:
        ENV
    params:
        mirror=config["data"]["mirror"],
        checksums=config["data"]["checksums"],
    script:
        "../scripts/fetch_mnist.py"


rule testbed:
    input:
        mnist=mnist_files(),
    output:
        "results/data/testbed.json",
    log:
        "results/logs/testbed.log",
    conda:
        ENV
    params:
        root=mnist_root,
        size=config["testbed"]["size"],
        seed=config["testbed"]["seed"],
    script:
        "../scripts/testbed.py"
