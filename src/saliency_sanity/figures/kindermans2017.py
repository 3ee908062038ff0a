"""kindermans2017 figures (The (Un)reliability of saliency methods), from saved results only.

The fixed text of each figure is in ``workflow/report/kindermans2017/<name>.rst``. The invariance
claims (FIGURES.md): per shift and method, the max over the shown digits of
max |map2 - map1| / max |map1|. Invariance of Gradient, Guided Backprop (and of IG with the
black reference under a constant shift) holds by construction of network 2, as does the
invariance of the ``covariance`` and ``linear`` pattern estimators: those rows are identity
checks. The ``paper`` estimator is not invariant, by the analytic change m (E+[y] - E[y]); its
rows check the measured change against that prediction. The evidence for the paper's
digit-specific PatternNet maps (Figs. 2-4) is the between-digit correlation, per estimator.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from saliency_sanity.catalogue import Field, Metrics, Result, figure, imagenet_fields, imagenet_on
from saliency_sanity.experiments import INVARIANCE_METHODS as METHODS
from saliency_sanity.experiments import PATTERN_ESTIMATORS as ESTIMATORS
from saliency_sanity.experiments import PATTERN_METHODS
from saliency_sanity.figures._panels import method_label, row_label, show_input, show_signed
from saliency_sanity.figures._plot import pyplot, save
from saliency_sanity.io import load_json, load_npz, save_csv
from saliency_sanity.report import Claim, write_entry

DOC = "kindermans2017"
#: a map is "invariant" when it changes by less than this fraction of network 1's peak (the
#: experiments run both networks in float64, where the invariant methods read ~1e-15; a model
#: run in float32 rounds the compensated first layer to ~1e-6 relative and may flip a ReLU within
#: rounding of 0, which this margin covers)
INVARIANT_TOL = 1e-3
#: "clearly non-zero": the maps differ by more than 5% of network 1's peak
NONZERO = 0.05
#: the paper estimator's measured change matches the analytic prediction within this (relative)
PREDICTION_RTOL = 0.01


def relative_difference(maps1: np.ndarray, maps2: np.ndarray) -> np.ndarray:
    """Per image: max |map1 - map2| / max |map1| (the invariance score of the claims).

    ``maps1``, ``maps2``: (N, ...). Where map 1 is all zero, map 2's peak is the denominator
    (so a nonzero map 2 scores 1), and two all-zero maps score 0.
    """
    m1 = np.asarray(maps1, dtype=np.float64).reshape(len(maps1), -1)
    m2 = np.asarray(maps2, dtype=np.float64).reshape(len(maps2), -1)
    diff = np.abs(m1 - m2).max(axis=1)
    peak = np.abs(m1).max(axis=1)
    peak = np.where(peak > 0, peak, np.abs(m2).max(axis=1))
    return np.divide(diff, peak, out=np.zeros_like(diff), where=peak > 0)


def between_digits(maps: np.ndarray, labels: np.ndarray) -> float:
    """Mean Pearson correlation between the maps (or images) of pairs of images of different
    digits (different labels)."""
    flat = np.asarray(maps, dtype=np.float64).reshape(len(maps), -1)
    labels = np.asarray(labels)
    different = labels[:, None] != labels[None, :]
    if not different.any():
        raise ValueError("between-digit correlation needs images of at least two digits")
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.corrcoef(flat)
    return float(np.nanmean(r[different]))


def _str(value) -> str:
    return str(np.asarray(value).item())


def _claim(id_, figure_, kind, text, measured, rule, why, null=None, on_failure=""):
    return Claim(f"{DOC}.{id_}", DOC, f"{DOC}/{figure_}", kind, text, float(measured), rule, why,
                 null, on_failure)  # fmt: skip


# --- Sec. 2: the two networks ----------------------------------------------------------------


def _epochs_note(metrics: dict) -> str:
    spec = metrics["spec"]
    note = f"{metrics['epochs']} epochs"
    if spec.get("paper"):
        note += " (paper: " + ", ".join(f"{k} {v}" for k, v in spec["paper"].items()) + ")"
    if spec.get("train_subset"):
        note += f", {spec['train_subset']} training images"
    return note


def _cell(value) -> str:
    if isinstance(value, float):
        return "–" if value != value else f"{value:.4g}"
    return str(value)


def networks_table(shifted: dict, trained: dict[str, dict]) -> pd.DataFrame:
    """One row per trained model variant, plus network 2 (kindermans2017 Sec. 2). No timings:
    committed files must not change when the same config runs again."""
    rows = [
        {
            "model": key,
            "test_accuracy": m["test_accuracy"],
            "train_accuracy": m["train_accuracy"],
            "epochs": m["epochs"],
            "n_train": m["n_train"],
            "max_abs_logit_difference": float("nan"),
        }
        for key, m in trained.items()
    ]
    rows.append({"model": "network 2 (shifted)", "test_accuracy": shifted["net2_test_accuracy"],
                 "train_accuracy": float("nan"), "epochs": 0, "n_train": 0,
                 "max_abs_logit_difference": shifted["max_abs_logit_difference"]})  # fmt: skip
    return pd.DataFrame(rows)


def networks_claims(shifted: dict, trained: dict[str, dict]) -> list[Claim]:
    net1 = trained["kindermans_mlp/normal"]
    return [
        _claim("accuracy.net1", "networks", "empirical",
               "network 1 (inputs in [0,1]) reaches 98.3% test accuracy (Sec. 2)",
               net1["test_accuracy"], "measured >= 0.975", "~0.983",
               on_failure=f"limit of the training budget: {net1['test_accuracy']:.4f} after "
               f"{net1['epochs']} epochs"),
        _claim("accuracy.net2", "networks", "identity",
               "network 2 (inputs in [-1,0], b2 = b1 - W m2) reaches the same accuracy (Sec. 2)",
               shifted["net2_test_accuracy"], f"measured == {shifted['net1_test_accuracy']}",
               "= network 1's accuracy, by construction"),
        _claim("same_outputs", "networks", "identity",
               "both networks give the same outputs on the whole test set (Sec. 2)",
               shifted["max_abs_logit_difference"], "measured < 0.0001",
               "~0 by construction, float32 rounding"),
    ]  # fmt: skip


@figure(DOC, "networks",
        inputs=lambda cfg: {"shifted": Metrics("kindermans_mlp", "shifted"),
                            "trained": {f"{m}/{v}": Metrics(m, v) for m, vs in
                                        cfg["models"].items() for v in vs}})  # fmt: skip
def networks(*, shifted, trained, png, pdf, csv, entry) -> None:
    """Sec. 2 table (accuracies, max logit difference) and every model's training curve."""
    shifted = load_json(shifted)
    trained = {k: load_json(p) for k, p in trained.items()}
    table = networks_table(shifted, trained)
    save_csv(csv, table)
    plt = pyplot()
    fig, (ax_tab, ax_curve) = plt.subplots(1, 2, figsize=(11.5, 3.8), width_ratios=[1.3, 1])
    ax_tab.axis("off")
    shown = table[["model", "test_accuracy", "train_accuracy", "epochs",
                   "max_abs_logit_difference"]]  # fmt: skip
    cells = [[r[0]] + [_cell(v) for v in r[1:]] for r in shown.itertuples(index=False)]
    labels = ["model", "test acc", "train acc", "epochs", "max |Δ logit|"]
    tab = ax_tab.table(cellText=cells, colLabels=labels, loc="center",
                       colWidths=[0.42, 0.14, 0.14, 0.1, 0.2])  # fmt: skip
    tab.auto_set_font_size(False)
    tab.set_fontsize(7)
    tab.scale(1, 1.3)
    for key, m in trained.items():
        epochs = [h["epoch"] for h in m["history"]]
        acc = [h["test_accuracy"] for h in m["history"]]
        ax_curve.plot(epochs, acc, marker="o", ms=2, label=key)
        if "train_accuracy" in m["history"][0]:
            ax_curve.plot(epochs, [h["train_accuracy"] for h in m["history"]], ls="--",
                          label=f"{key} (train, permuted)")  # fmt: skip
    ax_curve.set(xlabel="epoch", ylabel="accuracy", title="training curves (test accuracy)")
    ax_curve.legend(fontsize=6)
    fig.tight_layout(pad=0.4)
    save(fig, png, pdf)
    net1 = trained["kindermans_mlp/normal"]
    write_entry(
        entry, doc=DOC, name="networks", files=[png, pdf, csv],
        details=f"Network 1 trained {_epochs_note(net1)} of SGD; m2 = {shifted['shift']}. "
        "Training lengths: " + "; ".join(f"{k}: {_epochs_note(m)}" for k, m in trained.items())
        + ".",
        measured=(f"network 1 {shifted['net1_test_accuracy']:.4f}, network 2 "
                  f"{shifted['net2_test_accuracy']:.4f}; max |logit difference| over the test "
                  f"set {shifted['max_abs_logit_difference']:.2e}; same predictions: "
                  f"{shifted['same_predictions']}."),
        claims=networks_claims(shifted, trained),
    )  # fmt: skip


