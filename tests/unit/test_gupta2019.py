"""gupta2019 experiments and figures (competition for pixels) on tiny models and hand-made data.

The experiments and figures are called through :func:`run`, with exactly the keywords of their
catalogue row (the shipped config's). The claims are checked on hand-made results whose answers
are known: competition keeping exactly half of the plain map, 1/K of its pixels, identical or
rescaled maps (rank correlation 1), and against scipy's Spearman."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from mnist_fixture import write_tiny_mnist
from scipy.stats import spearmanr
from torch import nn

from saliency_sanity import models, similarity
from saliency_sanity.attribution import attribute, attribute_all_classes
from saliency_sanity.catalogue import Catalogue
from saliency_sanity.config import validate
from saliency_sanity.experiments import gupta2019 as E
from saliency_sanity.experiments.testbed import load_testbed, write_testbed
from saliency_sanity.figures import gupta2019 as F
from saliency_sanity.io import load_json, load_npz, save_json, save_npz
from saliency_sanity.models import PaperModel, pytorch_default
from saliency_sanity.randomization import cascading
from saliency_sanity.report import evaluate

ROOT = Path(__file__).resolve().parents[2]


class TinyMLP(PaperModel):
    """8x8 inputs, two hidden ReLU layers, 4 classes: randomisation and null tests in
    milliseconds (the zoo CNN's all-class backward passes take seconds on a CPU)."""

    name = "tiny_mlp"
    input_shape = (1, 8, 8)

    def __init__(self) -> None:
        layers = [
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(64, 16)),
            ("relu1", nn.ReLU()),
            ("fc2", nn.Linear(16, 16)),
            ("relu2", nn.ReLU()),
            ("logits", nn.Linear(16, 4)),
        ]
        super().__init__(layers, {n: pytorch_default for n in ("fc1", "fc2", "logits")})


@pytest.fixture
def tiny(seed) -> TinyMLP:
    torch.manual_seed(seed)
    return TinyMLP().eval()


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


@pytest.fixture
def softmax(generator):
    """Softmax regression with weights far from its initialisation: GI of class k is w_k * x."""
    model = models.build("softmax_regression")
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator))
    return model.eval()


# --------------------------------------------------------------------------------------------
# building blocks


def test_plain_and_competitive_by_hand():
    # one image, 3 classes, 4 pixels; explained class 0
    all_maps = torch.tensor([[[2.0, -1.0, 0.5, 1.0], [1.0, -3.0, 0.7, 1.0], [0.0, 0.0, -0.2, 0.0]]])
    plain, comp = E.plain_and_competitive(all_maps, torch.tensor([0]))
    assert plain.tolist() == [[2.0, -1.0, 0.5, 1.0]]
    # pixel 0 wins (max), pixel 1 loses to -3 (not the min), pixel 2 loses to 0.7, pixel 3 ties
    assert comp.tolist() == [[2.0, 0.0, 0.0, 1.0]]


def test_all_class_maps_chunks_and_closed_form(softmax, generator):
    x = torch.rand(5, 1, 28, 28, generator=generator)
    maps = E.all_class_maps("gradient_input", softmax, x, images_per_batch=2)
    w = softmax.layer("logits").weight.detach().reshape(10, 1, 28, 28)
    expected = w.unsqueeze(0) * x.unsqueeze(1)  # GI of a linear model: w_k * x
    torch.testing.assert_close(maps, expected)
    torch.testing.assert_close(maps, attribute_all_classes("gradient_input", softmax, x))


def test_mass_and_ratio():
    maps = np.array([[[1.0, -2.0]], [[0.0, 0.0]]])
    np.testing.assert_allclose(E.mass(maps), [3.0, 0.0])
    ratio = E.mass_ratio(maps * 0.5, maps)
    assert ratio[0] == pytest.approx(0.5)
    assert np.isnan(ratio[1])  # zero reference: undefined, not 0 or inf


def test_fit_mixtures_recovers_small_scale_components():
    # GI scores are ~1e-4: a fit on raw values would hit sklearn's variance floor (1e-6)
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.normal(0, 1e-4, 6000), rng.normal(8e-4, 2e-4, 2000)])
    (fit,) = E.fit_mixtures(scores, components=[2], seed=0)
    np.testing.assert_allclose(fit["weights"], [0.75, 0.25], atol=0.03)
    np.testing.assert_allclose(fit["means"], [0, 8e-4], atol=3e-5)
    np.testing.assert_allclose(fit["stds"], [1e-4, 2e-4], rtol=0.1)


