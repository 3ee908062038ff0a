"""Every figure is readable at its committed size: no two of its texts overlap.

Each figure row of the shipped config's catalogue is drawn by its registered function, called
as the workflow's adapter calls it (``fn(**inputs, **params, **outputs)``), on tiny synthetic
saved results with the config's counts (methods, steps, images shown: ``_saved_results``), in
strict mode (``SALIENCY_SANITY_STRICT_FIGURES=1``): an overlap raises, naming both texts. The
rows are the default config's (the MNIST tier); the ImageNet tier's rows call the same
functions with other sizes and are not drawn here. The method labels come from one table,
:mod:`saliency_sanity.method_labels` (short label for figures, citation for captions).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from _saved_results import build

from saliency_sanity import method_labels
from saliency_sanity.attribution import METHODS
from saliency_sanity.catalogue import Catalogue, _function
from saliency_sanity.config import validate
from saliency_sanity.figures import _plot
from saliency_sanity.figures._panels import LABEL_WIDTH, method_label, method_legend

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp: Path) -> dict:
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["paths"] = {"results": str(tmp / "results"), "figures": str(tmp / "figures")}
    return validate(cfg, ROOT / "config" / "schema.yaml")


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory) -> Catalogue:
    return Catalogue(_config(tmp_path_factory.mktemp("readable")))


def _rows():
    cat = Catalogue(_config(Path("/nonexistent")))
    return sorted(cat.figures)


@pytest.fixture
def strict(monkeypatch):
    """Strict figures; the png/pdf are not written (the texts are measured on the canvas, at
    the dpi the files are saved with)."""
    monkeypatch.setenv(_plot.STRICT_ENV, "1")
    monkeypatch.setattr("saliency_sanity.io.save_figure", lambda fig, path: None)


@pytest.mark.parametrize("key", _rows())
def test_figure_has_no_overlapping_text(catalogue, strict, key):
    row = catalogue.figures[key]
    for files in row.files().values():
        for f in files:
            if not Path(f).exists():
                build(f, catalogue.results, catalogue.config)
    call = row.call()
    _function(call["fn"])(**call["kwargs"], **row.outputs)  # raises OverlapError on an overlap
    assert Path(row.outputs["entry"]).exists()


def test_every_figure_function_is_drawn(catalogue):
    """Each registered figure function has a row in the default config (so is drawn above)."""
    from saliency_sanity.catalogue import SPECS

    registered = {s.fn for s in SPECS if s.kind == "figure"}
    assert registered == {r.fn for r in catalogue.figures.values()}


# --- the overlap check itself ----------------------------------------------------------------


def test_overlaps_finds_two_texts_drawn_over_each_other():
    plt = _plot.pyplot()
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, "LRP-ε (montavon2019 eq. 10.2)", ha="center")
    ax.text(0.5, 0.5, "Gradient ⊙ Input", ha="center")
    ax.text(0.5, 0.05, "far away", ha="center")
    assert _plot.overlaps(fig) == [("LRP-ε (montavon2019 eq. 10.2)", "Gradient ⊙ Input")]
    plt.close(fig)


def test_strict_mode_raises_and_names_both_texts(monkeypatch, tmp_path):
    plt = _plot.pyplot()
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.set_yticks([0.5, 0.51], ["first row label", "second row label"])
    monkeypatch.setenv(_plot.STRICT_ENV, "1")
    with pytest.raises(_plot.OverlapError, match="'first row label' / 'second row label'"):
        _plot.save(fig, tmp_path / "f.png")
    assert not (tmp_path / "f.png").exists()
    plt.close(fig)


def test_separate_texts_do_not_overlap():
    plt = _plot.pyplot()
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.axis("off")
    ax.text(0.1, 0.1, "left")
    ax.text(0.6, 0.8, "right")
    assert _plot.overlaps(fig) == []
    plt.close(fig)


# --- one label table --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_has_a_short_label_and_a_citation(name):
    """Every registered method has a row of the label table (its competitive variant: its
    base's); the short label fits a row label (at most two wrapped lines) and carries no
    citation, which is in ``cite``, for captions."""
    method = METHODS[name]
    assert name.removeprefix(method_labels.COMPETITIVE) in method_labels.METHOD_LABELS, name
    assert (method.short, method.cite) == (method_labels.short(name), method_labels.cite(name))
    assert method.short and method.cite, name
    assert len(method.short) <= 2 * LABEL_WIDTH, method.short
    assert not re.search(r"[a-z]+(19|20)\d\d", method.short), method.short  # a bibtex key
    assert method_label(name) == method.short


def test_the_label_table_has_no_row_of_an_unregistered_method():
    assert set(method_labels.METHOD_LABELS) <= set(METHODS)


@pytest.mark.parametrize(
    ("name", "label"),
    [("lrp_epsilon", "LRP-ε"), ("gradient_input", "GI"), ("competitive_gradient_input", "CGI"),
     ("competitive_lrp_epsilon", "CLRP-ε"), ("integrated_gradients_black", "IG (black ref.)"),
     ("deep_taylor_pattern", "DTD (pattern root)"), ("smoothgrad_gradient", "Gradient-SG"),
     ("vargrad_integrated_gradients", "IG-VG"),
     ("pattern_net_covariance", "PatternNet (covariance est.)")],
)  # fmt: skip
def test_variant_labels_are_composed_from_the_short_label(name, label):
    assert method_label(name) == label


def test_citations_go_into_the_caption_text():
    assert method_legend(["lrp_0", "lrp_epsilon"]) == (
        "LRP-0 (lrp_0; bach2015; montavon2019 eq. 10.1), "
        "LRP-ε (lrp_epsilon; montavon2019 eq. 10.2; ε = 0.25 RMS(z))"
    )
    assert method_label("pattern_net", "predicted", estimator="paper") == (
        "PatternNet (paper est., predicted)"
    )


def test_labels_are_read_without_loading_torch():
    """A figure job reads labels from the table, not from the registry (torch's import would
    be most of its time)."""
    code = ("import sys\n"
            "from saliency_sanity.figures._panels import method_label, method_legend\n"
            "method_label('competitive_lrp_epsilon'), method_legend(['lime'])\n"
            "assert 'torch' not in sys.modules\n")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
