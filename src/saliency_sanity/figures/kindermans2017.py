"""kindermans2017 figures (The (Un)reliability of saliency methods)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from saliency_sanity import viz
from saliency_sanity.figures._plot import pyplot, save
from saliency_sanity.io import load_npz, save_csv
from saliency_sanity.report import Claim, write_entry

DOC = "kindermans2017"


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
    """One row per trained model variant, plus network 2 (kindermans2017 Sec. 2)."""
    rows = [
        {
            "model": key,
            "test_accuracy": m["test_accuracy"],
            "train_accuracy": m["train_accuracy"],
            "epochs": m["epochs"],
            "n_train": m["n_train"],
            "wall_time_s": m["wall_time_s"],
            "device": m["device"],
            "max_abs_logit_difference": float("nan"),
        }
        for key, m in trained.items()
    ]
    rows.append(
        {
            "model": "network 2 (shifted)",
            "test_accuracy": shifted["net2_test_accuracy"],
            "train_accuracy": float("nan"),
            "epochs": 0,
            "n_train": 0,
            "wall_time_s": 0.0,
            "device": "",
            "max_abs_logit_difference": shifted["max_abs_logit_difference"],
        }
    )
    return pd.DataFrame(rows)


def networks_claims(shifted: dict, trained: dict[str, dict]) -> list[Claim]:
    fig = f"{DOC}/networks"
    net1 = trained["kindermans_mlp/normal"]
    claims = [
        Claim(
            f"{DOC}.accuracy.net1",
            DOC,
            fig,
            "network 1 (inputs in [0,1]) reaches 98.3% test accuracy",
            net1["test_accuracy"],
            "~0.983 (>= 0.975)",
            net1["test_accuracy"] >= 0.975,
        ),
        Claim(
            f"{DOC}.accuracy.net2",
            DOC,
            fig,
            "network 2 (inputs in [-1,0], b2 = b1 - W m2) reaches the same accuracy",
            shifted["net2_test_accuracy"],
            "= net1 accuracy",
            shifted["net2_test_accuracy"] == shifted["net1_test_accuracy"],
        ),
        Claim(
            f"{DOC}.same_outputs",
            DOC,
            fig,
            "both networks give the same outputs on the whole test set",
            shifted["max_abs_logit_difference"],
            "~0 (< 1e-4, float32 rounding)",
            shifted["max_abs_logit_difference"] < 1e-4,
        ),
    ]
    for model in ("mlp", "cnn"):
        key = f"{model}/normal"
        if key in trained:
            acc = trained[key]["test_accuracy"]
            claims.append(
                Claim(
                    f"adebayo2018.accuracy.{model}",
                    "adebayo2018",
                    fig,
                    f"the trained MNIST {model.upper()} is accurate",
                    acc,
                    "high (>= 0.97)",
                    acc >= 0.97,
                )
            )
    if "alexnet/random_labels" in trained:
        rl = trained["alexnet/random_labels"]
        claims += [
            Claim(
                "gupta2019.random_label_train_accuracy",
                "gupta2019",
                fig,
                "AlexNet fits permuted labels to > 98% training accuracy",
                rl["train_accuracy"],
                "> 0.98",
                rl["train_accuracy"] > 0.98,
            ),
            Claim(
                "gupta2019.random_label_test_accuracy",
                "gupta2019",
                fig,
                "the permuted-label AlexNet is at chance on the true test labels",
                rl["test_accuracy"],
                "~0.1 (< 0.15)",
                rl["test_accuracy"] < 0.15,
            ),
        ]
    return claims  # fmt: skip


def networks(shifted: dict, trained: dict[str, dict], png, pdf, csv, entry) -> None:
    """Sec. 2 table (accuracies, max logit difference) and every model's training curve."""
    table = networks_table(shifted, trained)
    save_csv(csv, table)
    plt = pyplot()
    fig, (ax_tab, ax_curve) = plt.subplots(1, 2, figsize=(11, 3.6), width_ratios=[1.3, 1])
    ax_tab.axis("off")
    shown = table[
        ["model", "test_accuracy", "train_accuracy", "epochs", "max_abs_logit_difference"]
    ]
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
                          label=f"{key} (train, permuted labels)")  # fmt: skip
    ax_curve.set(xlabel="epoch", ylabel="accuracy", title="training curves (test accuracy)")
    ax_curve.legend(fontsize=6)
    save(fig, png, pdf)
    net1 = trained["kindermans_mlp/normal"]
    write_entry(
        entry,
        doc=DOC,
        name="networks",
        title="Network 1 and network 2 (Sec. 2), and every trained model",
        caption=(
            f"Network 1: MLP 3x1024 ReLU on inputs in [0,1], trained {_epochs_note(net1)} of SGD. "
            f"Network 2: the same weights with first-layer bias b2 = b1 - W m2 (m2 = "
            f"{shifted['shift']}), inputs in [-1,0]. Right: test accuracy per epoch (first 2000 "
            "test images; the table uses all 10 000) of every trained model (dashed: training "
            "accuracy against permuted labels). Training lengths and devices: "
            + "; ".join(f"{k}: {_epochs_note(m)} on {m['device']}" for k, m in trained.items())
            + "."
        ),
        statement="Both networks reach 98.3% test accuracy and give the same outputs.",
        measured=(
            f"network 1 {shifted['net1_test_accuracy']:.4f}, network 2 "
            f"{shifted['net2_test_accuracy']:.4f}; max |logit difference| over the test set "
            f"{shifted['max_abs_logit_difference']:.2e}; same predictions: "
            f"{shifted['same_predictions']}."
        ),
        files=[png, pdf, csv],
        claims=networks_claims(shifted, trained),
    )


