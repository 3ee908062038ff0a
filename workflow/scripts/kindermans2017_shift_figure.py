"""Adapter for the net 1 vs net 2 figures (rules kindermans2017_gradient_signal,
_attribution_shift, _checkerboard_shift, _cat_shift): the figure is named by the rule."""

from saliency_sanity.figures.kindermans2017 import shift_figure
from saliency_sanity.io import setup_logging


def main(smk):
    setup_logging(smk.log[0])
    out = smk.output
    figure = smk.rule.removeprefix("kindermans2017_")
    shift_figure(smk.input[0], figure, out.png, out.pdf, out.csv, out.entry)


if __name__ == "__main__":
    main(snakemake)
