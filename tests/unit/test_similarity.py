"""Spearman, SSIM and HOG similarity against SciPy / scikit-image, one image at a time."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch
from skimage.feature import hog
from skimage.metrics import structural_similarity

from saliency_sanity.similarity import hog_similarity, spearman, ssim, summarize


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20180101)


def _scipy_spearman(a: np.ndarray, b: np.ndarray, absolute: bool) -> np.ndarray:
    f = np.abs if absolute else (lambda v: v)
    return np.array(
        [
            scipy.stats.spearmanr(f(p).ravel(), f(q).ravel()).statistic
            for p, q in zip(a, b, strict=True)
        ]
    )


def _zero_heavy(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Mostly zero pixels, the rest small signed integers: many ties of both signs."""
    values = rng.integers(-3, 4, size=shape).astype(float)
    return np.where(rng.random(shape) < 0.7, 0.0, values)


@pytest.mark.parametrize("absolute", [True, False])
def test_spearman_matches_scipy_on_random_maps(rng, absolute):
    a = rng.normal(size=(6, 1, 7, 7))
    b = a + rng.normal(size=a.shape)  # correlated, so values are not all near zero
    np.testing.assert_allclose(spearman(a, b, absolute), _scipy_spearman(a, b, absolute))


@pytest.mark.parametrize("absolute", [True, False])
def test_spearman_matches_scipy_with_many_ties(rng, absolute):
    a = _zero_heavy(rng, (8, 10, 10))
    b = np.where(rng.random(a.shape) < 0.5, a, _zero_heavy(rng, a.shape))
    expected = _scipy_spearman(a, b, absolute)
    np.testing.assert_allclose(spearman(a, b, absolute), expected, atol=1e-12)


def test_spearman_absolute_and_signed_differ_on_sign_flips(rng):
    a = rng.normal(size=(3, 50))
    b = -a
    np.testing.assert_allclose(spearman(a, b, absolute=True), 1.0)
    np.testing.assert_allclose(spearman(a, b, absolute=False), -1.0)


def test_spearman_constant_map_is_nan(rng):
    a = rng.normal(size=(2, 5, 5))
    b = a.copy()
    b[1] = 0.0
    out = spearman(a, b)
    assert out[0] == pytest.approx(1.0)
    assert np.isnan(out[1])


def test_spearman_takes_torch_tensors(rng):
    a, b = rng.normal(size=(2, 4, 30))
    expected = spearman(a, b, absolute=False)
    out = spearman(torch.from_numpy(a), torch.from_numpy(b), absolute=False)
    np.testing.assert_array_equal(out, expected)


def test_spearman_shape_mismatch_raises(rng):
    with pytest.raises(ValueError, match="same shape"):
        spearman(rng.normal(size=(2, 9)), rng.normal(size=(2, 8)))


def _minmax(m: np.ndarray) -> np.ndarray:
    return (m - m.min()) / (m.max() - m.min())


@pytest.mark.parametrize("absolute", [True, False])
def test_ssim_matches_skimage(rng, absolute):
    a = rng.normal(size=(4, 28, 28))
    b = 0.5 * a + rng.normal(size=a.shape)
    f = np.abs if absolute else (lambda v: v)
    expected = [
        structural_similarity(
            _minmax(f(p)),
            _minmax(f(q)),
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=1,
        )
        for p, q in zip(a, b, strict=True)
    ]
    np.testing.assert_allclose(ssim(a, b, absolute), expected, rtol=1e-10)


def test_ssim_matches_skimage_with_channels(rng):
    a = rng.normal(size=(2, 3, 16, 20))
    b = a + rng.normal(size=a.shape)
    expected = [
        structural_similarity(
            _minmax(p),
            _minmax(q),
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=1,
            channel_axis=0,
        )
        for p, q in zip(a, b, strict=True)
    ]
    np.testing.assert_allclose(ssim(a, b, absolute=False), expected, rtol=1e-10)


def test_ssim_identical_is_one_and_scale_free(rng):
    a = rng.normal(size=(3, 14, 14))
    np.testing.assert_allclose(ssim(a, 7.0 * a, absolute=False), 1.0)
    np.testing.assert_allclose(ssim(np.zeros_like(a), np.zeros_like(a)), 1.0)  # no NaN


def test_ssim_rejects_small_maps(rng):
    with pytest.raises(ValueError, match="at least"):
        ssim(rng.normal(size=(1, 8, 8)), rng.normal(size=(1, 8, 8)))


def test_hog_similarity_against_per_image_skimage(rng):
    a = rng.normal(size=(3, 28, 28))
    b = a + 2 * rng.normal(size=a.shape)
    kwargs = {"orientations": 9, "pixels_per_cell": (4, 4), "cells_per_block": (2, 2)}
    expected = [
        np.corrcoef(hog(np.abs(p), **kwargs), hog(np.abs(q), **kwargs))[0, 1]
        for p, q in zip(a, b, strict=True)
    ]
    np.testing.assert_allclose(hog_similarity(a, b), expected, rtol=1e-10)
    np.testing.assert_allclose(hog_similarity(a, a), 1.0)
    assert np.all(hog_similarity(a, b) < 0.99)


def test_hog_constant_map_is_nan(rng):
    a = rng.normal(size=(1, 1, 28, 28))
    assert np.isnan(hog_similarity(a, np.zeros_like(a)))[0]


def test_summarize_ignores_nan():
    mean, std = summarize(np.array([1.0, np.nan, 3.0]))
    assert mean == pytest.approx(2.0)
    assert std == pytest.approx(1.0)  # population std of (1, 3)
    assert all(np.isnan(summarize([np.nan, np.nan])))
