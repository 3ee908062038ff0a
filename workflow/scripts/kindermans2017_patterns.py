"""Adapter for rule patterns: fit and cache a trained model's PatternNet patterns."""

from saliency_sanity.experiments.kindermans2017 import fit_model_patterns
from saliency_sanity.io import setup_logging
from saliency_sanity.runtime import set_threads


def main(smk):
    setup_logging(smk.log[0])
    set_threads(smk.threads)
    fit = smk.params.fit
    fit_model_patterns(
        smk.params.root,
        smk.input.checkpoint,
        smk.wildcards.estimator,
        fit["images"],
        fit["seed"],
        fit["batch_size"],
        smk.params.device,
        smk.output[0],
    )


if __name__ == "__main__":
    main(snakemake)
