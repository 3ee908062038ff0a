"""The two reference methods of the randomisation plots, on toys solvable by hand."""

from __future__ import annotations

import copy

import torch
from torch import nn

from saliency_sanity.attribution import METHODS, attribute


def _net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(36, 10))


def test_edge_detector_on_a_vertical_step_is_four_on_the_two_edge_columns():
    x = torch.zeros(1, 1, 6, 6, dtype=torch.float64)
    x[..., 3:] = 1.0  # columns 0-2 dark, 3-5 bright
    maps = attribute("edge_detector", _net(0).double(), x, torch.tensor([0]))
    # Sobel-x at column j is 4 (x[j+1] - x[j-1]) on every row (replicated borders): 4 at j = 2, 3
    expected = torch.zeros_like(x)
    expected[..., 2:4] = 4.0
    torch.testing.assert_close(maps, expected, rtol=0, atol=1e-12)


def test_edge_detector_ignores_the_model_and_the_target():
    x = torch.rand(3, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    a = attribute("edge_detector", _net(0), x, torch.tensor([0, 1, 2]))
    b = attribute("edge_detector", _net(1), x, torch.tensor([5, 5, 5]))
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_random_map_is_reproducible_for_one_network_and_fresh_for_another():
    x = torch.rand(4, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    net = _net(0)
    before = copy.deepcopy(net.state_dict())
    a = attribute("random_map", net, x, torch.tensor([0, 1, 2, 3]))
    again = attribute("random_map", net, torch.zeros_like(x), torch.tensor([9, 9, 9, 9]))
    torch.testing.assert_close(a, again, rtol=0, atol=0)  # independent of x and target
    other = attribute("random_map", _net(1), x, torch.tensor([0, 1, 2, 3]))
    r = torch.corrcoef(torch.stack([a.flatten(), other.flatten()]))[0, 1]
    assert abs(float(r)) < 0.3, f"a re-initialised network's noise correlates: {float(r):.2f}"
    assert not torch.equal(a, other)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_reference_methods_get_no_competitive_variant():
    assert {"random_map", "edge_detector"} <= set(METHODS)
    assert "competitive_random_map" not in METHODS
    assert "competitive_edge_detector" not in METHODS
