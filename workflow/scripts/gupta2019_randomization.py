"""Adapter for rule gupta2019_randomization: draw one randomisation grid from its saved maps."""

from saliency_sanity.figures.gupta2019 import randomization_grid
from saliency_sanity.io import setup_logging


def main(smk):
    setup_logging(smk.log[0])
    out, p = smk.output, smk.params
    randomization_grid(smk.input[0], p.method, smk.wildcards.run, out.png, out.pdf, out.csv,
                       out.entry, n_display=p.display, claims=p.claims, note=p.note)  # fmt: skip


if __name__ == "__main__":
    main(snakemake)
