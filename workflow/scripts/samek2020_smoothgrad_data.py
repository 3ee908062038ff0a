"""Adapter for rule samek2020_smoothgrad_data: Smooth GI maps and noise vs samples."""

from saliency_sanity.experiments.samek2020 import smoothgrad
from saliency_sanity.io import setup_logging
from saliency_sanity.runtime import set_threads


def main(smk):
    setup_logging(smk.log[0])
    set_threads(smk.threads)
    p, s = smk.params, smk.params.settings
    smoothgrad(
        smk.input.checkpoint,
        p.root,
        smk.input.testbed,
        smk.output[0],
        p.show,
        s["display_samples"],
        s["images"],
        s["samples"],
        s["seeds"],
        s["reference_samples"],
        s["noise"],
        p.seed,
        p.device,
    )


if __name__ == "__main__":
    main(snakemake)
