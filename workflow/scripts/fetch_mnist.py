"""Adapter for rule fetch_mnist: download MNIST (or copy the offline mirror) and verify it."""

from pathlib import Path

from saliency_sanity.data import fetch_mnist, resolve_mirror
from saliency_sanity.io import setup_logging


def main(smk):
    setup_logging(smk.log[0])
    fetch_mnist(Path(smk.output[0]).parent, resolve_mirror(smk.params.mirror), smk.params.checksums)


if __name__ == "__main__":
    main(snakemake)
