"""samek2020 figures (Samek & Montavon 2020 tutorial, Part 2: methods for explaining DNNs).

Each function draws from the ``.npz`` of its experiment (:mod:`saliency_sanity.experiments.
samek2020`; ``shattered_table`` samples the analytic functions of :mod:`saliency_sanity.
shattered`) and writes png, pdf, the numbers as csv and the gallery entry. The fixed text of each
figure is in ``workflow/report/samek2020/<name>.rst``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from saliency_sanity import shattered
from saliency_sanity.catalogue import C, Result, figure, imagenet_fields, imagenet_on
from saliency_sanity.figures._panels import (
    method_label,
    method_legend,
    row_label,
    show_input,
    show_signed,
)
from saliency_sanity.figures._plot import pyplot, save
from saliency_sanity.io import load_npz, save_csv
from saliency_sanity.report import Claim, tier_claims, write_entry

DOC = "samek2020"
#: "~0": a relative difference below this is float32 rounding (and the LRP stabiliser)
NEAR_ZERO = 1e-3
#: "clearly non-zero": a relative difference above this is a real difference between maps
CLEARLY_NONZERO = 1e-2
#: the 1/sqrt(T) law holds when the fitted log-log slope is within this of -0.5
SLOPE_TOLERANCE = 0.1


def _entry(entry, name, files, details, measured, claims=()):
    write_entry(entry, doc=DOC, name=name, details=details, measured=measured, files=files,
                claims=claims)  # fmt: skip


def _name(entry) -> str:
    """The figure's name, from its entry's path (``.../<doc>/<name>.json``): one function
    draws the MNIST figure and its ImageNet twin (``<name>_vgg16``)."""
    from pathlib import Path

    return Path(entry).stem


def _claim(id_, name, kind, claim, measured, rule, why, null=None, on_failure="") -> Claim:
    return Claim(f"{DOC}.{id_}", DOC, f"{DOC}/{name}", kind, claim, float(measured), rule, why,
                 null, on_failure)  # fmt: skip


def _grid(rows: list[tuple[str, np.ndarray]], x: np.ndarray, titles: list[str]):
    """Inputs in the first row, then one row of signed maps per (label, maps (N, H, W))."""
    plt = pyplot()
    n = len(x)
    fig, axes = plt.subplots(len(rows) + 1, n, figsize=(1.1 * n + 1.2, 1.1 * (len(rows) + 1)),
                             squeeze=False)  # fmt: skip
    for j in range(n):
        show_input(axes[0, j], x[j], titles[j])
        for i, (_, maps) in enumerate(rows, start=1):
            show_signed(axes[i, j], maps[j])
    row_label(axes[0, 0], "input")
    for i, (label, _) in enumerate(rows, start=1):
        row_label(axes[i, 0], label)
    fig.tight_layout(pad=0.3, h_pad=0.3, w_pad=0.2)
    return fig


def _titles(d) -> list[str]:
    return [f"label {lab}\npred {p}" for lab, p in zip(d["labels"], d["predicted"], strict=False)]


# ---------------------------------------------------------------------------------------------
@figure(DOC, "linear_model", inputs={"results": Result("samek2020/linear_model")})
def linear_model(*, results, png, pdf, csv, entry) -> None:
    """R_i = w_ci x_i of the softmax-regression model, and its weights per class."""
    d = load_npz(results)
    n = len(d["x"])
    plt = pyplot()
    cols = max(n, 10)
    fig, axes = plt.subplots(3, cols, figsize=(1.0 * cols, 3.6), squeeze=False)
    titles = _titles(d)
    for j in range(cols):
        if j < n:
            show_input(axes[0, j], d["x"][j], titles[j])
            show_signed(axes[1, j], d["maps"][j], f"R = w x\nclass {d['predicted'][j]}")
        else:
            axes[0, j].axis("off")
            axes[1, j].axis("off")
        if j < 10:
            show_signed(axes[2, j], d["weights"][j], f"w, class {j}")
        else:
            axes[2, j].axis("off")
    fig.tight_layout(pad=0.3)
    save(fig, png, pdf)
    logits = d["logits"][np.arange(n), d["predicted"]]
    table = pd.DataFrame({"test_index": d["indices"], "label": d["labels"][:n],
                          "predicted": d["predicted"], "logit": logits,
                          "sum_R_plus_bias": d["sum_plus_bias"],
                          "linear_minus_gi": d["linear_minus_gi"]})  # fmt: skip
    save_csv(csv, table)
    gap = float(np.max(np.abs(d["sum_plus_bias"] - logits)))
    _entry(entry, "linear_model", [png, pdf, csv], f"{n} test-bed digits.",
           f"max |Σ_i R_i + b_c - f_c(x)| = {gap:.2e}; max relative difference of R and "
           f"Gradient x Input: {float(np.nanmax(d['linear_minus_gi'])):.2e}.")  # fmt: skip


# ---------------------------------------------------------------------------------------------
FILL_LABELS = {"zero": "0 (black)", "test_mean": "test mean", "image_mean": "image mean"}


@figure(DOC, "occlusion", inputs={"results": Result("samek2020/occlusion")})
def occlusion(*, results, png, pdf, csv, entry) -> None:
    """Occlusion maps for each patch size and fill."""
    d = load_npz(results)
    rows, records = [], []
    for i, patch in enumerate(d["patches"]):
        for j, fill in enumerate(d["fills"]):
            maps = d["maps"][i, j]
            rows.append((f"{patch}x{patch}, {FILL_LABELS.get(str(fill), fill)}", maps))
            for k in range(len(maps)):
                records.append({"patch": int(patch), "fill": str(fill),
                                "fill_value": float(d["fill_values"][j]),
                                "test_index": d["indices"][k].item(),  # int (MNIST) or image id
                                "sum": float(maps[k].sum()),
                                "max_abs": float(np.abs(maps[k]).max())})  # fmt: skip
    fig = _grid(rows, d["x"], _titles(d))
    save(fig, png, pdf)
    table = pd.DataFrame(records)
    save_csv(csv, table)
    stride = int(d["stride"])
    peaks = table.groupby(["patch", "fill"])["max_abs"].mean()
    fills = [str(f) for f in d["fills"]]
    mean = (f"; the test-set mean pixel value is {d['fill_values'][fills.index('test_mean')]:.3f}"
            if "test_mean" in fills else "")  # fmt: skip
    _entry(
        entry, _name(entry), [png, pdf, csv],
        f"Patches of {', '.join(f'{p}x{p}' for p in d['patches'])} pixels moved by "
        f"{'the patch size' if stride < 0 else stride}{mean}; {len(d['x'])} test-bed images.",
        "mean peak |R| per patch size and fill: "
        + ", ".join(f"{p}x{p} {f}: {v:.3g}" for (p, f), v in peaks.items()) + ".",
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
@figure(DOC, "ig_equals_gi", inputs={"results": Result("samek2020/ig_equals_gi")},
        params={"default_steps": C("samek2020.ig_equals_gi.default_steps")})  # fmt: skip
def ig_equals_gi(*, results, default_steps: int, png, pdf, csv, entry) -> None:
    """max |IG - GI| / max |GI| vs number of steps, bias-free and biased net."""
    d = load_npz(results)
    models, steps = [str(m) for m in d["models"]], d["steps"]
    records = [{"model": m, "steps": int(s),
                "max_rel_diff": float(np.nanmax(d["rel_diff"][i, j])),
                "mean_rel_diff": float(np.nanmean(d["rel_diff"][i, j])),
                "mean_completeness_error": float(np.nanmean(d["completeness"][i, j]))}
               for i, m in enumerate(models) for j, s in enumerate(steps)]  # fmt: skip
    table = pd.DataFrame(records)
    save_csv(csv, table)
    plt = pyplot()
    fig, axes = plt.subplots(1, 1 + 2 * len(models), figsize=(3.4 + 1.5 * 2 * len(models), 2.7),
                             width_ratios=[2.5] + [1] * (2 * len(models)))  # fmt: skip
    ax = axes[0]
    for m in models:
        sub = table[table["model"] == m]
        ax.plot(sub["steps"], np.maximum(sub["max_rel_diff"], 1e-12), marker="o", label=m)
    ax.set(xscale="log", yscale="log", xlabel="IG steps", ylabel="max |IG - GI| / max |GI|")
    ax.axhline(NEAR_ZERO, color="gray", ls=":", lw=0.8)
    ax.legend(fontsize=6)
    for i, m in enumerate(models):
        show_signed(axes[1 + 2 * i], d["gi_example"][i], f"{m}\nGI")
        show_signed(axes[2 + 2 * i], d["ig_example"][i], f"{m}\nIG ({int(steps[-1])} steps)")
    fig.tight_layout(pad=0.4)
    save(fig, png, pdf)
    at = table[table["steps"] == default_steps].set_index("model")["max_rel_diff"]
    bias_free, biased = models[0], models[1]
    claims = [
        _claim("ig_minus_gi.bias_free", "ig_equals_gi", "identity",
               f"IG (zero baseline, {default_steps} steps) equals Gradient x Input on a "
               f"positively homogeneous (bias-free ReLU) net ({bias_free}); tutorial, proposition",
               at[bias_free], f"measured < {NEAR_ZERO:g}", "~0: an identity for any steps"),
        _claim("ig_minus_gi.biased", "ig_equals_gi", "empirical",
               f"with biases ({biased}) IG and Gradient x Input differ; tutorial, proposition",
               at[biased], f"measured > {CLEARLY_NONZERO:g}", "clearly non-zero",
               on_failure=f"genuine: IG and GI agree to {at[biased]:.2g} on the biased net, "
               "so its biases barely matter on these inputs"),
    ]  # fmt: skip
    n = d["rel_diff"].shape[-1]
    _entry(entry, "ig_equals_gi", [png, pdf, csv],
           f"Maximum over the first {n} test-bed images; dotted line: {NEAR_ZERO:g}; the claims "
           f"are read at {default_steps} steps.",
           "; ".join(f"{m} at {default_steps} steps: {at[m]:.3g}" for m in models)
           + f" (over {n} images).", claims)  # fmt: skip


# ---------------------------------------------------------------------------------------------
@figure(DOC, "gradient_input_practice",
        inputs={"results": Result("samek2020/gradient_input_practice")})  # fmt: skip
def gradient_input_practice(*, results, png, pdf, csv, entry) -> None:
    """Signed Gradient x Input maps of the CNN and the share of positive/negative scores."""
    d = load_npz(results)
    n = len(d["x"])
    plt = pyplot()
    fig, axes = plt.subplots(2, n + 1, figsize=(1.2 * n + 3.0, 2.8), squeeze=False,
                             width_ratios=[1] * n + [2.4])  # fmt: skip
    titles = _titles({"labels": d["labels"][:n], "predicted": d["predicted"][:n]})
    for j in range(n):
        show_input(axes[0, j], d["x"][j], titles[j])
        show_signed(axes[1, j], d["maps"][j])
    gs = axes[0, n].get_gridspec()
    axes[0, n].remove()
    axes[1, n].remove()
    ax = fig.add_subplot(gs[:, n])
    ax.hist([d["frac_positive_on"], d["frac_negative_on"]], bins=20, color=["red", "blue"],
            label=["positive", "negative"])  # fmt: skip
    ax.set(xlabel="fraction of scores\n(pixels with x ≠ 0)", ylabel="images")
    ax.yaxis.tick_right()
    ax.yaxis.set_label_position("right")
    ax.legend(fontsize=6)
    fig.tight_layout(pad=0.4)
    save(fig, png, pdf)
    table = pd.DataFrame({k: d[k] for k in ("indices", "labels", "predicted", "frac_positive",
                          "frac_negative", "frac_zero", "frac_positive_on", "frac_negative_on",
                          "positive_mass")}).rename(columns={"indices": "test_index"})  # fmt: skip
    save_csv(csv, table)
    pos, neg = float(d["frac_positive_on"].mean()), float(d["frac_negative_on"].mean())
    _entry(entry, _name(entry), [png, pdf, csv],
           f"Histogram over the {len(d['frac_positive'])} test-bed images.",
           f"over the test-bed, pixels with x ≠ 0: {pos:.1%} positive and {neg:.1%} negative "
           f"scores on average; positive share of the total |R| mass "
           f"{float(d['positive_mass'].mean()):.1%}.")  # fmt: skip


# ---------------------------------------------------------------------------------------------
CURVES = {"function": "logit f_c", "grad_pixel": "∂f_c/∂x_p",
          "grad_norm": "‖∇f_c‖", "directional": "∇f_c · (x1 - x0)"}  # fmt: skip


@figure(DOC, "shattered_gradients", inputs={"results": Result("samek2020/shattered_gradients")})
def shattered_gradients(*, results, png, pdf, csv, entry) -> None:
    """Function and gradient along the straight path between two test digits."""
    d = load_npz(results)
    models, t = [str(m) for m in d["models"]], d["t"]
    records = []
    for i, m in enumerate(models):
        for p in range(d["function"].shape[1]):
            row = {"model": m, "pair": p, "points": len(t),
                   "start_index": int(d["classes"][i, p, 2]),
                   "end_index": int(d["classes"][i, p, 3]), "class": int(d["classes"][i, p, 0]),
                   "pixel": int(d["pixel"][i, p]),
                   "min_neighbour_cosine": float(d["cosine"][i, p].min())}  # fmt: skip
            for key in CURVES:
                row[f"tv_{key}"] = shattered.normalised_total_variation(d[key][i, p])
            records.append(row)
    table = pd.DataFrame(records)
    save_csv(csv, table)
    plt = pyplot()
    fig, axes = plt.subplots(len(models), len(CURVES) + 1, figsize=(13, 2.9 * len(models)),
                             squeeze=False)  # fmt: skip
    for i, m in enumerate(models):
        for j, (key, label) in enumerate(CURVES.items()):
            ax = axes[i, j]
            ax.plot(t, d[key][i, 0], lw=0.6)
            tv = shattered.normalised_total_variation(d[key][i, 0])
            ax.set_title(f"{m}: {label}\nnormalised TV {tv:.3g}", fontsize=7)
            ax.set_xlabel("t")
        ax = axes[i, -1]
        ax.plot(t[1:], d["cosine"][i, 0], lw=0.6)
        ax.set_title(f"{m}: cos(∇f(t), ∇f(t - Δt))", fontsize=7)
        ax.set_xlabel("t")
    fig.tight_layout(pad=0.4, h_pad=1.0)
    save(fig, png, pdf)
    means = table.groupby("model")[[f"tv_{k}" for k in CURVES]].mean()
    _entry(
        entry, _name(entry), [png, pdf, csv],
        f"{len(t)} points per path; {d['function'].shape[1]} pair(s) per model (the first shown).",
        "; ".join(f"{m}: normalised TV of f_c {means.loc[m, 'tv_function']:.3g}, of the pixel "
                  f"gradient {means.loc[m, 'tv_grad_pixel']:.3g}, of the gradient norm "
                  f"{means.loc[m, 'tv_grad_norm']:.3g}" for m in models) + " (mean over pairs).",
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
@figure(
    DOC,
    "shattered_table",
    params={
        "depth": C("samek2020.shattered_table.depth"),
        "grid": C("samek2020.shattered_table.grid"),
    },
)
def shattered_table(*, depth: int, grid: int, png, pdf, csv, entry) -> None:
    """g = 2 ReLU(x) - 4 ReLU(x - 0.5) composed k = 1..depth times: plots and table."""
    rows = shattered.table(depth, grid)
    table = pd.DataFrame(rows)
    table["paper"] = [2 ** r["k"] for r in rows]
    save_csv(csv, table)
    plt = pyplot()
    fig, axes = plt.subplots(1, depth + 1, figsize=(2.3 * (depth + 1), 2.4),
                             width_ratios=[1] * depth + [1.9])  # fmt: skip
    x = np.linspace(0, 1, grid)
    for k in range(1, depth + 1):
        axes[k - 1].plot(x, shattered.compose(shattered.tent, k)(x), lw=0.8)
        axes[k - 1].set(title=f"g composed {k}x", xlabel="x", ylim=(-0.05, 1.05))
    axes[-1].axis("off")
    cells = [[r["k"], f"[{r['output_min']:.3g}, {r['output_max']:.3g}]", f"{r['max_slope']:.4g}",
              r["pieces"]] for r in rows]  # fmt: skip
    tab = axes[-1].table(cellText=cells, colLabels=["k", "range", "max slope", "pieces"],
                         loc="center")  # fmt: skip
    tab.auto_set_font_size(False)
    tab.set_fontsize(7)
    fig.tight_layout(pad=0.4)
    save(fig, png, pdf)
    claims = []
    for r in rows:
        k, expected = r["k"], 2 ** r["k"]
        claims += [
            _claim(f"shattered.max_slope.{k}", "shattered_table", "identity",
                   f"g composed {k} times has max slope 2^{k}", r["max_slope"],
                   f"|measured - {expected}| < {1e-6 * expected:g}", f"2^{k}, analytic"),
            _claim(f"shattered.pieces.{k}", "shattered_table", "identity",
                   f"g composed {k} times has 2^{k} linear pieces on [0,1]", r["pieces"],
                   f"measured == {expected}", f"2^{k}, analytic"),
        ]  # fmt: skip
    _entry(entry, "shattered_table", [png, pdf, csv], f"[0, 1] sampled at {grid} points.",
           "; ".join(f"k={r['k']}: range [{r['output_min']:.3g}, {r['output_max']:.3g}], max "
                     f"slope {r['max_slope']:.4g}, {r['pieces']} pieces" for r in rows) + ".",
           claims)  # fmt: skip


# ---------------------------------------------------------------------------------------------
def noise_slope(samples: np.ndarray, noise: np.ndarray) -> float:
    """Least-squares slope of log(noise) against log(T)."""
    return float(np.polyfit(np.log(samples), np.log(noise), 1)[0])


@figure(DOC, "smoothgrad", inputs={"results": Result("samek2020/smoothgrad")})
def smoothgrad(*, results, png, pdf, csv, entry, random_weights: bool | None = None) -> None:
    """``random_weights`` is None on MNIST; on the ImageNet tier (VGG-16) the claim gets the
    model's suffix and, with random weights, is a ``beyond`` smoke check."""
    """Smooth GI vs GI maps, and explanation noise vs the number of samples T."""
    d = load_npz(results)
    display, images, seeds, ref_samples, noise = d["settings"]
    samples, std = d["samples"].astype(float), d["noise_std"]
    ref = d["noise_ref"]
    slope = noise_slope(samples, std)
    reference_line = std[0] * np.sqrt(samples[0] / samples)
    table = pd.DataFrame({"T": samples.astype(int), "noise_std_over_seeds": std,
                          "distance_to_reference_mean": ref.mean(1),
                          "distance_to_reference_std": ref.std(1),
                          "one_over_sqrt_T_line": reference_line})  # fmt: skip
    save_csv(csv, table)
    plt = pyplot()
    n = len(d["x"])
    fig, axes = plt.subplots(3, n + 1, figsize=(1.2 * n + 3.6, 3.9), squeeze=False,
                             width_ratios=[1] * n + [3.0])  # fmt: skip
    for j in range(n):
        show_input(axes[0, j], d["x"][j], f"label {d['labels'][j]}\npred {d['predicted'][j]}")
        show_signed(axes[1, j], d["gi"][j])
        show_signed(axes[2, j], d["smooth_gi"][j])
    row_label(axes[1, 0], method_label("gradient_input"))
    row_label(axes[2, 0], method_label("smoothgrad", f"T={int(display)}", base="gradient_input"))
    gs = axes[0, n].get_gridspec()
    for i in range(3):
        axes[i, n].remove()
    ax = fig.add_subplot(gs[:, n])
    ax.plot(samples, std, marker="o", label=f"std over {int(seeds)} seeds\n(slope {slope:.2f})")
    ax.errorbar(samples, ref.mean(1), yerr=ref.std(1), marker="s", ms=3, capsize=2,
                label=f"distance to T={int(ref_samples)}")  # fmt: skip
    ax.plot(samples, reference_line, "k--", lw=0.8, label="∝ 1/sqrt(T)")
    ax.set(xscale="log", yscale="log", xlabel="samples T", ylabel="noise / ‖reference‖")
    ax.yaxis.tick_right()  # keep the tick labels off the map grid
    ax.yaxis.set_label_position("right")
    ax.legend(fontsize=6)
    fig.tight_layout(pad=0.4)
    save(fig, png, pdf)
    claim = _claim("smoothgrad.noise_slope", _name(entry), "identity",
                   "the noise of the T-sample SmoothGrad estimate falls like 1/sqrt(T) "
                   "(a Monte-Carlo mean of independent draws)", slope,
                   f"|measured - -0.5| < {SLOPE_TOLERANCE:g}",
                   "log-log slope -0.5, by construction of the estimator")  # fmt: skip
    if random_weights is not None:
        (claim,) = tier_claims([claim], suffix=".vgg16", random_weights=random_weights)
    _entry(entry, _name(entry), [png, pdf, csv],
           f"T = {int(display)} samples for the maps, sigma = {noise:g} x (max - min) of the "
           f"input; noise over {int(images)} test-bed images, {int(seeds)} seeds, reference "
           f"T = {int(ref_samples)}.",
           f"fitted log-log slope of the noise (std over seeds) vs T: {slope:.3f} "
           "(expected -0.5).", [claim])  # fmt: skip


