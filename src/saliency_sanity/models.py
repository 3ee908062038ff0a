"""The papers' architectures, their initialisers, checkpoints and the bias-compensated network.

Every model declares

* ``layer_order``: its parameterised layers (module names) in the order the parameter-
  randomisation test visits them, logits first (Adebayo et al. 2018, Sec. 3);
* ``init_layer(name, generator)``: re-runs that layer's own initialiser (weights and biases), i.e.
  the training-time distribution, as the original sanity-checks code does;
* ``gradcam_layer``: the module whose output GradCAM uses (the activation after the last conv),
  or ``None`` for models without convolutions;
* ``encoding``: the input encoding it was trained on (see :func:`saliency_sanity.data.encode`).

Every ReLU is its own ``nn.ReLU`` module, used once, so that hook-based methods see each of them.
"""

from __future__ import annotations

import itertools
import math
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from saliency_sanity.io import atomic_path

MNIST_SHAPE = (1, 28, 28)
N_CLASSES = 10

Initializer = Callable[[nn.Module, torch.Generator | None], None]


def truncated_normal(std: float, bias: float = 0.0) -> Initializer:
    """TF's ``truncated_normal(stddev=std)`` (redrawn beyond 2 sd) for weights, constant bias."""

    def init(module: nn.Module, generator: torch.Generator | None = None) -> None:
        with torch.no_grad():
            w = torch.empty_like(module.weight, device="cpu")
            nn.init.trunc_normal_(w, std=std, a=-2 * std, b=2 * std, generator=generator)
            module.weight.copy_(w)
            if module.bias is not None:
                module.bias.fill_(bias)

    return init


def fan_in_truncated_normal(scale: float = 2.0) -> Initializer:
    """Truncated normal with sd = scale / sqrt(fan_in), zero bias (adebayo2018's MNIST MLP)."""

    def init(module: nn.Module, generator: torch.Generator | None = None) -> None:
        truncated_normal(scale / math.sqrt(module.weight[0].numel()))(module, generator)

    return init


