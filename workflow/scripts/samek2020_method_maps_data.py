"""Adapter for rule samek2020_method_maps_data: maps of several methods."""

from saliency_sanity.experiments.samek2020 import method_maps
from saliency_sanity.io import setup_logging
from saliency_sanity.runtime import set_threads


def main(smk):
    setup_logging(smk.log[0])
    set_threads(smk.threads)
    p, s = smk.params, smk.params.settings
    method_maps(
        smk.input.checkpoint,
        p.root,
        smk.input.testbed,
        smk.output[0],
        s["methods"],
        s.get("images") or p.show,
        p.device,
    )


if __name__ == "__main__":
    main(snakemake)
