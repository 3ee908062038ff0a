"""The registry of attribution methods: one table drives the API, the DAG and the tests.

A method is one function ``fn(model, x, target=None, **params) -> maps`` registered under a
name. ``x`` arrives validated (finite, float, batched). ``target`` is a long tensor (N,) of valid
classes, and the maps have ``x``'s shape; or ``target=None``, and the maps are those of every
class, (N, K, *x.shape[1:]), sharing the forward pass where the method can (one forward, one
batched backward over the classes) and otherwise one batch with each image repeated per class
(:func:`each_class`). The method's defaults are written once, in its signature; the registry
reads them from there (``Method.defaults``), so the config checks, the DAG and the tests see the
same values as a direct call.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from saliency_sanity import method_labels
from saliency_sanity.batching import output_classes

MethodFn = Callable[..., torch.Tensor]
#: the positional arguments every method takes before its parameters
POSITIONAL = ("model", "x", "target")


@dataclass(frozen=True)
class Method:
    """A registered method. ``short`` is what figures draw (row labels, legends, ticks: a few
    words, the papers' abbreviations); ``cite`` is where it comes from (bibtex key, equation,
    the setting chosen), for captions and the gallery, never for a row label. Both come from
    the one label table, :data:`saliency_sanity.method_labels.METHOD_LABELS`."""

    name: str
    fn: MethodFn
    defaults: dict[str, Any] = field(default_factory=dict)
    short: str = ""
    cite: str = ""


METHODS: dict[str, Method] = {}


def signature_defaults(fn: MethodFn) -> dict[str, Any]:
    """The keyword defaults of a method function (its parameters after model, x, target)."""
    params = list(inspect.signature(fn).parameters.values())
    names = [p.name for p in params[: len(POSITIONAL)]]
    if names != list(POSITIONAL) or params[2].default is not None:
        raise TypeError(f"{fn.__qualname__} must start with (model, x, target=None), got {names}")
    return {p.name: p.default for p in params[len(POSITIONAL) :]
            if p.default is not p.empty and p.kind is not p.VAR_KEYWORD}  # fmt: skip


def register(
    name: str, short: str = "", cite: str = "", **overrides: Any
) -> Callable[[MethodFn], MethodFn]:
    """Decorator: ``@register("gradient")`` adds ``fn`` to :data:`METHODS` with the defaults of
    its signature, and its short label and citation from the label table (a method of one's
    own without a row there: ``short`` and ``cite``). ``overrides`` replace some defaults, for
    one function registered under two names (VarGrad is the noise tunnel with
    ``statistic="variance"``)."""

    def deco(fn: MethodFn) -> MethodFn:
        if name in METHODS:
            raise ValueError(f"attribution method {name!r} registered twice")
        defaults = signature_defaults(fn)
        unknown = sorted(set(overrides) - set(defaults))
        if unknown:
            raise TypeError(f"{name}: overrides {unknown} are not parameters of {fn.__qualname__}")
        METHODS[name] = Method(name, fn, {**defaults, **overrides},
                               short or method_labels.short(name),
                               cite or method_labels.cite(name))  # fmt: skip
        return fn

    return deco


def n_classes(model: nn.Module, x: torch.Tensor) -> int:
    """K, from the cached one-row probe of the model on inputs like ``x``
    (:func:`saliency_sanity.batching.output_classes`)."""
    return output_classes(model, x)


def each_class(fn: MethodFn, model: nn.Module, x: torch.Tensor, **params: Any) -> torch.Tensor:
    """Maps of every class (N, K, ...) for a method without a shared all-class pass: ``fn``'s
    per-target maps on ``x`` with each image repeated once per class, in one batch."""
    n, k = x.shape[0], n_classes(model, x)
    targets = torch.arange(k, device=x.device).repeat(n)
    maps = fn(model, x.repeat_interleave(k, dim=0), targets, **params)
    return maps.reshape(n, k, *x.shape[1:])


def pick(all_maps: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
    """``all_maps`` (N, K, ...) for target None, else each image's map of its target (N, ...)."""
    if target is None:
        return all_maps
    return all_maps[torch.arange(all_maps.shape[0], device=all_maps.device), target]


def all_class_maps(
    method: Method, model: nn.Module, x: torch.Tensor, **params: Any
) -> torch.Tensor:
    """Maps of ``method`` for every class, (N, K, *x.shape[1:]): ``method.fn`` with target None."""
    return method.fn(model, x, None, **params)
