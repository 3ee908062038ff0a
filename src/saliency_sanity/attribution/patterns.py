"""PatternNet and PatternAttribution (kindermans2018, "Learning how to explain neural networks").

For every dense layer (Linear; Conv2d per output channel over unfolded input patches) the pattern
a estimates the signal direction of y = w^T x (a bias-free copy of the layer; kindermans2018
Sec. 3-4):

* ``"linear"`` (eq. 7): a = cov(x, y) / (w^T cov(x, y));
* ``"relu"`` (two-component estimator, eq. 9 as implemented by iNNvestigate 1.x):
  a = (E+[x y] - E+[x] E[y]) / w^T (E+[x y] - E+[x] E[y]), with E+ the mean over the samples
  where the layer's output (with bias) is positive and E over all samples. It is used for layers
  followed by a ReLU; a layer without one (the logits) gets the linear estimator, as the
  two-component model assumes the ReLU discards the negative part (deviation: iNNvestigate
  applies the chosen estimator to every layer, which gives all-zero patterns for logits that
  are never positive).

Under a constant input shift compensated in the first-layer bias the linear estimator's patterns
are unchanged, the relu estimator's numerator changes by m (E+[y] - E[y]) (REPLICATION-NOTES).

PatternNet (signal, Sec. 4): backpropagate y with the weights replaced by the patterns, gated by
the forward ReLU masks. PatternAttribution (Sec. 4; Deep Taylor with the pattern root point
x0 = x - a y): the same with weights w ⊙ a, so that w^T (w ⊙ a)-sums conserve relevance. Max
pooling routes to the winner (the gradient), average pooling backpropagates its gradient.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from saliency_sanity.attribution import _lrp_layers as L
from saliency_sanity.attribution.registry import register, register_all_classes

Patterns = dict[str, torch.Tensor]


def _as_rows(layer: nn.Module, a: torch.Tensor) -> torch.Tensor:
    """The layer's input as rows of neuron inputs: (samples, fan_in); conv: one row per patch."""
    if isinstance(layer, nn.Linear):
        return a
    cols = F.unfold(a, layer.kernel_size, layer.dilation, layer.padding, layer.stride)
    return cols.transpose(1, 2).reshape(-1, cols.shape[1])


def _output_rows(layer: nn.Module, z: torch.Tensor) -> torch.Tensor:
    return (
        z if isinstance(layer, nn.Linear) else z.flatten(2).transpose(1, 2).reshape(-1, z.shape[1])
    )