# --- Secs. 3-4: input invariance ------------------------------------------------------------

SIGNAL = ("gradient", "pattern_net", "guided_backprop")
ATTRIBUTION = ("gradient_input", "integrated_gradients_zero", "integrated_gradients_black",
               "deep_taylor_zero", "pattern_attribution")  # fmt: skip
#: figure -> (shift, methods in rows (pattern methods with the shown estimator))
SHIFT_FIGURES = {
    "gradient_signal": ("constant", SIGNAL),
    "attribution_shift": ("constant", ATTRIBUTION),
    "checkerboard_shift": ("checkerboard", (*SIGNAL, *ATTRIBUTION)),
    "cat_shift": ("cat", (*SIGNAL, *ATTRIBUTION)),
}
#: the figure that carries a shift's pattern-method claims (each shift's claims appear once)
PATTERN_CLAIMS = {"gradient_signal": ("pattern_net",), "attribution_shift": (
    "pattern_attribution",), "checkerboard_shift": ("pattern_net", "pattern_attribution"),
    "cat_shift": ("pattern_net", "pattern_attribution")}  # fmt: skip


def paper_invariant(method: str, shift: str) -> bool:
    """Whether kindermans2017 finds ``method`` invariant under ``shift``."""
    return method in ("gradient", "guided_backprop", "pattern_net", "pattern_attribution") or (
        method == "integrated_gradients_black" and shift == "constant"
    )


