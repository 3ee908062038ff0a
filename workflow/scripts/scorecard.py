"""Adapter for rule scorecard: every method x every check, from the saved figure numbers."""

from saliency_sanity.figures.scorecard import scorecard
from saliency_sanity.io import setup_logging


def main(smk):
    setup_logging(smk.log[0])
    adebayo = {"cascading": smk.input.cascading, "independent": smk.input.independent}
    out = smk.output
    scorecard(adebayo, smk.input.gupta_rank, smk.input.entries, smk.params.model,
              out.png, out.pdf, out.csv, out.entry)  # fmt: skip


if __name__ == "__main__":
    main(snakemake)
