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

The result is clamped to [1, :data:`MAX_ROWS`] and cached for the process per model object
(weakly: a collected model drops its entries), input shape (without the batch dimension), dtype
and device. The probe runs under ``torch.no_grad`` in eval mode with the global RNG state forked;
its hooks are removed and every module's training flag is restored, so the model is left exactly
as found. Batching never changes the maths, only float rounding (tests/unit/test_batching.py).
"""

from __future__ import annotations

import weakref
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

_CACHE: weakref.WeakKeyDictionary[nn.Module, dict[tuple, int]] = weakref.WeakKeyDictionary()


def activation_bytes_per_row(model: nn.Module, example_input: torch.Tensor) -> int:
    """Bytes of the input and of every leaf module's output in one forward pass, per row.

    ``example_input`` is a batch (N, ...) with N >= 1; the model is probed on one row of it.
    Functional operations between modules (``F.relu`` calls) are not seen; leaf modules are.
    """
    if example_input.dim() < 1 or example_input.shape[0] < 1:
        raise ValueError(f"need an example batch (N >= 1, ...), got {tuple(example_input.shape)}")
    probe = example_input[:1].detach()
    total = [probe.numel() * probe.element_size()]

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
    devices = [probe.device] if probe.device.type == "cuda" else []
    try:
        model.eval()
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            model(probe)
    finally:
        for handle in handles:
            handle.remove()
        for module, flag in modes:
            module.training = flag
    return max(1, total[0])


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
    ``budget_bytes`` is given. Cached per (model, shape, dtype, device, budget) for the process.
    """
    device = torch.device(device) if device is not None else example_input.device
    key = (tuple(example_input.shape[1:]), example_input.dtype, str(device), budget_bytes)
    try:
        per_model = _CACHE.setdefault(model, {})
    except TypeError:  # an unhashable or non-weakrefable module: no caching
        per_model = {}
    if key not in per_model:
        budget = device_budget(device) if budget_bytes is None else int(budget_bytes)
        per_row = activation_bytes_per_row(model, example_input)
        rows = max(budget, parameter_bytes(model)) // per_row
        per_model[key] = int(min(MAX_ROWS, max(MIN_ROWS, rows)))
    return per_model[key]


def clear_cache() -> None:
    """Forget every cached choice (e.g. after freeing GPU memory)."""
    _CACHE.clear()
