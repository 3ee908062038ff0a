"""Rows per forward/backward batch, chosen per (model, input shape, dtype, device).

One constant cannot suit every model: on a 2-core CPU a plain batched forward + backward of a
wide CNN is fastest at ~32 rows (its activations then stay in the cache), a dense MLP at
several hundred (its weights are re-read once per batch), and on a GPU the best batch is larger
again (issue 12, benchmarks/README.md). :func:`rows_per_batch` measures the activation memory of
one row with a single probe forward (forward hooks on the leaf modules sum each output's
``numel * element_size``) and divides a per-device budget by it:

* CPU: :data:`CPU_BUDGET_BYTES` of forward activations per batch, calibrated with
  ``benchmarks/bench_floor.py`` on a 2-core CPU (see benchmarks/README.md);
* CUDA: :data:`CUDA_FREE_FRACTION` of the free device memory (backward roughly triples the
  forward's footprint: saved tensors plus gradients).

The budget is raised to the model's parameter bytes where those are larger (a batch re-reads
every weight, so a batch smaller than that is bound by weight traffic: VGG-16's 553 MB of
weights, :func:`parameter_bytes`).

The result is clamped to [1, :data:`MAX_ROWS`]. The probe (:func:`probe`) also records the
shape of the output, so the attribution API learns the number of classes K from it
(:func:`output_classes`) instead of running a forward pass of its own on every call (that pass
was ~1.7 ms of a 14 ms Gradient call on the MLP and 45 of 278 ms on VGG-16 with 4 images).
Probes and choices are cached for the process per model object (weakly: a collected model drops
its entries), input shape (without the batch dimension), dtype, device and the shapes of the
model's parameters (:func:`architecture`: a layer swapped for one of another size is probed
afresh). The probe runs under ``torch.no_grad`` in eval mode with the global RNG state forked;
its hooks are removed and every module's training flag is restored, so the model is left exactly
as found. Batching never changes the maths, only float rounding (tests/unit/test_batching.py).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

#: Forward activation bytes per batch on a CPU (about the size of the L2 + L3 caches of the
#: 2-core machine this was calibrated on: wide CNN ~48 rows, small MLP several hundred).
CPU_BUDGET_BYTES = 32 * 2**20
#: Share of the free CUDA memory one batch's forward activations may take.
CUDA_FREE_FRACTION = 1 / 8
#: Bounds of the result.
MIN_ROWS, MAX_ROWS = 1, 4096

_PROBES: weakref.WeakKeyDictionary[nn.Module, dict[tuple, Probe]] = weakref.WeakKeyDictionary()
_ROWS: weakref.WeakKeyDictionary[nn.Module, dict[tuple, int]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Probe:
    """What one forward pass of one row tells about a model on inputs of one shape."""

    #: bytes of the input and of every leaf module's output (:func:`activation_bytes_per_row`)
    bytes_per_row: int
    #: the output's shape for one row, (1, K) for a classifier; None if it is not one tensor
    output_shape: tuple[int, ...] | None


def architecture(model: nn.Module) -> tuple:
    """The shape and dtype of every parameter, in order: part of every cache key, so a model
    whose layers were replaced by ones of other sizes is probed again (randomising weights in
    place keeps the shapes, and the cached probe stays valid)."""
    return tuple((tuple(p.shape), p.dtype) for p in model.parameters())


def _per_model(cache: weakref.WeakKeyDictionary, model: nn.Module) -> dict:
    try:
        return cache.setdefault(model, {})
    except TypeError:  # an unhashable or non-weakrefable module: no caching
        return {}


def _key(model: nn.Module, example_input: torch.Tensor, *extra: Any) -> tuple:
    shape = tuple(example_input.shape[1:])
    return (shape, example_input.dtype, str(example_input.device), architecture(model), *extra)


def probe(model: nn.Module, example_input: torch.Tensor) -> Probe:
    """One no-grad forward pass of the first row of ``example_input`` (N >= 1, ...), cached per
    (model, input shape, dtype, device, :func:`architecture`)."""
    per_model = _per_model(_PROBES, model)
    key = _key(model, example_input)
    if key not in per_model:
        per_model[key] = _run_probe(model, example_input)
    return per_model[key]


def activation_bytes_per_row(model: nn.Module, example_input: torch.Tensor) -> int:
    """Bytes of the input and of every leaf module's output in one forward pass, per row.

    ``example_input`` is a batch (N, ...) with N >= 1; the model is probed on one row of it.
    Functional operations between modules (``F.relu`` calls) are not seen; leaf modules are.
    """
    return probe(model, example_input).bytes_per_row


def output_classes(model: nn.Module, example_input: torch.Tensor) -> int:
    """K, the number of classes of a model that returns logits (N, K), from the cached probe;
    a ValueError naming the shape for a model that returns anything else."""
    shape = probe(model, example_input).output_shape
    if shape is None or len(shape) != 2 or shape[0] != 1:
        got = "not a tensor" if shape is None else tuple(shape)
        raise ValueError(f"model must return logits of shape (N, K) = (1, K), got {got}")
    return shape[1]


def _run_probe(model: nn.Module, example_input: torch.Tensor) -> Probe:
    if example_input.dim() < 1 or example_input.shape[0] < 1:
        raise ValueError(f"need an example batch (N >= 1, ...), got {tuple(example_input.shape)}")
    row = example_input[:1].detach()
    total = [row.numel() * row.element_size()]

    def hook(_module: nn.Module, _args: Any, output: Any) -> None:
        stack = [output]
        while stack:
            out = stack.pop()
            if isinstance(out, torch.Tensor):
                total[0] += out.numel() * out.element_size()
            elif isinstance(out, list | tuple):
                stack.extend(out)
            elif isinstance(out, dict):
                stack.extend(out.values())

    modes = [(m, m.training) for m in model.modules()]
    leaves = [m for m in model.modules() if next(m.children(), None) is None]
    handles = [m.register_forward_hook(hook) for m in leaves]
    devices = [row.device] if row.device.type == "cuda" else []
    try:
        model.eval()
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            out = model(row)
    finally:
        for handle in handles:
            handle.remove()
        for module, flag in modes:
            module.training = flag
    shape = tuple(out.shape) if isinstance(out, torch.Tensor) else None
    return Probe(max(1, total[0]), shape)


def parameter_bytes(model: nn.Module) -> int:
    """Bytes of the model's parameters: every batch reads them at least once (forward and
    backward), so a batch whose activations are smaller than its weights is bound by the
    weights' memory traffic, not by the cache (VGG-16 at 64x64: 553 MB of weights, 9.6 MB of
    activations per row; the activation budget alone gave 3 rows and IG ran at 3x the
    best-batch floor)."""
    return sum(p.numel() * p.element_size() for p in model.parameters())


def device_budget(device: torch.device) -> int:
    """Forward activation bytes one batch may take on ``device`` (see module docstring)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * CUDA_FREE_FRACTION)
    return CPU_BUDGET_BYTES


