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
``lrp_alpha_beta`` (α = 2, β = 1); ``lrp_composite`` (z^B at the pixels, γ in the lower
layers, ε above them, ε or LRP-0 at the top; the defaults are the MNIST figure's composite and
:data:`MONTAVON_VGG16` is montavon2019's VGG-16 recipe: see :func:`lrp_composite` for which
layer gets which rule). All accept ``maxpool`` and have a shared-forward all-classes variant.
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
#: pools(name, pooling layer, index of the last dense layer below it) -> its rule, or None for
#: the proportional LRP-0 default (used where pooling is averaged, ``maxpool="average"``)
PoolComposite = Callable[[str, nn.Module, int], Rule | None]


def _params(layer: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    w = layer.weight.detach()
    return w, L.bias_of(layer, w)


def epsilon_rule(layer, a, r, epsilon: float = 1e-6, relative: bool = False) -> torch.Tensor:
    """LRP-ε (montavon2019 eq. 10.2); ``relative``: ε × RMS of z over the layer, per sample
    (montavon2019 Sec. 10.2.1 "ε = 0.25 std"; zennit ``Stabilizer(norm_scale=True)``)."""
    w, b = _params(layer)
    z = L.forward(layer, a, w, b)
    if relative:
        epsilon = epsilon * _rms(z)
    return a * L.transpose(layer, r / L.stabilize(z, epsilon), w, a.shape)


def _rms(z: torch.Tensor) -> torch.Tensor:
    """RMS of z over all but the batch axis, (N, 1, ...) (zennit's ``norm_scale``)."""
    return z.pow(2).mean(dim=tuple(range(1, z.dim())), keepdim=True).sqrt()


def pool_epsilon_rule(layer, a, r, epsilon: float = 0.25, relative: bool = True) -> torch.Tensor:
    """LRP-ε through a pooling layer treated as average pooling: R_j = Σ_k a_j p_jk /
    (z_k + ε sign z_k) R_k with the pooling weights p and z = pool(a); ``relative`` as in
    :func:`epsilon_rule` (ε × RMS of the pooled z, per sample)."""
    fn = L.avg_pool_fn(layer)
    if relative:
        epsilon = epsilon * _rms(fn(a))
    return L.proportional(fn, a, r, epsilon)


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
    pools: PoolComposite | None = None,
) -> torch.Tensor:
    """The engine: relevance maps of ``x``'s shape, or (N, K, ...) when ``target`` is None;
    at most ``chunk`` relevance rows per pass (None: chosen for the model, ``_utils``).
    ``pools`` picks the rule of each averaged pooling layer (None: proportional, LRP-0)."""
    L.check_maxpool(maxpool)
    layers = L.sequential_layers(model)
    index = {name: i for i, (name, _) in enumerate(L.dense_layers(layers))}
    below, last = {}, -1  # pooling layer -> index of the last dense layer below it
    for name, _ in layers:
        below[name], last = last, index.get(name, last)

    def dense(name, layer, a, r):
        return composite(name, layer, index[name])(layer, a, r)

    def pool(name, layer, a, r):
        rule = pools(name, layer, below[name])
        if rule is None:
            return L.proportional(L.avg_pool_fn(layer), a, r, stabilizer)
        return rule(layer, a, r)

    def maps(xs: torch.Tensor, ts: torch.Tensor | None) -> torch.Tensor:
        inputs, logits = L.record(layers, xs)
        with torch.no_grad():
            r = L.propagate(layers, inputs, L.seed(logits, ts), dense, maxpool=maxpool,
                            stabilizer=stabilizer,
                            pool_rule=None if pools is None else pool)  # fmt: skip
        return L.finish(r, ts)

    x = x.detach()
    return L.by_images(maps, layers, x, target, resolve_chunk(chunk, model, x))


def uniform(rule: Rule) -> Composite:
    """The same rule on every dense layer."""
    return lambda name, layer, i: rule


#: :func:`lrp_composite`'s parameters for montavon2019's VGG-16 recipe on torchvision's
#: ``vgg16`` (dense layers 0-6 = conv1_1..conv3_3, 7-12 = conv4_1..conv5_3, 13-15 = the
#: classifier); the box ``low``/``high`` comes from the input normalisation
#: (:func:`saliency_sanity.imagenet.normalization_box`)
MONTAVON_VGG16 = {"lower": 7, "top": "zero", "maxpool": "average"}
#: rules of :func:`lrp_composite`'s top (Linear) layers
TOP_RULES = ("epsilon", "zero")


def samek_composite(
    epsilon, relative, gamma, low, high, stabilizer, lower=None, top="epsilon"
) -> Composite:
    """z^B at dense layer 0; LRP-γ on the convolutions among dense layers 1..lower-1 (all when
    ``lower`` is None), LRP-ε on the convolutions above; Linear layers: LRP-ε (``top=
    "epsilon"``) or LRP-0 (``top="zero"``, ε = ``stabilizer``)."""

    def pick(name: str, layer: nn.Module, i: int) -> Rule:
        if i == 0:
            return partial(zbox_rule, low=low, high=high, stabilizer=stabilizer)
        if isinstance(layer, nn.Conv2d) and (lower is None or i < lower):
            return partial(gamma_rule, gamma=gamma, stabilizer=stabilizer)
        if isinstance(layer, nn.Linear) and top == "zero":
            return partial(epsilon_rule, epsilon=stabilizer)
        return partial(epsilon_rule, epsilon=epsilon, relative=relative)

    return pick


