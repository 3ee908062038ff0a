"""The one adapter: call the library function a rule's params name, with keyword arguments.

``snakemake.params.call`` is ``{"fn": "module:function", "kwargs": {...}}`` (from the catalogue
or the rule); the rule's named outputs are added as keyword arguments, and so are the config
values its ``in_job`` names (read here, not stored in the params: see ``call`` in
common.smk). The library's logging, warnings and progress bars go to the rule's log; a failing
job also prints one line to the console that names the error and the log holding its traceback.
"""

import importlib
import logging
import sys
import traceback

from saliency_sanity.catalogue import lookup
from saliency_sanity.io import setup_logging
from saliency_sanity.runtime import set_threads


def resolve(path):
    module, _, name = path.partition(":")
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def main(smk):
    setup_logging(smk.log[0])
    set_threads(smk.threads)
    logging.getLogger("saliency_sanity.run").info("threads: %d", smk.threads)
    call = smk.params.call
    outputs = dict(smk.output.items())
    try:
        in_job = {name: lookup(smk.config, key) for name, key in call.get("in_job", {}).items()}
        resolve(call["fn"])(**call["kwargs"], **in_job, **outputs)
    except Exception as err:
        traceback.print_exc()
        what = ", ".join(f"{k}={v}" for k, v in smk.wildcards.items()) or smk.rule
        print(
            f"Error in rule {smk.rule} ({what}): {type(err).__name__}: {err}\n"
            f"    traceback: {smk.log[0]}",
            file=sys.__stderr__,
        )
        sys.exit(1)


if __name__ == "__main__":
    main(snakemake)
