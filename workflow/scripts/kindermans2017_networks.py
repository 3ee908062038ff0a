"""Adapter for rule kindermans2017_networks: the networks table and training curves."""

from saliency_sanity.figures.kindermans2017 import networks
from saliency_sanity.io import load_json, setup_logging


def main(smk):
    setup_logging(smk.log[0])
    trained = {
        name: load_json(p) for name, p in zip(smk.params.names, smk.input.trained, strict=True)
    }
    out = smk.output
    networks(load_json(smk.input.shifted), trained, out.png, out.pdf, out.csv, out.entry)


if __name__ == "__main__":
    main(snakemake)
