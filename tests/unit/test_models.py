"""The model zoo: shapes, layer order, initialisers, checkpoints, the bias-compensated network."""

import math

import pytest
import torch
from torch import nn

from saliency_sanity import models

MNIST_MODELS = sorted(models.MNIST_MODELS)


@pytest.mark.parametrize("name", MNIST_MODELS)
def test_logit_shape_and_layer_order(name):
    torch.manual_seed(0)
    model = models.build(name).eval()
    assert model(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    assert model.layer_order[0] == "logits"
    # randomisation order is the reverse of the forward order of the parameterised layers
    forward = [n for n, m in model.body.named_children() if isinstance(m, nn.Linear | nn.Conv2d)]
    assert list(model.layer_order) == forward[::-1]


@pytest.mark.parametrize("name", MNIST_MODELS)
def test_relus_are_separate_modules(name):
    model = models.build(name)
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    assert len({id(m) for m in relus}) == len(relus)


def test_paper_architectures():
    mlp = models.build("mlp")
    sizes = [(m.in_features, m.out_features) for m in mlp.modules() if isinstance(m, nn.Linear)]
    assert sizes == [(784, 2500), (2500, 1500), (1500, 500), (500, 10)]
    kind = models.build("kindermans_mlp")
    assert [m.out_features for m in kind.modules() if isinstance(m, nn.Linear)] == [
        1024, 1024, 1024, 10,
    ]  # fmt: skip
    cnn = models.build("cnn")
    assert cnn.layer("conv1").weight.shape == (32, 1, 5, 5)
    assert cnn.layer("conv2").weight.shape == (64, 32, 5, 5)
    assert cnn.layer("fc1").weight.shape == (1024, 3136)
    assert cnn.gradcam_layer == "relu2"
    assert all(m.bias is None for m in models.build("bias_free_mlp").modules()
               if isinstance(m, nn.Linear))  # fmt: skip


def test_adebayo_initialisers():
    torch.manual_seed(0)
    cnn = models.build("cnn")
    w = cnn.layer("conv2").weight.detach()
    # truncated normal sd 0.1 cut at 2 sd has sd 0.1 * 0.8796
    assert abs(float(w.std()) - 0.08796) < 0.003
    assert float(w.abs().max()) <= 0.2 + 1e-6
    assert torch.all(cnn.layer("conv2").bias == 0.1)
    mlp = models.build("mlp")
    w = mlp.layer("hidden2").weight.detach()
    expected = 2 / 2500**0.5 * 0.8796
    assert abs(float(w.std()) - expected) / expected < 0.02
    assert torch.all(mlp.layer("hidden2").bias == 0)


def test_init_layer_is_seeded():
    model = models.build("cnn")
    model.init_layer("fc1", torch.Generator().manual_seed(5))
    first = model.layer("fc1").weight.clone()
    model.init_layer("fc1", torch.Generator().manual_seed(5))
    torch.testing.assert_close(model.layer("fc1").weight, first)
    model.init_layer("fc1", torch.Generator().manual_seed(6))
    assert not torch.equal(model.layer("fc1").weight, first)
    with pytest.raises(KeyError, match="no layer 'fc9'"):
        model.init_layer("fc9")


def test_unknown_model():
    with pytest.raises(KeyError, match="unknown model 'lenet'"):
        models.build("lenet")


@pytest.mark.parametrize("name", ["kindermans_mlp", "cnn"])
def test_checkpoint_round_trip(tmp_path, name):
    torch.manual_seed(1)
    model = models.build(name)
    models.save(tmp_path / "m.pt", model, metrics={"test_accuracy": 0.5})
    loaded, meta = models.load_checkpoint(tmp_path / "m.pt")
    assert not loaded.training
    assert meta["metrics"]["test_accuracy"] == 0.5
    for (k, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), k


def test_corrupted_checkpoint_is_named(tmp_path):
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"bad\.pt: not a valid"):
        models.load(tmp_path / "bad.pt")


@pytest.mark.parametrize("shift", [-1.0, "checkerboard", "random"])
def test_bias_compensated_network_gives_the_same_logits(shift):
    """kindermans2017 Sec. 2: net2(x + m2) = net1(x) for b2 = b1 - W m2 (float64 check)."""
    torch.manual_seed(0)
    net1 = models.build("kindermans_mlp").double().eval()
    if shift == "checkerboard":
        m2 = (
            (torch.arange(28)[:, None] // 4 + torch.arange(28)[None] // 4) % 2
        ).double() * 0.6 - 0.3
        m2 = m2[None]
    elif shift == "random":
        m2 = torch.rand(1, 28, 28, dtype=torch.float64) - 0.5
    else:
        m2 = shift
    before = {k: v.clone() for k, v in net1.state_dict().items()}
    net2 = models.bias_compensated(net1, m2)
    x = torch.rand(16, 1, 28, 28, dtype=torch.float64)
    shifted = x + torch.as_tensor(m2, dtype=torch.float64)
    torch.testing.assert_close(net2(shifted), net1(x), rtol=0, atol=1e-10)
    # network 2 is a different function of the *same* input, and network 1 is untouched
    assert (net2(x) - net1(x)).abs().max() > 1e-3
    for k, v in net1.state_dict().items():
        assert torch.equal(v, before[k])


def test_compensation_error_by_hand():
    """Identity Linear(2, 2), shift m = (1, 0). Uncompensated, net2(x + m) - net1(x) = W m =
    (1, 0) for every x: the error is 1, and the top-1 class flips only for (0, 0.5) (argmax 1
    -> 0 at (1, 0.5)); (0, 2) and (1, 0) keep theirs. Compensated: (0, 0). Any batching."""
    net1 = nn.Linear(2, 2).double()
    with torch.no_grad():
        net1.weight.copy_(torch.eye(2))
        net1.bias.zero_()
    x = torch.tensor([[0.0, 0.5], [0.0, 2.0], [1.0, 0.0]], dtype=torch.float64)
    m = torch.tensor([1.0, 0.0], dtype=torch.float64)
    for batch_size in (1, 2, None):
        assert models.compensation_error(net1, net1, x, m, batch_size) == (1.0, 1)
    net2 = nn.Linear(2, 2).double()
    with torch.no_grad():
        net2.weight.copy_(torch.eye(2))
        net2.bias.copy_(-m)  # b2 = b1 - W m
    assert models.compensation_error(net1, net2, x, m) == (0.0, 0)
    # a Python-float shift on float64 networks is applied in float64 (0.3 is no float32)
    torch.manual_seed(0)
    deep = models.build("kindermans_mlp").double().eval()
    digits = torch.rand(4, 1, 28, 28, dtype=torch.float64)
    assert (
        models.compensation_error(deep, models.bias_compensated(deep, 0.3), digits, 0.3)[0] < 1e-12
    )
    broken = nn.Linear(2, 2).double()
    with torch.no_grad():
        broken.bias.fill_(float("nan"))
    assert math.isnan(models.compensation_error(net1, broken, x, m)[0])  # NaN is not hidden


def test_bias_compensation_needs_dense_first_layer():
    with pytest.raises(ValueError, match="convolution"):
        models.bias_compensated(models.build("cnn"), -1.0)
    with pytest.raises(ValueError, match="shift has 5 elements"):
        models.bias_compensated(models.build("kindermans_mlp"), torch.zeros(5))


def test_imagenet_models_random_weights():
    model = models.build("vgg16")
    assert model.layer_order[:3] == ("classifier.6", "classifier.3", "classifier.0")
    assert len(model.layer_order) == 16
    assert not any(m.inplace for m in model.modules() if isinstance(m, nn.ReLU))
