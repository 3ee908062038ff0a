"""The ImageNet tier in the workflow (issue 11): rows of the same registry, switched on by a config.

* The dry run of both tiers (``config/imagenet.yaml`` on top of the default) lists every file of
  the 18 ImageNet figures of FIGURES.md, beside the MNIST tier's.
* A smoke run of the tier (``config/imagenet-smoke.yaml``: random weights, no download, the
  scikit-image photographs, a few images, steps and samples) builds every ImageNet figure end to
  end; checked file by file: each png/pdf/csv is a real file of its kind, each caption names the
  weights, and every claim of a random-weight network is a ``beyond`` smoke check.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from _smk import ROOT, load_config, prepare_smoke, scratch, snakemake, tail
from PIL import Image

pytestmark = [pytest.mark.workflow]

#: FIGURES.md: the entries whose tier column says ImageNet
N_IMAGENET_FIGURES = 18
MODELS = ("inception_v3", "vgg16", "vgg19")
TIER_SMOKE = ("--configfile", "config/config.yaml", "config/smoke.yaml",
              "config/imagenet-smoke.yaml", "tiny.yaml")  # fmt: skip


def _catalogue(*overlays: str):
    from saliency_sanity.catalogue import Catalogue

    return Catalogue(load_config(ROOT / "config" / "config.yaml", *(ROOT / o for o in overlays)))


def tier_rows(*overlays: str) -> dict:
    """The figure rows that the ImageNet switch adds to the catalogue of ``overlays``."""
    base = _catalogue(*[o for o in overlays if "imagenet" not in o])
    on = _catalogue(*overlays)
    return {k: r for k, r in on.figures.items() if k not in base.figures}


def test_the_switch_adds_the_eighteen_imagenet_figures_of_the_catalogue():
    rows = tier_rows("config/imagenet.yaml")
    assert len(rows) == N_IMAGENET_FIGURES, sorted(rows)
    for key, row in rows.items():
        assert row.name.endswith(tuple(f"_{m}" for m in MODELS)), key
    assert {r.doc for r in rows.values()} == {"adebayo2018", "kindermans2017", "samek2020",
                                              "gupta2019"}  # fmt: skip
    assert not tier_rows(), "the tier is on without its config"


def test_dry_run_of_both_tiers_lists_every_imagenet_deliverable(tmp_path):
    work = scratch(tmp_path)
    result = snakemake(work, "-n", "--configfile", "config/config.yaml", "config/imagenet.yaml")
    assert result.returncode == 0, tail(result)
    out = result.stdout + result.stderr
    on = _catalogue("config/imagenet.yaml")
    missing = [f for f in on.figure_files() if f not in out]  # both tiers
    assert not missing, missing[:10]


@pytest.mark.slow
def test_smoke_run_of_the_tier_builds_every_imagenet_figure(tmp_path):
    from saliency_sanity.catalogue import imagenet_fields
    from saliency_sanity.report import read_caption

    rows = tier_rows("config/smoke.yaml", "config/imagenet-smoke.yaml")
    assert len(rows) == N_IMAGENET_FIGURES
    work, env = prepare_smoke(tmp_path)
    targets = [path for r in rows.values() for path in r.outputs.values()]
    result = snakemake(work, *targets, "--cores", "2", *TIER_SMOKE, env=env, timeout=45 * 60)
    assert result.returncode == 0, tail(result)

    config = load_config(*(ROOT / c for c in TIER_SMOKE[1:4]))
    n_claims = 0
    for key, row in rows.items():
        png, pdf, csv = (work / row.outputs[k] for k in ("png", "pdf", "csv"))
        with Image.open(png) as image:
            assert image.format == "PNG" and min(image.size) >= 100, (key, image.size)
        assert pdf.read_bytes().startswith(b"%PDF"), key
        assert len(pd.read_csv(csv)) >= 1, key
        entry = json.loads((work / row.outputs["entry"]).read_text())
        assert entry["name"] == row.name and entry["measured"], key
        for claim in entry["claims"]:
            assert claim["kind"] == "beyond", (key, claim)
            # ids must not collide with the MNIST rows of the same claim
            assert set(MODELS) & set(claim["id"].split(".")), (key, claim["id"])
            assert claim["figure"] == key, (key, claim["figure"])
            assert "random weights" in claim["claim"], (key, claim)
        n_claims += len(entry["claims"])
        fields = {**row.fields, **imagenet_fields(config)}
        caption = read_caption(ROOT / f"workflow/report/{row.doc}/{row.caption}.rst", fields)
        assert "random weights" in caption["caption"], (key, caption["caption"][:200])
    assert n_claims > 0, "no ImageNet figure recorded a claim"
    assert not (work / "figures").exists(), "the smoke run wrote into figures/"
