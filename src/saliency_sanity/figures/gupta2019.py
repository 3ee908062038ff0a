"""gupta2019 figures (competition for pixels: CGI, CLRP, CDASP), drawn from saved results only.

Every function reads the ``.npz`` written by :mod:`saliency_sanity.experiments.gupta2019`,
writes png + pdf, a CSV of the numbers shown, and the gallery entry (with claims where
FIGURES.md lists them). Maps are shown as in the paper: signed maps on a red/blue diverging scale
(``viz.diverging``, vmin -1, vmax 1), absolute maps clipped at the 99th percentile
(``viz.absolute_clip``), each map normalised on its own unless a caption says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import nan

import numpy as np
import pandas as pd

from saliency_sanity import similarity, viz
from saliency_sanity.figures._plot import pyplot, save
from saliency_sanity.io import load_json, load_npz, save_csv
from saliency_sanity.report import Claim, write_entry

DOC = "gupta2019"
PAPER = "Gupta & Arora (2019)"
#: short names of the base methods in figures; the competitive variant gets a leading "C"
LABELS = {
    "gradient_input": "GI",
    "lrp_epsilon": "LRP-ε",
    "lrp_0": "LRP-0",
    "dasp": "DASP",
}
#: CGI "disappears" (gupta2019 Sec. 5) when its mass falls below this fraction of the trained
#: net's; the paper gives no number, so we state ours
MASS_THRESHOLD = 0.1


def label(method: str, competitive: bool = False) -> str:
    """Short name of a base method for figures; the competitive variant gets a leading "C"."""
    base = LABELS.get(method, method)
    return f"C{base}" if competitive else base


def _str(a) -> str:
    return str(np.asarray(a).item()) if np.ndim(a) == 0 else str(a)


def _mass(maps) -> np.ndarray:
    m = np.asarray(maps, dtype=np.float64)
    return np.abs(m.reshape(len(m), -1)).sum(axis=1)


def _ratio(num, den) -> np.ndarray:
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)


def _nanstats(v) -> tuple[float, float, int]:
    v = np.asarray(v, dtype=np.float64)
    ok = v[~np.isnan(v)]
    if ok.size == 0:
        return float("nan"), float("nan"), 0
    return float(ok.mean()), float(ok.std()), int(ok.size)


def linear_fit(x, y) -> dict[str, float]:
    """Least-squares fit y = alpha x + beta, with r² and the number of points."""
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    if len(x) < 2:
        raise ValueError(f"a linear fit needs at least 2 points, got {len(x)}")
    alpha, beta = np.polyfit(x, y, 1)
    residual = y - (alpha * x + beta)
    total = ((y - y.mean()) ** 2).sum()
    r2 = 1.0 - (residual**2).sum() / total if total > 0 else float("nan")
    return {"alpha": float(alpha), "beta": float(beta), "r2": float(r2), "n": len(x)}


def _show(ax, img, kind: str, title: str = "") -> None:
    """kind: 'input' (gray), 'signed' (already in [-1, 1], bwr) or 'abs' (in [0, 1], gray)."""
    if kind == "input":
        ax.imshow(img, cmap="gray")
    elif kind == "signed":
        ax.imshow(img, cmap="bwr", vmin=-1, vmax=1)
    else:
        ax.imshow(img, cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=6)


def _common_diverging(maps: np.ndarray) -> np.ndarray:
    """Signed maps (K, H, W) over ONE scale: the 99th percentile of |m| over all of them."""
    scale = np.percentile(np.abs(maps), 99) or np.abs(maps).max()
    return np.clip(maps / scale, -1, 1) if scale > 0 else np.zeros_like(maps)


# --------------------------------------------------------------------------------------------
# Fig. 1: all logits


def all_logits(npz, png, pdf, csv, entry) -> pd.DataFrame:
    """GI maps for every logit of one "3", and each class's competitive map (who wins a pixel)."""
    r = load_npz(npz)
    maps, comp, logits = r["maps"], r["competitive"], r["logits"]
    k, pred = len(logits), int(r["prediction"])
    nonzero_gi = int((maps[pred] != 0).sum())
    table = pd.DataFrame(
        {
            "class": np.arange(k),
            "logit": logits,
            "gi_sum": maps.reshape(k, -1).sum(1),
            "gi_abs_sum": np.abs(maps).reshape(k, -1).sum(1),
            "cgi_pixels": (comp != 0).reshape(k, -1).sum(1),
            "cgi_abs_sum": np.abs(comp).reshape(k, -1).sum(1),
        }
    )
    save_csv(csv, table)
    plt = pyplot()
    fig, axes = plt.subplots(2, k + 1, figsize=(1.1 * (k + 1), 2.6))
    _show(axes[0, 0], r["x"], "input", f"input (label {int(r['label'])})")
    axes[1, 0].axis("off")
    gi_view, comp_view = _common_diverging(maps), _common_diverging(comp)
    for c in range(k):
        mark = " *" if c == pred else ""
        _show(axes[0, c + 1], gi_view[c], "signed", f"GI, logit {c}{mark}\n{logits[c]:.2f}")
        _show(axes[1, c + 1], comp_view[c], "signed", f"CGI for {c}: {table.cgi_pixels[c]} px")
    fig.suptitle(
        "Gradient x Input for all logits (top, one scale) and competition (bottom)", y=1.06
    )
    save(fig, png, pdf)
    won = table.cgi_pixels.sum()
    kept = table.cgi_abs_sum[pred] / max(table.gi_abs_sum[pred], 1e-30)
    write_entry(
        entry,
        doc=DOC,
        name="all_logits",
        title="Gradient x Input for all 10 logits, and CGI (Fig. 1)",
        caption=(
            f"Test image {int(r['index'])} (the first {_str(r['source'])} image labelled "
            f"{int(r['label'])}; predicted {pred}, marked *), 1-channel AlexNet. Top: GI map of "
            "each logit, one diverging scale for all ten (red positive, blue negative). Bottom: "
            "the competitive map of each class: a pixel keeps its score only if it is the "
            "largest positive (or most negative) over the ten classes. The bottom map of the "
            "predicted class is the CGI map."
        ),
        statement=(
            "The GI maps of all logits look alike (they share the digit's outline); competition "
            "assigns each pixel to the logit that claims it most, and the CGI map of the "
            "predicted label keeps the pixels that speak for it."
        ),
        measured=(
            f"The predicted class's CGI keeps {table.cgi_pixels[pred]} of the {nonzero_gi} "
            f"nonzero GI pixels ({kept:.2f} "
            f"of its GI mass); over the ten classes, {won} pixel wins in total."
        ),
        files=[png, pdf, csv],
    )
    return table


