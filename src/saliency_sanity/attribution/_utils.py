"""Shared machinery of the gradient family: chunked input gradients, for one or all classes.

Interface used by the method modules (kept stable for other modules of the package):

* :data:`DEFAULT_CHUNK`: rows (model evaluations) per forward/backward batch; ``None``, auto:
  :func:`resolve_chunk` then asks :func:`saliency_sanity.batching.rows_per_batch`;
* :func:`resolve_chunk`: an explicit ``chunk`` as given, ``None`` the rows chosen for the model;
* :func:`frozen_params`: parameters stop requiring grad for the duration (restored after);
* :func:`grid_rows`: cover an (image, sample) grid, image-major, with batches of about
  ``chunk`` rows that may cut an image's samples between two batches (:class:`Rows`: each
  row's image and sample index; callers sum per image with ``index_add_``);
* :func:`blocks`: cover an (image, sample) grid with rectangular blocks of whole images (or
  one image's run of samples) of at most ``chunk`` rows, for callers that index by slices;
* :func:`input_gradients`: d f(x)_target / d x, shape of x;
* :func:`all_class_gradients`: d f(x)_k / d x for every k, shape (N, K, *x.shape[1:]), with
  one forward pass per chunk and a batched backward pass over the classes;
* :func:`per_image`: reshape a per-image vector (N,) to broadcast against x.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from saliency_sanity.batching import rows_per_batch

#: Rows per forward/backward batch: ``None`` means chosen per (model, input shape, dtype, device)
#: by :func:`saliency_sanity.batching.rows_per_batch` (a fixed 512 was 2x off the best batch on
#: a wide CNN, issue 12; see benchmarks/README.md). Every method takes ``chunk=``; an explicit
#: number wins.
DEFAULT_CHUNK: int | None = None


def resolve_chunk(chunk: int | None, model: nn.Module, x: torch.Tensor) -> int:
    """``chunk`` itself when given (must be >= 1), else the rows per batch chosen for ``model``
    on rows like ``x`` (:func:`saliency_sanity.batching.rows_per_batch`, cached)."""
    if chunk is None:
        return rows_per_batch(model, x)
    if isinstance(chunk, bool) or int(chunk) != chunk or chunk < 1:
        raise ValueError(f"chunk must be a positive number of rows or None, got {chunk!r}")
    return int(chunk)


@contextlib.contextmanager
def frozen_params(model: nn.Module) -> Iterator[None]:
    """Parameters do not require grad inside the block (saves the weight-gradient bookkeeping)."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    try:
        for p, _ in flags:
            p.requires_grad_(False)
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


@dataclass(frozen=True)
class Rows:
    """One batch of :func:`grid_rows`: the item and the sample index of each of its rows, and
    the consecutive items it touches (the first and the last may be cut)."""

    item: torch.Tensor
    sample: torch.Tensor
    items: slice

    @property
    def local(self) -> torch.Tensor:
        """Each row's item counted from ``items.start``: the index of a per-batch sum."""
        return self.item - self.items.start


