"""adebayo2018 figures (model parameter randomisation test): the grids of maps after each
randomisation step (Fig. 1, Figs. 4-9) and the similarity curves (Figs. 2 and 3). Drawn from the
saved results of :mod:`saliency_sanity.experiments.adebayo2018`; nothing is computed here but
the per-image Spearman values of the grid's own image."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from saliency_sanity import similarity, viz
from saliency_sanity.figures._plot import pyplot, save
from saliency_sanity.io import save_csv
from saliency_sanity.report import Claim, write_entry

DOC = "adebayo2018"
STATEMENT = (
    "Explanations of networks whose weights were re-initialised (cascading from the logits down, "
    "or one layer at a time) should differ from those of the trained network. Gradient, "
    "SmoothGrad/VarGrad of the gradient, GradCAM and Guided GradCAM change under randomisation "
    "(low rank correlation with the original map), while Guided Backprop and Integrated "
    "Gradients (and their SG/VG variants) on |map| stay visually and quantitatively similar: "
    "they are insensitive to the model parameters (Sec. 3, Figs. 1-3; NeurIPS version Sec. 4)."
)
#: (metric, variant) -> panel title of the rank figure
PANELS = {
    ("spearman", "abs"): "Spearman rank correlation, |map|",
    ("spearman", "signed"): "Spearman rank correlation, signed map",
    ("ssim", "abs"): "SSIM, |map|",
    ("hog", "abs"): "HOG similarity, |map|",
}


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


def _mode_text(mode: str) -> str:
    if mode == "cascading":
        return "cascading randomisation (layers re-initialised cumulatively from the logits down)"
    return "independent randomisation (each layer re-initialised alone, the others trained)"


def final_rank_claims(
    table: pd.DataFrame,
    result: Mapping[str, np.ndarray],
    methods: Mapping[str, Mapping[str, Any]],
    threshold: float,
) -> list[Claim]:
    """``adebayo2018.final_rank.<model>.<method>.<abs|signed>``: mean Spearman between the
    original and the fully randomised maps (the last cascading step), with the paper's
    expectation: sensitive = |mean| < threshold, insensitive = mean >= threshold."""
    model, mode, _ = _what(result)
    last = int(table["step"].max())
    claims = []
    for method in result["methods"]:
        method = str(method)
        spec = methods.get(method, {})
        for variant in ("abs", "signed"):
            row = table[
                (table["step"] == last)
                & (table["method"] == method)
                & (table["metric"] == "spearman")
                & (table["variant"] == variant)
            ]
            value = float(row["mean"].iloc[0]) if len(row) else float("nan")
            expected = spec.get(f"expected_{variant}")
            if expected == "sensitive":
                text = f"sensitive: |mean| < {threshold:g}"
                holds = abs(value) < threshold if math.isfinite(value) else None
            elif expected == "insensitive":
                text = f"insensitive: mean >= {threshold:g}"
                holds = value >= threshold if math.isfinite(value) else None
            else:
                text = "not stated by the paper"
                holds = None
            view = "|map|" if variant == "abs" else "signed map"
            claims.append(
                Claim(
                    f"{DOC}.final_rank.{model}.{method}.{variant}",
                    DOC,
                    f"{DOC}/{mode}_rank_{model}",
                    f"{spec.get('label', method)} on the {model}: Spearman ({view}) between the "
                    "trained and the fully randomised model's maps",
                    value,
                    text,
                    holds,
                )
            )
    return claims


def rank_figure(
    result: Mapping[str, np.ndarray],
    table: pd.DataFrame,
    methods: Mapping[str, Mapping[str, Any]],
    threshold: float,
    png: str | Path,
    pdf: str | Path,
    csv: str | Path,
    entry: str | Path,
) -> list[Claim]:
    """Figs. 2 (cascading) and 3 (independent): similarity to the original map per step, one
    curve per method, mean ± 1 std over the test-bed images the method ran on."""
    model, mode, explained = _what(result)
    steps = [str(s) for s in result["steps"]]
    labels = dict(zip(result["methods"], result["labels"], strict=True))
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(9, 6.5), sharex=True)
    colors = plt.get_cmap("tab10")
    x = np.arange(len(steps))
    for ax, ((metric, variant), title) in zip(axes.ravel(), PANELS.items(), strict=True):
        for i, method in enumerate(result["methods"]):
            rows = table[
                (table["method"] == method)
                & (table["metric"] == metric)
                & (table["variant"] == variant)
            ].sort_values("step")
            if rows.empty:
                continue
            mean, std = rows["mean"].to_numpy(), rows["std"].to_numpy()
            style = "-o" if mode == "cascading" else "o--"
            ax.plot(x, mean, style, ms=3, lw=1.2, color=colors(i % 10), label=labels[method])
            ax.fill_between(x, mean - std, mean + std, color=colors(i % 10), alpha=0.12, lw=0)
        ax.axhline(0, color="0.6", lw=0.6)
        ax.set_title(title)
        ax.set_ylim(-1.05, 1.05)
        ax.set_xticks(x, steps, rotation=30, ha="right")
    axes[0, 0].set_ylabel("similarity to the original map")
    axes[1, 0].set_ylabel("similarity to the original map")
    axes[0, 1].legend(fontsize=6, loc="lower left", ncol=2)
    xlabel = (
        "randomised from the logits down to this layer"
        if mode == "cascading"
        else "layer randomised alone"
    )
    for ax in axes[1]:
        ax.set_xlabel(xlabel)
    fig.suptitle(f"{model}: {mode} randomisation, mean ± 1 std over the test-bed")
    fig.tight_layout()
    save(fig, png, pdf)
    out = table.copy()
    out.insert(0, "model", model)
    out["label"] = out["method"].map(labels)
    out["accuracy"] = out["step"].map(dict(enumerate(result["accuracy"])))
    save_csv(csv, out)
    claims = final_rank_claims(table, result, methods, threshold) if mode == "cascading" else []
    n_nan = int(table["n_nan"].sum())
    caption = (
        f"Similarity between the maps of the trained {model} and of the model after each step of "
        f"{_mode_text(mode)}, one curve per method, mean ± 1 std over the test-bed images (NaN "
        f"values - constant maps, e.g. an all-zero GradCAM - are left out: {n_nan} in total, "
        "per point in the CSV's n_nan). Spearman on |map| and on the signed map; SSIM on "
        "min-max-normalised |map| (Gaussian weights); HOG with 4x4-pixel cells (the original's "
        "16-pixel cells do not fit 28x28 maps), on fewer images for time (n per point in the "
        "CSV). The original step is 1 by construction. Class "
        f"explained at each step: {explained.replace('_', ' ')}. Methods (the noisy and path "
        f"methods on a subset of the test-bed, for the CPU budget): {settings_text(result)}. "
        f"Paper: 200 images, SG/VG 50 samples, IG 50 steps, IG-SG/VG 50 x 50. Top-1 test-bed "
        f"accuracy per step: {_accuracy_text(result)}."
    )
    if claims:
        caption += (
            f" Claims: sensitive = |mean Spearman| at the last step < {threshold:g}; "
            f"insensitive = mean >= {threshold:g}."
        )
    last = table[(table["step"] == table["step"].max()) & (table["metric"] == "spearman")]
    measured = "; ".join(
        f"{labels[m]}: {g.set_index('variant')['mean'].get('abs', np.nan):.2f} (|map|), "
        f"{g.set_index('variant')['mean'].get('signed', np.nan):.2f} (signed)"
        for m, g in last.groupby("method", sort=False)
    )
    if mode == "cascading":
        measured = "Mean Spearman after full randomisation - " + measured
        failed = [c.id.split(".", 3)[-1] for c in claims if c.holds is False]
        measured += (
            ". Does not reproduce the paper's expectation for: " + ", ".join(failed) + "."
            if failed
            else ". Every stated expectation holds."
        )
    else:
        measured = f"Mean Spearman with only '{steps[-1]}' randomised - " + measured + "."
    write_entry(
        entry,
        doc=DOC,
        name=f"{mode}_rank_{model}",
        title=f"{mode.capitalize()} randomisation: similarity curves ({model})",
        caption=caption,
        statement=STATEMENT,
        measured=measured,
        files=[png, pdf, csv],
        claims=claims,
    )
    return claims


def grid_table(result: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Numbers behind the grid: per step and method, the test-bed accuracy, the class explained
    for the shown image and the Spearman (|map|, signed) of its map with the original map."""
    pos = int(result["grid_position"])
    maps = result["maps"][:, :, pos]
    rows = []
    for s, step in enumerate(result["steps"]):
        for m, method in enumerate(result["methods"]):
            a, b = maps[0, m][None], maps[s, m][None]
            rows.append(
                {
                    "step": s,
                    "layer": str(step),
                    "method": str(method),
                    "label": str(result["labels"][m]),
                    "testbed_accuracy": float(result["accuracy"][s]),
                    "explained_class": int(result["targets"][s, pos]),
                    "spearman_abs": float(similarity.spearman(a, b, absolute=True)[0]),
                    "spearman_signed": float(similarity.spearman(a, b, absolute=False)[0]),
                    "max_abs": float(np.abs(maps[s, m]).max()),
                }
            )
    return pd.DataFrame(rows)