class _Stats:
    """Running sums per layer: counts, Σ mask x, Σ mask x y, Σ y (float64)."""

    def __init__(self) -> None:
        self.n = self.count = self.sx = self.sxy = self.sy = 0

    def update(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> None:
        self.n = self.n + x.shape[0]
        self.count = self.count + mask.sum(0)
        self.sx = self.sx + x.T @ mask
        self.sxy = self.sxy + x.T @ (y * mask)
        self.sy = self.sy + y.sum(0)

    def pattern(self, w2d: torch.Tensor) -> torch.Tensor:
        count = torch.as_tensor(self.count).clamp(min=1)
        cov = self.sxy / count - (self.sx / count) * (self.sy / self.n)  # (fan_in, out)
        norm = (w2d.T * cov).sum(0)
        return (cov / torch.where(norm == 0, 1.0, norm)).T  # iNNvestigate's safe divide


def _batches(x_train, batch_size: int) -> Iterable[torch.Tensor]:
    if isinstance(x_train, torch.Tensor):
        yield from x_train.split(batch_size)
    else:
        for batch in x_train:
            yield batch[0] if isinstance(batch, tuple | list) else batch


def fit_patterns(
    model: nn.Module, x_train, estimator: str = "relu", batch_size: int = 128
) -> Patterns:
    """Fit the patterns of every dense layer on training inputs (kindermans2018 eqs. 7 and 9).

    ``x_train``: a tensor (N, ...) or an iterable of batches (tensors or (x, y) pairs), streamed.
    Returns ``{layer name: pattern}`` with each pattern shaped like the layer's weight, on the
    weight's device and dtype (plain tensors, so ``torch.save`` can cache them).
    """
    if estimator not in ("linear", "relu"):
        raise ValueError(f"estimator must be 'linear' or 'relu', got {estimator!r}")
    layers = L.sequential_layers(model)
    dense = L.dense_layers(layers)
    from saliency_sanity.attribution import model_guard  # the package imports this module

    stats = {name: _Stats() for name, _ in dense}
    kinds = {name: estimator if _feeds_relu(layers, name) else "linear" for name, _ in dense}
    with model_guard(model):  # eval mode (Dropout off), restored afterwards
        for batch in _batches(x_train, batch_size):
            inputs, _ = L.record(layers, batch)
            for (name, layer), a in zip(layers, inputs, strict=True):
                if name in stats:
                    _update(stats[name], layer, a, kinds[name])
    if not stats or stats[dense[0][0]].n == 0:
        raise ValueError("fit_patterns got no training inputs (or the model has no dense layer)")
    return {
        name: stats[name]
        .pattern(layer.weight.detach().double().flatten(1))
        .reshape(layer.weight.shape)
        .to(layer.weight)
        for name, layer in dense
    }


def _feeds_relu(layers: L.Layers, name: str) -> bool:
    names = [n for n, _ in layers]
    for _, layer in layers[names.index(name) + 1 :]:
        if not isinstance(layer, nn.Dropout | nn.Identity):
            return isinstance(layer, nn.ReLU)
    return False


def _update(stats: _Stats, layer: nn.Module, a: torch.Tensor, estimator: str) -> None:
    w = layer.weight.detach()
    with torch.no_grad():
        xr = _as_rows(layer, a).double()
        y = xr @ w.double().flatten(1).T
        if estimator == "linear":
            mask = torch.ones_like(y)
        else:
            z = _output_rows(layer, L.forward(layer, a, w, layer.bias)).double()
            mask = (z > 0).double()
    stats.update(xr, y, mask)


def pattern_backprop(model, x, target, patterns: Patterns | None, attribution: bool):
    if patterns is None:
        raise ValueError(
            "pattern methods need patterns=fit_patterns(model, x_train) (kindermans2018)"
        )
    layers = L.sequential_layers(model)
    for name, layer in L.dense_layers(layers):
        p = patterns.get(name)
        if p is None or p.shape != layer.weight.shape:
            got = None if p is None else tuple(p.shape)
            raise ValueError(
                f"patterns do not fit the model: layer {name!r} has weight "
                f"{tuple(layer.weight.shape)}, pattern {got}; fit them on this model"
            )
    inputs, logits = L.record(layers, x.detach())

    def dense(name, layer, a, r):
        p = patterns[name].to(layer.weight)
        weight = layer.weight.detach() * p if attribution else p
        return L.transpose(layer, r, weight, a.shape)

    with torch.no_grad():
        r = L.propagate(layers, inputs, L.seed(logits, target), dense, mode="gradient")
    return L.finish(r, target)


@register("pattern_net", label="PatternNet (kindermans2018)", patterns=None)
def pattern_net(model, x, target, patterns=None):
    """Signal estimate: backprop of the target logit with weights → patterns, ReLU-gated."""
    return pattern_backprop(model, x, target, patterns, attribution=False)


@register("pattern_attribution", label="PatternAttribution (kindermans2018)", patterns=None)
def pattern_attribution(model, x, target, patterns=None):
    """Deep Taylor with the pattern root point: backprop with weights w ⊙ a, ReLU-gated."""
    return pattern_backprop(model, x, target, patterns, attribution=True)


@register_all_classes("pattern_net")
def _pattern_net_all(model, x, patterns=None):
    return pattern_backprop(model, x, None, patterns, attribution=False)


@register_all_classes("pattern_attribution")
def _pattern_attribution_all(model, x, patterns=None):
    return pattern_backprop(model, x, None, patterns, attribution=True)