# --------------------------------------------------------------------------------------------
# Fig. 2: score histogram


def _gauss(x, mean, std):
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))


def score_histogram(npz, png, pdf, csv, entry) -> pd.DataFrame:
    """Histogram of GI scores (predicted class, nonzero input pixels) with 2/3-Gaussian fits."""
    r = load_npz(npz)
    scores = r["scores"].astype(np.float64)
    rows = []
    for k, bic in zip(r["components"], r["bic"], strict=True):
        for j, (w, m, s) in enumerate(
            zip(r[f"weights_{k}"], r[f"means_{k}"], r[f"stds_{k}"], strict=True)
        ):
            rows.append({"k": int(k), "component": j, "weight": w, "mean": m, "std": s, "bic": bic})
    table = pd.DataFrame(rows)
    save_csv(csv, table)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    lo, hi = np.percentile(scores, [0.5, 99.5])
    ax.hist(scores, bins=150, range=(lo, hi), density=True, color="0.7", label="GI scores")
    grid = np.linspace(lo, hi, 600)
    for k in r["components"]:
        parts = [
            w * _gauss(grid, m, s)
            for w, m, s in zip(r[f"weights_{k}"], r[f"means_{k}"], r[f"stds_{k}"], strict=True)
        ]
        ax.plot(grid, np.sum(parts, axis=0), lw=1.2, label=f"{k}-component mixture")
        if k == r["components"][0]:
            for p in parts:
                ax.plot(grid, p, lw=0.7, ls="--", color="k")
    ax.set(xlabel="Gradient x Input score", ylabel="density", yscale="log")
    ax.set_ylim(bottom=max(1e-4 * ax.get_ylim()[1], 1e-6))
    ax.legend(fontsize=6)
    save(fig, png, pdf)
    best = int(r["components"][int(np.argmin(r["bic"]))])
    bics = ", ".join(f"k={int(k)}: {b:.5g}" for k, b in zip(r["components"], r["bic"], strict=True))
    two = table[table.k == int(r["components"][0])]
    write_entry(
        entry,
        doc=DOC,
        name="score_histogram",
        title="Histogram of Gradient x Input scores with Gaussian mixtures (Fig. 2, MNIST)",
        caption=(
            f"GI scores for the predicted class of {int(r['n_images'])} test-bed images "
            f"(1-channel AlexNet; MNIST analogue of the paper's VGG-19 figure), {len(scores)} "
            f"pixels with nonzero input; the {int(r['n_zero_input'])} background pixels (input "
            "exactly 0, GI exactly 0) are left out. Log density; lines: sklearn GaussianMixture "
            "fits (seeded, on standardised scores; BIC of those), dashed: the components of the "
            "smallest mixture. Scores are pooled over images without per-image normalisation."
        ),
        statement=(
            "GI scores look like a mixture of Gaussians: a large component centred near zero "
            "plus components carrying the signal."
        ),
        measured=(
            f"BIC prefers the {best}-component fit ({bics}). "
            "Smallest mixture: "
            + "; ".join(
                f"weight {w:.2f}, mean {m:.3g}, sd {s:.3g}"
                for w, m, s in zip(two.weight, two["mean"], two["std"], strict=True)
            )
            + "."
        ),
        files=[png, pdf, csv],
    )
    return table