def pytorch_default(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """PyTorch's default Linear/Conv initialiser (kaiming-uniform weights, uniform bias)."""
    with torch.no_grad():
        fan_in = module.weight[0].numel()
        # kaiming_uniform_(a=sqrt(5)) and the bias rule both reduce to U(-1/sqrt(fan_in), ..)
        bound = 1.0 / math.sqrt(fan_in)
        for param in (module.weight, module.bias):
            if param is not None:
                fresh = torch.empty_like(param, device="cpu")
                param.copy_(fresh.uniform_(-bound, bound, generator=generator))


class PaperModel(nn.Module):
    """Base class: a sequential body with named layers, their initialisers and metadata."""

    name: str = ""
    encoding: str = "unit"
    input_shape: tuple[int, ...] = MNIST_SHAPE
    gradcam_layer: str | None = None

    def __init__(self, layers: list[tuple[str, nn.Module]], inits: dict[str, Initializer]):
        super().__init__()
        self.body = nn.Sequential()
        for layer_name, module in layers:
            self.body.add_module(layer_name, module)
        self._inits = inits
        self.layer_order = tuple(reversed(list(inits)))
        for layer_name in inits:
            self.init_layer(layer_name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def layer(self, name: str) -> nn.Module:
        try:
            return self.body.get_submodule(name)
        except AttributeError as err:
            raise KeyError(
                f"{self.name} has no layer {name!r}; layers: {self.layer_order}"
            ) from err

    def init_layer(self, name: str, generator: torch.Generator | None = None) -> None:
        if name not in self._inits:
            raise KeyError(f"{self.name} has no layer {name!r}; layers: {self.layer_order}")
        self._inits[name](self.layer(name), generator)


def _mlp(sizes: list[int], init: Initializer, names: list[str]) -> tuple:
    layers: list[tuple[str, nn.Module]] = [("flatten", nn.Flatten())]
    inits: dict[str, Initializer] = {}
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append((names[i], nn.Linear(n_in, n_out, bias=True)))
        inits[names[i]] = init
        if i < len(sizes) - 2:
            layers.append((f"relu{i + 1}", nn.ReLU()))
    return layers, inits


class KindermansMLP(PaperModel):
    """kindermans2017, Sec. 2: MLP with 3 hidden layers of 1024 ReLUs (network 1), inputs in [0,1].

    The paper does not state the initialiser; PyTorch's default is used.
    """

    name = "kindermans_mlp"

    def __init__(self) -> None:
        names = ["fc1", "fc2", "fc3", "logits"]
        super().__init__(*_mlp([784, 1024, 1024, 1024, 10], pytorch_default, names))


class AdebayoMLP(PaperModel):
    """adebayo2018 MNIST MLP: 784-2500-1500-500-10 ReLU.

    Truncated normal weights with sd 2/sqrt(fan_in), zero biases, as the original code.
    """

    name = "mlp"

    def __init__(self) -> None:
        names = ["hidden1", "hidden2", "hidden3", "logits"]
        init = fan_in_truncated_normal(2.0)
        super().__init__(*_mlp([784, 2500, 1500, 500, 10], init, names))


class BiasFreeMLP(PaperModel):
    """A bias-free ReLU MLP: positively homogeneous, so IG(zero baseline) = Gradient x Input
    (samek2020, proposition on Integrated Gradients). Sizes as the kindermans2017 MLP."""

    name = "bias_free_mlp"

    def __init__(self) -> None:
        layers: list[tuple[str, nn.Module]] = [("flatten", nn.Flatten())]
        inits: dict[str, Initializer] = {}
        sizes = [784, 1024, 1024, 1024, 10]
        names = ["fc1", "fc2", "fc3", "logits"]
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            layers.append((names[i], nn.Linear(n_in, n_out, bias=False)))
            inits[names[i]] = pytorch_default
            if i < 3:
                layers.append((f"relu{i + 1}", nn.ReLU()))
        super().__init__(layers, inits)


class SoftmaxRegression(PaperModel):
    """A linear model f(x) = W x + b (softmax regression); samek2020's R_i = w_i x_i example."""

    name = "softmax_regression"

    def __init__(self) -> None:
        super().__init__(
            [("flatten", nn.Flatten()), ("logits", nn.Linear(784, 10))], {"logits": pytorch_default}
        )


class AdebayoCNN(PaperModel):
    """adebayo2018 MNIST CNN: conv5x5x32-pool-conv5x5x64-pool-fc1024-logits.

    Weights truncated normal sd 0.1, biases 0.1, as the original sanity-checks code. GradCAM uses
    the ReLU output of conv2 before pooling (14x14x64), as that code does.
    """

    name = "cnn"
    gradcam_layer = "relu2"

    def __init__(self) -> None:
        layers = [
            ("conv1", nn.Conv2d(1, 32, 5, padding=2)),
            ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(32, 64, 5, padding=2)),
            ("relu2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(7 * 7 * 64, 1024)),
            ("relu3", nn.ReLU()),
            ("logits", nn.Linear(1024, 10)),
        ]
        init = truncated_normal(0.1, bias=0.1)
        super().__init__(layers, {n: init for n in ("conv1", "conv2", "fc1", "logits")})


class AlexNetMNIST(PaperModel):
    """gupta2019's 1-channel AlexNet, sized for 28x28 MNIST inputs.

    AlexNet's shape (five convolutions, three max-pools, three dense layers) with widths and
    kernels scaled for 28x28 inputs and for training on a CPU: 32-64-96-96-64 channels, dense
    512-512-10. The paper gives no sizes; these are ours. PyTorch default initialiser.
    """

    name = "alexnet"
    gradcam_layer = "relu5"

    def __init__(self) -> None:
        layers = [
            ("conv1", nn.Conv2d(1, 32, 5, padding=2)),
            ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),  # 14x14
            ("conv2", nn.Conv2d(32, 64, 5, padding=2)),
            ("relu2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),  # 7x7
            ("conv3", nn.Conv2d(64, 96, 3, padding=1)),
            ("relu3", nn.ReLU()),
            ("conv4", nn.Conv2d(96, 96, 3, padding=1)),
            ("relu4", nn.ReLU()),
            ("conv5", nn.Conv2d(96, 64, 3, padding=1)),
            ("relu5", nn.ReLU()),
            ("pool5", nn.MaxPool2d(2)),  # 3x3
            ("flatten", nn.Flatten()),
            ("fc6", nn.Linear(64 * 3 * 3, 512)),
            ("relu6", nn.ReLU()),
            ("fc7", nn.Linear(512, 512)),
            ("relu7", nn.ReLU()),
            ("logits", nn.Linear(512, 10)),
        ]
        names = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "logits")
        super().__init__(layers, {n: pytorch_default for n in names})


MNIST_MODELS: dict[str, type[PaperModel]] = {
    cls.name: cls
    for cls in (KindermansMLP, AdebayoMLP, AdebayoCNN, AlexNetMNIST, BiasFreeMLP, SoftmaxRegression)
}


def build(name: str, **kwargs: Any) -> nn.Module:
    """Build a model of the zoo by name (MNIST tier, or ``imagenet`` models with ``weights=``)."""
    if name in MNIST_MODELS:
        if kwargs:
            raise TypeError(f"{name} takes no options, got {sorted(kwargs)}")
        return MNIST_MODELS[name]()
    from saliency_sanity import imagenet

    if name in imagenet.MODELS:
        return imagenet.build(name, **kwargs)
    raise KeyError(
        f"unknown model {name!r}; known: {sorted(MNIST_MODELS)} + {sorted(imagenet.MODELS)}"
    )


def save(path: str | Path, model: PaperModel, **meta: Any) -> None:
    """Save a checkpoint: the model's name, its state dict and any metadata (config, metrics)."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"name": model.name, "state_dict": state, "meta": meta}, tmp)


def save_spec(path: str | Path, **spec: Any) -> None:
    """An ImageNet-tier model as a spec (``.json``: name, weights, seed, where the weights live):
    the weights are torchvision's, read from ``TORCH_HOME``, never copied into results/."""
    from saliency_sanity.io import save_json

    save_json(path, spec)


def load_checkpoint(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[PaperModel, dict]:
    """Load a checkpoint written by :func:`save` (or an ImageNet spec written by
    :func:`save_spec`): (eval-mode model on ``device``, metadata)."""
    if str(path).endswith(".json"):
        return _load_spec(path, device)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        model = build(ckpt["name"])
        model.load_state_dict(ckpt["state_dict"])
    except (RuntimeError, KeyError, OSError, EOFError, pickle.UnpicklingError) as err:
        raise ValueError(f"{path}: not a valid saliency_sanity checkpoint ({err})") from err
    return model.to(device).eval(), ckpt.get("meta", {})


def _load_spec(path, device) -> tuple[nn.Module, dict]:
    from saliency_sanity import imagenet
    from saliency_sanity.io import load_json

    spec = load_json(path)
    if spec.get("torch_home"):
        torch.hub.set_dir(str(Path(spec["torch_home"]) / "hub"))
    model = imagenet.build(spec["name"], spec["weights"], seed=spec["seed"],
                           allow_download=spec["allow_download"])  # fmt: skip
    return model.to(device).eval(), spec


def load(path: str | Path, device: str | torch.device = "cpu") -> PaperModel:
    """Load a checkpoint as an eval-mode model."""
    return load_checkpoint(path, device)[0]


def first_linear(model: nn.Module) -> tuple[str, nn.Linear]:
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear | nn.Conv2d):
            if not isinstance(module, nn.Linear):
                raise ValueError(
                    f"{type(model).__name__}: first layer {name} is a convolution; the bias "
                    "compensation b2 = b1 - W m2 needs a dense first layer"
                )
            return name, module
    raise ValueError(f"{type(model).__name__} has no dense layer")


def bias_compensated(model: PaperModel, shift: torch.Tensor | float) -> PaperModel:
    """Network 2 of kindermans2017 (Sec. 2): a copy whose first-layer bias is b2 = b1 - W m2.

    Then ``net2(x + m2) == net1(x)`` for every x: W (x + m2) + b1 - W m2 = W x + b1. ``shift``
    (m2) is a scalar or a tensor of the input's shape. The original model is left unchanged.
    The compensation is the checks' (:func:`saliency_sanity.checks.compensated`, which also
    handles convolutions); here the papers' dense first layer is required.
    """
    from saliency_sanity.checks.input_invariance import compensated, shift_tensor

    _, layer = first_linear(model)
    m2 = torch.as_tensor(shift, dtype=layer.weight.dtype, device=layer.weight.device)
    if m2.numel() != 1 and m2.numel() != layer.in_features:
        raise ValueError(
            f"shift has {m2.numel()} elements, the first layer takes {layer.in_features}"
        )
    x = torch.zeros(1, *model.input_shape, dtype=m2.dtype, device=m2.device)
    m2 = shift_tensor(m2.reshape(model.input_shape) if m2.numel() > 1 else m2, x)
    return compensated(model, x, m2).train(model.training)


@torch.no_grad()
def compensation_error(
    net1: nn.Module, net2: nn.Module, x: torch.Tensor, shift, batch_size: int | None = None
) -> tuple[float, int]:
    """How far network 2 on x + shift is from network 1 on x (kindermans2017 Sec. 2: both are
    0 up to rounding for :func:`bias_compensated`): (max |net1(x) - net2(x + shift)| over
    ``x``, the number of inputs whose top-1 class differs). Batches of ``batch_size`` rows
    (None: :func:`~saliency_sanity.batching.rows_per_batch` of network 1) move to network 1's
    device one at a time."""
    from saliency_sanity.batching import rows_per_batch

    dev = next(net1.parameters()).device
    shift = torch.as_tensor(shift, dtype=x.dtype, device=dev)  # a float shift stays exact
    worst, differ = torch.zeros((), dtype=torch.float64, device=dev), 0
    for batch in x.split(batch_size or rows_per_batch(net1, x[:1].to(dev))):
        batch = batch.to(dev)
        out1, out2 = net1(batch), net2(batch + shift)
        worst = torch.maximum(worst, (out1 - out2).abs().max().double())  # NaN propagates
        differ += int((out1.argmax(1) != out2.argmax(1)).sum())
    return float(worst), differ
