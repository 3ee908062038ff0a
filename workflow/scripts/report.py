"""Adapter for rule report: gather the figure entries into claims.csv and the gallery."""

from saliency_sanity.io import setup_logging
from saliency_sanity.report import write_report


def main(smk):
    setup_logging(smk.log[0])
    write_report(smk.input, smk.output.claims, smk.output.gallery)


if __name__ == "__main__":
    main(snakemake)
