"""Temporary, always-removed changes to a model's backward pass and activations.

* :func:`relu_rule`: every ReLU of the model, as ``nn.ReLU`` module (also one reused several
  times) or as ``F.relu`` / ``torch.relu`` / ``Tensor.relu`` call, gets another backward rule
  (guided backprop, deconvnet) for the duration of the block;
* :func:`capture`: record the output of one module during the block.

Both undo everything in ``finally``. The functional patch is process-global while active (another
thread calling ``F.relu`` at the same time would see it); attribution is not thread-safe.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class _GuidedReLU(torch.autograd.Function):
    """Forward ReLU; backward passes positive gradients through positive inputs only
    (Springenberg et al. 2014, Eq. for R^l in Fig. 1: (f^l > 0) · (R^{l+1} > 0) · R^{l+1})."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return x.clamp(min=0)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: torch.Tensor) -> None:
        ctx.save_for_backward(output)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (output,) = ctx.saved_tensors
        return grad.clamp(min=0) * (output > 0)


class _DeconvReLU(torch.autograd.Function):
    """Forward ReLU; backward applies ReLU to the gradient, ignoring the input
    (Zeiler & Fergus 2014, Sec. 2.1 "Rectification": R^l = (R^{l+1} > 0) · R^{l+1})."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return x.clamp(min=0)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: torch.Tensor) -> None:
        pass

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return grad.clamp(min=0)


RULES: dict[str, type[torch.autograd.Function]] = {"guided": _GuidedReLU, "deconvnet": _DeconvReLU}


@contextlib.contextmanager
def relu_rule(model: nn.Module, rule: str) -> Iterator[None]:
    """Within the block, every ReLU of ``model`` uses the backward ``rule`` ("guided"/"deconvnet").

    ``nn.ReLU`` modules get a forward pre-hook (stashes the input; clones it for in-place ReLUs)
    and a forward hook (returns ``rule(input)``), so a module called several times is handled
    call by call; ``F.relu``, ``torch.relu`` and ``Tensor.relu`` are replaced by ``rule`` (the
    ``inplace`` flag is ignored: the result is a new tensor). Everything is undone in ``finally``.
    """
    fn = RULES[rule].apply
    stash: dict[int, list[torch.Tensor]] = {}

    def pre(module: nn.Module, args: tuple) -> tuple | None:
        stash.setdefault(id(module), []).append(args[0])
        return (args[0].clone(),) if getattr(module, "inplace", False) else None

    def post(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        return fn(stash[id(module)].pop())

    def functional(x: torch.Tensor, inplace: bool = False) -> torch.Tensor:
        return fn(x)

    handles = []
    saved = (F.relu, torch.relu, torch.Tensor.relu)
    try:
        for module in model.modules():
            if isinstance(module, nn.ReLU):
                handles.append(module.register_forward_pre_hook(pre))
                handles.append(module.register_forward_hook(post))
        F.relu, torch.relu, torch.Tensor.relu = functional, functional, functional
        yield
    finally:
        F.relu, torch.relu, torch.Tensor.relu = saved
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def capture(module: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Record the outputs of ``module`` (one entry per call) while the block runs."""
    outputs: list[torch.Tensor] = []
    handle = module.register_forward_hook(lambda _m, _a, out: outputs.append(out))
    try:
        yield outputs
    finally:
        handle.remove()
