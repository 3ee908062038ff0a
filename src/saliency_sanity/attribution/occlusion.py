"""Occlusion (Zeiler & Fergus 2014, Sec. 4.2 "Occlusion Sensitivity")."""

from __future__ import annotations

import torch
from torch import nn

from saliency_sanity.attribution._utils import (
    DEFAULT_CHUNK,
    grid_rows,
    per_image,
    resolve_chunk,
)
from saliency_sanity.attribution.registry import pick, register
from saliency_sanity.layout import forward_only


def patch_masks(
    shape: tuple[int, int], patch: int, stride: int, device: torch.device
) -> torch.Tensor:
    """Boolean masks (P, H, W) of every patch position, row-major. As in Captum's ``Occlusion``,
    windows start at 0, stride, 2 stride, ... until one reaches the last pixel; that one may be
    cut off by the border, so every pixel is covered."""
    h, w = shape
    if not 1 <= patch <= min(h, w) or stride < 1:
        raise ValueError(f"need 1 <= patch <= {min(h, w)} and stride >= 1, got {patch}, {stride}")
    rows = torch.arange(-(-(h - patch) // stride) + 1, device=device) * stride
    cols = torch.arange(-(-(w - patch) // stride) + 1, device=device) * stride
    ys, xs = torch.arange(h, device=device), torch.arange(w, device=device)
    in_r = (ys[None] >= rows[:, None]) & (ys[None] < rows[:, None] + patch)  # (R, H)
    in_c = (xs[None] >= cols[:, None]) & (xs[None] < cols[:, None] + patch)  # (C, W)
    return (in_r[:, None, :, None] & in_c[None, :, None, :]).flatten(0, 1)


def _differences(
    model: nn.Module, x: torch.Tensor, masks: torch.Tensor, fill: torch.Tensor, chunk: int
) -> torch.Tensor:
    """f(x) - f(x with patch p replaced by fill), all classes: (N, P, K). The forward passes
    run in the layout that is fastest for the model
    (:func:`saliency_sanity.layout.forward_only`)."""
    n, p = x.shape[0], masks.shape[0]
    model = forward_only(model, x)
    with torch.no_grad():
        full = model(x)
        diffs = x.new_empty(n * p, full.shape[1])
        m = masks.to(x.dtype).unsqueeze(1)  # (P, 1, H, W), broadcast over channels
        for b in grid_rows(n, p, chunk, x.device):  # a batch may cut an image's patches
            mi = m[b.sample]
            occluded = x[b.item] * (1 - mi) + fill[b.item] * mi
            diffs[b.item * p + b.sample] = full[b.item] - model(occluded)
    return diffs.reshape(n, p, -1)


def _occlusion_all(
    model: nn.Module,
    x: torch.Tensor,
    patch: int,
    stride: int | None,
    fill: float | str,
    chunk: int | None,
) -> torch.Tensor:
    if x.dim() < 3:
        raise ValueError(f"occlusion needs inputs (N, ..., H, W), got shape {tuple(x.shape)}")
    masks = patch_masks(x.shape[-2:], patch, stride or patch, x.device)
    chunk = resolve_chunk(chunk, model, x)
    ones = [1] * (x.dim() - 1)
    if fill == "mean":
        fill_value = per_image(x.flatten(1).mean(1), x)
    elif isinstance(fill, int | float):
        fill_value = x.new_full((x.shape[0], *ones), float(fill))
    else:
        raise ValueError(f"fill must be a number or 'mean', got {fill!r}")
    diffs = _differences(model, x, masks, fill_value, chunk)
    m = masks.to(x.dtype)
    covered = m.sum(0)  # >= 1: every pixel is covered
    maps = torch.einsum("npk,phw->nkhw", diffs, m) / covered
    n, k, h, w = maps.shape
    return maps.reshape(n, k, *ones[:-2], h, w).expand(n, k, *x.shape[1:])


@register("occlusion")
def occlusion(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor | None = None,
    patch: int = 4,
    stride: int | None = None,
    fill: float | str = 0.0,
    chunk: int | None = DEFAULT_CHUNK,
) -> torch.Tensor:
    """R_i = mean over patches P ∋ i of f_c(x) - f_c(x with P set to ``fill``) (zeiler2014,
    Sec. 4.2; the averaging over the patches covering a pixel is Captum's ``Occlusion``
    convention). Square ``patch`` x ``patch`` windows over the last two dimensions, all channels
    at once, moved by ``stride`` (default: ``patch``, non-overlapping); ``fill`` is a number or
    "mean" (each image's mean). All patch positions are evaluated in batches of ``chunk``; the
    same forward passes give every class (target None)."""
    return pick(_occlusion_all(model, x, patch, stride, fill, chunk), target)
