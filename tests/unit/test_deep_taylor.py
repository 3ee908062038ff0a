"""Deep Taylor (montavon2017) with the zero and the pattern root points."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from saliency_sanity.attribution import attribute, attribute_all_classes, fit_patterns


@pytest.fixture(autouse=True)
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def relu_net(bias: bool) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1, bias=bias), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(48, 10, bias=bias), nn.ReLU(), nn.Linear(10, 4, bias=bias),
    ).eval()  # fmt: skip


@pytest.mark.parametrize("bias", [False, True])
def test_zero_root_equals_lrp_0_and_gradient_times_input(bias):
    """kindermans2017 Sec. 3: the z-rule (root 0) = LRP-0 = Gradient × Input on ReLU nets."""
    model, x, target = relu_net(bias), torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 2, 3])
    dt = attribute("deep_taylor", model, x, target, root="zero", stabilizer=1e-12)
    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(xg).gather(1, target[:, None]).sum(), xg)
    assert torch.allclose(dt, grad * x, rtol=1e-6, atol=1e-10)
    assert torch.allclose(dt, attribute("lrp_0", model, x, target, stabilizer=1e-12))
    if not bias:  # conservation: the maps sum to the logit
        assert torch.allclose(dt.sum((1, 2, 3)), model(x).gather(1, target[:, None])[:, 0])


def test_pattern_root_is_pattern_attribution():
    model, x = relu_net(True), torch.rand(3, 1, 8, 8)
    p = fit_patterns(model, torch.rand(64, 1, 8, 8))
    dt = attribute_all_classes("deep_taylor", model, x, root="pattern", patterns=p)
    pa = attribute_all_classes("pattern_attribution", model, x, patterns=p)
    assert torch.allclose(dt, pa)
    assert not torch.allclose(dt, attribute_all_classes("deep_taylor", model, x))


def test_bad_root_and_missing_patterns():
    model, x = relu_net(True), torch.rand(2, 1, 8, 8)
    with pytest.raises(ValueError, match="root"):
        attribute("deep_taylor", model, x, root="nearest")
    with pytest.raises(ValueError, match="patterns"):
        attribute("deep_taylor", model, x, root="pattern")
