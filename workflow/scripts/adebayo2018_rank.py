"""Adapter for rule adebayo2018_rank: similarity-vs-randomisation curves (Figs. 2 and 3)."""

import pandas as pd

from saliency_sanity.figures.adebayo2018 import rank_figure
from saliency_sanity.io import load_npz, setup_logging


def main(smk):
    setup_logging(smk.log[0])
    out = smk.output
    rank_figure(
        load_npz(smk.input.maps),
        pd.read_csv(smk.input.similarity),
        dict(smk.params.methods),
        smk.params.threshold,
        out.png,
        out.pdf,
        out.csv,
        out.entry,
    )


if __name__ == "__main__":
    main(snakemake)
