"""Layer-wise Relevance Propagation: one engine, rules declared on it.

bach2015 (LRP); montavon2019 ("Layer-wise relevance propagation: an overview", Sec. 10.2,
eqs. for LRP-0, LRP-ε, LRP-γ, z^B; αβ from bach2015 eq. 60); samek2020 (composite recipe).

The relevance at the output is the target logit (one-hot × logit, as zennit when given that
output gradient). A rule maps the relevance R_k of a dense layer's outputs to its inputs:

* LRP-0 / LRP-ε: R_j = Σ_k a_j w_jk / (z_k + ε sign z_k) R_k, z_k = Σ_j a_j w_jk + b_k
  (montavon2019 eqs. 10.1-10.2);
* LRP-γ: weights w + γ w⁺ (montavon2019 eq. 10.3), in zennit 0.5's generalised form that also
  handles negative inputs and outputs (positive and negative z_k use their own denominators);
* αβ: R_j = Σ_k (α (a_j w_jk)⁺ / z_k⁺ - β (a_j w_jk)⁻ / z_k⁻) R_k, α - β = 1 (bach2015 eq. 60;
  the bias enters z⁺ / z⁻ with its sign, as zennit);
* z^B: R_j = Σ_k (a_j w_jk - l_j w_jk⁺ - h_j w_jk⁻) / Σ_j (...) R_k (montavon2017 / 2019
  eq. 10.5), for inputs in the box [l, h].

Each rule is evaluated as a "modified gradient" (x ⊙ J_mod^T (R / z_mod)) with explicit
transposed linear maps, batched over the batch and, for all classes, over classes: one forward
pass and one backward pass per rule term. Every denominator is stabilised by ``stabilizer``
(1e-6 added with the sign, zennit's default) unless the rule's own ε replaces it. ReLUs pass
relevance through; max-pooling is winner-take-all by default (the gradient; zennit's default);
``maxpool="average"`` treats it as average pooling (samek2020's VGG recipe); average pooling is
proportional (LRP-0, zennit's ``Norm``).

Registered (defaults): ``lrp_0`` (stabilizer 1e-6); ``lrp_epsilon`` (epsilon 0.25, relative:
ε = 0.25 × RMS of the layer's pre-activations, per sample, as montavon2019's VGG recipe and its
tutorial code; an absolute ε depends on each layer's scale, and zennit's 1e-6 default is only a
stabilizer; ``relative=False`` gives zennit's ``Epsilon(epsilon)``); ``lrp_gamma`` (0.25);
``lrp_alpha_beta`` (α = 2, β = 1); ``lrp_composite`` (samek2020: z^B with [low, high] = [0, 1]
at the first dense layer, γ = 0.25 on the other convolutions, relative ε = 0.25 on dense layers;
deviation: the recipe's LRP-0 for the top layers is not singled out). All accept ``maxpool``
and have a shared-forward all-classes variant.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from saliency_sanity.attribution import _lrp_layers as L
from saliency_sanity.attribution._utils import DEFAULT_CHUNK, resolve_chunk
from saliency_sanity.attribution.registry import register

#: rule(layer, a, R) -> relevance at the layer's input
Rule = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]
#: composite(name, layer, index among dense layers) -> rule for that layer
Composite = Callable[[str, nn.Module, int], Rule]


def _params(layer: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    w = layer.weight.detach()
    return w, L.bias_of(layer, w)


def epsilon_rule(layer, a, r, epsilon: float = 1e-6, relative: bool = False) -> torch.Tensor:
    """LRP-ε (montavon2019 eq. 10.2); ``relative``: ε × RMS of z over the layer, per sample
    (montavon2019 Sec. 10.2.1 "ε = 0.25 std"; zennit ``Stabilizer(norm_scale=True)``)."""
    w, b = _params(layer)
    z = L.forward(layer, a, w, b)
    if relative:
        epsilon = epsilon * z.pow(2).mean(dim=tuple(range(1, z.dim())), keepdim=True).sqrt()
    return a * L.transpose(layer, r / L.stabilize(z, epsilon), w, a.shape)


def _split_rule(layer, a, r, wp, wn, bp, bn, stabilizer, mask_by_z: bool):
    """Shared αβ / γ computation: positive and negative parts, each with its own denominator.

    Returns (relevance via the positive denominator, via the negative denominator). The terms
    of negative inputs are skipped when there are none (after a ReLU), which halves the work.
    """
    ap, an = a.clamp(min=0), a.clamp(max=0)
    signed = bool((a < 0).any())
    z_pos, z_neg = L.forward(layer, ap, wp, bp), L.forward(layer, ap, wn, bn)
    if signed:
        z_pos, z_neg = z_pos + L.forward(layer, an, wn), z_neg + L.forward(layer, an, wp)
    s_pos, s_neg = r / L.stabilize(z_pos, stabilizer), r / L.stabilize(z_neg, stabilizer)
    if mask_by_z:  # zennit's generalised γ: outputs z > 0 use z_pos, z < 0 use z_neg
        z = L.forward(layer, a, *_params(layer))
        s_pos, s_neg = s_pos * (z > 0).to(z), s_neg * (z < 0).to(z)
    t = partial(L.transpose, layer, in_shape=a.shape)
    pos, neg = ap * t(s_pos, wp), ap * t(s_neg, wn)
    if signed:
        pos, neg = pos + an * t(s_pos, wn), neg + an * t(s_neg, wp)
    return pos, neg


def gamma_rule(layer, a, r, gamma: float = 0.25, stabilizer: float = 1e-6) -> torch.Tensor:
    """LRP-γ (montavon2019 eq. 10.3), generalised to signed inputs as zennit 0.5 ``Gamma``."""
    w, b = _params(layer)
    wp, wn = w + gamma * w.clamp(min=0), w + gamma * w.clamp(max=0)
    bp, bn = b + gamma * b.clamp(min=0), b + gamma * b.clamp(max=0)
    pos, neg = _split_rule(layer, a, r, wp, wn, bp, bn, stabilizer, mask_by_z=True)
    return pos + neg


def alpha_beta_rule(layer, a, r, alpha=2.0, beta=1.0, stabilizer=1e-6) -> torch.Tensor:
    """LRP-αβ (bach2015 eq. 60; montavon2019 Sec. 10.2.3), α - β = 1."""
    w, b = _params(layer)
    wp, wn, bp, bn = w.clamp(min=0), w.clamp(max=0), b.clamp(min=0), b.clamp(max=0)
    pos, neg = _split_rule(layer, a, r, wp, wn, bp, bn, stabilizer, mask_by_z=False)
    return alpha * pos - beta * neg


def zbox_rule(layer, a, r, low=0.0, high=1.0, stabilizer: float = 1e-6) -> torch.Tensor:
    """z^B box rule for inputs in [low, high] (montavon2017 Sec. 4; montavon2019 eq. 10.5)."""
    w, b = _params(layer)
    lo = torch.as_tensor(low).to(a).expand_as(a)
    hi = torch.as_tensor(high).to(a).expand_as(a)
    wp, wn = w.clamp(min=0), w.clamp(max=0)
    z = L.forward(layer, a, w, b) - L.forward(layer, lo, wp, b.clamp(min=0))
    z = z - L.forward(layer, hi, wn, b.clamp(max=0))
    s = r / L.stabilize(z, stabilizer)
    t = partial(L.transpose, layer, s, in_shape=a.shape)
    return a * t(w) - lo * t(wp) - hi * t(wn)


def lrp(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor | None,
    composite: Composite,
    maxpool: str = "winner",
    stabilizer: float = 1e-6,
    chunk: int | None = DEFAULT_CHUNK,
) -> torch.Tensor:
    """The engine: relevance maps of ``x``'s shape, or (N, K, ...) when ``target`` is None;
    at most ``chunk`` relevance rows per pass (None: chosen for the model, ``_utils``)."""
    L.check_maxpool(maxpool)
    layers = L.sequential_layers(model)
    index = {name: i for i, (name, _) in enumerate(L.dense_layers(layers))}

    def dense(name, layer, a, r):
        return composite(name, layer, index[name])(layer, a, r)

    def maps(xs: torch.Tensor, ts: torch.Tensor | None) -> torch.Tensor:
        inputs, logits = L.record(layers, xs)
        with torch.no_grad():
            r = L.propagate(
                layers, inputs, L.seed(logits, ts), dense, maxpool=maxpool, stabilizer=stabilizer
            )
        return L.finish(r, ts)

    x = x.detach()
    return L.by_images(maps, layers, x, target, resolve_chunk(chunk, model, x))


def uniform(rule: Rule) -> Composite:
    """The same rule on every dense layer."""
    return lambda name, layer, i: rule


def samek_composite(epsilon, relative, gamma, low, high, stabilizer) -> Composite:
    """z^B at the first dense layer, LRP-γ on convolutions, LRP-ε on dense layers (samek2020)."""

    def pick(name: str, layer: nn.Module, i: int) -> Rule:
        if i == 0:
            return partial(zbox_rule, low=low, high=high, stabilizer=stabilizer)
        if isinstance(layer, nn.Conv2d):
            return partial(gamma_rule, gamma=gamma, stabilizer=stabilizer)
        return partial(epsilon_rule, epsilon=epsilon, relative=relative)

    return pick


@register("lrp_0", label="LRP-0 (bach2015; montavon2019 eq. 10.1)")
def lrp_0(model, x, target=None, stabilizer=1e-6, maxpool="winner", chunk=DEFAULT_CHUNK):
    rule = partial(epsilon_rule, epsilon=stabilizer)
    return lrp(model, x, target, uniform(rule), maxpool, stabilizer, chunk)


@register("lrp_epsilon", label="LRP-ε (montavon2019 eq. 10.2; ε = 0.25 RMS(z))")
def lrp_epsilon(
    model, x, target=None, epsilon=0.25, relative=True, stabilizer=1e-6, maxpool="winner",
    chunk=DEFAULT_CHUNK,
):  # fmt: skip
    rule = partial(epsilon_rule, epsilon=epsilon, relative=relative)
    return lrp(model, x, target, uniform(rule), maxpool, stabilizer, chunk)


@register("lrp_gamma", label="LRP-γ (montavon2019 eq. 10.3)")
def lrp_gamma(
    model, x, target=None, gamma=0.25, stabilizer=1e-6, maxpool="winner", chunk=DEFAULT_CHUNK
):
    rule = partial(gamma_rule, gamma=gamma, stabilizer=stabilizer)
    return lrp(model, x, target, uniform(rule), maxpool, stabilizer, chunk)


@register("lrp_alpha_beta", label="LRP-α2β1 (bach2015 eq. 60)")
def lrp_alpha_beta(
    model, x, target=None, alpha=2.0, beta=1.0, stabilizer=1e-6, maxpool="winner",
    chunk=DEFAULT_CHUNK,
):  # fmt: skip
    if alpha < 0 or beta < 0 or abs(alpha - beta - 1.0) > 1e-12:
        raise ValueError(
            f"alpha-beta rule needs alpha, beta >= 0 and alpha - beta = 1, got {alpha}, {beta}"
        )
    rule = partial(alpha_beta_rule, alpha=alpha, beta=beta, stabilizer=stabilizer)
    return lrp(model, x, target, uniform(rule), maxpool, stabilizer, chunk)


@register("lrp_composite", label="LRP composite z^B / γ / ε (samek2020)")
def lrp_composite(
    model, x, target=None, epsilon=0.25, relative=True, gamma=0.25, low=0.0, high=1.0,
    stabilizer=1e-6, maxpool="winner", chunk=DEFAULT_CHUNK,
):  # fmt: skip
    comp = samek_composite(epsilon, relative, gamma, low, high, stabilizer)
    return lrp(model, x, target, comp, maxpool, stabilizer, chunk)