# ---------------------------------------------------------------------------------------------
def _maps_table(d) -> pd.DataFrame:
    n = len(d["x"])
    logits = d["logits"][np.arange(n), d["predicted"]]
    return pd.DataFrame([
        {"method": str(m), "test_index": d["indices"][j].item(), "label": int(d["labels"][j]),
         "predicted": int(d["predicted"][j]), "logit": float(logits[j]),
         "sum": float(d["sums"][i, j]), "sum_over_logit": float(d["sums"][i, j] / logits[j]),
         "max_abs": float(np.abs(d["maps"][i, j]).max()),
         "frac_positive": float((d["maps"][i, j] > 0).mean()),
         "frac_negative": float((d["maps"][i, j] < 0).mean())}
        for i, m in enumerate(d["methods"]) for j in range(n)
    ])  # fmt: skip


def _maps_figure(results, png, pdf, csv):
    d = load_npz(results)
    rows = [(method_label(str(m)), d["maps"][i]) for i, m in enumerate(d["methods"])]
    fig = _grid(rows, d["x"], _titles(d))
    save(fig, png, pdf)
    table = _maps_table(d)
    save_csv(csv, table)
    return d, table


def _method_list(d) -> str:
    return method_legend(d["methods"])


@figure(DOC, "deconvnet", inputs={"results": Result("samek2020/deconvnet")})
def deconvnet(*, results, png, pdf, csv, entry) -> None:
    d, table = _maps_figure(results, png, pdf, csv)
    pos = table.groupby("method")["frac_positive"].mean()
    _entry(entry, _name(entry), [png, pdf, csv],
           f"First {len(d['x'])} test-bed images; rows: {_method_list(d)}.",
           "fraction of positive pixels, mean over images: "
           + ", ".join(f"{m} {pos[m]:.2f}" for m in pos.index) + ".")  # fmt: skip