# --- input invariance (Secs. 3-4, Figs. 1-5) -----------------------------------------------

#: a map is "invariant" when it changes by less than this fraction of network 1's peak:
#: float32 rounding of the first layer's pre-activations is ~1e-6 relative, the margin covers a
#: ReLU flipped by it
INVARIANT_TOL = 1e-3
#: "clearly non-zero": the maps differ by more than 5% of network 1's peak
NONZERO = 0.05
#: methods the paper finds input invariant (plus IG with the black reference for constant shifts)
PAPER_INVARIANT = ("gradient", "guided_backprop", "pattern_net", "pattern_attribution")
SIGNAL_METHODS = ("gradient", "pattern_net", "guided_backprop")
ATTRIBUTION_METHODS = (
    "gradient_input",
    "integrated_gradients_zero",
    "integrated_gradients_black",
    "deep_taylor_zero",
    "pattern_attribution",
)

ALL_METHODS = (*SIGNAL_METHODS, *ATTRIBUTION_METHODS)
#: figure -> (methods, in rows; title; the paper's statement)
SHIFT_FIGURES = {
    "gradient_signal": (
        SIGNAL_METHODS,
        "Gradient and signal methods are input invariant (Fig. 2)",
        "Gradient, PatternNet and Guided Backprop give identical maps for network 1 and network "
        "2 (constant shift): they are input invariant.",
    ),
    "attribution_shift": (
        ATTRIBUTION_METHODS,
        "Attribution methods under a constant shift (Fig. 3)",
        "Gradient x Input, IG with the zero reference and DTD with the LRP (z-rule) root point "
        "change under the constant shift; IG with the black reference and PatternAttribution "
        "do not.",
    ),
    "checkerboard_shift": (
        ALL_METHODS,
        "A checkerboard shift (Fig. 4)",
        "With a checkerboard shift even IG with the black reference fails (the shift shows up "
        "in its map), as do Gradient x Input, IG (zero) and DTD (z-rule); Gradient, Guided "
        "Backprop, PatternNet and PatternAttribution are unchanged.",
    ),
    "cat_shift": (
        ALL_METHODS,
        "A shift that draws a cat (Fig. 5)",
        "A shift m2 = ŝ / ∇f1(x) - x, clipped to [-0.3, 0.3], makes the reference-based "
        "attributions (Gradient x Input, IG, DTD z-rule) show a hand-drawn cat, while "
        "Gradient, Guided Backprop, PatternNet and PatternAttribution are unchanged.",
    ),
}


def _str(value) -> str:
    return str(np.asarray(value).item())


def paper_invariant(method: str, shift: str) -> bool:
    """Whether kindermans2017 finds ``method`` invariant under ``shift``."""
    return method in PAPER_INVARIANT or (
        method == "integrated_gradients_black" and shift == "constant"
    )


