"""SmoothGrad (Smilkov et al. 2017) and VarGrad (Adebayo et al. 2018): wrappers that average, or
take the variance of, any registered method over noisy copies of the input.

IG-SG (adebayo2018) is ``smoothgrad`` with ``base="integrated_gradients"``. Extra keyword
arguments go to the base method (on top of its own defaults), e.g. ``steps=50``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from saliency_sanity.attribution._utils import (
    DEFAULT_CHUNK,
    Rows,
    grid_rows,
    per_image,
    resolve_chunk,
)
from saliency_sanity.attribution.registry import METHODS, Method, register

#: run(noisy rows, the image of each row) -> maps, one per row
Runner = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class _Noise:
    """ε ~ N(0, σ_i²) with σ_i = noise · (max x_i - min x_i), drawn per image, in image order,
    from a CPU ``torch.Generator`` seeded with ``seed`` and then moved to x's device: the draws
    are the same on every device and for every chunk size."""

    def __init__(self, x: torch.Tensor, samples: int, noise: float, seed: int) -> None:
        flat = x.flatten(1)
        self.sigma = per_image(noise * (flat.amax(1) - flat.amin(1)), x)
        self.generator = torch.Generator().manual_seed(seed)
        self.shape, self.dtype, self.device = (samples, *x.shape[1:]), x.dtype, x.device
        self.cache: dict[int, torch.Tensor] = {}
        self.next = 0

    def __call__(self, rows: Rows) -> torch.Tensor:
        """The noise of each row (image, sample) of ``rows`` (batches in increasing order)."""
        for i in list(self.cache):
            if i < rows.items.start:
                del self.cache[i]
        while self.next < rows.items.stop:
            eps = torch.randn(self.shape, generator=self.generator, dtype=self.dtype)
            self.cache[self.next] = eps.to(self.device)
            self.next += 1
        eps = torch.stack([self.cache[i] for i in range(rows.items.start, rows.items.stop)])
        return eps[rows.local, rows.sample] * self.sigma[rows.item]


def _merge(
    mean: torch.Tensor, m2: torch.Tensor, count: torch.Tensor, maps: torch.Tensor, rows: Rows
) -> None:
    """Chan et al.'s pairwise update, in place: each image's running mean, sum of squared
    deviations M2 and count (over its earlier batches) merged with the run of its maps in this
    batch (n_b rows, 1 <= n_b <= samples; an image may be cut between two batches)."""
    span, local = rows.items, rows.local
    shape = (-1, *([1] * (maps.dim() - 1)))
    n_b = torch.bincount(local, minlength=span.stop - span.start).to(maps.dtype).reshape(shape)
    sums = maps.new_zeros(n_b.shape[0], *maps.shape[1:])
    block_mean = sums.index_add_(0, local, maps) / n_b
    block_m2 = torch.zeros_like(sums).index_add_(0, local, (maps - block_mean[local]) ** 2)
    n_a = count[span].reshape(shape)
    delta = block_mean - mean[span]
    mean[span] += delta * (n_b / (n_a + n_b))
    m2[span] += block_m2 + delta**2 * (n_a * n_b / (n_a + n_b))
    count[span] += n_b.flatten()


def noisy_moments(
    run: Runner, x: torch.Tensor, samples: int, noise: float, seed: int, chunk: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and population variance over ``samples`` noisy copies of each image of
    ``run(x + ε, image of each row)``, in batches of ``chunk`` rows that may cut an image's
    samples (:func:`grid_rows`), merged with Chan et al.'s pairwise update (stable in float32,
    :func:`_merge`)."""
    if samples < 1 or noise < 0:
        raise ValueError(f"need samples >= 1 and noise >= 0, got {samples} and {noise}")
    draw = _Noise(x, samples, noise, seed)
    mean = m2 = count = None
    for rows in grid_rows(x.shape[0], samples, chunk, x.device):
        maps = run(x[rows.item] + draw(rows), rows.item)
        if mean is None:
            mean = maps.new_zeros(x.shape[0], *maps.shape[1:])
            m2, count = torch.zeros_like(mean), maps.new_zeros(x.shape[0])
        _merge(mean, m2, count, maps, rows)
    return mean, m2 / samples


def _base(base: str, params: dict[str, Any], chunk: int) -> tuple[Method, dict[str, Any]]:
    try:
        method = METHODS[base]
    except KeyError:
        raise KeyError(
            f"unknown base attribution method {base!r}; known: {sorted(METHODS)}"
        ) from None
    params = {**method.defaults, **params}
    if "chunk" in inspect.signature(method.fn).parameters and params.get("chunk") is None:
        params["chunk"] = chunk  # the noise tunnel's rows per batch, resolved once
    return method, params


def _runner(
    model: nn.Module, base: str, target: torch.Tensor | None, chunk: int, params: dict
) -> Runner:
    """Maps of the base method on noisy rows: each row's target repeated over its samples, or
    every class (target None)."""
    method, params = _base(base, params, chunk)

    def run(noisy: torch.Tensor, item: torch.Tensor) -> torch.Tensor:
        return method.fn(model, noisy, None if target is None else target[item], **params)

    return run


#: the statistics of the noise tunnel over the noisy maps: SmoothGrad's and VarGrad's
STATISTICS = ("mean", "variance")


@register("smoothgrad")
@register("vargrad", statistic="variance")
def noise_tunnel(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor | None = None,
    base: str = "gradient",
    samples: int = 50,
    noise: float = 0.15,
    seed: int = 0,
    statistic: str = "mean",
    chunk: int | None = DEFAULT_CHUNK,
    **params: Any,
) -> torch.Tensor:
    """SmoothGrad and VarGrad: a statistic of the base method's maps over ``samples`` noisy
    copies x + ε_j, ε_j ~ N(0, σ²), σ = noise · (max x - min x) per image.

    ``statistic="mean"``, SmoothGrad: R = 1/n Σ_j R_base(x + ε_j) (smilkov2017, Eq. 3 and
    Sec. 4.1 "noise level"). ``statistic="variance"``, VarGrad: R = 1/n Σ_j (R_base(x + ε_j) -
    R̄)², the population variance (adebayo2018, Sec. 3 "VarGrad"; Captum's
    ``NoiseTunnel(nt_type="vargrad")`` computes E[R²] - E[R]², the same quantity). Captum's
    ``NoiseTunnel`` takes an absolute ``stdevs`` instead and defaults to 5 samples; PAIR and
    Zennit use the fraction of the range. Extra keyword arguments go to the base method; target
    None: every class of the base method from the same noisy inputs.
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    chunk = resolve_chunk(chunk, model, x)
    run = _runner(model, base, target, chunk, params)
    return noisy_moments(run, x, samples, noise, seed, chunk)[STATISTICS.index(statistic)]
