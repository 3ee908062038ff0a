"""Adapter for rule samek2020_ig_equals_gi_data: IG vs Gradient x Input per number of steps."""

from saliency_sanity.experiments.samek2020 import ig_equals_gi
from saliency_sanity.io import setup_logging
from saliency_sanity.runtime import set_threads


def main(smk):
    setup_logging(smk.log[0])
    set_threads(smk.threads)
    p, s = smk.params, smk.params.settings
    checkpoints = dict(zip(p.models, smk.input.checkpoints, strict=True))
    ig_equals_gi(
        checkpoints, p.root, smk.input.testbed, smk.output[0], s["steps"], s["images"], p.device
    )


if __name__ == "__main__":
    main(snakemake)
