"""Training of the papers' models (normal and permuted-label variants), seeded and device-aware.

Data are held as tensors on the device and shuffled with a seeded generator, which is faster
than a DataLoader for MNIST and makes two runs of the same config give the same weights on the
same device.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from .batching import rows_per_batch
from .layout import convolutional

log = logging.getLogger(__name__)

HISTORY_TEST_IMAGES = 2000


@dataclass(frozen=True)
class TrainSpec:
    """One training recipe (config ``models.<model>.<variant>``)."""

    optimizer: str = "adam"
    lr: float = 1e-4
    momentum: float = 0.0
    batch_size: int = 50
    epochs: int = 1
    #: TF-style L2 penalty ``l2 * sum(w**2) / 2`` on the weights of ``l2_layers`` (applied as
    #: the optimizer's weight decay ``l2``: the same gradient, :func:`_param_groups`)
    l2: float = 0.0
    l2_layers: tuple[str, ...] = ()
    #: stop as soon as the (permuted-label) training accuracy exceeds this; None = all epochs
    target_train_accuracy: float | None = None
    #: train on the first n (shuffled) training images only; None = all 60 000
    train_subset: int | None = None
    #: "true" labels, or labels "permuted" once (data randomisation test)
    labels: str = "true"
    paper: dict = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg: dict) -> TrainSpec:
        cfg = dict(cfg)
        cfg["l2_layers"] = tuple(cfg.get("l2_layers", ()))
        return cls(**cfg)


def _fused(model: nn.Module) -> bool:
    """Whether the optimizer can update all parameters in one fused kernel per step.

    PyTorch's fused Adam/SGD exist for floating-point parameters on the CPU and on CUDA. On the
    2-core CPU, fused Adam takes 12 ms per step of the adebayo2018 MLP instead of 30 ms (the
    unfused update walks its 5.7M parameters about ten times).
    """
    return all(
        p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in model.parameters()
    )


def memory_format(model: nn.Module, device: torch.device) -> torch.memory_format:
    """The memory format the model trains in: channels-last for a model with a 2-D convolution
    and no dropout, on a CPU; the default layout otherwise.

    On the 2-core CPU a channels-last step of the adebayo2018 CNN (batch 50) takes 0.86x the
    time of the default layout's (38.3 -> 32.9 ms), the gupta2019 AlexNet 0.92x at batch 128
    and 0.88x at 32 (benchmarks/README.md); dense models have no 4-D weights. Only the layout
    differs: the same maths up to float rounding (tests/unit/test_train.py), and the model is
    returned in the default layout. Not with dropout, whose masks on channels-last activations
    would be drawn in memory order (another draw from the same seed), and not on CUDA, where it
    was not measured.
    """
    dropout = any(isinstance(m, nn.modules.dropout._DropoutNd) for m in model.modules())
    if device.type == "cpu" and convolutional(model) and not dropout:
        return torch.channels_last
    return torch.contiguous_format


def _param_groups(model: nn.Module, spec: TrainSpec) -> list[dict]:
    """The weights of ``spec.l2_layers`` with ``weight_decay=spec.l2``, then every other
    parameter without.

    The TF-style penalty l2 * Σ w²/2 on the loss adds l2 * w to each such weight's gradient,
    which is exactly what Adam's and SGD's (coupled, not AdamW's) ``weight_decay`` adds before
    the update: the same step up to float rounding (tests/unit/test_train.py), without
    building the penalty in autograd every step (the CNN's 3.3M decayed weights: a step at
    batch 50, channels-last, one thread of a busy 2-core CPU took 64 ms of CPU time instead of
    90, best of 6 x 10 steps).
    """
    decayed = [model.layer(n).weight for n in spec.l2_layers] if spec.l2 else []
    rest = [p for p in model.parameters() if all(p is not w for w in decayed)]
    groups = [{"params": decayed, "weight_decay": spec.l2}, {"params": rest}]
    return [g for g in groups if g["params"]]


def _optimizer(spec: TrainSpec, model: nn.Module) -> torch.optim.Optimizer:
    fused, groups = _fused(model), _param_groups(model, spec)
    if spec.optimizer == "adam":
        return torch.optim.Adam(groups, lr=spec.lr, fused=fused)
    if spec.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=spec.lr, momentum=spec.momentum, fused=fused)
    raise ValueError(f"unknown optimizer {spec.optimizer!r} (expected 'adam' or 'sgd')")


@torch.no_grad()
def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int | None = None
) -> float:
    """Top-1 accuracy of ``model`` on (x, y), in eval mode (mode restored afterwards).

    ``batch_size=None`` takes :func:`~saliency_sanity.batching.rows_per_batch` of the model:
    a fixed 1000 rows ran the final 70 000-image evaluation of the CNN and AlexNet at ~1.6x the
    time of their cache-sized batch (~90 rows) on a 2-core CPU (issue 12).
    """
    if len(x) == 0:
        return 0.0
    was_training = model.training
    model.eval()
    if batch_size is None:
        batch_size = rows_per_batch(model, x[:1])
    correct = torch.zeros((), dtype=torch.long, device=x.device)  # one host sync, at the end
    for i in range(0, len(x), batch_size):
        correct += (model(x[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum()
    model.train(was_training)
    return int(correct) / len(x)


def train(
    model: nn.Module,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    spec: TrainSpec,
    seed: int,
    device: torch.device,
) -> dict:
    """Train ``model`` in place; returns the metrics (history per epoch, accuracies, wall time).

    ``y_train`` are the labels to fit (already permuted for the random-label variant); the test
    accuracy is always measured against ``y_test``.
    """
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model.to(device, memory_format=memory_format(model, device)).train()
    x_train, y_train = x_train.to(device), y_train.to(device)
    x_test, y_test = x_test.to(device), y_test.to(device)
    opt = _optimizer(spec, model)
    history: list[dict] = []
    start = time.perf_counter()
    for epoch in range(1, spec.epochs + 1):
        order = torch.randperm(len(x_train), generator=gen).to(device)
        # running sums stay on the device: no host sync per step (one per epoch, below)
        correct = torch.zeros((), dtype=torch.long, device=device)
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        batches = range(0, len(order), spec.batch_size)
        for i in tqdm(batches, desc=f"epoch {epoch}/{spec.epochs}", mininterval=30, leave=False):
            idx = order[i : i + spec.batch_size]
            logits = model(x_train[idx])
            loss = F.cross_entropy(logits, y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()  # the L2 penalty is the optimizer's weight decay (_param_groups)
            opt.step()
            with torch.no_grad():
                correct += (logits.argmax(1) == y_train[idx]).sum()
                loss_sum += loss.detach().double() * len(idx)
        total = len(order)
        record = {
            "epoch": epoch,
            "train_loss": float(loss_sum) / total,
            "train_accuracy_running": int(correct) / total,
            # the curve uses the first HISTORY_TEST_IMAGES test images (cheap per epoch); the
            # final test accuracy below uses all of them
            "test_accuracy": evaluate(
                model, x_test[:HISTORY_TEST_IMAGES], y_test[:HISTORY_TEST_IMAGES]
            ),
            "wall_time_s": time.perf_counter() - start,
        }
        if spec.target_train_accuracy is not None:
            record["train_accuracy"] = evaluate(model, x_train, y_train)
        history.append(record)
        log.info("%s", record)
        if spec.target_train_accuracy is not None and (
            record["train_accuracy"] > spec.target_train_accuracy
        ):
            log.info("training accuracy above %s: stop", spec.target_train_accuracy)
            break
    model.eval()
    metrics = {
        "history": history,
        "epochs": len(history),
        "train_accuracy": evaluate(model, x_train, y_train),
        "test_accuracy": evaluate(model, x_test, y_test),
        "wall_time_s": time.perf_counter() - start,
        "device": str(device),
        "n_train": len(x_train),
        "spec": asdict(spec),
        "seed": seed,
    }
    model.to(memory_format=torch.contiguous_format)
    return metrics
