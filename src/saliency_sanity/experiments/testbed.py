"""The test-bed: a fixed, seeded set of test images shared by every quantitative experiment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from saliency_sanity import data
from saliency_sanity.io import load_json, save_json


def write_testbed(mnist_root: str | Path, size: int, seed: int, out: str | Path) -> list[int]:
    """Choose ``size`` test images with ``seed`` and save their indices and labels."""
    mnist = data.load_mnist(mnist_root)
    indices = data.select_testbed(len(mnist.test_labels), size, seed)
    save_json(
        out,
        {
            "seed": seed,
            "indices": indices.tolist(),
            "labels": mnist.test_labels[indices].tolist(),
        },
    )
    return indices.tolist()


def load_testbed(
    mnist_root: str | Path, testbed: str | Path, encoding: str = "unit"
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """(x, labels, indices) of the test-bed images in the given input encoding."""
    mnist = data.load_mnist(mnist_root)
    indices = np.asarray(load_json(testbed)["indices"])
    x = data.encode(mnist.test_images[indices], encoding)
    return x, torch.from_numpy(mnist.test_labels[indices]), indices
