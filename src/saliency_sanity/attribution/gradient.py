"""Gradient (Simonyan et al. 2013) and Gradient x Input (Shrikumar et al. 2016)."""

from __future__ import annotations

import torch
from torch import nn

from saliency_sanity.attribution._utils import (
    DEFAULT_CHUNK,
    all_class_gradients,
    input_gradients,
)
from saliency_sanity.attribution.registry import register, register_all_classes


@register("gradient", label="Gradient")
def gradient(
    model: nn.Module, x: torch.Tensor, target: torch.Tensor, chunk: int | None = DEFAULT_CHUNK
) -> torch.Tensor:
    """Signed gradient of the target logit, R = ∂f_c(x)/∂x (simonyan2013, Eq. 1 and Sec. 3.1).

    Simonyan et al. show the maximum of |R| over colour channels; we keep the sign and every
    channel, as adebayo2018 does before its own (optional) absolute value. Captum's ``Saliency``
    takes the absolute value by default (``abs=True``); ours equals ``Saliency(abs=False)``.
    """
    return input_gradients(model, x, target, chunk)


@register_all_classes("gradient")
def gradient_all(
    model: nn.Module, x: torch.Tensor, chunk: int | None = DEFAULT_CHUNK
) -> torch.Tensor:
    return all_class_gradients(model, x, chunk)


@register("gradient_input", label="Gradient ⊙ Input")
def gradient_input(
    model: nn.Module, x: torch.Tensor, target: torch.Tensor, chunk: int | None = DEFAULT_CHUNK
) -> torch.Tensor:
    """R = x ⊙ ∂f_c(x)/∂x (shrikumar2016, Sec. 2; ancona2018, Eq. 3). Equals Captum's
    ``InputXGradient``."""
    return x * input_gradients(model, x, target, chunk)


@register_all_classes("gradient_input")
def gradient_input_all(
    model: nn.Module, x: torch.Tensor, chunk: int | None = DEFAULT_CHUNK
) -> torch.Tensor:
    return x.unsqueeze(1) * all_class_gradients(model, x, chunk)
