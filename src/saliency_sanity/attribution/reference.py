"""The two reference "methods" of the randomisation plots: the two ends of the scale.

Binder et al. (2023, "Shortcomings of top-down randomization-based sanity checks") show that a
map of pure noise passes the model parameter randomisation test, and adebayo2018 (NeurIPS
version, Fig. 1) that an edge detector, which never reads the model, looks like a saliency map.
Drawn beside the real methods they calibrate a similarity: ``random_map`` changes completely
with every network (low similarity by construction), ``edge_detector`` never changes (similarity
1 by construction). Neither is an explanation; neither gets a ``competitive_`` variant.
"""

from __future__ import annotations

import hashlib

import torch
import torch.nn.functional as F
from torch import nn

from saliency_sanity.attribution.registry import n_classes, register

#: methods that read no model (excluded from competition, labelled "reference" in figures)
REFERENCE_METHODS = ("random_map", "edge_detector")


def model_fingerprint(model: nn.Module) -> int:
    """A 63-bit digest of every parameter and buffer: equal for equal networks, different for a
    re-initialised one (so a seeded noise map is reproducible, yet fresh for every network)."""
    digest = hashlib.sha256()
    for name, tensor in (*model.named_parameters(), *model.named_buffers()):
        digest.update(name.encode())
        digest.update(tensor.detach().to("cpu", torch.float64).contiguous().numpy().tobytes())
    return int.from_bytes(digest.digest()[:8], "little") >> 1


@register("random_map")
def random_map(
    model: nn.Module, x: torch.Tensor, target: torch.Tensor | None = None, seed: int = 0
) -> torch.Tensor:
    """Standard-normal noise of ``x``'s shape, independent of ``x`` and ``target`` (Binder et al.
    2023, Sec. 4). The generator's seed mixes ``seed`` with :func:`model_fingerprint`: the same
    network gives the same map, a randomised one a new draw, so the similarity between the
    trained and the randomised network's maps is that of independent noise (~0). Target None:
    the same map for every class (it ignores the target)."""
    if target is None:
        return _every_class(random_map(model, x, 0, seed), model, x)
    gen = torch.Generator().manual_seed((seed * 1_000_003 + model_fingerprint(model)) % 2**63)
    return torch.randn(x.shape, generator=gen, dtype=torch.float64).to(x.device, x.dtype)


def _every_class(maps: torch.Tensor, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    k = n_classes(model, x)
    return maps.unsqueeze(1).expand(-1, k, *maps.shape[1:]).clone()


SOBEL = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])


@register("edge_detector")
def edge_detector(
    model: nn.Module, x: torch.Tensor, target: torch.Tensor | None = None
) -> torch.Tensor:
    """Sobel gradient magnitude of each input channel, sqrt(G_x² + G_y²) with the 3x3 Sobel
    kernels and replicated borders (adebayo2018, Fig. 1: "Edge Detector"). Reads neither the
    model nor the target: similarity 1 under any randomisation, by construction. Target None:
    the same map for every class."""
    if target is None:
        return _every_class(edge_detector(model, x, 0), model, x)
    if x.dim() != 4:
        raise ValueError(f"edge_detector needs images (N, C, H, W), got shape {tuple(x.shape)}")
    n, c, h, w = x.shape
    kernels = torch.stack([SOBEL, SOBEL.T]).unsqueeze(1).to(x.device, x.dtype)  # (2, 1, 3, 3)
    padded = F.pad(x.reshape(n * c, 1, h, w), (1, 1, 1, 1), mode="replicate")
    g = F.conv2d(padded, kernels)  # (N*C, 2, H, W)
    return g.pow(2).sum(1).sqrt().reshape(n, c, h, w)