# --------------------------------------------------------------------------------------------
# Fig. 3: approximate completeness


def _completeness_sets(gi_npz, dasp_npz):
    gi = load_npz(gi_npz)
    for model in gi["models"]:
        yield str(model), "gradient_input", gi[f"logits_{model}"], gi[f"sums_{model}"], None
    d = load_npz(dasp_npz)
    if "sums_dasp" in d:
        logits, sums = d["logits"][0], d["sums_dasp"][0]  # step 0: the trained network
        yield _str(d["model"]), "dasp", logits, sums, float(d["seconds_dasp"][0])


def approximate_completeness(gi_npz, dasp_npz, png, pdf, csv, entry) -> pd.DataFrame:
    """Sum of map vs logit, every class of every image, with the linear fit (alpha, beta, r²)."""
    sets = list(_completeness_sets(gi_npz, dasp_npz))
    rows = []
    plt = pyplot()
    fig, axes = plt.subplots(1, len(sets), figsize=(3 * len(sets), 2.9), squeeze=False)
    for ax, (model, method, logits, sums, seconds) in zip(axes[0], sets, strict=True):
        fit = linear_fit(logits, sums)
        pred = logits.argmax(1)
        top = np.zeros_like(logits, dtype=bool)
        top[np.arange(len(logits)), pred] = True
        fit_top = linear_fit(logits[top], sums[top]) if top.sum() >= 2 else None
        common = {"model": model, "method": method, "images": len(logits)}
        per_image = (seconds or 0.0) / len(logits)
        rows.append({**common, "classes": "all", **fit, "seconds_per_image": per_image})
        if fit_top is not None:
            rows.append({**common, "classes": "predicted", **fit_top, "seconds_per_image": nan})
        ax.scatter(logits[~top], sums[~top], s=3, alpha=0.4, label="other logits")
        ax.scatter(logits[top], sums[top], s=5, alpha=0.8, color="C3", label="predicted class")
        grid = np.linspace(logits.min(), logits.max(), 50)
        ax.plot(grid, fit["alpha"] * grid + fit["beta"], "k-", lw=1)
        ax.set(xlabel="logit", ylabel="sum of map",
               title=f"{label(method)} on {model} ({len(logits)} images)\n"
                     f"α={fit['alpha']:.3g}, β={fit['beta']:.3g}, r²={fit['r2']:.3f}")  # fmt: skip
        ax.legend(fontsize=5)
    fig.tight_layout()
    save(fig, png, pdf)
    table = pd.DataFrame(rows)
    save_csv(csv, table)
    all_rows = table[table.classes == "all"]
    dasp = all_rows[all_rows.method == "dasp"]
    dasp_note = (
        f" DASP (zero baseline, {int(dasp.images.iloc[0])} image(s), measured cost "
        f"{dasp.seconds_per_image.iloc[0]:.0f} s per image on this machine) is taken from the "
        "cascading_cdasp experiment's trained network, with that experiment's coalition sizes."
        if len(dasp)
        else ""
    )
    write_entry(
        entry,
        doc=DOC,
        name="approximate_completeness",
        title="Approximate completeness: sum of the map vs the logit (Fig. 3, MNIST)",
        caption=(
            "Each point is one logit of one test-bed image: x = the logit, y = the sum of the "
            "method's map for that logit; line = least-squares fit sum = alpha logit + beta over "
            "all points (the CSV also has the fit over the predicted class only). Networks with "
            "biases (MNIST analogue of the paper's VGG-19)." + dasp_note
        ),
        statement=(
            "For ReLU nets with biases, GI is only approximately complete: the map's sum is close "
            "to a linear function alpha logit + beta of the logit; DASP likewise."
        ),
        measured=" ".join(
            f"{label(r.method)} on {r.model}: alpha {r.alpha:.3g}, beta {r.beta:.3g}, "
            f"r² {r.r2:.3f} ({r.n} points)."
            for r in all_rows.itertuples()
        ),
        files=[png, pdf, csv],
    )
    return table


