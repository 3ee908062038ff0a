"""Adapter for rule gupta2019_data_randomization: draw Fig. 7 from the saved maps and metrics."""

from saliency_sanity.figures.gupta2019 import data_randomization
from saliency_sanity.io import setup_logging


def main(smk):
    setup_logging(smk.log[0])
    out, i = smk.output, smk.input
    data_randomization(i.maps, i.normal, i.random_labels, out.png, out.pdf, out.csv, out.entry,
                       n_display=smk.params.display)  # fmt: skip


if __name__ == "__main__":
    main(snakemake)
