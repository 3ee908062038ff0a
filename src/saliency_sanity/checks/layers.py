"""The layers a randomisation check re-draws, their order, and how they are re-drawn.

A step of the parameter-randomisation test (Adebayo et al. 2018, Sec. 3) re-draws the parameters
of one layer, or of one block of layers. Which layers, in which order, and with which
distribution decides the result (Hedström et al. 2023; REPLICATION-NOTES, "Quantus"), so each is
explicit here:

* **Which layers.** A model that declares ``layer_order`` (the zoo models and the ImageNet tier)
  is randomised in that order, with its ``init_layer``. Any other model: its *parametrised*
  modules (modules that hold parameters themselves), in **forward-execution order**, found with
  one forward pass and hooks that are removed afterwards. Registration order (Quantus' choice)
  differs from execution order whenever a module is defined before it is used, and counts
  modules that never run. ``block_depth`` groups modules by their name prefix into blocks
  (``block_depth=1``: ``layer1.0.conv1`` and ``layer1.1.bn2`` form the step ``layer1``).
* **Which distribution** (``init``): ``"training"`` is the layer's own initialiser where the
  model declares one (``init_layer``), as the original sanity-checks code does, otherwise
  PyTorch's ``reset_parameters``; ``"reset"`` is always ``reset_parameters`` (Quantus' choice);
  ``"shuffle"`` permutes the trained values of each parameter tensor (keeps their marginal
  distribution, destroys their arrangement). A callable ``init(module, name, seed)`` re-draws a
  module in place any other way.
* **Seeding.** The draw for a step is seeded from the base seed and the step's *name*
  (:func:`saliency_sanity.randomization.layer_seed`), so a layer gets the same fresh weights in
  cascading and independent order, in any direction, on any device.

Every model yielded is a deep copy in eval mode; the model passed in is never modified.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from saliency_sanity.randomization import ORIGINAL, layer_generator, layer_seed

INITS = ("training", "reset", "shuffle")
ORDERS = ("cascading", "independent")
DIRECTIONS = ("top_down", "bottom_up")

InitFn = Callable[[nn.Module, str, int], None]


@dataclass(frozen=True)
class Step:
    """One randomisation step: its name and the modules (qualified names) it re-draws."""

    name: str
    modules: tuple[str, ...]


def declares_order(model: nn.Module) -> bool:
    """True for a model that names its own randomisation order (``layer_order``, ``init_layer``)."""
    return hasattr(model, "layer_order") and hasattr(model, "init_layer")


def _own_parameters(module: nn.Module) -> bool:
    return any(True for _ in module.parameters(recurse=False))


def forward_order(model: nn.Module, x: torch.Tensor) -> list[str]:
    """Qualified names of the parametrised modules of ``model`` in the order a forward pass on
    ``x[:1]`` first calls them (modules that never run are left out). Hooks are removed, the
    model's mode is restored."""
    order: list[str] = []
    handles = []
    for name, module in model.named_modules():
        if _own_parameters(module):

            def hook(_m, _i, _o, name=name):
                if name not in order:
                    order.append(name)

            handles.append(module.register_forward_hook(hook))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x[:1])
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    if not order:
        raise ValueError(f"{type(model).__name__} has no parametrised module that runs")
    return order


def _block(name: str, depth: int | None) -> str:
    return name if depth is None else ".".join(name.split(".")[:depth])


def steps_of(
    model: nn.Module,
    x: torch.Tensor,
    layers: Sequence[str | Sequence[str]] | None = None,
    block_depth: int | None = None,
) -> list[Step]:
    """The randomisation steps of ``model``, listed **from the input to the output**.

    ``layers``: module names (or lists of names, one block each) in forward order; default: the
    model's ``layer_order`` reversed (it lists the logits first) or, for any other model,
    :func:`forward_order` grouped by ``block_depth`` name components.
    """
    if block_depth is not None and block_depth < 1:
        raise ValueError(f"block_depth must be a positive number of name parts, got {block_depth}")
    if layers is None and declares_order(model):
        return [Step(name, (name,)) for name in reversed(tuple(model.layer_order))]
    if layers is None:
        blocks: dict[str, list[str]] = {}
        for name in forward_order(model, x):
            blocks.setdefault(_block(name, block_depth), []).append(name)
        return [Step(block, tuple(names)) for block, names in blocks.items()]
    known = dict(model.named_modules())
    steps = []
    for item in layers:
        names = (item,) if isinstance(item, str) else tuple(item)
        if declares_order(model) and all(n in model.layer_order for n in names):
            steps.append(Step(names[0] if len(names) == 1 else "+".join(names), names))
            continue
        unknown = [n for n in names if n not in known]
        if unknown:
            raise KeyError(f"unknown layer(s) {unknown}; the model's modules are {list(known)}")
        steps.append(Step(names[0] if len(names) == 1 else "+".join(names), names))
    if not steps:
        raise ValueError("no layer to randomise")
    return steps


