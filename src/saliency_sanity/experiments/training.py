"""Training experiments: one trained model variant per call, checkpoint + metrics JSON."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from saliency_sanity import data, models, runtime
from saliency_sanity.io import save_json
from saliency_sanity.train import TrainSpec, evaluate, train

log = logging.getLogger(__name__)


def training_data(mnist_root: str | Path, spec: TrainSpec, encoding: str, seed: int):
    """(x_train, y_train, x_test, y_test) for a recipe: encoding, permuted labels, subset."""
    mnist = data.load_mnist(mnist_root)
    x_train, y_train = data.encode(mnist.train_images, encoding), mnist.train_labels
    if spec.labels == "permuted":
        y_train = data.permuted_labels(y_train, seed)
    elif spec.labels != "true":
        raise ValueError(f"labels must be 'true' or 'permuted', got {spec.labels!r}")
    if spec.train_subset is not None:
        keep = np.sort(np.random.default_rng(seed).permutation(len(y_train))[: spec.train_subset])
        x_train, y_train = x_train[keep], y_train[keep]
    x_test = data.encode(mnist.test_images, encoding)
    return x_train, torch.from_numpy(y_train), x_test, torch.from_numpy(mnist.test_labels)


def train_variant(
    *,
    mnist: str | Path,
    model: str,
    variant: str,
    recipe: dict,
    seed: int,
    device: str,
    checkpoint: str | Path,
    metrics: str | Path,
) -> dict:
    """Train ``model`` with ``recipe`` (config ``models.<model>.<variant>``) and save it."""
    runtime.seed_everything(seed)
    dev = runtime.device(device)
    spec = TrainSpec.from_config(recipe)
    net = models.build(model)
    x_train, y_train, x_test, y_test = training_data(mnist, spec, net.encoding, seed)
    log.info("training %s (%s) on %d images, device %s", model, variant, len(x_train), dev)
    result = train(net, x_train, y_train, x_test, y_test, spec, seed, dev)
    result.update(model=model, variant=variant)
    models.save(checkpoint, net.cpu(), variant=variant, metrics=result)
    save_json(metrics, result)
    return result


def shifted_network(
    *, mnist: str | Path, network1: str | Path, shift: float, checkpoint, metrics
) -> dict:
    """Network 2 of kindermans2017 (Sec. 2): bias-compensated copy for inputs x + shift.

    Checks the claim that both networks give the same outputs: test accuracy of each on its own
    encoding, and the max abs logit difference over the whole test set.
    """
    net1, meta = models.load_checkpoint(network1)
    net2 = models.bias_compensated(net1, shift)
    images = data.load_mnist(mnist)
    x1 = data.encode(images.test_images, net1.encoding)
    x2 = x1 + shift
    y = torch.from_numpy(images.test_labels)
    max_diff, differ = models.compensation_error(net1, net2, x1, shift)
    same_pred = differ == 0
    result = {
        "shift": shift,
        "net1_test_accuracy": evaluate(net1, x1, y),
        "net2_test_accuracy": evaluate(net2, x2, y),
        "max_abs_logit_difference": max_diff,
        "same_predictions": same_pred,
        "net2_input_range": [float(x2.min()), float(x2.max())],
    }
    log.info("%s", result)
    models.save(checkpoint, net2, variant="shifted", metrics=result, parent=meta)
    save_json(metrics, result)
    return result


def imagenet_model(
    *, model: str, weights: str | None, seed: int, allow_download: bool, torch_home: str | None,
    out: str | Path,
) -> dict:  # fmt: skip
    """The ImageNet tier's ``model`` with torchvision's ``weights`` (None: random, seeded):
    built once here, so that a missing weights file (offline) stops this job with its path,
    then saved as a spec that every experiment loads (:func:`models.load_checkpoint`)."""
    if torch_home:
        torch.hub.set_dir(str(Path(torch_home) / "hub"))
    net = models.build(model, weights=weights, seed=seed, allow_download=allow_download)
    spec = {"name": model, "weights": weights, "seed": seed, "allow_download": allow_download,
            "torch_home": torch_home, "label": net.weights}  # fmt: skip
    models.save_spec(out, **spec)
    log.info("%s: %s", model, net.weights)
    return spec
