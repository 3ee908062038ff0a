"""The scorecard figure (beyond the papers): every method x every check, pass / fail / empty,
each cell's score printed in it. Reads the saved table; computes nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from saliency_sanity.catalogue import Result, figure
from saliency_sanity.figures._panels import method_label
from saliency_sanity.figures._plot import pyplot, save
from saliency_sanity.io import load_npz, save_csv
from saliency_sanity.report import write_entry

#: cell colours: passes, fails, cannot apply
COLOURS = {"True": "#b7e1b0", "False": "#f3b3ad", "": "#e6e6e6"}


def _text(score: float, check: str) -> str:
    if np.isnan(score):
        return "n/a"
    return f"{score:.0e}" if check.endswith("shift") else f"{score:.2f}"


def draw(table: pd.DataFrame):
    """The grid: rows = methods (registry order), columns = checks (the table's order)."""
    methods = list(dict.fromkeys(table["method"]))
    check_names = list(dict.fromkeys(table["check"]))
    cells = table.set_index(["method", "check"])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1.0 * len(check_names) + 2.3, 0.19 * len(methods) + 1.3))
    for i, method in enumerate(methods):
        for j, check in enumerate(check_names):
            cell = cells.loc[(method, check)]
            ax.add_patch(plt.Rectangle((j, i), 1, 1, color=COLOURS[str(cell["passes"])], lw=0))
            ax.text(j + 0.5, i + 0.5, _text(float(cell["score"]), check), ha="center",
                    va="center", fontsize=5.5)  # fmt: skip
    ax.set_xlim(0, len(check_names))
    ax.set_ylim(len(methods), 0)
    ax.set_xticks(np.arange(len(check_names)) + 0.5)
    ax.set_xticklabels([c.replace(" ", "\n", 1) for c in check_names], fontsize=6)
    ax.xaxis.tick_top()
    ax.set_yticks(np.arange(len(methods)) + 0.5)
    ax.set_yticklabels([method_label(m) for m in methods], fontsize=5.5)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    fig.tight_layout(pad=0.3)
    return fig


@figure("beyond", "scorecard", inputs={"results": Result("beyond/scorecard")})
def scorecard_figure(*, results, png, pdf, csv, entry) -> pd.DataFrame:
    """Every registered method x every check: green passes, red fails, grey cannot apply (the
    reason is in the csv's ``note``)."""
    r = load_npz(results)
    table = r["table"]
    save_csv(csv, table)
    save(draw(table), png, pdf)
    filled = table[table["passes"] != ""]
    per_check = filled.groupby("check", sort=False)["passes"].apply(lambda p: (p == "True").sum())
    images = table.groupby("method")["n"].max()
    costly = sorted(m for m, k in images.items() if 0 < k < images.max())
    details = f"Model: {r['model']} (MNIST), {int(images.max())} test-bed images per cell"
    if costly:
        details += f"; on fewer images (cost): {', '.join(costly)}"
    changed = table.drop_duplicates("method").query("params != ''")
    if len(changed):
        details += "; settings other than the defaults (cost): " + ", ".join(
            f"{m} {p}" for m, p in zip(changed["method"], changed["params"], strict=True)
        )
    if not r["random_labels"]:
        details += "; no permuted-label model in this config, so no data-randomisation column"
    counts = [f"{c}: {k} of {(filled['check'] == c).sum()} pass" for c, k in per_check.items()]
    passed = int((filled["passes"] == "True").sum())
    measured = f"{len(filled)} cells filled, {passed} pass; " + "; ".join(counts) + "."
    write_entry(entry, doc="beyond", name="scorecard", details=details + ".",
                measured=measured, files=[png, pdf, csv])  # fmt: skip
    return table
