"""The analytic shattered-gradients construction (samek2020): counts follow the function."""

from __future__ import annotations

import numpy as np
import pytest

from saliency_sanity import shattered


@pytest.mark.parametrize("grid", [shattered.DEFAULT_GRID, 10007, 3001])
def test_tent_composed_k_times_has_2_to_the_k_pieces_and_slope(grid):
    rows = shattered.table(4, grid)
    for row in rows:
        k = row["k"]
        assert row["pieces"] == 2**k
        assert row["max_slope"] == pytest.approx(2.0**k, rel=1e-9)
        assert row["output_min"] == pytest.approx(0.0, abs=1e-12)
        # the sampled peak misses the true one (1) by at most slope x half a grid step
        assert 1.0 - 2.0**k / (grid - 1) <= row["output_max"] <= 1.0


def test_tent_is_the_closed_form_tent_map():
    x = np.linspace(0, 1, 101)
    expected = np.where(x <= 0.5, 2 * x, 2 - 2 * x)
    np.testing.assert_allclose(shattered.tent(x), expected, atol=1e-12)


def test_relu_composed_is_one_piece_on_the_unit_interval():
    x = np.linspace(0, 1, 1001)
    for k in (1, 2, 3):
        y = shattered.compose(shattered.relu, k)(x)
        assert shattered.count_pieces(x, y) == 1
        assert shattered.max_slope(x, y) == pytest.approx(1.0)


def test_changing_the_breakpoint_changes_the_counts():
    # breakpoint 0.75: g(x) = 2x on [0, .75], then slope -2 down to 0.5 at x = 1; g maps [0, 1]
    # into [0, 1.5], and a composed copy sees its own kink only where g(x) = 0.75.
    def g(x):
        return shattered.tent(x, slope=2.0, breakpoint=0.75)

    rows = shattered.table(3, 4097, g=g)
    assert [r["pieces"] for r in rows] != [2, 4, 8]
    x = np.linspace(0, 1, 4097)
    assert rows[0]["pieces"] == 2
    # g∘g on [0,1]: kinks at x = .75 (inner) and where g(x) = .75: x = .375 -> 3 pieces
    assert shattered.count_pieces(x, shattered.compose(g, 2)(x)) == 3


def test_changing_the_slope_changes_the_max_slope():
    def g(x):
        return shattered.tent(x, slope=3.0)

    x = np.linspace(0, 1, 8193)
    assert shattered.max_slope(x, g(x)) == pytest.approx(3.0)
    assert shattered.max_slope(x, shattered.compose(g, 2)(x)) > 3.0


def test_a_kink_between_grid_points_counts_once():
    x = np.linspace(0, 1, 11)  # kink at 0.33 falls inside [0.3, 0.4]
    y = np.abs(x - 0.33)
    assert shattered.count_pieces(x, y) == 2


def test_two_kinks_and_a_straight_line():
    x = np.linspace(0, 1, 1001)
    assert shattered.count_pieces(x, 3 * x + 1) == 1
    assert shattered.count_pieces(x, np.clip(x, 0.2, 0.7)) == 3


def test_normalised_total_variation():
    t = np.linspace(0, 1, 100)
    assert shattered.normalised_total_variation(t**2) == pytest.approx(1.0)
    assert shattered.normalised_total_variation(np.sin(2 * np.pi * 3 * t)) == pytest.approx(
        6.0, rel=0.05
    )
    assert shattered.normalised_total_variation(np.ones(5)) == 0.0


def test_bad_grid_is_refused():
    with pytest.raises(ValueError):
        shattered.slopes(np.array([0.0, 0.0, 1.0]), np.zeros(3))
