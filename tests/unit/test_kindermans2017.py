"""kindermans2017 input-invariance experiments and figures, on a tiny synthetic MNIST and an
untrained network 1 (invariance is a property of the construction, not of training).

The module fixture runs the pipeline's own path: ``fit_network1_patterns`` once, then for every
shift ``fit_network2_patterns`` (``patterns_<shift>``), then ``input_invariance``
(``shift_<shift>``), each called through
:func:`run` with exactly the keywords of its catalogue row; the figures read those files."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from mnist_fixture import write_tiny_mnist

from saliency_sanity import models
from saliency_sanity.catalogue import Catalogue
from saliency_sanity.config import validate
from saliency_sanity.experiments import kindermans2017 as k17
from saliency_sanity.experiments.testbed import write_testbed
from saliency_sanity.figures import kindermans2017 as fig
from saliency_sanity.io import load_json, load_npz, save_json
from saliency_sanity.report import evaluate

ROOT = Path(__file__).resolve().parents[2]
#: a small ``kindermans2017`` config section (2 digits shown, 48 training images for patterns)
SETTINGS = {
    "shifts": {"constant": -1.0, "checkerboard": {"amplitude": 0.3, "square": 4},
               "cat": {"clip": 0.3}},
    "images": 2,
    "correlation_images": 6,
    "ig_steps": 8,
    "patterns": {"images": 48, "seed": 0, "batch_size": 16, "shown": "covariance"},
}  # fmt: skip


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


def outputs(root, name) -> dict[str, Path]:
    return {k: root / f"{name}.{s}" for k, s in
            (("png", "png"), ("pdf", "pdf"), ("csv", "csv"), ("entry", "json"))}  # fmt: skip


#: the checkerboard and cat runs take ~10 and ~15 s of CPU each (patterns of 3 networks / 2 per
#: digit, float64 sums, compressed to the .npz): the constant shift covers every code path
SLOW = pytest.mark.slow(reason="runs the checkerboard/cat pattern fits and maps (~10-15 s CPU)")
#: shifts as test parameters: constant always, the other two marked slow
SHIFTS = [pytest.param(s, marks=SLOW) if s != "constant" else s for s in k17.SHIFTS]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, catalogue):
    """``get(shift)`` -> (patterns .npz, maps .npz) of that shift, run on first use: the
    pipeline's own path, ``patterns_<shift>`` then ``shift_<shift>``."""
    root = tmp_path_factory.mktemp("k17")
    write_tiny_mnist(root / "mnist", n_train=60, n_test=30, gz=False)
    write_testbed(mnist=root / "mnist", size=8, seed=0, out=root / "testbed.npz")
    torch.manual_seed(0)
    models.save(root / "net1.pt", models.build("kindermans_mlp"))
    common = {"checkpoint": root / "net1.pt", "testbed": root / "testbed.npz",
              "mnist": root / "mnist", "settings": SETTINGS, "device": "cpu"}  # fmt: skip
    done: dict[str, tuple[Path, Path]] = {}
    network1 = root / "patterns_network1.npz"
    run(catalogue, "experiment", "kindermans2017/patterns_network1", k17.fit_network1_patterns,
        checkpoint=common["checkpoint"], mnist=common["mnist"], settings=SETTINGS,
        device="cpu", out=network1)  # fmt: skip

    def get(shift: str) -> tuple[Path, Path]:
        if shift not in done:
            patterns, results = root / f"patterns_{shift}.npz", root / f"shift_{shift}.npz"
            run(catalogue, "experiment", f"kindermans2017/patterns_{shift}",
                k17.fit_network2_patterns, shift=shift, network1=network1, out=patterns,
                **common)  # fmt: skip
            run(catalogue, "experiment", f"kindermans2017/shift_{shift}", k17.input_invariance,
                patterns=patterns, shift=shift, out=results, **common)  # fmt: skip
            done[shift] = patterns, results
        return done[shift]

    get.root = root
    return get


def score(results: dict, method: str) -> float:
    names = list(results["methods"])
    k = names.index(method)
    return float(fig.relative_difference(results["maps1"][k], results["maps2"][k]).max())


# --- measures solved by hand ------------------------------------------------------------------


