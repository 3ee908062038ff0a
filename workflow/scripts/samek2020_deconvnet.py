"""Adapter for rule samek2020_deconvnet: the figure, its csv and gallery entry."""

from saliency_sanity.figures.samek2020 import deconvnet
from saliency_sanity.io import setup_logging


def main(smk):
    setup_logging(smk.log[0])
    o = smk.output
    deconvnet(smk.input.npz, o.png, o.pdf, o.csv, o.entry)


if __name__ == "__main__":
    main(snakemake)