def _by_construction(method: str, shift: str) -> bool:
    """Invariance that holds analytically: the gradient of network 2 at x + m2 is network 1's
    at x (Gradient, Guided Backprop), and IG with the black (per-image minimum) reference is
    shifted along with a constant shift."""
    return method in ("gradient", "guided_backprop") or (
        method == "integrated_gradients_black" and shift == "constant"
    )


def _changes_by_construction(method: str) -> bool:
    """Non-invariance that holds analytically: network 2's gradient at x + m2 is network 1's at
    x, so Gradient x Input changes by exactly grad f(x) ⊙ m2 (non-zero wherever the gradient and
    the shift are), and Deep Taylor with the zero root point equals it (LRP z-rule = GI on ReLU
    nets, REPLICATION-NOTES)."""
    return method in ("gradient_input", "deep_taylor_zero")


def invariance_table(results: dict) -> pd.DataFrame:
    """One row per map name and digit: the relative difference between the two networks."""
    names = [str(n) for n in results["methods"]]
    rows = []
    for k, name in enumerate(names):
        m1, m2 = results["maps1"][k], results["maps2"][k]
        score = relative_difference(m1, m2)
        for i in range(len(m1)):
            rows.append({"shift": _str(results["shift"]), "method": name,
                         "test_index": int(results["indices"][i]),
                         "label": int(results["labels"][i]),
                         "target": int(results["target"][i]),
                         "relative_difference": float(score[i]),
                         "max_abs_difference": float(np.abs(m1[i] - m2[i]).max()),
                         "max_abs_net1": float(np.abs(m1[i]).max()),
                         "max_abs_logit_difference": float(
                             results["max_abs_logit_difference"][i])})  # fmt: skip
    return pd.DataFrame(rows)


def _score(table: pd.DataFrame, name: str) -> float:
    return float(table.loc[table["method"] == name, "relative_difference"].max())