def test_fit_mixtures_bic_prefers_the_true_count():
    rng = np.random.default_rng(1)
    scores = np.concatenate([rng.normal(-3, 0.5, 3000), rng.normal(3, 0.5, 3000)])
    one, two = E.fit_mixtures(scores, components=[1, 2], seed=0)
    assert two["bic"] < one["bic"]


def test_linear_fit_exact_line():
    x = np.arange(10.0)
    fit = F.linear_fit(x, 2 * x + 3)
    assert fit["alpha"] == pytest.approx(2)
    assert fit["beta"] == pytest.approx(3)
    assert fit["r2"] == pytest.approx(1)
    assert fit["n"] == 10


@pytest.mark.parametrize("explained", ["randomized_prediction", "label"])
def test_randomization_maps_closed_form(softmax, generator, explained):
    x = torch.rand(4, 1, 28, 28, generator=generator)
    labels = torch.tensor([0, 3, 5, 9])
    before = {k: v.clone() for k, v in softmax.state_dict().items()}
    r = E.randomization_maps(
        softmax, x, labels, {"gradient_input": {}}, "cascading", seed=3, explained=explained
    )
    assert list(r["steps"]) == ["original", "logits"]
    for k, v in softmax.state_dict().items():
        assert torch.equal(v, before[k]), f"{k} changed"
    nets = [net for _, net in cascading(softmax, 3)]
    for s, net in enumerate(nets):
        logits = net(x).detach()
        target = labels if explained == "label" else logits.argmax(1)
        assert r["targets"][s].tolist() == target.tolist()
        w = net.layer("logits").weight.detach().reshape(10, 28, 28)
        all_maps = w.unsqueeze(0) * x  # (N, K, 28, 28) by hand
        np.testing.assert_allclose(r["maps_gradient_input"][s], all_maps[range(4), target], 1e-5)
        np.testing.assert_allclose(r["sums_gradient_input"][s], all_maps.sum((2, 3)), 1e-4)
        acc = (logits.argmax(1) == labels).float().mean().item()
        assert r["accuracy"][s] == pytest.approx(acc)
    # competitive maps: only pixels where the target's score is the extreme over classes
    comp = r["maps_competitive_gradient_input"]
    assert (comp[0] != 0).sum() < (r["maps_gradient_input"][0] != 0).sum()
    kept = comp[0] != 0
    np.testing.assert_array_equal(comp[0][kept], r["maps_gradient_input"][0][kept])


def test_randomization_maps_independent_keeps_other_layers(tiny, generator):
    model = tiny
    x = torch.rand(2, 1, 8, 8, generator=generator)
    cas = E.randomization_maps(model, x, torch.tensor([1, 2]), {"gradient_input": {}})
    ind = E.randomization_maps(
        model, x, torch.tensor([1, 2]), {"gradient_input": {}}, "independent"
    )
    assert list(cas["steps"]) == list(ind["steps"]) == ["original", *model.layer_order]
    # first randomised layer (logits) is the same model in both procedures, later ones are not
    np.testing.assert_allclose(cas["maps_gradient_input"][1], ind["maps_gradient_input"][1])
    assert not np.allclose(cas["maps_gradient_input"][-1], ind["maps_gradient_input"][-1])
    with pytest.raises(ValueError, match="procedure"):
        E.randomization_maps(model, x, torch.tensor([1, 2]), {}, "shuffled")


# --------------------------------------------------------------------------------------------
# the null: two untrained copies


def test_untrained_copies_are_fresh_independent_and_leave_the_model(generator):
    torch.manual_seed(0)
    model = models.build("alexnet").eval()
    with torch.no_grad():  # stand-in for training: every parameter moved off its initial value
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=generator))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    a, b = E.untrained_copies(model, [1001, 1002])
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not model.training and not a.training and not b.training
    for name in model.layer_order:
        for key, trained in model.layer(name).named_parameters():
            fresh_a, fresh_b = getattr(a.layer(name), key), getattr(b.layer(name), key)
            assert not torch.allclose(fresh_a, trained), f"{name}.{key} kept"
            assert not torch.allclose(fresh_b, trained), f"{name}.{key} kept"
            assert not torch.allclose(fresh_a, fresh_b), f"{name}.{key}: copies alike"
    (again,) = E.untrained_copies(model, [1001])
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in a.state_dict().items())


