"""Adapter for rule samek2020_method_connections_data: measured equivalences between methods."""

from saliency_sanity.experiments.samek2020 import method_connections
from saliency_sanity.io import setup_logging
from saliency_sanity.runtime import set_threads


def main(smk):
    setup_logging(smk.log[0])
    set_threads(smk.threads)
    p, s = smk.params, smk.params.settings
    checkpoints = dict(zip(p.models, smk.input.checkpoints, strict=True))
    method_connections(
        checkpoints,
        p.root,
        smk.input.testbed,
        smk.output[0],
        p.steps,
        s["stabilizer"],
        s["images"],
        p.device,
    )


if __name__ == "__main__":
    main(snakemake)
