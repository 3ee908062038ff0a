"""Adapter for rule samek2020_gradient_input_practice_data: GI maps and sign statistics."""

from saliency_sanity.experiments.samek2020 import gradient_input_practice
from saliency_sanity.io import setup_logging
from saliency_sanity.runtime import set_threads


def main(smk):
    setup_logging(smk.log[0])
    set_threads(smk.threads)
    p = smk.params
    gradient_input_practice(
        smk.input.checkpoint, p.root, smk.input.testbed, smk.output[0], p.show, p.device
    )


if __name__ == "__main__":
    main(snakemake)
