"""Adapter for rule gupta2019_approximate_completeness: draw Fig. 3 from the saved sums."""

from saliency_sanity.figures.gupta2019 import approximate_completeness
from saliency_sanity.io import setup_logging


def main(smk):
    setup_logging(smk.log[0])
    out = smk.output
    approximate_completeness(smk.input.gi, smk.input.dasp, out.png, out.pdf, out.csv, out.entry)


if __name__ == "__main__":
    main(snakemake)
