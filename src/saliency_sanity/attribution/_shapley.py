"""Shared by LIME and KernelSHAP: patch features, masked model evaluation, maps on pixels.

Images (N, C, H, W) are split into square ``patch`` x ``patch`` features (ceil at the border;
channels share a patch); other inputs (N, D) use every element as a feature. A feature that is
off is replaced by ``baseline`` (zero). Maps are returned on the input's shape with each
element holding its feature's coefficient divided by the feature's number of elements, so that
a map sums to the sum of its feature attributions (for KernelSHAP: f(x) - f(baseline)).
"""

from __future__ import annotations

import torch
from torch import nn

from saliency_sanity.attribution._utils import resolve_chunk
from saliency_sanity.layout import forward_only


def features(shape: torch.Size, patch: int) -> tuple[torch.Tensor, int, torch.Tensor]:
    """(feature id of every element of one input, number of features, elements per feature)."""
    if len(shape) == 4:
        if patch < 1:
            raise ValueError(f"patch must be >= 1, got {patch}")
        c, h, w = shape[1:]
        cols = -(-w // patch)
        rows = torch.arange(h)[:, None] // patch * cols + torch.arange(w)[None, :] // patch
        ids = rows.expand(c, h, w)
    elif len(shape) == 2:
        ids = torch.arange(shape[1])
    else:
        raise ValueError(
            f"LIME / KernelSHAP take (N, C, H, W) images or (N, D) inputs, got {tuple(shape)}"
        )
    m = int(ids.max()) + 1
    return ids, m, torch.bincount(ids.flatten(), minlength=m)


def evaluate(
    model: nn.Module, xi: torch.Tensor, masks: torch.Tensor, ids: torch.Tensor, chunk: int | None
) -> torch.Tensor:
    """Logits (S, K) of the input ``xi`` with features off where ``masks`` (S, M) is 0, in
    batches of ``chunk`` masked inputs (None: chosen for the model, ``_utils.resolve_chunk``),
    in the layout that is fastest for the model (:func:`saliency_sanity.layout.forward_only`)."""
    ids = ids.to(xi.device)
    rows = resolve_chunk(chunk, model, xi.unsqueeze(0))
    run = forward_only(model, xi.unsqueeze(0))
    outs = []
    with torch.no_grad():
        for chunk in masks.to(xi).split(rows):
            outs.append(run(xi.unsqueeze(0) * chunk[:, ids]))
    return torch.cat(outs).double()


def to_pixels(coef: torch.Tensor, ids: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """(K, M) feature coefficients -> (K, *input shape), divided by the feature's size."""
    per_element = coef / counts.to(coef)
    return per_element[:, ids.to(coef.device)]


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))
