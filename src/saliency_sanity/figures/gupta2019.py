"""gupta2019 figures (competition for pixels: CGI, CLRP, CDASP), drawn from saved results only.

Every function reads the ``.npz`` written by :mod:`saliency_sanity.experiments.gupta2019`,
writes png + pdf, a CSV of the numbers shown, and the gallery entry (with claims where
FIGURES.md lists them). Maps are shown as in the paper: signed maps on a red/blue diverging scale,
absolute maps clipped at the 99th percentile, each map normalised on its own unless a caption
says otherwise. The fixed text of each figure is in ``workflow/report/gupta2019/<name>.rst``.

Competition is read with scale-free measures (REPLICATION-NOTES, "gupta2019, scale"): after
cascading randomisation the network's outputs shrink and every map's mass with them, so "sum
|CGI| relative to the trained net's" measures the network's scale, not whether CGI vanishes.
The claims use the share of the plain map's mass that competition keeps on the same network,
the fraction of the plain map's pixels that CGI keeps (the paper's 1/k argument), and rank
correlations read against the null of two untrained copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from saliency_sanity import similarity
from saliency_sanity.catalogue import (
    C,
    Field,
    Metrics,
    Result,
    figure,
    imagenet_fields,
    imagenet_on,
)
from saliency_sanity.experiments import GUPTA2019_RUNS as RUNS
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
from saliency_sanity.verdicts import is_sensitive, read_against_null

DOC = "gupta2019"
#: claim-id names of the methods whose rank claims FIGURES.md lists
CLAIM_NAMES = {"GI": "gi", "CGI": "cgi", "LRP-ε": "lrp", "CLRP-ε": "clrp", "LRP-0": "lrp",
               "CLRP-0": "clrp"}  # fmt: skip
GUPTA_MODEL = C("gupta2019.model")


def label(method: str, competitive: bool = False) -> str:
    """The registry's short label of a base method ("GI", "LRP-ε"), or of its competitive
    variant ("CGI", "CLRP-ε")."""
    return method_label(f"competitive_{method}" if competitive else method)


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


def _common_diverging(maps: np.ndarray) -> np.ndarray:
    """Signed maps (K, H, W) over ONE scale: the 99th percentile of |m| over all of them."""
    scale = np.percentile(np.abs(maps), 99) or np.abs(maps).max()
    return np.clip(maps / scale, -1, 1) if scale > 0 else np.zeros_like(maps)


def _claim(id_, figure_, kind, text, measured, rule, why, null=None, on_failure=""):
    return Claim(f"{DOC}.{id_}", DOC, f"{DOC}/{figure_}", kind, text, float(measured), rule, why,
                 null, on_failure)  # fmt: skip


def _entry(entry, name, files, details, measured, claims=()):
    write_entry(entry, doc=DOC, name=name, details=details, measured=measured, files=files,
                claims=claims)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Fig. 1: all logits


@figure(DOC, "all_logits", inputs={"results": Result("gupta2019/all_logits")})
def all_logits(*, results, png, pdf, csv, entry) -> pd.DataFrame:
    """GI maps for every logit of one "3", and each class's competitive map (who wins a pixel)."""
    r = load_npz(results)
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
    fig, axes = plt.subplots(2, k + 1, figsize=(1.15 * (k + 1), 2.9))
    show_input(axes[0, 0], r["x"], f"input\nlabel {int(r['label'])}")
    axes[1, 0].axis("off")
    gi_view, comp_view = _common_diverging(maps), _common_diverging(comp)
    for c in range(k):
        mark = " *" if c == pred else ""
        show_signed(axes[0, c + 1], gi_view[c], f"GI, logit {c}{mark}\n{logits[c]:.2f}",
                    normalised=True)  # fmt: skip
        show_signed(axes[1, c + 1], comp_view[c], f"CGI, class {c}\n{table.cgi_pixels[c]} px",
                    normalised=True)  # fmt: skip
    fig.tight_layout(pad=0.3)
    save(fig, png, pdf)
    won = table.cgi_pixels.sum()
    kept = table.cgi_abs_sum[pred] / max(table.gi_abs_sum[pred], 1e-30)
    _entry(entry, Path(entry).stem, [png, pdf, csv],
           f"Test image {int(r['index'])} (the first {_str(r['source'])} image labelled "
           f"{int(r['label'])}; predicted {pred}, marked *).",
           f"The predicted class's CGI keeps {table.cgi_pixels[pred]} of the {nonzero_gi} "
           f"nonzero GI pixels ({kept:.2f} of its GI mass); over the ten classes, {won} pixel "
           "wins in total.")  # fmt: skip
    return table


# --------------------------------------------------------------------------------------------
# Fig. 2: score histogram


