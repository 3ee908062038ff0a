"""Grad-CAM and Guided Grad-CAM (Selvaraju et al. 2017)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from saliency_sanity.attribution._hooks import capture
from saliency_sanity.attribution._utils import (
    DEFAULT_CHUNK,
    blocks,
    frozen_params,
    resolve_chunk,
)
from saliency_sanity.attribution.guided import guided_backprop
from saliency_sanity.attribution.registry import each_class, register


def gradcam_module(model: nn.Module, layer: str | None) -> tuple[str, nn.Module]:
    """The module named ``layer``; by default ``model.gradcam_layer``, else the last Conv2d."""
    if layer is None:
        layer = getattr(model, "gradcam_layer", None)
    if layer is None:
        convs = [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
        if not convs:
            raise ValueError(
                f"GradCAM needs a convolutional layer; {type(model).__name__} has none"
            )
        layer = convs[-1]
    modules = dict(model.named_modules())
    if layer not in modules and hasattr(model, "body"):
        layer = f"body.{layer}"  # PaperModel names its layers inside ``body``
    if layer not in modules:
        names = [n for n in modules if n]
        raise ValueError(f"GradCAM layer {layer!r} does not exist in the model; layers: {names}")
    return layer, modules[layer]


def _cam(
    model: nn.Module, module: nn.Module, x: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """ReLU(Σ_k α_k A^k), α_k = mean_ij ∂y_c/∂A^k_ij, at the layer's resolution (N, 1, h, w)."""
    with capture(module) as acts:
        out = model(x)
    if len(acts) != 1 or acts[0].dim() != 4:
        shapes = [tuple(a.shape) for a in acts]
        raise ValueError(f"GradCAM needs one (N, C, H, W) activation per forward, got {shapes}")
    act = acts[0]
    (grad,) = torch.autograd.grad(out.gather(1, target[:, None]).sum(), act)
    alpha = grad.mean(dim=(2, 3), keepdim=True)
    return F.relu((alpha * act).sum(dim=1, keepdim=True))


@register("gradcam")
def gradcam(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor | None = None,
    layer: str | None = None,
    chunk: int | None = DEFAULT_CHUNK,
) -> torch.Tensor:
    """L^c = ReLU(Σ_k α^c_k A^k), α^c_k = 1/Z Σ_ij ∂y^c/∂A^k_ij (selvaraju2017, Eqs. 1-2),
    upsampled bilinearly (``align_corners=False``) to the input size and repeated over input
    channels. An all-zero map stays zero (no normalisation). Equals Captum's
    ``LayerGradCam(relu_attributions=True)`` + ``LayerAttribution.interpolate(.., "bilinear")``.
    ``layer`` defaults to ``model.gradcam_layer`` (the MNIST CNN: ReLU after conv2, 14x14x64).
    Target None: every class (each image repeated per class, one batch).
    """
    if target is None:
        return each_class(gradcam, model, x, layer=layer, chunk=chunk)
    if x.dim() != 4:
        raise ValueError(f"GradCAM needs images (N, C, H, W), got shape {tuple(x.shape)}")
    _, module = gradcam_module(model, layer)
    chunk = resolve_chunk(chunk, model, x)
    maps = torch.empty_like(x)
    with frozen_params(model), torch.enable_grad():
        for rows, _ in blocks(x.shape[0], 1, chunk):
            xr = x[rows].detach().requires_grad_(True)
            cam = _cam(model, module, xr, target[rows]).detach()
            cam = F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)
            maps[rows] = cam.expand(-1, x.shape[1], -1, -1)
    return maps


@register("guided_gradcam")
def guided_gradcam(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor | None = None,
    layer: str | None = None,
    chunk: int | None = DEFAULT_CHUNK,
) -> torch.Tensor:
    """Guided Backprop ⊙ upsampled Grad-CAM (selvaraju2017, Sec. 3.1, "Guided Grad-CAM").
    Equals Captum's ``GuidedGradCam(interpolate_mode="bilinear")`` (its default is "nearest").
    Target None: every class."""
    if target is None:
        return each_class(guided_gradcam, model, x, layer=layer, chunk=chunk)
    chunk = resolve_chunk(chunk, model, x)
    return guided_backprop(model, x, target, chunk) * gradcam(model, x, target, layer, chunk)