@figure(DOC, "lrp_rules", inputs={"results": Result("samek2020/lrp_rules")})
def lrp_rules(*, results, png, pdf, csv, entry) -> None:
    d, table = _maps_figure(results, png, pdf, csv)
    cons = table.groupby("method")["sum_over_logit"].mean()
    _entry(entry, _name(entry), [png, pdf, csv],
           f"First {len(d['x'])} test-bed images; rows: {_method_list(d)}.",
           "relevance conservation Σ_i R_i / f_c(x), mean over images: "
           + ", ".join(f"{m} {cons[m]:.3g}" for m in cons.index) + ".")  # fmt: skip


@figure(DOC, "other_methods", inputs={"results": Result("samek2020/other_methods")},
        params={"settings": C("samek2020.other_methods.methods")})  # fmt: skip
def other_methods(*, results, settings: dict, png, pdf, csv, entry) -> None:
    d, table = _maps_figure(results, png, pdf, csv)
    cons = table.groupby("method")["sum_over_logit"].mean()
    desc = "; ".join(f"{m}: {', '.join(f'{k}={v}' for k, v in (p or {}).items()) or 'defaults'}"
                     for m, p in settings.items())  # fmt: skip
    _entry(entry, "other_methods", [png, pdf, csv],
           f"First {len(d['x'])} test-bed images; rows: {_method_list(d)}. Settings: {desc}.",
           "sum of the map over the logit, mean over images: "
           + ", ".join(f"{m} {cons[m]:.3g}" for m in cons.index) + ".")  # fmt: skip


