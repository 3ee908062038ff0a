"""The tidy table every check returns: one row per (method, step, measure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from saliency_sanity import similarity

#: the columns of every check's table, in this order
COLUMNS = ("check", "method", "step", "index", "measure", "mean", "std", "n", "null_mean",
           "null_std", "note")  # fmt: skip


def row(
    check: str,
    method: str,
    step: str,
    index: int,
    measure: str,
    values: np.ndarray | None,
    null: np.ndarray | None = None,
    note: str = "",
) -> dict:
    """One row: mean and population std of ``values`` over images (NaNs left out, ``n`` counts
    the rest) and the same of ``null``; an empty cell (NaN, n = 0) with ``note`` saying why."""
    mean, std = similarity.summarize(values) if values is not None else (np.nan, np.nan)
    null_mean, null_std = similarity.summarize(null) if null is not None else (np.nan, np.nan)
    n = 0 if values is None else int(np.sum(~np.isnan(np.asarray(values, dtype=np.float64))))
    return {"check": check, "method": method, "step": step, "index": index, "measure": measure,
            "mean": mean, "std": std, "n": n, "null_mean": null_mean, "null_std": null_std,
            "note": note}  # fmt: skip


def not_applicable(check: str, method: str, measures, reason: str) -> list[dict]:
    """The empty rows (one per measure) of a method that cannot explain the model, with why."""
    return [row(check, method, "", 0, m, None, note=reason) for m in measures]


def frame(rows: Sequence[Mapping], **attrs) -> pd.DataFrame:
    """The rows as a DataFrame with :data:`COLUMNS`; ``attrs`` (the check's settings) go to
    ``DataFrame.attrs``."""
    df = pd.DataFrame(list(rows), columns=list(COLUMNS))
    df.attrs.update(attrs)
    return df