def _gauss(x, mean, std):
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))


@figure(DOC, "score_histogram", inputs={"results": Result("gupta2019/score_histogram")})
def score_histogram(*, results, png, pdf, csv, entry) -> pd.DataFrame:
    """Histogram of GI scores (predicted class, nonzero input pixels) with 2/3-Gaussian fits."""
    r = load_npz(results)
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
    fig.tight_layout(pad=0.4)
    save(fig, png, pdf)
    best = int(r["components"][int(np.argmin(r["bic"]))])
    bics = ", ".join(f"k={int(k)}: {b:.5g}" for k, b in zip(r["components"], r["bic"], strict=True))
    two = table[table.k == int(r["components"][0])]
    _entry(entry, Path(entry).stem, [png, pdf, csv],
           f"{int(r['n_images'])} test-bed images, {len(scores)} pixels with nonzero input; the "
           f"{int(r['n_zero_input'])} background pixels (input exactly 0, GI exactly 0) are left "
           "out.",
           f"BIC prefers the {best}-component fit ({bics}). Smallest mixture: "
           + "; ".join(f"weight {w:.2f}, mean {m:.3g}, sd {s:.3g}"
                       for w, m, s in zip(two.weight, two["mean"], two["std"], strict=True))
           + ".")  # fmt: skip
    return table


# --------------------------------------------------------------------------------------------
# Fig. 3: approximate completeness


def _completeness_sets(gi_npz, dasp_npz):
    gi = load_npz(gi_npz)
    for model in gi["models"]:
        yield str(model), "gradient_input", gi[f"logits_{model}"], gi[f"sums_{model}"]
    if dasp_npz is None:  # the ImageNet tier: DASP on 150 528 players is out of reach
        return
    d = load_npz(dasp_npz)
    if "sums_dasp" in d:
        yield _str(d["model"]), "dasp", d["logits"][0], d["sums_dasp"][0]  # the trained step


@figure(DOC, "approximate_completeness",
        inputs={"gi": Result("gupta2019/approximate_completeness"),
                "dasp": Result("gupta2019/cascading_cdasp")})  # fmt: skip
def approximate_completeness(*, gi, png, pdf, csv, entry, dasp=None) -> pd.DataFrame:
    """Sum of map vs logit, every class of every image, with the linear fit (alpha, beta, r²)."""
    sets = list(_completeness_sets(gi, dasp))
    rows = []
    plt = pyplot()
    fig, axes = plt.subplots(1, len(sets), figsize=(3.1 * len(sets), 3.0), squeeze=False)
    for ax, (model, method, logits, sums) in zip(axes[0], sets, strict=True):
        fit = linear_fit(logits, sums)
        pred = logits.argmax(1)
        top = np.zeros_like(logits, dtype=bool)
        top[np.arange(len(logits)), pred] = True
        fit_top = linear_fit(logits[top], sums[top]) if top.sum() >= 2 else None
        common = {"model": model, "method": method, "images": len(logits)}
        rows.append({**common, "classes": "all", **fit})
        if fit_top is not None:
            rows.append({**common, "classes": "predicted", **fit_top})
        ax.scatter(logits[~top], sums[~top], s=3, alpha=0.4, label="other logits")
        ax.scatter(logits[top], sums[top], s=5, alpha=0.8, color="C3", label="predicted class")
        grid = np.linspace(logits.min(), logits.max(), 50)
        ax.plot(grid, fit["alpha"] * grid + fit["beta"], "k-", lw=1)
        ax.set(xlabel="logit", ylabel="sum of map",
               title=f"{label(method)}, {model} ({len(logits)} images)\n"
                     f"α={fit['alpha']:.3g}, β={fit['beta']:.3g}, r²={fit['r2']:.3f}")  # fmt: skip
        ax.legend(fontsize=5)
    fig.tight_layout(pad=0.4)
    save(fig, png, pdf)
    table = pd.DataFrame(rows)
    save_csv(csv, table)
    all_rows = table[table.classes == "all"]
    dasp_rows = all_rows[all_rows.method == "dasp"]
    _entry(entry, Path(entry).stem, [png, pdf, csv],
           (f"DASP on {int(dasp_rows.images.iloc[0])} image(s), with the cascading_cdasp "
            "experiment's coalition sizes." if len(dasp_rows) else ""),
           " ".join(f"{label(r.method)} on {r.model}: alpha {r.alpha:.3g}, beta {r.beta:.3g}, "
                    f"r² {r.r2:.3f} ({r.n} points)." for r in all_rows.itertuples()))  # fmt: skip
    return table


# --------------------------------------------------------------------------------------------
# Fig. 4: CGI vs GI maps


