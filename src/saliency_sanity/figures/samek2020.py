"""samek2020 figures (Samek & Montavon 2020 tutorial, Part 2: methods for explaining DNNs).

Each function draws from the ``.npz`` written by :mod:`saliency_sanity.experiments.samek2020`
(``shattered_table`` from the analytic functions of :mod:`saliency_sanity.shattered`) and writes
png, pdf, the numbers as csv and the gallery entry.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from saliency_sanity import shattered, viz
from saliency_sanity.figures._plot import pyplot, save
from saliency_sanity.io import load_npz, save_csv
from saliency_sanity.report import Claim, write_entry

DOC = "samek2020"
#: "~0": a relative difference below this is float32 rounding (and the LRP stabiliser)
NEAR_ZERO = 1e-3
#: "clearly non-zero": a relative difference above this is a real difference between maps
CLEARLY_NONZERO = 1e-2
#: the 1/sqrt(T) law holds when the fitted log-log slope is within this of -0.5
SLOPE_TOLERANCE = 0.1


def _entry(entry, name, files, title, caption, statement, measured, claims=()):
    write_entry(entry, doc=DOC, name=name, title=title, caption=caption, statement=statement,
                measured=measured, files=files, claims=claims)  # fmt: skip


def _claim(id_, name, claim, measured, expected, holds) -> Claim:
    return Claim(f"{DOC}.{id_}", DOC, f"{DOC}/{name}", claim, float(measured), expected,
                 bool(holds))  # fmt: skip


def _off(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def _show_input(ax, img, title=""):
    ax.imshow(img, cmap="gray", vmin=0, vmax=1)
    ax.set_title(title, fontsize=6)
    _off(ax)


def _show_signed(ax, m, title=""):
    ax.imshow(viz.diverging(m), cmap="bwr", vmin=-1, vmax=1)
    ax.set_title(title, fontsize=6)
    _off(ax)


def _grid(rows: list[tuple[str, np.ndarray]], x: np.ndarray, titles: list[str]):
    """Inputs in the first row, then one row of signed maps per (label, maps (N, H, W))."""
    plt = pyplot()
    n = len(x)
    fig, axes = plt.subplots(len(rows) + 1, n, figsize=(1.2 * n + 0.8, 1.2 * (len(rows) + 1)),
                             squeeze=False)  # fmt: skip
    for j in range(n):
        _show_input(axes[0, j], x[j], titles[j])
        for i, (_, maps) in enumerate(rows, start=1):
            _show_signed(axes[i, j], maps[j])
    axes[0, 0].set_ylabel("input", fontsize=6)
    for i, (label, _) in enumerate(rows, start=1):
        axes[i, 0].set_ylabel(label, fontsize=6)
    return fig


def _titles(d) -> list[str]:
    return [f"label {lab}, pred {p}" for lab, p in zip(d["labels"], d["predicted"], strict=False)]


# ---------------------------------------------------------------------------------------------
def linear_model(npz, png, pdf, csv, entry) -> None:
    """R_i = w_ci x_i of the softmax-regression model, and its weights per class."""
    d = load_npz(npz)
    n = len(d["x"])
    plt = pyplot()
    cols = max(n, 10)
    fig, axes = plt.subplots(3, cols, figsize=(1.1 * cols, 3.6), squeeze=False)
    titles = _titles(d)
    for j in range(cols):
        if j < n:
            _show_input(axes[0, j], d["x"][j], titles[j])
            _show_signed(axes[1, j], d["maps"][j], f"R = w x (class {d['predicted'][j]})")
        else:
            axes[0, j].axis("off")
            axes[1, j].axis("off")
        if j < 10:
            _show_signed(axes[2, j], d["weights"][j], f"w, class {j}")
        else:
            axes[2, j].axis("off")
    save(fig, png, pdf)
    logits = d["logits"][np.arange(n), d["predicted"]]
    table = pd.DataFrame({"test_index": d["indices"], "label": d["labels"][:n],
                          "predicted": d["predicted"], "logit": logits,
                          "sum_R_plus_bias": d["sum_plus_bias"],
                          "linear_minus_gi": d["linear_minus_gi"]})  # fmt: skip
    save_csv(csv, table)
    gap = float(np.max(np.abs(d["sum_plus_bias"] - logits)))
    _entry(
        entry,
        "linear_model",
        [png, pdf, csv],
        "Explaining a linear model: R_i = w_i x_i",
        f"Softmax regression on MNIST. Top: {n} test-bed digits; middle: R_i = w_ci x_i for the "
        "predicted class c (red positive, blue negative; diverging, clipped at the 99th "
        "percentile of |R|); bottom: the weight image w_k of each class k.",
        "For a linear model f(x) = Σ_i w_i x_i + b the contributions R_i = w_i x_i decompose the "
        "output exactly (the bias aside): the model is explainable.",
        f"max |Σ_i R_i + b_c - f_c(x)| = {gap:.2e}; max relative difference of R and "
        f"Gradient x Input: {float(np.nanmax(d['linear_minus_gi'])):.2e}.",
    )


# ---------------------------------------------------------------------------------------------
FILL_LABELS = {"zero": "0 (black)", "test_mean": "test-set mean", "image_mean": "image mean"}


def occlusion(npz, png, pdf, csv, entry) -> None:
    """Occlusion maps for each patch size and fill."""
    d = load_npz(npz)
    rows, records = [], []
    for i, patch in enumerate(d["patches"]):
        for j, fill in enumerate(d["fills"]):
            maps = d["maps"][i, j]
            rows.append((f"{patch}x{patch}, {FILL_LABELS.get(str(fill), fill)}", maps))
            for k in range(len(maps)):
                records.append({"patch": int(patch), "fill": str(fill),
                                "fill_value": float(d["fill_values"][j]),
                                "test_index": int(d["indices"][k]),
                                "sum": float(maps[k].sum()),
                                "max_abs": float(np.abs(maps[k]).max()),
                                "seconds_all_images": float(d["seconds"][i, j])})  # fmt: skip
    fig = _grid(rows, d["x"], _titles(d))
    save(fig, png, pdf)
    save_csv(csv, pd.DataFrame(records))
    stride = int(d["stride"])
    _entry(
        entry,
        "occlusion",
        [png, pdf, csv],
        "Perturbation analysis (occlusion)",
        "MNIST CNN: R_i = f_c(x) - f_c(x with a square patch around i replaced), c the predicted "
        f"class, patches of {', '.join(f'{p}x{p}' for p in d['patches'])} pixels moved by "
        f"{'the patch size' if stride < 0 else stride} (a pixel gets the mean over the patches "
        "covering it), replaced by 0 (black), by the test-set mean pixel value "
        f"({d['fill_values'][1]:.3f}) or by the image's own mean. Rows: patch size x fill; "
        "red: occluding lowers the score. The tutorial also mentions blurred patches; not shown.",
        "Occlusion measures R_i = f(x) - f(x_-i); the result depends on the patch size and on what "
        "is inserted in place of the patch.",
        "maps per patch size and fill in the figure; map sums and timings in the csv.",
    )


# ---------------------------------------------------------------------------------------------
def ig_equals_gi(npz, default_steps: int, png, pdf, csv, entry) -> None:
    """max |IG - GI| / max |GI| vs number of steps, bias-free and biased net."""
    d = load_npz(npz)
    models, steps = [str(m) for m in d["models"]], d["steps"]
    records = [{"model": m, "steps": int(s),
                "max_rel_diff": float(np.nanmax(d["rel_diff"][i, j])),
                "mean_rel_diff": float(np.nanmean(d["rel_diff"][i, j])),
                "mean_completeness_error": float(np.nanmean(d["completeness"][i, j]))}
               for i, m in enumerate(models) for j, s in enumerate(steps)]  # fmt: skip
    table = pd.DataFrame(records)
    save_csv(csv, table)
    plt = pyplot()
    fig, axes = plt.subplots(1, 1 + 2 * len(models), figsize=(3.2 + 1.4 * 2 * len(models), 2.6),
                             width_ratios=[2.5] + [1] * (2 * len(models)))  # fmt: skip
    ax = axes[0]
    for m in models:
        sub = table[table["model"] == m]
        ax.plot(sub["steps"], np.maximum(sub["max_rel_diff"], 1e-12), marker="o", label=m)
    ax.set(xscale="log", yscale="log", xlabel="IG steps", ylabel="max |IG - GI| / max |GI|",
           title="IG (zero baseline) vs Gradient x Input")  # fmt: skip
    ax.axhline(NEAR_ZERO, color="gray", ls=":", lw=0.8)
    ax.legend(fontsize=6)
    for i, m in enumerate(models):
        _show_signed(axes[1 + 2 * i], d["gi_example"][i], f"{m}: GI")
        _show_signed(axes[2 + 2 * i], d["ig_example"][i], f"{m}: IG ({int(steps[-1])} steps)")
    save(fig, png, pdf)
    at = table[table["steps"] == default_steps].set_index("model")["max_rel_diff"]
    bias_free, biased = models[0], models[1]
    claims = [
        _claim("ig_minus_gi.bias_free", "ig_equals_gi",
               f"IG (zero baseline, {default_steps} steps) equals Gradient x Input on a "
               f"positively homogeneous (bias-free ReLU) net ({bias_free})",
               at[bias_free], f"~0 (< {NEAR_ZERO:g})", at[bias_free] < NEAR_ZERO),
        _claim("ig_minus_gi.biased", "ig_equals_gi",
               f"with biases ({biased}) IG and Gradient x Input differ",
               at[biased], f"clearly non-zero (> {CLEARLY_NONZERO:g})",
               at[biased] > CLEARLY_NONZERO),
    ]  # fmt: skip
    n = d["rel_diff"].shape[-1]
    _entry(
        entry,
        "ig_equals_gi",
        [png, pdf, csv],
        "Proposition: IG (zero baseline) = Gradient x Input for homogeneous nets",
        f"Per image max |IG - GI| / max |GI| (predicted class), maximum over the first {n} "
        f"test-bed images, vs the number of IG steps (midpoint rule), for the bias-free ReLU MLP "
        f"({bias_free}) and the biased MLP ({biased}). Dotted: {NEAR_ZERO:g}. Right: GI and IG "
        "maps of the first image. Deviation: the proposition is checked on a subset of the "
        "200-image test-bed (CPU budget; it holds image by image).",
        "For a positively homogeneous f (a ReLU net without biases), Integrated Gradients with "
        "the zero baseline equals Gradient x Input, for any number of steps.",
        "; ".join(f"{m} at {default_steps} steps: {at[m]:.3g}" for m in models)
        + f" (over {n} images).",
        claims,
    )


# ---------------------------------------------------------------------------------------------
def gradient_input_practice(npz, png, pdf, csv, entry) -> None:
    """Signed Gradient x Input maps of the CNN and the share of positive/negative scores."""
    d = load_npz(npz)
    n = len(d["x"])
    plt = pyplot()
    fig, axes = plt.subplots(2, n + 1, figsize=(1.3 * n + 2.6, 2.6), squeeze=False,
                             width_ratios=[1] * n + [2.2])  # fmt: skip
    titles = [f"label {lab}, pred {p}" for lab, p in zip(d["labels"][:n], d["predicted"][:n],
                                                        strict=True)]  # fmt: skip
    for j in range(n):
        _show_input(axes[0, j], d["x"][j], titles[j])
        _show_signed(axes[1, j], d["maps"][j])
    gs = axes[0, n].get_gridspec()
    axes[0, n].remove()
    axes[1, n].remove()
    ax = fig.add_subplot(gs[:, n])
    ax.hist([d["frac_positive_on"], d["frac_negative_on"]], bins=20, color=["red", "blue"],
            label=["positive", "negative"])  # fmt: skip
    ax.set(xlabel="fraction of scores (pixels with x ≠ 0)", ylabel="images",
           title=f"{len(d['frac_positive'])} test-bed images")  # fmt: skip
    ax.legend(fontsize=6)
    save(fig, png, pdf)
    table = pd.DataFrame({k: d[k] for k in ("indices", "labels", "predicted", "frac_positive",
                          "frac_negative", "frac_zero", "frac_positive_on", "frac_negative_on",
                          "positive_mass")}).rename(columns={"indices": "test_index"})  # fmt: skip
    save_csv(csv, table)
    pos, neg = float(d["frac_positive_on"].mean()), float(d["frac_negative_on"].mean())
    _entry(
        entry,
        "gradient_input_practice",
        [png, pdf, csv],
        "Gradient x Input in practice",
        "MNIST analogue of the tutorial's VGG-16 'viaduct' example: Gradient x Input of the "
        "MNIST CNN for the predicted class, signed (red positive, blue negative, clipped at the "
        "99th percentile of |R|). Right: per image, the fraction of positive and negative scores "
        "among the pixels where the input is non-zero (elsewhere GI is 0).",
        "On a deep network Gradient x Input is noisy, with many positive and negative scores.",
        f"over the test-bed, pixels with x ≠ 0: {pos:.1%} positive and {neg:.1%} negative "
        f"scores on average; positive share of the total |R| mass "
        f"{float(d['positive_mass'].mean()):.1%}.",
    )


# ---------------------------------------------------------------------------------------------
CURVES = {"function": "logit f_c", "grad_pixel": "∂f_c/∂x_p (one pixel)",
          "grad_norm": "‖∇f_c‖", "directional": "∇f_c · (x1 - x0)"}  # fmt: skip


def shattered_gradients(npz, png, pdf, csv, entry) -> None:
    """Function and gradient along the straight path between two test digits."""
    d = load_npz(npz)
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
    fig, axes = plt.subplots(len(models), len(CURVES) + 1, figsize=(13, 2.8 * len(models)),
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
    fig.subplots_adjust(hspace=0.75, wspace=0.35)
    save(fig, png, pdf)
    means = table.groupby("model")[[f"tv_{k}" for k in CURVES]].mean()
    _entry(
        entry, "shattered_gradients", [png, pdf, csv], "Shattered gradients along an input path",
        f"MNIST analogue: x(t) = (1 - t) x0 + t x1 between two test-bed digits of different "
        f"classes, {len(t)} points; c is x0's predicted class. Panels: the logit f_c, the "
        "gradient at the pixel with the largest mean |gradient| on the path, the gradient "
        "norm, the directional derivative, and the cosine of neighbouring gradients (first "
        "pair shown; all pairs in the csv). Roughness: total variation of the curve divided "
        "by its range (1 = monotone).",
        "The function is smooth along the path while the gradient varies quickly: gradients "
        "are shattered.",
        "; ".join(f"{m}: normalised TV of f_c {means.loc[m, 'tv_function']:.3g}, of the pixel "
                  f"gradient {means.loc[m, 'tv_grad_pixel']:.3g}, of the gradient norm "
                  f"{means.loc[m, 'tv_grad_norm']:.3g}" for m in models) + " (mean over pairs).",
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
def shattered_table(depth: int, grid: int, png, pdf, csv, entry) -> None:
    """g = 2 ReLU(x) - 4 ReLU(x - 0.5) composed k = 1..depth times: plots and table."""
    rows = shattered.table(depth, grid)
    table = pd.DataFrame(rows)
    table["paper"] = [2 ** r["k"] for r in rows]
    save_csv(csv, table)
    plt = pyplot()
    fig, axes = plt.subplots(1, depth + 1, figsize=(2.2 * (depth + 1), 2.2),
                             width_ratios=[1] * depth + [1.8])  # fmt: skip
    x = np.linspace(0, 1, grid)
    for k in range(1, depth + 1):
        axes[k - 1].plot(x, shattered.compose(shattered.tent, k)(x), lw=0.8)
        axes[k - 1].set(title=f"g composed {k}x", xlabel="x", ylim=(-0.05, 1.05))
    axes[-1].axis("off")
    cells = [[r["k"], f"[{r['output_min']:.3g}, {r['output_max']:.3g}]", f"{r['max_slope']:.4g}",
              r["pieces"]] for r in rows]  # fmt: skip
    tab = axes[-1].table(cellText=cells, colLabels=["k", "output range", "max slope", "pieces"],
                         loc="center")  # fmt: skip
    tab.auto_set_font_size(False)
    tab.set_fontsize(7)
    save(fig, png, pdf)
    claims = []
    for r in rows:
        k, expected = r["k"], 2 ** r["k"]
        claims += [
            _claim(f"shattered.max_slope.{k}", "shattered_table",
                   f"g composed {k} times has max slope 2^{k}", r["max_slope"], f"{expected}",
                   abs(r["max_slope"] - expected) <= 1e-6 * expected),
            _claim(f"shattered.pieces.{k}", "shattered_table",
                   f"g composed {k} times has 2^{k} linear pieces on [0,1]", r["pieces"],
                   f"{expected}", r["pieces"] == expected),
        ]  # fmt: skip
    _entry(
        entry, "shattered_table", [png, pdf, csv], "Shattered gradients: a constructed example",
        f"g(x) = 2 ReLU(x) - 4 ReLU(x - 0.5) (the tent map) composed k = 1..{depth} times, on "
        f"[0, 1] sampled at {grid} points. Output range, max |slope| and number of linear "
        "pieces are computed from the samples (pieces = slope changes, neighbouring changes "
        "counted once), not typed in.",
        "Composing g k times keeps the output in [0, 1] while the slope grows to 2^k and the "
        "number of linear pieces to 2^k: the gradient becomes shattered.",
        "; ".join(f"k={r['k']}: range [{r['output_min']:.3g}, {r['output_max']:.3g}], max slope "
                  f"{r['max_slope']:.4g}, {r['pieces']} pieces" for r in rows) + ".",
        claims,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
def noise_slope(samples: np.ndarray, noise: np.ndarray) -> float:
    """Least-squares slope of log(noise) against log(T)."""
    return float(np.polyfit(np.log(samples), np.log(noise), 1)[0])


def smoothgrad(npz, png, pdf, csv, entry) -> None:
    """Smooth GI vs GI maps, and explanation noise vs the number of samples T."""
    d = load_npz(npz)
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
    fig, axes = plt.subplots(3, n + 1, figsize=(1.3 * n + 3.2, 3.9), squeeze=False,
                             width_ratios=[1] * n + [2.8])  # fmt: skip
    for j in range(n):
        _show_input(axes[0, j], d["x"][j], f"label {d['labels'][j]}, pred {d['predicted'][j]}")
        _show_signed(axes[1, j], d["gi"][j])
        _show_signed(axes[2, j], d["smooth_gi"][j])
    axes[1, 0].set_ylabel("Gradient x Input", fontsize=6)
    axes[2, 0].set_ylabel(f"Smooth GI (T={int(display)})", fontsize=6)
    gs = axes[0, n].get_gridspec()
    for i in range(3):
        axes[i, n].remove()
    ax = fig.add_subplot(gs[:, n])
    ax.plot(samples, std, marker="o", label=f"std over {int(seeds)} seeds (slope {slope:.2f})")
    ax.errorbar(samples, ref.mean(1), yerr=ref.std(1), marker="s", ms=3, capsize=2,
                label=f"distance to T={int(ref_samples)} reference")  # fmt: skip
    ax.plot(samples, reference_line, "k--", lw=0.8, label="∝ 1/sqrt(T)")
    ax.set(xscale="log", yscale="log", xlabel="samples T", ylabel="noise / ‖reference‖",
           title="explanation noise")  # fmt: skip
    ax.yaxis.tick_right()  # keep the tick labels off the map grid
    ax.yaxis.set_label_position("right")
    ax.legend(fontsize=6)
    save(fig, png, pdf)
    claim = _claim("smoothgrad.noise_slope", "smoothgrad",
                   "the noise of the T-sample SmoothGrad estimate falls like 1/sqrt(T)", slope,
                   f"-0.5 (log-log slope within ±{SLOPE_TOLERANCE})",
                   abs(slope + 0.5) <= SLOPE_TOLERANCE)  # fmt: skip
    _entry(
        entry,
        "smoothgrad",
        [png, pdf, csv],
        "SmoothGrad: Smooth Gradient x Input",
        f"MNIST CNN, predicted class. Left: Gradient x Input and Smooth Gradient x Input "
        f"(SmoothGrad with base Gradient x Input, T = {int(display)} samples, sigma = {noise:g} x "
        f"(max - min) of the input); signed, red positive. Right: explanation noise of the "
        f"T-sample estimate over {int(images)} test-bed images: the l2 norm of the per-pixel std "
        f"over {int(seeds)} independent seeds, and the l2 distance to one T = {int(ref_samples)} "
        "estimate (which adds that reference's own noise), both relative to the reference's "
        "norm; dashed: 1/sqrt(T) through the first point.",
        "Averaging the explanation over noisy copies of the input removes gradient noise; the "
        "noise of the estimate falls like 1/sqrt(T).",
        f"fitted log-log slope of the noise (std over seeds) vs T: {slope:.3f} (expected -0.5).",
        [claim],
    )


# ---------------------------------------------------------------------------------------------
def _maps_table(d) -> pd.DataFrame:
    n = len(d["x"])
    logits = d["logits"][np.arange(n), d["predicted"]]
    return pd.DataFrame([
        {"method": str(m), "test_index": int(d["indices"][j]), "label": int(d["labels"][j]),
         "predicted": int(d["predicted"][j]), "logit": float(logits[j]),
         "sum": float(d["sums"][i, j]), "sum_over_logit": float(d["sums"][i, j] / logits[j]),
         "max_abs": float(np.abs(d["maps"][i, j]).max()),
         "frac_positive": float((d["maps"][i, j] > 0).mean()),
         "frac_negative": float((d["maps"][i, j] < 0).mean()),
         "seconds_all_images": float(d["seconds"][i])}
        for i, m in enumerate(d["methods"]) for j in range(n)
    ])  # fmt: skip


def _maps_figure(npz, png, pdf, csv, labels: dict[str, str] | None = None):
    from saliency_sanity.attribution import METHODS

    d = load_npz(npz)
    labels = labels or {}
    rows = [(labels.get(str(m), METHODS[str(m)].label if str(m) in METHODS else str(m)),
             d["maps"][i]) for i, m in enumerate(d["methods"])]  # fmt: skip
    fig = _grid(rows, d["x"], _titles(d))
    save(fig, png, pdf)
    table = _maps_table(d)
    save_csv(csv, table)
    return d, table


def deconvnet(npz, png, pdf, csv, entry) -> None:
    d, table = _maps_figure(npz, png, pdf, csv)
    pos = table.groupby("method")["frac_positive"].mean()
    _entry(
        entry,
        "deconvnet",
        [png, pdf, csv],
        "Deconvnet beside Gradient and Guided Backprop",
        f"MNIST CNN, predicted class, first {len(d['x'])} test-bed images; rows: "
        + ", ".join(str(m) for m in d["methods"])
        + " (signed maps, red positive, clipped at the 99th percentile of |R|).",
        "Deconvnet and Guided Backprop differ from the gradient only in how the backward pass "
        "handles ReLUs (Deconvnet: ReLU of the backward signal; Guided Backprop: both); the "
        "resulting maps are sharper but less specific to the model.",
        "fraction of positive pixels, mean over images: "
        + ", ".join(f"{m} {pos[m]:.2f}" for m in pos.index)
        + ".",
    )


def lrp_rules(npz, png, pdf, csv, entry) -> None:
    d, table = _maps_figure(npz, png, pdf, csv)
    cons = table.groupby("method")["sum_over_logit"].mean()
    _entry(
        entry,
        "lrp_rules",
        [png, pdf, csv],
        "Effect of the LRP rules",
        f"MNIST CNN (MNIST analogue of the tutorial's VGG-16), predicted class, first "
        f"{len(d['x'])} test-bed images; rows: "
        + ", ".join(str(m) for m in d["methods"])
        + ". LRP-ε with ε = 0.25 x RMS of the layer's pre-activations, LRP-γ with γ = 0.25; "
        "the composite uses z^B at the input layer, γ on the other convolutions and ε on the "
        "dense layers (the tutorial's LRP-0 at the top layers is not singled out). "
        "Max-pooling: winner-take-all. Signed maps, red positive.",
        "LRP-0 gives noisy maps (as Gradient x Input); ε removes noise and keeps the most "
        "salient factors; γ favours positive contributions; the composite, with the z^B rule "
        "at the pixels, gives the most readable explanation.",
        "relevance conservation Σ_i R_i / f_c(x), mean over images: "
        + ", ".join(f"{m} {cons[m]:.3g}" for m in cons.index)
        + ".",
    )


def other_methods(npz, png, pdf, csv, entry, settings: dict) -> None:
    d, table = _maps_figure(npz, png, pdf, csv)
    secs = table.groupby("method")["seconds_all_images"].first()
    desc = "; ".join(f"{m}: {', '.join(f'{k}={v}' for k, v in (p or {}).items()) or 'defaults'}"
                     for m, p in settings.items())  # fmt: skip
    _entry(
        entry,
        "other_methods",
        [png, pdf, csv],
        "Other methods: LIME, KernelSHAP, GradCAM, LRP",
        f"MNIST CNN, predicted class, first {len(d['x'])} test-bed images (LIME and KernelSHAP "
        f"are slow; few images). Settings: {desc}. LIME and KernelSHAP use square patches as "
        "features, absent = 0. Signed maps, red positive.",
        "Model-agnostic methods (LIME, Shapley sampling / KernelSHAP) and GradCAM explain the "
        "same decision as LRP at very different cost and resolution.",
        "seconds for all shown images: "
        + ", ".join(f"{m} {secs[m]:.2f}" for m in secs.index)
        + ".",
    )


# ---------------------------------------------------------------------------------------------
PAIR_LABELS = {
    "lrp_0 vs gradient_input": "LRP-0 vs GI",
    "lrp_0_default vs gradient_input": "LRP-0 (registry stabiliser 1e-6) vs GI",
    "integrated_gradients vs gradient_input": "IG (zero baseline) vs GI",
    "deep_taylor vs lrp_0": "Deep Taylor (zero root) vs LRP-0",
}


def method_connections(npz, homogeneous: str, png, pdf, csv, entry) -> None:
    d = load_npz(npz)
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
    claim = _claim("lrp0_minus_gi", "method_connections",
                   f"LRP-0 equals Gradient x Input on a bias-free ReLU net ({homogeneous})", lrp0,
                   f"~0 (< {NEAR_ZERO:g})", lrp0 < NEAR_ZERO)  # fmt: skip
    _entry(
        entry,
        "method_connections",
        [png, pdf, csv],
        "Connections between methods, measured",
        f"Per image max |a - b| / max |b| (predicted class) over the first {n} test-bed images, "
        f"maximum and mean over images. LRP-0 and Deep Taylor (zero root) with stabiliser "
        f"{stab:g} (the identities hold for the unstabilised rules; the registry's default "
        "1e-6, shown separately, perturbs small pre-activations). IG with the zero baseline and "
        "the default steps. Conservation Σ LRP-0 / f_c(x) is in the csv (1 without biases).",
        "LRP-0 equals Gradient x Input on ReLU networks (with biases too, which then absorb "
        "relevance); IG with the zero baseline equals Gradient x Input for positively "
        "homogeneous networks; Deep Taylor with the zero root point is LRP-0.",
        "; ".join(f"{r['model']}: {r['comparison']} {r['max_rel_diff']:.2e}" for r in records)
        + ".",
        [claim],
    )