# --------------------------------------------------------------------------------------------
# Fig. 4: CGI vs GI maps


def cgi_maps(npz, png, pdf, csv, entry) -> pd.DataFrame:
    r = load_npz(npz)
    gi, cgi = r["gi"], r["cgi"]
    n = len(gi)
    table = pd.DataFrame(
        {
            "index": r["indices"],
            "label": r["labels"],
            "prediction": r["predictions"],
            "gi_mass": _mass(gi),
            "cgi_mass": _mass(cgi),
            "cgi_over_gi_mass": _ratio(_mass(cgi), _mass(gi)),
            "gi_pixels": (gi != 0).reshape(n, -1).sum(1),
            "cgi_pixels": (cgi != 0).reshape(n, -1).sum(1),
        }
    )
    save_csv(csv, table)
    views = [
        ("input", r["x"], "input"),
        ("GI", viz.diverging(gi), "signed"),
        ("CGI", viz.diverging(cgi), "signed"),
        ("|GI|", viz.absolute_clip(gi), "abs"),
        ("|CGI|", viz.absolute_clip(cgi), "abs"),
    ]
    plt = pyplot()
    fig, axes = plt.subplots(len(views), n, figsize=(1.1 * n, 1.15 * len(views)), squeeze=False)
    for j in range(n):
        for i, (name, imgs, kind) in enumerate(views):
            title = (
                f"{name}\n(label {r['labels'][j]}, pred {r['predictions'][j]})" if i == 0 else name
            )
            _show(axes[i, j], imgs[j], kind, title)
    save(fig, png, pdf)
    mean, std, _ = _nanstats(table.cgi_over_gi_mass)
    write_entry(
        entry,
        doc=DOC,
        name="cgi_maps",
        title="CGI vs GI maps (Fig. 4, MNIST)",
        caption=(
            f"The first {n} test-bed images, 1-channel AlexNet, maps of the predicted class "
            "(MNIST analogue of the paper's VGG-19 figure). Rows: input, GI and CGI (diverging, "
            "red positive), |GI| and |CGI| (99th-percentile clip); each map normalised on its own."
        ),
        statement="CGI maps are sparser than GI maps and keep the object's (digit's) pixels.",
        measured=(
            f"CGI keeps {mean:.2f} ± {std:.2f} of GI's mass and "
            f"{table.cgi_pixels.sum() / max(table.gi_pixels.sum(), 1):.2f} of its nonzero pixels "
            f"(mean over the {n} images)."
        ),
        files=[png, pdf, csv],
    )
    return table


# --------------------------------------------------------------------------------------------
# Figs. 5, 6, 8-10: randomisation grids