def test_null_maps_are_each_copys_own_maps(tiny, generator):
    model = tiny
    x = torch.rand(3, 1, 8, 8, generator=generator)
    labels = torch.tensor([1, 2, 3])
    out = E.null_maps(model, x, labels, {"gradient_input": {}}, [5, 6], "randomized_prediction",
                      2)  # fmt: skip
    assert out["null_maps_gradient_input"].shape == (2, 3, 8, 8)
    for c, net in enumerate(E.untrained_copies(model, [5, 6])):
        pred = net(x).argmax(1)
        gi = attribute("gradient_input", net, x, pred)[:, 0]
        np.testing.assert_allclose(out["null_maps_gradient_input"][c], gi, rtol=1e-5, atol=1e-7)
        comp = out["null_maps_competitive_gradient_input"][c]
        kept = comp != 0
        # the competitive maps come from one batched all-class backward: equal up to rounding
        np.testing.assert_allclose(comp[kept], gi.numpy()[kept], rtol=1e-5, atol=1e-7)
    # two seeds, two different maps
    assert not np.allclose(*out["null_maps_gradient_input"])
    by_label = E.null_maps(model, x, labels, {"gradient_input": {}}, [5, 6], "label", 2)
    (net, _) = E.untrained_copies(model, [5, 6])
    np.testing.assert_allclose(by_label["null_maps_gradient_input"][0],
                               attribute("gradient_input", net, x, labels)[:, 0], rtol=1e-5,
                               atol=1e-7)  # fmt: skip


# --------------------------------------------------------------------------------------------
# experiments from files (tiny synthetic MNIST, randomly initialised checkpoints)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("gupta")
    root = tmp_path / "mnist"
    write_tiny_mnist(root, n_train=20, n_test=30, gz=False)
    testbed = tmp_path / "testbed.npz"
    write_testbed(mnist=root, size=12, seed=0, out=testbed)
    paths = {}
    for name, zoo, seed in (("alexnet", "alexnet", 0), ("random", "alexnet", 1), ("cnn", "cnn", 2),
                            ("mlp", "mlp", 3)):  # fmt: skip
        torch.manual_seed(seed)
        paths[name] = tmp_path / f"{name}.pt"
        models.save(paths[name], models.build(zoo))
    return root, testbed, paths


def test_experiments_write_consistent_results(files, catalogue, tmp_path):
    root, testbed, p = files
    bed = load_npz(testbed)
    labels = bed["labels"].tolist()
    digit = labels[3]
    r = run(catalogue, "experiment", "gupta2019/all_logits", E.all_logits,
            checkpoint=p["alexnet"], testbed=testbed, mnist=root, digit=digit, device="cpu",
            out=tmp_path / "a.npz")  # fmt: skip
    assert r["label"] == digit and r["index"] == bed["ids"][labels.index(digit)]
    assert r["source"] == "test-bed"
    assert r["maps"].shape == (10, 28, 28) and r["competitive"].shape == (10, 28, 28)
    model = models.load(p["alexnet"])
    x = torch.from_numpy(r["x"])[None, None]
    gi = attribute("gradient_input", model, x, torch.tensor([r["prediction"]]))
    np.testing.assert_allclose(r["maps"][r["prediction"]], gi[0, 0], rtol=1e-5, atol=1e-7)
    # every pixel is won by at most one class with a positive and one with a negative score
    assert ((r["competitive"] > 0).sum(0) <= 1).all() and ((r["competitive"] < 0).sum(0) <= 1).all()

    h = run(catalogue, "experiment", "gupta2019/score_histogram", E.score_histogram,
            checkpoint=p["alexnet"], testbed=testbed, n_images=5, components=[2], seed=0,
            device="cpu", out=tmp_path / "h.npz")  # fmt: skip
    assert h["n_images"] == 5 and len(h["scores"]) + h["n_zero_input"] == 5 * 784

    c = run(catalogue, "experiment", "gupta2019/approximate_completeness",
            E.approximate_completeness, checkpoints={"cnn": p["cnn"], "alexnet": p["alexnet"]},
            testbed=testbed, n_images=4, device="cpu", out=tmp_path / "c.npz")  # fmt: skip
    assert c["sums_cnn"].shape == c["logits_cnn"].shape == (4, 10)

    m = run(catalogue, "experiment", "gupta2019/cgi_maps", E.cgi_maps, checkpoint=p["alexnet"],
            testbed=testbed, n_images=3, device="cpu", out=tmp_path / "m.npz")  # fmt: skip
    kept = m["cgi"] != 0
    np.testing.assert_array_equal(m["cgi"][kept], m["gi"][kept])

    d = run(catalogue, "experiment", "gupta2019/data_randomization", E.data_randomization,
            normal=p["alexnet"], random_labels=p["random"], testbed=testbed, n_images=3,
            null_seeds=[7, 8], device="cpu", out=tmp_path / "d.npz")  # fmt: skip
    assert not np.allclose(d["gi_normal"], d["gi_random_labels"])
    # the comparison is checks.data_randomization's, on the maps saved for the figure
    sim = load_npz(tmp_path / "d.npz")["similarity"].set_index(["method", "measure"])
    for key in ("gi", "cgi"):
        rho = similarity.spearman(d[f"{key}_normal"], d[f"{key}_random_labels"])
        assert sim.loc[(key, "spearman_abs"), "mean"] == pytest.approx(np.nanmean(rho), abs=1e-12)
    assert np.isfinite(sim["null_mean"]).all()


