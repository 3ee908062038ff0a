"""Adapter for rule gupta2019_score_histogram_scores: GI scores and mixture fits (Fig. 2)."""

from saliency_sanity.experiments.gupta2019 import score_histogram
from saliency_sanity.io import setup_logging
from saliency_sanity.runtime import set_threads


def main(smk):
    setup_logging(smk.log[0])
    set_threads(smk.threads)
    p = smk.params
    score_histogram(smk.input.model, p.root, smk.input.testbed, p.images, list(p.components),
                    p.seed, p.device, smk.output[0])  # fmt: skip


if __name__ == "__main__":
    main(snakemake)