def mass_table(r: dict, method: str) -> pd.DataFrame:
    """Per step: mass of the plain and competitive maps relative to the trained network's (mean
    and std over images of the per-image ratio), and the competitive map's share of the plain
    map's mass."""
    plain, comp = r[f"maps_{method}"], r[f"maps_competitive_{method}"]
    rows = []
    for s, step in enumerate(r["steps"]):
        p_ratio = _ratio(_mass(plain[s]), _mass(plain[0]))
        c_ratio = _ratio(_mass(comp[s]), _mass(comp[0]))
        share = _ratio(_mass(comp[s]), _mass(plain[s]))
        (pm, ps, _), (cm, cs, cn), (sm, _, _) = map(_nanstats, (p_ratio, c_ratio, share))
        rows.append(
            {
                "step": str(step),
                "method": method,
                "accuracy": float(r["accuracy"][s]),
                "plain_mass_ratio_mean": pm,
                "plain_mass_ratio_std": ps,
                "competitive_mass_ratio_mean": cm,
                "competitive_mass_ratio_std": cs,
                "competitive_share_of_plain_mass": sm,
                "competitive_all_zero_maps": int((_mass(comp[s]) == 0).sum()),
                "images": len(plain[s]),
                "n_valid": cn,
                "seconds": float(r[f"seconds_{method}"][s]),
            }
        )
    return pd.DataFrame(rows)


def _mass_claims(table: pd.DataFrame, method: str, figure: str) -> list[Claim]:
    claims = []
    for row in table.iloc[1:].itertuples():
        c, g = row.competitive_mass_ratio_mean, row.plain_mass_ratio_mean
        claims.append(
            Claim(
                f"{DOC}.cgi_mass_after_randomization.{row.step}",
                DOC,
                figure,
                f"CGI maps disappear once the network is randomised down to {row.step} "
                "(cascading): sum |CGI| relative to the trained network's",
                c,
                f"small (< {MASS_THRESHOLD})",
                bool(c < MASS_THRESHOLD),
            )
        )
        claims.append(
            Claim(
                f"{DOC}.gi_mass_after_randomization.{row.step}",
                DOC,
                figure,
                f"contrast: plain GI does not disappear after randomising down to {row.step} "
                "(cascading): sum |GI| relative to the trained network's",
                g,
                f"not small (>= {MASS_THRESHOLD})",
                bool(g >= MASS_THRESHOLD),
            )
        )
    return claims


def _verdict(last, share0: float, lp: str, lc: str) -> str:
    """One plain sentence: does the competitive map disappear, and does the plain one not?"""
    c_small = last.competitive_mass_ratio_mean < MASS_THRESHOLD
    p_small = last.plain_mass_ratio_mean < MASS_THRESHOLD
    if c_small and not p_small:
        return f"As the paper says, {lc} disappears (< {MASS_THRESHOLD}) while {lp} does not."
    if c_small:
        return (
            f"Both fall below {MASS_THRESHOLD}: the randomised net's outputs are smaller, so "
            f"{lp} shrinks as much as {lc}; the share of {lp}'s mass that survives competition "
            f"is {last.competitive_share_of_plain_mass:.2f} vs {share0:.2f} on the trained net. "
            f"So the mass test does not separate {lc} from {lp} here: the paper's '{lc} "
            "disappears' does not reproduce as a difference between the two."
        )
    return (
        f"{lc} does not disappear (mass ratio >= {MASS_THRESHOLD}): the paper's claim does not "
        "reproduce here."
    )


