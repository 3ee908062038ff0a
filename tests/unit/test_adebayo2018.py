"""adebayo2018: maps under parameter randomisation, the null of two untrained copies, their
similarity curves, claims and figures.

The experiments and figures are called through :func:`run`, with exactly the keywords of their
catalogue row (the shipped config's), on a tiny synthetic MNIST and untrained zoo models."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from mnist_fixture import write_tiny_mnist
from scipy.stats import spearmanr
from torch import nn

from saliency_sanity import models, randomization
from saliency_sanity.attribution import attribute
from saliency_sanity.catalogue import Catalogue
from saliency_sanity.config import validate
from saliency_sanity.experiments import adebayo2018 as E
from saliency_sanity.experiments.adebayo2018 import (
    applicable_methods,
    method_specs,
    method_subsets,
    randomization_maps,
    similarity_table,
)
from saliency_sanity.experiments.testbed import load_testbed, write_testbed
from saliency_sanity.figures import adebayo2018 as F
from saliency_sanity.io import load_json, load_npz, save_json
from saliency_sanity.models import PaperModel, truncated_normal
from saliency_sanity.report import evaluate

ROOT = Path(__file__).resolve().parents[2]
SIZE = 12  # SSIM needs maps of at least 11x11


class TinyCNN(PaperModel):
    name = "tiny_cnn"
    gradcam_layer = "relu1"
    input_shape = (1, SIZE, SIZE)

    def __init__(self) -> None:
        layers = [
            ("conv1", nn.Conv2d(1, 3, 3, padding=1)),
            ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(3 * 6 * 6, 8)),
            ("relu2", nn.ReLU()),
            ("logits", nn.Linear(8, 4)),
        ]
        init = truncated_normal(0.3, bias=0.05)
        super().__init__(layers, {n: init for n in ("conv1", "fc1", "logits")})


class TinyMLP(PaperModel):
    name = "tiny_mlp"
    input_shape = (1, SIZE, SIZE)

    def __init__(self) -> None:
        layers = [
            ("flatten", nn.Flatten()),
            ("hidden1", nn.Linear(SIZE * SIZE, 10)),
            ("relu1", nn.ReLU()),
            ("logits", nn.Linear(10, 4)),
        ]
        init = truncated_normal(0.2, bias=0.01)
        super().__init__(layers, {"hidden1": init, "logits": init})


@pytest.fixture
def cnn(seed) -> TinyCNN:
    torch.manual_seed(seed)
    return TinyCNN().eval()


@pytest.fixture
def mlp(seed) -> TinyMLP:
    torch.manual_seed(seed)
    return TinyMLP().eval()


@pytest.fixture
def x(generator) -> torch.Tensor:
    return torch.rand(5, 1, SIZE, SIZE, generator=generator)


def _grad(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """d logit_target / d x, written out with plain autograd (not the package's gradient)."""
    xr = x.clone().requires_grad_(True)
    model(xr).gather(1, target[:, None]).sum().backward()
    return xr.grad


NOISY = {"base": "gradient", "samples": 4, "noise": 0.2, "seed": 3}


@pytest.mark.parametrize("mode", ["cascading", "independent"])
def test_gradient_maps_match_each_randomised_model(cnn, x, mode):
    labels = torch.tensor([0, 1, 2, 3, 0])
    result = randomization_maps(cnn, x, {"g": ("gradient", {})}, mode, seed=7, labels=labels)
    procedure = getattr(randomization, mode)
    nets = list(procedure(cnn, 7))
    assert list(result["steps"]) == [name for name, _ in nets]
    assert list(result["steps"]) == ["original", "logits", "fc1", "conv1"]
    assert result["maps"].shape == (4, 1, 5, 1, SIZE, SIZE)
    for s, (_, net) in enumerate(nets):
        pred = net(x).argmax(1)  # default: the randomised model's own prediction
        assert result["targets"][s].tolist() == pred.tolist()
        expected = _grad(net, x, pred)
        np.testing.assert_allclose(result["maps"][s, 0], expected.numpy(), rtol=1e-5, atol=1e-6)
        assert result["accuracy"][s] == pytest.approx((pred == labels).float().mean().item())
    # randomisation changed the maps (else the test above could not tell the steps apart)
    assert not np.allclose(result["maps"][0, 0], result["maps"][-1, 0])


def test_model_left_unchanged(cnn, x):
    before = {k: v.clone() for k, v in cnn.state_dict().items()}
    randomization_maps(cnn, x, {"g": ("gradient", {}), "sg": ("smoothgrad", NOISY)}, seed=1)
    after = cnn.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not cnn.training


def test_shared_smoothgrad_vargrad_equal_separate_calls(mlp, x):
    methods = {"sg": ("smoothgrad", NOISY), "vg": ("vargrad", NOISY)}
    result = randomization_maps(mlp, x, methods, "cascading", seed=2)
    for s, (_, net) in enumerate(randomization.cascading(mlp, 2)):
        target = torch.as_tensor(result["targets"][s])
        for m, name in enumerate(("smoothgrad", "vargrad")):
            expected = attribute(name, net, x, target, **NOISY).numpy()
            np.testing.assert_allclose(result["maps"][s, m], expected, rtol=1e-4, atol=1e-7)


def test_smoothgrad_without_noise_is_the_gradient_at_every_step(mlp, x):
    """Each step's SmoothGrad uses that step's model and explained classes."""
    params = {**NOISY, "noise": 0.0}
    result = randomization_maps(mlp, x, {"g": ("gradient", {}), "sg": ("smoothgrad", params)})
    np.testing.assert_allclose(result["maps"][:, 1], result["maps"][:, 0], rtol=1e-5, atol=1e-7)


def test_explained_class_modes(mlp, x):
    labels = torch.tensor([3, 2, 1, 0, 3])
    orig = randomization_maps(
        mlp, x, {"g": ("gradient", {})}, explained_class="label", labels=labels
    )
    assert (orig["targets"] == labels.numpy()).all()
    pred = mlp(x).argmax(1).numpy()
    same = randomization_maps(
        mlp, x, {"g": ("gradient", {})}, explained_class="original_prediction"
    )
    assert (same["targets"] == pred).all()


def test_subsets_leave_other_rows_uncomputed(mlp, x):
    methods = {"g": ("gradient", {}), "ig": ("integrated_gradients", {"steps": 4})}
    result = randomization_maps(mlp, x, methods, subsets={"ig": [0, 3]})
    assert result["computed"].tolist() == [[True] * 5, [True, False, False, True, False]]
    assert np.isnan(result["maps"][:, 1, [1, 2, 4]]).all()
    assert np.isfinite(result["maps"][:, 1, [0, 3]]).all()
    table = similarity_table(result, [("spearman", "abs")])
    ig = table[table["method"] == "ig"]
    assert (ig["n_skipped"] == 3).all() and (ig["n"] + ig["n_nan"] == 2).all()


def test_bad_arguments(mlp, x):
    with pytest.raises(ValueError, match="mode"):
        randomization_maps(mlp, x, {"g": ("gradient", {})}, mode="layerwise")
    with pytest.raises(KeyError, match="nope"):
        randomization_maps(mlp, x, {"g": ("nope", {})})
    with pytest.raises(ValueError, match="out of range"):
        randomization_maps(mlp, x, {"g": ("gradient", {})}, subsets={"g": [5]})


def test_gradcam_only_for_models_with_a_conv_layer(mlp, cnn):
    specs = {"g": ("gradient", {}), "cam": ("gradcam", {}), "ggc": ("guided_gradcam", {})}
    assert list(applicable_methods(mlp, specs)) == ["g"]
    assert list(applicable_methods(cnn, specs)) == ["g", "cam", "ggc"]


def test_config_helpers():
    settings = {
        "a": {"method": "gradient"},
        "b": {"method": "smoothgrad", "params": {"samples": 2}, "images": 3},
    }
    assert method_specs(settings) == {"a": ("gradient", {}), "b": ("smoothgrad", {"samples": 2})}
    subsets = method_subsets(settings, 10, always=[7])
    assert subsets["a"].tolist() == list(range(10))
    assert subsets["b"].tolist() == [0, 1, 2, 7]


def _result(maps: np.ndarray, computed: np.ndarray | None = None) -> dict:
    s, m, n = maps.shape[:3]
    return {
        "steps": np.asarray(["original", *[f"layer{i}" for i in range(1, s)]]),
        "methods": np.asarray([f"m{i}" for i in range(m)]),
        "maps": maps.astype(np.float32),
        "computed": np.ones((m, n), bool) if computed is None else computed,
    }


def test_similarity_table_values(generator):
    base = torch.rand(3, 1, SIZE, SIZE, generator=generator).numpy()
    maps = np.stack(
        [
            np.stack([base, base, np.zeros_like(base)]),  # original
            np.stack([2 * base, -base, np.zeros_like(base)]),  # rescaled / sign-flipped / zero
        ]
    )
    table = similarity_table(_result(maps), [("spearman", "abs"), ("spearman", "signed")])
    get = table.set_index(["step", "method", "variant"])
    assert get.loc[(0, "m0", "abs"), "mean"] == pytest.approx(1.0)
    assert get.loc[(1, "m0", "signed"), "mean"] == pytest.approx(1.0)  # ranks ignore scale
    assert get.loc[(1, "m1", "abs"), "mean"] == pytest.approx(1.0)
    assert get.loc[(1, "m1", "signed"), "mean"] == pytest.approx(-1.0)
    zero = get.loc[(1, "m2", "abs")]  # constant maps have no ranks: NaN, counted
    assert np.isnan(zero["mean"]) and zero["n_nan"] == 3 and zero["n"] == 0


def test_hog_column_equals_hog_similarity(generator):
    from saliency_sanity.similarity import hog_similarity

    maps = torch.rand(3, 1, 4, 1, SIZE, SIZE, generator=generator).numpy()
    table = similarity_table(_result(maps), [("hog", "abs")])
    for s in range(3):
        expected = hog_similarity(maps[0, 0], maps[s, 0]).mean()
        assert table.loc[table["step"] == s, "mean"].item() == pytest.approx(expected)


def test_hog_images_limits_the_hog_column_only(generator):
    maps = torch.rand(2, 1, 5, 1, SIZE, SIZE, generator=generator).numpy()
    table = similarity_table(_result(maps), [("hog", "abs"), ("ssim", "abs")], hog_images=2)
    assert (table.loc[table["metric"] == "hog", "n"] == 2).all()
    assert (table.loc[table["metric"] == "hog", "n_skipped"] == 3).all()
    assert (table.loc[table["metric"] == "ssim", "n"] == 5).all()


# --- the null: two independently initialised, untrained copies ---------------------------------


def _trained(model: nn.Module, seed: int) -> nn.Module:
    """Stand-in for training: every parameter moved away from its initialiser's values."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    return model


def _layer_params(net: nn.Module, name: str) -> dict[str, torch.Tensor]:
    return {k: v for k, v in net.layer(name).named_parameters()}


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_untrained_copies_are_fresh_independent_and_leave_the_model(cnn, x, mode):
    model = _trained(cnn, 5).train(mode == "train")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    a, b = E.untrained_copies(model, [1001, 1002])
    # the model passed in is left exactly as it was (parameters and mode)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert model.training is (mode == "train")
    assert not a.training and not b.training
    for name in model.layer_order:  # every layer of both copies is re-drawn
        trained = _layer_params(model, name)
        for net in (a, b):
            for key, value in _layer_params(net, name).items():
                assert not torch.allclose(value, trained[key]), f"{name}.{key} kept"
        # the two copies' weights are independent draws (biases: the initialiser's constant)
        assert not torch.allclose(a.layer(name).weight, b.layer(name).weight), name
        torch.testing.assert_close(a.layer(name).bias, torch.full_like(a.layer(name).bias, 0.05))
    # the same seed draws the same copy; two seeds give different maps
    (again,) = E.untrained_copies(model, [1001])
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in a.state_dict().items())
    target = torch.zeros(len(x), dtype=torch.long)
    ga, gb = _grad(a, x, target), _grad(b, x, target)
    assert not torch.allclose(ga, gb)
    assert not torch.allclose(ga, _grad(model.eval(), x, target))


# --- the experiments from files ---------------------------------------------------------------

#: a config ``adebayo2018.methods`` section, small: VarGrad (abs only), IG on a subset
METHODS = {
    "gradient": {"method": "gradient", "expected_abs": "sensitive",
                 "expected_signed": "sensitive"},
    "vargrad_gradient": {"method": "vargrad",
                         "params": {"base": "gradient", "samples": 2, "noise": 0.15, "seed": 0},
                         "expected_abs": "sensitive", "expected_signed": "sensitive"},
    "gradcam": {"method": "gradcam", "expected_abs": "sensitive",
                "expected_signed": "sensitive"},
    "integrated_gradients": {"method": "integrated_gradients",
                             "params": {"baseline": "zero", "steps": 4}, "images": 3,
                             "expected_abs": "insensitive", "expected_signed": "sensitive"},
}  # fmt: skip
COMMON = {"methods": METHODS, "explained_class": "randomized_prediction", "grid_position": 4,
          "hog_images": 2, "device": "cpu"}  # fmt: skip
SEEDS = [1001, 1002]


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


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, catalogue):
    """The cnn rows' experiments on 6 test-bed images of a tiny MNIST, untrained weights."""
    root = tmp_path_factory.mktemp("adebayo")
    write_tiny_mnist(root / "mnist", n_train=20, n_test=30, gz=False)
    write_testbed(mnist=root / "mnist", size=6, seed=0, out=root / "testbed.npz")
    torch.manual_seed(0)
    models.save(root / "cnn.pt", _trained(models.build("cnn"), 0))
    save_json(root / "metrics.json", {"test_accuracy": 0.5, "epochs": 1})
    files = {"root": root, "checkpoint": root / "cnn.pt", "testbed": root / "testbed.npz",
             "metrics": root / "metrics.json"}  # fmt: skip
    for order in ("cascading", "independent"):
        files[order] = root / f"{order}.npz"
        run(catalogue, "experiment", f"adebayo2018/{order}_maps_cnn", E.run_randomization,
            checkpoint=files["checkpoint"], testbed=files["testbed"], order=order, seed=0,
            out=files[order], **COMMON)  # fmt: skip
    files["null"] = root / "null.npz"
    run(catalogue, "experiment", "adebayo2018/null_cnn", E.run_null,
        checkpoint=files["checkpoint"], testbed=files["testbed"], seeds=SEEDS,
        out=files["null"], **COMMON)  # fmt: skip
    return files


def test_run_randomization_saves_each_steps_maps(pipeline):
    r = load_npz(pipeline["cascading"])
    model = models.load(pipeline["checkpoint"])
    x, _, _ = load_testbed(pipeline["testbed"])
    assert list(r["methods"]) == list(METHODS)
    assert list(r["steps"]) == ["original", *model.layer_order]
    assert r["computed"][3].tolist() == [True] * 3 + [False, True, False]  # IG: 3 + grid image
    g = list(r["methods"]).index("gradient")
    for s, (_, net) in enumerate(randomization.cascading(model, 0)):
        target = torch.as_tensor(r["targets"][s])
        np.testing.assert_allclose(r["maps"][s, g], _grad(net, x, target).numpy(), rtol=1e-5,
                                   atol=1e-7)  # fmt: skip
    np.testing.assert_allclose(r["image"], x[4:5, 0].numpy())  # the grid images, one here
    assert set(r["similarity"]["mode"]) == {"cascading"}


def test_run_null_is_two_untrained_copies(pipeline):
    nul = load_npz(pipeline["null"])
    model = models.load(pipeline["checkpoint"])
    x, _, _ = load_testbed(pipeline["testbed"])
    g = list(nul["methods"]).index("gradient")
    assert nul["maps"].shape[:3] == (2, len(METHODS), 6)
    assert nul["seeds"].tolist() == SEEDS
    for c, net in enumerate(E.untrained_copies(model, SEEDS)):
        pred = net(x).argmax(1)  # each copy explains its own prediction
        assert nul["targets"][c].tolist() == pred.tolist()
        np.testing.assert_allclose(nul["maps"][c, g], _grad(net, x, pred).numpy(), rtol=1e-5,
                                   atol=1e-7)  # fmt: skip
    # step 1 of the table: copy B vs copy A, Spearman on |map| re-computed with scipy
    a, b = np.abs(nul["maps"][0, g]), np.abs(nul["maps"][1, g])
    rho = [spearmanr(a[i].ravel(), b[i].ravel())[0] for i in range(6)]
    table = nul["similarity"]
    row = table[(table["step"] == 1) & (table["method"] == "gradient")
                & (table["metric"] == "spearman") & (table["variant"] == "abs")]  # fmt: skip
    assert row["mean"].item() == pytest.approx(np.mean(rho))
    assert row["mean"].item() < 0.99  # two copies, two maps


def test_run_null_needs_two_different_seeds(pipeline, tmp_path):
    for seeds in ([1], [3, 3]):
        with pytest.raises(ValueError, match="two different seeds"):
            E.run_null(checkpoint=pipeline["checkpoint"], testbed=pipeline["testbed"],
                       seeds=seeds, out=tmp_path / "n.npz", **COMMON)  # fmt: skip


def test_rank_figure_claims_and_csv(pipeline, catalogue, tmp_path):
    files = outputs(tmp_path, "rank")
    claims = run(catalogue, "figure", "adebayo2018/cascading_rank_cnn", F.rank_figure,
                 maps=pipeline["cascading"], null=pipeline["null"], metrics=pipeline["metrics"],
                 methods=METHODS, margin=0.1, **files)  # fmt: skip
    assert all(p.stat().st_size > 0 for p in files.values())
    by_id = {c.id: c for c in claims}
    prefix = "adebayo2018.final_rank.cnn"
    assert set(by_id) == {
        "adebayo2018.accuracy.cnn", "adebayo2018.ig_background_artefact.cnn",
        *(f"{prefix}.{m}.{v}" for m in ("gradient", "integrated_gradients")
          for v in ("abs", "signed")), f"{prefix}.vargrad_gradient.abs",
        f"{prefix}.gradcam.abs",  # GradCAM's maps are non-negative: |map| only
        *(f"adebayo2018.final_ssim.cnn.{m}" for m in METHODS),
    }  # fmt: skip
    nul = load_npz(pipeline["null"])["similarity"]
    for c in claims:
        if c.id.startswith(("adebayo2018.final_rank", "adebayo2018.final_ssim")):
            method = c.id.split(".")[3]
            metric = "spearman" if ".final_rank." in c.id else "ssim"
            variant = c.id.split(".")[4] if metric == "spearman" else "abs"
            sel = (nul["step"] == 1) & (nul["method"] == method) & (nul["metric"] == metric)
            assert c.null == pytest.approx(nul[sel & (nul["variant"] == variant)]["mean"].item())
            assert re.fullmatch(r"measured (<=|>|>=|<) null [-+] 0\.1", c.rule), c.rule
            assert c.holds is evaluate(c.rule, c.measured, c.null)
            assert c.kind == ("beyond" if c.id.endswith(".signed") else
                              "identity" if c.null >= 0.9 else "empirical")  # fmt: skip
    assert by_id["adebayo2018.accuracy.cnn"].measured == 0.5
    entry = load_json(files["entry"])
    assert [c["id"] for c in entry["claims"]] == [c.id for c in claims]
    csv = pd.read_csv(files["csv"])
    assert "null_mean" in csv.columns
    for method in METHODS:
        got = csv[(csv["method"] == method) & (csv["metric"] == "spearman")
                  & (csv["variant"] == "abs")]["null_mean"]  # fmt: skip
        assert np.allclose(got, by_id[f"{prefix}.{method}.abs"].null)  # one null per method


def test_independent_rank_figure_has_no_claims(pipeline, catalogue, tmp_path):
    files = outputs(tmp_path, "rank")
    claims = run(catalogue, "figure", "adebayo2018/independent_rank_cnn", F.rank_figure,
                 maps=pipeline["independent"], null=pipeline["null"],
                 metrics=pipeline["metrics"], methods=METHODS, margin=0.1, **files)  # fmt: skip
    assert claims == [] and load_json(files["entry"])["claims"] == []
    assert "null_mean" in pd.read_csv(files["csv"]).columns


def test_grid_figure(pipeline, catalogue, tmp_path):
    files = outputs(tmp_path, "grid")
    frame = run(catalogue, "figure", "adebayo2018/cascading_grid_cnn", F.grid_figure,
                maps=pipeline["cascading"], **files)  # fmt: skip
    result = load_npz(pipeline["cascading"])
    n_steps = len(result["steps"])
    assert len(frame) == n_steps * len(METHODS)
    assert np.allclose(frame[frame["step"] == 0]["spearman_abs"], 1.0)
    assert (frame["explained_class"] == np.repeat(result["targets"][:, 4], len(METHODS))).all()
    assert files["png"].stat().st_size > 0


# --- claims on constructed tables ----------------------------------------------------------


def _claims_result(
    values: dict, names: dict, model: str = "cnn", non_negative=("vargrad",)
) -> dict:
    """A saved result's fields that the claims read; maps of the non-negative methods >= 0, the
    others with both signs."""
    signs = np.array([1.0 if names[m] in non_negative else -1.0 for m in values])
    maps = np.stack([np.ones(len(values)), signs])[:, :, None, None] * np.ones((2, 1, 200, 4))
    return {"methods": np.array(list(values)), "names": np.array([names[m] for m in values]),
            "computed": np.ones((len(values), 200), bool), "model": np.array(model),
            "mode": np.array("cascading"), "maps": maps,
            "explained_class": np.array("randomized_prediction")}  # fmt: skip


def _tables(values: dict[str, tuple[float, float]]):
    """Similarity tables with, per method, the final-step mean and the null (step 1) for every
    metric and variant."""
    rows, null = [], []
    for method, (final, nul) in values.items():
        for metric, variant in (("spearman", "abs"), ("spearman", "signed"), ("ssim", "abs")):
            common = {"method": method, "metric": metric, "variant": variant}
            rows += [{**common, "step": 0, "mean": 1.0}, {**common, "step": 3, "mean": final}]
            null.append({**common, "step": 1, "mean": nul})
    return pd.DataFrame(rows), pd.DataFrame(null)


def test_final_claims_read_the_expectation_against_the_null():
    values = {"at_null": (0.25, 0.25), "far_above": (0.9, 0.25), "edge": (0.5, 0.25),
              "gbp": (0.9, 0.25), "gbp_at_null": (0.3, 0.25), "vg": (0.2, 0.25),
              "ref": (0.0, 0.0)}  # fmt: skip
    names = {"at_null": "gradient", "far_above": "gradient", "edge": "gradient",
             "gbp": "guided_backprop", "gbp_at_null": "guided_backprop", "vg": "vargrad",
             "ref": "random_map"}  # fmt: skip
    sensitive = {"expected_abs": "sensitive", "expected_signed": "sensitive"}
    insensitive = {"expected_abs": "insensitive", "expected_signed": "insensitive"}
    methods = {m: (insensitive if names[m] == "guided_backprop" else sensitive) for m in values}
    methods["at_null"] = {**sensitive, "expected_signed": None}  # not stated: no claim
    table, null = _tables(values)
    result = _claims_result(values, names, non_negative=("vargrad", "random_map"))
    claims = {c.id: c for c in F.final_claims(table, null, result, methods, 0.25)}
    rank = "adebayo2018.final_rank.cnn"

    def verdict(method, variant="abs"):
        return claims[f"{rank}.{method}.{variant}"].holds

    # sensitive: no more alike than the null + margin (0.25 <= 0.5; 0.5 <= 0.5; 0.9 > 0.5)
    assert verdict("at_null") is True and verdict("edge") is True
    assert verdict("far_above") is False and verdict("far_above", "signed") is False
    failure = claims[f"{rank}.far_above.abs"].on_failure
    assert failure.startswith("genuine non-replication of the seed's MNIST statement")
    assert "0.90" in failure and "0.25" in failure  # the numbers
    # the seed reports |map| only: the signed rows are beyond the paper
    assert claims[f"{rank}.far_above.signed"].kind == "beyond"
    assert claims[f"{rank}.far_above.abs"].kind == "empirical"
    # insensitive: more alike than the null + margin
    assert verdict("gbp") is True and verdict("gbp_at_null") is False
    for c in claims.values():
        assert c.null == pytest.approx(values[c.id.split(".")[3]][1])
        assert c.measured == pytest.approx(values[c.id.split(".")[3]][0])
    # VarGrad (non-negative maps) and the reference methods: |map| only
    assert f"{rank}.vg.abs" in claims and f"{rank}.vg.signed" not in claims
    assert f"{rank}.ref.signed" not in claims and claims[f"{rank}.ref.abs"].kind == "identity"
    assert f"{rank}.at_null.signed" not in claims
    assert claims["adebayo2018.final_ssim.cnn.far_above"].holds is False
    assert claims["adebayo2018.final_ssim.cnn.vg"].kind == "empirical"
    assert len(claims) == (1 + 2 * 4 + 1 + 1) + len(values)  # final_rank rows + final_ssim


def _ig_result(first: np.ndarray, last: np.ndarray, x: np.ndarray) -> dict:
    n = len(x)
    return {"names": np.array(["gradient", "integrated_gradients"]),
            "params": np.array([json.dumps({}), json.dumps({"baseline": "zero", "steps": 4})]),
            "computed": np.ones((2, n), bool), "x": x,
            "maps": np.stack([np.stack([first, first]), np.stack([last, last])])}  # fmt: skip


def test_ig_background_artefact_on_a_hand_made_case(generator):
    """IG with the zero baseline is 0 wherever the input is 0, before and after randomisation:
    those pixels tie in both maps and inflate the rank correlation of |map|."""
    n = 4
    x = (torch.rand(n, 1, 12, 12, generator=generator) > 0.7).float().numpy()  # 30% non-zero
    first = torch.randn(n, 1, 12, 12, generator=generator).numpy() * x
    last = torch.randn(n, 1, 12, 12, generator=generator).numpy() * x  # independent on x != 0
    (claim,) = F.ig_background_claim(_ig_result(first, last, x), "cnn")
    pairs = list(zip(first, last, strict=True))
    full = [spearmanr(np.abs(a).ravel(), np.abs(b).ravel())[0] for a, b in pairs]
    on = [spearmanr(np.abs(a[m]), np.abs(b[m]))[0]
          for a, b, m in zip(first, last, x != 0, strict=True)]  # fmt: skip
    assert claim.id == "adebayo2018.ig_background_artefact.cnn" and claim.kind == "beyond"
    assert claim.measured == pytest.approx(np.mean(full) - np.mean(on))
    assert claim.measured > 0.3 and claim.holds is True
    # no baseline pixels (x != 0 everywhere): nothing to inflate, the claim fails
    dense = np.ones_like(x)
    first, last = first + 0.1 * dense, last + 0.1 * dense
    (claim,) = F.ig_background_claim(_ig_result(first, last, dense), "cnn")
    assert claim.measured == pytest.approx(0.0, abs=1e-12) and claim.holds is False


def test_ig_background_needs_a_zero_baseline_ig():
    result = _ig_result(np.ones((2, 1, 4, 4)), np.ones((2, 1, 4, 4)), np.ones((2, 1, 4, 4)))
    result["params"] = np.array([json.dumps({}), json.dumps({"baseline": "black"})])
    assert F.ig_background_claim(result, "cnn") == []


def test_accuracy_claim_says_why_it_fails():
    ok = F.accuracy_claim({"test_accuracy": 0.99, "epochs": 3}, "mlp")
    low = F.accuracy_claim({"test_accuracy": 0.9, "epochs": 3}, "mlp")
    assert ok.holds is True and ok.id == "adebayo2018.accuracy.mlp"
    assert low.holds is False and "3 epochs" in low.on_failure


def test_the_edge_detector_identity_holds_when_its_maps_are_identical():
    """The edge detector never reads the weights, so its null (two untrained copies) is 1 as
    well: "more alike than the null" would fail by construction; the identity is equality."""
    values = {"edge": (1.0, 1.0), "broken": (0.6, 0.6)}
    table, null = _tables(values)
    result = _claims_result(values, dict.fromkeys(values, "edge_detector"), model="mlp")
    claims = {c.id: c for c in F.final_claims(table, null, result, {}, 0.1)}
    for metric in ("final_rank.mlp.{}.abs", "final_ssim.mlp.{}"):
        edge, broken = (claims["adebayo2018." + metric.format(m)] for m in values)
        assert edge.kind == "identity" and edge.holds is True
        assert broken.holds is False  # an edge detector that depended on the weights


def test_a_null_without_power_makes_the_row_hold_or_fail_by_construction():
    """IG |map| on MNIST: two untrained copies already agree to ~0.99 (zero pixels tie), so
    "insensitive" holds by construction (an identity row, never evidence) and "sensitive"
    cannot hold (an empirical failure that says so)."""
    values = {"ig": (0.99, 0.989), "gi": (0.99, 0.989), "gbp": (0.5, 0.45)}
    names = {"ig": "integrated_gradients", "gi": "gradient_input", "gbp": "guided_backprop"}
    methods = {"ig": {"expected_abs": "insensitive", "expected_signed": None},
               "gi": {"expected_abs": "sensitive", "expected_signed": None},
               "gbp": {"expected_abs": "insensitive", "expected_signed": None}}  # fmt: skip
    table, null = _tables(values)
    claims = {
        c.id: c for c in F.final_claims(table, null, _claims_result(values, names), methods, 0.1)
    }
    ig, gi = (
        claims["adebayo2018.final_rank.cnn.ig.abs"],
        claims["adebayo2018.final_rank.cnn.gi.abs"],
    )
    assert (ig.kind, ig.holds) == ("identity", True) and "by construction" in ig.expected
    assert (gi.kind, gi.holds) == ("empirical", False)
    assert gi.on_failure.startswith("cannot pass on these inputs")
    gbp = claims["adebayo2018.final_rank.cnn.gbp.abs"]  # the null leaves room: evidence
    assert (gbp.kind, gbp.holds) == ("empirical", False)
    assert "architecture's prior" in gbp.on_failure


def test_non_negative_maps_get_the_abs_rows_only_and_reduced_settings_are_named():
    values = {"cam": (0.8, 0.1), "ig_sg": (0.3, 0.3)}
    names = {"cam": "gradcam", "ig_sg": "smoothgrad"}
    methods = {"cam": {"expected_abs": "sensitive"},
               "ig_sg": {"expected_abs": "insensitive", "expected_signed": "sensitive",
                         "params": {"samples": 10, "steps": 10}}}  # fmt: skip
    table, null = _tables(values)
    result = _claims_result(values, names, non_negative=("gradcam",))
    result["computed"][1, 10:] = False  # IG-SG on 10 images
    claims = {c.id: c for c in F.final_claims(table, null, result, methods, 0.1)}
    rank = "adebayo2018.final_rank.cnn"
    assert f"{rank}.cam.abs" in claims and f"{rank}.cam.signed" not in claims
    assert claims[f"{rank}.cam.abs"].holds is False  # 0.8 > 0.1 + 0.1: not sensitive
    assert f"{rank}.ig_sg.signed" in claims
    low = claims[f"{rank}.ig_sg.abs"]
    assert low.holds is False and "run at 10 samples, 10 steps, 10 images" in low.expected
    assert low.on_failure.startswith("not decided at the paper's settings")


def test_a_claim_within_two_standard_errors_of_its_threshold_says_it_is_borderline():
    from saliency_sanity.figures.adebayo2018 import borderline

    # threshold 0.4738, standard error 0.01: 0.4741 is 0.03 SE away, 0.52 is 4.6 SE away
    assert "borderline" in borderline(0.4741, 0.4738, 0.01)
    assert "0.020" in borderline(0.4741, 0.4738, 0.01)  # two standard errors, printed
    assert borderline(0.52, 0.4738, 0.01) == ""
    assert borderline(0.4741, 0.4738, float("nan")) == ""