def test_randomization_experiment_saves_maps_and_null(files, catalogue, tmp_path):
    _, testbed, p = files
    saved = run(catalogue, "experiment", "gupta2019/cascading_cgi", E.randomization_experiment,
                checkpoint=p["mlp"], testbed=testbed, procedure="cascading",
                methods={"gradient_input": {}}, images=2, seed=0, null_seeds=[7, 8],
                explained="randomized_prediction", batch_size=100, device="cpu",
                references=["random_map", "edge_detector"], out=tmp_path / "r.npz")  # fmt: skip
    loaded = load_npz(tmp_path / "r.npz")
    assert loaded["maps_gradient_input"].shape == (5, 2, 28, 28)
    assert loaded["null_maps_gradient_input"].shape == (2, 2, 28, 28)
    # the reference methods: plain maps only, stored as the methods' (steps, images, H, W)
    assert loaded["references"].tolist() == ["random_map", "edge_detector"]
    assert loaded["methods"].tolist() == ["gradient_input"]
    for ref in ("random_map", "edge_detector"):
        assert loaded[f"maps_{ref}"].shape == (5, 2, 28, 28)
        assert loaded[f"null_maps_{ref}"].shape == (2, 2, 28, 28)
        assert f"maps_competitive_{ref}" not in loaded
    edges = loaded["maps_edge_detector"]
    assert (edges == edges[0]).all()  # reads no model: the same map at every step
    assert not np.allclose(loaded["maps_random_map"][0], loaded["maps_random_map"][-1])
    np.testing.assert_array_equal(loaded["maps_gradient_input"], saved["maps_gradient_input"])
    assert int(loaded["n_classes"]) == 10 and loaded["null_seeds"].tolist() == [7, 8]
    model = models.load(p["mlp"])
    x, _, _ = load_testbed(testbed, n=2)
    for c, net in enumerate(E.untrained_copies(model, [7, 8])):
        gi = attribute("gradient_input", net, x, net(x).argmax(1))[:, 0]
        np.testing.assert_allclose(loaded["null_maps_gradient_input"][c], gi, rtol=1e-5,
                                   atol=1e-7)  # fmt: skip


# --------------------------------------------------------------------------------------------
# figures from hand-made results (no attribution)

K = 4  # classes of the hand-made results: 1/K = 0.25
SIDE = 8  # 8 x 8 maps: 64 pixels