def invariance_claims(table: pd.DataFrame, methods, figure_: str) -> list[Claim]:
    """``invariance.<shift>.<method>`` for the methods without patterns."""
    shift = str(table["shift"].iloc[0])
    claims = []
    for method in methods:
        measured = _score(table, method)
        label = method_label(method)
        if paper_invariant(method, shift):
            kind = "identity" if _by_construction(method, shift) else "empirical"
            claims.append(_claim(
                f"invariance.{shift}.{method}", figure_, kind,
                f"{label} is input invariant under the {shift} shift (Secs. 3-4): "
                "max |map2 - map1| / max |map1|", measured, f"measured < {INVARIANT_TOL:g}",
                "~0" + (", by construction of network 2" if kind == "identity" else ""),
                on_failure=f"genuine: {label} changes by {measured:.2g}"))  # fmt: skip
        else:
            kind = "identity" if _changes_by_construction(method) else "empirical"
            claims.append(_claim(
                f"invariance.{shift}.{method}", figure_, kind,
                f"{label} is not input invariant under the {shift} shift (Secs. 3-4): "
                "max |map2 - map1| / max |map1|", measured, f"measured > {NONZERO:g}",
                "clearly non-zero" + (": the change is grad f(x) ⊙ m2 exactly, by "
                "construction of network 2" if kind == "identity" else ""),
                on_failure=f"genuine: {label} changes by only {measured:.2g}"))  # fmt: skip
    return claims


def pattern_claims(table: pd.DataFrame, methods, figure_: str) -> list[Claim]:
    """``invariance.<shift>.<pattern method>.<estimator>``: covariance and linear invariant by
    construction; the paper estimator's change read against its analytic prediction (null)."""
    shift = str(table["shift"].iloc[0])
    claims = []
    for method in methods:
        label = method_label(method)
        for est in ESTIMATORS:
            measured = _score(table, f"{method}_{est}")
            cid = f"invariance.{shift}.{method}.{est}"
            if est == "paper":
                predicted = _score(table, f"{method}_predicted")
                claims.append(_claim(
                    cid, figure_, "identity",
                    f"{label} with the PatternNet paper's estimator (eq. 8) under the {shift} "
                    "shift: not invariant, its change is the analytic m (E+[y] - E[y]) "
                    "(null = the change predicted from network 1's statistics)", measured,
                    f"|measured - null| < {PREDICTION_RTOL:g} * null + 0.001",
                    "the measured change equals the prediction", predicted))  # fmt: skip
            else:
                claims.append(
                    _claim(
                        cid,
                        figure_,
                        "identity",
                        f"{label} with the {est} estimator is input invariant under the {shift} "
                        "shift (the paper's claim for PatternNet/PatternAttribution)",
                        measured,
                        f"measured < {INVARIANT_TOL:g}",
                        "~0, by construction of the estimator",
                    )
                )
    return claims  # fmt: skip


def digit_claims(results: dict) -> list[Claim]:
    """``pattern_net.digit_correlation.<estimator>``: how alike network 1's PatternNet maps of
    different digits are, read against the inputs' own between-digit correlation (null); and,
    beyond the paper (which shows no such figure of PatternAttribution),
    ``pattern_attribution.digit_correlation.<estimator>`` likewise."""
    labels = results["correlation_labels"]
    null = between_digits(results["correlation_x"], labels)
    claims = []
    for method in PATTERN_METHODS:
        for est in ESTIMATORS:
            key = f"correlation_{method}_{est}"
            if key not in results:
                continue
            measured = between_digits(results[key], labels)
            paper = method == "pattern_net"
            text = (f"{method_label(method)} maps are digit-specific"
                    + (" (Figs. 2-4)" if paper else " (beyond the paper: it shows PatternNet's)")
                    + f", {est} estimator: mean correlation between network 1's maps of "
                    "different digits (null = the inputs' own)")  # fmt: skip
            claims.append(_claim(
                f"{method}.digit_correlation.{est}", "gradient_signal",
                "empirical" if paper else "beyond", text, measured,
                "measured < 0.5 * null + 0.5",
                "closer to the inputs' correlation than to a digit-independent map (1)", null,
                f"genuine for the {est} estimator: its maps of different digits correlate "
                f"{measured:.2f} (inputs: {null:.2f}); the mean-image term dominates"))  # fmt: skip
    return claims