def invariance_table(results: dict) -> pd.DataFrame:
    """One row per map name and digit: the relative difference between the two networks."""
    from saliency_sanity.experiments.kindermans2017 import relative_difference

    names = [str(n) for n in results["methods"]]
    rows = []
    for k, name in enumerate(names):
        m1, m2 = results["maps1"][k], results["maps2"][k]
        score = relative_difference(m1, m2)
        for i in range(len(m1)):
            rows.append(
                {
                    "shift": _str(results["shift"]),
                    "method": name,
                    "test_index": int(results["indices"][i]),
                    "label": int(results["labels"][i]),
                    "target": int(results["target"][i]),
                    "relative_difference": float(score[i]),
                    "max_abs_difference": float(np.abs(m1[i] - m2[i]).max()),
                    "max_abs_net1": float(np.abs(m1[i]).max()),
                    "max_abs_logit_difference": float(results["max_abs_logit_difference"][i]),
                    "pattern_estimator": _str(results["estimator"]),
                    "pattern_images": int(results["pattern_images"]),
                    "ig_steps": int(results["ig_steps"]),
                }
            )
    return pd.DataFrame(rows)


def invariance_claims(table: pd.DataFrame, methods, figure: str) -> list[Claim]:
    """``kindermans2017.invariance.<shift>.<method>``: max over the digits of the score."""
    from saliency_sanity.experiments.kindermans2017 import LABELS

    shift = str(table["shift"].iloc[0])
    claims = []
    for method in methods:
        measured = float(table.loc[table["method"] == method, "relative_difference"].max())
        invariant = paper_invariant(method, shift)
        label = LABELS[method]
        if method.startswith("pattern") and "pattern_estimator" in table:
            label += f" ({table['pattern_estimator'].iloc[0]} estimator)"
        claims.append(
            Claim(
                f"{DOC}.invariance.{shift}.{method}",
                DOC,
                f"{DOC}/{figure}",
                f"{label} is {'' if invariant else 'not '}input invariant under the "
                f"{shift} shift (max |map2 - map1| / max |map1|)",
                measured,
                f"~0 (< {INVARIANT_TOL:g})" if invariant else f"clearly non-zero (> {NONZERO:g})",
                measured < INVARIANT_TOL if invariant else measured > NONZERO,
            )
        )
    return claims


def _label(name: str, estimator: str) -> str:
    from saliency_sanity.experiments.kindermans2017 import LABELS

    for method in ("pattern_net", "pattern_attribution"):
        for est in ("relu", "linear"):
            if name in (method, f"{method}_{est}"):
                est = est if name != method else estimator
                return f"{LABELS[method]}\n({est} estimator)"
    return LABELS[name]


def _rows(methods, estimator: str) -> list[str]:
    """The figure's methods, then the pattern methods with the other estimator (both shown)."""
    other = "linear" if estimator == "relu" else "relu"
    extra = [f"{m}_{other}" for m in methods if m in ("pattern_net", "pattern_attribution")]
    return [*methods, *extra]


def _grid(results: dict, methods, png, pdf) -> None:
    """Rows: the inputs, then one row per method; columns: network 1 | network 2 per digit."""
    from saliency_sanity.experiments.kindermans2017 import relative_difference

    estimator = _str(results["estimator"])
    methods = _rows(methods, estimator)
    names = [str(n) for n in results["methods"]]
    n_img = len(results["x1"])
    plt = pyplot()
    fig, axes = plt.subplots(
        len(methods) + 1,
        2 * n_img,
        figsize=(1.25 * 2 * n_img + 0.8, 1.3 * (len(methods) + 1)),
        squeeze=False,
    )
    for i in range(n_img):
        for j, key in enumerate(("x1", "x2")):
            ax = axes[0, 2 * i + j]
            img = results[key][i, 0]
            ax.imshow(img, cmap="gray", vmin=float(img.min()), vmax=float(img.max()))
            ax.set_title(
                f"digit {int(results['labels'][i])}: net {j + 1}\n"
                f"x{' + m2' if j else ''} in [{img.min():.2g}, {img.max():.2g}]",
                fontsize=6,
            )
    for r, method in enumerate(methods, start=1):
        k = names.index(method)
        score = relative_difference(results["maps1"][k], results["maps2"][k])
        for i in range(n_img):
            for j, key in enumerate(("maps1", "maps2")):
                ax = axes[r, 2 * i + j]
                ax.imshow(viz.diverging(results[key][k, i][None])[0], cmap="bwr", vmin=-1, vmax=1)
                if j:
                    ax.set_xlabel(f"Δ = {score[i]:.1e}", fontsize=6, labelpad=1)
        axes[r, 0].set_ylabel(_label(method, estimator), fontsize=7)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_ylabel("input", fontsize=7)
    fig.tight_layout(pad=0.3, h_pad=0.4, w_pad=0.2)
    save(fig, png, pdf)