def test_relative_difference_by_hand():
    m1 = np.array([[1.0, -2.0], [0.0, 0.0], [0.0, 0.0]])
    m2 = np.array([[1.5, -2.0], [0.0, 0.0], [0.0, 3.0]])
    # image 0: max |diff| 0.5 over max |m1| 2; image 1: both zero; image 2: m1 zero, m2 not
    assert fig.relative_difference(m1, m2).tolist() == [0.25, 0.0, 1.0]


def test_between_digit_correlation_by_hand():
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    # identical maps correlate 1, a map and its negation -1
    assert fig.between_digits(np.stack([a, a, a]), [0, 1, 2]) == pytest.approx(1.0)
    assert fig.between_digits(np.stack([a, -a]), [0, 1]) == pytest.approx(-1.0)
    # three digits: pairs (a, a) = 1, (a, -a) = -1 twice -> mean -1/3
    assert fig.between_digits(np.stack([a, a, -a]), [0, 1, 2]) == pytest.approx(-1 / 3)
    # only pairs of different digits count: (0, 2) and (1, 2), both -1
    assert fig.between_digits(np.stack([a, a, -a]), [0, 0, 1]) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="two digits"):
        fig.between_digits(np.stack([a, a]), [3, 3])


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


# --- the pattern experiment -------------------------------------------------------------------


def test_patterns_of_every_estimator_fit_the_model(pipeline):
    patterns, _ = pipeline("constant")
    net1 = models.load(pipeline.root / "net1.pt")
    pats = k17.load_patterns(patterns, "network1")
    assert set(pats) == set(k17.ESTIMATORS)
    for est in k17.ESTIMATORS:
        assert set(pats[est]) == {f"body.{n}" for n in ("fc1", "fc2", "fc3", "logits")}
        for name, p in pats[est].items():
            assert p.shape == net1.get_submodule(name).weight.shape
    first = {est: pats[est]["body.fc1"] for est in k17.ESTIMATORS}
    assert not torch.allclose(first["paper"], first["covariance"])  # three estimators
    assert not torch.allclose(first["covariance"], first["linear"])
    # the logits feed no ReLU: every estimator gives the linear pattern there
    torch.testing.assert_close(pats["paper"]["body.logits"], pats["linear"]["body.logits"])
    with pytest.raises(KeyError, match="no patterns under"):
        k17.load_patterns(patterns, "g7")


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| / max |b|: the shift-invariance experiments run both networks in float64
    (k17.PRECISION), where the compensation is exact to ~1e-15; in float32 a few neurons within
    rounding of their ReLU threshold flip between the networks (~1e-3)."""
    return float((a - b).abs().max() / b.abs().max())


@pytest.mark.parametrize("shift", SHIFTS)
def test_network2_patterns_move_only_for_the_paper_estimator(pipeline, shift):
    """Network 2's patterns, fitted on x + m2: covariance and linear as network 1's (the
    estimators are shift-invariant); the paper estimator's first layer moves, exactly as the
    analytic prediction from network 1's statistics says."""
    patterns, _ = pipeline(shift)
    one = k17.load_patterns(patterns, "network1")
    two = k17.load_patterns(patterns, "g0")
    assert set(two) == {*k17.ESTIMATORS, "predicted"}
    for est in ("covariance", "linear"):
        for name in one[est]:
            assert _relative(two[est][name], one[est][name]) < 1e-9, (est, name)
    assert _relative(two["paper"]["body.fc1"], one["paper"]["body.fc1"]) > 1e-2
    for name in two["paper"]:
        assert _relative(two["predicted"][name], two["paper"][name]) < 1e-3, name
        if name != "body.fc1":  # layers above the first see the same inputs
            assert _relative(two["paper"][name], one["paper"][name]) < 1e-3, name
    assert len(load_npz(patterns)["groups"]) == (2 if shift == "cat" else 1)


# --- the invariance experiment ----------------------------------------------------------------


