"""Claims and the gallery: rules evaluated, claims checked, entries gathered into claims.csv and
README.md, captions read from their .rst files."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from saliency_sanity.report import (
    CLAIM_COLUMNS,
    Claim,
    evaluate,
    read_caption,
    tally,
    write_entry,
    write_report,
)


def claim(id_, measured=0.5, rule="measured > 0.1", kind="identity", null=None, on_failure=""):
    doc = id_.split(".")[0]
    return Claim(id_, doc, f"{doc}/fig", kind, "a claim", measured, rule, "why", null, on_failure)


# --- evaluate: every rule form, both verdicts -----------------------------------------------

# (rule, measured, null, verdict): each verdict written out by hand from the formula
CASES = [
    ("measured < 0.001", 5e-4, None, True),
    ("measured < 0.001", 2e-3, None, False),
    ("measured < 1e-3", 1e-3, None, False),  # strict
    ("measured >= 0.97", 0.97, None, True),
    ("measured > 0.05", 0.04, None, False),
    ("measured <= null + 0.1", 0.25, 0.2, True),  # 0.25 <= 0.3
    ("measured <= null + 0.1", 0.35, 0.2, False),  # 0.35 > 0.3
    ("measured > null + 0.1", 0.35, 0.2, True),
    ("measured > null - 0.1", 0.15, 0.2, True),  # 0.15 > 0.1
    ("measured > null - 0.1", 0.05, 0.2, False),
    ("measured > null", 0.3, 0.1, True),
    ("measured > null", 0.1, 0.3, False),
    ("|measured - 0.1| < 0.05", 0.12, None, True),
    ("|measured - 0.1| < 0.05", 0.04, None, False),  # |0.04 - 0.1| = 0.06
    ("|measured - -0.5| < 0.1", -0.45, None, True),
    ("|measured - -0.5| < 0.1", 0.45, None, False),
    ("|measured - null| < 0.05", 0.14, 0.1, True),
    ("|measured - null| < 0.01 * null + 0.001", 1.005, 1.0, True),  # 0.005 < 0.011
    ("|measured - null| < 0.01 * null + 0.001", 1.05, 1.0, False),  # 0.05 > 0.011
    ("|measured - null| < 0.01 * null + 0.001", 0.0005, 0.0, True),  # only the + b part
    ("measured < 0.5 * null + 0.5", 0.55, 0.2, True),  # rhs 0.6
    ("measured < 0.5 * null + 0.5", 0.65, 0.2, False),
    ("measured < 0.5 * null", 0.2, 0.5, True),  # rhs 0.25
    ("measured < 0.5 * null", 0.3, 0.5, False),
    ("measured == 8", 8.0, None, True),
    ("measured == 8", 7.0, None, False),
    ("measured == 0.983", 0.983, None, True),
]


@pytest.mark.parametrize(("rule", "measured", "null", "verdict"), CASES)
def test_evaluate_every_rule_form(rule, measured, null, verdict):
    assert evaluate(rule, measured, null) is verdict


def test_evaluate_agrees_with_the_formula_on_random_numbers():
    """The same rules computed by Python directly, on numbers the table above does not cover."""
    rng = np.random.default_rng(0)
    for m, n in rng.uniform(-1, 1, (200, 2)):
        m, n = float(m), float(n)
        assert evaluate("measured <= null + 0.1", m, n) is (m <= n + 0.1)
        assert evaluate("measured < 0.5 * null + 0.5", m, n) is (m < 0.5 * n + 0.5)
        assert evaluate("|measured - null| < 0.01 * null + 0.001", m, n) is (
            abs(m - n) < 0.01 * n + 0.001
        )
        assert evaluate("|measured - 0.1| < 0.05", m) is (abs(m - 0.1) < 0.05)


@pytest.mark.parametrize("measured", [math.nan, math.inf, None])
def test_evaluate_without_a_finite_measurement_gives_no_verdict(measured):
    assert evaluate("measured < 0.001", measured) is None
    assert evaluate("measured <= null + 0.1", measured, 0.2) is None


@pytest.mark.parametrize("null", [None, math.nan])
def test_evaluate_without_the_null_a_rule_needs_gives_no_verdict(null):
    assert evaluate("measured <= null + 0.1", 0.2, null) is None
    assert evaluate("|measured - null| < 0.05", 0.2, null) is None
    assert evaluate("measured < 0.5", 0.2, null) is True  # this rule needs no null


@pytest.mark.parametrize(
    "rule", ["measured ~ 0.1", "0.1 > measured", "measured < null * 2", "measured < abc"]
)
def test_unreadable_rules_are_refused(rule):
    with pytest.raises(ValueError, match="cannot read"):
        evaluate(rule, 0.5, 0.2)


# --- Claim ------------------------------------------------------------------------------------


def test_claim_applies_its_rule_and_writes_expected():
    c = claim("samek2020.a", 0.3, "measured <= null + 0.1", "empirical", 0.25)
    assert c.holds is True
    assert c.expected == "measured <= null + 0.1 (why)"
    failing = claim("samek2020.b", 0.4, "measured <= null + 0.1", "empirical", 0.25, "genuine")
    assert failing.holds is False
    row = claim("samek2020.c", math.nan).row()
    assert row["measured"] is None and row["holds"] is None
    assert set(CLAIM_COLUMNS) <= set(row)


def test_claim_validation():
    with pytest.raises(TypeError, match="measured must be a number"):
        claim("samek2020.x", "0.5")
    with pytest.raises(TypeError, match="measured must be a number"):
        claim("samek2020.x", True)
    with pytest.raises(ValueError, match="must start with its doc"):
        Claim("other.x", "samek2020", "f", "identity", "c", 0.5, "measured > 0", "w")
    with pytest.raises(ValueError, match="must start with its doc"):
        Claim("samek2020x", "samek2020", "f", "identity", "c", 0.5, "measured > 0", "w")
    with pytest.raises(ValueError, match="kind must be one of"):
        claim("samek2020.x", kind="evidence")
    assert isinstance(claim("samek2020.x", 3).measured, float)
    assert isinstance(claim("samek2020.x", 3, "measured > null", null=1).null, float)


# --- entries ------------------------------------------------------------------------------------


def test_write_entry_refuses_a_failing_empirical_claim_without_on_failure(tmp_path):
    bad = claim("samek2020.x", 0.0, kind="empirical")  # 0 > 0.1 fails
    assert bad.holds is False
    with pytest.raises(ValueError, match=r"need an on_failure sentence: \['samek2020.x'\]"):
        write_entry(tmp_path / "e.json", doc="samek2020", name="n", details="", measured="",
                    files=[], claims=[bad])  # fmt: skip
    assert not (tmp_path / "e.json").exists()
    # with the sentence it is written; identity and beyond failures need none
    fine = [
        claim("samek2020.x", 0.0, kind="empirical", on_failure="genuine: 0"),
        claim("samek2020.y", 0.0, kind="identity"),
        claim("samek2020.z", 0.0, kind="beyond"),
        claim("samek2020.w", math.nan, kind="empirical"),  # no verdict: nothing to explain
    ]
    write_entry(tmp_path / "e.json", doc="samek2020", name="n", details="", measured="",
                files=[], claims=fine)  # fmt: skip
    assert (tmp_path / "e.json").exists()


def test_unknown_document_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown document"):
        write_entry(tmp_path / "x.json", doc="smith2021", name="n", details="", measured="",
                    files=[])  # fmt: skip


# --- captions -----------------------------------------------------------------------------------


def test_read_caption_fields_continuations_and_placeholders(tmp_path):
    path = tmp_path / "c.rst"
    path.write_text(
        ":title: Similarity curves ({model})\n"
        ":paper: Explanations should differ\n"
        "  after randomisation (Sec. 3).\n"
        "\n"
        "Maps of the {model} net, sets {a, b} and\n"
        "{unknown} kept.\n"
        "\n"
        "Second paragraph.\n"
    )
    text = read_caption(path, {"model": "cnn"})
    assert text["title"] == "Similarity curves (cnn)"
    assert text["paper"] == "Explanations should differ after randomisation (Sec. 3)."
    caption = "Maps of the cnn net, sets {a, b} and {unknown} kept. Second paragraph."
    assert text["caption"] == caption
    assert read_caption(path)["title"] == "Similarity curves ({model})"


def test_read_caption_needs_title_and_paper(tmp_path):
    path = tmp_path / "c.rst"
    path.write_text(":title: T\n\nCaption.\n")
    with pytest.raises(ValueError, match=":paper:"):
        read_caption(path)
    path.write_text(":paper: P\n\nCaption.\n")
    with pytest.raises(ValueError, match=":title:"):
        read_caption(path)


# --- the report -----------------------------------------------------------------------------------


def _caption(tmp_path, name, title):
    path = tmp_path / "captions" / f"{name}.rst"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f":title: {title}\n:paper: Paper says.\n\nThe caption of {{model}}.\n")
    return path


def _recheck(row) -> bool:
    """Whether a claims.csv row's verdict is what its rule gives (NaN holds = no verdict)."""
    null = None if pd.isna(row.null) else row.null
    verdict = evaluate(row.expected.split(" (")[0], row.measured, null)
    return (None if pd.isna(row.holds) else bool(row.holds)) is verdict


