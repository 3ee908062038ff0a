"""Adapter for rule train: train one model variant with its config recipe."""

from saliency_sanity.experiments.training import train_variant
from saliency_sanity.io import setup_logging
from saliency_sanity.runtime import set_threads


def main(smk):
    setup_logging(smk.log[0])
    set_threads(smk.threads)
    train_variant(
        smk.params.root,
        smk.wildcards.model,
        smk.wildcards.variant,
        dict(smk.params.recipe),
        smk.params.seed,
        smk.params.device,
        smk.output.checkpoint,
        smk.output.metrics,
    )


if __name__ == "__main__":
    main(snakemake)