def test_saved_maps_have_every_method_for_both_networks(pipeline):
    res = load_npz(pipeline("constant")[1])
    names = list(res["methods"])
    assert names == k17.map_names()
    assert names[:6] == list(k17.METHODS)
    assert {f"{m}_{e}" for m in k17.PATTERN_METHODS for e in k17.ESTIMATORS} <= set(names)
    assert res["maps1"].shape == res["maps2"].shape == (len(names), 2, 1, 28, 28)
    np.testing.assert_allclose(res["x2"], res["x1"] - 1.0, atol=1e-6)
    assert res["max_abs_logit_difference"].max() < 1e-4
    assert str(res["shown_estimator"]) == "covariance" and int(res["pattern_images"]) == 48
    # network 1 is its own prediction: its "predicted" maps are its paper maps
    for m in k17.PATTERN_METHODS:
        np.testing.assert_array_equal(res["maps1"][names.index(f"{m}_predicted")],
                                      res["maps1"][names.index(f"{m}_paper")])  # fmt: skip
    assert res["correlation_x"].shape[0] == 6
    assert res["correlation_pattern_net_covariance"].shape == (6, 1, 28, 28)


@pytest.mark.parametrize("shift", SHIFTS)
def test_gradient_methods_are_invariant_and_gradient_x_input_is_not(pipeline, shift):
    res = load_npz(pipeline(shift)[1])
    invariant = ["gradient", "guided_backprop", "pattern_net_covariance", "pattern_net_linear",
                 "pattern_attribution_covariance", "pattern_attribution_linear"]  # fmt: skip
    assert res["maps1"].dtype == res["maps2"].dtype == np.float64
    for method in invariant:
        assert score(res, method) < 1e-9, method
    for method in ("gradient_input", "integrated_gradients_zero", "deep_taylor_zero"):
        assert score(res, method) > 0.05, method
    # the paper estimator's maps change, by what its predicted patterns give
    for m in k17.PATTERN_METHODS:
        names = list(res["methods"])
        np.testing.assert_allclose(res["maps2"][names.index(f"{m}_paper")],
                                   res["maps2"][names.index(f"{m}_predicted")], rtol=1e-3,
                                   atol=1e-5 * np.abs(res["maps2"]).max())  # fmt: skip


def test_black_reference_is_invariant_under_constant_shift_only(pipeline):
    assert score(load_npz(pipeline("constant")[1]), "integrated_gradients_black") < 1e-9


@SLOW
def test_black_reference_is_not_invariant_under_the_checkerboard(pipeline):
    assert score(load_npz(pipeline("checkerboard")[1]), "integrated_gradients_black") > 0.05


@SLOW
def test_cat_shift_is_one_shift_per_digit(pipeline):
    res = load_npz(pipeline("cat")[1])
    assert res["m2"].shape == (2, 1, 28, 28)
    assert np.abs(res["m2"]).max() <= 0.3 + 1e-6
    assert not np.allclose(res["m2"][0], res["m2"][1])
    np.testing.assert_allclose(res["x2"], res["x1"] + res["m2"], atol=1e-6)


# --- the figures on the pipeline's files ------------------------------------------------------

#: figure -> (shift, number of claims): plain methods + 3 estimators per pattern method (+ 3
#: digit-correlation rows per pattern method on gradient_signal)
FIGURES = {"gradient_signal": ("constant", 2 + 3 + 6), "attribution_shift": ("constant", 4 + 3),
           "checkerboard_shift": ("checkerboard", 6 + 6), "cat_shift": ("cat", 6 + 6)}  # fmt: skip


@pytest.mark.parametrize(
    "figure",
    [pytest.param(f, marks=SLOW) if s != "constant" else f for f, (s, _) in FIGURES.items()],
)
def test_shift_figures_write_files_and_claims(pipeline, catalogue, tmp_path, figure):
    shift, n_claims = FIGURES[figure]
    files = outputs(tmp_path, figure)
    table = run(catalogue, "figure", f"kindermans2017/{figure}", fig.shift_figure,
                results=pipeline(shift)[1], name=figure, **files)  # fmt: skip
    for path in files.values():
        assert path.stat().st_size > 0
    claims = {c["id"]: c for c in load_json(files["entry"])["claims"]}
    assert len(claims) == n_claims
    assert set(pd.read_csv(files["csv"])["method"]) == set(k17.map_names())
    for c in claims.values():
        assert isinstance(c["measured"], float)
        assert c["holds"] is evaluate(c["expected"].split(" (")[0], c["measured"], c["null"])
    g = f"kindermans2017.invariance.{shift}"
    for method in fig.PATTERN_CLAIMS[figure]:
        for est in ("covariance", "linear"):  # invariant by construction of the estimator
            c = claims[f"{g}.{method}.{est}"]
            assert (c["kind"], c["holds"]) == ("identity", True)
            assert c["measured"] == pytest.approx(fig._score(table, f"{method}_{est}"))
        paper = claims[f"{g}.{method}.paper"]  # not invariant, by the predicted amount
        assert paper["kind"] == "identity" and paper["holds"] is True
        assert paper["measured"] > 1e-3
        assert paper["null"] == pytest.approx(fig._score(table, f"{method}_predicted"))
    if "gradient" in fig.SHIFT_FIGURES[figure][1]:
        assert claims[f"{g}.gradient"]["holds"] is True
        assert claims[f"{g}.gradient"]["kind"] == "identity"


