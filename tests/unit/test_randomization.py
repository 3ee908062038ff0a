"""Cascading and independent parameter randomisation (Adebayo et al. 2018, Sec. 3)."""

from __future__ import annotations

import pytest
import scipy.stats
import torch
from torch import nn

from saliency_sanity import models, randomization
from saliency_sanity.imagenet import ImageNetModel
from saliency_sanity.randomization import (
    ORIGINAL,
    accuracy,
    cascading,
    explained_class,
    independent,
    step_accuracies,
)

SEED = 1234
# sd of a standard normal truncated at +-2 sd (TF's truncated_normal), from scipy, not our code
TRUNC_SD = scipy.stats.truncnorm(-2, 2).std()


@pytest.fixture(scope="module")
def trained_cnn() -> nn.Module:
    """The adebayo2018 CNN with every parameter moved off its initial value (as training would)."""
    torch.manual_seed(0)
    model = models.build("cnn")
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen))
    return model.train()  # a non-eval mode, to check that it is left alone


@pytest.fixture(scope="module")
def runs(trained_cnn) -> dict:
    """Both procedures run once on the trained CNN, with what the model looked like before."""
    before = {k: v.detach().clone() for k, v in trained_cnn.state_dict().items()}
    params = list(trained_cnn.parameters())
    return {
        "before": before,
        "params": params,
        cascading: list(cascading(trained_cnn, SEED)),
        independent: list(independent(trained_cnn, SEED)),
    }


def _changed_layers(model: nn.Module, other: nn.Module) -> set[str]:
    """Layers of ``model.layer_order`` with any parameter differing between the two models."""
    changed = set()
    for name in model.layer_order:
        pairs = zip(model.layer(name).parameters(), other.layer(name).parameters(), strict=True)
        if any(not torch.equal(p, q) for p, q in pairs):
            changed.add(name)
    return changed


def _all_params_differ(model: nn.Module, other: nn.Module, name: str) -> bool:
    pairs = zip(model.layer(name).parameters(), other.layer(name).parameters(), strict=True)
    return all(not torch.equal(p, q) for p, q in pairs)


@pytest.mark.parametrize("procedure", [cascading, independent])
def test_original_model_untouched(trained_cnn, runs, procedure):
    before, params, steps = runs["before"], runs["params"], runs[procedure]
    after = trained_cnn.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p is q for p, q in zip(params, trained_cnn.parameters(), strict=True))
    assert trained_cnn.training
    assert all(m is not trained_cnn for _, m in steps)


@pytest.mark.parametrize("procedure", [cascading, independent])
def test_order_and_original_first(trained_cnn, runs, procedure):
    steps = runs[procedure]
    assert [name for name, _ in steps] == ["original", "logits", "fc1", "conv2", "conv1"]
    name, first = steps[0]
    assert name == ORIGINAL
    assert not _changed_layers(trained_cnn, first)
    assert all(not m.training for _, m in steps)
    # every yielded model is its own object: keeping them all is safe
    assert len({id(m) for _, m in steps}) == len(steps)


def test_cascading_changes_layers_from_the_top(trained_cnn, runs):
    order = trained_cnn.layer_order
    for k, (name, model) in enumerate(runs[cascading][1:]):
        assert name == order[k]
        assert _changed_layers(trained_cnn, model) == set(order[: k + 1])
        assert all(_all_params_differ(trained_cnn, model, n) for n in order[: k + 1])


def test_independent_changes_exactly_one_layer(trained_cnn, runs):
    for name, model in runs[independent][1:]:
        assert _changed_layers(trained_cnn, model) == {name}
        assert _all_params_differ(trained_cnn, model, name)


def test_cascading_and_independent_share_fresh_weights(trained_cnn, runs):
    casc, indep = dict(runs[cascading]), dict(runs[independent])
    for name in trained_cnn.layer_order:
        assert not _changed_layers(casc[name], indep[name]) & {name}
    # also when only a subset is randomised, in another order
    subset = dict(independent(trained_cnn, SEED, layers=["conv1", "logits"]))
    assert not _changed_layers(subset["conv1"], indep["conv1"])


def test_reinitialised_weights_follow_the_initialiser(runs):
    """Truncated normal sd 0.1 (at +-2 sd) and bias 0.1, the CNN's training-time initialiser."""
    model = dict(runs[independent])
    for name in ("conv2", "fc1"):
        layer = model[name].layer(name)
        w = layer.weight.detach().double()
        assert w.std().item() == pytest.approx(0.1 * TRUNC_SD, rel=0.02)
        assert abs(w.mean().item()) < 0.002
        assert w.abs().max().item() <= 0.2 + 1e-6
        assert torch.all(layer.bias == 0.1)


def test_mlp_fan_in_initialiser():
    """adebayo2018 MLP: sd 2/sqrt(fan_in); hidden3 has fan-in 1500."""
    torch.manual_seed(0)
    mlp = models.build("mlp")
    _, model = list(independent(mlp, SEED, layers=["hidden3"]))[1]
    w = model.layer("hidden3").weight.detach().double()
    assert w.std().item() == pytest.approx(2 / 1500**0.5 * TRUNC_SD, rel=0.02)
    assert torch.all(model.layer("hidden3").bias == 0)


