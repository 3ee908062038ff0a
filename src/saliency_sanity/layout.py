"""Memory layout of forward-only passes: channels-last convolutions on a CPU.

The perturbation methods (LIME, KernelSHAP, occlusion) spend their time in forward passes of
the model on thousands of masked copies of each image, and on a CPU PyTorch's convolutions and
pooling run those faster on channels-last (NHWC) tensors than on the default NCHW layout.
``python benchmarks/bench_floor.py --layouts`` (a forward pass at the rows per batch chosen for
each model, :func:`~saliency_sanity.batching.rows_per_batch`; idle 2-core CPU, best of 3),
channels-last / default:

========================= ============ ============
model                     1 thread     2 threads
========================= ============ ============
adebayo2018 CNN           0.79x        0.78x
gupta2019 AlexNet         0.78x        0.76x
wide CNN (32-48-64)       0.55x        0.61x
VGG-16 at 64x64           0.83x        0.78x
========================= ============ ============

With a backward pass the same switch gave 0.70x-0.97x in that run but 0.65x-1.06x in an
earlier one (the AlexNet slower with one thread), so the gradient methods keep the default
layout for now. Only the layout changes: the same maths up to float rounding
(tests/unit/test_layout.py). The model is not touched: its 4-D weights are copied to
channels-last once per call of :func:`forward_only` and swapped in with
:func:`torch.func.functional_call`, which restores the model's own tensors after every pass.
Not on CUDA, where it was not measured, and not in float64 (no fast channels-last kernels).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch
from torch import nn

log = logging.getLogger(__name__)

#: dtypes whose channels-last CPU convolutions were measured faster (float32 only)
FAST_DTYPES = (torch.float32,)


def convolutional(model: nn.Module) -> bool:
    """Whether ``model`` has a 2-D convolution (the layers channels-last speeds up)."""
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def channels_last_pays(model: nn.Module, example: torch.Tensor) -> bool:
    """Whether forward passes of ``model`` on inputs like ``example`` run channels-last: a
    model with a 2-D convolution (not a TorchScript module, which cannot swap its weights), a
    batch of float32 images (N, C, H, W) on a CPU."""
    return (
        example.dim() == 4
        and example.device.type == "cpu"
        and example.dtype in FAST_DTYPES
        and not isinstance(model, torch.jit.ScriptModule)
        and convolutional(model)
    )


def forward_only(model: nn.Module, example: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function ``batch -> model(batch)`` for forward passes without gradients on inputs like
    ``example``: channels-last where :func:`channels_last_pays`, else ``model`` itself.

    The channels-last copies of the 4-D weights are made here, once, so call this once per
    attribution call and reuse the function for every batch; weights changed in place
    afterwards are not seen by it. A model whose forward fails on channels-last tensors (a
    ``.view`` of a conv's output) runs in the default layout from that batch on; an error that
    is not about the layout then comes from that run.
    """
    if not channels_last_pays(model, example):
        return model
    weights = {name: _nhwc(p.detach()) for name, p in model.named_parameters() if p.dim() == 4}
    nhwc = [True]

    def run(batch: torch.Tensor) -> torch.Tensor:
        if nhwc[0]:
            try:
                return torch.func.functional_call(model, weights, (_nhwc(batch),))
            except RuntimeError as err:
                # e.g. ``h.view(len(h), -1)`` on a conv's output, which channels-last strides
                # do not allow: the default layout then, the same maths
                nhwc[0] = False
                log.debug("%s cannot run channels-last (%s): default layout", type(model), err)
        return model(batch)

    return run


def _nhwc(t: torch.Tensor) -> torch.Tensor:
    """A channels-last copy with explicit NHWC strides. ``t.contiguous(memory_format=...)``
    returns a one-channel tensor (a first conv's weight, a grey image) unchanged, since its
    NCHW strides also read as channels-last, and PyTorch then picks the NCHW kernels for that
    layer (a one-off timing of the AlexNet's forward: 0.97x the default layout's time with
    conv1's weight left so, 0.74x with it channels-last as well)."""
    return torch.empty_like(t, memory_format=torch.channels_last).copy_(t)