@figure(DOC, "cgi_maps", inputs={"results": Result("gupta2019/cgi_maps")})
def cgi_maps(*, results, png, pdf, csv, entry) -> pd.DataFrame:
    r = load_npz(results)
    gi, cgi = r["gi"], r["cgi"]
    n = len(gi)
    table = pd.DataFrame(
        {
            "index": r["indices"],
            "label": r["labels"],
            "prediction": r["predictions"],
            "cgi_share_of_gi_mass": _ratio(_mass(cgi), _mass(gi)),
            "gi_pixels": (gi != 0).reshape(n, -1).sum(1),
            "cgi_pixels": (cgi != 0).reshape(n, -1).sum(1),
        }
    )
    save_csv(csv, table)
    plt = pyplot()
    lp, lc = label("gradient_input"), label("gradient_input", competitive=True)
    views = [("input", r["x"], show_input), (lp, gi, show_signed), (lc, cgi, show_signed),
             (f"|{lp}|", gi, show_absolute), (f"|{lc}|", cgi, show_absolute)]  # fmt: skip
    fig, axes = plt.subplots(len(views), n, figsize=(1.05 * n + 0.8, 1.1 * len(views)),
                             squeeze=False)  # fmt: skip
    for j in range(n):
        for i, (_, imgs, show) in enumerate(views):
            title = f"label {r['labels'][j]}\npred {r['predictions'][j]}" if i == 0 else ""
            show(axes[i, j], imgs[j], title)
    for i, (name, _, _) in enumerate(views):
        row_label(axes[i, 0], name)
    fig.tight_layout(pad=0.3)
    save(fig, png, pdf)
    mean, std, _ = _nanstats(table.cgi_share_of_gi_mass)
    _entry(entry, Path(entry).stem, [png, pdf, csv], f"The first {n} test-bed images.",
           f"CGI keeps {mean:.2f} ± {std:.2f} of GI's mass and "
           f"{table.cgi_pixels.sum() / max(table.gi_pixels.sum(), 1):.2f} of its nonzero pixels "
           f"(mean over the {n} images).")  # fmt: skip
    return table


# --------------------------------------------------------------------------------------------
# Figs. 5, 6, 8-10: randomisation


def _kept(plain: np.ndarray, comp: np.ndarray) -> np.ndarray:
    """Per image, the fraction of the plain map's nonzero pixels that the competitive map keeps
    (NaN for an all-zero plain map)."""
    n = len(plain)
    nonzero = (plain != 0).reshape(n, -1).sum(1).astype(np.float64)
    kept = (comp != 0).reshape(n, -1).sum(1)
    return np.divide(kept, nonzero, out=np.full(n, np.nan), where=nonzero > 0)


def _rank(a: np.ndarray, b: np.ndarray) -> tuple[float, float, int]:
    return _nanstats(similarity.spearman(a, b, absolute=True))


def competition_table(r: dict, method: str) -> pd.DataFrame:
    """Per step: the scale-free competition measures and the rank correlations with the trained
    network's maps, with the null (two untrained copies) of the rank correlations."""
    plain, comp = r[f"maps_{method}"], r[f"maps_competitive_{method}"]
    null_p, null_c = r[f"null_maps_{method}"], r[f"null_maps_competitive_{method}"]
    null_plain, null_comp = _rank(null_p[0], null_p[1]), _rank(null_c[0], null_c[1])
    rows = []
    for s, step in enumerate(r["steps"]):
        share = _nanstats(_ratio(_mass(comp[s]), _mass(plain[s])))
        kept = _nanstats(_kept(plain[s], comp[s]))
        rp, rc = _rank(plain[0], plain[s]), _rank(comp[0], comp[s])
        rows.append({
            "step": str(step), "depth": s, "method": method,
            "accuracy": float(r["accuracy"][s]),
            "competition_share_mean": share[0], "competition_share_std": share[1],
            "pixels_kept_mean": kept[0], "pixels_kept_std": kept[1],
            "one_over_k": 1.0 / int(r["n_classes"]),
            "plain_rank_abs_mean": rp[0], "plain_rank_abs_std": rp[1],
            "competitive_rank_abs_mean": rc[0], "competitive_rank_abs_std": rc[1],
            "competitive_rank_n": rc[2],
            "null_plain_rank_abs": null_plain[0], "null_competitive_rank_abs": null_comp[0],
            "competitive_all_zero_maps": int((_mass(comp[s]) == 0).sum()),
            "images": len(plain[s]),
        })  # fmt: skip
    return pd.DataFrame(rows)


#: where the MNIST tier's randomisation claims were measured (the paper's cascade is VGG-19's)
MNIST_ANALOGUE = "the MNIST AlexNet analogue of the paper's VGG-19 cascade"


