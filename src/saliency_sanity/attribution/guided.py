"""Guided Backpropagation (Springenberg et al. 2014) and DeconvNet (Zeiler & Fergus 2014).

Both are the input gradient with a modified backward pass through every ReLU (see
:func:`._hooks.relu_rule`): ReLU modules, reused ReLU modules and functional ``F.relu`` /
``torch.relu`` / ``Tensor.relu`` calls alike. Captum's ``GuidedBackprop``/``Deconvolution``
only override ``nn.ReLU`` modules and break on a reused module; on models with one module per
ReLU the results are equal (tested).
"""

from __future__ import annotations

import torch
from torch import nn

from saliency_sanity.attribution._hooks import relu_rule
from saliency_sanity.attribution._utils import DEFAULT_CHUNK, input_gradients, resolve_chunk
from saliency_sanity.attribution.registry import register


@register("guided_backprop")
def guided_backprop(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor | None = None,
    chunk: int | None = DEFAULT_CHUNK,
) -> torch.Tensor:
    """Gradient where each ReLU passes back only positive gradients at positive inputs
    (springenberg2014, Sec. 3.4 and Fig. 1, "guided backpropagation"). Target None: every
    class."""
    chunk = resolve_chunk(chunk, model, x)  # probe outside the rule
    with relu_rule(model, "guided"):
        return input_gradients(model, x, target, chunk)


@register("deconvnet")
def deconvnet(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor | None = None,
    chunk: int | None = DEFAULT_CHUNK,
) -> torch.Tensor:
    """Gradient where each ReLU rectifies the backward signal regardless of its input
    (zeiler2014, Sec. 2.1 "Rectification"; springenberg2014, Fig. 1). Max-pooling uses the
    forward pass's switches, as in the paper. Target None: every class."""
    chunk = resolve_chunk(chunk, model, x)  # probe outside the rule
    with relu_rule(model, "deconvnet"):
        return input_gradients(model, x, target, chunk)