def randomization_grid(
    npz,
    method: str,
    name: str,
    png,
    pdf,
    csv,
    entry,
    n_display: int = 2,
    claims: bool = False,
    note: str = "",
) -> pd.DataFrame:
    """Plain vs competitive maps after each randomisation step (columns), diverging and
    absolute views (rows), for the first ``n_display`` images; CSV of mass ratios per step."""
    r = load_npz(npz)
    procedure, model = _str(r["procedure"]), _str(r["model"])
    steps = [str(s) for s in r["steps"]]
    table = mass_table(r, method)
    save_csv(csv, table)
    plain, comp = r[f"maps_{method}"], r[f"maps_competitive_{method}"]
    n_display = min(n_display, plain.shape[1])
    lp, lc = label(method), label(method, competitive=True)
    rows = []
    for i in range(n_display):
        rows += [
            (f"{lp} (img {i})", viz.diverging(plain[:, i]), "signed"),
            (f"{lc} (img {i})", viz.diverging(comp[:, i]), "signed"),
            (f"|{lp}|", viz.absolute_clip(plain[:, i]), "abs"),
            (f"|{lc}|", viz.absolute_clip(comp[:, i]), "abs"),
        ]
    plt = pyplot()
    ncol = len(steps) + 1
    fig, axes = plt.subplots(len(rows), ncol, figsize=(0.95 * ncol, 1.0 * len(rows)))
    for i, (row_label, imgs, kind) in enumerate(rows):
        img_i = i // 4
        if i % 4 == 0:
            _show(axes[i, 0], r["x"][img_i], "input", f"input {img_i}")
            axes[i, 0].set_ylabel(row_label, fontsize=6)
        else:
            axes[i, 0].axis("off")
            axes[i, 0].text(0.5, 0.5, row_label, ha="center", va="center", fontsize=6)
        for s, step in enumerate(steps):
            title = f"{step}\nacc {r['accuracy'][s]:.2f}" if i == 0 else ""
            _show(axes[i, s + 1], imgs[s], kind, title)
    save(fig, png, pdf)
    word = "cascading" if procedure == "cascading" else "layerwise (independent)"
    last = table.iloc[-1]
    figure = f"{DOC}/{name}"
    caption = (
        f"{word.capitalize()} randomisation of the {model} ({'logits first, cumulatively' if procedure == 'cascading' else 'one layer at a time, the rest trained'}): "  # noqa: E501
        f"{lp} and {lc} for the first {n_display} of {int(last.images)} test-bed images "
        "(masses and claims over all of them; paper: 200); "
        f"columns: the trained net, then each randomised layer (titles: accuracy on those "
        f"{int(last.images)} images). Explained class: {_str(r['explained']).replace('_', ' ')}. "
        "Diverging rows: red positive, blue negative; absolute rows: 99th-percentile clip; each "
        "map normalised on its own, so magnitudes are in the CSV (sum |map| relative to the "
        f"trained net's, mean over the images). {note}"
    )
    after = " and every layer above it" if procedure == "cascading" else " alone"
    measured = (
        f"After randomising {last.step}{after}: sum |{lc}| is "
        f"{last.competitive_mass_ratio_mean:.3g} "
        f"± {last.competitive_mass_ratio_std:.2g} of the trained net's, sum |{lp}| "
        f"{last.plain_mass_ratio_mean:.3g} ± {last.plain_mass_ratio_std:.2g}; {lc} keeps "
        f"{last.competitive_share_of_plain_mass:.2f} of {lp}'s mass (trained net: "
        f"{table.competitive_share_of_plain_mass.iloc[0]:.2f}); "
        f"{int(last.competitive_all_zero_maps)} of {int(last.images)} {lc} maps are all zero. "
        f"Per step ({lc} / {lp} mass ratio): "
        + ", ".join(
            f"{t.step} {t.competitive_mass_ratio_mean:.2g}/{t.plain_mass_ratio_mean:.2g}"
            for t in table.iloc[1:].itertuples()
        )
        + ". "
        + _verdict(last, table.competitive_share_of_plain_mass.iloc[0], lp, lc)
    )
    write_entry(
        entry,
        doc=DOC,
        name=name,
        title=f"{lp} vs {lc} under {word} randomisation ({model})",
        caption=caption,
        statement=(
            f"Under randomisation {lc} maps disappear (the competition removes almost every "
            f"pixel), while {lp} maps keep showing the input's structure."
        ),
        measured=measured,
        files=[png, pdf, csv],
        claims=_mass_claims(table, method, figure) if claims else (),
    )
    return table


# --------------------------------------------------------------------------------------------
# Fig. 7: data randomisation