def _cascade_claims(table: pd.DataFrame, figure_: str, blank_share: float,
                    where: str = MNIST_ANALOGUE) -> list[Claim]:  # fmt: skip
    """competition_share.<step> and pixels_kept.<step> (FIGURES.md), read against the trained
    network's share and against 1/K (the paper's "1/k" argument)."""
    trained = table.iloc[0]
    share0, k_null = float(trained.competition_share_mean), float(trained.one_over_k)
    claims = [
        _claim("competition_share.trained", figure_, "identity",
               "competition keeps part of the plain map (Sec. 3): sum |CGI| / sum |GI| on the "
               "trained net, mean over images", share0, "|measured - 0.5| < 0.5",
               "0 < share < 1: competition only removes pixels"),
        _claim("pixels_kept.trained", figure_, "beyond",
               "on the trained net the explained class wins more of GI's pixels than "
               "exchangeable classes would (1/K)", trained.pixels_kept_mean,
               f"measured > {k_null:.4g}", "more than 1/K", None,
               f"genuine: CGI keeps {trained.pixels_kept_mean:.2f} of GI's pixels, not more than "
               f"1/K = {k_null:.2f}"),
    ]  # fmt: skip
    for row in table.iloc[1:].itertuples():
        claims += [
            _claim(f"competition_share.{row.step}", figure_, "empirical",
                   f"CGI maps become almost blank once the net is randomised down to {row.step} "
                   "(Sec. 5, Figs. 5, 8-10): the share of GI's mass that competition keeps, "
                   "against the trained net's share (null)", row.competition_share_mean,
                   f"measured < {blank_share:g} * null",
                   f"almost blank: less than {blank_share:g} x the trained net's share",
                   share0,
                   f"genuine, on {where}: CGI keeps {row.competition_share_mean:.2f} of GI's "
                   f"mass after randomising down to {row.step}, the trained net {share0:.2f}: "
                   "competition removes no more of the map once the net is randomised"),
            _claim(f"pixels_kept.{row.step}", figure_, "empirical",
                   f"after randomising down to {row.step}, CGI keeps ~1/K of GI's pixels "
                   "(the paper's 1/k argument for 'almost blank')",
                   row.pixels_kept_mean, f"|measured - {k_null:.4g}| < 0.05", "about 1/K", None,
                   f"genuine, on {where}: CGI keeps {row.pixels_kept_mean:.2f} of GI's "
                   f"nonzero pixels, not 1/K = {k_null:.2f}. By the paper's own rule a class "
                   "keeps a pixel where its score is the largest (if positive) or the smallest "
                   "(if negative) of all K, two disjoint events of chance 1/K each for "
                   f"exchangeable classes: ~2/K = {2 * k_null:.2f}, not 1/K"),
        ]  # fmt: skip
    return claims


def rank_claim(id_, figure_, text, expected, measured, null, margin, where) -> Claim:
    """A Spearman |map| claim read against its null (:mod:`saliency_sanity.verdicts`): a row
    whose null has no power is an identity when it claims "insensitive" (true by construction
    of the input: zero pixels tie in GI and LRP on MNIST), never evidence. ``where`` says on
    which network the claim was measured, for the sentence of a failing row."""
    reading = read_against_null(expected, null, margin)
    kind = "identity" if reading.no_power and expected == "insensitive" else "empirical"
    numbers = f"measured {measured:.2f}, two untrained copies {null:.2f}"
    if reading.no_power and expected == "sensitive":
        why = "two untrained copies' maps already agree: the input, not the weights, sets the map"
    elif expected == "insensitive":
        why = "the maps share only what any two nets of this architecture share on these inputs"
    else:
        why = "the maps stay more alike than two untrained copies' maps"
    failure = f"genuine, {where}: {numbers}; {why}"
    return _claim(id_, figure_, kind, text, measured, reading.rule, reading.why, null, failure)


def _rank_claims(table, plain: str, comp: str, figure_: str, margin: float,
                 where: str = MNIST_ANALOGUE) -> list[Claim]:  # fmt: skip
    """final_rank.<plain|comp>: Spearman |map| trained vs fully randomised, against the null
    (the paper: the competitive map changes, the plain one does not)."""
    last = table.iloc[-1]
    return [
        rank_claim(f"final_rank.{CLAIM_NAMES[plain]}", figure_,
                   f"the plain {plain} map does not change under cascading randomisation (Sec. 5; "
                   "paper: VGG-19): Spearman |map| trained vs fully randomised", "insensitive",
                   last.plain_rank_abs_mean, last.null_plain_rank_abs, margin, f"on {where}"),
        rank_claim(f"final_rank.{CLAIM_NAMES[comp]}", figure_,
                   f"the competitive {comp} map changes under cascading randomisation (Sec. 5): "
                   "Spearman |map| trained vs fully randomised", "sensitive",
                   last.competitive_rank_abs_mean, last.null_competitive_rank_abs, margin,
                   f"on {where}"),
    ]  # fmt: skip


