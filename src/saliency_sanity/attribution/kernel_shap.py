"""KernelSHAP (lundberg2017, "A unified approach to interpreting model predictions", Thm. 2).

Shapley values of the patch features (:mod:`._shapley`; zero baseline) as the weighted least
squares fit of the logits on coalitions z with the Shapley kernel
π(z) = (M - 1) / (C(M, |z|) |z| (M - |z|)), under the efficiency constraint
Σ φ = f(x) - f(0), enforced by eliminating the last feature (as the shap library). With
``samples >= 2^M - 2`` every coalition is enumerated with its exact weight and the result is
the exact Shapley value; otherwise sizes are drawn with probability ∝ the kernel's size
distribution, subsets uniformly, in complementary pairs (shap's paired sampling), with equal
weights. ``samples=None`` uses shap's default 2 M + 2048. All classes share the samples.
"""

from __future__ import annotations

import itertools
import math

import torch

from saliency_sanity.attribution import _shapley as sh
from saliency_sanity.attribution._utils import DEFAULT_CHUNK
from saliency_sanity.attribution.registry import pick, register


def _enumerate(m: int) -> tuple[torch.Tensor, torch.Tensor]:
    rows = [z for z in itertools.product((0.0, 1.0), repeat=m) if 0 < sum(z) < m]
    masks = torch.tensor(rows, dtype=torch.float64)
    s = masks.sum(1)
    sizes = torch.tensor([math.comb(m, int(k)) for k in s], dtype=torch.float64)
    return masks, (m - 1) / (sizes * s * (m - s))


def _sample(m: int, samples: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    sizes = torch.arange(1, m, dtype=torch.float64)
    p = (m - 1) / (sizes * (m - sizes))
    k = torch.multinomial(p / p.sum(), (samples + 1) // 2, replacement=True, generator=gen) + 1
    order = torch.rand(len(k), m, generator=gen).argsort(1)
    half = (order < k[:, None]).double()  # a uniform random subset of size k per row
    masks = torch.cat([half, 1 - half])[:samples]
    return masks, torch.ones(len(masks), dtype=torch.float64)


def design(m: int, samples: int | None, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Coalition masks (S, M) and their regression weights (S,)."""
    samples = 2 * m + 2048 if samples is None else samples
    if m < 2:
        raise ValueError("KernelSHAP needs at least 2 features")
    if m <= 20 and samples >= 2**m - 2:
        return _enumerate(m)
    if samples < 2:
        raise ValueError(f"samples must be >= 2, got {samples}")
    return _sample(m, samples, sh.generator(seed))


def constrained_wls(z, y, w, total) -> torch.Tensor:
    """min Σ_s w_s (y_s - z_s φ)² subject to Σ φ = total; returns φ (M, K)."""
    a = z[:, :-1] - z[:, -1:]
    t = y - z[:, -1:] * total
    sw = w.sqrt()[:, None]
    head = torch.linalg.lstsq(a * sw, t * sw).solution
    return torch.cat([head, total - head.sum(0, keepdim=True)])


@register("kernel_shap")
def kernel_shap(model, x, target=None, patch=4, samples=None, seed=0, chunk=DEFAULT_CHUNK):
    """KernelSHAP map for ``target``; every class is fitted on the same samples (target None:
    all, (N, K, *x.shape[1:]))."""
    ids, m, counts = sh.features(x.shape, patch)
    masks, weights = design(m, samples, seed)
    ends = torch.stack([torch.zeros(m), torch.ones(m)]).double()
    maps = []
    for xi in x:
        f0, fx = sh.evaluate(model, xi, ends, ids, chunk)
        y = sh.evaluate(model, xi, masks, ids, chunk) - f0
        maps.append(sh.to_pixels(constrained_wls(masks, y, weights, fx - f0).T, ids, counts))
    return pick(torch.stack(maps).to(x), target)
