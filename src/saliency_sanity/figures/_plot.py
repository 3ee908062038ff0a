"""Shared plotting helpers (Agg backend, one style, atomic png+pdf saving)."""

from __future__ import annotations

from pathlib import Path


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 8, "axes.titlesize": 8, "figure.dpi": 150})
    return plt


def save(fig, *paths: str | Path) -> None:
    from saliency_sanity.io import save_figure

    for path in paths:
        save_figure(fig, path)
    pyplot().close(fig)
