"""adebayo2018 figures (model parameter randomisation test): the grids of maps after each
randomisation step (Fig. 1, Figs. 4-9) and the similarity curves (Figs. 2 and 3), drawn from
the saved results of :mod:`saliency_sanity.experiments.adebayo2018`; nothing is computed here but
per-image similarities of saved maps. The fixed text is in ``workflow/report/adebayo2018/``.

A similarity after randomisation is read against its null: the same similarity between the
maps of two independently initialised, untrained copies of the architecture (the seed's own
conclusion: the architecture is a prior). The null is drawn on every curve panel.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from saliency_sanity import similarity
from saliency_sanity.catalogue import C, Metrics, Result, figure, imagenet_fields, imagenet_on
from saliency_sanity.experiments import RANDOMIZATION_ORDERS as ORDERS
from saliency_sanity.figures._panels import (
    label_cell,
    method_label,
    row_label,
    show_absolute,
    show_input,
    show_signed,
)
from saliency_sanity.figures._plot import pyplot, save
from saliency_sanity.io import load_json, load_npz, save_csv
from saliency_sanity.report import Claim, tier_claims, write_entry
from saliency_sanity.verdicts import read_against_null

DOC = "adebayo2018"
#: (metric, variant) -> panel title of the rank figure
PANELS = {
    ("spearman", "abs"): "Spearman, |map|",
    ("spearman", "signed"): "Spearman, signed map",
    ("ssim", "abs"): "SSIM, |map|",
    ("hog", "abs"): "HOG, |map|",
}
#: the reference methods (Binder et al. 2023): model-independent ends of the scale, drawn grey
REFERENCES = {"random_map": "sensitive", "edge_detector": "insensitive"}
#: the original sanity-checks notebooks' MNIST outputs (50 epochs, 10 images, |map|, fully
#: randomised; REPLICATION-NOTES), quoted in the caption of a claim that does not hold
ORIGINAL_MNIST = {
    ("mlp", "guided_backprop"): 0.044, ("mlp", "smoothgrad_integrated_gradients"): 0.345,
    ("mlp", "integrated_gradients"): 0.993, ("cnn", "guided_backprop"): 0.444,
    ("cnn", "smoothgrad_integrated_gradients"): 0.361, ("cnn", "gradcam"): 0.30,
    ("cnn", "guided_gradcam"): 0.28, ("cnn", "integrated_gradients"): 0.99,
}  # fmt: skip
SEED_ON_MNIST = "for MNIST the seed says only 'We observe similar results for a CNN and MLP'"


def _str(a: Any) -> str:
    return str(np.asarray(a).item()) if np.ndim(a) == 0 else str(a)


def _what(result: Mapping[str, np.ndarray]) -> tuple[str, str, str]:
    return _str(result["model"]), _str(result["mode"]), _str(result["explained_class"])


def settings_text(result: Mapping[str, np.ndarray]) -> str:
    """One clause per method: its parameters and on how many test-bed images it ran."""
    n = result["computed"].shape[1]
    parts = []
    for label, name, params, computed in zip(
        result["labels"], result["names"], result["params"], result["computed"], strict=True
    ):
        p = json.loads(str(params))
        keys = ("base", "samples", "steps", "baseline", "noise")
        shown = ", ".join(f"{k} {p[k]}" for k in keys if k in p)
        parts.append(
            f"{label} = {name}" + (f" ({shown})" if shown else "") + f" on {computed.sum()}/{n}"
        )
    return "; ".join(parts)


def _step_titles(result: Mapping[str, np.ndarray]) -> list[str]:
    return [
        f"{step}\nacc {acc:.2f}" if math.isfinite(acc) else str(step)
        for step, acc in zip(result["steps"], result["accuracy"], strict=True)
    ]


def _accuracy_text(result: Mapping[str, np.ndarray]) -> str:
    return ", ".join(
        f"{step} {acc:.3f}" for step, acc in zip(result["steps"], result["accuracy"], strict=True)
    )


def _value(table: pd.DataFrame, method: str, metric: str, variant: str, step=None) -> float:
    rows = table[(table["method"] == method) & (table["metric"] == metric)
                 & (table["variant"] == variant)]  # fmt: skip
    if step is not None:
        rows = rows[rows["step"] == step]
    return float(rows["mean"].iloc[-1]) if len(rows) else float("nan")


def _standard_error(table: pd.DataFrame, method: str, metric: str, variant: str, step) -> float:
    rows = table[(table["method"] == method) & (table["metric"] == metric)
                 & (table["variant"] == variant) & (table["step"] == step)]  # fmt: skip
    if not {"std", "n"} <= set(rows.columns) or not len(rows) or int(rows["n"].iloc[-1]) < 2:
        return float("nan")
    return float(rows["std"].iloc[-1]) / float(np.sqrt(rows["n"].iloc[-1]))


def borderline(measured: float, threshold: float, se: float) -> str:
    """A sentence when ``measured`` lies within two standard errors (over the test-bed images)
    of the claim's threshold: then run-to-run noise (a retrained network, another thread count)
    can flip the verdict, and the row says so; "" otherwise."""
    if not np.isfinite(se) or abs(measured - threshold) >= 2 * se:
        return ""
    return (
        f"borderline: {measured:.3f} is within two standard errors ({2 * se:.3f}) of the "
        f"threshold {threshold:.3f}, so the verdict can flip between runs"
    )


# --- claims ---------------------------------------------------------------------------------


#: the paper's settings of the noise and path methods (Sec. 3): 50 samples, 50 steps, 200 images
PAPER_SAMPLES = PAPER_STEPS = 50
PAPER_IMAGES = 200
#: the MNIST models of the seed's own code (its notebooks), as opposed to the ImageNet tier
MNIST_MODELS = ("mlp", "cnn")


def paper_settings_note(spec: Mapping[str, Any], n_images: int) -> str:
    """Where a method ran below the paper's settings (the CPU default), say so: the claim's
    ``expected`` then names what was run."""
    params = spec.get("params") or {}
    parts = []
    if params.get("samples", PAPER_SAMPLES) < PAPER_SAMPLES:
        parts.append(f"{params['samples']} samples")
    if params.get("steps", PAPER_STEPS) < PAPER_STEPS:
        parts.append(f"{params['steps']} steps")
    if n_images < PAPER_IMAGES:
        parts.append(f"{n_images} images")
    if not parts:
        return ""
    return f"; run at {', '.join(parts)} (paper: 50 samples x 50 steps on 200 images)"


def _failure(model, method, label, what, measured, null, expected, note, reading) -> str:
    """Why an empirical claim does not hold: a genuine non-replication (with the numbers), or a
    limit of this run (the CPU default's reduced settings)."""
    numbers = f"measured {measured:.2f}, two untrained copies {null:.2f}"
    if reading.no_power and expected == "sensitive":
        return (f"cannot pass on these inputs: two untrained copies' maps already agree to "
                f"{null:.2f}, and the trained map does not depart from that ({numbers}): the "
                "input, not the weights, sets the map.")  # fmt: skip
    if expected == "insensitive":
        why = ("the randomised network's map shares with the trained one no more than the maps "
               "of any two untrained networks share: the similarity the paper saw is the "
               "architecture's prior, not the trained weights'")  # fmt: skip
    else:
        why = ("the trained map is more alike to the randomised network's than two untrained "
               "copies' maps are to each other: it stays close to the architecture's typical "
               "map")  # fmt: skip
    if note:
        return (f"not decided at the paper's settings{note}: {numbers}; {why}. "
                "config/paper.yaml runs the paper's settings.")  # fmt: skip
    if model not in MNIST_MODELS:  # Inception v3: the paper's own network
        return f"genuine non-replication on {model}: {label} {numbers} ({why})."
    original = ORIGINAL_MNIST.get((model, method)) if what == "Spearman (|map|)" else None
    quoted = (f"; the original code's own MNIST notebook (50 epochs, 10 images) gives "
              f"{original:g}" if original is not None else "")  # fmt: skip
    return (f"genuine non-replication of the seed's MNIST statement ('similar results' to "
            f"Inception v3, where the paper finds {label} {expected}): {numbers}{quoted}; "
            f"{why}.")  # fmt: skip


def _non_negative(result: Mapping[str, np.ndarray], m: int) -> bool:
    """Every map of method ``m`` is >= 0 (VarGrad, GradCAM): then |map| is the signed map and
    only the |map| view is claimed."""
    rows = np.flatnonzero(result["computed"][m])
    return bool(len(rows)) and bool(np.all(np.nan_to_num(result["maps"][:, m, rows]) >= 0))


def _claim_views(result, m: int, reference: bool) -> list[tuple[str, str]]:
    """(metric, variant) of the claims of method ``m``: Spearman on |map| and on the signed map
    (the latter only for maps with a sign), SSIM on |map|."""
    variants = ["abs"] if reference or _non_negative(result, m) else ["abs", "signed"]
    return [("spearman", v) for v in variants] + [("ssim", "abs")]


def final_claims(table, null, result, methods, margin) -> list[Claim]:
    """``final_rank.<model>.<method>.<abs|signed>`` and ``final_ssim.<model>.<method>``: the
    similarity between the trained and the fully randomised model's maps, read against the
    null (:func:`saliency_sanity.verdicts.read_against_null`). Methods whose maps are
    non-negative (VarGrad, GradCAM) get the ``abs`` row only. The seed reports |map| only; the
    signed rows follow Sundararajan & Taly (2018) and are ``beyond``. A row whose null leaves no
    power (two untrained copies already agree) holds or fails by construction: an insensitive
    one is an ``identity`` row, never evidence. A view whose expectation the config leaves null
    (the paper states none) gets no claim."""
    model, mode, _ = _what(result)
    last = int(table["step"].max())
    claims = []
    for m, (method, name) in enumerate(zip(result["methods"], result["names"], strict=True)):
        method, name = str(method), str(name)
        spec = methods.get(method, {})
        note = paper_settings_note(spec, int(result["computed"][m].sum()))
        label = method_label(name, base=(spec.get("params") or {}).get("base"))
        reference = name in REFERENCES
        for metric, variant in _claim_views(result, m, reference):
            view = "signed" if variant == "signed" else "abs"
            expected = REFERENCES[name] if reference else spec.get(f"expected_{view}", "sensitive")
            if expected is None:  # the paper states nothing for this view (config: null)
                continue
            measured = _value(table, method, metric, variant, last)
            nul = _value(null, method, metric, variant, 1)
            reading = read_against_null(expected, nul, margin)
            threshold = nul - margin if reading.no_power else nul + margin
            near = borderline(measured, threshold,
                              _standard_error(table, method, metric, variant, last))  # fmt: skip
            why = reading.why + ("" if reference else note)
            if near and not reference:
                why += f"; {near}"
            what = ("Spearman" if metric == "spearman" else "SSIM") + (
                " (|map|)" if variant == "abs" else " (signed map)"
            )
            cid = (f"{DOC}.final_rank.{model}.{method}.{variant}" if metric == "spearman"
                   else f"{DOC}.final_ssim.{model}.{method}")  # fmt: skip
            if reference:
                kind = "identity"
                text = (f"reference method {label} (Binder et al. 2023): {what} trained vs fully "
                        "randomised; model-independent by construction")  # fmt: skip
            elif variant == "signed":
                kind = "beyond"
                text = (f"{label} on the {model}, signed map: {expected} to the model "
                        "parameters (the seed reports |map| only; the signed view follows "
                        "Sundararajan & Taly 2018): Spearman between the trained and the fully "
                        "randomised model's signed maps")  # fmt: skip
            else:
                kind = "identity" if reading.no_power and expected == "insensitive" else "empirical"
                text = (f"{label} on the {model} is {expected} to the model parameters (Sec. 3, "
                        "Figs. 1-2; the paper: Inception v3" + ("; MNIST: 'similar results'"
                        if model in MNIST_MODELS else "") + f"): {what} between the trained and "
                        "the fully randomised model's maps")  # fmt: skip
            failure = "" if reference else _failure(model, method, label, what, measured, nul,
                                                    expected, note, reading)  # fmt: skip
            if near and failure:
                failure += f" The row is {near}."
            claims.append(Claim(cid, DOC, f"{DOC}/{mode}_rank_{model}", kind, text, measured,
                                reading.rule, why, nul, failure))  # fmt: skip
    return claims


def ig_background_claim(result, model: str) -> list[Claim]:
    """``ig_background_artefact.<model>``: IG |map| final Spearman on all pixels minus the
    same on the pixels where the input differs from the (zero) baseline (Sundararajan & Taly
    2018: zero-baseline pixels are 0 in every IG map and tie in the ranks)."""
    names = [str(n) for n in result["names"]]
    params = [json.loads(str(p)) for p in result["params"]]
    idx = [i for i, (n, p) in enumerate(zip(names, params, strict=True))
           if n == "integrated_gradients" and p.get("baseline", "zero") == "zero"]  # fmt: skip
    if not idx:
        return []
    m = idx[0]
    rows = np.flatnonzero(result["computed"][m])
    first, last = result["maps"][0, m, rows], result["maps"][-1, m, rows]
    x = result["x"][rows]
    full = similarity.spearman(first, last, absolute=True)
    masked = np.array([
        similarity.spearman(a[None][:, x_i != 0], b[None][:, x_i != 0], absolute=True)[0]
        for a, b, x_i in zip(first, last, x, strict=True)
    ])  # fmt: skip
    value = float(np.nanmean(full) - np.nanmean(masked))
    return [Claim(
        f"{DOC}.ig_background_artefact.{model}", DOC, f"{DOC}/cascading_rank_{model}", "beyond",
        "Sundararajan & Taly 2018: IG's high |map| similarity after randomisation comes from the "
        "pixels equal to the zero baseline: Spearman on all pixels minus on the pixels where the "
        f"input is non-zero, IG, {model}", value, "measured > 0.05",
        "the baseline pixels inflate the similarity")]  # fmt: skip


def accuracy_claim(metrics: Mapping, model: str) -> Claim:
    acc = float(metrics["test_accuracy"])
    return Claim(f"{DOC}.accuracy.{model}", DOC, f"{DOC}/cascading_rank_{model}", "empirical",
                 f"the trained MNIST {model} is accurate", acc, "measured >= 0.97", "high",
                 on_failure=f"limit of the training budget: {acc:.4f} after "
                 f"{metrics['epochs']} epochs (paper: 50)")  # fmt: skip


# --- the curves (Figs. 2 and 3) ---------------------------------------------------------------


def _mode_text(mode: str) -> str:
    if mode == "cascading":
        return "cascading randomisation (layers re-initialised cumulatively from the logits down)"
    return "independent randomisation (each layer re-initialised alone, the others trained)"


@figure(DOC, "{order}_rank_{model}", caption="{order}_rank",
        over={"order": ORDERS, "model": C("adebayo2018.models")},
        inputs={"maps": Result("adebayo2018/{order}_maps_{model}"),
                "null": Result("adebayo2018/null_{model}"), "metrics": Metrics("{model}")},
        params={"methods": C("adebayo2018.methods"),
                "margin": C("adebayo2018.randomization.null_margin")})  # fmt: skip
@figure(
    DOC,
    "{order}_rank_inception_v3",
    caption="{order}_rank_imagenet",
    over={"order": ORDERS},
    when=imagenet_on,
    fields=imagenet_fields,
    inputs={
        "maps": Result("adebayo2018/{order}_maps_inception_v3"),
        "null": Result("adebayo2018/null_inception_v3"),
    },
    params=lambda cfg, order: {
        "methods": cfg["adebayo2018"]["methods"],
        "margin": cfg["adebayo2018"]["randomization"]["null_margin"],
        "random_weights": cfg["imagenet"]["weights"] is None,
    },
)
def rank_figure(*, maps, null, methods: Mapping[str, Mapping[str, Any]], margin: float,
                png, pdf, csv, entry, metrics=None,
                random_weights: bool = False) -> list[Claim]:  # fmt: skip
    """Figs. 2 (cascading) and 3 (independent): similarity to the original map per step, one
    curve per method, mean ± 1 std over the test-bed images the method ran on, with each
    method's null (two untrained copies) as a dotted line."""
    result, nul = load_npz(maps), load_npz(null)
    table, null_table = result["similarity"], nul["similarity"]
    model, mode, explained = _what(result)
    steps = [str(s) for s in result["steps"]]
    labels = dict(zip(result["methods"], result["labels"], strict=True))
    names = dict(zip(result["methods"], result["names"], strict=True))
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(9.5, 7.0), sharex=True)
    colors = plt.get_cmap("tab10")
    x = np.arange(len(steps))
    for ax, ((metric, variant), title) in zip(axes.ravel(), PANELS.items(), strict=True):
        for i, method in enumerate(result["methods"]):
            rows = table[(table["method"] == method) & (table["metric"] == metric)
                         & (table["variant"] == variant)].sort_values("step")  # fmt: skip
            if rows.empty:
                continue
            reference = str(names[method]) in REFERENCES
            color = "0.35" if reference else colors(i % 10)
            mean, std = rows["mean"].to_numpy(float), rows["std"].to_numpy(float)
            style = ("--" if reference else "-") + ("o" if mode == "cascading" else "s")
            ax.plot(x, mean, style, ms=3, lw=1.1, color=color, label=labels[method])
            ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.1, lw=0)
            null_value = _value(null_table, method, metric, variant, 1)
            if math.isfinite(null_value):
                ax.axhline(null_value, color=color, lw=0.8, ls=":")
        ax.axhline(0, color="0.6", lw=0.6)
        ax.set_title(title)
        ax.set_ylim(-1.05, 1.05)
        if len(steps) > 8:  # Inception v3's 17 blocks: vertical, small labels
            ax.set_xticks(x, steps, rotation=90, ha="center", fontsize=6)
        else:
            ax.set_xticks(x, steps, rotation=30, ha="right")
    for ax in axes[:, 0]:
        ax.set_ylabel("similarity to the original map")
    handles, names_ = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names_, fontsize=6, loc="lower center", ncol=6, frameon=False)
    for ax in axes[1]:
        ax.set_xlabel("randomised from the logits down to this layer" if mode == "cascading"
                      else "layer randomised alone")  # fmt: skip
    fig.tight_layout(pad=0.4, rect=(0, 0.07, 1, 1))
    save(fig, png, pdf)
    out = table.copy()
    out.insert(0, "model", model)
    out["label"] = out["method"].map(labels)
    out["accuracy"] = out["step"].map(dict(enumerate(result["accuracy"])))
    null_means = null_table[null_table["step"] == 1].set_index(["method", "metric", "variant"])
    out["null_mean"] = [null_means["mean"].get((m, k, v), np.nan) for m, k, v in
                        zip(out["method"], out["metric"], out["variant"], strict=True)]  # fmt: skip
    save_csv(csv, out)
    claims = []
    if mode == "cascading":
        claims = [accuracy_claim(load_json(metrics), model)] if metrics else []
        claims += final_claims(table, null_table, result, methods, margin)
        claims += ig_background_claim(result, model)
        if metrics is None:  # the ImageNet tier
            claims = tier_claims(claims, random_weights=random_weights)
    last = table[(table["step"] == table["step"].max()) & (table["metric"] == "spearman")]
    measured = "; ".join(
        f"{labels[m]}: {_value(table, m, 'spearman', 'abs', int(table['step'].max())):.2f} "
        f"(null {_value(null_table, m, 'spearman', 'abs', 1):.2f})"
        for m in dict.fromkeys(last["method"])
    )
    head = ("Mean Spearman |map| after full randomisation (null: two untrained copies) - "
            if mode == "cascading" else f"Mean Spearman |map| with only '{steps[-1]}' randomised"
            " (null: two untrained copies) - ")  # fmt: skip
    failed = [c.id.split(".", 3)[-1] for c in claims if c.kind == "empirical" and c.holds is False]
    if mode == "cascading":
        measured += (
            ". Not reproduced (against the null): " + ", ".join(failed) + "."
            if failed
            else ". Every stated expectation holds against its null."
        )
    n_nan = int(table["n_nan"].sum())
    details = (f"{_mode_text(mode).capitalize()}. Class explained at each step: "
               f"{explained.replace('_', ' ')}. Methods: {settings_text(result)}. NaN values "
               f"(constant maps): {n_nan} in total. Untrained copies seeded "
               f"{', '.join(str(int(s)) for s in nul['seeds'])}. Top-1 test-bed accuracy per "
               f"step: {_accuracy_text(result)}.")  # fmt: skip
    write_entry(entry, doc=DOC, name=Path(entry).stem, details=details,
                measured=head + measured, files=[png, pdf, csv], claims=claims)  # fmt: skip
    return claims


