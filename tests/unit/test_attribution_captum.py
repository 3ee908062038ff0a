"""Cross-checks of the gradient family, Grad-CAM and occlusion against Captum, in float64."""

from __future__ import annotations

import pytest
import torch
from _attribution_models import K, TinyCNN, TinyMLP, images
from captum.attr import (
    Deconvolution,
    GuidedBackprop,
    GuidedGradCam,
    InputXGradient,
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    NoiseTunnel,
    Occlusion,
    Saliency,
)

from saliency_sanity.attribution import attribute, attribute_all_classes

ATOL = 1e-10  # float64: the two implementations differ only by summation order


@pytest.fixture(params=["mlp", "cnn"])
def setup(request, generator):
    model = TinyMLP(generator) if request.param == "mlp" else TinyCNN(generator)
    x = images(generator, n=4)
    target = torch.tensor([0, 1, 4, 2])
    return model, x, target


CAPTUM = {
    "gradient": lambda m, x, t: Saliency(m).attribute(x, target=t, abs=False),
    "gradient_input": lambda m, x, t: InputXGradient(m).attribute(x, target=t),
    "guided_backprop": lambda m, x, t: GuidedBackprop(m).attribute(x, target=t),
    "deconvnet": lambda m, x, t: Deconvolution(m).attribute(x, target=t),
}


@pytest.mark.parametrize("name", sorted(CAPTUM))
def test_gradient_family_matches_captum(name, setup):
    model, x, target = setup
    ours = attribute(name, model, x, target)
    theirs = CAPTUM[name](model, x.clone(), target)
    assert ours.abs().max() > 0
    torch.testing.assert_close(ours, theirs, atol=ATOL, rtol=0)


@pytest.mark.parametrize("name", sorted(CAPTUM))
def test_all_classes_matches_captum_per_class(name, setup):
    model, x, _ = setup
    ours = attribute_all_classes(name, model, x)
    for k in range(K):
        theirs = CAPTUM[name](model, x.clone(), torch.full((x.shape[0],), k))
        torch.testing.assert_close(ours[:, k], theirs, atol=ATOL, rtol=0)


@pytest.mark.parametrize("baseline", ["zero", "black", "tensor"])
def test_integrated_gradients_matches_captum_riemann_middle(baseline, setup, generator):
    model, x, target = setup
    base = {
        "zero": torch.zeros_like(x),
        "black": x.flatten(1).amin(1).view(-1, 1, 1, 1).expand_as(x),
        "tensor": torch.rand(x.shape, generator=generator, dtype=x.dtype),
    }[baseline]
    ours = attribute(
        "integrated_gradients",
        model,
        x,
        target,
        baseline=base if baseline == "tensor" else baseline,
        steps=16,
        chunk=10,  # blocks split the steps of one image: exercises the accumulation
    )
    ig = IntegratedGradients(model)
    theirs = ig.attribute(x, base, target=target, n_steps=16, method="riemann_middle")
    torch.testing.assert_close(ours, theirs, atol=ATOL, rtol=0)


@pytest.mark.parametrize("nt_type", ["smoothgrad", "vargrad"])
def test_noise_tunnel_with_zero_noise_matches_captum(nt_type, setup):
    model, x, target = setup
    ours = attribute(nt_type, model, x, target, noise=0.0, samples=4)
    tunnel = NoiseTunnel(Saliency(model))
    theirs = tunnel.attribute(
        x, nt_type=nt_type, nt_samples=4, stdevs=0.0, target=target, abs=False
    )
    torch.testing.assert_close(ours, theirs, atol=ATOL, rtol=0)


@pytest.mark.parametrize("nt_type", ["smoothgrad", "vargrad"])
def test_noise_tunnel_with_identical_noise_matches_captum(nt_type, setup, seed):
    """Re-draw our documented noise (per image, in order, from a CPU generator; sd = 0.15 x
    range) and average Captum's Saliency over it: the same estimator on the same draws."""
    model, x, target = setup
    samples, level = 6, 0.15
    ours = attribute(nt_type, model, x, target, samples=samples, noise=level, seed=seed, chunk=5)
    gen = torch.Generator().manual_seed(seed)
    eps = torch.stack(
        [torch.randn((samples, *x.shape[1:]), generator=gen, dtype=x.dtype) for _ in x]
    )
    sigma = level * (x.flatten(1).amax(1) - x.flatten(1).amin(1)).view(-1, 1, 1, 1, 1)
    noisy = (x.unsqueeze(1) + sigma * eps).transpose(0, 1)  # (samples, N, ...)
    maps = torch.stack([Saliency(model).attribute(xs, target=target, abs=False) for xs in noisy])
    expected = maps.mean(0) if nt_type == "smoothgrad" else maps.var(0, unbiased=False)
    assert expected.abs().max() > 0
    torch.testing.assert_close(ours, expected, atol=ATOL, rtol=1e-9)


def test_gradcam_matches_captum_layer_gradcam(generator):
    model, x = TinyCNN(generator), images(generator, n=4)
    target = torch.tensor([0, 3, 1, 4])
    ours = attribute("gradcam", model, x, target)
    cam = LayerGradCam(model, model[4]).attribute(x, target=target, relu_attributions=True)
    theirs = LayerAttribution.interpolate(cam, (8, 8), interpolate_mode="bilinear")
    assert ours.abs().max() > 0
    torch.testing.assert_close(ours, theirs, atol=ATOL, rtol=0)
    # Captum's defaults neither rectify nor upsample: a real difference, not a rounding one
    raw = LayerGradCam(model, model[4]).attribute(x, target=target)
    assert raw.shape[-1] == 4 and (raw < 0).any()


def test_guided_gradcam_matches_captum(generator):
    model, x = TinyCNN(generator), images(generator, n=4)
    target = torch.tensor([2, 3, 1, 0])
    ours = attribute("guided_gradcam", model, x, target)
    ggc = GuidedGradCam(model, model[4])
    theirs = ggc.attribute(x, target=target, interpolate_mode="bilinear")
    assert ours.abs().max() > 0
    torch.testing.assert_close(ours, theirs, atol=ATOL, rtol=0)


@pytest.mark.parametrize(("patch", "stride", "fill"), [(4, None, 0.0), (3, 2, 0.0), (3, 1, "mean")])
def test_occlusion_matches_captum(patch, stride, fill, generator):
    """patch 3, stride 2 on 8x8: overlapping windows, the last one cut off by the border."""
    model, x = TinyCNN(generator, channels=2), images(generator, n=3, channels=2)
    target = torch.tensor([1, 0, 4])
    ours = attribute("occlusion", model, x, target, patch=patch, stride=stride, fill=fill, chunk=7)
    s = stride or patch
    base = x.mean(dim=(1, 2, 3), keepdim=True) if fill == "mean" else torch.tensor(fill)
    base = base.to(x.dtype).expand_as(x)  # a float baseline would make Captum return float32
    theirs = Occlusion(model).attribute(
        x, sliding_window_shapes=(2, patch, patch), strides=(2, s, s), baselines=base, target=target
    )
    assert ours.abs().max() > 0
    # Captum sums in float64 but returns `total.float() / count`: compare at float32 precision
    torch.testing.assert_close(ours.float(), theirs, atol=1e-6, rtol=1e-6)
