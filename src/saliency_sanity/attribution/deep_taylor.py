"""Deep Taylor decomposition (montavon2017) with the root points used by kindermans2017/2018.

* ``root="zero"``: the root point x0 = 0 of every neuron gives the z-rule, R_j = Σ_k a_j w_jk /
  z_k R_k (montavon2017 Sec. 4.1), i.e. LRP-0; on ReLU nets it equals Gradient × Input
  (kindermans2017, Sec. 3; also with biases, which then absorb relevance).
* ``root="pattern"``: the root point x0 = x - a (w^T x) along the learned pattern a
  (kindermans2018 Sec. 4), which is PatternAttribution; needs ``patterns=fit_patterns(...)``.

Deviation: montavon2017 derives the z⁺ rule for hidden ReLU layers (root on the positive
orthant); this registry exposes that as ``lrp_alpha_beta`` with alpha=1, beta=0.
"""

from __future__ import annotations

from functools import partial

from saliency_sanity.attribution import lrp
from saliency_sanity.attribution._utils import DEFAULT_CHUNK
from saliency_sanity.attribution.patterns import pattern_backprop
from saliency_sanity.attribution.registry import register

ROOTS = ("zero", "pattern")


def _deep_taylor(model, x, target, root, patterns, stabilizer, chunk):
    if root == "zero":
        rule = partial(lrp.epsilon_rule, epsilon=stabilizer)  # z-rule: ε only as stabilizer
        return lrp.lrp(model, x, target, lrp.uniform(rule), "winner", stabilizer, chunk)
    if root == "pattern":
        return pattern_backprop(model, x, target, patterns, attribution=True, chunk=chunk)
    raise ValueError(f"deep_taylor root must be one of {ROOTS}, got {root!r}")


@register("deep_taylor")
def deep_taylor(
    model, x, target=None, root="zero", patterns=None, stabilizer=1e-6, chunk=DEFAULT_CHUNK
):
    """Deep Taylor decomposition with the ``"zero"`` or ``"pattern"`` root point (target None:
    every class)."""
    return _deep_taylor(model, x, target, root, patterns, stabilizer, chunk)
