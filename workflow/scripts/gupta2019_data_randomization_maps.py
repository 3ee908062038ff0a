"""Adapter for rule gupta2019_data_randomization_maps: GI and CGI of the normal and the
permuted-label AlexNet (Fig. 7)."""

from saliency_sanity.experiments.gupta2019 import data_randomization
from saliency_sanity.io import setup_logging
from saliency_sanity.runtime import set_threads


def main(smk):
    setup_logging(smk.log[0])
    set_threads(smk.threads)
    p, i = smk.params, smk.input
    data_randomization(i.normal, i.random_labels, p.root, i.testbed, p.images, p.device,
                       smk.output[0])  # fmt: skip


if __name__ == "__main__":
    main(snakemake)
