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
  modules that never run. A normalisation layer (BatchNorm, LayerNorm, GroupNorm) is re-drawn
  with the layer before it, not as a step of its own (Quantus counts it as one).
  ``block_depth`` groups modules by their name prefix into blocks (``block_depth=1``:
  ``layer1.0.conv1`` and ``layer1.1.bn2`` form the step ``layer1``).
* **Which distribution** (``init``): ``"training"`` is the layer's own initialiser where the
  model declares one (``init_layer``), as the original sanity-checks code does, otherwise
  PyTorch's ``reset_parameters``; ``"reset"`` is always ``reset_parameters`` (Quantus' choice);
  ``"shuffle"`` permutes the trained values of each parameter tensor (keeps their marginal
  distribution, destroys their arrangement). A callable ``init(module, name, seed)`` re-draws a
  module in place any other way.
* **Seeding.** The draw for a step is seeded from the base seed and the step's *name*
  (:func:`saliency_sanity.randomization.layer_seed`), so a layer gets the same fresh weights in
  cascading and independent order, in any direction, on any device.

Every model yielded is a copy in eval mode; the model passed in is never modified. The models
of one randomisation share the tensors of the layers they have in common (each step copies only
the layers it re-draws): read them, keep them, but do not modify one in place.
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
#: normalisation layers: re-drawn in one step with the parametrised layer before them
NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)
ORDERS = ("cascading", "independent")
DIRECTIONS = ("top_down", "bottom_up")

#: a user's re-draw: ``init(module, name, seed)`` changes the named module in place; it gets
#: the base seed (derive per-layer seeds from ``name`` if wanted; Quantus' seeding needs the base)
InitFn = Callable[[nn.Module, str, int], None]


@dataclass(frozen=True)
class Step:
    """One randomisation step: its name and the modules (qualified names) it re-draws.

    ``recurse``: a module's own parameters and those of every descendant (a named layer or
    block); False for the steps :func:`forward_order` finds, which hold only the parameters of
    the module itself (its parametrised children are steps of their own)."""

    name: str
    modules: tuple[str, ...]
    recurse: bool = True


def declares_order(model: nn.Module) -> bool:
    """True for a model that names its own randomisation order (``layer_order``, ``init_layer``)."""
    return hasattr(model, "layer_order") and hasattr(model, "init_layer")


def _own_parameters(module: nn.Module) -> bool:
    return any(True for _ in module.parameters(recurse=False))


def forward_order(model: nn.Module, x: torch.Tensor) -> list[str]:
    """Qualified names of the parametrised modules of ``model`` in the order a forward pass on
    ``x[:1]`` first calls them (forward pre-hooks, so a container is placed where it starts).
    Hooks are removed and the model's modes restored. A parametrised module that never runs
    itself (its weights used functionally, e.g. ``nn.MultiheadAttention.out_proj``) follows its
    nearest ancestor that ran; one with no such ancestor is listed last. The root module's own
    parameters (a class token, say) appear under the name ``""``."""
    order: list[str] = []
    handles = []
    owners = {name: m for name, m in model.named_modules() if _own_parameters(m)}
    for name, module in owners.items():

        def hook(_m, _args, name=name):
            if name not in order:
                order.append(name)

        handles.append(module.register_forward_pre_hook(hook))
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        with torch.no_grad():
            model(x[:1])
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in modes:
            module.train(mode)
    if not order:
        raise ValueError(f"{type(model).__name__} has no parametrised module that runs")
    for name in [n for n in owners if n not in order and _used(model, owners[n], x)]:
        parents = [p for p in order if p and name.startswith(p + ".")] or (
            [""] if "" in order else []
        )
        if parents:
            order.insert(order.index(max(parents, key=len)) + 1, name)
        else:
            order.append(name)
    return order


def _used(model: nn.Module, module: nn.Module, x: torch.Tensor) -> bool:
    """Whether the output depends on ``module``'s own parameters although ``module`` never runs
    (its weights used functionally by a parent): one backward of the summed logits."""
    params = [p for p in module.parameters(recurse=False) if p.requires_grad]
    if not params:
        return False
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        with torch.enable_grad():
            out = model(x[:1])
            grads = torch.autograd.grad(out.sum(), params, allow_unused=True)
    finally:
        for m, mode in modes:
            m.train(mode)
    return any(g is not None for g in grads)


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
    if block_depth is not None and (layers is not None or declares_order(model)):
        raise ValueError(
            "block_depth groups the modules found in forward order; it cannot be combined with "
            "layers= or a model that declares its layer_order"
        )
    if layers is None and declares_order(model):
        return [Step(name, (name,)) for name in reversed(tuple(model.layer_order))]
    if layers is None:
        blocks: dict[str, list[str]] = {}
        for name in forward_order(model, x):
            key = _block(name, block_depth)
            if block_depth is None and blocks and isinstance(model.get_submodule(name), NORMS):
                key = list(blocks)[-1]  # a normalisation belongs to the layer before it
            blocks.setdefault(key, []).append(name)
        return [Step(block or "(root)", tuple(names), recurse=False)
                for block, names in blocks.items()]  # fmt: skip
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


