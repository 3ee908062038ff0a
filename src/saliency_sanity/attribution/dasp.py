"""Deep Approximate Shapley Propagation (ancona2019, "Explaining deep neural networks with a
polynomial time algorithm for Shapley values approximation", ICML, Sec. 4, Alg. 1).

Shapley values with the zero baseline (absent players are 0), every input element a player:

    φ_i = 1/n Σ_k E_{S ⊂ P∖{i}, |S|=k} [f(S ∪ {i}) - f(S)]                       (eq. 4)

For each coalition size k the expectation is taken in a lightweight probabilistic network:

* first dense layer: z = Σ_{j ∈ S} w_j x_j + b over a random k-subset S of the N = n - 1 other
  players is modelled as Gaussian with mean k/N Σ_j w_j x_j + b and the finite-population
  variance k (N-k)/(N-1) σ², σ² the population variance of {w_j x_j}_{j ≠ i} (Sec. 4.2); the
  coalition with i adds w_i x_i to the mean;
* Linear / Conv2d: means through W (with bias), variances through W² (independence, Sec. 4.3);
* ReLU: rectified-Gaussian moment matching (mean and variance of max(0, z));
* max-pool: Clark's (1961) moments of the max of two Gaussians, applied pairwise over each
  window; average pooling: mean of means, variance / window area;

and φ_i ≈ mean over the chosen sizes of E[f(S ∪ {i})] - E[f(S)] at the logits: all classes at
once. ``coalition_sizes`` sizes evenly spaced over 0..n-1 (16 as the original; all n sizes when
``coalition_sizes >= n``). Each image costs 2 × n × sizes probabilistic passes, run in chunks
of ``chunk`` (player, size) pairs; after a conv first layer the ReLU / pooling layers up to
the next dense layer are evaluated only in the window a player can change (:class:`_LocalPlan`,
exact). Clark's pairwise max depends on the order of the window's elements (row-major here), as
any pairwise use of it does. Measured cost: see benchmarks/PROPAGATION.md.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from saliency_sanity.attribution import _lrp_layers as L
from saliency_sanity.attribution._utils import DEFAULT_CHUNK, resolve_chunk
from saliency_sanity.attribution.registry import pick, register

_RESHAPES = (nn.Flatten, nn.Dropout, nn.Identity)


_TINY = 1e-20  # variance floor: σ >= 1e-10 keeps m / σ finite and the zero-variance limit exact


def _normal(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Standard normal cdf and pdf at t."""
    pdf = (t * t).mul_(-0.5).exp_().mul_(1 / math.sqrt(2 * math.pi))
    return torch.erfc(t * (-1 / math.sqrt(2))).mul_(0.5), pdf


