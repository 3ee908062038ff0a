"""Similarity between batches of saliency maps: Spearman rank correlation, SSIM and HOG.

The measures of Adebayo et al. (2018, Sec. 3 and Fig. 2/3; NeurIPS version Sec. 4) between the
maps of the trained model and those of a randomised one, one value per image. Every function
takes two batches of maps of equal shape (N, ...) (NumPy arrays or torch tensors) and returns a
float64 NumPy array (N,). Curves are then summarised over the test-bed with :func:`summarize`.

Constant maps (e.g. an all-zero GradCAM after randomisation) have no ranks and no correlation:
:func:`spearman` and :func:`hog_similarity` return NaN for them, as ``scipy.stats.spearmanr``
does; :func:`summarize` ignores NaNs, so report how many there were where it matters.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: SSIM settings of Wang et al. (2004) as in skimage with ``gaussian_weights=True``.
SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5
SSIM_K1, SSIM_K2 = 0.01, 0.03

#: HOG settings. The original code's 16-pixel cells leave a single cell on a 28x28 MNIST map, so
#: we use 4x4-pixel cells (7x7 cells, 2x2-cell blocks); orientations as skimage's default.
HOG_PIXELS_PER_CELL = (4, 4)
HOG_CELLS_PER_BLOCK = (2, 2)
HOG_ORIENTATIONS = 9

#: Rows are processed in chunks of at most this many elements (bounds memory on ImageNet maps).
_CHUNK_ELEMENTS = 2**24


def _as_batch(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = (np.asarray(_to_numpy(m), dtype=np.float64) for m in (a, b))
    if a.shape != b.shape:
        raise ValueError(f"maps must have the same shape, got {a.shape} and {b.shape}")
    if a.ndim < 2:
        raise ValueError(f"expected a batch of maps (N, ...), got shape {a.shape}")
    return a, b


def _to_numpy(m):
    if hasattr(m, "detach"):  # torch tensor, without importing torch here
        return m.detach().cpu().numpy()
    return m


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..D along axis 1 of a 2-d array, ties get their average rank (vectorised)."""
    n, d = x.shape
    order = np.argsort(x, axis=1, kind="stable")
    xs = np.take_along_axis(x, order, axis=1)
    new_group = np.ones((n, d), dtype=bool)
    new_group[:, 1:] = xs[:, 1:] != xs[:, :-1]
    group = np.cumsum(new_group.ravel()) - 1  # every row starts a new group: none spans rows
    positions = np.tile(np.arange(1, d + 1, dtype=np.float64), n)
    mean_rank = np.bincount(group, weights=positions) / np.bincount(group)
    ranks = np.empty((n, d))
    np.put_along_axis(ranks, order, mean_rank[group].reshape(n, d), axis=1)
    return ranks


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of a with the same row of b; NaN for constant rows."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return np.clip(r, -1.0, 1.0)


