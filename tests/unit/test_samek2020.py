"""samek2020 experiments and figures on a tiny synthetic MNIST and untrained models (the
identities checked here are properties of the architectures, not of training).

Every experiment and figure is called through :func:`run`, with exactly the keywords its
catalogue row passes (the shipped config's row), so a test and the pipeline cannot disagree on
an argument."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from mnist_fixture import write_tiny_mnist
from torch import nn

from saliency_sanity import data, models
from saliency_sanity.catalogue import Catalogue
from saliency_sanity.config import validate
from saliency_sanity.experiments import samek2020 as exp
from saliency_sanity.experiments.testbed import write_testbed
from saliency_sanity.figures import samek2020 as fig
from saliency_sanity.io import load_json, load_npz, save_npz
from saliency_sanity.report import evaluate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    """The rows of the shipped config (defaults filled in)."""
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    return Catalogue(validate(cfg, ROOT / "config" / "schema.yaml"))


def run(catalogue: Catalogue, kind: str, key: str, fn, **kwargs):
    """``fn(**kwargs)``, after checking that ``fn`` is the function of the catalogue row ``key``
    and ``kwargs`` are exactly the keywords the row passes (inputs, params, outputs)."""
    row = (catalogue.experiments if kind == "experiment" else catalogue.figures)[key]
    assert row.fn == f"{fn.__module__}:{fn.__qualname__}", row.fn
    expected = set(row.call()["kwargs"]) | set(row.outputs)
    assert set(kwargs) == expected, f"{key}: test passes {sorted(kwargs)}, row {sorted(expected)}"
    return fn(**kwargs)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("samek")
    write_tiny_mnist(root / "mnist", n_train=20, n_test=30, gz=False)
    write_testbed(mnist=root / "mnist", size=8, seed=0, out=root / "testbed.npz")
    torch.manual_seed(0)
    paths = {}
    for name in ("bias_free_mlp", "kindermans_mlp", "cnn", "softmax_regression"):
        paths[name] = root / f"{name}.pt"
        models.save(paths[name], models.build(name))
    return root, paths


def outputs(root, name) -> dict[str, Path]:
    """The four outputs of a figure row."""
    return {k: root / f"{name}.{s}" for k, s in
            (("png", "png"), ("pdf", "pdf"), ("csv", "csv"), ("entry", "json"))}  # fmt: skip


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


def test_ig_equals_gi_only_without_biases(setup, catalogue, tmp_path):
    root, paths = setup
    out = tmp_path / "ig.npz"
    checkpoints = {
        "bias_free_mlp": paths["bias_free_mlp"],
        "kindermans_mlp": paths["kindermans_mlp"],
    }
    run(catalogue, "experiment", "samek2020/ig_equals_gi", exp.ig_equals_gi,
        checkpoints=checkpoints, testbed=root / "testbed.npz", out=out, steps=[1, 4], images=3,
        device="cpu")  # fmt: skip
    d = load_npz(out)
    assert d["rel_diff"].shape == (2, 2, 3)
    assert np.nanmax(d["rel_diff"][0]) < 1e-4  # homogeneous: exact for any number of steps
    assert np.nanmax(d["rel_diff"][1]) > 1e-2  # biases break it
    files = outputs(tmp_path, "ig")
    run(catalogue, "figure", "samek2020/ig_equals_gi", fig.ig_equals_gi, results=out,
        default_steps=4, **files)  # fmt: skip
    claims = {c["id"]: c for c in load_json(files["entry"])["claims"]}
    free, biased = claims["samek2020.ig_minus_gi.bias_free"], claims["samek2020.ig_minus_gi.biased"]
    assert free["kind"] == "identity" and biased["kind"] == "empirical"
    assert free["holds"] is True and biased["holds"] is True
    # the claims are read at default_steps = 4, the largest of the table
    assert free["measured"] == pytest.approx(float(np.nanmax(d["rel_diff"][0, 1])))
    assert biased["measured"] == pytest.approx(float(np.nanmax(d["rel_diff"][1, 1])))
    table = pd.read_csv(files["csv"])
    assert set(table["steps"]) == {1, 4}


def _ig_npz(path, bias_free: float, biased: float) -> None:
    """A hand-made ig_equals_gi result: max relative difference per model at 2 step counts."""
    rel = np.array([[[bias_free / 2, 0.0], [bias_free, 0.0]], [[biased, 0.0], [biased, 0.0]]])
    zeros = np.zeros((2, 28, 28))
    save_npz(path, models=np.array(["free", "biased"]), steps=np.array([1, 50]), rel_diff=rel,
             completeness=np.zeros_like(rel), ig_example=zeros, gi_example=zeros,
             x_example=zeros[0], indices=np.arange(2))  # fmt: skip


@pytest.mark.parametrize(("bias_free", "biased", "verdicts"),
                         [(1e-6, 0.3, (True, True)), (0.2, 1e-4, (False, False))])  # fmt: skip
def test_ig_equals_gi_claims_can_fail(catalogue, tmp_path, bias_free, biased, verdicts):
    """The identity fails when the bias-free net's IG and GI differ; the empirical claim fails,
    with its reason, when the biased net's do not."""
    _ig_npz(tmp_path / "ig.npz", bias_free, biased)
    files = outputs(tmp_path, "ig")
    run(catalogue, "figure", "samek2020/ig_equals_gi", fig.ig_equals_gi,
        results=tmp_path / "ig.npz", default_steps=50, **files)  # fmt: skip
    claims = {c["id"]: c for c in load_json(files["entry"])["claims"]}
    got = claims["samek2020.ig_minus_gi.bias_free"], claims["samek2020.ig_minus_gi.biased"]
    assert (got[0]["measured"], got[1]["measured"]) == (bias_free, biased)
    assert (got[0]["holds"], got[1]["holds"]) == verdicts
    if not verdicts[1]:
        assert got[1]["on_failure"].startswith("genuine")


