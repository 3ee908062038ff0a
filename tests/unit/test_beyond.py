"""The figures beyond the papers: the scorecard rule's method groups and the randomisation
variants (ranks by hand, the variant table on a toy)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from saliency_sanity.attribution import METHODS
from saliency_sanity.experiments.randomization_variants import MPRT_VARIANTS, variant_table
from saliency_sanity.experiments.scorecard import method_groups
from saliency_sanity.figures.randomization_variants import agreement, ranks


def test_method_groups_cover_every_registered_method_once():
    settings = {
        "images": 8,
        "costly": {"dasp": 1, "lime": 4},
        "params": {"dasp": {"coalition_sizes": 2}},
    }
    groups = method_groups(settings, n=6)  # the test-bed has only 6 images
    assert list(groups) == [6, 4, 1]
    names = [m for g in groups.values() for m in g]
    assert sorted(names) == sorted(METHODS)
    assert groups[1]["dasp"] == ("dasp", {"coalition_sizes": 2}) and "lime" in groups[4]


def test_ranks_by_hand():
    table = pd.DataFrame({
        "variant": ["a"] * 3 + ["eMPRT, entropy rise"] * 3,
        "method": ["x", "y", "z"] * 2,
        "score": [0.9, 0.1, np.nan, 0.2, 0.5, 0.1],
    })  # fmt: skip
    r = ranks(table).set_index(["variant", "method"])["rank"]
    assert r[("a", "y")] == 1 and r[("a", "x")] == 2 and np.isnan(r[("a", "z")])
    # eMPRT: a larger entropy rise is the more sensitive method
    assert r[("eMPRT, entropy rise", "y")] == 1 and r[("eMPRT, entropy rise", "z")] == 3
    # z has no score in "a": the agreement uses x and y, ranked alike (y first) in both
    assert agreement(ranks(table), "a") == {"eMPRT, entropy rise": pytest.approx(1.0)}


def test_variant_table_on_a_toy_reads_the_edge_detector_as_insensitive():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(3 * 12 * 12, 4)).eval()  # fmt: skip
    x = torch.rand(4, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    methods = {m: (m, {}) for m in ("gradient", "edge_detector")}
    with pytest.warns(UserWarning, match="reset_parameters"):
        table = variant_table(model, x, methods, samples=2, seed=0)
    assert len(table) == (len(MPRT_VARIANTS) + 2) * 2
    edge = table[(table["method"] == "edge_detector") & ~table["variant"].str.startswith("eMPRT")]
    assert np.allclose(edge["score"], 1.0) and np.allclose(edge["null"], 1.0)
    grad = table[(table["method"] == "gradient") & (table["variant"] == MPRT_VARIANTS[0][0])]
    assert float(grad["score"].iloc[0]) < 0.9


def test_variant_table_explains_each_shared_network_once_with_the_same_numbers(
    monkeypatch, attributions_computed
):
    """The trained model, the null's two copies and the fully randomised model (the last step
    of both directions, eMPRT's) are explained once per method, not three times: 8 fewer maps
    per method on a 2-step model, and the same table as without sharing."""
    import contextlib

    from saliency_sanity.experiments import randomization_variants

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(3 * 12 * 12, 4)).eval()  # fmt: skip
    x = torch.rand(4, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    methods = {m: (m, {}) for m in ("gradient", "smoothgrad")}
    calls = attributions_computed
    tables = {}
    for shared in (True, False):
        if not shared:
            monkeypatch.setattr(randomization_variants, "shared_maps", contextlib.nullcontext)
        calls.clear()
        with pytest.warns(UserWarning, match="reset_parameters"):
            tables[shared] = variant_table(model, x, methods, samples=2, seed=0)
        tables[shared, "calls"] = len(calls)
    pd.testing.assert_frame_equal(tables[True], tables[False], check_exact=True)
    assert tables[False, "calls"] - tables[True, "calls"] == 8 * len(methods)
