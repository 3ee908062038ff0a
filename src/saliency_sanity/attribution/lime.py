"""LIME (ribeiro2016, "Why should I trust you?", Sec. 3.3-3.4, eq. 1 with the sparse-linear K-LASSO
replaced by the library's default ridge on all features).

Interpretable features are square patches (:mod:`._shapley`); ``samples`` random binary masks
(each feature on with probability 1/2, the first mask all on, as the lime library), features off
set to zero; the model's ``output`` ("probability": softmax, as the paper explains classifier
probabilities; or "logit") is fitted by ridge regression with intercept (``alpha`` = 1, sklearn
``Ridge`` as lime) weighted by the lime kernel π(z) = sqrt(exp(-d(z, 1)² / width²)), d the cosine
distance to the all-on mask and width 0.25 (lime_image's default). All classes come from the
same samples. Deviation: lime_image fills off-features with the segment mean by default; we use
the zero baseline shared with KernelSHAP and DASP.
"""

from __future__ import annotations

import torch

from saliency_sanity.attribution import _shapley as sh
from saliency_sanity.attribution._utils import DEFAULT_CHUNK
from saliency_sanity.attribution.registry import pick, register


def weighted_ridge(z: torch.Tensor, y: torch.Tensor, w: torch.Tensor, alpha: float) -> torch.Tensor:
    """argmin_β,c Σ_s w_s (y_s - z_s β - c)² + α |β|²; returns β (M, K) (sklearn Ridge)."""
    sw = w.sqrt()[:, None]
    zm, ym = (w @ z) / w.sum(), (w @ y) / w.sum()
    zc, yc = (z - zm) * sw, (y - ym) * sw
    gram = zc.T @ zc + alpha * torch.eye(z.shape[1], dtype=z.dtype)
    return torch.linalg.solve(gram, zc.T @ yc)


@register("lime")
def lime(model, x, target=None, patch=4, samples=1000, kernel_width=0.25, alpha=1.0,
         output="probability", seed=0, chunk=DEFAULT_CHUNK):  # fmt: skip
    """LIME map for ``target``; every class is fitted on the same samples (target None: all,
    (N, K, *x.shape[1:]))."""
    if output not in ("probability", "logit"):
        raise ValueError(f"output must be 'probability' or 'logit', got {output!r}")
    if samples < 2:
        raise ValueError(f"samples must be >= 2, got {samples}")
    ids, m, counts = sh.features(x.shape, patch)
    masks = torch.randint(0, 2, (samples, m), generator=sh.generator(seed)).double()
    masks[0] = 1
    cos = masks.sum(1) / (masks.norm(dim=1).clamp(min=1e-12) * m**0.5)
    weights = torch.exp(-((1 - cos) ** 2) / kernel_width**2).sqrt()
    maps = []
    for xi in x:
        y = sh.evaluate(model, xi, masks, ids, chunk)
        y = y.softmax(1) if output == "probability" else y
        maps.append(sh.to_pixels(weighted_ridge(masks, y, weights, alpha).T, ids, counts))
    return pick(torch.stack(maps).to(x), target)