#: the runs whose figure carries claims: run -> (plain label, competitive label) or None
RUN_CLAIMS = {"cascading_cgi": True, "cascading_clrp": True}


@figure(DOC, "{run}", over={"run": RUNS}, caption="{run}",
        inputs={"results": Result("gupta2019/{run}")},
        params={"run": Field("run"), "n_display": C("gupta2019.randomization.display"),
                "margin": C("gupta2019.rank_margin"),
                "blank_share": C("gupta2019.blank_share")})  # fmt: skip
@figure(
    DOC,
    "{run}_{model}",
    caption="{run}_imagenet",
    when=imagenet_on,
    fields=imagenet_fields,
    over={"run": ("layerwise_cgi", "cascading_cgi"), "model": ("vgg19",)},
    inputs={"results": Result("gupta2019/{run}_{model}")},
    params=lambda cfg, run, model: {
        "run": run,
        "suffix": f".{model}",
        "random_weights": cfg["imagenet"]["weights"] is None,
        "n_display": cfg["imagenet"]["gupta2019"]["randomization"]["display"],
        "margin": cfg["gupta2019"]["rank_margin"],
        "blank_share": cfg["gupta2019"]["blank_share"],
    },
)
@figure(DOC, "cascading_clrp_vgg16", caption="cascading_clrp_imagenet", when=imagenet_on,
        fields=imagenet_fields, inputs={"results": Result("gupta2019/cascading_clrp_vgg16")},
        params=lambda cfg: {"run": "cascading_clrp", "suffix": ".vgg16",
                            "random_weights": cfg["imagenet"]["weights"] is None,
                            "n_display": cfg["imagenet"]["gupta2019"]["randomization"]["display"],
                            "margin": cfg["gupta2019"]["rank_margin"],
                            "blank_share": cfg["gupta2019"]["blank_share"]})  # fmt: skip