def samek_pools(epsilon, relative, lower=None) -> PoolComposite:
    """Max-pooling layers above the γ block (the dense layer below them has index >= ``lower``)
    get that block's ε, as the tutorial code's loop gives each pooling layer its block's rule;
    every other averaged pooling layer gets LRP-0 (None)."""

    def pick(name: str, layer: nn.Module, below: int) -> Rule | None:
        if lower is not None and below >= lower and isinstance(layer, nn.MaxPool2d):
            return partial(pool_epsilon_rule, epsilon=epsilon, relative=relative)
        return None

    return pick


@register("lrp_0")
def lrp_0(model, x, target=None, stabilizer=1e-6, maxpool="winner", chunk=DEFAULT_CHUNK):
    rule = partial(epsilon_rule, epsilon=stabilizer)
    return lrp(model, x, target, uniform(rule), maxpool, stabilizer, chunk)


@register("lrp_epsilon")
def lrp_epsilon(
    model, x, target=None, epsilon=0.25, relative=True, stabilizer=1e-6, maxpool="winner",
    chunk=DEFAULT_CHUNK,
):  # fmt: skip
    rule = partial(epsilon_rule, epsilon=epsilon, relative=relative)
    return lrp(model, x, target, uniform(rule), maxpool, stabilizer, chunk)


@register("lrp_gamma")
def lrp_gamma(
    model, x, target=None, gamma=0.25, stabilizer=1e-6, maxpool="winner", chunk=DEFAULT_CHUNK
):
    rule = partial(gamma_rule, gamma=gamma, stabilizer=stabilizer)
    return lrp(model, x, target, uniform(rule), maxpool, stabilizer, chunk)


@register("lrp_alpha_beta")
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


@register("lrp_composite")
def lrp_composite(
    model, x, target=None, epsilon=0.25, relative=True, gamma=0.25, low=0.0, high=1.0,
    lower: int | None = None, top: str = "epsilon", stabilizer=1e-6, maxpool="winner",
    chunk=DEFAULT_CHUNK,
):  # fmt: skip
    """A composite of LRP rules by depth (montavon2019: G. Montavon, A. Binder, S. Lapuschkin,
    W. Samek, K.-R. Müller, "Layer-wise relevance propagation: an overview", in Explainable AI,
    LNCS 11700, 2019: the rules in Sec. 10.2.1, which rule at which layer in Sec. 10.3, z^B at
    the pixels in Sec. 10.3.2; samek2020 Sec. 4).

    Dense layers (Linear, Conv2d) are counted from the input, 0 = the first:

    * layer 0 (the pixels): z^B with the box [``low``, ``high``] (eq. 10.5);
    * a Conv2d with index < ``lower`` (every Conv2d when ``lower`` is None): LRP-γ (eq. 10.3);
    * a Conv2d with index >= ``lower``: LRP-ε (eq. 10.2), ε = ``epsilon`` × RMS of the layer's
      pre-activations per image when ``relative``;
    * a Linear layer (the top): LRP-ε as above (``top="epsilon"``) or LRP-0 (``top="zero"``,
      only ``stabilizer`` in the denominator);
    * pooling: with ``maxpool="average"`` max-pooling is treated as average pooling; a
      max-pooling layer above the γ block (after a convolution of index >= ``lower``) gets the
      same LRP-ε, every other pooling layer LRP-0 (proportional).

    The defaults (``lower=None, top="epsilon"``) are the MNIST figure's composite: z^B, γ on
    every other convolution, ε on the dense layers. :data:`MONTAVON_VGG16` (``lower=7,
    top="zero", maxpool="average"``) is Montavon's recipe for torchvision's VGG-16, as in the
    LRP tutorial's VGG-16 code (heatmapping.org; γ for ``features`` indices <= 16, ε for 17-30,
    LRP-0 for the classifier): conv1_1 (``features.0``) z^B; conv1_2 .. conv3_3 (``features.2,
    5, 7, 10, 12, 14``) γ = 0.25; pool1-pool3 (4, 9, 16) averaged, LRP-0; conv4_1 .. conv5_3
    (17, 19, 21, 24, 26, 28) ε = 0.25 RMS; pool4, pool5 (23, 30) averaged with ε = 0.25 RMS;
    ``avgpool`` LRP-0 (the identity at 224 px); ``classifier.0, 3, 6`` LRP-0. Differences
    from the tutorial's code: ε is added with the sign of z (eq. 10.2, as zennit), where the
    code adds it unsigned; the stabiliser is 1e-6 (zennit's) instead of 1e-9; γ uses zennit
    0.5's generalised form, which equals eq. 10.3 wherever relevance arrives (outputs z > 0).
    """
    if top not in TOP_RULES:
        raise ValueError(f"lrp_composite: top must be one of {TOP_RULES}, got {top!r}")
    if lower is not None and lower < 1:
        raise ValueError(f"lrp_composite: lower must be a positive layer count, got {lower!r}")
    comp = samek_composite(epsilon, relative, gamma, low, high, stabilizer, lower, top)
    pools = samek_pools(epsilon, relative, lower) if lower is not None else None
    return lrp(model, x, target, comp, maxpool, stabilizer, chunk, pools)
