"""Adapter for rule adebayo2018_grid: maps of one input after each randomisation step (Fig. 1)."""

from saliency_sanity.figures.adebayo2018 import grid_figure
from saliency_sanity.io import load_npz, setup_logging


def main(smk):
    setup_logging(smk.log[0])
    out = smk.output
    grid_figure(load_npz(smk.input.maps), out.png, out.pdf, out.csv, out.entry)


if __name__ == "__main__":
    main(snakemake)
