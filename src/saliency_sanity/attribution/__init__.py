"""Attribution methods behind one API (see DESIGN.md, "The attribution API").

>>> maps = attribute("integrated_gradients", model, x, target, baseline="zero", steps=50)
>>> all_maps = attribute_all_classes("gradient_input", model, x)  # (N, K, *x.shape[1:])
>>> cgi = attribute("competitive_gradient_input", model, x, target)

Every module of this package that is not private registers its methods on import (see
:mod:`.registry`); ``competitive_<base>`` is added for every base method (gupta2019, Sec. 3).
The model is left exactly as it was: methods run in eval mode under :func:`model_guard`, which
restores the mode, and checks that no hook is left behind and no parameter was modified.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from saliency_sanity.attribution.registry import METHODS, Method, all_class_maps, register
from saliency_sanity.batching import output_classes

__all__ = [
    "METHODS",
    "attribute",
    "attribute_all_classes",
    "compete",
    "fit_patterns",
    "model_guard",
    "register",
]


def _hook_count(model: nn.Module) -> int:
    return sum(
        len(m._forward_hooks)
        + len(m._forward_pre_hooks)
        + len(m._backward_hooks)
        + len(m._backward_pre_hooks)
        for m in model.modules()
    )


@contextlib.contextmanager
def model_guard(model: nn.Module) -> Iterator[nn.Module]:
    """Run in eval mode; afterwards restore every module's mode and check hooks and parameters.

    Methods remove their own hooks in ``finally`` blocks; the guard removes none, it verifies,
    so a leak is a loud bug rather than a silent change to the caller's model.
    """
    modes = [(m, m.training) for m in model.modules()]
    hooks = _hook_count(model)
    versions = [(p, p._version, p.requires_grad) for p in model.parameters()]
    model.eval()
    try:
        yield model
    finally:
        for module, mode in modes:
            module.train(mode)
        for p, _, requires_grad in versions:
            p.requires_grad_(requires_grad)
    if _hook_count(model) != hooks:
        raise RuntimeError(f"attribution left {_hook_count(model) - hooks} hook(s) on the model")
    if any(p._version != v for p, v, _ in versions):
        raise RuntimeError("attribution modified the model's parameters in place")


def _check_input(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor, got {type(x).__name__}")
    if x.dim() < 2:
        raise ValueError(f"x must be batched (N, ...), got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"x contains {bad} NaN or inf value(s)")


def _logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        out = model(x)
    if out.dim() != 2 or out.shape[0] != x.shape[0]:
        raise ValueError(
            f"model must return logits of shape (N, K) = ({x.shape[0]}, K), got {tuple(out.shape)}"
        )
    return out


def _resolve_target(model: nn.Module, x: torch.Tensor, target: Any) -> torch.Tensor:
    """The predicted class (one no-grad forward) for None; else a validated target. A given
    target needs only K and the output's shape, which the cached one-row probe of
    :func:`saliency_sanity.batching.output_classes` knows: no forward pass of its own."""
    if target is None:
        return _logits(model, x).argmax(dim=1)
    k = output_classes(model, x)
    return _check_target(target, torch.zeros(x.shape[0], k, device=x.device))


def _check_target(target: Any, logits: torch.Tensor) -> torch.Tensor:
    n, k = logits.shape
    if target is None:
        return logits.argmax(dim=1)
    target = torch.as_tensor(target, device=logits.device)
    if target.is_floating_point() or target.is_complex():
        raise ValueError(f"target must hold integer class indices, got dtype {target.dtype}")
    target = target.long()
    if target.dim() == 0:
        target = target.expand(n)
    if target.shape != (n,):
        raise ValueError(f"target must have shape ({n},), got {tuple(target.shape)}")
    if (target < 0).any() or (target >= k).any():
        raise ValueError(f"target out of range: classes are 0..{k - 1}, got {target.tolist()}")
    return target


def _method(name: str) -> Method:
    try:
        return METHODS[name]
    except KeyError:
        raise KeyError(f"unknown attribution method {name!r}; known: {sorted(METHODS)}") from None


def attribute(
    name: str, model: nn.Module, x: torch.Tensor, target: Any = None, **params: Any
) -> torch.Tensor:
    """Attribution maps of method ``name`` for ``target`` (None: the predicted class).

    Returns a tensor of ``x``'s shape on ``x``'s device.
    """
    method = _method(name)
    _check_input(x)
    with model_guard(model):
        target = _resolve_target(model, x, target)
        maps = method.fn(model, x, target, **{**method.defaults, **params})
    return maps.detach()


def attribute_all_classes(
    name: str, model: nn.Module, x: torch.Tensor, **params: Any
) -> torch.Tensor:
    """Maps for every class, shape (N, K, *x.shape[1:]), sharing the forward pass where the
    method supports it (one forward, batched backward over classes)."""
    method = _method(name)
    _check_input(x)
    with model_guard(model):
        output_classes(model, x)  # checks the output shape (cached probe)
        maps = all_class_maps(method, model, x, **{**method.defaults, **params})
    return maps.detach()


def compete(all_maps: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Competition for pixels (gupta2019, Sec. 3), on maps for all classes (N, K, ...).

    A pixel keeps its score for the target class only if the score is positive and the largest
    over all classes, or negative and the smallest; otherwise it is set to 0. Ties at the max
    (or min) keep the pixel. (Both public snippets get this wrong; see REPLICATION-NOTES.)
    """
    if all_maps.dim() < 2:
        raise ValueError(f"all_maps must be (N, K, ...), got shape {tuple(all_maps.shape)}")
    n, k = all_maps.shape[:2]
    target = _check_target(target, torch.zeros(n, k, device=all_maps.device))
    index = target.view(n, 1, *([1] * (all_maps.dim() - 2))).expand(n, 1, *all_maps.shape[2:])
    own = all_maps.gather(1, index).squeeze(1)
    keep = ((own > 0) & (own >= all_maps.amax(dim=1))) | ((own < 0) & (own <= all_maps.amin(dim=1)))
    return torch.where(keep, own, torch.zeros_like(own))


def _register_competitive(base: str) -> None:
    def competitive(model: nn.Module, x: torch.Tensor, target=None, **params: Any):
        all_maps = all_class_maps(METHODS[base], model, x, **params)
        if target is not None:
            return compete(all_maps, target)
        n, k = all_maps.shape[:2]  # every class's competitive map, from the same maps
        classes = [torch.full((n,), c, dtype=torch.long, device=x.device) for c in range(k)]
        return torch.stack([compete(all_maps, c) for c in classes], dim=1)

    plain = METHODS[base]
    cite = f"gupta2019 competition on {plain.short}" + (f" ({plain.cite})" if plain.cite else "")
    METHODS[f"competitive_{base}"] = Method(
        f"competitive_{base}", competitive, plain.defaults, f"C{plain.short}", cite
    )


def _discover() -> None:
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_") and info.name != "registry":
            importlib.import_module(f"{__name__}.{info.name}")
    from saliency_sanity.attribution.reference import REFERENCE_METHODS

    for base in [n for n in METHODS if not n.startswith("competitive_")]:
        if base not in REFERENCE_METHODS:  # they read no model: nothing to compete for
            _register_competitive(base)


_discover()

from saliency_sanity.attribution.patterns import fit_patterns  # noqa: E402
