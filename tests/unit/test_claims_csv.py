"""The committed figures/claims.csv, as a reader checks it: every mandatory claim of FIGURES.md
is there with a number, every randomisation row has its null, every row has a kind, and every
verdict follows from the row's own numbers.

The verdicts are re-evaluated here with a parser written for this test (not the library's
``report.evaluate``), from the formula that starts each row's ``expected`` text."""

from __future__ import annotations

import math
import operator
import re
from pathlib import Path

import pandas as pd
import pytest

CLAIMS = Path(__file__).resolve().parents[2] / "figures" / "claims.csv"

#: FIGURES.md "Claims": the mandatory ids (MNIST tier, default config)
MANDATORY = [
    "kindermans2017.accuracy.net1", "kindermans2017.accuracy.net2",
    "kindermans2017.same_outputs",
    *(f"kindermans2017.invariance.{s}.{m}" for s in ("constant", "checkerboard", "cat")
      for m in ("gradient", "guided_backprop", "gradient_input", "integrated_gradients_zero",
                "integrated_gradients_black", "deep_taylor_zero")),
    *(f"kindermans2017.invariance.{s}.{m}.{e}" for s in ("constant", "checkerboard", "cat")
      for m in ("pattern_net", "pattern_attribution") for e in ("paper", "covariance", "linear")),
    *(f"kindermans2017.pattern_net.digit_correlation.{e}" for e in ("paper", "covariance",
                                                                    "linear")),
    *(f"samek2020.shattered.{q}.{k}" for q in ("max_slope", "pieces") for k in range(1, 5)),
    "samek2020.ig_minus_gi.bias_free", "samek2020.ig_minus_gi.biased", "samek2020.lrp0_minus_gi",
    "adebayo2018.accuracy.mlp", "adebayo2018.accuracy.cnn",
    *(f"adebayo2018.ig_background_artefact.{m}" for m in ("mlp", "cnn")),
    "gupta2019.random_label_train_accuracy", "gupta2019.random_label_test_accuracy",
    "gupta2019.competition_share.trained", "gupta2019.pixels_kept.trained",
    *(f"gupta2019.final_rank.{m}" for m in ("gi", "cgi", "lrp", "clrp")),
    *(f"gupta2019.data_randomization_rank.{m}" for m in ("gi", "cgi")),
]  # fmt: skip

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
        "==": operator.eq}  # fmt: skip
_NUM = r"-?\d+(?:\.\d*)?(?:e[-+]?\d+)?"


def _side(expr: str, null: float) -> float:
    """``c``, ``null``, ``null + c``, ``null - c``, ``a * null``, ``a * null + b``."""
    expr = expr.strip()
    if re.fullmatch(_NUM, expr):
        return float(expr)
    m = re.fullmatch(rf"(?:({_NUM}) \* )?null(?: ([-+]) ({_NUM}))?", expr)
    assert m, f"unreadable rule side {expr!r}"
    value = (float(m[1]) if m[1] else 1.0) * null
    if m[2]:
        value += float(m[3]) if m[2] == "+" else -float(m[3])
    return value


def reevaluate(expected: str, measured: float, null: float) -> bool:
    rule = expected.split(" (", 1)[0]
    m = re.fullmatch(r"\|measured - (.+)\| (<=|>=|==|<|>) (.+)", rule)
    if m:
        return _OPS[m[2]](abs(measured - _side(m[1], null)), _side(m[3], null))
    m = re.fullmatch(r"measured (<=|>=|==|<|>) (.+)", rule)
    assert m, f"unreadable rule {rule!r}"
    return _OPS[m[1]](measured, _side(m[2], null))


@pytest.fixture(scope="module")
def claims() -> pd.DataFrame:
    return pd.read_csv(CLAIMS)


def test_columns_and_kinds(claims):
    assert list(claims.columns) == ["id", "doc", "figure", "kind", "claim", "measured", "null",
                                    "expected", "holds"]  # fmt: skip
    assert claims["kind"].isin(["empirical", "identity", "beyond"]).all()
    assert not claims["id"].duplicated().any()


def test_every_mandatory_claim_has_a_number(claims):
    present = dict(zip(claims["id"], claims["measured"], strict=True))
    missing = [i for i in MANDATORY if i not in present]
    assert not missing, missing
    assert all(math.isfinite(present[i]) for i in MANDATORY)
    prefixes = ["adebayo2018.final_rank.mlp.", "adebayo2018.final_rank.cnn.",
                "adebayo2018.final_ssim.mlp.", "adebayo2018.final_ssim.cnn.",
                "gupta2019.competition_share.", "gupta2019.pixels_kept."]  # fmt: skip
    for prefix in prefixes:
        assert claims["id"].str.startswith(prefix).sum() >= 2, prefix
    assert not claims["id"].str.contains("_mass_").any(), "mass rows are gone (FIGURES.md)"


def test_every_randomisation_row_has_its_null(claims):
    randomisation = r"\.final_rank\.|\.final_ssim\.|data_randomization_rank"
    rows = claims[claims["id"].str.contains(randomisation)]
    assert len(rows) > 0
    assert rows["null"].notna().all(), rows.loc[rows["null"].isna(), "id"].tolist()


def test_vargrad_methods_have_the_abs_row_only(claims):
    vargrad = claims[claims["id"].str.contains(r"final_rank\.\w+\.vargrad_")]
    assert len(vargrad) > 0
    assert vargrad["id"].str.endswith(".abs").all()


def test_every_verdict_follows_from_its_numbers(claims):
    for row in claims.itertuples():
        if not math.isfinite(row.measured):
            continue
        null = row.null if isinstance(row.null, float) else float("nan")
        got = reevaluate(row.expected, row.measured, null)
        assert str(got) == str(row.holds), f"{row.id}: {row.expected} gives {got}"


def test_the_reevaluation_can_fail():
    assert reevaluate("measured <= null + 0.1 (words)", 0.5, 0.3) is False
    assert reevaluate("measured <= null + 0.1 (words)", 0.35, 0.3) is True
    assert reevaluate("|measured - null| < 0.01 * null + 0.001 (w)", 1.05, 1.0) is False
    assert reevaluate("measured < 0.5 * null + 0.5 (w)", 0.9, 0.4) is False