def test_method_connections(setup, catalogue, tmp_path):
    root, paths = setup
    out = tmp_path / "conn.npz"
    checkpoints = {
        "bias_free_mlp": paths["bias_free_mlp"],
        "kindermans_mlp": paths["kindermans_mlp"],
    }
    run(catalogue, "experiment", "samek2020/method_connections", exp.method_connections,
        checkpoints=checkpoints, testbed=root / "testbed.npz", out=out, steps=4,
        stabilizer=1e-9, images=3, device="cpu")  # fmt: skip
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
    files = outputs(tmp_path, "conn")
    run(catalogue, "figure", "samek2020/method_connections", fig.method_connections,
        results=out, homogeneous="bias_free_mlp", **files)  # fmt: skip
    (claim,) = load_json(files["entry"])["claims"]
    assert claim["id"] == "samek2020.lrp0_minus_gi" and claim["kind"] == "identity"
    assert claim["holds"] is True
    assert claim["measured"] == pytest.approx(float(np.nanmax(d["rel_diff"][0, lrp_gi])))


def test_linear_model_decomposes_the_logit(setup, catalogue, tmp_path):
    root, paths = setup
    out = tmp_path / "lin.npz"
    run(catalogue, "experiment", "samek2020/linear_model", exp.linear_model,
        checkpoint=paths["softmax_regression"], testbed=root / "testbed.npz", out=out, images=3,
        device="cpu")  # fmt: skip
    d = load_npz(out)
    logits = d["logits"][np.arange(3), d["predicted"]]
    np.testing.assert_allclose(d["sum_plus_bias"], logits, atol=1e-4)
    # R = w_c * x, written again here
    w = d["weights"][d["predicted"]]
    np.testing.assert_allclose(d["maps"], w * d["x"], atol=1e-6)
    assert np.all(d["linear_minus_gi"] < 1e-6)  # for a linear model, R = GI
    files = outputs(tmp_path, "lin")
    run(catalogue, "figure", "samek2020/linear_model", fig.linear_model, results=out, **files)
    assert files["png"].stat().st_size > 0
    assert len(pd.read_csv(files["csv"])) == 3