def grid_figure(
    result: Mapping[str, np.ndarray],
    png: str | Path,
    pdf: str | Path,
    csv: str | Path,
    entry: str | Path,
) -> pd.DataFrame:
    """Fig. 1 / Figs. 4-9: one input's maps (rows: methods) after each randomisation step
    (columns), |map| clipped at its 99th percentile (grey) beside the signed map (red/blue)."""
    model, mode, explained = _what(result)
    pos = int(result["grid_position"])
    maps = result["maps"][:, :, pos]  # (S, M, C, H, W)
    n_steps, n_methods = maps.shape[:2]
    titles = _step_titles(result)
    plt = pyplot()
    cols = 1 + 2 * n_steps
    fig, axes = plt.subplots(
        n_methods, cols, figsize=(0.75 * cols + 0.8, 0.8 * n_methods + 0.9), squeeze=False
    )
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    image = result.get("image")
    for m in range(n_methods):
        axes[m, 0].set_ylabel(str(result["labels"][m]), rotation=0, ha="right", va="center")
        absolute = viz.absolute_clip(maps[:, m])
        signed = viz.diverging(maps[:, m])
        for s in range(n_steps):
            axes[m, 1 + s].imshow(absolute[s], cmap="gray", vmin=0, vmax=1)
            axes[m, 1 + n_steps + s].imshow(signed[s], cmap="bwr", vmin=-1, vmax=1)
            if m == 0:
                axes[m, 1 + s].set_title(titles[s], fontsize=6)
                axes[m, 1 + n_steps + s].set_title(titles[s], fontsize=6)
    if image is not None:
        axes[0, 0].imshow(np.asarray(image).squeeze(), cmap="gray")
        axes[0, 0].set_title("input", fontsize=6)
    fig.text(0.35, 1.0, "|map|, clipped at the 99th percentile", ha="center", va="bottom")
    fig.text(0.78, 1.0, "signed map (red +, blue -)", ha="center", va="bottom")
    fig.tight_layout(pad=0.3)
    save(fig, png, pdf)
    table = grid_table(result)
    table.insert(0, "model", model)
    save_csv(csv, table)
    label = int(result["true_labels"][pos])
    final = table[table["step"] == table["step"].max()]
    write_entry(
        entry,
        doc=DOC,
        name=f"{mode}_grid_{model}",
        title=f"{mode.capitalize()} randomisation: maps of one input ({model})",
        caption=(
            f"Maps of test-bed image {pos} (MNIST test index {int(result['indices'][pos])}, "
            f"label {label}) for the trained {model} (first column) and after each step of "
            f"{_mode_text(mode)}; column titles give the top-1 accuracy on the "
            f"{len(result['true_labels'])}-image test-bed. Left: |map| divided by its 99th "
            "percentile and clipped to [0, 1]; right: the signed map divided by the 99th "
            "percentile of |map|, clipped to [-1, 1]. Each map is normalised on its own. Class "
            f"explained: {explained.replace('_', ' ')}. Methods: {settings_text(result)}."
        ),
        statement=STATEMENT,
        measured="Spearman (|map|) of this image's map with the original, last step - "
        + ", ".join(f"{r.label}: {r.spearman_abs:.2f}" for r in final.itertuples())
        + f". Accuracy per step: {_accuracy_text(result)}.",
        files=[png, pdf, csv],
    )
    return table
