"""The API contract: the model is left as found, bad inputs raise clear errors, ReLU patching
works for functional and reused ReLUs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from _attribution_models import FunctionalMLP, ReusedReLUMLP, TinyCNN, TinyMLP, images
from torch import nn

from saliency_sanity import models
from saliency_sanity.attribution import METHODS, attribute, attribute_all_classes

PART1 = [
    "gradient",
    "gradient_input",
    "integrated_gradients",
    "smoothgrad",
    "vargrad",
    "guided_backprop",
    "deconvnet",
    "gradcam",
    "guided_gradcam",
    "occlusion",
]
FAST = {
    "integrated_gradients": {"steps": 4},
    "smoothgrad": {"samples": 3},
    "vargrad": {"samples": 3},
}
PART1_ALL = [*PART1, *(f"competitive_{m}" for m in PART1)]


def _params(name: str) -> dict:
    return FAST.get(name.removeprefix("competitive_"), {})


def _hooks(model: nn.Module) -> int:
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        for m in model.modules()
    )


def _snapshot(model: nn.Module):
    return (
        {k: v.clone() for k, v in model.state_dict().items()},
        _hooks(model),
        [m.training for m in model.modules()],
        [p.requires_grad for p in model.parameters()],
        (F.relu, torch.relu, torch.Tensor.relu),
    )


def _assert_unchanged(model: nn.Module, before) -> None:
    state, hooks, modes, grads, relus = before
    after = model.state_dict()
    assert all(torch.equal(state[k], after[k]) for k in state)
    assert _hooks(model) == hooks
    assert [m.training for m in model.modules()] == modes
    assert [p.requires_grad for p in model.parameters()] == grads
    assert (F.relu, torch.relu, torch.Tensor.relu) == relus


class Exploding(TinyCNN):
    """Raises in the n-th forward call (after the API's own validation forward)."""

    def __init__(self, generator, fail_at: int) -> None:
        super().__init__(generator)
        self.calls, self.fail_at = 0, fail_at

    def forward(self, x):
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("boom")
        return super().forward(x)


def test_every_part1_method_is_registered():
    assert set(PART1_ALL) | {"linear", "competitive_linear"} <= set(METHODS)


@pytest.mark.parametrize("name", PART1_ALL)
def test_model_left_as_found(name, generator):
    model, x = TinyCNN(generator), images(generator, n=2)
    model.train()
    model[1].train(False)  # a mixed mode must come back as it was
    model[0].weight.requires_grad_(False)
    before = _snapshot(model)
    maps = attribute(name, model, x, torch.tensor([0, 1]), **_params(name))
    assert maps.shape == x.shape and torch.isfinite(maps).all()
    _assert_unchanged(model, before)


@pytest.mark.parametrize("name", PART1_ALL)
def test_model_left_as_found_after_an_exception(name, generator):
    model, x = Exploding(generator, fail_at=2), images(generator, n=2)
    model.train()
    before = _snapshot(model)
    with pytest.raises(RuntimeError, match="boom"):
        attribute(name, model, x, torch.tensor([0, 1]), **_params(name))
    _assert_unchanged(model, before)


def test_linear_left_as_found_after_its_error():
    model = models.build("cnn").train()
    before = _snapshot(model)
    with pytest.raises(ValueError):
        attribute("linear", model, torch.rand(1, 1, 28, 28))
    _assert_unchanged(model, before)


@pytest.mark.parametrize("name", PART1)
def test_all_classes_shape_and_model_left_as_found(name, generator):
    model, x = TinyCNN(generator), images(generator, n=2)
    before = _snapshot(model)
    maps = attribute_all_classes(name, model, x, **_params(name))
    assert maps.shape == (2, 5, 1, 8, 8)
    _assert_unchanged(model, before)


def test_unknown_method_raises_key_error_naming_it(generator):
    with pytest.raises(KeyError, match="no_such_method"):
        attribute("no_such_method", TinyMLP(generator), images(generator))
    with pytest.raises(KeyError, match="no_such_base"):
        attribute("smoothgrad", TinyMLP(generator), images(generator), base="no_such_base")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_input_raises(bad, generator):
    x = images(generator)
    x[0, 0, 1, 1] = bad
    with pytest.raises(ValueError, match="NaN or inf"):
        attribute("gradient", TinyMLP(generator), x)


@pytest.mark.parametrize(
    ("target", "match"), [([0, 1], "shape"), ([0, 1, 5], "out of range"), ([0, -1, 2], "range")]
)
def test_bad_target_raises(target, match, generator):
    with pytest.raises(ValueError, match=match):
        attribute("gradient", TinyMLP(generator), images(generator, n=3), torch.tensor(target))


@pytest.mark.parametrize("target", [None, 0], ids=["predicted", "given"])
def test_model_with_wrong_output_shape_raises(target, generator):
    """A given target learns K from the cached probe, not from a forward pass of its own: the
    output's shape is checked on both paths, and for every class."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 5), nn.Unflatten(1, (5, 1))).double()
    with pytest.raises(ValueError, match="logits of shape"):
        attribute("gradient", model, images(generator), target)
    with pytest.raises(ValueError, match="logits of shape"):
        attribute_all_classes("gradient", model, images(generator))


def test_gradcam_layer_errors(generator):
    x = images(generator)
    with pytest.raises(ValueError, match="does not exist"):
        attribute("gradcam", TinyCNN(generator), x, layer="nope")
    with pytest.raises(ValueError, match="convolutional"):
        attribute("gradcam", nn.Sequential(nn.Flatten(), nn.Linear(64, 5)).double(), x)
    with pytest.raises(ValueError, match="convolutional"):
        attribute("gradcam", models.build("mlp"), torch.rand(1, 1, 28, 28))


def test_integrated_gradients_bad_baseline(generator):
    with pytest.raises(ValueError, match="baseline"):
        attribute("integrated_gradients", TinyMLP(generator), images(generator), baseline="white")


@pytest.mark.parametrize("name", ["guided_backprop", "deconvnet"])
@pytest.mark.parametrize("variant", ["functional", "reused", "reused_inplace"])
def test_relu_rules_see_functional_and_reused_relus(name, variant, generator):
    mlp, x = TinyMLP(generator), images(generator, n=4)
    target = torch.tensor([0, 1, 2, 3])
    other = {
        "functional": lambda: FunctionalMLP(mlp),
        "reused": lambda: ReusedReLUMLP(mlp),
        "reused_inplace": lambda: ReusedReLUMLP(mlp, inplace=True),
    }[variant]()
    expected = attribute(name, mlp, x, target)
    assert not torch.allclose(expected, attribute("gradient", mlp, x, target))  # rule matters
    torch.testing.assert_close(attribute(name, other, x, target), expected, atol=1e-12, rtol=0)
