"""Randomisation variants (beyond the papers; Hedström et al. 2023, "Sanity checks revisited"):
how much the ranking of methods by the parameter-randomisation test depends on its choices.

On one trained MNIST model, every method is scored by the MPRT under each variant: cascading
top-down (Adebayo et al.'s order) and bottom-up, each with Spearman of |map| and of the signed
map and SSIM; then sMPRT (maps denoised over noisy inputs, bottom-up) and eMPRT (the relative
rise of the maps' histogram entropy). The score of an MPRT variant is the mean similarity over
the layers (the original's self-score excluded, which Quantus averages in), read against the
null of two untrained copies. The checks are the library's (:mod:`saliency_sanity.checks`).
Normalisation is no axis here: Spearman is invariant to any positive scaling of a map, and SSIM
needs a data range, so it always min-max normalises (Adebayo et al.'s choice).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from saliency_sanity import checks, runtime
from saliency_sanity.catalogue import C, Model, Resources, Testbed, experiment
from saliency_sanity.checks.methods import shared_maps
from saliency_sanity.experiments.testbed import load_testbed
from saliency_sanity.io import save_npz
from saliency_sanity.models import load_checkpoint

#: the MPRT variants: (name, direction, measure)
MPRT_VARIANTS = tuple(
    (f"{direction.replace('_', '-')}, {label}", direction, measure)
    for direction in ("top_down", "bottom_up")
    for measure, label in (("spearman_abs", "Spearman |m|"), ("spearman_signed", "Spearman m"),
                           ("ssim", "SSIM"))
)  # fmt: skip


def _mprt_rows(df: pd.DataFrame, variant: str, measure: str) -> list[dict]:
    rows = []
    for method, part in df[df["measure"] == measure].groupby("method", sort=False):
        steps = part[part["index"] > 0]
        note = "; ".join(sorted(set(part["note"]) - {""}))
        if steps.empty:  # the method cannot explain this model (reason in note)
            rows.append({"variant": variant, "method": method, "score": float("nan"),
                         "null": float("nan"), "n": 0, "note": note})  # fmt: skip
            continue
        rows.append({"variant": variant, "method": method, "score": float(steps["mean"].mean()),
                     "null": float(steps["null_mean"].iloc[0]), "n": int(steps["n"].min()),
                     "note": note})  # fmt: skip
    return rows


def variant_table(model, x, methods: Mapping, *, samples: int, seed: int) -> pd.DataFrame:
    """One row per (variant, method): ``score`` (mean similarity over the layers for the MPRT
    variants and sMPRT, lower = more sensitive; the entropy rise for eMPRT, higher = more
    sensitive), ``null`` and ``n``.

    The variants explain some networks in common (the trained model, the null's two copies, and
    the fully randomised model: the last step in both directions and eMPRT's): inside
    :func:`~saliency_sanity.checks.methods.shared_maps` each is explained once, the same maps.
    """
    rows = []
    with shared_maps():
        for direction in ("top_down", "bottom_up"):
            df = checks.model_randomization(model, x, methods=methods, direction=direction,
                                            measures=("spearman_abs", "spearman_signed", "ssim"),
                                            seed=seed)  # fmt: skip
            for name, d, measure in MPRT_VARIANTS:
                if d == direction:
                    rows += _mprt_rows(df, name, measure)
        smooth = checks.smooth_mprt(model, x, methods=methods, samples=samples, seed=seed)
        rows += _mprt_rows(smooth, f"sMPRT ({samples} samples), Spearman |m|", "spearman_abs")
        eff = checks.efficient_mprt(model, x, methods=methods, seed=seed)
    rows += [{"variant": "eMPRT, entropy rise", "method": r.method, "score": r.mean,
              "null": r.null_mean, "n": r.n, "note": r.note} for r in eff.itertuples()]  # fmt: skip
    return pd.DataFrame(rows)


@experiment("beyond", "randomization_variants_{model}",
            over={"model": C("randomization_variants.models")},
            inputs={"checkpoint": Model("{model}"), "testbed": Testbed()},
            params={"settings": C("randomization_variants"), "seed": C("seed")},
            resources=Resources(gpu=1, threads=2, mem_mb=4000, runtime=60))  # fmt: skip
def run_variants(*, checkpoint: str | Path, testbed: str | Path, settings: Mapping, seed: int,
                 device: str, out: str | Path) -> pd.DataFrame:  # fmt: skip
    """The variant table (:func:`variant_table`) of one model on the first test-bed images."""
    dev = runtime.device(device)
    model, _ = load_checkpoint(checkpoint, dev)
    x, _, indices = load_testbed(testbed, model.encoding, settings["images"])
    methods = {m: (m, dict((settings.get("params") or {}).get(m) or {}))
               for m in settings["methods"]}  # fmt: skip
    table = variant_table(model, x.to(dev), methods, samples=settings["smooth_samples"],
                          seed=seed)  # fmt: skip
    save_npz(out, table=table, indices=indices, model=getattr(model, "name", "model"))
    return table
