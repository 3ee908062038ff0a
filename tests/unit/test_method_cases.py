"""The one case list of the registered methods: every method of ``METHODS`` must appear here,
and each is checked for its contract on a toy network in float64: maps of the input's shape,
``target=None`` giving every class (each class's map equals the per-target call), the defaults
read from the signature, the model left as found."""

from __future__ import annotations

import inspect

import pytest
import torch
from torch import nn

from saliency_sanity.attribution import METHODS, attribute, attribute_all_classes, fit_patterns

#: registered name -> parameters of the case (cheap settings; {} = the defaults)
CASES: dict[str, dict] = {
    "gradient": {}, "gradient_input": {}, "guided_backprop": {}, "deconvnet": {},
    "integrated_gradients": {"steps": 4}, "smoothgrad": {"samples": 3}, "vargrad": {"samples": 3},
    "gradcam": {}, "guided_gradcam": {}, "occlusion": {"patch": 4},
    "lrp_0": {}, "lrp_epsilon": {}, "lrp_gamma": {}, "lrp_alpha_beta": {}, "lrp_composite": {},
    "pattern_net": {"patterns": "fit"}, "pattern_attribution": {"patterns": "fit"},
    "deep_taylor": {}, "dasp": {"coalition_sizes": 2}, "lime": {"samples": 30},
    "kernel_shap": {"samples": 30}, "linear": {}, "random_map": {}, "edge_detector": {},
}  # fmt: skip
REFERENCE = ("random_map", "edge_detector")  # they read no model: no competitive variant
CASES |= {f"competitive_{n}": p for n, p in CASES.items() if n not in REFERENCE}


def _cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(3 * 4 * 4, 4)).double().eval()  # fmt: skip


def _linear() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 4)).double().eval()


def _setup(name: str):
    model = _linear() if name.removeprefix("competitive_") == "linear" else _cnn()
    x = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    params = dict(CASES[name])
    if params.get("patterns") == "fit":
        params["patterns"] = fit_patterns(model, torch.rand(64, 1, 8, 8, dtype=torch.float64))
    return model, x, params


def test_every_registered_method_has_a_case():
    assert set(CASES) == set(METHODS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_method_contract(name):
    model, x, params = _setup(name)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    target = torch.tensor([0, 3, 1])
    maps = attribute(name, model, x, target, **params)
    assert maps.shape == x.shape and torch.isfinite(maps).all()
    every = attribute_all_classes(name, model, x, **params)
    assert every.shape == (3, 4, *x.shape[1:])
    for c in range(4):
        per_target = attribute(name, model, x, torch.full((3,), c), **params)
        torch.testing.assert_close(every[:, c], per_target, rtol=1e-7, atol=1e-10)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize("name", sorted(CASES))
def test_defaults_are_the_signatures(name):
    method = METHODS[name]
    if name.startswith("competitive_"):  # the base method's parameters, passed through
        assert method.defaults == METHODS[name.removeprefix("competitive_")].defaults
        return
    sig = inspect.signature(method.fn).parameters
    assert list(sig)[:3] == ["model", "x", "target"] and sig["target"].default is None
    own = {k: p.default for k, p in sig.items() if p.default is not p.empty and k != "target"}
    overrides = {k: v for k, v in method.defaults.items() if own.get(k, v) != v}
    # one function registered twice: VarGrad is the noise tunnel with statistic="variance"
    assert overrides == ({"statistic": "variance"} if name == "vargrad" else {})
    assert set(method.defaults) == set(own)


#: the papers' settings that the registry's defaults must keep (REPLICATION-NOTES: adebayo2018
#: SmoothGrad/VarGrad 50 samples at 0.15 of the range, IG 50 steps from a zero baseline;
#: montavon2019 Sec. 10.2: ε = 0.25 of the RMS, γ = 0.25; bach2015: α = 2, β = 1)
PAPER_DEFAULTS = {
    "smoothgrad": {"samples": 50, "noise": 0.15, "base": "gradient"},
    "vargrad": {"samples": 50, "noise": 0.15, "base": "gradient"},
    "integrated_gradients": {"steps": 50, "baseline": "zero"},
    "lrp_epsilon": {"epsilon": 0.25, "relative": True},
    "lrp_gamma": {"gamma": 0.25},
    "lrp_alpha_beta": {"alpha": 2.0, "beta": 1.0},
}


@pytest.mark.parametrize("name", sorted(PAPER_DEFAULTS))
def test_defaults_are_the_papers(name):
    assert {k: METHODS[name].defaults[k] for k in PAPER_DEFAULTS[name]} == PAPER_DEFAULTS[name]


def test_vargrad_is_the_variance_of_the_noise_tunnel():
    model, x, _ = _setup("gradient")
    target = torch.tensor([0, 1, 2])
    sg = attribute("smoothgrad", model, x, target, samples=4)
    vg = attribute("vargrad", model, x, target, samples=4)
    grads = torch.stack([attribute("gradient", model, x + e, target) for e in _noise(x, 4)])
    torch.testing.assert_close(sg, grads.mean(0), rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(vg, grads.var(0, unbiased=False), rtol=1e-7, atol=1e-12)


def _noise(x: torch.Tensor, samples: int) -> list[torch.Tensor]:
    """The noise tunnel's draws, re-derived: per image, in image order, from a CPU generator
    seeded 0; sd = 0.15 x (max - min) of the image."""
    gen = torch.Generator().manual_seed(0)
    eps = torch.stack([torch.randn((samples, *x.shape[1:]), generator=gen, dtype=x.dtype)
                       for _ in range(len(x))])  # fmt: skip
    span = (x.flatten(1).amax(1) - x.flatten(1).amin(1)).view(-1, 1, *([1] * (x.dim() - 1)))
    return list((0.15 * span * eps).transpose(0, 1))
