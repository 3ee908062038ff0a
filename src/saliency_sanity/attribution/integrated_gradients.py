"""Integrated Gradients (Sundararajan et al. 2017)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from saliency_sanity.attribution._utils import (
    DEFAULT_CHUNK,
    grid_rows,
    input_gradients,
    per_image,
    resolve_chunk,
)
from saliency_sanity.attribution.registry import n_classes, register

QUADRATURES = ("midpoint", "trapezoid")


def ig_baseline(x: torch.Tensor, baseline: str | float | torch.Tensor) -> torch.Tensor:
    """The baseline x' of x: "zero", "black" (each image's minimum value), a number or a tensor
    broadcastable to x."""
    if isinstance(baseline, str):
        if baseline == "zero":
            return torch.zeros_like(x)
        if baseline == "black":
            return per_image(x.flatten(1).amin(dim=1), x).expand_as(x)
        raise ValueError(
            f"baseline must be 'zero', 'black', a number or a tensor, got {baseline!r}"
        )
    base = torch.as_tensor(baseline, dtype=x.dtype, device=x.device)
    try:
        base = base.expand_as(x)
    except RuntimeError:
        raise ValueError(
            f"baseline of shape {tuple(base.shape)} does not broadcast to x {tuple(x.shape)}"
        ) from None
    if not torch.isfinite(base).all():
        raise ValueError("baseline contains NaN or inf values")
    return base


def quadrature_rule(steps: int, rule: str = "midpoint") -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes α_j and weights w_j of ∫_0^1 g(α) dα ≈ Σ_j w_j g(α_j).

    "midpoint": α_j = (j + 1/2)/m, w_j = 1/m (Captum's ``riemann_middle``). "trapezoid":
    α_j = j/(m-1), w = 1/(m-1) with halved end weights. Captum's ``riemann_trapezoid`` uses the
    same nodes but weights 1/m (halved at the ends), which sum to 1 - 1/m, so it misses
    completeness by that factor; ours does not. The adebayo2018 code uses the trapezoid nodes
    with equal weights 1/m.
    """
    if rule not in QUADRATURES:
        raise ValueError(f"quadrature must be one of {QUADRATURES}, got {rule!r}")
    if steps < (2 if rule == "trapezoid" else 1):
        raise ValueError(f"steps must be >= {2 if rule == 'trapezoid' else 1}, got {steps}")
    if rule == "midpoint":
        return (torch.arange(steps, dtype=torch.float64) + 0.5) / steps, torch.full(
            (steps,), 1.0 / steps, dtype=torch.float64
        )
    weights = torch.full((steps,), 1.0 / (steps - 1), dtype=torch.float64)
    weights[[0, -1]] /= 2
    return torch.linspace(0, 1, steps, dtype=torch.float64), weights


def _path_integral(
    grad_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    base: torch.Tensor,
    steps: int,
    rule: str,
    chunk: int,
    extra: tuple[int, ...] = (),
) -> torch.Tensor:
    """Σ_j w_j ∇f(x' + α_j (x - x')), batched over images x steps in chunks of ``chunk`` rows
    that may cut an image's steps (:func:`grid_rows`), each row's term added to its image;
    ``grad_fn(path, image of each row)``; ``extra`` are dimensions grad_fn adds after the row
    dimension (the classes)."""
    alphas, weights = (t.to(x.device, x.dtype) for t in quadrature_rule(steps, rule))
    total = x.new_zeros(x.shape[0], *extra, *x.shape[1:])
    for rows in grid_rows(x.shape[0], steps, chunk, x.device):
        start = base[rows.item]
        path = start + per_image(alphas[rows.sample], x) * (x[rows.item] - start)
        grads = grad_fn(path, rows.item)
        w = weights[rows.sample].reshape(-1, *([1] * (grads.dim() - 1)))
        total.index_add_(0, rows.item, w * grads)
    return total


@register("integrated_gradients")
def integrated_gradients(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor | None = None,
    baseline: str | float | torch.Tensor = "zero",
    steps: int = 50,
    quadrature: str = "midpoint",
    chunk: int | None = DEFAULT_CHUNK,
) -> torch.Tensor:
    """IG_i = (x_i - x'_i) ∫_0^1 ∂f_c(x' + α(x - x'))/∂x_i dα (sundararajan2017, Eq. 1),
    the integral by the rule ``quadrature`` with ``steps`` nodes (Sec. 5, "Computing Integrated
    Gradients"; see :func:`quadrature_rule`). Completeness, Σ_i IG_i = f_c(x) - f_c(x') (Prop. 1),
    holds up to the quadrature error; the tests bound it. Gradients at all steps are batched;
    target None: every class from the same path points.
    """
    base = ig_baseline(x, baseline)
    chunk = resolve_chunk(chunk, model, x)

    def grad_fn(path: torch.Tensor, item: torch.Tensor) -> torch.Tensor:
        return input_gradients(model, path, None if target is None else target[item], chunk)

    if target is not None:
        return (x - base) * _path_integral(grad_fn, x, base, steps, quadrature, chunk)
    extra = (n_classes(model, x),)
    total = _path_integral(grad_fn, x, base, steps, quadrature, chunk, extra=extra)
    return (x - base).unsqueeze(1) * total