def test_digit_correlation_claims(pipeline, catalogue, tmp_path):
    files = outputs(tmp_path, "signal")
    run(catalogue, "figure", "kindermans2017/gradient_signal", fig.shift_figure,
        results=pipeline("constant")[1], name="gradient_signal", **files)  # fmt: skip
    res = load_npz(pipeline("constant")[1])
    claims = {c["id"]: c for c in load_json(files["entry"])["claims"]}
    labels = res["correlation_labels"]
    flat = res["correlation_x"].reshape(len(labels), -1).astype(np.float64)
    different = labels[:, None] != labels[None, :]
    null = float(np.corrcoef(flat)[different].mean())  # the inputs' own, re-derived
    for method, est in itertools.product(k17.PATTERN_METHODS, k17.ESTIMATORS):
        c = claims[f"kindermans2017.{method}.digit_correlation.{est}"]
        kind = "empirical" if method == "pattern_net" else "beyond"  # the paper: PatternNet's
        assert c["kind"] == kind and c["null"] == pytest.approx(null)
        maps = res[f"correlation_{method}_{est}"].reshape(len(labels), -1).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            expected = np.nanmean(np.corrcoef(maps)[different])
        assert c["measured"] == pytest.approx(expected)
        assert c["holds"] is (c["measured"] < 0.5 * null + 0.5)
        assert c["holds"] or c["on_failure"]


def test_reference_points_figure(pipeline, catalogue, tmp_path):
    files = outputs(tmp_path, "ref")
    table = run(catalogue, "figure", "kindermans2017/reference_points", fig.reference_points,
                results=pipeline("constant")[1], **files)  # fmt: skip
    assert files["png"].stat().st_size > 0
    ig1 = table[(table["network"] == "network 1") & table["comparison"].str.startswith("IG")]
    ig2 = table[(table["network"] == "network 2") & table["comparison"].str.startswith("IG")]
    # MNIST's black image is network 1's zero image, but not network 2's
    assert ig1["relative_difference"].max() < 1e-6
    assert ig2["relative_difference"].min() > 0.05
    assert load_json(files["entry"])["claims"] == []


# --- claims on constructed tables ----------------------------------------------------------


def test_invariance_claims_follow_the_paper_and_the_thresholds():
    rows = [
        {"shift": "constant", "method": "gradient", "relative_difference": 2e-4},
        {"shift": "constant", "method": "gradient", "relative_difference": 5e-4},
        {"shift": "constant", "method": "integrated_gradients_black", "relative_difference": 0.2},
        {"shift": "constant", "method": "gradient_input", "relative_difference": 0.9},
        {"shift": "constant", "method": "deep_taylor_zero", "relative_difference": 0.01},
    ]
    rows.append({"shift": "constant", "method": "integrated_gradients_zero",
                 "relative_difference": 0.02})  # fmt: skip
    methods = ["gradient", "integrated_gradients_black", "gradient_input", "deep_taylor_zero",
               "integrated_gradients_zero"]  # fmt: skip
    by_id = {c.id: c for c in fig.invariance_claims(pd.DataFrame(rows), methods, "x")}
    g = "kindermans2017.invariance.constant"
    assert by_id[f"{g}.gradient"].measured == 5e-4 and by_id[f"{g}.gradient"].holds is True
    assert by_id[f"{g}.gradient"].kind == "identity"
    black = by_id[f"{g}.integrated_gradients_black"]  # invariant by construction: 0.2 fails
    assert (black.kind, black.holds) == ("identity", False)
    gi = by_id[f"{g}.gradient_input"]  # not invariant, as the paper says: grad f ⊙ m2
    assert (gi.kind, gi.holds) == ("identity", True) and "by construction" in gi.expected
    dtd = by_id[f"{g}.deep_taylor_zero"]  # "not invariant" but changes by only 0.01
    assert (dtd.kind, dtd.holds) == ("identity", False)
    ig = by_id[f"{g}.integrated_gradients_zero"]  # the empirical evidence, here too small
    assert (ig.kind, ig.holds) == ("empirical", False) and ig.on_failure.startswith("genuine")
    assert fig.paper_invariant("integrated_gradients_black", "constant")
    assert not fig.paper_invariant("integrated_gradients_black", "checkerboard")