def _targets(module: nn.Module) -> list[nn.Module]:
    """The module itself when it holds parameters, else every descendant that does (a block)."""
    if _own_parameters(module):
        return [module]
    return [m for m in module.modules() if _own_parameters(m)]


def _reset(module: nn.Module, name: str, seed: int) -> None:
    targets = _targets(module)
    missing = [type(m).__name__ for m in targets if not hasattr(m, "reset_parameters")]
    if missing:
        raise ValueError(f"module {name!r} holds parameters in {missing} without reset_parameters")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for target in targets:
            target.reset_parameters()


@torch.no_grad()
def _shuffle(module: nn.Module, name: str, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    for target in _targets(module):
        for p in target.parameters(recurse=False):
            perm = torch.randperm(p.numel(), generator=gen).to(p.device)
            p.copy_(p.reshape(-1)[perm].reshape(p.shape))


def init_function(init: str | InitFn, model: nn.Module) -> Callable[[nn.Module, str, int], None]:
    """``init`` as a function ``(model_copy, step_module_name, seed) -> None`` acting in place."""
    if callable(init):

        def custom(net, name, seed):
            init(_module(net, name), name, seed)

        return custom
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS} or a callable, got {init!r}")
    if init == "training" and declares_order(model):

        def training(net, name, seed):
            if name in net.layer_order:
                net.init_layer(name, layer_generator(seed, name))
            else:
                _reset(_module(net, name), name, layer_seed(seed, name))

        return training
    if init == "training":
        warnings.warn(
            f"{type(model).__name__} declares no init_layer: init='training' falls back to each "
            "module's reset_parameters (PyTorch's default initialiser)",
            stacklevel=3,
        )
    draw = _shuffle if init == "shuffle" else _reset

    def generic(net, name, seed):
        draw(_module(net, name), name, layer_seed(seed, name))

    return generic


def _module(net: nn.Module, name: str) -> nn.Module:
    """Module ``name`` of ``net``; zoo layer names live inside ``body`` (MNIST) or ``net``
    (the ImageNet tier's wrapper)."""
    for prefix in ("", "body.", "net."):
        try:
            return net.get_submodule(prefix + name)
        except AttributeError:
            continue
    raise KeyError(f"no module {name!r} in {type(net).__name__}")


def _eval_copy(model: nn.Module) -> nn.Module:
    return copy.deepcopy(model).eval()


def randomized_models(
    model: nn.Module,
    steps: Sequence[Step],
    *,
    order: str = "cascading",
    direction: str = "top_down",
    init: str | InitFn = "training",
    seed: int = 0,
) -> Iterator[tuple[str, nn.Module]]:
    """``("original", copy)``, then one ``(step name, randomised copy)`` per step.

    ``order``: ``"cascading"`` (each step adds its layers to those already random) or
    ``"independent"`` (only this step's layers random). ``direction``: ``"top_down"`` (from the
    logits, Adebayo et al.'s order) or ``"bottom_up"`` (from the input).
    """
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    draw = init_function(init, model)
    sequence = list(reversed(steps)) if direction == "top_down" else list(steps)
    current = _eval_copy(model)
    yield ORIGINAL, current
    for step in sequence:
        net = _eval_copy(current if order == "cascading" else model)
        for name in step.modules:
            draw(net, name, seed)
        current = net
        yield step.name, net


def untrained_copies(
    model: nn.Module,
    steps: Sequence[Step],
    *,
    init: str | InitFn = "training",
    seeds: Sequence[int] = (1001, 1002),
) -> list[nn.Module]:
    """Copies of ``model`` with every step re-drawn, one per seed: independent, untrained networks
    of the same architecture, the null of every randomisation check (what two maps share when
    the networks share nothing but the architecture and the input)."""
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"the null needs different seeds, got {list(seeds)}")
    draw = init_function(init, model)
    copies = []
    for seed in seeds:
        net = _eval_copy(model)
        for step in steps:
            for name in step.modules:
                draw(net, name, int(seed))
        copies.append(net)
    return copies