def _chunks(n: int, d: int):
    step = max(1, _CHUNK_ELEMENTS // max(d, 1))
    for start in range(0, n, step):
        yield slice(start, start + step)


def spearman(a, b, absolute: bool = True) -> np.ndarray:
    """Spearman rank correlation per image between two batches of maps (N, ...) -> (N,).

    Maps are flattened per image; with ``absolute`` the ranks are those of |m| (the papers'
    default view), else of the signed m (both are reported; Adebayo et al. 2018, Sec. 3; the
    signed view answers Sundararajan & Taly 2018). Ties get average ranks, as
    ``scipy.stats.spearmanr``. A constant map gives NaN (as scipy); a map with a NaN gives NaN.
    Max-normalising the maps first would not change the result. It is :func:`correlation` of
    the two batches' :func:`spearman_ranks`, so a batch compared with many is ranked once.
    """
    a, b = _as_batch(a, b)
    return correlation(spearman_ranks(a, absolute), spearman_ranks(b, absolute))


def spearman_ranks(maps, absolute: bool = True) -> np.ndarray:
    """Average ranks (N, D) of each flattened map (of |m| with ``absolute``); a map with a NaN
    gets a row of NaN. The half of :func:`spearman` that depends on one batch alone."""
    m = np.asarray(_to_numpy(maps), dtype=np.float64)
    m = m.reshape(len(m), -1)
    if absolute:
        m = np.abs(m)
    ranks = np.empty(m.shape)
    for rows in _chunks(*m.shape):
        ranks[rows] = _average_ranks(m[rows])
    ranks[np.isnan(m).any(axis=1)] = np.nan
    return ranks


def correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``a`` (N, D) with the same row of ``b`` -> (N,); NaN
    for a constant row or one with a NaN. Of ranks (:func:`spearman_ranks`) it is Spearman's
    correlation, of HOG features (:func:`hog_features`) the HOG similarity."""
    if a.shape != b.shape:
        raise ValueError(f"rows must have the same shape, got {a.shape} and {b.shape}")
    out = np.empty(len(a))
    for rows in _chunks(*a.shape):
        out[rows] = _pearson_rows(a[rows], b[rows])
    return out


def _min_max(x: np.ndarray) -> np.ndarray:
    """Min-max normalise each image (axis 0 = batch) into [0, 1]; constant images become 0."""
    axes = tuple(range(1, x.ndim))
    lo, hi = x.min(axis=axes, keepdims=True), x.max(axis=axes, keepdims=True)
    span = hi - lo
    return np.divide(x - lo, span, out=np.zeros_like(x), where=span > 0)


def _gaussian(x: np.ndarray) -> np.ndarray:
    sigma = (0.0,) * (x.ndim - 2) + (SSIM_SIGMA, SSIM_SIGMA)
    return ndimage.gaussian_filter(x, sigma, mode="reflect", truncate=SSIM_TRUNCATE)


def ssim(a, b, absolute: bool = True) -> np.ndarray:
    """Structural similarity (Wang et al. 2004) per image between two batches of maps -> (N,).

    As in Adebayo et al. (2018, Sec. 3): each map (|m| with ``absolute``, else m) is min-max
    normalised per image into [0, 1] (a constant map becomes all zeros), then SSIM uses Gaussian
    weights (sigma 1.5, truncated at 3.5 sigma), population covariances and data range 1. This
    equals ``skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1)`` per image, vectorised over the batch. Maps are
    (N, H, W) or (N, C, H, W); with channels, SSIM is averaged over them (skimage's
    ``channel_axis``), normalisation is over the whole map. H and W must be at least 11.
    """
    a, b = _as_batch(a, b)
    if a.ndim not in (3, 4):
        raise ValueError(f"ssim expects maps (N, H, W) or (N, C, H, W), got shape {a.shape}")
    pad = int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5)
    if min(a.shape[-2:]) < 2 * pad + 1:
        raise ValueError(f"ssim needs maps of at least {2 * pad + 1}x{2 * pad + 1}")
    if absolute:
        a, b = np.abs(a), np.abs(b)
    x, y = _min_max(a), _min_max(b)
    ux, uy = _gaussian(x), _gaussian(y)
    vx = _gaussian(x * x) - ux * ux
    vy = _gaussian(y * y) - uy * uy
    vxy = _gaussian(x * y) - ux * uy
    c1, c2 = SSIM_K1**2, SSIM_K2**2  # data range 1
    s = (2 * ux * uy + c1) * (2 * vxy + c2) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    s = s[..., pad:-pad, pad:-pad]  # skimage averages away from the borders
    return s.reshape(len(s), -1).mean(axis=1)


def hog_features(maps, absolute: bool = True) -> np.ndarray:
    """HOG features (N, F) of a batch of maps (N, H, W) or (N, C, H, W), one per image.

    ``skimage.feature.hog`` with 4x4-pixel cells, 2x2-cell blocks, 9 orientations, L2-Hys block
    norm (the original code's 16-pixel cells do not fit a 28x28 map). Not vectorised: skimage is
    called once per image, which is cheap next to computing the maps.
    """
    from skimage.feature import hog

    m = np.asarray(_to_numpy(maps), dtype=np.float64)
    if m.ndim == 4 and m.shape[1] == 1:
        m = m[:, 0]
    if m.ndim not in (3, 4):
        raise ValueError(f"hog expects maps (N, H, W) or (N, C, H, W), got shape {m.shape}")
    if absolute:
        m = np.abs(m)
    kwargs = {
        "orientations": HOG_ORIENTATIONS,
        "pixels_per_cell": HOG_PIXELS_PER_CELL,
        "cells_per_block": HOG_CELLS_PER_BLOCK,
        "channel_axis": 0 if m.ndim == 4 else None,
    }
    return np.stack([hog(image, **kwargs) for image in m])


def hog_similarity(a, b, absolute: bool = True) -> np.ndarray:
    """Pearson correlation of the HOG features of two batches of maps -> (N,).

    Adebayo et al. (2018, Sec. 3) compare HOG features of the two maps; see :func:`hog_features`
    for the cells we use. Maps without any gradient (constant) give NaN.
    """
    a, b = _as_batch(a, b)
    return correlation(hog_features(a, absolute), hog_features(b, absolute))


def summarize(values) -> tuple[float, float]:
    """(mean, population std) over images, ignoring NaNs; (nan, nan) when every value is NaN."""
    v = np.asarray(_to_numpy(values), dtype=np.float64).ravel()
    v = v[~np.isnan(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std())
