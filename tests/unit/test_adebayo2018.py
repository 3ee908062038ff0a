"""adebayo2018: maps under parameter randomisation, their similarity curves, claims and figures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from saliency_sanity import randomization
from saliency_sanity.attribution import attribute
from saliency_sanity.experiments.adebayo2018 import (
    applicable_methods,
    method_specs,
    method_subsets,
    randomization_maps,
    similarity_table,
)
from saliency_sanity.figures.adebayo2018 import final_rank_claims, grid_figure, rank_figure
from saliency_sanity.io import load_json
from saliency_sanity.models import PaperModel, truncated_normal

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


def test_final_rank_claims_thresholds():
    table = pd.DataFrame(
        [
            {"step": s, "method": m, "metric": "spearman", "variant": v, "mean": val}
            for m, val in (("grad", 0.1), ("gbp", 0.8), ("ig", -0.7))
            for v in ("abs", "signed")
            for s, val in ((0, 1.0), (3, val))
        ]
    )
    result = {"methods": np.asarray(["grad", "gbp", "ig"]), "model": "cnn", "mode": "cascading"}
    result["explained_class"] = "randomized_prediction"
    methods = {
        "grad": {"expected_abs": "sensitive", "expected_signed": "insensitive"},
        "gbp": {"expected_abs": "insensitive", "expected_signed": None},
        "ig": {"expected_abs": "sensitive"},
    }
    claims = {c.id: c for c in final_rank_claims(table, result, methods, 0.5)}
    assert claims["adebayo2018.final_rank.cnn.grad.abs"].holds is True
    assert claims["adebayo2018.final_rank.cnn.grad.abs"].measured == pytest.approx(0.1)
    assert claims["adebayo2018.final_rank.cnn.grad.signed"].holds is False
    assert claims["adebayo2018.final_rank.cnn.gbp.abs"].holds is True
    assert claims["adebayo2018.final_rank.cnn.gbp.signed"].holds is None
    assert claims["adebayo2018.final_rank.cnn.ig.abs"].holds is False  # |-0.7| is not < 0.5
    assert len(claims) == 6


@pytest.mark.parametrize("mode", ["cascading", "independent"])
def test_figures_write_files_and_entries(tmp_path, cnn, x, mode):
    methods = {
        "g": {"method": "gradient", "label": "Gradient", "expected_abs": "sensitive"},
        "cam": {"method": "gradcam", "label": "GradCAM", "expected_abs": "sensitive"},
    }
    labels = torch.tensor([0, 1, 2, 3, 0])
    result = randomization_maps(cnn, x, method_specs(methods), mode, seed=0, labels=labels)
    table = similarity_table(result)
    result.update(
        labels=np.asarray(["Gradient", "GradCAM"]),
        names=np.asarray(["gradient", "gradcam"]),
        params=np.asarray([json.dumps({}), json.dumps({})]),
        true_labels=labels.numpy(),
        indices=np.arange(5),
        grid_position=np.asarray(2),
        image=x[2].numpy(),
        mode=np.asarray(mode),
        model=np.asarray("tiny_cnn"),
        explained_class=np.asarray("randomized_prediction"),
    )
    out = {k: tmp_path / f"rank.{k}" for k in ("png", "pdf", "csv", "json")}
    claims = rank_figure(result, table, methods, 0.5, *out.values())
    assert all(p.stat().st_size > 0 for p in out.values())
    assert len(claims) == (4 if mode == "cascading" else 0)
    entry = load_json(out["json"])
    assert len(entry["claims"]) == len(claims)
    grid = {k: tmp_path / f"grid.{k}" for k in ("png", "pdf", "csv", "json")}
    frame = grid_figure(result, *grid.values())
    assert len(frame) == 4 * 2
    first = frame[frame["step"] == 0]
    assert np.allclose(first["spearman_abs"], 1.0)
    assert (frame["explained_class"] == np.repeat(result["targets"][:, 2], 2)).all()


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