def _masks(rng) -> tuple[np.ndarray, np.ndarray]:
    """A checkerboard (half the pixels) and a quarter of the pixels inside it."""
    board = (np.add.outer(np.arange(SIDE), np.arange(SIDE)) % 2 == 0).ravel()
    quarter = np.zeros(SIDE * SIDE, bool)
    quarter[rng.choice(np.flatnonzero(board), SIDE * SIDE // 4, replace=False)] = True
    return board.reshape(SIDE, SIDE), quarter.reshape(SIDE, SIDE)


def _randomization_npz(path, method="gradient_input", n=3, seed=0):
    """Three steps (original, logits, fc1) of hand-made plain and competitive maps.

    original: |plain| equal on each pair of horizontal neighbours (one on each colour of a
    checkerboard), competition keeps the checkerboard: half the pixels and exactly half the
    mass. logits: competition keeps a quarter (1/K) of the pixels, the ones where |plain| = 1
    (elsewhere 3): mass share 16 / (16 + 48 * 3) = 0.1. fc1: the maps of the original step
    again (competition keeps half, ranks unchanged)."""
    rng = np.random.default_rng(seed)
    board, quarter = _masks(rng)
    signs = rng.choice([-1.0, 1.0], size=(n, SIDE, SIDE))
    pairs = np.repeat(rng.uniform(0.5, 2.0, (n, SIDE, SIDE // 2)), 2, axis=-1)
    first = signs * pairs
    plain = np.stack([first, signs * np.where(quarter, 1.0, 3.0), first])
    comp = np.stack([first * board, plain[1] * quarter, first * board])
    null = rng.normal(size=(2, n, SIDE, SIDE))
    null_comp = null * (rng.random((2, n, SIDE, SIDE)) < 0.3)
    save_npz(
        path, steps=np.array(["original", "logits", "fc1"]), accuracy=np.array([0.9, 0.1, 0.1]),
        logits=rng.normal(size=(3, n, K)), targets=np.zeros((3, n), int),
        **{f"maps_{method}": plain, f"maps_competitive_{method}": comp,
           f"null_maps_{method}": null, f"null_maps_competitive_{method}": null_comp,
           f"sums_{method}": rng.normal(size=(3, n, K))},
        x=rng.random((n, SIDE, SIDE)), labels=np.arange(n), indices=np.arange(n),
        methods=np.array([method]), model="cnn", procedure="cascading",
        explained="randomized_prediction", null_seeds=np.array([1001, 1002]), n_classes=K,
    )  # fmt: skip
    return plain, comp, null, null_comp


def _spearman(a, b) -> float:
    """Mean over images of scipy's Spearman on |map| (NaN-free here)."""
    return float(np.mean([spearmanr(np.abs(u).ravel(), np.abs(v).ravel())[0]
                          for u, v in zip(a, b, strict=True)]))  # fmt: skip


def _grid(catalogue, tmp_path, run_name, results):
    files = outputs(tmp_path, run_name)
    table = run(catalogue, "figure", f"gupta2019/{run_name}", F.randomization_grid,
                results=results, run=run_name, n_display=1, margin=0.1, blank_share=0.5,
                **files)  # fmt: skip
    assert all(f.stat().st_size > 0 for f in files.values())
    return table, {c["id"]: c for c in load_json(files["entry"])["claims"]}, files


def test_cascading_cgi_claims_on_known_answers(catalogue, tmp_path):
    _, _, null, null_comp = _randomization_npz(tmp_path / "r.npz")
    table, claims, files = _grid(catalogue, tmp_path, "cascading_cgi", tmp_path / "r.npz")
    assert table.competition_share_mean.tolist() == pytest.approx([0.5, 0.1, 0.5])
    assert table.pixels_kept_mean.tolist() == pytest.approx([0.5, 0.25, 0.5])
    assert table.one_over_k.tolist() == [0.25] * 3
    g = "gupta2019."
    assert set(claims) == {
        *(f"{g}{kind}.{step}" for kind in ("competition_share", "pixels_kept")
          for step in ("trained", "logits", "fc1")), f"{g}final_rank.gi", f"{g}final_rank.cgi",
    }  # fmt: skip
    assert not [i for i in claims if "mass" in i]  # the scale-dependent mass ratios are gone
    assert not [c for c in pd.read_csv(files["csv"]).columns if "mass" in c]
    share, kept = claims[f"{g}competition_share.trained"], claims[f"{g}pixels_kept.trained"]
    assert (share["kind"], share["holds"]) == ("identity", True)
    assert (kept["kind"], kept["null"], kept["holds"]) == ("beyond", None, True)
    assert kept["expected"].startswith("measured > 0.25")  # 1/K is in the rule, not a null
    assert share["measured"] == pytest.approx(0.5) and kept["measured"] == 0.5
    # logits: almost blank (0.1 < 0.5 x 0.5) and 1/K of the pixels: the paper's claims hold
    logits = claims[f"{g}competition_share.logits"], claims[f"{g}pixels_kept.logits"]
    assert [(c["measured"], c["null"], c["holds"]) for c in logits] == [
        (pytest.approx(0.1), 0.5, True), (0.25, None, True)]  # fmt: skip
    # fc1: competition keeps what it kept on the trained net: both fail, and say why
    fc1 = claims[f"{g}competition_share.fc1"], claims[f"{g}pixels_kept.fc1"]
    assert [(c["measured"], c["holds"]) for c in fc1] == [(0.5, False), (0.5, False)]
    assert all(c["kind"] == "empirical" and c["on_failure"] for c in fc1)
    # ranks: plain maps unchanged (1), competitive maps of fc1 = the original's (1), read
    # against the untrained copies' rank correlation, re-computed with scipy
    gi, cgi = claims[f"{g}final_rank.gi"], claims[f"{g}final_rank.cgi"]
    assert gi["measured"] == pytest.approx(1.0) and cgi["measured"] == pytest.approx(1.0)
    assert gi["null"] == pytest.approx(_spearman(null[0], null[1]))
    assert cgi["null"] == pytest.approx(_spearman(null_comp[0], null_comp[1]))
    assert gi["holds"] is True and cgi["holds"] is False  # GI insensitive; CGI did not change
    for c in claims.values():
        assert c["holds"] is evaluate(c["expected"].split(" (")[0], c["measured"], c["null"])


def test_competitive_map_that_changes_passes_the_rank_test(catalogue, tmp_path):
    """The same run with the fc1 competitive maps replaced by independent ones: their rank
    correlation with the trained net's falls to that of two untrained copies."""
    _, comp, _, null_comp = _randomization_npz(tmp_path / "r.npz")
    d = load_npz(tmp_path / "r.npz")
    d["maps_competitive_gradient_input"][2] = null_comp[0]
    d["null_maps_competitive_gradient_input"][1] = comp[0] * 2  # null: copy B ~ trained map
    save_npz(tmp_path / "r2.npz", **d)
    _, claims, _ = _grid(catalogue, tmp_path, "cascading_cgi", tmp_path / "r2.npz")
    cgi = claims["gupta2019.final_rank.cgi"]
    assert cgi["measured"] == pytest.approx(_spearman(comp[0], null_comp[0]))
    assert cgi["null"] == pytest.approx(cgi["measured"])  # the null compares the same maps
    assert cgi["holds"] is True


def test_clrp_layerwise_and_cdasp_claims(catalogue, tmp_path):
    _randomization_npz(tmp_path / "lrp.npz", method="lrp_epsilon")
    _, claims, _ = _grid(catalogue, tmp_path, "cascading_clrp", tmp_path / "lrp.npz")
    assert set(claims) == {"gupta2019.final_rank.lrp", "gupta2019.final_rank.clrp"}
    _randomization_npz(tmp_path / "r.npz")
    _, claims, _ = _grid(catalogue, tmp_path, "layerwise_cgi", tmp_path / "r.npz")
    assert claims == {}
    _randomization_npz(tmp_path / "dasp.npz", method="dasp")
    _, claims, _ = _grid(catalogue, tmp_path, "cascading_cdasp", tmp_path / "dasp.npz")
    assert claims == {}


def test_competition_rank_counts_all_zero_maps(catalogue, tmp_path):
    plain, _, null, _ = _randomization_npz(tmp_path / "r.npz")
    d = load_npz(tmp_path / "r.npz")
    d["maps_competitive_gradient_input"][2] = 0.0  # fc1: CGI all zero
    save_npz(tmp_path / "r.npz", **d)
    files = outputs(tmp_path, "k")
    table = run(catalogue, "figure", "gupta2019/competition_rank", F.competition_rank,
                runs=[tmp_path / "r.npz"], **files)  # fmt: skip
    gi = table[(table.method == "GI") & (table.view == "abs")]
    assert gi["mean"].tolist() == pytest.approx([1, _spearman(plain[0], plain[1]), 1])
    assert gi["null_mean"].tolist() == pytest.approx([_spearman(null[0], null[1])] * 3)
    comp = table[(table.method == "CGI") & (table.view == "signed")].set_index("step")
    assert comp.loc["original", "mean"] == pytest.approx(1)
    assert comp.loc["fc1", "n_nan"] == 3 and np.isnan(comp.loc["fc1", "mean"])
    assert "null_mean" in pd.read_csv(files["csv"]).columns


def test_data_randomization_claims(catalogue, tmp_path):
    rng = np.random.default_rng(0)
    gi = rng.normal(size=(4, SIDE, SIDE))
    cgi = np.where(gi > 0.5, gi, 0)
    save_npz(
        tmp_path / "d.npz",
        x=rng.random((4, SIDE, SIDE)), labels=np.arange(4), indices=np.arange(4),
        gi_normal=gi, cgi_normal=cgi, gi_random_labels=2 * gi, cgi_random_labels=3 * cgi,
    )  # fmt: skip
    _, _, null, null_comp = _randomization_npz(tmp_path / "null.npz", n=6)
    m = {"train_accuracy": 0.99, "test_accuracy": 0.3, "epochs": 5, "n_train": 100,
         "spec": {"train_subset": 100, "paper": {"train_subset": 60000}}}  # fmt: skip
    save_json(tmp_path / "rl.json", m)
    save_json(tmp_path / "n.json", {**m, "test_accuracy": 0.97, "spec": {}})
    files = outputs(tmp_path, "d")
    table = run(catalogue, "figure", "gupta2019/data_randomization", F.data_randomization,
                results=tmp_path / "d.npz", null=tmp_path / "null.npz",
                normal_metrics=tmp_path / "n.json", random_metrics=tmp_path / "rl.json",
                n_display=2, margin=0.1, **files)  # fmt: skip
    entry = load_json(files["entry"])
    claims = {c["id"]: c for c in entry["claims"]}
    assert set(claims) == {f"gupta2019.{k}" for k in (
        "random_label_train_accuracy", "random_label_test_accuracy",
        "data_randomization_rank.gi", "data_randomization_rank.cgi")}  # fmt: skip
    assert claims["gupta2019.random_label_train_accuracy"]["holds"] is True
    test_acc = claims["gupta2019.random_label_test_accuracy"]
    assert test_acc["measured"] == 0.3 and test_acc["holds"] is False  # not at chance
    assert test_acc["on_failure"]
    # rescaled maps: rank correlation 1; the null: the first 4 images of the untrained copies
    rank_gi, rank_cgi = (claims[f"gupta2019.data_randomization_rank.{k}"] for k in ("gi", "cgi"))
    assert rank_gi["measured"] == pytest.approx(1.0) and rank_cgi["measured"] == pytest.approx(1)
    assert rank_gi["null"] == pytest.approx(_spearman(null[0, :4], null[1, :4]))
    assert rank_cgi["null"] == pytest.approx(_spearman(null_comp[0, :4], null_comp[1, :4]))
    assert rank_gi["holds"] is True and rank_cgi["holds"] is False
    share = (np.abs(cgi).reshape(4, -1).sum(1) / np.abs(gi).reshape(4, -1).sum(1)).mean()
    assert table.cgi_share_of_gi_mass.tolist() == pytest.approx([share, 1.5 * share])
    assert "100-image training subset (paper: 60000)" in entry["details"]


def test_cgi_maps_figure_keeps_half(catalogue, tmp_path):
    rng = np.random.default_rng(0)
    board, _ = _masks(rng)
    gi = rng.choice([-2.0, 2.0], size=(3, SIDE, SIDE))
    save_npz(tmp_path / "m.npz", x=rng.random((3, SIDE, SIDE)), labels=np.arange(3),
             indices=np.arange(3), predictions=np.arange(3), gi=gi, cgi=gi * board)  # fmt: skip
    files = outputs(tmp_path, "m")
    table = run(catalogue, "figure", "gupta2019/cgi_maps", F.cgi_maps, results=tmp_path / "m.npz",
                **files)  # fmt: skip
    assert table.cgi_share_of_gi_mass.tolist() == [0.5] * 3
    assert table.cgi_pixels.tolist() == [32] * 3 and table.gi_pixels.tolist() == [64] * 3


def test_approximate_completeness_recovers_a_known_line(catalogue, tmp_path):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, K))
    save_npz(tmp_path / "gi.npz", models=np.array(["cnn"]), logits_cnn=logits,
             sums_cnn=2 * logits + 1)  # fmt: skip
    dasp_logits = rng.normal(size=(2, 3, K))
    save_npz(tmp_path / "dasp.npz", model="cnn", logits=dasp_logits,
             sums_dasp=0.5 * dasp_logits - 0.25)  # fmt: skip
    files = outputs(tmp_path, "c")
    table = run(catalogue, "figure", "gupta2019/approximate_completeness",
                F.approximate_completeness, gi=tmp_path / "gi.npz", dasp=tmp_path / "dasp.npz",
                **files)  # fmt: skip
    every = table[table.classes == "all"].set_index("method")
    assert every.loc["gradient_input", ["alpha", "beta", "r2"]].tolist() == pytest.approx([2, 1, 1])
    assert every.loc["dasp", ["alpha", "beta"]].tolist() == pytest.approx([0.5, -0.25])
    assert every.loc["gradient_input", "n"] == 5 * K and every.loc["dasp", "n"] == 3 * K


def test_score_histogram_and_all_logits_figures(catalogue, tmp_path):
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.normal(0, 1, 500), rng.normal(4, 1, 200)])
    (fit,) = E.fit_mixtures(scores, [2], 0)
    save_npz(
        tmp_path / "h.npz", scores=scores, n_images=3, n_pixels=1000, n_zero_input=300,
        components=np.array([2]), bic=np.array([fit["bic"]]), weights_2=fit["weights"],
        means_2=fit["means"], stds_2=fit["stds"],
    )  # fmt: skip
    table = run(catalogue, "figure", "gupta2019/score_histogram", F.score_histogram,
                results=tmp_path / "h.npz", **outputs(tmp_path, "h"))  # fmt: skip
    assert table["weight"].sum() == pytest.approx(1)
    maps = rng.normal(size=(10, 28, 28))
    save_npz(
        tmp_path / "a.npz", x=rng.random((28, 28)), label=3, index=7, source="test-bed",
        logits=np.arange(10.0), prediction=9, maps=maps, competitive=maps * (maps > 2),
    )  # fmt: skip
    table = run(catalogue, "figure", "gupta2019/all_logits", F.all_logits,
                results=tmp_path / "a.npz", **outputs(tmp_path, "a"))  # fmt: skip
    assert table.cgi_pixels.tolist() == (maps > 2).reshape(10, -1).sum(1).tolist()


def test_a_method_of_its_own_chunk_runs_in_the_randomisation(files):
    """DASP's ``chunk`` (of coalitions) reaches DASP and does not collide with the images per
    pass of the competition (the smoke DAG once failed on exactly that, as ``batch_size``)."""
    _, testbed, p = files
    model = models.load(p["mlp"])
    x, labels, _ = load_testbed(testbed, n=1)
    params = {"coalition_sizes": 1, "chunk": 64}
    out = E.randomization_maps(model, x, labels, {"dasp": params}, "cascading", 0,
                               "randomized_prediction", 100)  # fmt: skip
    assert out["maps_dasp"].shape[:2] == (len(out["steps"]), 1)
    plain, _, _, _ = E.competition_maps("dasp", model, x, labels, None, images_per_batch=1,
                                        coalition_sizes=1, chunk=64)  # fmt: skip
    assert plain.shape == x.shape and torch.isfinite(plain).all()


def test_rank_claims_without_power_are_identities_never_evidence():
    """GI and LRP on MNIST: two untrained AlexNets' |map| already agree to ~0.99 (zero pixels
    tie): "the plain map does not change" holds by construction, an identity row."""
    gi = F.rank_claim("final_rank.gi", "f", "t", "insensitive", 0.990, 0.989, 0.1, "here")
    assert (gi.kind, gi.holds) == ("identity", True)
    cgi = F.rank_claim("final_rank.cgi", "f", "t", "sensitive", 0.19, 0.17, 0.1, "here")
    assert (cgi.kind, cgi.holds) == ("empirical", True)  # no more alike than the null
    same = F.rank_claim("final_rank.cgi", "f", "t", "sensitive", 0.45, 0.17, 0.1, "here")
    assert same.holds is False and same.on_failure.startswith("genuine, here: measured 0.45")
    blind = F.rank_claim("final_rank.cgi", "f", "t", "sensitive", 0.99, 0.95, 0.1, "here")
    assert (blind.kind, blind.holds) == ("empirical", False)
    assert "the input, not the weights, sets the map" in blind.on_failure
