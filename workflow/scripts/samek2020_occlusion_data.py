"""Adapter for rule samek2020_occlusion_data: occlusion maps per patch size and fill."""

from saliency_sanity.experiments.samek2020 import occlusion
from saliency_sanity.io import setup_logging
from saliency_sanity.runtime import set_threads


def main(smk):
    setup_logging(smk.log[0])
    set_threads(smk.threads)
    p, s = smk.params, smk.params.settings
    occlusion(
        smk.input.checkpoint,
        p.root,
        smk.input.testbed,
        smk.output[0],
        s["images"],
        s["patches"],
        s["stride"],
        p.device,
    )


if __name__ == "__main__":
    main(snakemake)
