"""The scorecard (beyond the papers): every registered method x every check of
:mod:`saliency_sanity.checks` on one trained MNIST model (FIGURES.md, "Beyond the papers").

The checks are the library's (:func:`saliency_sanity.checks.scorecard`): the pipeline only loads
the model, its permuted-label twin when the config trains one, the test-bed and the training
images the pattern methods fit on, and runs the costly methods on fewer images.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from saliency_sanity import checks, runtime
from saliency_sanity.attribution import METHODS
from saliency_sanity.catalogue import MNIST, C, Model, Resources, Testbed, experiment
from saliency_sanity.experiments.kindermans2017 import pattern_training_inputs
from saliency_sanity.experiments.testbed import load_testbed
from saliency_sanity.io import save_npz
from saliency_sanity.models import load_checkpoint

log = logging.getLogger(__name__)


def _inputs(cfg: Mapping) -> dict:
    model = cfg["scorecard"]["model"]
    refs = {"checkpoint": Model(model), "testbed": Testbed(), "mnist": MNIST}
    if "random_labels" in cfg["models"].get(model, {}):
        refs["random_labels"] = Model(model, "random_labels")
    return refs


def method_groups(settings: Mapping, n: int) -> dict[int, dict[str, tuple[str, dict]]]:
    """``{images: {method: (method, params)}}``: every registered method, the costly ones on
    their own (smaller) number of images, with the config's parameter overrides."""
    groups: dict[int, dict[str, tuple[str, dict]]] = {}
    for name in METHODS:
        images = min(int(settings.get("costly", {}).get(name, settings["images"])), n)
        params = dict((settings.get("params") or {}).get(name) or {})
        groups.setdefault(images, {})[name] = (name, params)
    return dict(sorted(groups.items(), reverse=True))


@experiment("beyond", "scorecard", inputs=_inputs,
            params={"settings": C("scorecard"), "seed": C("seed")},
            resources=Resources(gpu=1, threads=2, mem_mb=6000, runtime=120))  # fmt: skip
def run_scorecard(
    *,
    checkpoint: str | Path,
    testbed: str | Path,
    mnist: str | Path,
    settings: Mapping,
    seed: int,
    device: str,
    out: str | Path,
    random_labels: str | Path | None = None,
) -> pd.DataFrame:
    """The scorecard of ``settings["model"]``: one row per method and check (``table``), with
    the number of images each method used and its parameter overrides."""
    dev = runtime.device(device)
    model, _ = load_checkpoint(checkpoint, dev)
    twin = load_checkpoint(random_labels, dev)[0] if random_labels else None
    x, _, indices = load_testbed(testbed, model.encoding)
    fit = pattern_training_inputs(mnist, settings["fit_images"], seed, model.encoding).to(dev)
    parts = []
    for images, methods in method_groups(settings, len(x)).items():
        t0 = time.perf_counter()
        part = checks.scorecard(model, x[:images].to(dev), methods=methods,
                                model_random_labels=twin, fit_inputs=fit,
                                measure=settings["measure"], init=settings["init"], seed=seed,
                                progress=True)  # fmt: skip
        log.info("%d methods on %d images: %.1f s", len(methods), images, time.perf_counter() - t0)
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    table["passes"] = table["passes"].map({True: "True", False: "False"}).fillna("")
    overrides = {k: v for k, v in (settings.get("params") or {}).items() if v}
    table["params"] = [str(overrides.get(m, "")) for m in table["method"]]
    save_npz(out, table=table, indices=indices, model=settings["model"],
             random_labels=random_labels is not None)  # fmt: skip
    return table
