"""Adapter for rule samek2020_other_methods: the figure, its csv and gallery entry."""

from saliency_sanity.figures.samek2020 import other_methods
from saliency_sanity.io import setup_logging


def main(smk):
    setup_logging(smk.log[0])
    o = smk.output
    other_methods(smk.input.npz, o.png, o.pdf, o.csv, o.entry, smk.params.settings)


if __name__ == "__main__":
    main(snakemake)
