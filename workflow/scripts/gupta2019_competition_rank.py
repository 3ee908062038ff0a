"""Adapter for rule gupta2019_competition_rank: rank-correlation curves from the saved maps."""

from saliency_sanity.figures.gupta2019 import competition_rank
from saliency_sanity.io import setup_logging


def main(smk):
    setup_logging(smk.log[0])
    out = smk.output
    competition_rank(list(smk.input), out.png, out.pdf, out.csv, out.entry)


if __name__ == "__main__":
    main(snakemake)
