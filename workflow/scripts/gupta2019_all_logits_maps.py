"""Adapter for rule gupta2019_all_logits_maps: GI for all logits of one digit (Fig. 1)."""

from saliency_sanity.experiments.gupta2019 import all_logits
from saliency_sanity.io import setup_logging
from saliency_sanity.runtime import set_threads


def main(smk):
    setup_logging(smk.log[0])
    set_threads(smk.threads)
    p = smk.params
    all_logits(smk.input.model, p.root, smk.input.testbed, p.digit, p.device, smk.output[0])


if __name__ == "__main__":
    main(snakemake)
