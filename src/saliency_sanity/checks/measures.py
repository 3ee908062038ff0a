"""The similarity measures of the checks, by name: one value per image for two batches of maps.

The measures of Adebayo et al. (2018, Sec. 3), implemented once in
:mod:`saliency_sanity.similarity`: Spearman rank correlation of |m| (``spearman_abs``) and of m
(``spearman_signed``), SSIM of min-max normalised |m| or m on the 2-D maps (``ssim``,
``ssim_signed``) and the correlation of HOG features (``hog``). ``ssim_1d`` is the SSIM that
Quantus 0.6 computes (its ``similarity_func.ssim`` on maps flattened to 1-D, window 7, data range
from both maps): it ignores the image's rows, and is here only to compare with Quantus.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from saliency_sanity import similarity

Measure = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _ssim_1d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from skimage.metrics import structural_similarity

    a = a.reshape(len(a), -1).astype(np.float64)
    b = b.reshape(len(b), -1).astype(np.float64)
    out = np.empty(len(a))
    for i, (u, v) in enumerate(zip(a, b, strict=True)):
        both = np.concatenate([u, v])
        out[i] = structural_similarity(u, v, data_range=float(both.max() - both.min()))
    return out


MEASURES: dict[str, Measure] = {
    "spearman_abs": lambda a, b: similarity.spearman(a, b, absolute=True),
    "spearman_signed": lambda a, b: similarity.spearman(a, b, absolute=False),
    "ssim": lambda a, b: similarity.ssim(a, b, absolute=True),
    "ssim_signed": lambda a, b: similarity.ssim(a, b, absolute=False),
    "hog": lambda a, b: similarity.hog_similarity(a, b, absolute=True),
    "ssim_1d": _ssim_1d,
}

#: measures that need image maps (N, C, H, W) of at least 11 x 11 pixels
SPATIAL = ("ssim", "ssim_signed", "hog")
#: the sign-free measures: for maps that are non-negative by construction (VarGrad, GradCAM)
#: the signed Spearman equals the absolute one
DEFAULT = ("spearman_abs", "spearman_signed", "ssim")


def check_measures(measures) -> tuple[str, ...]:
    """``measures`` as a tuple of known names; ValueError naming the unknown ones."""
    measures = (measures,) if isinstance(measures, str) else tuple(measures)
    unknown = [m for m in measures if m not in MEASURES]
    if unknown or not measures:
        raise ValueError(f"unknown measure(s) {unknown}; known: {sorted(MEASURES)}")
    return measures


def not_applicable(measure: str, shape: tuple[int, ...]) -> str | None:
    """Why ``measure`` cannot compare maps of ``shape`` (N, ...), or None when it can."""
    if measure in SPATIAL and (len(shape) != 4 or min(shape[-2:]) < 11):
        return f"{measure} needs image maps (N, C, H, W), H, W >= 11; the maps are {shape[1:]}"
    return None


def _float64(maps) -> np.ndarray:
    return np.asarray(maps.detach().cpu() if hasattr(maps, "detach") else maps, dtype=np.float64)


def compare(measure: str, a, b) -> np.ndarray:
    """``measure`` between two batches of maps of equal shape (N, ...) -> float64 (N,); NaN
    for an image where the measure is undefined (a constant map has no ranks)."""
    a, b = _float64(a), _float64(b)
    reason = not_applicable(measure, a.shape)
    if reason:
        raise ValueError(reason)
    return np.asarray(MEASURES[measure](a, b), dtype=np.float64)


#: measures that are :func:`saliency_sanity.similarity.correlation` of a share that each batch
#: gives alone (its ranks, its HOG features): that share, by measure
_PREPARED = {
    "spearman_abs": lambda m: similarity.spearman_ranks(m, absolute=True),
    "spearman_signed": lambda m: similarity.spearman_ranks(m, absolute=False),
    "hog": lambda m: similarity.hog_features(m, absolute=True),
}


def against(measure: str, reference) -> Callable[[object], np.ndarray]:
    """``maps -> compare(measure, reference, maps)`` for a curve of many batches against one
    reference (a randomisation test's trained maps): the reference's own share of the measure
    (its ranks, its HOG features) is computed once, the numbers are the same."""
    ref = _float64(reference)
    reason = not_applicable(measure, ref.shape)
    if reason:
        raise ValueError(reason)
    if measure not in _PREPARED:
        return lambda maps: compare(measure, ref, maps)
    prepare = _PREPARED[measure]
    prepared = prepare(ref)

    def versus(maps) -> np.ndarray:
        m = _float64(maps)
        if m.shape != ref.shape:
            raise ValueError(f"maps must have the same shape, got {ref.shape} and {m.shape}")
        return similarity.correlation(prepared, prepare(m))

    return versus
