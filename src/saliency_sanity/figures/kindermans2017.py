"""kindermans2017 figures (The (Un)reliability of saliency methods)."""

from __future__ import annotations

import pandas as pd

from saliency_sanity.figures._plot import pyplot, save
from saliency_sanity.io import save_csv
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
            "model": "kindermans_mlp/shifted (network 2)",
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
    cells = [[r[0]] + [f"{v:.4g}" if isinstance(v, float) else str(v) for v in r[1:]]
             for r in shown.itertuples(index=False)]  # fmt: skip
    tab = ax_tab.table(cellText=cells, colLabels=["model", "test acc", "train acc", "epochs",
                                                   "max |Δ logit|"], loc="center")  # fmt: skip
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
            f"{shifted['shift']}), inputs in [-1,0]. Right: test accuracy per epoch of every "
            "trained model (dashed: training accuracy against permuted labels). Training lengths: "
            + "; ".join(f"{k}: {_epochs_note(m)}" for k, m in trained.items())
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
