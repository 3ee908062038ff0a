"""Adapter for rule samek2020_ig_equals_gi: the figure, its csv and gallery entry."""

from saliency_sanity.figures.samek2020 import ig_equals_gi
from saliency_sanity.io import setup_logging


def main(smk):
    setup_logging(smk.log[0])
    o = smk.output
    ig_equals_gi(smk.input.npz, smk.params.default_steps, o.png, o.pdf, o.csv, o.entry)


if __name__ == "__main__":
    main(snakemake)
