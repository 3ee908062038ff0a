"""The papers' equations, re-derived by hand in float64 (STYLE.md items 4-5)."""

from __future__ import annotations

import pytest
import torch
from _attribution_models import K, TinyCNN, TinyMLP, images

from saliency_sanity import models
from saliency_sanity.attribution import attribute, attribute_all_classes

#: IG completeness |Σ IG - (f(x) - f(x'))| relative to |f(x) - f(x')|: the midpoint rule's
#: error on a piecewise-constant integrand (ReLU net) is O(kinks / steps): on the tiny nets
#: 256 steps gave up to 2e-2, 1024 steps <= 5e-3; 1e-2 at 1024 catches a wrong weight or node.
COMPLETENESS_RTOL = 1e-2
GRADIENT_FAMILY = [
    "gradient",
    "gradient_input",
    "integrated_gradients",
    "guided_backprop",
    "deconvnet",
    "smoothgrad",
    "vargrad",
    "occlusion",
]


def _logit(model, x, target):
    with torch.no_grad():
        return model(x).gather(1, target[:, None]).squeeze(1)


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
@pytest.mark.parametrize("quadrature", ["midpoint", "trapezoid"])
def test_integrated_gradients_completeness(arch, quadrature, generator):
    model = TinyMLP(generator) if arch == "mlp" else TinyCNN(generator)
    x, target = images(generator, n=4), torch.tensor([0, 1, 2, 3])
    ig = attribute("integrated_gradients", model, x, target, steps=1024, quadrature=quadrature)
    gap = _logit(model, x, target) - _logit(model, torch.zeros_like(x), target)
    torch.testing.assert_close(ig.flatten(1).sum(1), gap, rtol=COMPLETENESS_RTOL, atol=1e-6)


def test_integrated_gradients_exact_on_linear_model(generator):
    """Constant gradient: every quadrature whose weights sum to 1 is exact, whatever the steps."""
    model = models.build("softmax_regression").double()
    x = torch.rand(3, 1, 28, 28, generator=generator, dtype=torch.float64)
    target = torch.tensor([1, 5, 9])
    for quadrature in ("midpoint", "trapezoid"):
        ig = attribute("integrated_gradients", model, x, target, steps=3, quadrature=quadrature)
        w = model.layer("logits").weight[target].view_as(x)
        torch.testing.assert_close(ig, w * x, atol=1e-12, rtol=0)


def test_integrated_gradients_equals_gradient_input_on_bias_free_relu_net(generator):
    """samek2020: f(αx) = α f(x) for a bias-free ReLU net, so ∇f(αx) = ∇f(x) and IG(x'=0) = x ⊙ ∇f.
    The gradient is re-derived as W1^T D1 W2^T D2 W3^T e_c with the ReLU masks D."""
    model = TinyMLP(generator, bias=False)
    x, target = images(generator, n=4), torch.tensor([0, 4, 2, 1])
    w1, w2, w3 = model[1].weight, model[3].weight, model[5].weight
    h = x.flatten(1)
    d1 = (h @ w1.T > 0).double()
    d2 = (torch.relu(h @ w1.T) @ w2.T > 0).double()
    grad = ((w3[target] * d2) @ w2 * d1) @ w1  # (N, 64)
    expected = (x.flatten(1) * grad).view_as(x)
    ig = attribute("integrated_gradients", model, x, target, steps=7)
    torch.testing.assert_close(ig, expected, atol=1e-12, rtol=0)
    torch.testing.assert_close(attribute("gradient_input", model, x, target), expected)


def test_linear_model_gradient_is_weight_and_linear_is_w_times_x(generator):
    model = models.build("softmax_regression").double()
    x = torch.rand(3, 1, 28, 28, generator=generator, dtype=torch.float64)
    target = torch.tensor([0, 7, 3])
    w = model.layer("logits").weight.detach()[target].view_as(x)
    torch.testing.assert_close(attribute("gradient", model, x, target), w, atol=1e-14, rtol=0)
    linear = attribute("linear", model, x, target)
    torch.testing.assert_close(linear, w * x, atol=1e-14, rtol=0)
    torch.testing.assert_close(linear, attribute("gradient_input", model, x, target))
    bias = model.layer("logits").bias.detach()[target]
    torch.testing.assert_close(linear.flatten(1).sum(1) + bias, _logit(model, x, target))
    all_maps = attribute_all_classes("linear", model, x)
    torch.testing.assert_close(all_maps, attribute_all_classes("gradient_input", model, x))