def rows_per_batch(
    model: nn.Module,
    example_input: torch.Tensor,
    *,
    device: torch.device | str | None = None,
    budget_bytes: int | None = None,
) -> int:
    """Rows (model evaluations) per forward/backward batch for ``model`` on inputs like
    ``example_input`` (N, ...): ``max(budget, parameter bytes) // activation bytes per row``,
    in [1, 4096] (:func:`parameter_bytes` says why the weights set a lower bound).

    ``device`` (default: the input's) selects the budget, :func:`device_budget`, unless
    ``budget_bytes`` is given. Cached per (model, shape, dtype, device, architecture, budget).
    """
    device = torch.device(device) if device is not None else example_input.device
    per_model = _per_model(_ROWS, model)
    key = _key(model, example_input, str(device), budget_bytes)
    if key not in per_model:
        budget = device_budget(device) if budget_bytes is None else int(budget_bytes)
        per_row = activation_bytes_per_row(model, example_input)
        rows = max(budget, parameter_bytes(model)) // per_row
        per_model[key] = int(min(MAX_ROWS, max(MIN_ROWS, rows)))
    return per_model[key]


def clear_cache() -> None:
    """Forget every cached probe and choice (e.g. after freeing GPU memory)."""
    _PROBES.clear()
    _ROWS.clear()
