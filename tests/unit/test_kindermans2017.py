"""kindermans2017 input-invariance experiment and figures, on a tiny synthetic MNIST and an
untrained network 1 (invariance is a property of the construction, not of training)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from mnist_fixture import write_tiny_mnist

from saliency_sanity import models
from saliency_sanity.experiments import kindermans2017 as k17
from saliency_sanity.experiments.testbed import write_testbed
from saliency_sanity.figures import kindermans2017 as fig
from saliency_sanity.io import load_json, load_npz

SETTINGS = {
    "constant_shift": -1.0,
    "images": 2,
    "ig_steps": 8,
    "checkerboard": {"amplitude": 0.3, "square": 4},
    "cat": {"clip": 0.3},
    "patterns": {"estimator": "relu", "images": 48, "seed": 0, "batch_size": 48},
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("k17")
    write_tiny_mnist(root / "mnist", n_train=60, n_test=30, gz=False)
    write_testbed(root / "mnist", 6, 0, root / "testbed.json")
    torch.manual_seed(0)
    models.save(root / "net1.pt", models.build("kindermans_mlp"))
    fit = SETTINGS["patterns"]
    patterns = {}
    for est in k17.ESTIMATORS:
        patterns[est] = root / f"normal_{est}.pt"
        k17.fit_model_patterns(root / "mnist", root / "net1.pt", est, fit["images"],
                               fit["seed"], fit["batch_size"], "cpu", patterns[est])  # fmt: skip
    results = {}
    for shift in k17.SHIFTS:
        out = root / f"shift_{shift}.npz"
        k17.input_invariance(root / "mnist", root / "testbed.json", root / "net1.pt", patterns,
                             shift, SETTINGS, "cpu", out)  # fmt: skip
        results[shift] = out
    return root, results


def score(results: dict, method: str) -> float:
    names = list(results["methods"])
    k = names.index(method)
    return float(k17.relative_difference(results["maps1"][k], results["maps2"][k]).max())


def test_relative_difference_by_hand():
    m1 = np.array([[1.0, -2.0], [0.0, 0.0], [0.0, 0.0]])
    m2 = np.array([[1.5, -2.0], [0.0, 0.0], [0.0, 3.0]])
    # image 0: max |diff| 0.5 over max |m1| 2; image 1: both zero; image 2: m1 zero, m2 not
    assert k17.relative_difference(m1, m2).tolist() == [0.25, 0.0, 1.0]


def test_between_digit_correlation_by_hand():
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    # identical maps correlate 1, a map and its negation -1
    assert fig._between_digits(np.stack([a, a, a])) == pytest.approx(1.0)
    assert fig._between_digits(np.stack([a, -a])) == pytest.approx(-1.0)
    # three maps: pairs (a, a) = 1, (a, -a) = -1 twice -> mean over the 6 ordered pairs -1/3
    assert fig._between_digits(np.stack([a, a, -a])) == pytest.approx(-1 / 3)


def test_same_outputs_raises_when_network_2_predicts_differently(generator):
    net1 = models.build("softmax_regression").eval()
    x = torch.rand(50, 1, 28, 28, generator=generator)
    m2 = torch.full((1, 28, 28), -1.0)
    assert k17.same_outputs(net1, models.bias_compensated(net1, m2), x, m2) < 1e-4
    broken = models.bias_compensated(net1, torch.zeros(1, 28, 28))  # no compensation
    with torch.no_grad():
        broken.layer("logits").bias.copy_(torch.arange(10.0) * 100)
    with pytest.raises(RuntimeError, match="predicts differently"):
        k17.same_outputs(net1, broken, x, m2)


def test_cached_patterns_fit_the_model(setup):
    root, _ = setup
    net1 = models.load(root / "net1.pt")
    patterns = k17.load_patterns(root / "normal_relu.pt")
    assert set(patterns) == {f"body.{n}" for n in ("fc1", "fc2", "fc3", "logits")}
    for name, p in patterns.items():
        assert p.shape == net1.get_submodule(name).weight.shape
    relu, linear = patterns["body.fc1"], k17.load_patterns(root / "normal_linear.pt")["body.fc1"]
    assert not torch.allclose(relu, linear)  # two estimators, two fits


def test_saved_maps_have_every_method_for_both_networks(setup):
    _, paths = setup
    res = load_npz(paths["constant"])
    names = list(res["methods"])
    assert names[:8] == list(k17.METHODS)
    assert {"pattern_net_linear", "pattern_attribution_relu"} <= set(names)
    assert res["maps1"].shape == res["maps2"].shape == (len(names), 2, 1, 28, 28)
    np.testing.assert_allclose(res["x2"], res["x1"] - 1.0, atol=1e-6)
    assert res["max_abs_logit_difference"].max() < 1e-4
    assert str(res["estimator"]) == "relu"
    k = names.index("pattern_attribution")
    np.testing.assert_array_equal(
        res["maps1"][k], res["maps1"][names.index("pattern_attribution_relu")]
    )


@pytest.mark.parametrize("shift", k17.SHIFTS)
def test_gradient_methods_are_invariant_and_gradient_x_input_is_not(setup, shift):
    res = load_npz(setup[1][shift])
    for method in (
        "gradient",
        "guided_backprop",
        "pattern_net_linear",
        "pattern_attribution_linear",
    ):
        assert score(res, method) < 1e-3, method
    for method in ("gradient_input", "integrated_gradients_zero", "deep_taylor_zero"):
        assert score(res, method) > 0.05, method


def test_black_reference_is_invariant_under_constant_shift_only(setup):
    _, paths = setup
    assert score(load_npz(paths["constant"]), "integrated_gradients_black") < 1e-3
    assert score(load_npz(paths["checkerboard"]), "integrated_gradients_black") > 0.05


def test_cat_shift_is_one_shift_per_digit(setup):
    res = load_npz(setup[1]["cat"])
    assert res["m2"].shape == (2, 1, 28, 28)
    assert np.abs(res["m2"]).max() <= 0.3 + 1e-6
    assert not np.allclose(res["m2"][0], res["m2"][1])


def test_claims_follow_the_paper_and_the_thresholds():
    rows = [
        {"shift": "constant", "method": "gradient", "relative_difference": 2e-4},
        {"shift": "constant", "method": "gradient", "relative_difference": 5e-4},
        {"shift": "constant", "method": "integrated_gradients_black", "relative_difference": 0.2},
        {"shift": "constant", "method": "gradient_input", "relative_difference": 0.9},
        {"shift": "constant", "method": "pattern_attribution", "relative_difference": 0.01},
    ]
    claims = fig.invariance_claims(
        pd.DataFrame(rows),
        ["gradient", "integrated_gradients_black", "gradient_input", "pattern_attribution"],
        "attribution_shift",
    )
    by_id = {c.id: c for c in claims}
    g = by_id["kindermans2017.invariance.constant.gradient"]
    assert g.measured == 5e-4 and g.holds is True
    assert by_id["kindermans2017.invariance.constant.integrated_gradients_black"].holds is False
    assert by_id["kindermans2017.invariance.constant.gradient_input"].holds is True
    assert by_id["kindermans2017.invariance.constant.pattern_attribution"].holds is False
    assert fig.paper_invariant("integrated_gradients_black", "constant")
    assert not fig.paper_invariant("integrated_gradients_black", "checkerboard")


@pytest.mark.parametrize(
    ("figure", "shift", "n_claims"),
    [("gradient_signal", "constant", 3), ("attribution_shift", "constant", 5),
     ("checkerboard_shift", "checkerboard", 8), ("cat_shift", "cat", 8)],
)  # fmt: skip
def test_shift_figures_write_files_and_claims(setup, tmp_path, figure, shift, n_claims):
    _, paths = setup
    out = {k: tmp_path / f"{figure}.{k}" for k in ("png", "pdf", "csv", "json")}
    fig.shift_figure(paths[shift], figure, out["png"], out["pdf"], out["csv"], out["json"])
    for path in out.values():
        assert path.stat().st_size > 0
    entry = load_json(out["json"])
    ids = [c["id"] for c in entry["claims"]]
    assert len(ids) == n_claims
    assert all(i.startswith(f"kindermans2017.invariance.{shift}.") for i in ids)
    assert all(isinstance(c["measured"], float) for c in entry["claims"])
    table = pd.read_csv(out["csv"])
    assert set(fig.SHIFT_FIGURES[figure][0]) <= set(table["method"])
    # both estimators are reported; a non-invariant configured estimator is said so plainly
    assert "(relu estimator)" in entry["measured"] and "(linear estimator)" in entry["measured"]
    relu = score(load_npz(paths[shift]), "pattern_attribution_relu")
    if relu >= fig.INVARIANT_TOL and "pattern_attribution" in fig.SHIFT_FIGURES[figure][0]:
        assert (
            f"pattern_attribution with the relu estimator is NOT invariant ({relu:.2e})"
            in (entry["caption"])
        )
    if "pattern_attribution" in fig.SHIFT_FIGURES[figure][0]:
        assert "PatternAttribution maps of different digits: relu" in entry["caption"]
    gradient = [c for c in entry["claims"] if c["id"].endswith(".gradient")]
    if gradient:
        assert gradient[0]["holds"] is True


def test_reference_points_figure(setup, tmp_path):
    _, paths = setup
    out = {k: tmp_path / f"ref.{k}" for k in ("png", "pdf", "csv", "json")}
    table = fig.reference_points(paths["constant"], out["png"], out["pdf"], out["csv"], out["json"])
    assert out["png"].stat().st_size > 0
    ig1 = table[(table["network"] == "network 1") & table["comparison"].str.startswith("IG")]
    ig2 = table[(table["network"] == "network 2") & table["comparison"].str.startswith("IG")]
    # MNIST's black image is network 1's zero image, but not network 2's
    assert ig1["relative_difference"].max() < 1e-6
    assert ig2["relative_difference"].min() > 0.05
    assert load_json(out["json"])["claims"] == []
