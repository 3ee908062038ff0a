"""Channels-last forward passes (saliency_sanity.layout): when they apply, that they really run
channels-last, the same numbers as the default layout, and the model left as found."""

from __future__ import annotations

import copy

import pytest
import torch
from _attribution_models import TinyCNN, TinyMLP, images
from torch import nn

from saliency_sanity import layout
from saliency_sanity.attribution import attribute_all_classes

nhwc = layout._nhwc


def float32_cnn(generator: torch.Generator, channels: int = 1) -> nn.Module:
    return TinyCNN(generator, channels).float()


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
def test_applies_to_float32_images_through_a_conv_net_on_the_cpu(generator):
    cnn, x = float32_cnn(generator), torch.zeros(2, 1, 8, 8)
    assert layout.channels_last_pays(cnn, x)
    assert not layout.channels_last_pays(TinyMLP(generator).float(), x)  # no convolution
    assert not layout.channels_last_pays(cnn.double(), x.double())  # no fast float64 kernels
    flat = nn.Sequential(nn.Conv1d(1, 2, 3), nn.Flatten())
    assert not layout.channels_last_pays(flat, torch.zeros(2, 1, 8))  # not (N, C, H, W)
    scripted = torch.jit.script(float32_cnn(generator))
    assert not layout.channels_last_pays(scripted, x)  # cannot swap its weights
    assert layout.forward_only(scripted, x) is scripted
    mlp = TinyMLP(generator).float()
    assert layout.forward_only(mlp, x) is mlp


@pytest.mark.parametrize("channels", [1, 3])
def test_every_conv_runs_on_nhwc_weights_and_inputs(generator, channels):
    """A one-channel weight or image also has NCHW-contiguous strides; unless its strides are
    set explicitly, PyTorch runs that layer with the NCHW kernels."""
    cnn, x = float32_cnn(generator, channels), images(generator, 4, channels).float()
    seen = []

    def record(module, args):
        seen.append((module.weight.stride(), args[0].stride()))

    convs = [m for m in cnn.modules() if isinstance(m, nn.Conv2d)]
    handles = [m.register_forward_pre_hook(record) for m in convs]
    try:
        layout.forward_only(cnn, x)(x)
    finally:
        for h in handles:
            h.remove()
    assert len(seen) == len(convs)
    for (weight, inp), conv in zip(seen, convs, strict=True):
        c = conv.in_channels
        assert weight[1] == 1 and weight[3] == c, weight  # (O, C, kh, kw) stored O, kh, kw, C
        assert inp[1] == 1 and inp[3] == c, inp


def test_same_logits_as_float64_to_float32_rounding(generator):
    cnn, x = float32_cnn(generator, 3), images(generator, 5, 3)
    with torch.no_grad():
        ours = layout.forward_only(cnn, x.float())(x.float())
        exact = copy.deepcopy(cnn).double()(x)
    torch.testing.assert_close(ours.double(), exact, rtol=1e-5, atol=1e-5)


def test_forward_only_leaves_the_model_as_found(generator):
    cnn, x = float32_cnn(generator), images(generator, 3).float()
    before = {n: (p, p.data_ptr(), p.stride(), p.clone()) for n, p in cnn.named_parameters()}
    hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in cnn.modules())
    with torch.no_grad():
        layout.forward_only(cnn, x)(x)
    for name, p in cnn.named_parameters():
        obj, ptr, stride, value = before[name]
        assert p is obj and p.data_ptr() == ptr and p.stride() == stride
        assert torch.equal(p, value)
    assert hooks == sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in cnn.modules())


@pytest.mark.parametrize(
    ("name", "params"),
    [("occlusion", {"patch": 2}), ("lime", {"samples": 200}), ("kernel_shap", {"samples": 64})],
)
def test_perturbation_maps_in_float32_channels_last_equal_float64(
    generator, monkeypatch, name, params
):
    """The perturbation methods' float32 maps, computed channels-last, equal the same method in
    float64 (default layout; cross-checked against Captum and the exact Shapley values in
    test_attribution_captum.py and test_lime_shap.py) to float32 rounding."""
    cnn, x = TinyCNN(generator, 3), images(generator, 2, 3)
    exact = attribute_all_classes(name, cnn, x, **params)
    copies = []
    with monkeypatch.context() as m:
        m.setattr(layout, "_nhwc", lambda t: copies.append(t.shape) or nhwc(t))
        ours = attribute_all_classes(name, cnn.float(), x.float(), **params)
    assert len(copies) > 2  # the forward passes ran channels-last (weights and batches)
    scale = exact.abs().amax()
    assert scale > 0
    torch.testing.assert_close(ours.double() / scale, exact / scale, rtol=0, atol=1e-5)


class ViewCNN(nn.Module):
    """A conv net that flattens with ``.view`` (common in older code): a view of a channels-last
    activation with several channels is not allowed."""

    def __init__(self, cnn: nn.Module) -> None:
        super().__init__()
        self.conv, self.fc = cnn[0], nn.Linear(4 * 8 * 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(x))
        return self.fc(h.view(h.shape[0], -1))


def test_a_model_that_cannot_run_channels_last_runs_in_the_default_layout(generator):
    model, x = ViewCNN(float32_cnn(generator, 3)).eval(), images(generator, 4, 3).float()
    with pytest.raises(RuntimeError, match="view"):
        model(x.contiguous(memory_format=torch.channels_last))  # the failure it works around
    run = layout.forward_only(model, x)
    with torch.no_grad():
        torch.testing.assert_close(run(x), model(x))
        torch.testing.assert_close(run(x[:2]), model(x[:2]))  # stays in the default layout
    occluded = attribute_all_classes("occlusion", model, x, patch=4)
    exact = attribute_all_classes("occlusion", copy.deepcopy(model).double(), x.double(), patch=4)
    torch.testing.assert_close(occluded.double(), exact, rtol=1e-4, atol=1e-5)
    broken = nn.Sequential(nn.Conv2d(3, 2, 3), nn.Flatten(), nn.Linear(5, 2))  # wrong sizes
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        layout.forward_only(broken, x)(x)  # an error of the model itself still surfaces