def randomization_grid(*, results, run: str, png, pdf, csv, entry, n_display: int = 2,
                       margin: float = 0.1, blank_share: float = 0.5, suffix: str = "",
                       random_weights: bool = False) -> pd.DataFrame:  # fmt: skip
    """Plain vs competitive maps after each randomisation step (columns), diverging and
    absolute views (rows), for the first ``n_display`` images; CSV of the competition measures
    and rank correlations per step."""
    r = load_npz(results)
    procedure = _str(r["procedure"])
    method = str(r["methods"][0])
    steps = [str(s) for s in r["steps"]]
    table = competition_table(r, method)
    save_csv(csv, table)
    plain, comp = r[f"maps_{method}"], r[f"maps_competitive_{method}"]
    n_display = min(n_display, plain.shape[1])
    lp, lc = label(method), label(method, competitive=True)
    rows = []
    for i in range(n_display):
        rows += [(f"{lp}, image {i}", show_signed, plain[:, i]),
                 (f"{lc}, image {i}", show_signed, comp[:, i]),
                 (f"|{lp}|, image {i}", show_absolute, plain[:, i]),
                 (f"|{lc}|, image {i}", show_absolute, comp[:, i])]  # fmt: skip
    plt = pyplot()
    ncol = len(steps) + 1
    fig, axes = plt.subplots(len(rows), ncol, figsize=(0.95 * ncol + 1.0, 1.0 * len(rows) + 0.4),
                             squeeze=False)  # fmt: skip
    for i, (row_name, show, imgs) in enumerate(rows):
        if i % 4 == 0:
            show_input(axes[i, 0], r["x"][i // 4], "input" if i == 0 else "")
            row_label(axes[i, 0], row_name)
        else:
            label_cell(axes[i, 0], row_name)
        for s, step in enumerate(steps):
            title = f"{step}\nacc {r['accuracy'][s]:.2f}" if i == 0 else ""
            show(axes[i, s + 1], imgs[s], title)
    fig.tight_layout(pad=0.3, h_pad=0.2, w_pad=0.2)
    save(fig, png, pdf)
    name = Path(entry).stem
    claims = []
    where = MNIST_ANALOGUE if not suffix else f"{_str(r['model'])}, the paper's network"
    if run == "cascading_cgi":
        claims += _cascade_claims(table, name, blank_share, where)
    if run in RUN_CLAIMS:
        claims += _rank_claims(table, lp, lc, name, margin, where)
    if suffix:
        claims = tier_claims(claims, suffix=suffix, random_weights=random_weights)
    last = table.iloc[-1]
    after = "and every layer above it" if procedure == "cascading" else "alone"
    passes = is_sensitive(last.competitive_rank_abs_mean, last.null_competitive_rank_abs, margin)
    measured = (
        f"After randomising {last.step} {after}: {lc} keeps {last.competition_share_mean:.2f} of "
        f"{lp}'s mass (trained net: {table.competition_share_mean.iloc[0]:.2f}) and "
        f"{last.pixels_kept_mean:.2f} of its nonzero pixels (1/K = {last.one_over_k:.2f}; "
        f"trained: {table.pixels_kept_mean.iloc[0]:.2f}); "
        f"{int(last.competitive_all_zero_maps)} of {int(last.images)} {lc} maps are all zero. "
        f"Spearman |map| with the trained net's map: {lp} {last.plain_rank_abs_mean:.2f} "
        f"(untrained copies: {last.null_plain_rank_abs:.2f}), {lc} "
        f"{last.competitive_rank_abs_mean:.2f} (untrained copies: "
        f"{last.null_competitive_rank_abs:.2f}). "
        + (f"{lc} passes the rank test (no more alike than two untrained copies, margin "
           f"{margin:g})." if passes else f"{lc} does not pass the rank test.")
        + (" 'Almost blank' in the sense of sparsity does not hold: the competitive maps keep "
           "about as much of the plain map as on the trained net." if
           last.competition_share_mean >= blank_share * table.competition_share_mean.iloc[0]
           else "")
    )  # fmt: skip
    details = (f"{int(last.images)} test-bed images (first {n_display} shown); explained class: "
               f"{_str(r['explained']).replace('_', ' ')}; untrained copies seeded "
               f"{', '.join(str(int(s)) for s in r['null_seeds'])}.")  # fmt: skip
    if "param_dasp_coalition_sizes" in r:
        details += f" DASP with {int(r['param_dasp_coalition_sizes'])} coalition size(s)."
    if int(r.get("competition", -1)) > 0:
        details += (f" Competition over the explained class and the top {int(r['competition']) - 1}"
                    " other classes by logit (all 1000 do not fit).")  # fmt: skip
    _entry(entry, name, [png, pdf, csv], details, measured, claims)
    return table


# --------------------------------------------------------------------------------------------
# Fig. 7: data randomisation


@figure(DOC, "data_randomization",
        inputs={"results": Result("gupta2019/data_randomization"),
                "null": Result("gupta2019/cascading_cgi"),
                "normal_metrics": Metrics(GUPTA_MODEL),
                "random_metrics": Metrics(GUPTA_MODEL, "random_labels")},
        params={"n_display": C("gupta2019.data_randomization.display"),
                "margin": C("gupta2019.rank_margin")})  # fmt: skip
def data_randomization(*, results, null, normal_metrics, random_metrics, png, pdf, csv, entry,
                       n_display: int = 4, margin: float = 0.1) -> pd.DataFrame:  # fmt: skip
    r, nul = load_npz(results), load_npz(null)
    normal, rand = load_json(normal_metrics), load_json(random_metrics)
    n = len(r["gi_normal"])
    ranks = {key: _rank(r[f"{key}_normal"], r[f"{key}_random_labels"]) for key in ("gi", "cgi")}
    nulls = {"gi": _rank(*nul["null_maps_gradient_input"][:, :n]),
             "cgi": _rank(*nul["null_maps_competitive_gradient_input"][:, :n])}  # fmt: skip
    rows = []
    for net, m in (("normal", normal), ("random_labels", rand)):
        gi, cgi = r[f"gi_{net}"], r[f"cgi_{net}"]
        rows.append({
            "net": net, "train_accuracy": m["train_accuracy"], "test_accuracy": m["test_accuracy"],
            "train_subset": m["spec"].get("train_subset") or m.get("n_train"),
            "epochs": m["epochs"],
            "cgi_share_of_gi_mass": _nanstats(_ratio(_mass(cgi), _mass(gi)))[0],
            "cgi_all_zero_maps": int((_mass(cgi) == 0).sum()), "images": len(gi),
            "gi_rank_abs_vs_normal": ranks["gi"][0] if net == "random_labels" else 1.0,
            "cgi_rank_abs_vs_normal": ranks["cgi"][0] if net == "random_labels" else 1.0,
            "null_gi_rank_abs": nulls["gi"][0], "null_cgi_rank_abs": nulls["cgi"][0],
        })  # fmt: skip
    table = pd.DataFrame(rows)
    save_csv(csv, table)
    k = min(n_display, len(r["x"]))
    lp, lc = label("gradient_input"), label("gradient_input", competitive=True)
    cols = [("input", show_input, r["x"]), (f"{lp} (normal)", show_signed, r["gi_normal"]),
            (f"{lc} (normal)", show_signed, r["cgi_normal"]),
            (f"{lp} (random labels)", show_signed, r["gi_random_labels"]),
            (f"{lc} (random labels)", show_signed, r["cgi_random_labels"])]  # fmt: skip
    plt = pyplot()
    fig, axes = plt.subplots(k, len(cols), figsize=(1.25 * len(cols), 1.2 * k + 0.3),
                             squeeze=False)  # fmt: skip
    for i in range(k):
        for j, (title, show, imgs) in enumerate(cols):
            show(axes[i, j], imgs[i], title.replace(" (", "\n(") if i == 0 else "")
    fig.tight_layout(pad=0.3)
    save(fig, png, pdf)
    subset = rand["spec"].get("train_subset") or rand.get("n_train")
    paper_subset = rand["spec"].get("paper", {}).get("train_subset")
    fig_id = "data_randomization"
    claims = [
        _claim("random_label_train_accuracy", fig_id, "empirical",
               "AlexNet fits permuted labels to > 98% training accuracy (Sec. 5, Fig. 7)",
               rand["train_accuracy"], "measured > 0.98", "> 0.98",
               on_failure=f"limit of the CPU budget: {rand['train_accuracy']:.3f} on a "
               f"{subset}-image subset"),
        _claim("random_label_test_accuracy", fig_id, "empirical",
               "the permuted-label AlexNet is at chance on the true test labels",
               rand["test_accuracy"], "|measured - 0.1| < 0.05", "chance, ~1/K",
               on_failure=f"genuine: test accuracy {rand['test_accuracy']:.3f}"),
        rank_claim("data_randomization_rank.gi", fig_id,
                   "GI maps of the permuted-label net still look like the normal net's (Fig. 7): "
                   "Spearman |map| normal vs permuted-label net", "insensitive", ranks["gi"][0],
                   nulls["gi"][0], margin, "on the MNIST AlexNet, as the paper's Fig. 7"),
        rank_claim("data_randomization_rank.cgi", fig_id,
                   "CGI maps of the permuted-label net differ from the normal net's (Fig. 7): "
                   "Spearman |map| normal vs permuted-label net", "sensitive", ranks["cgi"][0],
                   nulls["cgi"][0], margin, "on the MNIST AlexNet, as the paper's Fig. 7"),
    ]  # fmt: skip
    _entry(entry, fig_id, [png, pdf, csv],
           f"Normal net: test accuracy {normal['test_accuracy']:.3f}. Permuted-label net: "
           f"training accuracy {rand['train_accuracy']:.3f} against the permuted labels on a "
           f"{subset}-image training subset" + (f" (paper: {paper_subset})" if paper_subset else "")
           + f", {rand['epochs']} epochs; test accuracy {rand['test_accuracy']:.3f} against the "
           f"true labels. Rank correlations over {n} test-bed images; the null (two untrained "
           "AlexNets) comes from the cascading_cgi experiment on the same images.",
           f"Spearman |map| normal vs permuted-label net: GI {ranks['gi'][0]:.2f} (untrained "
           f"copies {nulls['gi'][0]:.2f}), CGI {ranks['cgi'][0]:.2f} (untrained copies "
           f"{nulls['cgi'][0]:.2f}). CGI keeps {table.cgi_share_of_gi_mass.iloc[1]:.2f} of GI's "
           f"mass on the permuted-label net, {table.cgi_share_of_gi_mass.iloc[0]:.2f} on the "
           "normal net.", claims)  # fmt: skip
    return table


# --------------------------------------------------------------------------------------------
# beyond the paper: rank correlation under cascading randomisation


def _rank_series(r: dict):
    """(label, maps key, is a reference method) of every curve of a run: each method and its
    competitive variant, then the reference methods (random map, edge detector) where saved."""
    for method in r["methods"]:
        for competitive in (False, True):
            prefix = "maps_competitive_" if competitive else "maps_"
            yield label(str(method), competitive), f"{prefix}{method}", False
    for ref in r.get("references", ()):
        yield method_label(str(ref)), f"maps_{ref}", True


def rank_table(r: dict) -> pd.DataFrame:
    """Spearman (|.| and signed) between the trained net's map and each step's, per method (and
    per reference method: the two ends of the scale, Binder et al. 2023), and the same between
    the maps of two untrained copies (``null_mean``)."""
    rows = []
    for name, key, reference in _rank_series(r):
        maps, null = r[key], r[f"null_{key}"]
        for view, absolute in (("abs", True), ("signed", False)):
            null_mean = _nanstats(similarity.spearman(null[0], null[1], absolute=absolute))
            for s, step in enumerate(r["steps"]):
                rho = similarity.spearman(maps[0], maps[s], absolute=absolute)
                mean, std, n = _nanstats(rho)
                rows.append({"model": _str(r["model"]), "method": name, "reference": reference,
                             "step": str(step), "depth": s, "view": view, "mean": mean,
                             "std": std, "n_valid": n, "n_nan": len(rho) - n,
                             "null_mean": null_mean[0], "null_std": null_mean[1]})  # fmt: skip
    return pd.DataFrame(rows)


@figure(
    DOC,
    "competition_rank",
    inputs={"runs": [Result(f"gupta2019/{run}") for run in RUNS if run != "layerwise_cgi"]},
)
def competition_rank(*, runs: Sequence, png, pdf, csv, entry) -> pd.DataFrame:
    results = [load_npz(p) for p in runs]
    tables = [rank_table(r).assign(images=r["x"].shape[0]) for r in results]
    # the reference methods once per model (every run of a model saves them)
    table = pd.concat(tables, ignore_index=True).drop_duplicates(
        ["model", "method", "view", "depth"], ignore_index=True)  # fmt: skip
    save_csv(csv, table)
    plt = pyplot()
    models = list(dict.fromkeys(table.model))
    fig, axes = plt.subplots(len(models), 2, figsize=(8.5, 3.0 * len(models)), squeeze=False)
    for i, model in enumerate(models):
        sub = table[table.model == model]
        for j, view in enumerate(("abs", "signed")):
            ax = axes[i, j]
            plain = list(dict.fromkeys(sub.method[~sub.reference]))  # pairs: plain, competitive
            for method in plain + list(dict.fromkeys(sub.method[sub.reference])):
                t = sub[(sub.method == method) & (sub.view == view)].drop_duplicates("depth")
                reference = bool(t.reference.iloc[0])
                competitive = method.startswith("C") and method[1:] in sub.method.values
                color = "0.45" if reference else f"C{plain.index(method) // 2}"
                style = (0, (4, 2)) if reference else "-" if competitive else "--"
                ax.plot(t.depth, t["mean"], ls=style, marker="" if reference else "o", ms=3,
                        color=color, label=f"{method} (n={int(t.images.iloc[0])})")  # fmt: skip
                ax.fill_between(t.depth, t["mean"] - t["std"], t["mean"] + t["std"],
                                alpha=0.15, color=color)  # fmt: skip
                if not reference:  # a reference's null equals its curve (1 or ~0)
                    ax.axhline(float(t.null_mean.iloc[0]), color=color, lw=0.8,
                               ls=":" if competitive else (0, (1, 3)))  # fmt: skip
            steps = list(dict.fromkeys(sub.step))
            if len(steps) > 8:  # VGG's 20 layers: vertical labels
                ax.set_xticks(range(len(steps)), steps, rotation=90, ha="center", fontsize=5)
            else:
                ax.set_xticks(range(len(steps)), steps, rotation=45, ha="right", fontsize=6)
            ax.axhline(0, color="0.6", lw=0.5)
            shown = "|map|" if view == "abs" else "signed"
            ax.set(ylim=(-0.5, 1.05), ylabel="Spearman vs trained",
                   title=f"{model}: rank correlation ({shown})")  # fmt: skip
            ax.legend(fontsize=5, ncol=2)
    fig.tight_layout(pad=0.4)
    save(fig, png, pdf)
    last = table.groupby(["model", "method", "view"]).apply(
        lambda t: t.sort_values("depth").iloc[-1], include_groups=False
    )
    _entry(entry, Path(entry).stem, [png, pdf, csv], "",
           "Fully randomised, mean Spearman |map| (null: two untrained copies): "
           + "; ".join(f"{model} {method} {last.loc[(model, method, 'abs'), 'mean']:.2f} "
                       f"({last.loc[(model, method, 'abs'), 'null_mean']:.2f})"
                       for model, method in dict.fromkeys((m, k) for m, k, _ in last.index))
           + ".")  # fmt: skip
    return table


# --- the ImageNet tier: the same figures on VGG-19 ------------------------------------------------

for _name_, _fn in (("score_histogram", score_histogram), ("cgi_maps", cgi_maps)):
    figure(
        DOC,
        f"{_name_}_vgg19",
        when=imagenet_on,
        fields=imagenet_fields,
        inputs={"results": Result(f"gupta2019/{_name_}_vgg19")},
    )(_fn)
figure(
    DOC,
    "approximate_completeness_vgg19",
    when=imagenet_on,
    fields=imagenet_fields,
    inputs={"gi": Result("gupta2019/approximate_completeness_vgg19")},
)(approximate_completeness)
figure(
    DOC,
    "competition_rank_vgg19",
    when=imagenet_on,
    fields=imagenet_fields,
    inputs={"runs": [Result("gupta2019/cascading_cgi_vgg19")]},
)(competition_rank)
