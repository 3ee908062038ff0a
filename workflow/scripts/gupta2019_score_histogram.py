"""Adapter for rule gupta2019_score_histogram: draw the figure from the saved results."""

from saliency_sanity.figures.gupta2019 import score_histogram
from saliency_sanity.io import setup_logging


def main(smk):
    setup_logging(smk.log[0])
    out = smk.output
    score_histogram(smk.input[0], out.png, out.pdf, out.csv, out.entry)


if __name__ == "__main__":
    main(snakemake)
