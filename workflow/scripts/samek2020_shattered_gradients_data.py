"""Adapter for rule samek2020_shattered_gradients_data: function and gradient along input paths."""

from saliency_sanity.experiments.samek2020 import shattered_gradients
from saliency_sanity.io import setup_logging
from saliency_sanity.runtime import set_threads


def main(smk):
    setup_logging(smk.log[0])
    set_threads(smk.threads)
    p, s = smk.params, smk.params.settings
    checkpoints = dict(zip(p.models, smk.input.checkpoints, strict=True))
    shattered_gradients(
        checkpoints, p.root, smk.input.testbed, smk.output[0], s["pairs"], s["points"], p.device
    )


if __name__ == "__main__":
    main(snakemake)
