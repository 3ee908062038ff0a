"""Adapter for rule kindermans2017_shift: both networks' maps of the eight methods, one shift."""

from saliency_sanity.experiments.kindermans2017 import input_invariance
from saliency_sanity.io import setup_logging
from saliency_sanity.runtime import set_threads


def main(smk):
    setup_logging(smk.log[0])
    set_threads(smk.threads)
    input_invariance(
        smk.params.root,
        smk.input.testbed,
        smk.input.checkpoint,
        dict(zip(smk.params.estimators, smk.input.patterns, strict=True)),
        smk.wildcards.shift,
        dict(smk.params.settings),
        smk.params.device,
        smk.output[0],
    )


if __name__ == "__main__":
    main(snakemake)