# --- the grids (Fig. 1, Figs. 4-9) -----------------------------------------------------------


def grid_table(result: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Numbers behind the grid: per step and method, the test-bed accuracy, the class explained
    for the shown image and the Spearman (|map|, signed) of its map with the original map."""
    pos = int(result["grid_position"])
    maps = result["maps"][:, :, pos]
    rows = []
    for s, step in enumerate(result["steps"]):
        for m, method in enumerate(result["methods"]):
            a, b = maps[0, m][None], maps[s, m][None]
            rows.append({"step": s, "layer": str(step), "method": str(method),
                         "label": str(result["labels"][m]),
                         "testbed_accuracy": float(result["accuracy"][s]),
                         "explained_class": int(result["targets"][s, pos]),
                         "spearman_abs": float(similarity.spearman(a, b, absolute=True)[0]),
                         "spearman_signed": float(similarity.spearman(a, b, absolute=False)[0]),
                         "max_abs": float(np.abs(maps[s, m]).max())})  # fmt: skip
    return pd.DataFrame(rows)


@figure(DOC, "{order}_grid_{model}", caption="{order}_grid",
        over={"order": ORDERS, "model": C("adebayo2018.models")},
        inputs={"maps": Result("adebayo2018/{order}_maps_{model}")})  # fmt: skip
@figure(DOC, "{order}_grid_inception_v3", caption="{order}_grid_imagenet", over={"order": ORDERS},
        when=imagenet_on, fields=imagenet_fields,
        inputs={"maps": Result("adebayo2018/{order}_maps_inception_v3")})  # fmt: skip
def grid_figure(*, maps, png, pdf, csv, entry) -> pd.DataFrame:
    """Fig. 1 / Figs. 4-9: the maps of the shown inputs (rows: methods, one block of rows per
    input) after each randomisation step (columns): |map| clipped at its 99th percentile
    (grey), and, for a single input, the signed map (red/blue) beside it. The reference methods
    are on the curves, not in the grid."""
    result = load_npz(maps)
    model, mode, explained = _what(result)
    pos = int(result["grid_position"])
    images = np.asarray(result["image"])
    n_show = len(images) if images.ndim in (3, 4) and "grid_images" in result else 1
    images = images if n_show > 1 or images.ndim in (3, 4) else images[None]
    positions = list(range(pos, pos + n_show))
    views = (show_absolute, show_signed) if n_show == 1 else (show_absolute,)
    shown = [m for m, n in enumerate(result["names"]) if str(n) not in REFERENCES]
    n_steps = len(result["steps"])
    titles = _step_titles(result)
    plt = pyplot()
    cols = 1 + len(views) * n_steps
    rows = n_show * len(shown)
    fig, axes = plt.subplots(rows, cols, figsize=(0.78 * cols + 1.3, 0.82 * rows + 1.0),
                             squeeze=False)  # fmt: skip
    for b, p in enumerate(positions):
        grid = result["maps"][:, shown, p]  # (S, M, C, H, W)
        for m in range(len(shown)):
            r = b * len(shown) + m
            label = str(result["labels"][shown[m]])
            if m == 0:
                show_input(axes[r, 0], images[b], "input" if r == 0 else "")
                row_label(axes[r, 0], label)
            else:
                label_cell(axes[r, 0], label)
            for v, show in enumerate(views):
                for s in range(n_steps):
                    show(axes[r, 1 + v * n_steps + s], grid[s, m], titles[s] if r == 0 else "")
    if len(views) == 2:
        fig.text(0.33, 1.0, "|map|, clipped at the 99th percentile", ha="center", va="bottom")
        fig.text(0.78, 1.0, "signed map (red +, blue -)", ha="center", va="bottom")
    fig.tight_layout(pad=0.3)
    save(fig, png, pdf)
    table = grid_table(result)
    table.insert(0, "model", model)
    save_csv(csv, table)
    label = int(result["true_labels"][pos])
    final = table[table["step"] == table["step"].max()]
    write_entry(
        entry, doc=DOC, name=Path(entry).stem, files=[png, pdf, csv],
        details=(f"Test-bed image(s) {', '.join(str(p) for p in positions)} (first: test "
                 f"index {result['indices'][pos]}, label {label}); {_mode_text(mode)}; class "
                 f"explained: {explained.replace('_', ' ')}; weights: "
                 f"{_str(result.get('weights', 'trained checkpoint'))}. Methods: "
                 f"{settings_text(result)}."),
        measured="Spearman (|map|) of the first image's map with the original, last step - "
        + ", ".join(f"{r.label}: {r.spearman_abs:.2f}" for r in final.itertuples())
        + f". Accuracy per step: {_accuracy_text(result)}.",
    )  # fmt: skip
    return table
