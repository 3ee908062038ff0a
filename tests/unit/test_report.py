"""Claims and the gallery: entries gathered into claims.csv and README.md."""

import pandas as pd
import pytest

from saliency_sanity.report import Claim, write_entry, write_report


def claim(id_, measured=0.5, holds=True):
    return Claim(id_, id_.split(".")[0], "doc/fig", "a claim", measured, "> 0.1", holds)


def test_entries_become_claims_and_gallery(tmp_path):
    figs = tmp_path / "figures"
    write_entry(
        tmp_path / "a.json",
        doc="kindermans2017",
        name="networks",
        title="Nets",
        caption="The caption.",
        statement="Paper says.",
        measured="We saw 0.5.",
        files=[figs / "kindermans2017" / "networks.png"],
        claims=[claim("kindermans2017.x", 0.25), claim("kindermans2017.y", 2.0, False)],
    )
    write_entry(tmp_path / "b.json", doc="samek2020", name="table", title="Table",
                caption="C.", statement="S.", measured="M.", files=[], claims=[])  # fmt: skip
    table = write_report([tmp_path / "a.json", tmp_path / "b.json"], figs / "claims.csv",
                         figs / "README.md")  # fmt: skip
    read = pd.read_csv(figs / "claims.csv")
    assert list(read.columns) == ["id", "doc", "figure", "claim", "measured", "expected", "holds"]
    assert read["measured"].tolist() == [0.25, 2.0]
    assert read["holds"].tolist() == [True, False]
    assert len(table) == 2
    gallery = (figs / "README.md").read_text()
    assert "![networks](kindermans2017/networks.png)" in gallery
    assert gallery.index("kindermans2017") < gallery.index("samek2020")
    assert "| `kindermans2017.y` | 2 | > 0.1 | False |" in gallery


def test_duplicate_claim_ids_are_refused(tmp_path):
    for name in ("a", "b"):
        write_entry(tmp_path / f"{name}.json", doc="samek2020", name=name, title=name,
                    caption="", statement="", measured="", files=[],
                    claims=[claim("samek2020.same")])  # fmt: skip
    with pytest.raises(ValueError, match=r"samek2020\.same"):
        write_report([tmp_path / "a.json", tmp_path / "b.json"], tmp_path / "c.csv",
                     tmp_path / "g.md")  # fmt: skip


def test_claim_validation():
    with pytest.raises(TypeError, match="measured must be a number"):
        Claim("samek2020.x", "samek2020", "f", "c", "0.5", "e", True)
    with pytest.raises(ValueError, match="must start with its doc"):
        Claim("other.x", "samek2020", "f", "c", 0.5, "e", True)


def test_unknown_document_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown document"):
        write_entry(tmp_path / "x.json", doc="smith2021", name="n", title="t", caption="",
                    statement="", measured="", files=[])  # fmt: skip
