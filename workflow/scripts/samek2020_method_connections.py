"""Adapter for rule samek2020_method_connections: the figure, its csv and gallery entry."""

from saliency_sanity.figures.samek2020 import method_connections
from saliency_sanity.io import setup_logging


def main(smk):
    setup_logging(smk.log[0])
    o = smk.output
    method_connections(smk.input.npz, smk.params.homogeneous, o.png, o.pdf, o.csv, o.entry)


if __name__ == "__main__":
    main(snakemake)