def relu_moments(m: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of max(0, z), z ~ N(m, v) (rectified Gaussian).

    σ is floored at 1e-10 so that v = 0 gives relu(m) and variance 0 without branches.
    """
    s = (v.clamp(min=0) + _TINY).sqrt()
    cdf, pdf = _normal(m / s)
    mean = m * cdf + s * pdf
    var = (m * m + v) * cdf + m * s * pdf - mean * mean
    return mean, var.clamp_(min=0)


def max_moments(m1, v1, m2, v2) -> tuple[torch.Tensor, torch.Tensor]:
    """Clark (1961): mean and variance of max(z1, z2) for independent Gaussians."""
    theta = (v1 + v2).clamp(min=0).add_(_TINY).sqrt_()
    cdf, pdf = _normal((m1 - m2) / theta)
    pdf.mul_(theta)
    mean = m2 + (m1 - m2) * cdf + pdf
    second = (m2 * m2 + v2) + (m1 * m1 + v1 - m2 * m2 - v2) * cdf + (m1 + m2) * pdf
    return mean, second.sub_(mean * mean).clamp_(min=0)


def _windows(layer: nn.MaxPool2d, t: torch.Tensor) -> list[torch.Tensor]:
    """The kernel's offsets as strided views (B, C, H_out, W_out) each (no padding)."""
    kh, kw = _pair(layer.kernel_size)
    sh, sw = _pair(layer.stride if layer.stride is not None else layer.kernel_size)
    ho, wo = (t.shape[-2] - kh) // sh + 1, (t.shape[-1] - kw) // sw + 1
    return [
        t[..., i : i + sh * (ho - 1) + 1 : sh, j : j + sw * (wo - 1) + 1 : sw]
        for i in range(kh)
        for j in range(kw)
    ]


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _max_pool(layer: nn.MaxPool2d, m, v):
    if _pair(layer.padding) != (0, 0) or _pair(layer.dilation) != (1, 1) or layer.ceil_mode:
        raise ValueError("DASP supports max-pooling without padding, dilation or ceil_mode")
    means, variances = _windows(layer, m), _windows(layer, v)
    mean, var = means[0], variances[0]
    for m2, v2 in zip(means[1:], variances[1:], strict=True):
        mean, var = max_moments(mean, var, m2, v2)
    return mean, var


def _avg_pool(layer, m, v):
    if isinstance(layer, nn.AdaptiveAvgPool2d):
        out = F.adaptive_avg_pool2d(m[:1, :1], layer.output_size).shape[-2:]
        if m.shape[-2] % out[0] or m.shape[-1] % out[1]:
            raise ValueError("DASP supports adaptive average pooling only to a divisor size")
        k = (m.shape[-2] // out[0], m.shape[-1] // out[1])
        layer = nn.AvgPool2d(k)
    if layer.padding not in (0, (0, 0)):
        raise ValueError("DASP supports average pooling without padding")
    kh, kw = _pair(layer.kernel_size)
    return layer(m), layer(v) / (kh * kw)


def propagate_moments(layers: L.Layers, m: torch.Tensor, v: torch.Tensor):
    """The lightweight probabilistic network (ancona2019 Sec. 4.3) on (means, variances)."""
    for _, layer in layers:
        if isinstance(layer, L.Dense):
            w = layer.weight.detach()
            bias = None if layer.bias is None else layer.bias.detach()
            m, v = L.forward(layer, m, w, bias), L.forward(layer, v, w * w)
        elif isinstance(layer, nn.ReLU):
            m, v = relu_moments(m, v)
        elif isinstance(layer, nn.MaxPool2d):
            m, v = _max_pool(layer, m, v)
        elif isinstance(layer, nn.AvgPool2d | nn.AdaptiveAvgPool2d):
            m, v = _avg_pool(layer, m, v)
        else:
            m, v = layer(m), layer(v)
    return m, v


def _split(layers: L.Layers) -> tuple[L.Layers, tuple[str, nn.Module], L.Layers]:
    for i, (name, layer) in enumerate(layers):
        if isinstance(layer, L.Dense):
            return layers[:i], (name, layer), layers[i + 1 :]
        if not isinstance(layer, _RESHAPES):
            raise ValueError(f"DASP needs a dense first layer; {name!r} is {type(layer).__name__}")
    raise ValueError("DASP needs a model with a dense (Linear or Conv2d) layer")


def coalition_grid(n_players: int, coalition_sizes: int) -> torch.Tensor:
    """Sizes k evenly spaced over 0..n-1 (all of them when coalition_sizes >= n)."""
    if coalition_sizes < 1:
        raise ValueError(f"coalition_sizes must be >= 1, got {coalition_sizes}")
    if coalition_sizes >= n_players:
        return torch.arange(n_players, dtype=torch.float64)
    return torch.linspace(0, n_players - 1, coalition_sizes, dtype=torch.float64).round()


def _moments(s1, s2, vi, b, ks, big_n):
    """First-layer moments from the full sums s1 = Σ w x, s2 = Σ w² x² and the player's own
    term vi = w_i x_i: means with / without the player and the shared variance, (P, S, ...)."""
    t1, t2 = (s1 - vi).unsqueeze(1), (s2 - vi * vi).unsqueeze(1)  # sums over the others
    k = ks.to(vi).reshape(1, -1, *([1] * (vi.dim() - 1)))
    mean_wo = k / big_n * t1 + b.reshape(1, 1, -1, *([1] * (vi.dim() - 2)))
    fpc = k * (big_n - k) / (big_n - 1) if big_n > 1 else torch.zeros_like(k)
    var = (fpc * (t2 / big_n - (t1 / big_n) ** 2)).clamp(min=0)
    return mean_wo + vi.unsqueeze(1), mean_wo, var


def _own_terms(layer, a0, players):
    """w_i x_i at the first layer's output for each player (P, out...)."""
    single = torch.zeros(len(players), a0.numel()).to(a0)
    single[torch.arange(len(players)), players] = a0.flatten()[players]
    return L.forward(layer, single.reshape(len(players), *a0.shape[1:]), layer.weight.detach())


def _first_layer(layer, a0):
    w = layer.weight.detach()
    b = torch.zeros(w.shape[0]).to(w) if layer.bias is None else layer.bias.detach()
    return L.forward(layer, a0, w), L.forward(layer, a0 * a0, w * w), b


def _dense_rows(first, rest, a0, players, ks, big_n):
    """Plain path: whole first-layer maps for every (player, size) row through the network."""
    s1, s2, b = _first_layer(first, a0)
    mean_w, mean_wo, var = _moments(s1, s2, _own_terms(first, a0, players), b, ks, big_n)
    means = torch.cat([mean_w, mean_wo]).flatten(0, 1)
    return propagate_moments(rest, means, torch.cat([var, var]).flatten(0, 1))[0]


def _dasp_image(layers, xi, coalition_sizes, pairs):
    pre, (_, first), rest = _split(layers)
    a0 = xi.unsqueeze(0)
    for _, layer in pre:
        a0 = layer(a0)
    n = a0.numel()
    if n < 2:
        raise ValueError("DASP needs at least 2 players (input elements)")
    ks = coalition_grid(n, coalition_sizes)
    local = _LocalPlan.build(first, rest, a0, ks, n - 1)
    phi = []
    for players in torch.arange(n, device=xi.device).split(max(1, pairs // len(ks))):
        if local is not None:
            out = local.rows(players)
        else:
            out = _dense_rows(first, rest, a0, players, ks, n - 1)
        out = out.reshape(2, len(players), len(ks), -1)
        phi.append((out[0] - out[1]).mean(1))  # (P, K)
    return torch.cat(phi).T.reshape(-1, *xi.shape)  # (K, *x.shape[1:])


def _interval(lo, hi, kernel, stride, size):
    """Output positions of a window op (kernel, stride) touching input positions [lo, hi]."""
    out_lo = torch.div(lo - kernel + stride, stride, rounding_mode="floor").clamp(min=0)
    return out_lo, torch.div(hi, stride, rounding_mode="floor").clamp(max=size - 1)


class _LocalPlan:
    """Fast path for a conv first layer (ancona2019's cost, computed locally): a player changes
    the first layer's output only inside its receptive field, and the following ReLU / pooling
    layers only in a window around it. Those layers run on that window; the rest of each row is
    the player-independent base, computed once per coalition size. Same numbers as the plain
    path (tested), a fraction of the elementwise work."""

    def __init__(self, first, block, after, a0, ks, big_n, base, windows):
        self.first, self.block, self.after, self.a0 = first, block, after, a0
        self.ks, self.big_n, self.base, self.windows = ks, big_n, base, windows
        self.s1, self.s2, self.b = _first_layer(first, a0)

    @classmethod
    def build(cls, first, rest, a0, ks, big_n):
        if not isinstance(first, nn.Conv2d) or _pair(first.dilation) != (1, 1):
            return None
        block = []
        for name, layer in rest:
            pool = isinstance(layer, nn.MaxPool2d | nn.AvgPool2d)
            if not (isinstance(layer, nn.ReLU) or (pool and _pair(layer.padding) == (0, 0))):
                break
            block.append((name, layer))
        s1, s2, b = _first_layer(first, a0)
        zero = torch.zeros_like(s1)
        base_m, _, base_v = _moments(s1, s2, zero, b, ks, big_n)  # no player removed: (1, S, ...)
        base = propagate_moments(block, base_m[0], base_v[0])
        windows = [cls._plan_dim(first, block, a0.shape[d], s1.shape[d], d) for d in (-2, -1)]
        return cls(first, block, rest[len(block) :], a0, ks, big_n, base, windows)

    @staticmethod
    def _plan_dim(first, block, n_in, n_first, d):
        """Per input position along one axis: region start in the first layer's output, its size,
        the block-output window start and its size."""
        pos = torch.arange(n_in)
        k, s, p = _pair(first.kernel_size)[d], _pair(first.stride)[d], _pair(first.padding)[d]
        lo, hi = _interval(pos + p, pos + p, k, s, n_first)
        sizes, pools = [n_first], []
        for _, layer in block:
            if not isinstance(layer, nn.ReLU):
                kp, sp = _pair(layer.kernel_size)[d], _pair(layer.stride or layer.kernel_size)[d]
                sizes.append((sizes[-1] - kp) // sp + 1)
                pools.append((kp, sp))
                lo, hi = _interval(lo, hi, kp, sp, sizes[-1])
        width = int((hi - lo).max()) + 1
        out_start = lo.clamp(max=sizes[-1] - width)
        start, size = out_start, width
        for kp, sp in reversed(pools):
            start, size = start * sp, (size - 1) * sp + kp
        return start, size, out_start, width

    def rows(self, players):
        """Network output means for the (with, without) x players x sizes rows."""
        (r0, rh, o_r, oh), (c0, cw, o_c, ow) = self.windows
        w_in = self.a0.shape[-1]
        pr, pc = (players % (self.a0.shape[-2] * w_in)) // w_in, players % w_in
        rows = r0[pr][:, None] + torch.arange(rh)
        cols = c0[pc][:, None] + torch.arange(cw)
        idx = torch.arange(len(players))[:, None, None]

        def crop(t):  # (P or 1, C, H, W) -> (P, C, rh, cw) at each player's region
            t = t.expand(len(players), *t.shape[1:])
            return t[idx, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)

        vi = crop(_own_terms(self.first, self.a0, players))
        mean_w, mean_wo, var = _moments(
            crop(self.s1), crop(self.s2), vi, self.b, self.ks, self.big_n
        )
        m = torch.cat([mean_w, mean_wo]).flatten(0, 1)
        local_m, local_v = propagate_moments(self.block, m, torch.cat([var, var]).flatten(0, 1))
        n_rows = 2 * len(players) * len(self.ks)
        player = torch.arange(n_rows) // len(self.ks) % len(players)  # rows: (half, player, size)
        out_rows = (o_r[pr][:, None] + torch.arange(oh))[player][:, :, None]
        out_cols = (o_c[pc][:, None] + torch.arange(ow))[player][:, None, :]
        full = []
        for base, loc in zip(self.base, (local_m, local_v), strict=True):
            t = base.repeat(2 * len(players), *([1] * (base.dim() - 1)))
            t[torch.arange(n_rows)[:, None, None], :, out_rows, out_cols] = loc.permute(0, 2, 3, 1)
            full.append(t)
        return propagate_moments(self.after, *full)[0]


@register("dasp")
def dasp(model, x, target=None, coalition_sizes=16, chunk=DEFAULT_CHUNK):
    """DASP for ``target``; all classes come from the same passes (target None: all of them,
    (N, K, *x.shape[1:])). ``chunk``: (player, size) pairs per batch (None: the rows per batch
    chosen for the model, ``_utils.resolve_chunk``)."""
    layers = L.sequential_layers(model)
    pairs = resolve_chunk(chunk, model, x)
    with torch.no_grad():
        maps = torch.stack([_dasp_image(layers, xi, coalition_sizes, pairs) for xi in x])
    return pick(maps, target)