def data_randomization(
    npz, normal_metrics, random_metrics, png, pdf, csv, entry, n_display: int = 4
) -> pd.DataFrame:
    r = load_npz(npz)
    normal, rand = load_json(normal_metrics), load_json(random_metrics)
    rows = []
    for net, m in (("normal", normal), ("random_labels", rand)):
        gi, cgi = r[f"gi_{net}"], r[f"cgi_{net}"]
        share = _nanstats(_ratio(_mass(cgi), _mass(gi)))
        rows.append(
            {
                "net": net,
                "train_accuracy": m["train_accuracy"],
                "test_accuracy": m["test_accuracy"],
                "train_subset": m["spec"].get("train_subset") or m.get("n_train"),
                "epochs": m["epochs"],
                "gi_mass_mean": _mass(gi).mean(),
                "cgi_mass_mean": _mass(cgi).mean(),
                "cgi_share_of_gi_mass": share[0],
                "cgi_all_zero_maps": int((_mass(cgi) == 0).sum()),
                "images": len(gi),
            }
        )
    gi_ratio = _nanstats(_ratio(_mass(r["gi_random_labels"]), _mass(r["gi_normal"])))
    cgi_ratio = _nanstats(_ratio(_mass(r["cgi_random_labels"]), _mass(r["cgi_normal"])))
    table = pd.DataFrame(rows)
    table["gi_mass_ratio_to_normal"] = [1.0, gi_ratio[0]]
    table["cgi_mass_ratio_to_normal"] = [1.0, cgi_ratio[0]]
    save_csv(csv, table)
    n = min(n_display, len(r["x"]))
    cols = [
        ("input", lambda i: r["x"][i], "input"),
        ("GI (normal)", lambda i: viz.diverging(r["gi_normal"][i]), "signed"),
        ("CGI (normal)", lambda i: viz.diverging(r["cgi_normal"][i]), "signed"),
        ("GI (random labels)", lambda i: viz.diverging(r["gi_random_labels"][i]), "signed"),
        ("CGI (random labels)", lambda i: viz.diverging(r["cgi_random_labels"][i]), "signed"),
    ]
    plt = pyplot()
    fig, axes = plt.subplots(n, len(cols), figsize=(1.2 * len(cols), 1.2 * n), squeeze=False)
    for i in range(n):
        for j, (title, get, kind) in enumerate(cols):
            _show(axes[i, j], get(i), kind, title if i == 0 else "")
    save(fig, png, pdf)
    subset = rand["spec"].get("train_subset") or rand.get("n_train")
    paper_subset = rand["spec"].get("paper", {}).get("train_subset")
    write_entry(
        entry,
        doc=DOC,
        name="data_randomization",
        title="Data randomisation: GI and CGI of the permuted-label AlexNet (Fig. 7)",
        caption=(
            f"Rows: the first {n} test-bed images. The 1-channel AlexNet trained on the true "
            f"labels (test accuracy {normal['test_accuracy']:.3f}) and the same architecture "
            f"trained on permuted labels: training accuracy {rand['train_accuracy']:.3f} against "
            f"the permuted labels on a {subset}-image training subset"
            + (f" (paper: {paper_subset})" if paper_subset else "")
            + f", {rand['epochs']} epochs; test accuracy {rand['test_accuracy']:.3f} against the "
            "true labels. Maps of each net's predicted class, diverging, each normalised on its "
            f"own. Masses over {int(table.images.iloc[0])} test-bed images in the CSV."
        ),
        statement=(
            "Trained on random labels (to > 98% training accuracy), the network's CGI maps "
            "disappear, while GI maps still look like the digit."
        ),
        measured=(
            f"Random-label net / normal net, mean per-image ratio of sum |map|: CGI "
            f"{cgi_ratio[0]:.3g} ± {cgi_ratio[1]:.2g}, GI {gi_ratio[0]:.3g} ± {gi_ratio[1]:.2g}. "
            f"CGI keeps {table.cgi_share_of_gi_mass.iloc[1]:.2f} of GI's mass on the random-label "
            f"net vs {table.cgi_share_of_gi_mass.iloc[0]:.2f} on the normal net. The random-label "
            f"net reached {rand['train_accuracy']:.3f} training accuracy"
            + (" (below the paper's > 0.98)." if rand["train_accuracy"] <= 0.98 else ".")
            + (
                f" CGI disappears (< {MASS_THRESHOLD}), as the paper says."
                if cgi_ratio[0] < MASS_THRESHOLD
                else f" CGI does not disappear (ratio >= {MASS_THRESHOLD}): the paper's claim "
                "does not reproduce here."
            )
        ),
        files=[png, pdf, csv],
        claims=[
            Claim(
                f"{DOC}.cgi_mass_random_labels",
                DOC,
                f"{DOC}/data_randomization",
                "CGI maps of the permuted-label net disappear: sum |CGI| relative to the "
                "normally trained net's, mean over images",
                cgi_ratio[0],
                f"small (< {MASS_THRESHOLD})",
                bool(cgi_ratio[0] < MASS_THRESHOLD),
            ),
            Claim(
                f"{DOC}.gi_mass_random_labels",
                DOC,
                f"{DOC}/data_randomization",
                "contrast: GI maps of the permuted-label net do not disappear: sum |GI| "
                "relative to the normally trained net's",
                gi_ratio[0],
                f"not small (>= {MASS_THRESHOLD})",
                bool(gi_ratio[0] >= MASS_THRESHOLD),
            ),
        ],
    )
    return table