def test_occlusion_is_f_minus_f_without_the_patch(setup, catalogue, tmp_path):
    """R at a pixel = f_c(x) - f_c(x with the (non-overlapping) patch around it filled), for
    every fill, re-computed here with plain forward passes."""
    root, paths = setup
    out = tmp_path / "occ.npz"
    run(catalogue, "experiment", "samek2020/occlusion", exp.occlusion, checkpoint=paths["cnn"],
        testbed=root / "testbed.npz", mnist=root / "mnist", out=out, images=1, patches=[2, 7],
        stride=None, device="cpu")  # fmt: skip
    d = load_npz(out)
    assert d["maps"].shape == (2, 3, 1, 28, 28)
    assert list(d["fills"]) == ["zero", "test_mean", "image_mean"]
    model = models.load(paths["cnn"])
    x = torch.from_numpy(d["x"]).float().unsqueeze(1)
    c = int(d["predicted"][0])
    i, j = np.unravel_index(np.abs(d["x"][0]).argmax(), (28, 28))
    test_mean = float(data.load_mnist(root / "mnist").test_images.mean() / 255.0)
    assert d["fill_values"][1] == pytest.approx(test_mean, rel=1e-5)
    with torch.no_grad():
        for p, patch in enumerate((2, 7)):
            r, q = i // patch * patch, j // patch * patch  # the patch that covers (i, j)
            for f, fill in enumerate((0.0, test_mean, float(x[0].mean()))):
                xo = x.clone()
                xo[0, 0, r : r + patch, q : q + patch] = fill
                expected = float(model(x)[0, c] - model(xo)[0, c])
                got = d["maps"][p, f, 0, i, j]
                assert got == pytest.approx(expected, rel=1e-4, abs=1e-6), (patch, f)
    files = outputs(tmp_path, "occ")
    run(catalogue, "figure", "samek2020/occlusion", fig.occlusion, results=out, **files)
    assert len(pd.read_csv(files["csv"])) == 2 * 3


def test_gradient_input_fractions_add_up(setup, catalogue, tmp_path):
    root, paths = setup
    out = tmp_path / "gi.npz"
    run(catalogue, "experiment", "samek2020/gradient_input_practice",
        exp.gradient_input_practice, checkpoint=paths["cnn"], testbed=root / "testbed.npz",
        out=out, show=2, device="cpu")  # fmt: skip
    d = load_npz(out)
    total = d["frac_positive"] + d["frac_negative"] + d["frac_zero"]
    np.testing.assert_allclose(total, 1.0)
    np.testing.assert_allclose(d["frac_positive_on"] + d["frac_negative_on"], 1.0, atol=1e-6)
    assert len(d["maps"]) == 2 and len(d["frac_positive"]) == 8  # shown vs whole test-bed
    run(catalogue, "figure", "samek2020/gradient_input_practice", fig.gradient_input_practice,
        results=out, **outputs(tmp_path, "gi"))  # fmt: skip


def test_shattered_gradients_on_a_linear_model_are_constant(setup, catalogue, tmp_path):
    root, paths = setup
    out = tmp_path / "shat.npz"
    checkpoints = {"softmax_regression": paths["softmax_regression"], "cnn": paths["cnn"]}
    run(catalogue, "experiment", "samek2020/shattered_gradients", exp.shattered_gradients,
        checkpoints=checkpoints, testbed=root / "testbed.npz", out=out, pairs=1, points=21,
        device="cpu")  # fmt: skip
    d = load_npz(out)
    assert d["function"].shape == (2, 1, 21)
    # linear model: gradient constant along the path (cosine 1), function linear in t
    np.testing.assert_allclose(d["cosine"][0], 1.0, atol=1e-6)
    f = d["function"][0, 0]
    np.testing.assert_allclose(np.diff(f, 2), 0.0, atol=1e-4 * np.abs(f).max())
    # the directional derivative integrates to the change of the function
    np.testing.assert_allclose(d["directional"][0, 0], f[-1] - f[0], rtol=1e-3, atol=1e-5)
    files = outputs(tmp_path, "shat")
    run(catalogue, "figure", "samek2020/shattered_gradients", fig.shattered_gradients,
        results=out, **files)  # fmt: skip
    table = pd.read_csv(files["csv"])
    assert table.loc[table["model"] == "softmax_regression", "tv_grad_norm"].item() == 0.0


def _smoothgrad(catalogue, setup, out, *, noise, samples, seeds, reference_samples):
    root, paths = setup
    run(catalogue, "experiment", "samek2020/smoothgrad", exp.smoothgrad,
        checkpoint=paths["cnn"], testbed=root / "testbed.npz", out=out, show=2,
        display_samples=4 if noise else 3, images=2, samples=samples, seeds=seeds,
        reference_samples=reference_samples, noise=noise, seed=0, device="cpu")  # fmt: skip
    return load_npz(out)