def test_entries_become_claims_and_gallery(tmp_path):
    figs = tmp_path / "figures"
    claims = [
        claim("kindermans2017.e_holds", 0.5, kind="empirical"),
        claim("kindermans2017.e_fails", 0.0, kind="empirical", on_failure="genuine: it is 0"),
        claim("kindermans2017.e_open", math.nan, kind="empirical"),
        claim("kindermans2017.i_holds", 2.0, kind="identity"),
        claim("kindermans2017.b_fails", 0.2, "measured <= null + 0.1", "beyond", 0.05),
    ]
    write_entry(tmp_path / "a.json", doc="kindermans2017", name="networks", details="Details.",
                measured="We saw 0.5.", files=[figs / "kindermans2017" / "networks.png",
                                               figs / "kindermans2017" / "networks.csv"],
                claims=claims)  # fmt: skip
    write_entry(tmp_path / "b.json", doc="samek2020", name="table", details="", measured="M.",
                files=[])  # fmt: skip
    table = write_report(
        entries=[tmp_path / "a.json", tmp_path / "b.json"],
        captions={"kindermans2017/networks": _caption(tmp_path, "networks", "Nets ({model})"),
                  "samek2020/table": _caption(tmp_path, "table", "Table")},
        fields={"kindermans2017/networks": {"model": "mlp"}},
        claims=figs / "claims.csv", gallery=figs / "README.md",
    )  # fmt: skip
    read = pd.read_csv(figs / "claims.csv")
    assert list(read.columns) == CLAIM_COLUMNS
    assert read["id"].tolist() == [c.id for c in claims]
    assert read["kind"].tolist() == ["empirical"] * 3 + ["identity", "beyond"]
    assert read["holds"].tolist()[:2] == [True, False] and np.isnan(read["holds"][2])
    assert read["null"].tolist()[-1] == 0.05 and np.isnan(read["null"][0])
    assert read["expected"].iloc[-1] == "measured <= null + 0.1 (why)"
    # the CSV re-checks itself: each row's rule (the start of `expected`) gives its verdict,
    # and a row whose verdict was written wrong is caught
    assert [_recheck(r) for r in read.itertuples()] == [True] * 5
    tampered = read.copy()
    tampered.loc[0, "measured"] = 0.05  # 0.05 > 0.1 is False, but the row says True
    assert [_recheck(r) for r in tampered.itertuples()] == [False] + [True] * 4
    assert len(table) == 5
    assert tally(table) == {
        "empirical": {"holds": 1, "fails": 1, "open": 1},
        "identity": {"holds": 1, "fails": 0, "open": 0},
        "beyond": {"holds": 0, "fails": 1, "open": 0},
    }
    gallery = (figs / "README.md").read_text()
    # the summary counts each kind on its own row: rows, hold, do not hold, no verdict
    assert "| empirical (the papers' evidence) | 3 | 1 | 1 | 1 |" in gallery
    assert "implementation checks, not evidence) | 1 | 1 | 0 | 0 |" in gallery
    assert "| beyond the papers | 1 | 0 | 1 | 0 |" in gallery
    assert "### Nets (mlp) (`kindermans2017/networks`)" in gallery
    assert "**Caption.** The caption of mlp. Details." in gallery
    assert "![networks](kindermans2017/networks.png)" in gallery
    assert "Files: `networks.csv`" in gallery
    assert gallery.index("## kindermans2017") < gallery.index("## samek2020")
    assert "| `kindermans2017.b_fails` | beyond | 0.2 | 0.05 | measured <= null + 0.1 (why) | " \
        "False |" in gallery  # fmt: skip
    # only the failing empirical claim gets its on_failure note
    assert "- `kindermans2017.e_fails` does not hold: genuine: it is 0" in gallery
    assert "`kindermans2017.b_fails` does not hold" not in gallery


def test_duplicate_claim_ids_are_refused(tmp_path):
    for name in ("a", "b"):
        write_entry(tmp_path / f"{name}.json", doc="samek2020", name=name, details="",
                    measured="", files=[], claims=[claim("samek2020.same")])  # fmt: skip
    with pytest.raises(ValueError, match=r"samek2020\.same"):
        write_report(entries=[tmp_path / "a.json", tmp_path / "b.json"],
                     captions={"samek2020/a": _caption(tmp_path, "a", "A"),
                               "samek2020/b": _caption(tmp_path, "b", "B")},
                     claims=tmp_path / "c.csv", gallery=tmp_path / "g.md")  # fmt: skip
