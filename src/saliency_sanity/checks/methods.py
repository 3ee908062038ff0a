"""The methods a check explains with: registered names, parameters, or a user's own function.

``methods`` of every check is one of

* a list of registered names, ``["gradient", "guided_backprop"]`` (the registry's defaults);
* a mapping ``{label: name}`` or ``{label: (name, params)}``;
* a mapping ``{label: fn}`` with a user's function ``fn(model, x, target) -> maps`` (maps of
  ``x``'s shape), for methods that are not registered.

A parameter whose value is :class:`PerModel` is computed for each model a check explains, e.g.
the patterns of PatternNet, which are fitted to the weights and so must be refitted after every
randomisation step (kindermans2017, Sec. 5).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from saliency_sanity.attribution import METHODS, attribute, attribute_all_classes, compete
from saliency_sanity.attribution.registry import pick

ExplainFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class PerModel:
    """A method parameter computed from the model being explained: ``fn(model) -> value``."""

    fn: Callable[[nn.Module], Any]


#: methods whose map for one target is read off maps of every class fitted on the same samples
#: (LIME, KernelSHAP) or computed in the same probabilistic passes (DASP): inside
#: :func:`shared_maps` the plain and the ``competitive_`` variant share those all-class maps
#: (the scorecard computed them twice: ~40% of its time)
ALL_CLASS_PASS = ("lime", "kernel_shap", "dasp")

#: the maps already computed inside :func:`shared_maps` (None outside it)
_SHARED: contextvars.ContextVar[dict | None] = contextvars.ContextVar("shared_maps", default=None)
_FINGERPRINTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def shared_maps() -> Iterator[None]:
    """Inside this block a method's maps are computed once per (method, network, inputs,
    targets) and reused: the scorecard's checks explain the same trained network, the same
    untrained copies and the same images many times. Networks are told apart by a digest of
    their parameters and buffers, inputs and targets by their bytes, so a reuse is exact."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def _fingerprint(model: nn.Module) -> int:
    from saliency_sanity.attribution.reference import model_fingerprint

    if model not in _FINGERPRINTS:
        _FINGERPRINTS[model] = model_fingerprint(model)
    return _FINGERPRINTS[model]


def _digest(t: torch.Tensor) -> str:
    data = t.detach().cpu().contiguous()
    return f"{tuple(t.shape)}{t.dtype}" + hashlib.sha256(data.numpy().tobytes()).hexdigest()


