"""The randomisation-variants figure (beyond the papers; Hedström et al. 2023): each method's
rank under each variant of the parameter-randomisation test. Reads the saved table."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from saliency_sanity.catalogue import C, Result, figure
from saliency_sanity.figures._panels import method_label, wrap
from saliency_sanity.figures._plot import pyplot, save
from saliency_sanity.io import load_npz, save_csv
from saliency_sanity.report import write_entry

#: variants whose score rises with sensitivity (the others are similarities: lower = better)
HIGHER_IS_BETTER = ("eMPRT",)


def ranks(table: pd.DataFrame) -> pd.DataFrame:
    """Rank (1 = most sensitive to the randomisation) of each method within each variant;
    methods without a score (cannot apply) get no rank."""
    out = table.copy()
    out["rank"] = np.nan
    for variant, part in out.groupby("variant", sort=False):
        higher = variant.startswith(HIGHER_IS_BETTER)
        scored = part["score"].notna()
        r = part.loc[scored, "score"].rank(ascending=not higher, method="min")
        out.loc[r.index, "rank"] = r
    return out


def agreement(ranked: pd.DataFrame, reference: str) -> dict[str, float]:
    """Kendall's tau between the reference variant's ranking and each other's."""
    wide = ranked.pivot(index="method", columns="variant", values="rank").dropna()
    return {v: float(stats.kendalltau(wide[reference], wide[v])[0])
            for v in wide.columns if v != reference}  # fmt: skip


def draw(ranked: pd.DataFrame):
    variants = list(dict.fromkeys(ranked["variant"]))
    methods = list(dict.fromkeys(ranked["method"]))
    cells = ranked.set_index(["variant", "method"])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(0.8 * len(methods) + 1.9, 0.3 * len(variants) + 1.0))
    grid = np.array([[cells.loc[(v, m), "rank"] for m in methods] for v in variants], float)
    ax.imshow(np.ma.masked_invalid(grid), cmap="viridis", aspect="auto", vmin=1,
              vmax=len(methods))  # fmt: skip
    for i, v in enumerate(variants):
        for j, m in enumerate(methods):
            score = cells.loc[(v, m), "score"]
            text = "n/a" if np.isnan(score) else f"{score:.2f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=5.5,
                    color="white" if grid[i, j] <= len(methods) / 2 else "black")  # fmt: skip
    ax.set_xticks(range(len(methods)))
    ax.set_xticklabels([wrap(method_label(m), 13) for m in methods], fontsize=5.5)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(variants)))
    ax.set_yticklabels(variants, fontsize=6)
    ax.tick_params(length=0)
    fig.tight_layout(pad=0.3)
    return fig


@figure("beyond", "randomization_variants_{model}", caption="randomization_variants",
        over={"model": C("randomization_variants.models")},
        inputs={"results": Result("beyond/randomization_variants_{model}")})  # fmt: skip
def variants_figure(*, results, png, pdf, csv, entry) -> pd.DataFrame:
    """Rows: variants; columns: methods; colour: the method's rank in the variant (dark = most
    sensitive); number: the score."""
    r = load_npz(results)
    ranked = ranks(r["table"])
    save_csv(csv, ranked)
    save(draw(ranked), png, pdf)
    reference = ranked["variant"].iloc[0]
    taus = agreement(ranked, reference)
    finite = {v: t for v, t in taus.items() if not np.isnan(t)}  # NaN: a row of ties
    worst = min(finite, key=finite.get) if finite else next(iter(taus))
    n = int(ranked["n"].max())
    write_entry(
        entry, doc="beyond", name=f"randomization_variants_{r['model']}",
        details=f"Model: {r['model']} (MNIST), {n} test-bed images; the reference ranking is "
        f"'{reference}' (Adebayo et al.'s).",
        measured=f"Kendall's tau of each variant's method ranking with '{reference}': "
        + ", ".join(f"{v} {t:.2f}" for v, t in taus.items())
        + f"; least agreement: {worst} ({taus[worst]:.2f}).",
        files=[png, pdf, csv],
    )  # fmt: skip
    return ranked