def _targets(module: nn.Module, recurse: bool) -> list[nn.Module]:
    """The modules whose own parameters a step re-draws: the module (if it holds any) and, for
    a named layer or block, every descendant that does."""
    if not recurse:
        return [module]
    return [m for m in module.modules() if _own_parameters(m)]


def _reset(module: nn.Module, name: str, seed: int, recurse: bool = True) -> None:
    """PyTorch's ``reset_parameters`` drawn on a CPU copy from the CPU generator seeded with
    ``seed`` (the same weights on every device; no global generator is left changed), then
    copied into the module (parameters and buffers, e.g. BatchNorm's running statistics)."""
    targets = _targets(module, recurse)
    missing = [type(m).__name__ for m in targets if not hasattr(m, "reset_parameters")]
    if missing:
        raise ValueError(f"module {name!r} holds parameters in {missing} without reset_parameters")
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(int(seed))
        for target in targets:
            cpu = copy.deepcopy(target).cpu()
            cpu.reset_parameters()
            with torch.no_grad():
                for dst, src in zip(target.parameters(recurse=False),
                                    cpu.parameters(recurse=False), strict=True):  # fmt: skip
                    dst.copy_(src)
                for dst, src in zip(target.buffers(recurse=False), cpu.buffers(recurse=False),
                                    strict=True):  # fmt: skip
                    dst.copy_(src)


@torch.no_grad()
def _shuffle(module: nn.Module, name: str, seed: int, recurse: bool = True) -> None:
    gen = torch.Generator().manual_seed(int(seed))
    for target in _targets(module, recurse):
        for p in target.parameters(recurse=False):
            perm = torch.randperm(p.numel(), generator=gen).to(p.device)
            p.copy_(p.reshape(-1)[perm].reshape(p.shape))


def init_function(init: str | InitFn, model: nn.Module) -> Callable[..., None]:
    """``init`` as a function ``(model_copy, module_name, seed, recurse) -> None`` acting in
    place (``recurse``: see :class:`Step`)."""
    if callable(init):

        def custom(net, name, seed, recurse=True):
            init(_module(net, name), name, seed)

        return custom
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS} or a callable, got {init!r}")
    if init == "training" and declares_order(model):

        def training(net, name, seed, recurse=True):
            if name in net.layer_order:
                net.init_layer(name, layer_generator(seed, name))
            else:
                _reset(_module(net, name), name, layer_seed(seed, name), recurse)

        return training
    if init == "training":
        warnings.warn(
            f"{type(model).__name__} declares no init_layer: init='training' falls back to each "
            "module's reset_parameters (PyTorch's default initialiser)",
            stacklevel=3,
        )
    draw = _shuffle if init == "shuffle" else _reset

    def generic(net, name, seed, recurse=True):
        draw(_module(net, name), name, layer_seed(seed, name), recurse)

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


def _tensors(module: nn.Module) -> list[torch.Tensor]:
    return [*module.parameters(), *module.buffers()]


def _redrawn_copy(source: nn.Module, step: Step, draw: Callable[..., None], seed: int):
    """An eval-mode copy of ``source`` with ``step``'s layers re-drawn. Only the re-drawn
    modules' tensors are copied; every other parameter and buffer is ``source``'s own tensor,
    shared, so a step costs a copy of its own layers, not of the whole model. A re-draw that
    writes to a shared tensor is a bug, and raises."""
    fresh = {id(t) for name in step.modules for t in _tensors(_module(source, name))}
    shared = [t for t in _tensors(source) if id(t) not in fresh]
    versions = [t._version for t in shared]
    net = copy.deepcopy(source, {id(t): t for t in shared}).eval()
    for name in step.modules:
        draw(net, name, seed, step.recurse)
    if any(t._version != v for t, v in zip(shared, versions, strict=True)):
        raise RuntimeError(
            f"re-drawing step {step.name!r} changed a layer outside {list(step.modules)}"
        )
    return net


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
    logits, Adebayo et al.'s order) or ``"bottom_up"`` (from the input). The copies share the
    tensors of the layers they have in common (see the module docstring): do not modify one in
    place.
    """
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    draw = init_function(init, model)
    sequence = list(reversed(steps)) if direction == "top_down" else list(steps)
    original = current = _eval_copy(model)
    yield ORIGINAL, original
    for step in sequence:
        current = _redrawn_copy(current if order == "cascading" else original, step, draw, seed)
        yield step.name, current


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
                draw(net, name, int(seed), step.recurse)
        copies.append(net)
    return copies