def test_same_seed_reproduces_other_seed_differs(trained_cnn, runs):
    a = dict(runs[cascading])["conv1"]
    layers = ["logits", "conv2", "conv1"]  # fc1 left out: it is the slow one to draw
    b = dict(cascading(trained_cnn, SEED, layers=layers))["conv1"]
    c = dict(cascading(trained_cnn, SEED + 1, layers=layers))["conv1"]
    assert _changed_layers(a, b) == {"fc1"}
    assert _changed_layers(a, c) == {"logits", "fc1", "conv2", "conv1"}


def test_layers_get_different_generators():
    seeds = {randomization.layer_seed(SEED, n) for n in ("logits", "fc1", "conv2", "conv1")}
    assert len(seeds) == 4
    assert randomization.layer_seed(SEED, "fc1") == randomization.layer_seed(SEED, "fc1")


def test_unknown_layer_raises(trained_cnn):
    with pytest.raises(KeyError, match="fc9"):
        list(cascading(trained_cnn, SEED, layers=["fc9"]))


def test_imagenet_block_reinitialises_every_conv():
    """ImageNet models randomise blocks (several convs) with torchvision's initialiser."""
    torch.manual_seed(0)
    block = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3))
    net = nn.Sequential()
    net.add_module("stem", nn.Conv2d(3, 3, 1))
    net.add_module("block", block)
    model = ImageNetModel("vgg16", net, ("block", "stem"), "block.1")
    _, randomised = list(independent(model, SEED))[1]
    assert _changed_layers(model, randomised) == {"block"}
    for i in (0, 2):
        assert not torch.equal(block[i].weight, randomised.layer("block")[i].weight)
        assert torch.all(randomised.layer("block")[i].bias == 0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_device_kept_and_weights_device_independent(trained_cnn):
    gpu = dict(cascading(trained_cnn.to("cuda"), SEED))
    trained_cnn.to("cpu")
    cpu = dict(cascading(trained_cnn, SEED))
    assert all(p.is_cuda for p in gpu["conv1"].parameters())
    for name in trained_cnn.layer_order:
        for p, q in zip(gpu[name].parameters(), cpu[name].parameters(), strict=True):
            assert torch.equal(p.cpu(), q)


def _gradient(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Plain gradient of the target logit with respect to the input (written out here)."""
    x = x.clone().requires_grad_(True)
    logits = model(x)
    (grad,) = torch.autograd.grad(logits.gather(1, target[:, None]).sum(), x)
    return grad


@pytest.mark.parametrize("procedure", [cascading, independent])
def test_randomised_layer_changes_a_gradient_map(trained_cnn, runs, procedure):
    x = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    target = torch.tensor([3, 7])
    steps = dict(runs[procedure])
    reference = _gradient(trained_cnn.eval(), x, target)
    trained_cnn.train()
    assert torch.equal(_gradient(steps[ORIGINAL], x, target), reference)  # control
    for name in trained_cnn.layer_order:
        assert not torch.allclose(_gradient(steps[name], x, target), reference, atol=1e-6)


class _Fixed(nn.Module):
    """Predicts class 1 where the first feature is positive, else class 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([torch.zeros_like(x[:, 0]), x[:, 0]], dim=1)


def test_accuracy_in_batches():
    x = torch.tensor([[1.0], [-1.0], [2.0], [-3.0], [0.5], [-0.5], [4.0], [-4.0]])
    y = torch.tensor([1, 0, 1, 0, 0, 1, 1, 0])  # two of eight wrong
    assert accuracy(_Fixed(), x, y, batch_size=3) == pytest.approx(0.75)
    scores = step_accuracies([("a", _Fixed()), ("b", _Fixed())], x, 1 - y, batch_size=5)
    assert list(scores) == ["a", "b"]
    assert scores["a"] == pytest.approx(0.25)


def test_accuracy_restores_mode(trained_cnn):
    x = torch.rand(4, 1, 28, 28)
    accuracy(trained_cnn.train(), x, torch.zeros(4, dtype=torch.long))
    assert trained_cnn.training


def test_explained_class_modes():
    logits = torch.tensor([[0.0, 2.0, 1.0], [5.0, 1.0, 0.0]])
    labels = torch.tensor([2, 2])
    original = torch.tensor([0, 1])
    kwargs = {"randomized_logits": logits, "labels": labels, "original_pred": original}
    assert explained_class(**kwargs).tolist() == [1, 0]  # default: randomised model's prediction
    assert explained_class("original_prediction", **kwargs).tolist() == [0, 1]
    assert explained_class("label", **kwargs).tolist() == [2, 2]
    with pytest.raises(ValueError, match="one of"):
        explained_class("true_label", **kwargs)
    with pytest.raises(ValueError, match="labels"):
        explained_class("label", randomized_logits=logits)
