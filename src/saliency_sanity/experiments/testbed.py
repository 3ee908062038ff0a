"""The test-bed: a fixed, seeded set of test images shared by every quantitative experiment.

One ``.npz`` per tier: MNIST's holds the chosen test images as uint8 (encoded by
:func:`load_testbed` into each model's input encoding); the ImageNet tier's hold images already
preprocessed for one model (:mod:`saliency_sanity.imagenet`). Experiments only ever read a
test-bed file, so MNIST and ImageNet experiments are the same functions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from saliency_sanity import data
from saliency_sanity.io import load_npz, save_npz


def write_testbed(*, mnist: str | Path, size: int, seed: int, out: str | Path) -> np.ndarray:
    """Choose ``size`` test images with ``seed`` and save them with their labels and indices."""
    images = data.load_mnist(mnist)
    indices = data.select_testbed(len(images.test_labels), size, seed)
    save_npz(
        out,
        images=images.test_images[indices],
        labels=images.test_labels[indices],
        ids=indices,
        seed=seed,
        source="MNIST test set",
    )
    return indices


def load_testbed(
    path: str | Path, encoding: str = "unit", n: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """(x, labels, ids) of the first ``n`` (None: all) test-bed images, in ``encoding``.

    MNIST test-beds are encoded here (``unit`` = [0, 1], ``shifted`` = [-1, 0]); an ImageNet
    test-bed is already preprocessed for its model (``encoding="imagenet"``).
    """
    d = load_npz(path)
    if "images" in d:
        if encoding == "imagenet":
            raise ValueError(f"{path} is an MNIST test-bed; an ImageNet model needs its own")
        x = data.encode(d["images"], encoding)
    else:
        if encoding != "imagenet":
            raise ValueError(f"{path} is an ImageNet test-bed; got encoding {encoding!r}")
        x = torch.from_numpy(d["x"])
    labels, ids = torch.from_numpy(np.asarray(d["labels"], dtype=np.int64)), d["ids"]
    if n is not None:
        x, labels, ids = x[:n], labels[:n], ids[:n]
    return x, labels, ids


def display_images(path: str | Path, n: int | None = None) -> np.ndarray:
    """Images to show, (N, H, W) in [0, 1] (MNIST) or (N, H, W, 3) (ImageNet)."""
    d = load_npz(path)
    shown = d["images"] / 255.0 if "images" in d else d["display"]
    return shown[:n] if n is not None else shown


def write_imagenet_testbed(
    *,
    model: str,
    weights: str | None,
    folder: str | None,
    classes: list[str] | None,
    per_class: int | None,
    synsets: str | None,
    size: int | None,
    out: str | Path,
) -> None:
    """The ImageNet tier's test-bed for ``model``: the images of ``folder`` (an ImageNet
    validation folder by class; None: scikit-image's photographs), preprocessed with the
    weights' own transforms (:func:`saliency_sanity.imagenet.write_testbed`)."""
    from saliency_sanity import imagenet

    images = imagenet.load_images(folder, classes=classes, per_class=per_class, synsets=synsets)
    imagenet.write_testbed(model_name=model, weights=weights, images=images, size=size, out=out)