def _rows(methods, shown: str) -> list[tuple[str, str]]:
    """(map name, row label): the figure's methods (pattern methods with the shown estimator),
    then the paper estimator's pattern maps and its predicted network-2 maps."""
    out = []
    for m in methods:
        if m in PATTERN_METHODS:
            out.append((f"{m}_{shown}", method_label(f"{m}_{shown}")))
        else:
            out.append((m, method_label(m)))
    for m in methods:
        if m in PATTERN_METHODS and shown != "paper":
            predicted = method_label(m, "predicted", estimator="paper")
            out += [(f"{m}_paper", method_label(f"{m}_paper")), (f"{m}_predicted", predicted)]
    return out


def _grid(results: dict, rows, png, pdf) -> None:
    """Rows: the inputs, then one row per map; columns: network 1 | network 2 per digit."""
    names = [str(n) for n in results["methods"]]
    n_img = len(results["x1"])
    plt = pyplot()
    fig, axes = plt.subplots(len(rows) + 1, 2 * n_img,
                             figsize=(1.2 * 2 * n_img + 1.4, 1.2 * (len(rows) + 1)),
                             squeeze=False)  # fmt: skip
    for i in range(n_img):
        for j, key in enumerate(("x1", "x2")):
            img = results[key][i, 0]
            show_input(axes[0, 2 * i + j], img, f"digit {int(results['labels'][i])}, net {j + 1}"
                       f"\n[{img.min():.2g}, {img.max():.2g}]")  # fmt: skip
    row_label(axes[0, 0], "input")
    for r, (name, label) in enumerate(rows, start=1):
        k = names.index(name)
        ref = results["maps1"][names.index(name.replace("_predicted", "_paper"))]
        score = relative_difference(ref, results["maps2"][k])
        for i in range(n_img):
            show_signed(axes[r, 2 * i], results["maps1"][k, i])
            show_signed(axes[r, 2 * i + 1], results["maps2"][k, i])
            axes[r, 2 * i + 1].set_xlabel(f"Δ = {score[i]:.1e}", fontsize=6, labelpad=1)
        row_label(axes[r, 0], label)
    fig.tight_layout(pad=0.3, h_pad=0.5, w_pad=0.2)
    save(fig, png, pdf)


def _settings(results: dict) -> str:
    if "maps2" not in results:  # the ImageNet tier: one network
        return (f"{len(results['x1'])} test-bed images; IG with {int(results['ig_steps'])} "
                f"steps; patterns fitted on the {int(results['pattern_images'])} test-bed "
                "images (the tier has no training images).")  # fmt: skip
    return (
        f"{_str(results['shift_description'])}; {len(results['x1'])} test-bed digits; IG "
        f"with {int(results['ig_steps'])} steps; patterns fitted on "
        f"{int(results['pattern_images'])} training images (network 2's on x + m2); "
        f"network 2 predicts as network 1 on all {int(results['n_test'])} test images (max "
        f"|logit difference| {float(np.max(results['max_abs_logit_difference'])):.2e})."
    )


def _pattern_numbers(table: pd.DataFrame, methods) -> str:
    parts = []
    for m in methods:
        if m not in PATTERN_METHODS:
            continue
        scores = ", ".join(f"{e} {_score(table, f'{m}_{e}'):.2e}" for e in ESTIMATORS)
        parts.append(f"{method_label(m)}: {scores}; paper estimator predicted "
                     f"{_score(table, f'{m}_predicted'):.2e}")  # fmt: skip
    return " ".join(f"{p}." for p in parts)


@figure(DOC, "{name}", over={"name": tuple(SHIFT_FIGURES)},
        inputs=lambda cfg, name: {"results": Result(f"kindermans2017/shift_"
                                                    f"{SHIFT_FIGURES[name][0]}")},
        params={"name": Field("name")})  # fmt: skip
