"""A tiny synthetic MNIST in the real file format (IDX, gzipped), for tests only.

Each class is a bright 6x6 square at its own position plus noise, so a model can learn it in
one epoch; nothing here depends on the real MNIST files.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np

from saliency_sanity.data import write_idx


def digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):
        r, c = 3 + 5 * (label // 5) * 2, 2 + 5 * (label % 5)
        images[i, r : r + 6, c : c + 6] = 255
    return images, labels


def write_tiny_mnist(folder: Path, n_train: int = 300, n_test: int = 100, gz: bool = True):
    """Write the four files into ``folder``; return the MD5s of the decompressed content."""
    folder.mkdir(parents=True, exist_ok=True)
    checksums = {}
    for prefix, n, seed in (("train", n_train, 1), ("t10k", n_test, 2)):
        images, labels = digits(n, seed)
        for name, array in ((f"{prefix}-images-idx3-ubyte", images),
                            (f"{prefix}-labels-idx1-ubyte", labels)):  # fmt: skip
            raw = folder / name
            write_idx(raw, array)
            checksums[name] = hashlib.md5(raw.read_bytes()).hexdigest()
            if gz:
                with open(raw, "rb") as fin, gzip.open(f"{raw}.gz", "wb") as fout:
                    shutil.copyfileobj(fin, fout)
                raw.unlink()
    return checksums
