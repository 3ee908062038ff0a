# Helpers of every rule: the validated config, the catalogue of experiments and figures, and
# the lookups that give each wildcard rule its inputs, params and resources.
import re

from saliency_sanity import runtime
from saliency_sanity.catalogue import IMAGENET_MODELS, Catalogue
from saliency_sanity.config import validate

validate(config, workflow.source_path("../../config/schema.yaml"))

CAT = Catalogue(config)
RESULTS = config["paths"]["results"]
FIGURES = config["paths"]["figures"]
MNIST_ROOT = config["data"]["root"]
CLAIMS = f"{FIGURES}/claims.csv"
GALLERY = f"{FIGURES}/README.md"
TRAINED = [(m, v) for m, variants in config["models"].items() for v in variants]
#: the software environment of every job (the package and its pins)
ENV = "../../environment.yml"
#: the one adapter: calls the library function a rule's params name, with keyword arguments
ADAPTER = "../scripts/run.py"
#: the figures' fixed text (captions as data), next to the Snakefile
REPORT_DIR = f"{workflow.basedir}/report"


def alternatives(names):
    """A wildcard constraint that matches exactly the given names."""
    return "|".join(re.escape(n) for n in sorted(set(names)))


ROWS = [*CAT.experiments.values(), *CAT.figures.values()]


def call(fn, *, in_job=None, **kwargs):
    """The params of a non-catalogue job: its function and keyword arguments. ``in_job`` maps
    keyword arguments to config keys read in the job itself (the adapter), not stored in the
    params: for a value that says where inputs come from, not what they are, so that changing
    it (params are a rerun trigger) reruns nothing."""
    return {"fn": fn, "kwargs": kwargs, "in_job": in_job or {}}


def lookup_row(kind):
    def row(wildcards):
        return CAT.row(kind, wildcards.doc, wildcards.name)

    return row


def row_input(kind):
    """Input files of a catalogue row, by name (the figure rows also read their caption)."""
    row = lookup_row(kind)

    def files(wildcards):
        r = row(wildcards)
        out = r.files()
        if kind == "figure":
            out["caption"] = CAT.caption_file(r, REPORT_DIR)
        return out

    return files


def row_call(kind):
    row = lookup_row(kind)

    def params(wildcards):
        return row(wildcards).call()

    return params


def row_resource(kind, name):
    row = lookup_row(kind)

    def value(wildcards):
        return getattr(row(wildcards).resources, name)

    return value


def job_threads(declared):
    """The threads of a job that declares ``declared`` (a number or a lookup): on this
    machine, ``runtime.job_threads`` (one per job on a 2-core machine, so that two jobs run at
    once); submitted to a cluster, what it declares. ``--set-threads RULE=N`` overrides both,
    e.g. to rerun a single job with every core. Weights and maps depend on the thread count at
    float rounding only (as on a CPU of another instruction set)."""

    def threads(wildcards):
        n = declared(wildcards) if callable(declared) else declared
        if workflow.remote_exec or not workflow.local_exec:
            return n
        return runtime.job_threads(n, runtime.machine_cpus())

    return threads


def figure_caption(wildcards):
    """The figure's fixed text for `snakemake --report` (plain text, escaped for RST)."""
    from saliency_sanity.report import read_caption, rst_escape

    r = CAT.row("figure", wildcards.doc, wildcards.name)
    text = {
        k: rst_escape(v)
        for k, v in read_caption(CAT.caption_file(r, REPORT_DIR), r.fields).items()
    }
    return f"**{text['title']}**\n\n{text['caption']}\n\n*Paper:* {text['paper']}"


def train_call(wildcards):
    return call(
        "saliency_sanity.experiments.training:train_variant",
        mnist=MNIST_ROOT,
        model=wildcards.model,
        variant=wildcards.variant,
        recipe=config["models"][wildcards.model][wildcards.variant],
        seed=config["seed"],
        device=config["device"],
    )


IMAGENET = config["imagenet"]


def imagenet_model_call(wildcards):
    return call(
        "saliency_sanity.experiments.training:imagenet_model",
        model=wildcards.imagenet_model,
        weights=IMAGENET["weights"],
        seed=IMAGENET["seed"],
        allow_download=IMAGENET["allow_download"],
        torch_home=IMAGENET["torch_home"],
    )


def imagenet_testbed_call(wildcards):
    return call(
        "saliency_sanity.experiments.testbed:write_imagenet_testbed",
        model=wildcards.imagenet_model,
        weights=IMAGENET["weights"],
        size=IMAGENET["input_size"][wildcards.imagenet_model],
        **IMAGENET["testbed"],
    )
