"""Reading a similarity after randomisation against its null: both verdicts, the null without
power, and the same reading for a figure's claim and a scorecard cell."""

from __future__ import annotations

import numpy as np
import pytest

from saliency_sanity.report import evaluate
from saliency_sanity.verdicts import is_sensitive, no_power, read_against_null


@pytest.mark.parametrize(
    ("expected", "measured", "null", "holds"),
    [
        ("sensitive", 0.05, 0.04, True),  # Gradient: nothing shared, as two untrained copies
        ("sensitive", 0.48, 0.47, True),  # shared, but no more than two untrained copies share
        ("sensitive", 0.33, 0.09, False),  # the trained map is the architecture's typical map
        ("insensitive", 0.33, 0.09, True),
        ("insensitive", 0.48, 0.47, False),
        ("insensitive", 0.99, 0.989, True),  # no power: holds by construction...
        ("sensitive", 0.99, 0.989, False),  # no power: holds only if the trained map departs
        ("sensitive", 0.6, 0.989, True),
        ("insensitive", 0.6, 0.989, False),
    ],
)
def test_both_verdicts_by_hand(expected, measured, null, holds):
    reading = read_against_null(expected, null, 0.1)
    assert evaluate(reading.rule, measured, null) is holds
    assert reading.no_power is (null >= 0.9)
    assert "null" in reading.rule  # read against the null, never a fixed threshold alone


def test_no_power_is_a_null_within_the_margin_of_identical_maps():
    assert no_power(0.9, 0.1) and no_power(1.0, 0.1) and not no_power(0.899, 0.1)
    assert not no_power(float("nan"), 0.1)
    assert no_power(0.8, 0.2) and not no_power(0.8, 0.1)


def test_the_scorecard_verdict_is_the_claims_reading():
    """is_sensitive (scorecard) and the rule of a "sensitive" claim give the same verdict."""
    rng = np.random.default_rng(0)
    for measured, null in rng.uniform(-0.2, 1.0, size=(500, 2)):
        rule = read_against_null("sensitive", null, 0.1).rule
        assert is_sensitive(measured, null, 0.1) is evaluate(rule, measured, null)
        opposite = read_against_null("insensitive", null, 0.1).rule
        assert evaluate(opposite, measured, null) is not evaluate(rule, measured, null)
    assert is_sensitive(float("nan"), 0.2) is None and is_sensitive(0.2, float("nan")) is None


def test_unknown_expectation_is_refused():
    with pytest.raises(ValueError, match="expected must be one of"):
        read_against_null("unchanged", 0.2)
