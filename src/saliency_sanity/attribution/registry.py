"""The registry of attribution methods: one table drives the API, the DAG and the tests.

A method is a function ``fn(model, x, target, **params) -> maps`` registered under a name with
its papers' default parameters. ``x`` arrives validated (finite, float, batched) and ``target``
as a long tensor (N,) of valid classes; ``maps`` has ``x``'s shape. A method may also register
an ``all_classes`` variant ``fn(model, x, **params) -> (N, K, *x.shape[1:])`` that shares the
forward pass across classes; otherwise :func:`all_class_maps` batches the classes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

MethodFn = Callable[..., torch.Tensor]


@dataclass(frozen=True)
class Method:
    name: str
    fn: MethodFn
    defaults: dict[str, Any] = field(default_factory=dict)
    all_classes: MethodFn | None = None
    #: short description for figures and the README (paper and equation)
    label: str = ""


METHODS: dict[str, Method] = {}


def register(name: str, label: str = "", **defaults: Any) -> Callable[[MethodFn], MethodFn]:
    """Decorator: ``@register("gradient", label="Gradient")`` adds ``fn`` to :data:`METHODS`."""

    def deco(fn: MethodFn) -> MethodFn:
        if name in METHODS:
            raise ValueError(f"attribution method {name!r} registered twice")
        METHODS[name] = Method(name, fn, dict(defaults), None, label or name)
        return fn

    return deco


def register_all_classes(name: str) -> Callable[[MethodFn], MethodFn]:
    """Decorator: attach a shared-forward all-class implementation to a registered method."""

    def deco(fn: MethodFn) -> MethodFn:
        method = METHODS[name]
        METHODS[name] = Method(method.name, method.fn, method.defaults, fn, method.label)
        return fn

    return deco


def all_class_maps(
    method: Method, model: nn.Module, x: torch.Tensor, **params: Any
) -> torch.Tensor:
    """Maps of ``method`` for every class, (N, K, *x.shape[1:]): its shared-forward variant when it
    has one, else its per-target function on ``x`` repeated once per class (one batch)."""
    if method.all_classes is not None:
        return method.all_classes(model, x, **params)
    with torch.no_grad():
        n, k = x.shape[0], model(x[:1]).shape[1]
    targets = torch.arange(k, device=x.device).repeat(n)
    maps = method.fn(model, x.repeat_interleave(k, dim=0), targets, **params)
    return maps.reshape(n, k, *x.shape[1:])
