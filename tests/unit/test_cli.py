"""``saliency-sanity scorecard``: a model the user names, end to end, and its usage errors."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest
import torch
from mnist_fixture import write_tiny_mnist
from skimage import io

from saliency_sanity import data
from saliency_sanity.checks import CHECKS
from saliency_sanity.cli import main

FACTORY = """
import torch
from torch import nn

def make_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 12 * 12, 10))

def broken():
    raise RuntimeError("no such checkpoint format")

def make_mnist_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(2 * 28 * 28, 10))
"""


@pytest.fixture
def user(tmp_path, monkeypatch):
    (tmp_path / "user_nets.py").write_text(textwrap.dedent(FACTORY))
    monkeypatch.syspath_prepend(str(tmp_path))
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        io.imsave(images / f"{i}.png", (rng.random((12, 12)) * 255).astype(np.uint8))
    import importlib

    net = importlib.import_module("user_nets").make_net()
    torch.save(net.state_dict(), tmp_path / "net.pt")
    return tmp_path


def _run(user, *extra, methods=("gradient", "edge_detector")):
    return main(["scorecard", "--model", "user_nets:make_net", "--weights", str(user / "net.pt"),
                 "--images", str(user / "images"), "--methods", *methods, "--init", "reset",
                 "--out", str(user / "card"), *extra])  # fmt: skip


def test_scorecard_command_writes_every_method_x_check(user, capsys):
    assert _run(user) == 0
    table = pd.read_csv(user / "card" / "scorecard.csv", keep_default_na=False)
    assert (user / "card" / "scorecard.png").stat().st_size > 0
    assert len(table) == 2 * len(CHECKS)
    assert set(table["check"]) == set(CHECKS)
    data = table[table["check"] == "data randomisation"]
    assert (data["passes"] == "").all() and (data["note"] == "no random-label model").all()
    assert "cells filled" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"methods": ("gradient", "gradeint")}, "gradeint"),
        ({"model": "user_nets:broken"}, "no such checkpoint format"),
        ({"model": "user_nets"}, "pkg.module:factory"),
        ({"shape": (16, 16)}, "differ in shape"),
        ({"all_shape": (16, 16)}, "does not accept images of shape (1, 16, 16)"),
        ({"weights": "missing.pt"}, "missing.pt"),
    ],
)
def test_bad_arguments_exit_2_with_a_message_naming_them(user, capsys, args, message):
    if "shape" in args or "all_shape" in args:
        shape = args.get("shape") or args["all_shape"]
        names = ["0.png"] if "shape" in args else ["0.png", "1.png", "2.png"]
        for name in names:
            io.imsave(user / "images" / name, np.zeros(shape, dtype=np.uint8), check_contrast=False)
    argv = ["scorecard", "--model", args.get("model", "user_nets:make_net"),
            "--weights", str(user / args.get("weights", "net.pt")),
            "--images", str(user / "images"), "--methods", *args.get("methods", ("gradient",)),
            "--out", str(user / "card")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("saliency-sanity: error:")
    assert not (user / "card").exists()


def test_scorecard_command_on_mnist_test_images(user, capsys, monkeypatch):
    """``--mnist DIR``: the first ``--n`` test images of an MNIST folder (decompressed IDX
    files); ``--mnist`` alone: the mirror the environment names; a folder without them: exit 2."""
    write_tiny_mnist(user / "mnist", n_train=5, n_test=4, gz=False)

    def scorecard(*source):
        return main(["scorecard", "--model", "user_nets:make_mnist_net", *source, "--n", "3",
                     "--methods", "gradient", "--init", "reset",
                     "--out", str(user / "card")])  # fmt: skip

    assert scorecard("--mnist", str(user / "mnist")) == 0
    table = pd.read_csv(user / "card" / "scorecard.csv", keep_default_na=False)
    assert set(table["check"]) == set(CHECKS) and len(table) == len(CHECKS)
    filled = table[table["passes"] != ""]
    assert len(filled) == len(CHECKS) - 1 and (filled["n"] == 3).all()  # no random-label model
    assert "cells filled" in capsys.readouterr().out
    monkeypatch.setenv(data.MIRROR_ENV, str(user / "mnist"))
    assert scorecard("--mnist") == 0
    capsys.readouterr()
    assert scorecard("--mnist", str(user / "nowhere")) == 2
    err = capsys.readouterr().err
    assert err.startswith("saliency-sanity: error: --mnist") and "nowhere" in err
