import os

from saliency_sanity.config import validate
from saliency_sanity.data import MNIST_FILES

validate(config, workflow.source_path("../../config/schema.yaml"))

MNIST_ROOT = config["data"]["root"]
TRAINED = [(m, v) for m, variants in config["models"].items() for v in variants]
MODELS = sorted({m for m, _ in TRAINED})
VARIANTS = sorted({v for _, v in TRAINED})

#: the model whose randomisation results fill the scorecard's randomisation columns
SCORECARD_MODEL = "cnn"

#: every figure entry of the gallery, (document, figure name); each <doc>.smk appends its own
FIGURES = []


wildcard_constraints:
    model="|".join(MODELS),
    variant="|".join(VARIANTS),


#: the software environment of every rule (the package and its pins)
ENV = "../../environment.yml"


def mnist_root(wildcards, input):
    """The MNIST folder, derived from the rule's input files (no hard-coded prefix)."""
    return os.path.dirname(input.mnist[0])


def mnist_files():
    return expand(f"{MNIST_ROOT}/{{name}}", name=MNIST_FILES)


def checkpoint(model, variant="normal"):
    return f"results/models/{model}/{variant}.pt"


def metrics(model, variant="normal"):
    return f"results/models/{model}/{variant}.json"


def recipe(wildcards):
    return config["models"][wildcards.model][wildcards.variant]


def figure_files(doc, name, kinds=("png", "pdf", "csv")):
    return {kind: f"figures/{doc}/{name}.{kind}" for kind in kinds}


def entry(doc, name):
    return f"results/report/{doc}/{name}.json"


def gupta2019_run(key):
    """Input/params function for gupta2019's randomisation rules: item ``key`` of the run
    ``{run}`` in GUPTA2019_RUNS (defined in gupta2019.smk)."""

    def lookup(wildcards):
        return GUPTA2019_RUNS[wildcards.run][key]

    return lookup


def patterns_file(model, variant="normal", estimator="{estimator}"):
    """Cached PatternNet patterns of a trained model (kindermans2017)."""
    return f"results/patterns/{model}/{variant}_{estimator}.pt"


def shift_maps(shift):
    """The maps of both networks under one input shift (kindermans2017)."""
    return f"results/kindermans2017/shift_{shift}.npz"
