"""MNIST parsing, mirror, checksums, encodings and test-bed selection, on tiny synthetic files."""

import gzip
import hashlib

import numpy as np
import pytest
import torch
from mnist_fixture import write_tiny_mnist

from saliency_sanity import data


@pytest.fixture
def mirror(tmp_path):
    folder = tmp_path / "mirror"
    return folder, write_tiny_mnist(folder, n_train=40, n_test=20)


def test_idx_round_trip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    data.write_idx(tmp_path / "a", array)
    raw = (tmp_path / "a").read_bytes()
    assert raw[:4] == bytes([0, 0, 8, 3])
    assert int.from_bytes(raw[4:8], "big") == 2
    np.testing.assert_array_equal(data.read_idx(tmp_path / "a"), array)


def test_truncated_idx_names_file(tmp_path):
    data.write_idx(tmp_path / "t", np.zeros((5, 28, 28), np.uint8))
    path = tmp_path / "t"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(data.DataError, match=r"t: .*expected"):
        data.read_idx(path)


def test_bad_magic_names_file(tmp_path):
    (tmp_path / "junk").write_bytes(b"PK\x03\x04 not an idx file")
    with pytest.raises(data.DataError, match="junk: not an IDX file"):
        data.read_idx(tmp_path / "junk")


def test_mirror_copy_verifies_and_loads(tmp_path, mirror):
    folder, checksums = mirror
    root = data.fetch_mnist(tmp_path / "root", mirror=folder, checksums=checksums)
    mnist = data.load_mnist(root)
    assert mnist.train_images.shape == (40, 28, 28)
    assert mnist.test_labels.shape == (20,)
    with gzip.open(folder / "t10k-labels-idx1-ubyte.gz") as fh:
        expected = np.frombuffer(fh.read()[8:], np.uint8)
    np.testing.assert_array_equal(mnist.test_labels, expected)


def test_flipped_byte_is_caught_and_named(tmp_path, mirror):
    folder, checksums = mirror
    root = data.fetch_mnist(tmp_path / "root", mirror=folder, checksums=checksums)
    target = root / "train-images-idx3-ubyte"
    raw = bytearray(target.read_bytes())
    raw[500] ^= 0xFF
    target.write_bytes(bytes(raw))
    with pytest.raises(data.DataError, match="train-images-idx3-ubyte: MD5") as err:
        data.verify(root, checksums)
    assert checksums["train-images-idx3-ubyte"] in str(err.value)


def test_official_checksums_reject_synthetic_files(tmp_path, mirror):
    folder, _ = mirror
    with pytest.raises(data.DataError, match="MD5 of the decompressed content"):
        data.fetch_mnist(tmp_path / "root", mirror=folder)


def test_missing_mirror_file_named(tmp_path, mirror):
    folder, checksums = mirror
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(data.DataError, match=r"t10k-images-idx3-ubyte\[\.gz\] not found"):
        data.fetch_mnist(tmp_path / "root", mirror=folder, checksums=checksums)


def test_mirror_accepts_uncompressed_files(tmp_path):
    checksums = write_tiny_mnist(tmp_path / "plain", n_train=10, n_test=10, gz=False)
    root = data.fetch_mnist(tmp_path / "root", mirror=tmp_path / "plain", checksums=checksums)
    assert (
        hashlib.md5((root / "t10k-labels-idx1-ubyte").read_bytes()).hexdigest()
        == (checksums["t10k-labels-idx1-ubyte"])
    )


def test_environment_variable_wins(monkeypatch):
    monkeypatch.setenv(data.MIRROR_ENV, "/from/env")
    assert data.resolve_mirror("/from/config") == "/from/env"
    monkeypatch.delenv(data.MIRROR_ENV)
    assert data.resolve_mirror("/from/config") == "/from/config"
    assert data.resolve_mirror(None) is None


def test_encodings():
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    unit = data.encode(images, "unit")
    shifted = data.encode(images, "shifted")
    assert unit.shape == (1, 1, 2, 2) and unit.dtype == torch.float32
    assert float(unit.min()) == 0.0 and float(unit.max()) == 1.0
    assert float(shifted.min()) == -1.0 and float(shifted.max()) == 0.0
    torch.testing.assert_close(shifted, unit - 1)
    with pytest.raises(ValueError, match="unknown input encoding"):
        data.encode(images, "imagenet")


def test_testbed_is_seeded_distinct_and_sorted():
    a = data.select_testbed(10000, 200, seed=0)
    b = data.select_testbed(10000, 200, seed=0)
    c = data.select_testbed(10000, 200, seed=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert len(np.unique(a)) == 200 and np.all(np.diff(a) > 0)
    assert a.min() >= 0 and a.max() < 10000
    with pytest.raises(ValueError, match="test-bed size"):
        data.select_testbed(10, 11, seed=0)


def test_permuted_labels_keep_the_label_counts():
    labels = np.repeat(np.arange(10), 50)
    permuted = data.permuted_labels(labels, seed=3)
    np.testing.assert_array_equal(np.bincount(permuted), np.bincount(labels))
    assert (permuted != labels).mean() > 0.8
