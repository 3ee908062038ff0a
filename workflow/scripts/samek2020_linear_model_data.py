"""Adapter for rule samek2020_linear_model_data: R_i = w_i x_i of the linear model."""

from saliency_sanity.experiments.samek2020 import linear_model
from saliency_sanity.io import setup_logging
from saliency_sanity.runtime import set_threads


def main(smk):
    setup_logging(smk.log[0])
    set_threads(smk.threads)
    p = smk.params
    linear_model(smk.input.checkpoint, p.root, smk.input.testbed, smk.output[0], p.images, p.device)


if __name__ == "__main__":
    main(snakemake)
