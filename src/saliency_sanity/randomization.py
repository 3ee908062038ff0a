"""Model parameter randomisation: cascading and independent re-initialisation.

The parameter-randomisation test of Adebayo et al. (2018, Sec. 3; NeurIPS version Sec. 4)
compares a saliency map of the trained model with maps of models whose weights were re-drawn:

* **cascading** randomisation re-initialises the layers cumulatively, from the logits down to the
  first layer (step k has the top k layers random, the rest trained);
* **independent** randomisation (gupta2019's "layerwise") re-initialises one layer at a time and
  keeps every other layer trained.

Each layer is re-initialised with the model's own training-time initialiser,
``model.init_layer(name, generator)`` (weights and biases; batch-norm running statistics are not
reset), as the original sanity-checks code does. Every step works on a copy: the model passed
in is never modified.

Seeding: the generator for a layer is derived from the base seed **and the layer's name**
(:func:`layer_seed`), not from its position. So the fresh weights of a layer are the same in
cascading step k, in the independent randomisation of that layer, and in any subset or order of
layers. Generators live on the CPU and the initialisers draw on the CPU before copying to the
model's device, so the weights do not depend on the device.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence

import torch
from torch import nn

#: Name of the first item yielded by :func:`cascading` and :func:`independent`.
ORIGINAL = "original"

#: Which class is explained after randomisation (see :func:`explained_class`).
EXPLAINED_CLASS_MODES = ("randomized_prediction", "original_prediction", "label")

Step = tuple[str, nn.Module]


def layer_seed(seed: int, name: str) -> int:
    """A 63-bit seed for layer ``name``, derived from the base ``seed`` (stable across runs).

    Uses SHA-256 of ``"<seed>:<name>"`` rather than Python's salted ``hash``.
    """
    digest = hashlib.sha256(f"{int(seed)}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def layer_generator(seed: int, name: str) -> torch.Generator:
    """A fresh CPU generator for re-initialising layer ``name`` (see :func:`layer_seed`)."""
    return torch.Generator().manual_seed(layer_seed(seed, name))


def randomize_layer(model: nn.Module, name: str, seed: int) -> nn.Module:
    """Re-initialise layer ``name`` of ``model`` **in place** with its own initialiser.

    Returns ``model``. Use :func:`cascading` / :func:`independent` to keep the original intact.
    """
    model.init_layer(name, layer_generator(seed, name))
    return model


def _layers(model: nn.Module, layers: Sequence[str] | None) -> tuple[str, ...]:
    order = tuple(model.layer_order)
    if layers is None:
        return order
    unknown = [name for name in layers if name not in order]
    if unknown:
        raise KeyError(f"unknown layers {unknown}; the model's layers are {order}")
    return tuple(layers)


def _zoo_steps(order: Sequence[str]):
    """The steps of :mod:`saliency_sanity.checks.layers` for a zoo order (logits first): the
    engine of every randomisation in the project lives there, once."""
    from saliency_sanity.checks.layers import Step as LayerStep

    return [LayerStep(name, (name,)) for name in reversed(tuple(order))]


def _randomized(model: nn.Module, seed: int, layers, order: str) -> Iterator[Step]:
    from saliency_sanity.checks.layers import randomized_models

    steps = _zoo_steps(_layers(model, layers))
    return randomized_models(model, steps, order=order, direction="top_down", seed=seed)


def untrained_copies(model: nn.Module, seeds: Sequence[int]) -> list[nn.Module]:
    """Copies of a zoo ``model`` with every layer re-drawn from its own initialiser, one per
    seed: independent, untrained networks of the same architecture, the null of a
    randomisation test (:func:`saliency_sanity.checks.layers.untrained_copies`)."""
    from saliency_sanity.checks.layers import untrained_copies as copies

    return copies(model, _zoo_steps(model.layer_order), seeds=[int(s) for s in seeds])


def cascading(model: nn.Module, seed: int, layers: Sequence[str] | None = None) -> Iterator[Step]:
    """Cascading randomisation (Adebayo et al. 2018, Sec. 3, "cascading randomization").

    Parameters
    ----------
    model
        A zoo model (``layer_order``, ``init_layer``); left untouched.
    seed
        Base seed; layer ``name`` gets the generator :func:`layer_generator` ``(seed, name)``.
    layers
        Layers to randomise, in this order; default ``model.layer_order`` (logits first).

    Yields
    ------
    (name, model)
        First ``("original", copy of model)``, then after each layer ``name`` a new eval-mode
        copy in which that layer and all layers before it in the order are re-initialised.
        Each yielded model is its own object (on the input model's device), safe to keep; the
        copies share the tensors of the layers they have in common (only a re-drawn layer is
        copied), so do not modify one in place.
    """
    yield from _randomized(model, seed, layers, "cascading")


def independent(model: nn.Module, seed: int, layers: Sequence[str] | None = None) -> Iterator[Step]:
    """Independent randomisation (Adebayo et al. 2018, Sec. 3; gupta2019's "layerwise").

    Same arguments as :func:`cascading`. Yields ``("original", copy)``, then for each layer
    ``name`` an eval-mode copy of ``model`` in which only that layer is re-initialised, with
    the same fresh weights as in the cascading step of that layer (and the other layers'
    tensors shared with the original's copy).
    """
    yield from _randomized(model, seed, layers, "independent")


def _device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Top-1 predictions (N,) of ``model`` on ``x``, in eval mode and in batches (on x's device).

    The model's training/eval mode is restored afterwards.
    """
    was_training = model.training
    model.eval()
    try:
        device = _device(model)
        preds = [model(xb.to(device)).argmax(dim=1) for xb in torch.split(x, batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(preds).to(x.device)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256) -> float:
    """Top-1 accuracy of ``model`` on ``(x, y)`` as a fraction in [0, 1]."""
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} samples, y has {len(y)}")
    if len(x) == 0:
        raise ValueError("accuracy of an empty set")
    preds = predict(model, x, batch_size)
    return (preds.cpu() == y.cpu()).float().mean().item()


def step_accuracies(
    steps: Iterable[Step], x: torch.Tensor, y: torch.Tensor, batch_size: int = 256
) -> dict[str, float]:
    """Accuracy after each randomisation step: ``{name: accuracy}`` in the steps' order.

    Used for the column titles of adebayo2018's cascading grids (Fig. 1, Figs. 4-9).
    """
    return {name: accuracy(model, x, y, batch_size) for name, model in steps}


def explained_class(
    mode: str = "randomized_prediction",
    randomized_logits: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
    original_pred: torch.Tensor | None = None,
) -> torch.Tensor:
    """The class (N,) whose map is computed for a randomised model.

    Parameters
    ----------
    mode
        ``"randomized_prediction"`` (default): the randomised model's own top prediction, as the
        original sanity-checks code does (REPLICATION-NOTES); ``"original_prediction"``: the
        trained model's prediction; ``"label"``: the true label.
    randomized_logits
        (N, K) logits of the randomised model; needed for ``"randomized_prediction"``.
    labels, original_pred
        (N,) true labels / trained model's predictions; needed for their modes.
    """
    sources = {
        "randomized_prediction": ("randomized_logits", randomized_logits),
        "original_prediction": ("original_pred", original_pred),
        "label": ("labels", labels),
    }
    if mode not in sources:
        raise ValueError(
            f"explained class mode must be one of {EXPLAINED_CLASS_MODES}, got {mode!r}"
        )
    arg, source = sources[mode]
    if source is None:
        raise ValueError(f"explained class mode {mode!r} needs {arg}, got None")
    if mode == "randomized_prediction":
        return source.argmax(dim=1)
    return source.long()