def _settings_note(results: dict) -> str:
    return (
        f"{len(results['x1'])} test-bed digits, target = the predicted class (the same for both "
        f"networks); IG with {int(results['ig_steps'])} steps; PatternNet/PatternAttribution "
        f"patterns fitted with the '{_str(results['estimator'])}' estimator on "
        f"{int(results['pattern_images'])} training images (iNNvestigate: the whole training "
        "set), network 2's on its own shifted inputs x + m2. Maps are signed, each divided by its "
        "99th percentile of |map| (bwr, clipped to [-1, 1]). Δ under each network-2 map: "
        "max |map2 - map1| / max |map1|; the claims take its max over the digits, and call a "
        f"method invariant below {INVARIANT_TOL:g}, clearly not above {NONZERO:g}"
    )


def _pattern_note(table: pd.DataFrame, estimator: str) -> str:
    """Both estimators' scores for PatternNet/PatternAttribution, and a plain warning when the
    configured estimator breaks the paper's invariance claim."""
    parts, broken = [], []
    for method in ("pattern_net", "pattern_attribution"):
        for est in ("relu", "linear"):
            score = float(
                table.loc[table["method"] == f"{method}_{est}", "relative_difference"].max()
            )
            parts.append(f"{method} ({est} estimator) {score:.2e}")
            if est == estimator and score >= INVARIANT_TOL:
                broken.append(f"{method} with the {est} estimator is NOT invariant ({score:.2e})")
    text = "Pattern methods, both estimators: " + ", ".join(parts) + "."
    if broken:
        text += f" {'; '.join(broken)}: the paper's invariance claim does not hold with it."
    return text


def _between_digits(maps: np.ndarray) -> float:
    """Mean Pearson correlation between the maps of different digits (n >= 2 maps)."""
    r = np.corrcoef(maps.reshape(len(maps), -1))
    return float(r[~np.eye(len(maps), dtype=bool)].mean())


def _digit_note(results: dict) -> str:
    """How alike PatternAttribution's network-1 maps of different digits are, per estimator, and
    why the linear estimator's look alike (its first-layer patterns ignore the input)."""
    names = [str(n) for n in results["methods"]]
    if len(results["x1"]) < 2:
        return ""
    parts = [
        f"{est} {_between_digits(results['maps1'][names.index(f'pattern_attribution_{est}')]):.2f}"
        for est in ("relu", "linear")
        if f"pattern_attribution_{est}" in names
    ]
    return (
        "Mean correlation between network 1's PatternAttribution maps of different digits: "
        + ", ".join(parts)
        + ". With the linear estimator the first layer's patterns a_j = Σ_x w_j / (w_jᵀ Σ_x w_j) "
        "are fixed by the training-pixel covariance Σ_x, and the input map Σ_j (w_j ⊙ a_j) r_j "
        "changes between digits only through the upper-layer relevances r_j (kindermans2018, "
        "eq. 7), hence the similar blobs."
    )


def _logit_note(results: dict) -> str:
    return (
        f"Network 2 predicts exactly as network 1 on all {int(results['n_test'])} test images "
        "(checked; max |logit difference| "
        f"{float(np.max(results['max_abs_logit_difference'])):.2e})."
    )


def _measured(table: pd.DataFrame, methods, estimator: str) -> str:
    scores = ", ".join(
        f"{m} {table.loc[table['method'] == m, 'relative_difference'].max():.2e}" for m in methods
    )
    return f"max relative map difference: {scores}." + (
        " " + _pattern_note(table, estimator) if _has_patterns(methods) else ""
    )


def _has_patterns(methods) -> bool:
    return any(m.startswith("pattern") for m in methods)


def shift_figure(npz, figure: str, png, pdf, csv, entry) -> pd.DataFrame:
    """One net1-vs-net2 figure of a shift (Figs. 2-5, see :data:`SHIFT_FIGURES`): grid,
    numbers CSV and the invariance claims of its methods."""
    if figure not in SHIFT_FIGURES:
        raise ValueError(f"unknown figure {figure!r}; known: {sorted(SHIFT_FIGURES)}")
    methods, title, statement = SHIFT_FIGURES[figure]
    results = load_npz(npz)
    table = invariance_table(results)
    save_csv(csv, table)
    _grid(results, methods, png, pdf)
    estimator, shift = _str(results["estimator"]), _str(results["shift_description"])
    write_entry(
        entry,
        doc=DOC,
        name=figure,
        title=title,
        caption=(
            f"Network 1 on x (columns 'net 1') and network 2 on x + m2 ('net 2'), {shift}; "
            f"first row: the inputs. {_settings_note(results)}. {_logit_note(results)}"
            + (
                f" {_pattern_note(table, estimator)} {_digit_note(results)}"
                if _has_patterns(methods)
                else ""
            )
        ),
        statement=statement,
        measured=_measured(table, methods, estimator),
        files=[png, pdf, csv],
        claims=invariance_claims(table, methods, figure),
    )
    return table


