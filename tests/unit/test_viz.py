"""Display normalisation of saliency maps: absolute clip and diverging, per image."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from saliency_sanity.viz import absolute_clip, diverging, to_grayscale


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(99)


def _ramp() -> np.ndarray:
    """One (1, 1, 101) map with |values| 0..100: its 99th percentile is exactly 99."""
    values = np.arange(101.0)
    values[::2] *= -1
    return values.reshape(1, 1, 101)


def test_absolute_clip_divides_by_the_99th_percentile():
    out = absolute_clip(_ramp())
    expected = np.minimum(np.arange(101.0) / 99.0, 1.0)
    np.testing.assert_allclose(out[0, 0], expected)


def test_diverging_keeps_sign_and_scale():
    m = _ramp()
    out = diverging(m)
    expected = np.clip(m[0, 0] / 99.0, -1, 1)
    np.testing.assert_allclose(out[0, 0], expected)
    np.testing.assert_allclose(diverging(-m), -out)  # centred at zero


@pytest.mark.parametrize("shape", [(3, 3, 12, 12), (3, 12, 12), (12, 12)])
def test_outputs_in_range_and_sign_preserved(rng, shape):
    m = rng.standard_cauchy(size=shape)  # heavy tails: clipping happens
    a, d = absolute_clip(m), diverging(m)
    expected_shape = shape if len(shape) < 4 else (shape[0], *shape[-2:])
    assert a.shape == expected_shape
    assert d.shape == expected_shape
    assert a.min() >= 0 and a.max() == 1.0
    assert d.min() == -1.0 and d.max() == 1.0
    g = to_grayscale(m, absolute=False)
    assert np.all(np.sign(d) == np.sign(g))


def test_zero_map_stays_zero(rng):
    m = rng.normal(size=(2, 3, 8, 8))
    m[1] = 0.0
    with np.errstate(all="raise"):
        a, d = absolute_clip(m), diverging(m)
    assert np.all(a[1] == 0) and np.all(d[1] == 0)
    assert not np.isnan(a).any() and not np.isnan(d).any()
    assert a[0].max() == 1.0  # the other image is unaffected


def test_sparse_map_uses_the_maximum():
    """When over 99% of pixels are zero the percentile is 0; nonzero pixels must stay visible."""
    m = np.zeros((1, 20, 20))
    m[0, 3, 4], m[0, 5, 6] = 2.0, -4.0
    np.testing.assert_allclose(absolute_clip(m)[0, [3, 5], [4, 6]], [0.5, 1.0])
    np.testing.assert_allclose(diverging(m)[0, [3, 5], [4, 6]], [0.5, -1.0])


def test_normalisation_is_per_image(rng):
    m = rng.normal(size=(2, 10, 10))
    scaled = m.copy()
    scaled[1] *= 1000.0
    np.testing.assert_allclose(absolute_clip(scaled), absolute_clip(m))
    np.testing.assert_allclose(diverging(scaled), diverging(m))


def test_to_grayscale_sums_channels():
    m = np.array([[[[1.0]], [[-2.0]], [[4.0]]]])  # (1, 3, 1, 1)
    assert to_grayscale(m, absolute=True).tolist() == [[[7.0]]]
    assert to_grayscale(m, absolute=False).tolist() == [[[3.0]]]
    single = np.array([[[-1.0, 2.0]]])  # (1, 1, 2): no channel axis
    assert to_grayscale(single, absolute=True).tolist() == [[[1.0, 2.0]]]


def test_viz_imports_no_matplotlib():
    code = "import sys, saliency_sanity.viz; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
