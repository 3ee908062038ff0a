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


def _positive(grad: torch.Tensor) -> torch.Tensor:
    return grad.clamp(min=0)


def _guided(output: torch.Tensor) -> torch.Tensor:
    """Guided backprop at one ReLU (Springenberg et al. 2014, Fig. 1:
    R^l = (f^l > 0) · (R^{l+1} > 0) · R^{l+1}).

    The ReLU keeps its native backward, which applies the mask (f^l > 0); a hook on its output
    rectifies the incoming gradient first, (R^{l+1} > 0) · R^{l+1}. The two factors commute, so
    this is the rule above at the cost of one extra elementwise op per ReLU (an autograd
    Function recomputing the mask cost ~15% more on the CNN, benchmarks/README.md).
    """
    if output.requires_grad:
        output.register_hook(_positive)
    return output


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


RULES = ("guided", "deconvnet")


@contextlib.contextmanager
def relu_rule(model: nn.Module, rule: str) -> Iterator[None]:
    """Within the block, every ReLU of ``model`` uses the backward ``rule`` ("guided"/"deconvnet").

    Covers ``nn.ReLU`` modules (also one called several times: hooks act call by call) and
    ``F.relu`` / ``torch.relu`` / ``Tensor.relu`` calls (the ``inplace`` flag is ignored: the
    result is a new tensor). "guided" hooks each ReLU's output (:func:`_guided`); "deconvnet"
    replaces each ReLU's output by :class:`_DeconvReLU` of its input, stashed by a forward
    pre-hook (cloned for in-place ReLUs, which overwrite it). Everything is undone in ``finally``.
    """
    if rule not in RULES:
        raise ValueError(f"unknown ReLU rule {rule!r}; known: {RULES}")
    saved = (F.relu, torch.relu, torch.Tensor.relu)
    relu = torch.relu
    stash: dict[int, list[torch.Tensor]] = {}

    def pre(module: nn.Module, args: tuple) -> tuple | None:
        stash.setdefault(id(module), []).append(args[0])
        return (args[0].clone(),) if getattr(module, "inplace", False) else None

    def post(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        if rule == "guided":
            return _guided(output)
        return _DeconvReLU.apply(stash[id(module)].pop())

    def functional(x: torch.Tensor, inplace: bool = False) -> torch.Tensor:
        return _guided(relu(x)) if rule == "guided" else _DeconvReLU.apply(x)

    handles = []
    try:
        for module in model.modules():
            if isinstance(module, nn.ReLU):
                if rule == "deconvnet":
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
