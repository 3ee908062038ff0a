"""Adapter for rule testbed: choose the fixed, seeded test-bed of test images once."""

from saliency_sanity.experiments.testbed import write_testbed
from saliency_sanity.io import setup_logging


def main(smk):
    setup_logging(smk.log[0])
    write_testbed(smk.params.root, smk.params.size, smk.params.seed, smk.output[0])


if __name__ == "__main__":
    main(snakemake)
