"""Input shifts m2 of kindermans2017 ("The (Un)reliability of saliency methods").

Network 2 sees x + m2 and compensates the shift in its first-layer bias, b2 = b1 - W m2
(:func:`saliency_sanity.models.bias_compensated`), so both networks compute the same function of
the image. This module builds the shifts m2 of the paper's experiments:

* :func:`constant`: a constant image (Sec. 2: m2 = -1 maps inputs [0, 1] to [-1, 0]);
* :func:`checkerboard`: a checkerboard image (Sec. 3.2, Fig. 4), against the black reference;
* :func:`cat_shift`: a shift chosen so that Gradient x Input of network 2 draws a target image
  (Sec. 4, Fig. 5), with the hand-drawn cat of :func:`cat_image` as target.

Shifts are float32 tensors of the input's shape (1, 28, 28) for MNIST; :func:`cat_shift` depends
on the input and returns one shift per image (N, 1, 28, 28).
"""

from __future__ import annotations

import numpy as np
import torch

from saliency_sanity.models import MNIST_SHAPE


def constant(value: float, shape: tuple[int, ...] = MNIST_SHAPE) -> torch.Tensor:
    """m2 = ``value`` everywhere (kindermans2017 Sec. 2; the paper's value is -1)."""
    return torch.full(shape, float(value))


def checkerboard(
    amplitude: float = 0.3, square: int = 4, shape: tuple[int, ...] = MNIST_SHAPE
) -> torch.Tensor:
    """A checkerboard of ``square`` x ``square``-pixel squares, +``amplitude`` and -``amplitude``
    (the top-left square is positive); kindermans2017 Sec. 3.2, Fig. 4.

    The paper shows a checkerboard but does not state its amplitude or square size.
    """
    if square < 1:
        raise ValueError(f"square must be a positive number of pixels, got {square}")
    h, w = shape[-2:]
    rows = torch.arange(h) // square
    cols = torch.arange(w) // square
    signs = 1.0 - 2.0 * ((rows[:, None] + cols[None, :]) % 2).float()
    return (amplitude * signs).expand(shape).clone()


def _cat_mask(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """A cat's head on the unit square (y down): a round head, two pointed ears, eyes and nose
    cut out as holes, so that the silhouette reads as a face."""

    def ellipse(cy, cx, ry, rx):
        return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0

    def triangle(p0, p1, p2):
        def side(a, b):
            return (xx - b[1]) * (a[0] - b[0]) - (a[1] - b[1]) * (yy - b[0])

        d1, d2, d3 = side(p0, p1), side(p1, p2), side(p2, p0)
        neg = (d1 < 0) | (d2 < 0) | (d3 < 0)
        pos = (d1 > 0) | (d2 > 0) | (d3 > 0)
        return ~(neg & pos)

    head = ellipse(0.60, 0.50, 0.30, 0.36)
    ears = triangle((0.42, 0.16), (0.08, 0.20), (0.34, 0.44)) | triangle(
        (0.42, 0.84), (0.08, 0.80), (0.34, 0.56)
    )
    eyes = ellipse(0.55, 0.36, 0.065, 0.05) | ellipse(0.55, 0.64, 0.065, 0.05)
    nose = triangle((0.68, 0.45), (0.68, 0.55), (0.75, 0.50))
    return (head | ears) & ~eyes & ~nose


def cat_image(size: int = 28, supersample: int = 4) -> torch.Tensor:
    """The hand-drawn cat of kindermans2017 Fig. 5, drawn by code: (1, size, size) in [0, 1].

    The paper's cat is a drawing that is not distributed; this one is a cat's head built from an
    ellipse and triangles, anti-aliased by averaging a ``supersample``-times finer grid.
    """
    n = size * supersample
    centres = (np.arange(n) + 0.5) / n
    yy, xx = np.meshgrid(centres, centres, indexing="ij")
    fine = _cat_mask(yy, xx).astype(np.float32)
    coarse = fine.reshape(size, supersample, size, supersample).mean(axis=(1, 3))
    return torch.from_numpy(coarse)[None]


def cat_shift(
    grad_f1_x: torch.Tensor,
    x: torch.Tensor,
    cat: torch.Tensor,
    clip: float = 0.3,
    scale: torch.Tensor | float | None = None,
    eps: float = 1e-6,
) -> torch.Tensor:
    """The shift of kindermans2017 Sec. 4 that makes Gradient x Input draw ``cat``.

    Network 2's gradient at x + m2 equals network 1's at x (same function after the first
    layer), so its Gradient x Input is ∇f1(x) ⊙ (x + m2). Setting that equal to the target
    ŝ gives m2 = ŝ / ∇f1(x) - x, which the paper clips to [-``clip``, ``clip``] so that the
    input stays close to the original. The target is ŝ = scale ⊙ cat, with ``scale`` by default
    ``clip`` x mean |∇f1(x)| per image: the target that a pixel with an average gradient reaches
    with the largest allowed shift (the paper does not state its target's scale).

    Division by a ~0 gradient: |∇f1(x)| below ``eps`` x max |∇f1(x)| (per image; and at least
    1e-30) is replaced by that bound with the gradient's sign (+ for an exact 0). The ratio is
    then large and the clip takes it to ±``clip``, the limit of the unclipped formula; whatever
    the shift, Gradient x Input is ~0 at such pixels.

    ``grad_f1_x`` and ``x``: (N, ...) network 1's gradient (target logit) at x and x itself;
    ``cat``: the target image, broadcastable to one input. Returns m2 of shape (N, ...).
    """
    if grad_f1_x.shape != x.shape:
        raise ValueError(f"gradient {tuple(grad_f1_x.shape)} and x {tuple(x.shape)} differ")
    if clip <= 0:
        raise ValueError(f"clip must be positive, got {clip}")
    g = grad_f1_x.detach()
    dims = tuple(range(1, g.dim()))
    magnitude = g.abs()
    if scale is None:
        scale = clip * magnitude.mean(dim=dims, keepdim=True)
    floor = (eps * magnitude.amax(dim=dims, keepdim=True)).clamp(min=1e-30)
    sign = torch.where(g < 0, -1.0, 1.0).to(g.dtype)
    safe = torch.where(magnitude < floor, sign * floor, g)
    target = torch.as_tensor(scale, dtype=g.dtype, device=g.device) * cat.to(g)
    return (target / safe - x.detach()).clamp(-clip, clip)
