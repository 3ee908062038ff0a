"""samek2020 experiments and figures on a tiny synthetic MNIST and untrained models (the
identities checked here are properties of the architectures, not of training)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from mnist_fixture import write_tiny_mnist
from torch import nn

from saliency_sanity import models
from saliency_sanity.experiments import samek2020 as exp
from saliency_sanity.experiments.testbed import write_testbed
from saliency_sanity.figures import samek2020 as fig
from saliency_sanity.io import load_json, load_npz


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("samek")
    write_tiny_mnist(root / "mnist", n_train=20, n_test=30, gz=False)
    write_testbed(root / "mnist", 8, 0, root / "testbed.json")
    torch.manual_seed(0)
    paths = {}
    for name in ("bias_free_mlp", "kindermans_mlp", "cnn", "softmax_regression"):
        paths[name] = root / f"{name}.pt"
        models.save(paths[name], models.build(name))
    return root, paths


def files(root, name):
    return [root / f"{name}.{k}" for k in ("png", "pdf", "csv", "json")]


def test_relative_max_difference_by_hand():
    a = torch.tensor([[1.0, -2.0], [0.0, 0.0], [1.0, 1.0]])
    b = torch.tensor([[1.5, -2.0], [0.0, 0.0], [0.0, 4.0]])
    # image 0: 0.5 / 2; image 1: b all zero -> NaN; image 2: max(1, 3) / 4
    out = exp.relative_max_difference(a, b)
    assert out[0] == pytest.approx(0.25)
    assert np.isnan(out[1])
    assert out[2] == pytest.approx(0.75)


def test_noise_slope_recovers_a_power_law():
    t = np.array([1, 2, 4, 8, 16, 32.0])
    assert fig.noise_slope(t, 3.0 * t**-0.5) == pytest.approx(-0.5)
    assert fig.noise_slope(t, t**-1.0) == pytest.approx(-1.0)


def test_pairs_have_different_labels():
    labels = torch.tensor([3, 3, 5, 3, 7, 7])
    pairs = exp._pairs(labels, 2)
    assert pairs == [(0, 2), (1, 4)]
    with pytest.raises(ValueError):
        exp._pairs(torch.tensor([1, 1, 1]), 1)


def test_ig_equals_gi_only_without_biases(setup, tmp_path):
    root, paths = setup
    out = tmp_path / "ig.npz"
    checkpoints = {
        "bias_free_mlp": paths["bias_free_mlp"],
        "kindermans_mlp": paths["kindermans_mlp"],
    }
    exp.ig_equals_gi(checkpoints, root / "mnist", root / "testbed.json", out, [1, 4], 3, "cpu")
    d = load_npz(out)
    assert d["rel_diff"].shape == (2, 2, 3)
    assert np.nanmax(d["rel_diff"][0]) < 1e-4  # homogeneous: exact for any number of steps
    assert np.nanmax(d["rel_diff"][1]) > 1e-2  # biases break it
    fig.ig_equals_gi(out, 4, *files(tmp_path, "ig"))
    entry = load_json(tmp_path / "ig.json")
    claims = {c["id"]: c for c in entry["claims"]}
    assert claims["samek2020.ig_minus_gi.bias_free"]["holds"] is True
    assert claims["samek2020.ig_minus_gi.biased"]["holds"] is True
    table = pd.read_csv(tmp_path / "ig.csv")
    assert set(table["steps"]) == {1, 4}


def test_method_connections(setup, tmp_path):
    root, paths = setup
    out = tmp_path / "conn.npz"
    checkpoints = {
        "bias_free_mlp": paths["bias_free_mlp"],
        "kindermans_mlp": paths["kindermans_mlp"],
    }
    exp.method_connections(checkpoints, root / "mnist", root / "testbed.json", out, 4, 1e-9, 3,
                           "cpu")  # fmt: skip
    d = load_npz(out)
    pairs = list(d["pairs"])
    lrp_gi = pairs.index("lrp_0 vs gradient_input")
    dt = pairs.index("deep_taylor vs lrp_0")
    ig = pairs.index("integrated_gradients vs gradient_input")
    # LRP-0 = GI on ReLU nets with or without biases; conservation only without
    assert np.nanmax(d["rel_diff"][:, lrp_gi]) < 1e-3
    assert np.nanmax(d["rel_diff"][:, dt]) < 1e-6
    assert np.nanmax(d["rel_diff"][1, ig]) > 1e-2
    np.testing.assert_allclose(d["lrp0_conservation"][0], 1.0, rtol=1e-3)
    fig.method_connections(out, "bias_free_mlp", *files(tmp_path, "conn"))
    (claim,) = load_json(tmp_path / "conn.json")["claims"]
    assert claim["id"] == "samek2020.lrp0_minus_gi" and claim["holds"] is True


def test_linear_model_decomposes_the_logit(setup, tmp_path):
    root, paths = setup
    out = tmp_path / "lin.npz"
    exp.linear_model(paths["softmax_regression"], root / "mnist", root / "testbed.json", out, 3,
                     "cpu")  # fmt: skip
    d = load_npz(out)
    logits = d["logits"][np.arange(3), d["predicted"]]
    np.testing.assert_allclose(d["sum_plus_bias"], logits, atol=1e-4)
    # R = w_c * x, written again here
    w = d["weights"][d["predicted"]]
    np.testing.assert_allclose(d["maps"], w * d["x"], atol=1e-6)
    fig.linear_model(out, *files(tmp_path, "lin"))
    assert (tmp_path / "lin.png").stat().st_size > 0


def test_occlusion_one_pixel_patch_is_f_minus_f_without_the_pixel(setup, tmp_path):
    root, paths = setup
    out = tmp_path / "occ.npz"
    exp.occlusion(paths["cnn"], root / "mnist", root / "testbed.json", out, 1, [1, 7], None, "cpu")
    d = load_npz(out)
    assert d["maps"].shape == (2, 3, 1, 28, 28)
    model = models.load(paths["cnn"])
    x = torch.from_numpy(d["x"]).unsqueeze(1)
    c = int(d["predicted"][0])
    i, j = np.unravel_index(np.abs(d["x"][0]).argmax(), (28, 28))
    xo = x.clone()
    xo[0, 0, i, j] = 0.0
    with torch.no_grad():
        expected = float(model(x)[0, c] - model(xo)[0, c])
    assert d["maps"][0, 0, 0, i, j] == pytest.approx(expected, rel=1e-4, abs=1e-6)
    fig.occlusion(out, *files(tmp_path, "occ"))
    assert len(pd.read_csv(tmp_path / "occ.csv")) == 2 * 3


def test_gradient_input_fractions_add_up(setup, tmp_path):
    root, paths = setup
    out = tmp_path / "gi.npz"
    exp.gradient_input_practice(paths["cnn"], root / "mnist", root / "testbed.json", out, 2, "cpu")
    d = load_npz(out)
    total = d["frac_positive"] + d["frac_negative"] + d["frac_zero"]
    np.testing.assert_allclose(total, 1.0)
    np.testing.assert_allclose(d["frac_positive_on"] + d["frac_negative_on"], 1.0, atol=1e-6)
    fig.gradient_input_practice(out, *files(tmp_path, "gi"))


def test_shattered_gradients_on_a_linear_model_are_constant(setup, tmp_path):
    root, paths = setup
    out = tmp_path / "shat.npz"
    checkpoints = {"softmax_regression": paths["softmax_regression"], "cnn": paths["cnn"]}
    exp.shattered_gradients(checkpoints, root / "mnist", root / "testbed.json", out, 1, 21, "cpu")
    d = load_npz(out)
    assert d["function"].shape == (2, 1, 21)
    # linear model: gradient constant along the path (cosine 1), function linear in t
    np.testing.assert_allclose(d["cosine"][0], 1.0, atol=1e-6)
    f = d["function"][0, 0]
    np.testing.assert_allclose(np.diff(f, 2), 0.0, atol=1e-4 * np.abs(f).max())
    # the directional derivative integrates to the change of the function
    np.testing.assert_allclose(d["directional"][0, 0], f[-1] - f[0], rtol=1e-3, atol=1e-5)
    fig.shattered_gradients(out, *files(tmp_path, "shat"))
    table = pd.read_csv(tmp_path / "shat.csv")
    assert table.loc[table["model"] == "softmax_regression", "tv_grad_norm"].item() == 0.0


def test_smoothgrad_noise_falls_with_samples(setup, tmp_path):
    root, paths = setup
    out = tmp_path / "sg.npz"
    exp.smoothgrad(paths["cnn"], root / "mnist", root / "testbed.json", out, 2, 4, 2, [1, 4, 16],
                   3, 32, 0.15, 0, "cpu")  # fmt: skip
    d = load_npz(out)
    assert np.all(np.diff(d["noise_std"]) < 0)
    assert d["noise_ref"].shape == (3, 3)
    fig.smoothgrad(out, *files(tmp_path, "sg"))
    (claim,) = load_json(tmp_path / "sg.json")["claims"]
    assert claim["id"] == "samek2020.smoothgrad.noise_slope"
    assert -1.0 < claim["measured"] < 0.0


def test_smoothgrad_with_zero_noise_is_gradient_input(setup, tmp_path):
    root, paths = setup
    out = tmp_path / "sg0.npz"
    exp.smoothgrad(paths["cnn"], root / "mnist", root / "testbed.json", out, 2, 3, 2, [1, 2], 2, 4,
                   0.0, 0, "cpu")  # fmt: skip
    d = load_npz(out)
    # float32: the batched noisy pass sums in another order than the plain one
    np.testing.assert_allclose(
        d["smooth_gi"], d["gi"], rtol=1e-4, atol=1e-5 * np.abs(d["gi"]).max()
    )


def test_method_maps_and_figures(setup, tmp_path):
    root, paths = setup
    out = tmp_path / "maps.npz"
    methods = {"gradient": {}, "gradient_input": None, "occlusion": {"patch": 7}}
    exp.method_maps(paths["cnn"], root / "mnist", root / "testbed.json", out, methods, 2, "cpu")
    d = load_npz(out)
    assert list(d["methods"]) == list(methods)
    np.testing.assert_allclose(d["maps"][1], d["maps"][0] * d["x"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(d["sums"], d["maps"].sum(axis=(2, 3)), rtol=1e-5)
    for name in ("deconvnet", "lrp_rules"):
        getattr(fig, name)(out, *files(tmp_path, name))
    fig.other_methods(out, *files(tmp_path, "other"), settings=methods)
    assert len(pd.read_csv(tmp_path / "other.csv")) == 3 * 2


def test_shattered_table_claims(tmp_path):
    fig.shattered_table(3, 1025, *files(tmp_path, "table"))
    claims = load_json(tmp_path / "table.json")["claims"]
    assert {c["id"] for c in claims} == {
        f"samek2020.shattered.{kind}.{k}" for kind in ("max_slope", "pieces") for k in (1, 2, 3)
    }
    assert all(c["holds"] for c in claims)
    assert pd.read_csv(tmp_path / "table.csv")["pieces"].tolist() == [2, 4, 8]


def test_bias_free_identity_fails_for_a_model_with_biases():
    """The check can fail: IG(zero) != GI when f(0) != 0 (a bias), on a 1-d toy solved by hand."""
    from saliency_sanity.attribution import attribute

    net = nn.Sequential(nn.Linear(1, 1), nn.ReLU(), nn.Linear(1, 2))
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[0].bias.fill_(-0.5)
        net[2].weight.copy_(torch.tensor([[2.0], [0.0]]))
        net[2].bias.zero_()
    x = torch.tensor([[1.0]])
    gi = attribute("gradient_input", net, x, torch.tensor([0]))  # 1 * 2 = 2
    ig = attribute("integrated_gradients", net, x, torch.tensor([0]), steps=200)  # f(1) - f(0) = 1
    assert float(gi) == pytest.approx(2.0)
    assert float(ig) == pytest.approx(1.0, abs=1e-2)
    assert exp.relative_max_difference(ig, gi)[0] == pytest.approx(0.5, abs=1e-2)
