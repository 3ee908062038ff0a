"""The exact decomposition of a linear model, R_i = w_ci x_i (samek2020, Sec. "linear models";
bach2015, Eq. 2 with the bias left out)."""

from __future__ import annotations

import torch
from torch import nn

from saliency_sanity.attribution.registry import pick, register

#: relative tolerance of the check that the model computes W x + b (float rounding only)
LINEAR_CHECK_RTOL = 1e-4


def linear_layer(model: nn.Module) -> nn.Linear:
    """The single ``nn.Linear`` of a model made of [Flatten,] Linear; ValueError otherwise."""
    leaves = [m for m in model.modules() if not list(m.children())]
    kinds = [type(m) for m in leaves if not isinstance(m, nn.Identity)]
    if kinds not in ([nn.Linear], [nn.Flatten, nn.Linear]):
        names = [k.__name__ for k in kinds]
        raise ValueError(f"'linear' needs a model that is one Linear after Flatten, got {names}")
    return (
        leaves[-1]
        if isinstance(leaves[-1], nn.Linear)
        else next(m for m in leaves if isinstance(m, nn.Linear))
    )


def _contributions(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """w_ki x_i for all classes k: (N, K, *x.shape[1:]); checks f(x) = Σ_i w_ki x_i + b_k."""
    layer = linear_layer(model)
    flat = x.flatten(1)
    if flat.shape[1] != layer.in_features:
        raise ValueError(f"x has {flat.shape[1]} features, the layer takes {layer.in_features}")
    w = layer.weight.detach()
    contrib = w.unsqueeze(0) * flat.unsqueeze(1)  # (N, K, D)
    bias = layer.bias.detach() if layer.bias is not None else 0.0
    with torch.no_grad():
        out = model(x)
    expected = contrib.sum(-1) + bias
    if not torch.allclose(out, expected, rtol=LINEAR_CHECK_RTOL, atol=LINEAR_CHECK_RTOL):
        raise ValueError("'linear' needs a linear model: its output is not W x + b")
    return contrib.reshape(x.shape[0], -1, *x.shape[1:])


@register("linear")
def linear(model: nn.Module, x: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
    """R_i = w_ci x_i for a linear model f_c(x) = Σ_i w_ci x_i + b_c (samek2020, Sec. 4 example
    of an "explainable" linear model). Equals Gradient ⊙ Input there; the bias is not
    distributed, so Σ_i R_i = f_c(x) - b_c. Raises ValueError on any other model. Target None:
    every class."""
    return pick(_contributions(model, x), target)