@pytest.mark.parametrize(("paper", "predicted", "holds"),
                         [(0.2, 0.201, True), (0.2, 0.1, False), (5e-4, 0.0, True)])  # fmt: skip
def test_paper_estimator_claim_reads_the_change_against_its_prediction(paper, predicted, holds):
    # |paper - predicted| < 0.01 * predicted + 0.001: 0.001 < 0.003; 0.1 > 0.002; 5e-4 < 0.001
    rows = [{"shift": "cat", "method": f"pattern_net_{est}", "relative_difference": value}
            for est, value in (("paper", paper), ("predicted", predicted), ("covariance", 2e-3),
                               ("linear", 1e-5))]  # fmt: skip
    by_id = {c.id: c for c in fig.pattern_claims(pd.DataFrame(rows), ["pattern_net"], "x")}
    g = "kindermans2017.invariance.cat.pattern_net"
    assert set(by_id) == {f"{g}.{e}" for e in k17.ESTIMATORS}
    c = by_id[f"{g}.paper"]
    assert (c.measured, c.null, c.holds) == (paper, predicted, holds)
    assert by_id[f"{g}.covariance"].holds is False  # 2e-3 is not < 1e-3
    assert by_id[f"{g}.linear"].holds is True


def test_networks_figure_and_claims(catalogue, tmp_path):
    history = [{"epoch": 1, "test_accuracy": 0.9}, {"epoch": 2, "test_accuracy": 0.97}]
    net1 = {"test_accuracy": 0.97, "train_accuracy": 0.99, "epochs": 2, "n_train": 100,
            "history": history, "spec": {"paper": {"epochs": 10}}}  # fmt: skip
    save_json(tmp_path / "net1.json", net1)
    save_json(tmp_path / "mlp.json", {**net1, "test_accuracy": 0.95, "spec": {}})
    shifted = {
        "net1_test_accuracy": 0.97,
        "net2_test_accuracy": 0.97,
        "max_abs_logit_difference": 2e-6,
        "shift": -1.0,
        "same_predictions": True,
    }
    save_json(tmp_path / "shifted.json", shifted)
    files = outputs(tmp_path, "networks")
    run(catalogue, "figure", "kindermans2017/networks", fig.networks,
        shifted=tmp_path / "shifted.json",
        trained={"kindermans_mlp/normal": tmp_path / "net1.json",
                 "mlp/normal": tmp_path / "mlp.json"},
        **files)  # fmt: skip
    claims = {c["id"]: c for c in load_json(files["entry"])["claims"]}
    acc = claims["kindermans2017.accuracy.net1"]
    assert (acc["kind"], acc["measured"], acc["holds"]) == ("empirical", 0.97, False)  # < 0.975
    assert "2 epochs" in acc["on_failure"]
    assert claims["kindermans2017.accuracy.net2"]["holds"] is True
    assert claims["kindermans2017.same_outputs"]["holds"] is True
    table = pd.read_csv(files["csv"])
    assert table["model"].tolist() == ["kindermans_mlp/normal", "mlp/normal", "network 2 (shifted)"]
    # network 2 with another accuracy than network 1: the identity fails
    shifted["net2_test_accuracy"] = 0.96
    assert fig.networks_claims(shifted, {"kindermans_mlp/normal": net1})[1].holds is False
