"""Adapter for rule gupta2019_randomization_maps: plain and competitive maps after each
randomisation step of one run (Figs. 5, 6, 8-10)."""

from saliency_sanity.experiments.gupta2019 import randomization_experiment
from saliency_sanity.io import setup_logging
from saliency_sanity.runtime import set_threads


def main(smk):
    setup_logging(smk.log[0])
    set_threads(smk.threads)
    p = smk.params
    randomization_experiment(
        smk.input.model,
        p.root,
        smk.input.testbed,
        p.procedure,
        {name: dict(params) for name, params in p.methods.items()},
        p.images,
        p.seed,
        p.explained,
        p.device,
        smk.output[0],
        p.batch_size,
    )


if __name__ == "__main__":
    main(snakemake)