def reference_points(npz, png, pdf, csv, entry) -> pd.DataFrame:
    """Fig. 1 (MNIST analogue): IG with the zero and the black reference, DTD with the zero
    (LRP z-rule) and the pattern root point, for network 1 ([0,1]) and network 2 ([-1,0])."""
    from saliency_sanity.experiments.kindermans2017 import relative_difference

    results = load_npz(npz)
    names = [str(n) for n in results["methods"]]
    pairs = {
        "IG: zero vs black reference": ("integrated_gradients_zero", "integrated_gradients_black"),
        "DTD: zero (LRP z-rule) vs pattern root point": ("deep_taylor_zero", "pattern_attribution"),
    }
    columns = [
        ("integrated_gradients_zero", "IG, zero reference"),
        ("integrated_gradients_black", "IG, black reference"),
        ("deep_taylor_zero", "DTD, zero root\n(LRP z-rule)"),
        ("pattern_attribution", "DTD, pattern root\n(PatternAttribution)"),
    ]
    rows = []
    for net, key in (("network 1", "maps1"), ("network 2", "maps2")):
        for pair, (a, b) in pairs.items():
            score = relative_difference(results[key][names.index(a)], results[key][names.index(b)])
            for i, s in enumerate(score):
                rows.append(
                    {
                        "network": net,
                        "comparison": pair,
                        "test_index": int(results["indices"][i]),
                        "relative_difference": float(s),
                    }
                )
    table = pd.DataFrame(rows)
    save_csv(csv, table)

    n_img = len(results["x1"])
    plt = pyplot()
    fig, axes = plt.subplots(
        2 * n_img, 1 + len(columns), figsize=(7.0, 1.45 * 2 * n_img), squeeze=False
    )
    for i in range(n_img):
        for j, (net, xkey, mkey) in enumerate((("net 1", "x1", "maps1"), ("net 2", "x2", "maps2"))):
            r = 2 * i + j
            img = results[xkey][i, 0]
            axes[r, 0].imshow(img, cmap="gray", vmin=float(img.min()), vmax=float(img.max()))
            axes[r, 0].set_ylabel(f"{net}\nx in [{img.min():.2g}, {img.max():.2g}]", fontsize=6)
            for c, (method, label) in enumerate(columns, start=1):
                m = results[mkey][names.index(method), i]
                axes[r, c].imshow(viz.diverging(m[None])[0], cmap="bwr", vmin=-1, vmax=1)
                if r == 0:
                    axes[r, c].set_title(label, fontsize=7)
    axes[0, 0].set_title("input", fontsize=7)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout(pad=0.3, h_pad=0.3, w_pad=0.2)
    save(fig, png, pdf)

    def mean(net, pair):
        sel = (table["network"] == net) & (table["comparison"] == pair)
        return float(table.loc[sel, "relative_difference"].mean())

    ig, dtd = pairs
    write_entry(
        entry,
        doc=DOC,
        name="reference_points",
        title="Reference points change the attribution (Fig. 1, MNIST analogue)",
        caption=(
            "Integrated Gradients with the zero and the black (per-image minimum) reference, and "
            "Deep Taylor decomposition with the zero root point (LRP z-rule) and the pattern root "
            "point (PatternAttribution), for network 1 (inputs in [0,1]) and network 2 (the same "
            "function on inputs in [-1,0]). On MNIST the black image of network 1 is the zero "
            "image, so its two IG maps coincide; for network 2 zero is a white image. "
            f"{_settings_note(results)}. The paper's Fig. 1 uses VGG-16 on ImageNet."
        ),
        statement=(
            "IG and DTD explain relative to a reference point; the attribution depends on its "
            "choice."
        ),
        measured=(
            "mean over the digits of max |map_a - map_b| / max |map_a|: "
            f"IG zero vs black: network 1 {mean('network 1', ig):.2e}, network 2 "
            f"{mean('network 2', ig):.2e}; DTD zero vs pattern root: network 1 "
            f"{mean('network 1', dtd):.2e}, network 2 {mean('network 2', dtd):.2e}."
        ),
        files=[png, pdf, csv],
    )
    return table