# --------------------------------------------------------------------------------------------
# beyond the paper: rank correlation under cascading randomisation


def rank_table(r: dict) -> pd.DataFrame:
    """Spearman (|.| and signed) between the trained net's map and each step's, per method."""
    rows = []
    for method in r["methods"]:
        for competitive in (False, True):
            key = f"maps_competitive_{method}" if competitive else f"maps_{method}"
            maps = r[key]
            for view, absolute in (("abs", True), ("signed", False)):
                for s, step in enumerate(r["steps"]):
                    rho = similarity.spearman(maps[0], maps[s], absolute=absolute)
                    mean, std, n = _nanstats(rho)
                    rows.append(
                        {
                            "model": _str(r["model"]),
                            "method": label(str(method), competitive),
                            "step": str(step),
                            "depth": s,
                            "view": view,
                            "mean": mean,
                            "std": std,
                            "n_valid": n,
                            "n_nan": len(rho) - n,
                        }
                    )
    return pd.DataFrame(rows)


def competition_rank(npzs: Sequence, png, pdf, csv, entry) -> pd.DataFrame:
    results = [load_npz(p) for p in npzs]
    by_model: dict[str, list] = {}
    for r in results:
        by_model.setdefault(_str(r["model"]), []).append(r)
    tables = [rank_table(r).assign(images=r["x"].shape[0]) for r in results]
    table = pd.concat(tables, ignore_index=True)
    save_csv(csv, table)
    plt = pyplot()
    models = list(dict.fromkeys(table.model))
    fig, axes = plt.subplots(len(models), 2, figsize=(8, 2.8 * len(models)), squeeze=False)
    for i, model in enumerate(models):
        sub = table[table.model == model]
        for j, view in enumerate(("abs", "signed")):
            ax = axes[i, j]
            for k, method in enumerate(dict.fromkeys(sub.method)):
                t = sub[(sub.method == method) & (sub.view == view)].drop_duplicates("depth")
                style = "-" if method.startswith("C") and method[1:] in sub.method.values else "--"
                ax.plot(t.depth, t["mean"], style, marker="o", ms=3, color=f"C{k // 2}",
                        label=f"{method} (n={int(t.images.iloc[0])})")  # fmt: skip
                ax.fill_between(t.depth, t["mean"] - t["std"], t["mean"] + t["std"],
                                alpha=0.15, color=f"C{k // 2}")  # fmt: skip
            steps = list(dict.fromkeys(sub.step))
            ax.set_xticks(range(len(steps)), steps, rotation=45, fontsize=6)
            ax.axhline(0, color="0.6", lw=0.5)
            shown = "|map|" if view == "abs" else "signed"
            ax.set(ylim=(-0.5, 1.05), ylabel="Spearman vs trained",
                   title=f"{model}: rank correlation ({shown})")  # fmt: skip
            ax.legend(fontsize=5)
    fig.tight_layout()
    save(fig, png, pdf)
    last = table.groupby(["model", "method", "view"]).apply(
        lambda t: t.sort_values("depth").iloc[-1], include_groups=False
    )
    write_entry(
        entry,
        doc=DOC,
        name="competition_rank",
        title="Rank correlation under cascading randomisation: plain vs competitive methods",
        caption=(
            "Beyond the paper, as adebayo2018 Fig. 2: Spearman rank correlation between the "
            "trained net's map and the map after each cascading randomisation step, on |map| "
            "(left) and signed (right); mean ± 1 std over the images (n in the legend; DASP's "
            "cost limits its number of images). Dashed: plain method; solid: its competitive "
            "variant. An all-zero map has no ranks (NaN, left out of the mean; counts in the "
            "CSV's n_nan)."
        ),
        statement=(
            "Not in the paper: competition should make the maps lose their rank correlation "
            "with the trained net's maps once the net is randomised."
        ),
        measured="Fully randomised, mean Spearman (|.|, signed): "
        + "; ".join(
            f"{model} {method} {last.loc[(model, method, 'abs'), 'mean']:.2f}, "
            f"{last.loc[(model, method, 'signed'), 'mean']:.2f}"
            for model, method in dict.fromkeys((m, k) for m, k, _ in last.index)
        )
        + ".",
        files=[png, pdf, csv],
    )
    return table
