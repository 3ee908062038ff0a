"""Adapter for rule gupta2019_approximate_completeness_sums: sum of GI vs logit (Fig. 3)."""

from saliency_sanity.experiments.gupta2019 import approximate_completeness
from saliency_sanity.io import setup_logging
from saliency_sanity.runtime import set_threads


def main(smk):
    setup_logging(smk.log[0])
    set_threads(smk.threads)
    p = smk.params
    checkpoints = dict(zip(p.names, smk.input.models, strict=True))
    approximate_completeness(checkpoints, p.root, smk.input.testbed, p.images, p.device,
                             smk.output[0])  # fmt: skip


if __name__ == "__main__":
    main(snakemake)
