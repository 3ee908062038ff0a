"""Beyond the papers: one table, every method x every sanity check the pipeline runs.

Built only from what the figure rules saved (their CSVs and claim rows); it computes no map.
A cell is empty where the pipeline does not run that check for that method.

Checks and pass criteria (a method *passes* a check when it behaves as a faithful explanation
should):

* parameter randomisation, cascading and independent (adebayo2018 Figs. 2-3; gupta2019's
  competition curves): mean Spearman rank correlation (on |map|) between the trained and the
  randomised model's maps, over the test-bed; passes if below ``RANK_THRESHOLD`` (the maps
  change). Independent: the largest value over the single randomised layers.
* data randomisation (gupta2019 Fig. 7): sum |map| of the permuted-label network relative to the
  normal one; passes if below the gupta2019 figure's threshold (the map disappears).
* constant / checkerboard / cat shift (kindermans2017 Figs. 3-5): max relative difference between
  the maps of network 1 and the bias-compensated network 2; passes if below the invariance
  threshold of those figures (the map is invariant).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from saliency_sanity.figures._plot import pyplot, save
from saliency_sanity.figures.gupta2019 import MASS_THRESHOLD
from saliency_sanity.figures.kindermans2017 import INVARIANT_TOL
from saliency_sanity.io import load_json, save_csv
from saliency_sanity.report import write_entry

RANK_THRESHOLD = 0.5
CHECKS = (
    "cascading randomisation",
    "independent randomisation",
    "data randomisation",
    "constant shift",
    "checkerboard shift",
    "cat shift",
)
#: kindermans2017 claim names -> the scorecard's row names (the zero baseline is adebayo's IG)
ALIASES = {"integrated_gradients_zero": "integrated_gradients", "deep_taylor_zero": "lrp_0"}
#: gupta2019 curve labels -> row names
GUPTA_LABELS = {"GI": "gradient_input", "CGI": "competitive_gradient_input"}


def _cell(method: str, check: str, score: float, threshold: float) -> dict:
    return {"method": method, "check": check, "score": score, "threshold": threshold,
            "passes": bool(score < threshold)}  # fmt: skip


def _row(name: str) -> str:
    return ALIASES.get(name, name)


def _adebayo_rows(csv: str | Path, mode: str) -> list[dict]:
    table = pd.read_csv(csv)
    table = table[(table["metric"] == "spearman") & (table["variant"] == "abs")]
    randomised = table[table["step"] > 0]
    rows = []
    for method, t in randomised.groupby("method"):
        value = t.sort_values("step")["mean"].iloc[-1] if mode == "cascading" else t["mean"].max()
        rows.append(_cell(_row(str(method)), f"{mode} randomisation", float(value), RANK_THRESHOLD))
    return rows


def _gupta_rank_rows(csv: str | Path, model: str) -> list[dict]:
    table = pd.read_csv(csv)
    table = table[(table["view"] == "abs") & (table["model"] == model)]
    rows = []
    for label, t in table.groupby("method"):
        value = float(t.sort_values("depth")["mean"].iloc[-1])
        name = GUPTA_LABELS.get(str(label), str(label).lower())
        rows.append(_cell(name, "cascading randomisation", value, RANK_THRESHOLD))
    return rows


def _claim_rows(entries: Iterable[Mapping]) -> list[dict]:
    rows = []
    for e in entries:
        for c in e["claims"]:
            parts = c["id"].split(".")
            if parts[:2] == ["kindermans2017", "invariance"] and c["measured"] is not None:
                rows.append(
                    _cell(_row(parts[3]), f"{parts[2]} shift", c["measured"], INVARIANT_TOL)
                )
            elif c["id"] in ("gupta2019.cgi_mass_random_labels", "gupta2019.gi_mass_random_labels"):
                name = "competitive_gradient_input" if ".cgi_" in c["id"] else "gradient_input"
                rows.append(_cell(name, "data randomisation", c["measured"], MASS_THRESHOLD))
    return rows


def scorecard_table(adebayo: Mapping[str, str | Path], gupta_rank: str | Path | None,
                    entries: Iterable[Mapping], model: str) -> pd.DataFrame:  # fmt: skip
    """Long table: one row per (method, check) with score, threshold and pass/fail."""
    rows = [r for mode, csv in adebayo.items() for r in _adebayo_rows(csv, mode)]
    if gupta_rank is not None:
        known = {r["method"] for r in rows}
        rows += [r for r in _gupta_rank_rows(gupta_rank, model) if r["method"] not in known]
    rows += _claim_rows(entries)
    table = pd.DataFrame(rows, columns=["method", "check", "score", "threshold", "passes"])
    duplicated = table[table.duplicated(["method", "check"], keep=False)]
    if len(duplicated):
        raise ValueError(f"two scores for one cell: {duplicated.to_dict('records')}")
    return table


def scorecard(adebayo: Mapping[str, str | Path], gupta_rank, entry_paths, model: str,
              png, pdf, csv, entry) -> pd.DataFrame:  # fmt: skip
    entries = [load_json(p) for p in entry_paths]
    table = scorecard_table(adebayo, gupta_rank, entries, model)
    save_csv(csv, table)
    methods = list(dict.fromkeys(table["method"]))
    grid = np.full((len(methods), len(CHECKS)), np.nan)
    passes = np.zeros_like(grid, dtype=bool)
    for r in table.itertuples(index=False):
        i, j = methods.index(r.method), CHECKS.index(r.check)
        grid[i, j], passes[i, j] = r.score, r.passes
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(methods) + 1.5))
    colour = np.where(np.isnan(grid), 0.5, passes.astype(float))
    ax.imshow(colour, cmap="RdYlGn", vmin=-0.3, vmax=1.3, aspect="auto")
    for i in range(len(methods)):
        for j in range(len(CHECKS)):
            if not math.isnan(grid[i, j]):
                mark = "pass" if passes[i, j] else "fail"
                ax.text(j, i, f"{grid[i, j]:.2g}\n{mark}", ha="center", va="center", fontsize=6)
    ax.set_xticks(range(len(CHECKS)), CHECKS, rotation=20, ha="right")
    ax.set_yticks(range(len(methods)), methods)
    ax.set_title(f"Sanity-check scorecard (MNIST; randomisation on the {model})")
    save(fig, png, pdf)
    n_pass = int(table["passes"].sum())
    write_entry(
        entry,
        doc="beyond",
        name="scorecard",
        title="Scorecard: every method x every sanity check",
        caption=(
            "Green: passes, red: fails, grey: not run for this method. Parameter randomisation "
            f"({model}, cascading: fully randomised; independent: the largest value over single "
            "layers): mean Spearman rank correlation of |map| with the trained model's map, "
            f"passes below {RANK_THRESHOLD}. Data randomisation: sum |map| of the permuted-label "
            "AlexNet over the normal one's, passes when small (threshold of gupta2019 Fig. 7). "
            "Shifts: max relative difference of network 2's map from network 1's "
            "(kindermans2017), passes below the invariance threshold of those figures. "
            "Built from the figure rules' saved numbers only."
        ),
        statement="(beyond the papers) the checks of the four documents side by side.",
        measured=f"{n_pass} of {len(table)} method x check cells pass.",
        files=[png, pdf, csv],
    )
    return table
