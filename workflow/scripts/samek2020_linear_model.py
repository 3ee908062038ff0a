"""Adapter for rule samek2020_linear_model: the figure, its csv and gallery entry."""

from saliency_sanity.figures.samek2020 import linear_model
from saliency_sanity.io import setup_logging


def main(smk):
    setup_logging(smk.log[0])
    o = smk.output
    linear_model(smk.input.npz, o.png, o.pdf, o.csv, o.entry)


if __name__ == "__main__":
    main(snakemake)
