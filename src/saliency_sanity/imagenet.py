"""The ImageNet tier's models (torchvision's Inception v3, VGG-16, VGG-19) and their layer order.

Weights come through torchvision's weights API (``weights="DEFAULT"`` downloads, or reads a
pre-filled ``TORCH_HOME``); ``weights=None`` gives randomly initialised models, used by the tests.
"""

from __future__ import annotations

import math

import torch
from torch import nn

MODELS = ("inception_v3", "vgg16", "vgg19")

#: adebayo2018's 17 Inception v3 blocks, logits first (REPLICATION-NOTES).
INCEPTION_ORDER = (
    "fc", "Mixed_7c", "Mixed_7b", "Mixed_7a", "Mixed_6e", "Mixed_6d", "Mixed_6c", "Mixed_6b",
    "Mixed_6a", "Mixed_5d", "Mixed_5c", "Mixed_5b", "Conv2d_4a_3x3", "Conv2d_3b_1x1",
    "Conv2d_2b_3x3", "Conv2d_2a_3x3", "Conv2d_1a_3x3",
)  # fmt: skip


class ImageNetModel(nn.Module):
    """Wraps a torchvision classifier with the zoo's interface (layer order, initialisers)."""

    encoding = "imagenet"

    def __init__(self, name: str, net: nn.Module, order: tuple[str, ...], gradcam_layer: str):
        super().__init__()
        self.name, self.net, self.layer_order, self.gradcam_layer = name, net, order, gradcam_layer
        self.input_shape = (3, 299, 299) if name == "inception_v3" else (3, 224, 224)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def layer(self, name: str) -> nn.Module:
        return self.net.get_submodule(name)

    def init_layer(self, name: str, generator: torch.Generator | None = None) -> None:
        """Re-run torchvision's own initialiser on every conv/linear inside the block."""
        for module in self.layer(name).modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                _torchvision_init(self.name, module, generator)


def _torchvision_init(model: str, module: nn.Module, generator: torch.Generator | None) -> None:
    with torch.no_grad():
        w = torch.empty_like(module.weight, device="cpu")
        if model == "inception_v3":  # torchvision: trunc_normal(std=0.1) on conv and linear
            nn.init.trunc_normal_(w, std=0.1, a=-2.0, b=2.0, generator=generator)
        elif isinstance(module, nn.Conv2d):  # torchvision VGG: kaiming normal, fan_out
            fan_out = module.out_channels * module.kernel_size[0] * module.kernel_size[1]
            w.normal_(0.0, math.sqrt(2.0 / fan_out), generator=generator)
        else:
            w.normal_(0.0, 0.01, generator=generator)
        module.weight.copy_(w)
        if module.bias is not None:
            module.bias.zero_()


def build(name: str, weights: str | None = None) -> ImageNetModel:
    import torchvision.models as tvm

    if name == "inception_v3":
        net = tvm.inception_v3(weights=weights, aux_logits=True, init_weights=weights is None)
        net.aux_logits, net.AuxLogits = False, None
        return ImageNetModel(name, net.eval(), INCEPTION_ORDER, "Mixed_7c")
    if name in ("vgg16", "vgg19"):
        net = getattr(tvm, name)(weights=weights)
        _unshare_relus(net)
        convs = [f"features.{i}" for i, m in enumerate(net.features) if isinstance(m, nn.Conv2d)]
        order = ("classifier.6", "classifier.3", "classifier.0", *reversed(convs))
        last_relu = max(i for i, m in enumerate(net.features) if isinstance(m, nn.ReLU))
        return ImageNetModel(name, net.eval(), order, f"features.{last_relu}")
    raise KeyError(f"unknown ImageNet model {name!r}; known: {MODELS}")


def _unshare_relus(net: nn.Module) -> None:
    """torchvision's ReLUs are in-place; hook-based methods need out-of-place ones."""
    for module in net.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = False