def shift_figure(*, results, name: str, png, pdf, csv, entry) -> pd.DataFrame:
    """One net1-vs-net2 figure of a shift (Figs. 2-5, see :data:`SHIFT_FIGURES`): grid,
    numbers CSV and the invariance claims of its methods."""
    methods = SHIFT_FIGURES[name][1]
    results = load_npz(results)
    table = invariance_table(results)
    save_csv(csv, table)
    shown = _str(results["shown_estimator"])
    _grid(results, _rows(methods, shown), png, pdf)
    plain = [m for m in methods if m in METHODS]
    claims = invariance_claims(table, plain, name)
    claims += pattern_claims(table, PATTERN_CLAIMS[name], name)
    if name == "gradient_signal":
        claims += digit_claims(results)
    scores = ", ".join(f"{method_label(m)} {_score(table, m):.2e}" for m in plain)
    write_entry(entry, doc=DOC, name=name, files=[png, pdf, csv], details=_settings(results),
                measured=f"max relative map difference: {scores}. "
                + _pattern_numbers(table, methods), claims=claims)  # fmt: skip
    return table


@figure(DOC, "reference_points", inputs={"results": Result("kindermans2017/shift_constant")})
@figure(DOC, "reference_points_vgg16", when=imagenet_on, fields=imagenet_fields,
        inputs={"results": Result("kindermans2017/reference_points_vgg16")})  # fmt: skip
def reference_points(*, results, png, pdf, csv, entry) -> pd.DataFrame:
    """Fig. 1: IG with the zero and the black reference, DTD with the zero (LRP z-rule) and the
    pattern root point; MNIST: for network 1 ([0,1]) and network 2 ([-1,0]); VGG-16: network 1
    only (the paper's Fig. 1)."""
    results = load_npz(results)
    names = [str(n) for n in results["methods"]]
    shown = _str(results["shown_estimator"])
    pattern = f"pattern_attribution_{shown}"
    pairs = {
        "IG: zero vs black reference": ("integrated_gradients_zero", "integrated_gradients_black"),
        "DTD: zero (LRP z-rule) vs pattern root point": ("deep_taylor_zero", pattern),
    }
    columns = [(m, method_label(m)) for m in ("integrated_gradients_zero",
               "integrated_gradients_black", "deep_taylor_zero")]  # fmt: skip
    columns.append((pattern, method_label("deep_taylor_pattern")))
    nets = [n for n in (("network 1", "x1", "maps1"), ("network 2", "x2", "maps2"))
            if n[2] in results]  # fmt: skip
    rows = []
    for net, _, key in nets:
        for pair, (a, b) in pairs.items():
            score = relative_difference(results[key][names.index(a)], results[key][names.index(b)])
            for i, s in enumerate(score):
                rows.append({"network": net, "comparison": pair,
                             "test_index": str(results["indices"][i]),
                             "relative_difference": float(s)})  # fmt: skip
    table = pd.DataFrame(rows)
    save_csv(csv, table)
    n_img = len(results["x1"])
    plt = pyplot()
    fig, axes = plt.subplots(
        len(nets) * n_img,
        1 + len(columns),
        figsize=(7.4, 1.4 * len(nets) * n_img + 0.3),
        squeeze=False,
    )
    for i in range(n_img):
        for j, (net, xkey, mkey) in enumerate(nets):
            r = len(nets) * i + j
            img = results["display1"][i] if "display1" in results else results[xkey][i, 0]
            show_input(axes[r, 0], img, "input" if r == 0 else "")
            low, high = float(results[xkey][i].min()), float(results[xkey][i].max())
            row_label(axes[r, 0], f"{net}\nx in [{low:.2g}, {high:.2g}]")
            for c, (method, label) in enumerate(columns, start=1):
                show_signed(axes[r, c], results[mkey][names.index(method), i],
                            label if r == 0 else "")  # fmt: skip
    fig.tight_layout(pad=0.3, h_pad=0.3, w_pad=0.2)
    save(fig, png, pdf)

    def mean(net, pair):
        sel = (table["network"] == net) & (table["comparison"] == pair)
        return float(table.loc[sel, "relative_difference"].mean())

    ig, dtd = pairs
    measured = "; ".join(f"{net}: IG zero vs black {mean(net, ig):.2e}, DTD zero vs pattern "
                         f"root {mean(net, dtd):.2e}" for net, _, _ in nets)  # fmt: skip
    write_entry(
        entry, doc=DOC, name=Path(entry).stem, files=[png, pdf, csv],
        details=_settings(results) + f" Pattern root point from the {shown} estimator.",
        measured="mean over the images of max |map_a - map_b| / max |map_a|: " + measured + ".",
    )  # fmt: skip
    return table