# ---------------------------------------------------------------------------------------------
PAIR_LABELS = {
    "lrp_0 vs gradient_input": "LRP-0 vs GI",
    "lrp_0_default vs gradient_input": "LRP-0 (stab. 1e-6) vs GI",
    "integrated_gradients vs gradient_input": "IG (zero) vs GI",
    "deep_taylor vs lrp_0": "DTD (zero root) vs LRP-0",
}


@figure(DOC, "method_connections", inputs={"results": Result("samek2020/method_connections")},
        params={"homogeneous": C("samek2020.ig_equals_gi.bias_free")})  # fmt: skip
def method_connections(*, results, homogeneous: str, png, pdf, csv, entry) -> None:
    d = load_npz(results)
    models, pairs = [str(m) for m in d["models"]], [str(p) for p in d["pairs"]]
    records = [{"model": m, "comparison": PAIR_LABELS.get(p, p),
                "max_rel_diff": float(np.nanmax(d["rel_diff"][i, j])),
                "mean_rel_diff": float(np.nanmean(d["rel_diff"][i, j])),
                "mean_lrp0_conservation": float(np.nanmean(d["lrp0_conservation"][i]))}
               for i, m in enumerate(models) for j, p in enumerate(pairs)]  # fmt: skip
    table = pd.DataFrame(records)
    save_csv(csv, table)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 0.3 * len(records) + 0.8))
    ax.axis("off")
    cells = [[r["model"], r["comparison"], f"{r['max_rel_diff']:.2e}", f"{r['mean_rel_diff']:.2e}"]
             for r in records]  # fmt: skip
    columns = ["model", "comparison", "max rel. diff", "mean rel. diff"]
    tab = ax.table(cellText=cells, loc="center", colLabels=columns)
    tab.auto_set_font_size(False)
    tab.set_fontsize(7)
    tab.scale(1, 1.2)
    save(fig, png, pdf)
    i = models.index(homogeneous)
    lrp0 = float(np.nanmax(d["rel_diff"][i, pairs.index("lrp_0 vs gradient_input")]))
    n = d["rel_diff"].shape[-1]
    stab = float(d["stabilizer"])
    claim = _claim("lrp0_minus_gi", "method_connections", "identity",
                   f"LRP-0 equals Gradient x Input on a bias-free ReLU net ({homogeneous})", lrp0,
                   f"measured < {NEAR_ZERO:g}", "~0: an identity on ReLU nets")  # fmt: skip
    _entry(entry, "method_connections", [png, pdf, csv],
           f"First {n} test-bed images; LRP-0 and Deep Taylor with stabiliser {stab:g}.",
           "; ".join(f"{r['model']}: {r['comparison']} {r['max_rel_diff']:.2e}" for r in records)
           + ".", [claim])  # fmt: skip


# --- the ImageNet tier: the same figures on VGG-16 ----------------------------------------------

for _name_, _fn in (("occlusion", occlusion), ("gradient_input_practice", gradient_input_practice),
                    ("shattered_gradients", shattered_gradients), ("smoothgrad", smoothgrad),
                    ("deconvnet", deconvnet), ("lrp_rules", lrp_rules)):  # fmt: skip
    figure(
        DOC,
        f"{_name_}_vgg16",
        when=imagenet_on,
        fields=imagenet_fields,
        inputs={"results": Result(f"samek2020/{_name_}_vgg16")},
        params=(
            (lambda cfg: {"random_weights": cfg["imagenet"]["weights"] is None})
            if _fn is smoothgrad
            else None
        ),
    )(_fn)