def grid_rows(
    n_items: int, n_samples: int, chunk: int, device: torch.device | None = None
) -> Iterator[Rows]:
    """Cover the grid items x samples, item-major (row r is item r // n_samples, sample
    r % n_samples), with batches of at most ``chunk`` rows whose sizes differ by at most one.

    A batch may end inside an item and the next one go on with it: 50 images x 50 samples in
    chunks of 92 are 28 batches of 89-90 rows (1.8 images each), where whole images per batch
    would be 50 rows, far below the rows per batch chosen for the model (issue 12).
    """
    if chunk is None or chunk < 1:
        raise ValueError(f"chunk must be a positive number of rows, got {chunk}")
    total = n_items * n_samples
    pieces = -(-total // chunk)
    for k in range(pieces):
        r0, r1 = total * k // pieces, total * (k + 1) // pieces
        rows = torch.arange(r0, r1, device=device)
        items = slice(r0 // n_samples, (r1 - 1) // n_samples + 1)
        yield Rows(rows // n_samples, rows % n_samples, items)


def blocks(n_items: int, n_samples: int, chunk: int) -> Iterator[tuple[slice, slice]]:
    """Cover the grid items x samples, item-major, with blocks of at most ``chunk`` rows.

    All samples of an item come in one block when ``n_samples <= chunk``; otherwise each block
    holds one item and a run of its samples, the runs of nearly equal length (50 samples in
    chunks of 40: 25 + 25, not 40 + 10). Blocks of one item are consecutive. Whole items per
    block leave up to ``n_samples - 1`` rows of a chunk unused (50 samples in chunks of 92: 50
    rows): methods that sum over samples use :func:`grid_rows` instead.
    """
    if chunk is None or chunk < 1:
        raise ValueError(f"chunk must be a positive number of rows, got {chunk}")
    if n_samples <= chunk:
        per = chunk // n_samples
        for i0 in range(0, n_items, per):
            yield slice(i0, min(i0 + per, n_items)), slice(0, n_samples)
    else:
        pieces = -(-n_samples // chunk)
        size = -(-n_samples // pieces)
        for i in range(n_items):
            for s0 in range(0, n_samples, size):
                yield slice(i, i + 1), slice(s0, min(s0 + size, n_samples))


def per_image(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A per-image vector (N,) viewed as (N, 1, ..., 1) to broadcast against ``x``."""
    return v.reshape(-1, *([1] * (x.dim() - 1)))


def _forward(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.detach().requires_grad_(True)
    out = model(x)
    if out.dim() != 2 or out.shape[0] != x.shape[0]:
        raise ValueError(f"model must return logits of shape (N, K), got {tuple(out.shape)}")
    return x, out


def input_gradients(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor | None,
    chunk: int | None = DEFAULT_CHUNK,
) -> torch.Tensor:
    """d f(x)_target / d x for each row of ``x``, computed in chunks of ``chunk`` rows
    (``None``: :func:`resolve_chunk`); for target None every class, (N, K, *x.shape[1:])
    (:func:`all_class_gradients`)."""
    if target is None:
        return all_class_gradients(model, x, chunk)
    chunk = resolve_chunk(chunk, model, x)
    grads = torch.empty_like(x)
    with frozen_params(model), torch.enable_grad():
        for rows, _ in blocks(x.shape[0], 1, chunk):
            xr, out = _forward(model, x[rows])
            selected = out.gather(1, target[rows, None]).sum()
            (grads[rows],) = torch.autograd.grad(selected, xr)
    return grads


def _class_backward(out: torch.Tensor, x: torch.Tensor, chunk: int) -> torch.Tensor:
    """Gradients of every output column w.r.t. x, (K, *x.shape), from one graph.

    Where the K x rows gradient rows fit in one batch of ``chunk`` rows, one backward pass
    batched over the classes (``is_grads_batched=True``, vmap): a small batch then reads every
    weight once instead of K times (the two MLPs, 50 images, 2 threads: 0.65x the loop's time;
    all-class Gradient x Input 0.3x ten Captum calls). Otherwise one backward pass per class,
    reusing the graph (``retain_graph``): with K x rows beyond the rows the model likes per
    batch, the vmapped pass falls out of the cache (MLP, 793 rows: 1.13x; CNN, 200 rows: 1.51x;
    ``benchmarks/bench_floor.py --passes``). Both give the same gradients up to the order of
    summation: equal to float64 rounding (tests/unit/test_batching.py), in the last float32 bits
    on a conv net; an operation vmap cannot batch falls back to the loop.
    """
    k = out.shape[1]
    if k * x.shape[0] <= chunk:
        eye = torch.eye(k, dtype=out.dtype, device=out.device)
        try:
            seeds = eye.unsqueeze(1).expand(k, *out.shape)
            return torch.autograd.grad(out, x, seeds, retain_graph=True, is_grads_batched=True)[0]
        except RuntimeError:  # an operation without a batching rule
            pass
    return torch.stack(
        [torch.autograd.grad(out[:, c].sum(), x, retain_graph=c < k - 1)[0] for c in range(k)]
    )


def all_class_gradients(
    model: nn.Module, x: torch.Tensor, chunk: int | None = DEFAULT_CHUNK
) -> torch.Tensor:
    """d f(x)_k / d x for every class k: (N, K, *x.shape[1:]); one forward per chunk of rows."""
    chunk = resolve_chunk(chunk, model, x)
    parts = []
    with frozen_params(model), torch.enable_grad():
        for rows, _ in blocks(x.shape[0], 1, chunk):
            xr, out = _forward(model, x[rows])
            parts.append(_class_backward(out, xr, chunk).transpose(0, 1))
    return torch.cat(parts)
