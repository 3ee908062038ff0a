"""Gradient (Simonyan et al. 2013) and Gradient x Input (Shrikumar et al. 2016)."""

from __future__ import annotations

import torch
from torch import nn

from saliency_sanity.attribution._utils import DEFAULT_CHUNK, input_gradients
from saliency_sanity.attribution.registry import register


@register("gradient")
def gradient(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor | None = None,
    chunk: int | None = DEFAULT_CHUNK,
) -> torch.Tensor:
    """Signed gradient of the target logit, R = ∂f_c(x)/∂x (simonyan2013, Eq. 1 and Sec. 3.1).

    Simonyan et al. show the maximum of |R| over colour channels; we keep the sign and every
    channel, as adebayo2018 does before its own (optional) absolute value. Captum's ``Saliency``
    takes the absolute value by default (``abs=True``); ours equals ``Saliency(abs=False)``.
    Target None: every class from one forward pass per chunk.
    """
    return input_gradients(model, x, target, chunk)


@register("gradient_input")
def gradient_input(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor | None = None,
    chunk: int | None = DEFAULT_CHUNK,
) -> torch.Tensor:
    """R = x ⊙ ∂f_c(x)/∂x (shrikumar2016, Sec. 2; ancona2018, Eq. 3). Equals Captum's
    ``InputXGradient``. Target None: every class."""
    grads = input_gradients(model, x, target, chunk)
    return (x if target is not None else x.unsqueeze(1)) * grads
