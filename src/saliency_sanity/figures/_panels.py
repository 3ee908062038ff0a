"""The shared figure vocabulary: input, signed and absolute panels, map grids, method labels.

Panels show maps as the papers do (``saliency_sanity.viz``): signed maps on a red/blue diverging
scale (each divided by its 99th percentile of |map|, clipped to [-1, 1]; red positive), absolute
maps in grey (|map| over its 99th percentile, clipped to [0, 1]); inputs in grey (MNIST) or in
colour (ImageNet, (H, W, 3) in [0, 1]). Every figure module draws with these, so a map looks
the same in every figure.

Method labels: one table, :mod:`saliency_sanity.method_labels` (short label for figures, and
the citation for captions: :func:`method_legend`), which the registry reads too. The
experiments' own variants of a method (IG with a named reference, Deep Taylor with a root
point, SmoothGrad of IG, ...) are named ``<method>_<value>`` and read as the method's label with
that value (:data:`NAME_SUFFIX`). Labels are short so that they fit as row labels.
"""

from __future__ import annotations

import textwrap

import numpy as np

from saliency_sanity import method_labels, viz
from saliency_sanity.figures._plot import pyplot
from saliency_sanity.method_labels import METHOD_LABELS

#: the experiments' map names ``<method>_<value>`` (``integrated_gradients_black``,
#: ``smoothgrad_gradient``, ``pattern_net_covariance``): the parameter that the value sets
NAME_SUFFIX = {"integrated_gradients": "baseline", "deep_taylor": "root", "smoothgrad": "base",
               "vargrad": "base", "pattern_net": "estimator",
               "pattern_attribution": "estimator"}  # fmt: skip
#: the width (characters) at which row labels wrap
LABEL_WIDTH = 16


def method_label(name: str, *notes: str, **params) -> str:
    """The short label of a method (registry name, or an experiment's ``<method>_<value>``),
    with ``notes`` and ``params`` described after it (:func:`saliency_sanity.method_labels.
    label`): ``"integrated_gradients_black"`` -> "IG (black ref.)"."""
    if name not in METHOD_LABELS:
        for method, param in NAME_SUFFIX.items():
            if name.startswith(f"{method}_"):
                value = name.removeprefix(f"{method}_")
                return method_labels.label(method, *notes, **{param: value}, **params)
    return method_labels.label(name, *notes, **params)


def method_legend(names) -> str:
    """Caption text for a figure's methods: short label, registry name and citation of each."""
    return method_labels.legend(names)


def wrap(label: str, width: int = LABEL_WIDTH) -> str:
    return "\n".join(textwrap.wrap(label, width, break_long_words=False)) or label


def off(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def _image(img) -> np.ndarray:
    a = np.asarray(img, dtype=np.float64)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3):
        a = np.moveaxis(a, 0, -1)  # (C, H, W) -> (H, W, C)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    return a


def show_input(ax, img, title: str = "") -> None:
    """An input image: grey with its own range (MNIST, also shifted inputs), or colour."""
    a = _image(img)
    if a.ndim == 3:
        ax.imshow(np.clip(a, 0, 1))
    else:
        ax.imshow(a, cmap="gray", vmin=float(a.min()), vmax=float(a.max()) or 1.0)
    _title(ax, title)
    off(ax)


def show_signed(ax, m, title: str = "", *, normalised: bool = False) -> None:
    """A signed map, red positive, blue negative (``normalised``: already in [-1, 1])."""
    a = np.asarray(m, dtype=np.float64) if normalised else viz.diverging(np.asarray(m)[None])[0]
    ax.imshow(a, cmap="bwr", vmin=-1, vmax=1)
    _title(ax, title)
    off(ax)


def show_absolute(ax, m, title: str = "", *, normalised: bool = False) -> None:
    """|map| in grey, clipped at its 99th percentile (``normalised``: already in [0, 1])."""
    a = np.asarray(m, dtype=np.float64) if normalised else viz.absolute_clip(np.asarray(m)[None])[0]
    ax.imshow(a, cmap="gray", vmin=0, vmax=1)
    _title(ax, title)
    off(ax)


def _title(ax, title: str) -> None:
    if title:
        ax.set_title(title, fontsize=6)


def label_cell(ax, label: str) -> None:
    """A panel that holds only a row label (wrapped, centred), for rows without an input."""
    ax.axis("off")
    ax.text(0.5, 0.5, wrap(label), ha="center", va="center", fontsize=6, transform=ax.transAxes)


PANELS = {"input": show_input, "signed": show_signed, "absolute": show_absolute}


def row_label(ax, label: str) -> None:
    """A row label left of the first panel of a row, horizontal and wrapped."""
    ax.set_ylabel(wrap(label), rotation=0, ha="right", va="center", fontsize=6, labelpad=4)


def map_grid(rows, columns: list[str] | None = None, *, size: float = 1.05, label_width=1.2):
    """A grid of panels: ``rows`` is a list of ``(label, kind, images)`` with ``kind`` in
    :data:`PANELS` and ``images`` a sequence of one map per column. Column titles go above
    the first row. Returns (fig, axes)."""
    plt = pyplot()
    n_cols = max(len(images) for _, _, images in rows)
    fig, axes = plt.subplots(
        len(rows), n_cols, figsize=(size * n_cols + label_width, size * len(rows) + 0.3),
        squeeze=False,
    )  # fmt: skip
    for i, (label, kind, images) in enumerate(rows):
        for j in range(n_cols):
            ax = axes[i, j]
            if j < len(images) and images[j] is not None:
                PANELS[kind](ax, images[j], columns[j] if columns and i == 0 else "")
            else:
                ax.axis("off")
        row_label(axes[i, 0], label)
    return fig, axes
