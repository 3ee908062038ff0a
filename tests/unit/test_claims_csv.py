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
import yaml

ROOT = Path(__file__).resolve().parents[2]
CLAIMS = ROOT / "figures" / "claims.csv"
CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())

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

#: methods whose maps are non-negative (|map| = map): their final_rank row is |map| only
NON_NEGATIVE = ("vargrad", "gradcam", "random_map", "edge_detector")
#: methods that need a convolution (no GradCAM on an MLP)
NEEDS_CONV = ("gradcam", "guided_gradcam")


def adebayo_ids(config: dict) -> list[str]:
    """Every adebayo2018 randomisation id the default config's methods and models call for."""
    ids = []
    section = config["adebayo2018"]
    for model in section["models"]:
        for key, spec in section["methods"].items():
            if model == "mlp" and spec["method"] in NEEDS_CONV:
                continue
            ids += [f"adebayo2018.final_rank.{model}.{key}.abs",
                    f"adebayo2018.final_ssim.{model}.{key}"]  # fmt: skip
            signed = spec.get("expected_signed", "sensitive")
            if spec["method"] not in NON_NEGATIVE and signed is not None:
                ids.append(f"adebayo2018.final_rank.{model}.{key}.signed")
    return ids


def gupta_ids(config: dict) -> list[str]:
    """competition_share and pixels_kept for the trained net and every cascading step of the
    gupta2019 model (its layers, logits first, as it declares them)."""
    from saliency_sanity import models

    steps = ["trained", *models.build(config["gupta2019"]["model"]).layer_order]
    return [f"gupta2019.{kind}.{step}" for kind in ("competition_share", "pixels_kept")
            for step in steps]  # fmt: skip


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
    assert not claims["id"].str.contains("_mass_").any(), "mass rows are gone (FIGURES.md)"


def test_every_method_and_every_step_has_its_rows(claims):
    """One final_rank (|map|; signed where the map has a sign and a stated expectation) and one
    final_ssim row per adebayo2018 model and method of the config; one competition row per
    gupta2019 cascading step."""
    expected = [*adebayo_ids(CONFIG), *gupta_ids(CONFIG)]
    assert len(expected) > 60
    present = set(claims["id"])
    missing = [i for i in expected if i not in present]
    assert not missing, missing
    rows = claims[claims["id"].str.match(r"adebayo2018\.final_(rank|ssim)\.")]
    assert sorted(rows["id"]) == sorted(i for i in expected if i.startswith("adebayo2018."))


def test_every_randomisation_row_has_its_null(claims):
    randomisation = r"\.final_rank\.|\.final_ssim\.|data_randomization_rank"
    rows = claims[claims["id"].str.contains(randomisation)]
    assert len(rows) > 0
    assert rows["null"].notna().all(), rows.loc[rows["null"].isna(), "id"].tolist()


def test_non_negative_maps_have_the_abs_row_only(claims):
    rows = claims[claims["id"].str.contains(r"final_rank\.\w+\.(?:vargrad_|gradcam\.)")]
    assert len(rows) > 0
    assert rows["id"].str.endswith(".abs").all()


def test_signed_rows_are_beyond_and_null_ceiling_rows_are_identities(claims):
    """The seed reports |map| only: signed rows are ours (beyond). A similarity whose null is
    within the margin of identical maps cannot tell networks apart: such an "insensitive" row
    holds by construction and must not be counted as evidence."""
    signed = claims[claims["id"].str.contains(r"final_rank\..*\.signed$")]
    assert len(signed) > 0 and (signed["kind"] == "beyond").all()
    randomisation = claims[
        claims["id"].str.contains(r"final_rank|final_ssim|data_randomization_rank")
    ]
    insensitive = randomisation["expected"].str.contains("insensitive|more alike")
    ceiling = randomisation[(randomisation["null"] >= 0.9) & insensitive]
    assert (ceiling["kind"] != "empirical").all(), ceiling["id"].tolist()


def test_no_similarity_rule_is_ill_posed(claims):
    """A similarity (at most 1) compared with null + margin >= 1 can never hold."""
    similarity = claims[claims["claim"].str.contains("Spearman|SSIM")]
    assert len(similarity) > 50
    for row in similarity.itertuples():
        m = re.fullmatch(r"measured >=? null \+ (\S+)", row.expected.split(" (", 1)[0])
        if m:
            assert row.null + float(m[1]) < 1, f"{row.id}: {row.expected} cannot hold"


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
