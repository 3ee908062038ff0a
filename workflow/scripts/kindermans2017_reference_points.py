"""Adapter for rule kindermans2017_reference_points (Fig. 1, MNIST analogue)."""

from saliency_sanity.figures.kindermans2017 import reference_points
from saliency_sanity.io import setup_logging


def main(smk):
    setup_logging(smk.log[0])
    out = smk.output
    reference_points(smk.input[0], out.png, out.pdf, out.csv, out.entry)


if __name__ == "__main__":
    main(snakemake)
