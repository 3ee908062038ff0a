"""Adapter for rule adebayo2018_maps: maps of every method after every randomisation step."""

from saliency_sanity.experiments.adebayo2018 import run_randomization
from saliency_sanity.io import setup_logging
from saliency_sanity.runtime import set_threads


def main(smk):
    setup_logging(smk.log[0])
    set_threads(smk.threads)
    p = smk.params
    run_randomization(
        smk.input.checkpoint,
        p.root,
        smk.input.testbed,
        dict(p.methods),
        smk.wildcards.mode,
        p.seed,
        p.explained_class,
        p.grid_position,
        p.hog_images,
        p.device,
        smk.output.maps,
        smk.output.similarity,
    )


if __name__ == "__main__":
    main(snakemake)
