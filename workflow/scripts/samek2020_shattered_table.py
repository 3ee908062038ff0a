"""Adapter for rule samek2020_shattered_table: the figure, its csv and gallery entry."""

from saliency_sanity.figures.samek2020 import shattered_table
from saliency_sanity.io import setup_logging


def main(smk):
    setup_logging(smk.log[0])
    o = smk.output
    shattered_table(smk.params.depth, smk.params.grid, o.png, o.pdf, o.csv, o.entry)


if __name__ == "__main__":
    main(snakemake)