def test_smoothgrad_noise_falls_with_samples(setup, catalogue, tmp_path):
    d = _smoothgrad(catalogue, setup, tmp_path / "sg.npz", noise=0.15, samples=[1, 4, 16],
                    seeds=3, reference_samples=32)  # fmt: skip
    assert np.all(np.diff(d["noise_std"]) < 0)
    assert d["noise_ref"].shape == (3, 3)
    files = outputs(tmp_path, "sg")
    run(catalogue, "figure", "samek2020/smoothgrad", fig.smoothgrad, results=tmp_path / "sg.npz",
        **files)  # fmt: skip
    (claim,) = load_json(files["entry"])["claims"]
    assert claim["id"] == "samek2020.smoothgrad.noise_slope" and claim["kind"] == "identity"
    assert claim["measured"] == pytest.approx(fig.noise_slope(d["samples"], d["noise_std"]))
    assert -1.0 < claim["measured"] < 0.0
    assert claim["holds"] is evaluate("|measured - -0.5| < 0.1", claim["measured"])


def test_smoothgrad_with_zero_noise_is_gradient_input(setup, catalogue, tmp_path):
    d = _smoothgrad(catalogue, setup, tmp_path / "sg0.npz", noise=0.0, samples=[1, 2], seeds=2,
                    reference_samples=4)  # fmt: skip
    # float32: the batched noisy pass sums in another order than the plain one
    np.testing.assert_allclose(
        d["smooth_gi"], d["gi"], rtol=1e-4, atol=1e-5 * np.abs(d["gi"]).max()
    )


@pytest.mark.parametrize("name", ["deconvnet", "lrp_rules", "other_methods"])
def test_method_maps_and_figures(setup, catalogue, tmp_path, name):
    root, paths = setup
    out = tmp_path / "maps.npz"
    methods = {"gradient": {}, "gradient_input": None, "occlusion": {"patch": 7}}
    run(catalogue, "experiment", f"samek2020/{name}", exp.method_maps, checkpoint=paths["cnn"],
        testbed=root / "testbed.npz", out=out, methods=methods, images=2,
        device="cpu")  # fmt: skip
    d = load_npz(out)
    assert list(d["methods"]) == list(methods)
    np.testing.assert_allclose(d["maps"][1], d["maps"][0] * d["x"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(d["sums"], d["maps"].sum(axis=(2, 3)), rtol=1e-5)
    files = outputs(tmp_path, name)
    extra = {"settings": methods} if name == "other_methods" else {}
    run(catalogue, "figure", f"samek2020/{name}", getattr(fig, name), results=out, **extra,
        **files)  # fmt: skip
    table = pd.read_csv(files["csv"])
    assert len(table) == 3 * 2
    # Gradient x Input is complete up to the biases: its sum is what the table reports
    gi = table[table["method"] == "gradient_input"]
    np.testing.assert_allclose(gi["sum"], d["sums"][1], rtol=1e-5)


def test_shattered_table_claims(catalogue, tmp_path):
    files = outputs(tmp_path, "table")
    run(catalogue, "figure", "samek2020/shattered_table", fig.shattered_table, depth=3,
        grid=1025, **files)  # fmt: skip
    claims = load_json(files["entry"])["claims"]
    assert {c["id"] for c in claims} == {
        f"samek2020.shattered.{kind}.{k}" for kind in ("max_slope", "pieces") for k in (1, 2, 3)
    }
    assert all(c["holds"] for c in claims)
    assert all(c["kind"] == "identity" for c in claims)
    by_id = {c["id"]: c for c in claims}
    for k in (1, 2, 3):  # 2^k, re-derived: each composition doubles the slope and the pieces
        assert by_id[f"samek2020.shattered.max_slope.{k}"]["measured"] == pytest.approx(2**k)
        assert by_id[f"samek2020.shattered.pieces.{k}"]["measured"] == 2**k
    assert pd.read_csv(files["csv"])["pieces"].tolist() == [2, 4, 8]


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
