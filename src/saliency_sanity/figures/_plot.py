"""Shared plotting machinery: Agg backend, one style, atomic png + pdf, and the overlap check.

Every figure is read by eye at its committed size, so :func:`save` checks that no two pieces
of text of the figure overlap (tick labels, titles, axis labels, legends, table cells drawn as
text). An overlap is logged as a warning; with ``SALIENCY_SANITY_STRICT_FIGURES=1`` (the
tests) it raises :class:`OverlapError`, naming both texts.
"""

from __future__ import annotations

import itertools
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

STRICT_ENV = "SALIENCY_SANITY_STRICT_FIGURES"
#: pixels of overlap tolerated (anti-aliasing of touching glyph boxes)
OVERLAP_TOLERANCE_PX = 1.0


class OverlapError(RuntimeError):
    """Two texts of a figure overlap."""


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 8, "axes.titlesize": 8, "figure.dpi": 150,
                         "svg.hashsalt": "saliency-sanity"})  # fmt: skip
    return plt


def _drawn_texts(fig) -> list:
    """(text, window extent) of every text artist the renderer actually draws (tick labels
    outside the view limits exist as artists but are not drawn, so they are not counted)."""
    from matplotlib.text import Text

    drawn = []
    original = Text.draw

    def draw(self, renderer):
        original(self, renderer)
        if self.get_visible() and self.get_text().strip():
            box = self.get_window_extent(renderer)
            if box.width > 0 and box.height > 0:
                drawn.append((self.get_text(), box))

    Text.draw = draw
    try:
        fig.canvas.draw()
    finally:
        Text.draw = original
    return drawn


def overlaps(fig) -> list[tuple[str, str]]:
    """Pairs of drawn texts of ``fig`` whose boxes intersect (by more than the tolerance)."""
    found = []
    tol = OVERLAP_TOLERANCE_PX
    for (ta, a), (tb, b) in itertools.combinations(_drawn_texts(fig), 2):
        if (min(a.x1, b.x1) - max(a.x0, b.x0) > tol) and (min(a.y1, b.y1) - max(a.y0, b.y0) > tol):
            found.append((ta, tb))
    return found


def check_overlaps(fig, name: str = "") -> None:
    bad = overlaps(fig)
    if not bad:
        return
    listed = "; ".join(f"{a!r} / {b!r}" for a, b in bad[:8])
    message = f"figure {name}: {len(bad)} overlapping text pair(s): {listed}"
    if os.environ.get(STRICT_ENV, "").strip() in ("1", "true", "yes"):
        raise OverlapError(message)
    log.warning(message)


def save(fig, *paths: str | Path) -> None:
    """Check the figure's texts for overlaps, then save it to every path (atomic)."""
    from saliency_sanity.io import save_figure

    check_overlaps(fig, str(paths[0]) if paths else "")
    for path in paths:
        save_figure(fig, path)
    pyplot().close(fig)
