"""MNIST: download or offline mirror, checksums, the IDX parser, input encodings and test-beds.

The default path is torchvision's downloader (its own mirrors). Offline machines point the
``data.mirror`` config key, or the ``SALIENCY_SANITY_MNIST_MIRROR`` environment variable (which
wins), at a folder holding the four files, gzipped or not. Either way the *decompressed* content
is checked against the well-known MD5s, because gzip wrappers differ between mirrors.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from saliency_sanity.io import atomic_path

log = logging.getLogger(__name__)

MIRROR_ENV = "SALIENCY_SANITY_MNIST_MIRROR"

#: MD5 of the decompressed files (LeCun, Cortes, Burges).
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
MNIST_FILES = tuple(MNIST_MD5)

#: IDX type codes (the third byte of the magic number) -> numpy dtype (big-endian).
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataError(ValueError):
    """A data file is missing, truncated or not what it should be."""


def md5sum(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_idx(path: str | Path) -> np.ndarray:
    """Parse one IDX file (LeCun's MNIST format), raising :class:`DataError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    raw = path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated header ({len(raw)} bytes, expected {header})")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(
            f"{path}: {len(raw)} bytes, expected {expected} for shape {shape} "
            "(truncated or corrupted file)"
        )
    return (
        np.frombuffer(raw, dtype=dtype, offset=header)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) as an IDX file; used by tests to build tiny MNIST look-alikes."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(header + array.tobytes())


def verify(root: str | Path, checksums: dict[str, str] | None = None) -> None:
    """Check the decompressed files in ``root`` against ``checksums`` (default: MNIST's MD5s)."""
    checksums = checksums or MNIST_MD5
    for name, expected in checksums.items():
        path = Path(root) / name
        if not path.is_file():
            raise DataError(f"{path}: missing (expected decompressed MNIST file {name})")
        got = md5sum(path)
        if got != expected:
            raise DataError(
                f"{path}: MD5 of the decompressed content is {got}, expected {expected} "
                "(corrupted or wrong file; delete it and fetch again)"
            )


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz", folder / "MNIST" / "raw" / name):
        if candidate.is_file():
            return candidate
    return None


def _copy_decompressed(src: Path, dst: Path) -> None:
    opener = gzip.open if src.suffix == ".gz" else open
    with atomic_path(dst) as tmp:
        try:
            with opener(src, "rb") as fin, open(tmp, "wb") as fout:
                shutil.copyfileobj(fin, fout)
        except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError
            raise DataError(f"{src}: cannot decompress ({err})") from err


def resolve_mirror(config_mirror: str | None) -> str | None:
    """The offline mirror folder: the environment variable wins over the config key."""
    return os.environ.get(MIRROR_ENV) or config_mirror or None


def fetch_mnist(
    root: str | Path, mirror: str | Path | None = None, checksums: dict[str, str] | None = None
) -> Path:
    """Put the four decompressed MNIST files in ``root`` and verify them.

    With ``mirror`` the files (``name`` or ``name.gz``) are copied from that folder; otherwise
    torchvision downloads them from its mirrors. Returns ``root``.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    names = tuple((checksums or MNIST_MD5).keys())
    if mirror is not None:
        mirror = Path(mirror)
        if not mirror.is_dir():
            raise DataError(f"MNIST mirror {mirror}: not a folder (set by config or ${MIRROR_ENV})")
        for name in names:
            src = _find(mirror, name)
            if src is None:
                raise DataError(f"MNIST mirror {mirror}: {name}[.gz] not found")
            log.info("copying %s from mirror %s", name, src)
            _copy_decompressed(src, root / name)
    else:
        from torchvision.datasets import MNIST

        log.info("downloading MNIST with torchvision into %s", root / "download")
        MNIST(str(root / "download"), train=True, download=True)
        MNIST(str(root / "download"), train=False, download=True)
        for name in names:
            _copy_decompressed(root / "download" / "MNIST" / "raw" / name, root / name)
    verify(root, checksums)
    return root


def fetch(*, root: str | Path, mirror: str | None, checksums: dict | None) -> Path:
    """Workflow entry point of :func:`fetch_mnist` (keyword-only); ``mirror`` is the config
    key, which ``$SALIENCY_SANITY_MNIST_MIRROR`` overrides (:func:`resolve_mirror`)."""
    return fetch_mnist(root, resolve_mirror(mirror), checksums)


@dataclass(frozen=True)
class MNIST:
    """The four arrays: images as uint8 (N, 28, 28), labels as int64 (N,)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def load_mnist(root: str | Path) -> MNIST:
    """Read the decompressed MNIST files from ``root`` (checks shapes and label ranges)."""
    root = Path(root)
    arrays = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(root / f"{prefix}-images-idx3-ubyte")
        labels = read_idx(root / f"{prefix}-labels-idx1-ubyte").astype(np.int64)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(
                f"{root}: {split} images {images.shape} and labels {labels.shape} do not match"
            )
        if labels.min() < 0 or labels.max() > 9:
            raise DataError(f"{root}/{prefix}-labels-idx1-ubyte: labels outside 0..9")
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
    return MNIST(**arrays)


def encode(images: np.ndarray, encoding: str = "unit") -> torch.Tensor:
    """uint8 images (N, 28, 28) -> float32 tensor (N, 1, 28, 28) in the named input encoding.

    ``unit`` is [0, 1] (network 1 of kindermans2017, and the adebayo2018 models); ``shifted`` is
    [-1, 0], i.e. x - 1 (network 2 of kindermans2017, Sec. 2).
    """
    x = torch.from_numpy(np.asarray(images, dtype=np.float32) / 255.0).unsqueeze(1)
    if encoding == "unit":
        return x
    if encoding == "shifted":
        return x - 1.0
    raise ValueError(f"unknown input encoding {encoding!r} (expected 'unit' or 'shifted')")


def select_testbed(n_test: int, size: int, seed: int) -> np.ndarray:
    """Indices of ``size`` distinct test images, drawn once with ``seed`` and sorted."""
    if not 0 < size <= n_test:
        raise ValueError(f"test-bed size {size} must be in 1..{n_test} (number of test images)")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_test, size=size, replace=False))


def permuted_labels(labels: np.ndarray, seed: int) -> np.ndarray:
    """Labels permuted once (the data-randomisation test of Adebayo et al. 2018, Sec. 4)."""
    return np.random.default_rng(seed).permutation(labels)
