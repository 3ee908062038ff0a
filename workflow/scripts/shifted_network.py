"""Adapter for rule shifted_network: kindermans2017's network 2 by the bias change."""

from saliency_sanity.experiments.training import shifted_network
from saliency_sanity.io import setup_logging


def main(smk):
    setup_logging(smk.log[0])
    shifted_network(
        smk.params.root,
        smk.input.checkpoint,
        smk.params.shift,
        smk.output.checkpoint,
        smk.output.metrics,
    )


if __name__ == "__main__":
    main(snakemake)
