"""Training: learns a learnable toy, is reproducible, stops at the target accuracy; network 2."""

import pytest
import torch
from mnist_fixture import write_tiny_mnist

from saliency_sanity import data, models
from saliency_sanity.experiments.training import shifted_network, train_variant
from saliency_sanity.io import load_json
from saliency_sanity.train import TrainSpec, evaluate


@pytest.fixture(scope="module")
def mnist_root(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mnist")
    checksums = write_tiny_mnist(folder / "mirror", n_train=200, n_test=100)
    return data.fetch_mnist(folder / "root", mirror=folder / "mirror", checksums=checksums)


RECIPE = {"optimizer": "adam", "lr": 1e-2, "batch_size": 20, "epochs": 3}


def test_training_learns_and_is_reproducible(tmp_path, mnist_root):
    runs = []
    for i in range(2):
        ckpt, metrics = tmp_path / f"{i}.pt", tmp_path / f"{i}.json"
        train_variant(mnist=mnist_root, model="softmax_regression", variant="normal", recipe=RECIPE,
                      seed=3, device="cpu", checkpoint=ckpt, metrics=metrics)  # fmt: skip
        runs.append((models.load(ckpt), load_json(metrics)))
    (m0, r0), (m1, r1) = runs
    assert r0["test_accuracy"] > 0.9  # ten well-separated squares: easy
    assert r0["epochs"] == 3 and len(r0["history"]) == 3
    for a, b in zip(m0.state_dict().values(), m1.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert r0["test_accuracy"] == r1["test_accuracy"]


def test_permuted_labels_stop_at_target(tmp_path, mnist_root):
    recipe = {**RECIPE, "epochs": 60, "labels": "permuted", "target_train_accuracy": 0.5,
              "train_subset": 40}  # fmt: skip
    result = train_variant(mnist=mnist_root, model="kindermans_mlp", variant="random_labels",
                           recipe=recipe, seed=0, device="cpu", checkpoint=tmp_path / "r.pt",
                           metrics=tmp_path / "r.json")  # fmt: skip
    assert result["n_train"] == 40
    assert result["history"][-1]["train_accuracy"] > 0.5
    assert result["epochs"] < 60
    # the history before the last epoch never crossed the target
    assert all(h["train_accuracy"] <= 0.5 for h in result["history"][:-1])


def test_unknown_optimizer_and_labels(tmp_path, mnist_root):
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        bad = {**RECIPE, "optimizer": "rmsprop"}
        train_variant(mnist=mnist_root, model="softmax_regression", variant="normal", recipe=bad,
                      seed=0, device="cpu", checkpoint=tmp_path / "a.pt",
                      metrics=tmp_path / "a.json")  # fmt: skip
    assert not (tmp_path / "a.pt").exists()
    with pytest.raises(TypeError):
        TrainSpec.from_config({**RECIPE, "epoch": 3})


def test_shifted_network_matches_network_1(tmp_path, mnist_root):
    train_variant(mnist=mnist_root, model="kindermans_mlp", variant="normal",
                  recipe={**RECIPE, "epochs": 1}, seed=0, device="cpu",
                  checkpoint=tmp_path / "n1.pt", metrics=tmp_path / "n1.json")  # fmt: skip
    result = shifted_network(
        mnist=mnist_root, network1=tmp_path / "n1.pt", shift=-1.0,
        checkpoint=tmp_path / "n2.pt", metrics=tmp_path / "n2.json",
    )  # fmt: skip
    assert result["same_predictions"]
    assert result["max_abs_logit_difference"] < 1e-4
    assert result["net1_test_accuracy"] == result["net2_test_accuracy"]
    assert result["net2_input_range"] == [-1.0, 0.0]
    net2 = models.load(tmp_path / "n2.pt")
    net1 = models.load(tmp_path / "n1.pt")
    assert not torch.equal(net1.layer("fc1").bias, net2.layer("fc1").bias)


@pytest.mark.parametrize("name", ["adam", "sgd"])
def test_fused_optimizer_takes_the_textbook_step(name):
    """The fused update (one kernel per step) is the same algorithm as PyTorch's reference loop.

    Adam (Kingma & Ba, Alg. 1) and SGD with momentum, re-derived in float64 for three steps.
    """
    from saliency_sanity.train import _optimizer

    g = torch.Generator().manual_seed(0)
    model = torch.nn.Linear(4, 3).double()
    spec = TrainSpec(optimizer=name, lr=0.1, momentum=0.9)
    opt = _optimizer(spec, model)
    assert opt.defaults["fused"] is True
    w = [p.detach().clone() for p in model.parameters()]
    m = [torch.zeros_like(p) for p in w]
    v = [torch.zeros_like(p) for p in w]
    for t in range(1, 4):
        x = torch.randn(5, 4, generator=g, dtype=torch.float64)
        opt.zero_grad()
        model(x).pow(2).sum().backward()
        grads = [p.grad.detach().clone() for p in model.parameters()]
        opt.step()
        for i, gr in enumerate(grads):
            if name == "adam":
                m[i] = 0.9 * m[i] + 0.1 * gr
                v[i] = 0.999 * v[i] + 0.001 * gr**2
                m_hat, v_hat = m[i] / (1 - 0.9**t), v[i] / (1 - 0.999**t)
                w[i] = w[i] - 0.1 * m_hat / (v_hat.sqrt() + 1e-8)
            else:
                m[i] = gr if t == 1 else 0.9 * m[i] + gr
                w[i] = w[i] - 0.1 * m[i]
    for p, ref in zip(model.parameters(), w, strict=True):
        torch.testing.assert_close(p.detach(), ref, rtol=1e-12, atol=1e-12)


def test_evaluate_counts_top1_hits_whatever_the_batch_size():
    """A linear toy whose predictions are known by hand: class = index of the largest input
    coordinate; 5 of 7 labels agree, so the accuracy is 5/7 in every batching (and the
    automatic one), and the model's training flag comes back as it was."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 3, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(3))
    x = torch.eye(3)[[0, 1, 2, 0, 1, 2, 0]] + 0.1
    y = torch.tensor([0, 1, 2, 0, 1, 0, 1])  # the last two are wrong
    model.train()
    for batch_size in (None, 1, 2, 3, 7, 100):
        assert evaluate(model, x, y, batch_size=batch_size) == pytest.approx(5 / 7)
    assert model.training
    assert evaluate(model, x[:0], y[:0]) == 0.0


def test_a_conv_model_trains_channels_last_to_the_same_weights(monkeypatch):
    """Training a conv model in channels-last layout (train.memory_format) is the same maths as
    in the default layout: float64, three epochs of a small CNN, weights equal to rounding;
    afterwards every parameter is back in the default layout. A dense model, one with dropout
    and one on CUDA keep the default layout."""
    from saliency_sanity import train as T

    def cnn():
        torch.manual_seed(1)
        return torch.nn.Sequential(
            torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(4, 6, 3), torch.nn.ReLU(), torch.nn.Flatten(),
            torch.nn.Linear(6 * 4 * 4, 3),
        ).double()  # fmt: skip

    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(24, 1, 12, 12, generator=g, dtype=torch.float64), torch.arange(24) % 3
    spec = TrainSpec(lr=1e-2, batch_size=8, epochs=3)
    cpu = torch.device("cpu")
    assert T.memory_format(cnn(), cpu) == torch.channels_last
    assert T.memory_format(torch.nn.Linear(3, 2), cpu) == torch.contiguous_format
    with_dropout = torch.nn.Sequential(*cnn()[:3], torch.nn.Dropout2d(0.5))
    assert T.memory_format(with_dropout, cpu) == torch.contiguous_format
    assert T.memory_format(cnn(), torch.device("cuda")) == torch.contiguous_format
    layouts = []
    conv_weight = torch.nn.Conv2d.forward

    def spy(self, inp):  # the layout of the weight (4 input channels: the layouts differ)
        if self.in_channels > 1:
            layouts.append(self.weight.is_contiguous(memory_format=torch.channels_last))
        return conv_weight(self, inp)

    monkeypatch.setattr(torch.nn.Conv2d, "forward", spy)
    fast = cnn()
    T.train(fast, x, y, x, y, spec, seed=0, device=torch.device("cpu"))
    assert layouts and all(layouts)
    monkeypatch.setattr(T, "memory_format", lambda *_: torch.contiguous_format)
    layouts.clear()
    plain = cnn()
    T.train(plain, x, y, x, y, spec, seed=0, device=torch.device("cpu"))
    assert not any(layouts)
    for (name, a), b in zip(fast.state_dict().items(), plain.state_dict().values(), strict=True):
        assert a.is_contiguous(), name
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12, msg=name)
    assert not torch.equal(fast[0].weight, cnn()[0].weight)  # it did train


@pytest.mark.parametrize("name", ["adam", "sgd"])
def test_l2_as_weight_decay_takes_the_step_of_the_penalty_on_the_loss(name):
    """``l2`` is applied as the optimizer's weight decay on the ``l2_layers`` weights: the
    gradient of the TF-style penalty l2 * Σ w²/2 is l2 * w, which coupled weight decay adds to
    the gradient. float64, a tiny conv model, three full-batch steps of ``train`` against
    steps with the penalty written into the loss (PyTorch's reference, unfused optimizer):
    the same weights to rounding, and the decayed weights moved away from those of a run
    without ``l2``."""
    from dataclasses import replace

    from saliency_sanity import train as T
    from saliency_sanity.models import PaperModel, pytorch_default

    def model():
        torch.manual_seed(2)
        layers = [("conv1", torch.nn.Conv2d(1, 3, 3)), ("relu1", torch.nn.ReLU()),
                  ("flatten", torch.nn.Flatten()), ("fc1", torch.nn.Linear(3 * 6 * 6, 5)),
                  ("relu2", torch.nn.ReLU()), ("logits", torch.nn.Linear(5, 3))]  # fmt: skip
        inits = {n: pytorch_default for n in ("conv1", "fc1", "logits")}
        return PaperModel(layers, inits).double()

    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(12, 1, 8, 8, generator=g, dtype=torch.float64), torch.arange(12) % 3
    spec = TrainSpec(optimizer=name, lr=0.05, momentum=0.9, batch_size=12, epochs=3, l2=0.1,
                     l2_layers=("conv1", "fc1"))  # fmt: skip
    trained = model()
    T.train(trained, x, y, x, y, spec, seed=0, device=torch.device("cpu"))

    ref = model()
    opts = {"adam": lambda p: torch.optim.Adam(p, lr=0.05, foreach=False),
            "sgd": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, foreach=False)}  # fmt: skip
    opt = opts[name](ref.parameters())
    for _ in range(3):
        opt.zero_grad()
        penalty = sum(ref.layer(n).weight.pow(2).sum() / 2 for n in spec.l2_layers)
        (torch.nn.functional.cross_entropy(ref(x), y) + spec.l2 * penalty).backward()
        opt.step()
    plain = model()
    T.train(plain, x, y, x, y, replace(spec, l2=0.0), seed=0, device=torch.device("cpu"))
    for (key, a), b in zip(trained.state_dict().items(), ref.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14, msg=key)
    for key in ("conv1.weight", "fc1.weight"):
        assert not torch.allclose(trained.body.get_parameter(key), plain.body.get_parameter(key))