@dataclass(frozen=True)
class Spec:
    """One method of a check: a registered ``name`` with ``params``, or a user's ``fn``."""

    label: str
    name: str | None = None
    params: Mapping[str, Any] | None = None
    fn: ExplainFn | None = None

    def explain(self, model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Maps (N, ...) of this method for ``model`` on ``x`` and ``target`` (detached)."""
        shared = _SHARED.get()
        if shared is None:
            return self._explain(model, x, target)
        params = repr(sorted((self.params or {}).items()))
        base = _base(self.name) if self.name else None
        if base in ALL_CLASS_PASS and target is not None:
            key = (base, params, _fingerprint(model), _digest(x))
            if key not in shared:
                shared[key] = attribute_all_classes(base, model, x, **self._params(model))
            t = torch.as_tensor(target, device=x.device)
            return (compete if self.name != base else pick)(shared[key], t).clone()
        method = (self.label, self.name, params, self.fn)
        key = (method, _fingerprint(model), _digest(x), _digest(torch.as_tensor(target)))
        if key not in shared:
            shared[key] = self._explain(model, x, target)
        return shared[key].clone()

    def _params(self, model: nn.Module) -> dict:
        given = self.params or {}
        return {k: (v.fn(model) if isinstance(v, PerModel) else v) for k, v in given.items()}

    def _explain(self, model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.fn is not None:
            maps = self.fn(model, x, target)
            if tuple(maps.shape) != tuple(x.shape):
                raise ValueError(
                    f"method {self.label!r} returned maps of shape {tuple(maps.shape)}, "
                    f"expected the input's {tuple(x.shape)}"
                )
            return maps.detach()
        return attribute(self.name, model, x, target, **self._params(model))


def specs(methods: Sequence[str] | Mapping[str, Any]) -> list[Spec]:
    """``methods`` (see the module docstring) as a list of :class:`Spec`; KeyError naming an
    unknown method, ValueError for an empty list."""
    if methods is None:
        raise ValueError("methods is required: registered names, {label: (name, params)} or "
                         "{label: fn}")  # fmt: skip
    if isinstance(methods, str):
        methods = [methods]
    items = methods.items() if isinstance(methods, Mapping) else ((m, m) for m in methods)
    out = []
    for label, value in items:
        if callable(value) and not isinstance(value, str):
            out.append(Spec(str(label), fn=value))
            continue
        name, params = (value, {}) if isinstance(value, str) else (value[0], dict(value[1]))
        if name not in METHODS:
            raise KeyError(f"unknown attribution method {name!r}; known: {sorted(METHODS)}")
        out.append(Spec(str(label), name, params))
    if not out:
        raise ValueError("no method to check")
    labels = [s.label for s in out]
    if len(set(labels)) != len(labels):
        raise ValueError(f"method labels must be unique, got {labels}")
    return out


def _base(name: str) -> str:
    return name.removeprefix("competitive_")


#: methods that read the layers' weights themselves (propagation rules, DASP's probabilistic
#: network, the patterns): they need a sequential model (saliency_sanity.attribution._lrp_layers)
PROPAGATION = ("lrp_0", "lrp_epsilon", "lrp_gamma", "lrp_alpha_beta", "lrp_composite",
               "deep_taylor", "dasp", "pattern_net", "pattern_attribution")  # fmt: skip


def uses_patterns(spec: Spec) -> bool:
    """PatternNet, PatternAttribution and Deep Taylor with the pattern root point."""
    from saliency_sanity.attribution.deep_taylor import ROOTS

    base = _base(spec.name or "")
    params = {**METHODS[spec.name].defaults, **(spec.params or {})} if spec.name else {}
    return base in ("pattern_net", "pattern_attribution") or (
        base == "deep_taylor" and params.get("root") == ROOTS[1]
    )


def eval_copy(model: nn.Module) -> nn.Module:
    """A deep copy in eval mode: a check never runs (or changes) the caller's model, whatever
    its mode (dropout, batch-norm statistics)."""
    import copy

    return copy.deepcopy(model).eval()


def not_applicable(spec: Spec, model: nn.Module) -> str | None:
    """Why ``spec`` cannot explain ``model`` at all, or None. The reasons are structural (the
    method needs a layer the model lacks, or data it was not given); a method that fails for any
    other reason raises."""
    if spec.name is None:
        return None
    base = _base(spec.name)
    params = {**METHODS[spec.name].defaults, **(spec.params or {})}
    if base in ("gradcam", "guided_gradcam") and params.get("layer") is None:
        has_conv = any(isinstance(m, nn.Conv2d) for m in model.modules())
        if getattr(model, "gradcam_layer", None) is None and not has_conv:
            return "GradCAM needs a convolutional layer; the model has none"
    if base == "linear":
        from saliency_sanity.attribution.linear import linear_layer

        try:
            linear_layer(model)
        except ValueError:
            return "the exact linear decomposition needs a model that is one Linear layer"
    if base in PROPAGATION:
        from saliency_sanity.attribution._lrp_layers import sequential_layers

        try:
            sequential_layers(model)
        except ValueError as err:
            return f"reads the layers one by one: {err}"
    if uses_patterns(spec) and params.get("patterns") is None:
        return "needs patterns fitted on training inputs (pass fit_inputs=)"
    return None


def own_prediction(model: nn.Module, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Top-1 class (N,) of ``model`` on ``x`` (no grad, in batches)."""
    with torch.no_grad():
        return torch.cat([model(xb).argmax(dim=1) for xb in torch.split(x, batch_size)])


#: registered methods whose maps are an elementwise function of another method's maps on the
#: same model, inputs and targets: Gradient x Input is x * Gradient (shrikumar2016, Sec. 2)
DERIVED: dict[str, tuple[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]] = {
    "gradient_input": ("gradient", lambda x, grad: x * grad),
}


def explain_each(
    specs: Sequence[Spec], model: nn.Module, x: torch.Tensor, target
) -> Iterator[tuple[Spec, torch.Tensor]]:
    """``(spec, maps)`` for each spec on one model, in order, with the targets resolved once
    (None: the model's own prediction). A method of :data:`DERIVED` is computed from its
    source's maps (one backward pass for Gradient and Gradient x Input), the same numbers as
    calling it."""
    t = targets_for(model, x, target)
    sources: dict[tuple, torch.Tensor] = {}
    for spec in specs:
        name = spec.name if spec.fn is None else None
        source, derive = DERIVED.get(name, (name, None))
        if source not in _SOURCES:
            yield spec, spec.explain(model, x, t)
            continue
        key = (source, repr(sorted((spec.params or {}).items())))
        if key not in sources:
            sources[key] = Spec(source, source, spec.params).explain(model, x, t)
        yield spec, sources[key] if derive is None else derive(x, sources[key])


_SOURCES = {source for source, _ in DERIVED.values()}


def targets_for(model: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    """``target`` as a long tensor (N,); None: ``model``'s own prediction (the class the
    original sanity-checks code explains after every randomisation step)."""
    if target is None:
        return own_prediction(model, x)
    target = torch.as_tensor(target, device=x.device).long()
    return target.expand(len(x)) if target.dim() == 0 else target
