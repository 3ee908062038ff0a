"""Pure array -> array normalisation of saliency maps for display (no plotting here).

Maps come batched as (N, C, H, W) or (N, H, W) (a single (H, W) map works too) and leave as
(N, H, W) (or (H, W)) float64 arrays, normalised per image over its last two axes:

* :func:`absolute_clip`: |m| divided by its 99th percentile and clipped to [0, 1], the grayscale
  grids of Adebayo et al. (2018, Fig. 1 and Figs. 4-9);
* :func:`diverging`: the signed map divided by the 99th percentile of |m| and clipped to [-1, 1],
  centred at zero, for a red/blue colormap with ``vmin=-1, vmax=1`` (gupta2019, Fig. 5).

An all-zero map stays all-zero (no NaN).
"""

from __future__ import annotations

import numpy as np


def to_grayscale(maps, absolute: bool = True) -> np.ndarray:
    """Collapse the channel axis of (N, C, H, W) maps: sum of |m| (``absolute``) or sum of m.

    (N, H, W) and (H, W) maps have no channel axis and are returned as they are (|m| with
    ``absolute``). As PAIR saliency's ``VisualizeImageGrayscale`` / ``VisualizeImageDiverging``.
    """
    m = np.asarray(maps, dtype=np.float64)
    if m.ndim not in (2, 3, 4):
        raise ValueError(f"expected maps (N, C, H, W), (N, H, W) or (H, W), got shape {m.shape}")
    if absolute:
        m = np.abs(m)
    return m.sum(axis=1) if m.ndim == 4 else m


def _scale(magnitude: np.ndarray, percentile: float) -> np.ndarray:
    """Per-image percentile of ``magnitude`` over the last two axes, keepdims.

    Where that percentile is zero (a sparse map: more than 1 - percentile/100 of its pixels are
    zero) the maximum is used instead, so nonzero pixels stay visible; an all-zero map gets 0.
    """
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    scale = np.percentile(magnitude, percentile, axis=(-2, -1), keepdims=True)
    peak = magnitude.max(axis=(-2, -1), keepdims=True)
    return np.where(scale > 0, scale, peak)


def _divide(m: np.ndarray, scale: np.ndarray) -> np.ndarray:
    scale = np.broadcast_to(scale, m.shape)
    return np.divide(m, scale, out=np.zeros_like(m), where=scale > 0)


def absolute_clip(maps, percentile: float = 99) -> np.ndarray:
    """|m| / (per-image ``percentile`` of |m|), clipped to [0, 1] (Adebayo et al. 2018 grids).

    Channels are collapsed by the sum of |m| first. PAIR's ``VisualizeImageGrayscale`` also
    subtracts the map's minimum; we do not, so that zero stays zero.
    """
    g = to_grayscale(maps, absolute=True)
    return np.clip(_divide(g, _scale(g, percentile)), 0.0, 1.0)


def diverging(maps, percentile: float = 99) -> np.ndarray:
    """m / (per-image ``percentile`` of |m|), clipped to [-1, 1]; zero stays at zero.

    Channels are collapsed by the signed sum first. Show with a diverging colormap (red
    positive, blue negative) and ``vmin=-1, vmax=1``.
    """
    g = to_grayscale(maps, absolute=False)
    return np.clip(_divide(g, _scale(np.abs(g), percentile)), -1.0, 1.0)
