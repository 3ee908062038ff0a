"""Shattered gradients, analytically: g(x) = 2 ReLU(x) - 4 ReLU(x - 0.5), the tent map on [0, 1],
composed k times (samek2020, "shattered gradients" slide; after Montufar et al. 2014 and Balduzzi
et al. 2017). g^k has 2^k linear pieces and slope ±2^k on [0, 1]: a small deep ReLU net whose
function stays in [0, 1] while its gradient grows and flips ever faster.

Everything here is *measured* from sampled functions, never typed in: :func:`count_pieces`
counts the slope changes of a sampled piecewise-linear function, so the table of the figure (and
the tests, which change g) follow the function.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: default grid on [0, 1]: 2^14 intervals plus an offset-free endpoint; fine enough for k <= 8
DEFAULT_GRID = 2**14 + 1
#: two neighbouring slopes differ when |s_j+1 - s_j| > SLOPE_RTOL * max |s| (float64 rounding of
#: differences on the grid is ~1e-12 relative; any real kink changes the slope by O(1) of it)
SLOPE_RTOL = 1e-6


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def tent(x: np.ndarray, slope: float = 2.0, breakpoint: float = 0.5) -> np.ndarray:
    """g(x) = a ReLU(x) - 2a ReLU(x - b); with a = 2 and b = 0.5 the tent map on [0, 1]."""
    x = np.asarray(x, dtype=np.float64)
    return slope * relu(x) - 2.0 * slope * relu(x - breakpoint)


def compose(g: Callable[[np.ndarray], np.ndarray], k: int) -> Callable[[np.ndarray], np.ndarray]:
    """g ∘ g ∘ ... ∘ g (k times); k = 0 is the identity."""
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")

    def gk(x: np.ndarray) -> np.ndarray:
        y = np.asarray(x, dtype=np.float64)
        for _ in range(k):
            y = g(y)
        return y

    return gk


def slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Slopes of the sampled function between neighbouring grid points."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or len(x) < 2 or np.any(np.diff(x) <= 0):
        raise ValueError("x must be an increasing 1-d grid of >= 2 points and y of the same shape")
    return np.diff(y) / np.diff(x)


def count_pieces(x: np.ndarray, y: np.ndarray, rtol: float = SLOPE_RTOL) -> int:
    """Number of linear pieces of a sampled piecewise-linear function.

    A kink on a grid point changes the slope once; a kink inside a grid interval gives that
    interval an in-between slope, i.e. two changes at neighbouring positions. Runs of changes at
    consecutive positions therefore count as one kink (robust to the grid's alignment; two kinks
    closer than a grid step would count as one, so the grid must be finer than the pieces).
    """
    s = slopes(x, y)
    scale = max(float(np.max(np.abs(s))), 1e-300)
    changed = np.abs(np.diff(s)) > rtol * scale
    if not changed.any():
        return 1
    idx = np.flatnonzero(changed)
    kinks = 1 + int(np.count_nonzero(np.diff(idx) > 1))
    return 1 + kinks


def max_slope(x: np.ndarray, y: np.ndarray) -> float:
    """max |slope| over the grid intervals (exact for a grid finer than the pieces)."""
    return float(np.max(np.abs(slopes(x, y))))


def table(
    depths: int | list[int] = 4,
    grid: int = DEFAULT_GRID,
    g: Callable[[np.ndarray], np.ndarray] = tent,
) -> list[dict]:
    """One row per depth k: output range, max slope and number of pieces of g^k on [0, 1]."""
    ks = list(range(1, depths + 1)) if isinstance(depths, int) else list(depths)
    x = np.linspace(0.0, 1.0, grid)
    rows = []
    for k in ks:
        y = compose(g, k)(x)
        rows.append(
            {
                "k": k,
                "output_min": float(y.min()),
                "output_max": float(y.max()),
                "max_slope": max_slope(x, y),
                "pieces": count_pieces(x, y),
            }
        )
    return rows


def normalised_total_variation(curve: np.ndarray) -> float:
    """Σ |c_j+1 - c_j| / (max c - min c): 1 for a monotone curve, large for an oscillating one
    (0 for a constant curve). The roughness statistic of the shattered-gradients figure."""
    c = np.asarray(curve, dtype=np.float64)
    spread = float(c.max() - c.min())
    return float(np.abs(np.diff(c)).sum() / spread) if spread > 0 else 0.0