@pytest.mark.parametrize("model_name", ["cnn", "kindermans_mlp"])
def test_linear_rejects_nonlinear_models(model_name):
    with pytest.raises(ValueError, match="linear"):
        attribute("linear", models.build(model_name), torch.rand(1, 1, 28, 28))


@pytest.mark.parametrize("base", ["gradient", "integrated_gradients", "guided_backprop"])
def test_smoothgrad_with_zero_noise_is_the_base_method(base, generator):
    model, x = TinyCNN(generator), images(generator, n=3)
    target = torch.tensor([0, 1, 2])
    plain = attribute(base, model, x, target)
    sg = attribute("smoothgrad", model, x, target, base=base, noise=0.0, samples=3)
    torch.testing.assert_close(sg, plain, atol=1e-12, rtol=0)
    vg = attribute("vargrad", model, x, target, base=base, noise=0.0, samples=3)
    assert vg.abs().max() < 1e-20


def test_smoothgrad_base_params_reach_the_base(generator):
    """IG-SG with 1 vs 64 steps must differ (the steps go to IG), and noise=0 gives IG itself."""
    model, x = TinyMLP(generator), images(generator, n=2)
    target = torch.tensor([0, 1])
    kw = {"base": "integrated_gradients", "noise": 0.0, "samples": 2}
    ig64 = attribute("integrated_gradients", model, x, target, steps=64)
    torch.testing.assert_close(attribute("smoothgrad", model, x, target, steps=64, **kw), ig64)
    assert not torch.allclose(attribute("smoothgrad", model, x, target, steps=1, **kw), ig64)


@pytest.mark.parametrize("name", ["smoothgrad", "vargrad"])
def test_noise_draws_do_not_depend_on_chunk_size(name, generator):
    model, x = TinyMLP(generator), images(generator, n=5)
    target = torch.tensor([0, 1, 2, 3, 4])
    ref = attribute(name, model, x, target, samples=9, chunk=1000)
    for chunk in (1, 4, 20):  # splits samples of an image; several images per block
        torch.testing.assert_close(attribute(name, model, x, target, samples=9, chunk=chunk), ref)
    other_seed = attribute(name, model, x, target, samples=9, seed=1)
    assert not torch.allclose(other_seed, ref)


@pytest.mark.parametrize("name", GRADIENT_FAMILY)
def test_all_classes_equals_per_class_calls(name, generator):
    """The shared-forward implementation (same noise for every class) equals K separate calls."""
    model, x = TinyCNN(generator), images(generator, n=2)
    params = {"samples": 3} if name in ("smoothgrad", "vargrad") else {}
    all_maps = attribute_all_classes(name, model, x, chunk=3, **params)
    assert all_maps.shape == (2, K, 1, 8, 8)
    for k in range(K):
        single = attribute(name, model, x, torch.full((2,), k), **params)
        torch.testing.assert_close(all_maps[:, k], single, atol=1e-12, rtol=1e-9)


def test_gradcam_all_zero_map_stays_zero(generator):
    """A dead layer (all activations 0) gives a zero map, not NaN."""
    model, x = TinyCNN(generator), images(generator, n=2)
    with torch.no_grad():
        model[3].bias.fill_(-1e3)
    maps = attribute("gradcam", model, x, torch.tensor([0, 1]))
    assert torch.equal(maps, torch.zeros_like(maps))
    guided = attribute("guided_gradcam", model, x, torch.tensor([0, 1]))
    assert torch.isfinite(guided).all()


def test_gradcam_is_the_weighted_channel_sum_by_hand(generator):
    """selvaraju2017 Eqs. 1-2 at the layer resolution, with the activation's Jacobian by hand."""
    model, x = TinyCNN(generator), images(generator, n=2)
    target = torch.tensor([3, 0])
    layers = list(model)
    a = torch.nn.Sequential(*layers[:5])(x).detach().requires_grad_(True)  # (N, 6, 4, 4)
    y = torch.nn.Sequential(*layers[5:])(a).gather(1, target[:, None]).sum()
    (g,) = torch.autograd.grad(y, a)
    cam = torch.relu((g.mean(dim=(2, 3), keepdim=True) * a).sum(1, keepdim=True)).detach()
    ours = attribute("gradcam", model, x, target)
    up = torch.nn.functional.interpolate(cam, size=(8, 8), mode="bilinear", align_corners=False)
    torch.testing.assert_close(ours, up, atol=1e-12, rtol=0)
    assert (cam > 0).any() and (ours >= 0).all()
