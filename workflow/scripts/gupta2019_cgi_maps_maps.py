"""Adapter for rule gupta2019_cgi_maps_maps: GI and CGI maps of a few digits (Fig. 4)."""

from saliency_sanity.experiments.gupta2019 import cgi_maps
from saliency_sanity.io import setup_logging
from saliency_sanity.runtime import set_threads


def main(smk):
    setup_logging(smk.log[0])
    set_threads(smk.threads)
    p = smk.params
    cgi_maps(smk.input.model, p.root, smk.input.testbed, p.images, p.device, smk.output[0])


if __name__ == "__main__":
    main(snakemake)
