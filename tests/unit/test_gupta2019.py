"""gupta2019 experiments and figures (competition for pixels) on tiny models and hand-made data."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from mnist_fixture import write_tiny_mnist

from saliency_sanity import models
from saliency_sanity.attribution import attribute, attribute_all_classes
from saliency_sanity.experiments import gupta2019 as E
from saliency_sanity.experiments.testbed import write_testbed
from saliency_sanity.figures import gupta2019 as F
from saliency_sanity.io import load_json, load_npz, save_json, save_npz
from saliency_sanity.randomization import cascading


def _outputs(tmp_path, name):
    return [tmp_path / f"{name}.{k}" for k in ("png", "pdf", "csv")] + [tmp_path / f"{name}.json"]


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


def test_randomization_maps_independent_keeps_other_layers(generator):
    torch.manual_seed(0)
    model = models.build("cnn").eval()
    x = torch.rand(2, 1, 28, 28, generator=generator)
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
# experiments from files (tiny synthetic MNIST, randomly initialised checkpoints)


@pytest.fixture
def files(tmp_path):
    root = tmp_path / "mnist"
    write_tiny_mnist(root, n_train=20, n_test=30, gz=False)
    testbed = tmp_path / "testbed.json"
    write_testbed(root, 12, 0, testbed)
    paths = {}
    for name, seed in (("alexnet", 0), ("random", 1), ("cnn", 2)):
        torch.manual_seed(seed)
        paths[name] = tmp_path / f"{name}.pt"
        models.save(paths[name], models.build("cnn" if name == "cnn" else "alexnet"))
    return root, testbed, paths


def test_experiments_write_consistent_results(files, tmp_path):
    root, testbed, p = files
    labels = load_json(testbed)["labels"]
    digit = labels[3]
    r = E.all_logits(p["alexnet"], root, testbed, digit, "cpu", tmp_path / "a.npz")
    assert r["label"] == digit and r["index"] == load_json(testbed)["indices"][labels.index(digit)]
    assert r["maps"].shape == (10, 28, 28) and r["competitive"].shape == (10, 28, 28)
    model = models.load(p["alexnet"])
    x = torch.from_numpy(r["x"])[None, None]
    gi = attribute("gradient_input", model, x, torch.tensor([r["prediction"]]))
    np.testing.assert_allclose(r["maps"][r["prediction"]], gi[0, 0], rtol=1e-5, atol=1e-7)
    # every pixel is won by at most one class with a positive and one with a negative score
    assert ((r["competitive"] > 0).sum(0) <= 1).all() and ((r["competitive"] < 0).sum(0) <= 1).all()

    h = E.score_histogram(p["alexnet"], root, testbed, 5, [2], 0, "cpu", tmp_path / "h.npz")
    assert h["n_images"] == 5 and len(h["scores"]) + h["n_zero_input"] == 5 * 784

    c = E.approximate_completeness(
        {"cnn": p["cnn"], "alexnet": p["alexnet"]}, root, testbed, 4, "cpu", tmp_path / "c.npz"
    )
    assert c["sums_cnn"].shape == c["logits_cnn"].shape == (4, 10)

    m = E.cgi_maps(p["alexnet"], root, testbed, 3, "cpu", tmp_path / "m.npz")
    kept = m["cgi"] != 0
    np.testing.assert_array_equal(m["cgi"][kept], m["gi"][kept])

    d = E.data_randomization(p["alexnet"], p["random"], root, testbed, 3, "cpu", tmp_path / "d.npz")
    assert not np.allclose(d["gi_normal"], d["gi_random_labels"])

    saved = E.randomization_experiment(
        p["cnn"], root, testbed, "cascading", {"gradient_input": {}}, 2, 0,
        "randomized_prediction", "cpu", tmp_path / "r.npz",
    )  # fmt: skip
    loaded = load_npz(tmp_path / "r.npz")
    assert loaded["maps_gradient_input"].shape == (5, 2, 28, 28)
    np.testing.assert_array_equal(loaded["maps_gradient_input"], saved["maps_gradient_input"])


# --------------------------------------------------------------------------------------------
# figures from hand-made results (no attribution)


def _randomization_npz(path, shrink=0.05, zero_last=False):
    rng = np.random.default_rng(0)
    plain = rng.normal(size=(1, 3, 28, 28)).repeat(3, axis=0)  # 3 steps, 3 images
    comp = np.where(np.abs(plain) > 1.5, plain, 0.0)
    comp[1:] *= shrink  # competitive maps shrink after randomisation, plain maps stay
    if zero_last:
        comp[2] = 0.0
    save_npz(
        path,
        steps=np.array(["original", "logits", "fc1"]),
        accuracy=np.array([0.9, 0.1, 0.1]),
        maps_gradient_input=plain,
        maps_competitive_gradient_input=comp,
        seconds_gradient_input=np.ones(3),
        sums_gradient_input=rng.normal(size=(3, 3, 10)),
        logits=rng.normal(size=(3, 3, 10)),
        x=rng.random((3, 28, 28)),
        methods=np.array(["gradient_input"]),
        model="cnn",
        procedure="cascading",
        explained="randomized_prediction",
    )


def test_randomization_grid_claims(tmp_path):
    _randomization_npz(tmp_path / "r.npz")
    table = F.randomization_grid(
        tmp_path / "r.npz", "gradient_input", "cascading_cgi", *_outputs(tmp_path, "g"),
        claims=True,
    )  # fmt: skip
    assert table.competitive_mass_ratio_mean.tolist() == pytest.approx([1, 0.05, 0.05])
    assert table.plain_mass_ratio_mean.tolist() == pytest.approx([1, 1, 1])
    claims = {c["id"]: c for c in load_json(tmp_path / "g.json")["claims"]}
    cgi = claims["gupta2019.cgi_mass_after_randomization.fc1"]
    assert cgi["measured"] == pytest.approx(0.05) and cgi["holds"] is True
    gi = claims["gupta2019.gi_mass_after_randomization.logits"]
    assert gi["measured"] == pytest.approx(1.0) and gi["holds"] is True
    assert len(claims) == 4  # two layers x (CGI, GI)
    for f in _outputs(tmp_path, "g"):
        assert f.stat().st_size > 0


def test_randomization_grid_claim_fails_when_cgi_stays(tmp_path):
    _randomization_npz(tmp_path / "r.npz", shrink=0.5)
    F.randomization_grid(
        tmp_path / "r.npz", "gradient_input", "cascading_cgi", *_outputs(tmp_path, "g"),
        claims=True,
    )  # fmt: skip
    claims = {c["id"]: c for c in load_json(tmp_path / "g.json")["claims"]}
    assert claims["gupta2019.cgi_mass_after_randomization.fc1"]["holds"] is False


def test_competition_rank_counts_all_zero_maps(tmp_path):
    _randomization_npz(tmp_path / "r.npz", zero_last=True)
    table = F.competition_rank([tmp_path / "r.npz"], *_outputs(tmp_path, "k"))
    plain = table[(table.method == "GI") & (table.view == "abs")]
    assert plain["mean"].tolist() == pytest.approx([1, 1, 1])  # identical maps: rank corr 1
    comp = table[(table.method == "CGI") & (table.view == "signed")].set_index("step")
    assert comp.loc["logits", "mean"] == pytest.approx(1)  # scaling keeps ranks
    assert comp.loc["fc1", "n_nan"] == 3 and np.isnan(comp.loc["fc1", "mean"])


def test_data_randomization_claims(tmp_path):
    rng = np.random.default_rng(0)
    gi = rng.normal(size=(4, 28, 28))
    save_npz(
        tmp_path / "d.npz",
        x=rng.random((4, 28, 28)), labels=np.arange(4), indices=np.arange(4),
        gi_normal=gi, cgi_normal=np.where(gi > 1, gi, 0),
        gi_random_labels=2 * gi, cgi_random_labels=np.zeros_like(gi),
    )  # fmt: skip
    m = {"train_accuracy": 0.99, "test_accuracy": 0.1, "epochs": 5, "n_train": 100,
         "spec": {"train_subset": 100, "paper": {"train_subset": 60000}}}  # fmt: skip
    save_json(tmp_path / "rl.json", m)
    save_json(tmp_path / "n.json", {**m, "spec": {}})
    F.data_randomization(
        tmp_path / "d.npz", tmp_path / "n.json", tmp_path / "rl.json", *_outputs(tmp_path, "d")
    )
    entry = json.loads((tmp_path / "d.json").read_text())
    claims = {c["id"]: c for c in entry["claims"]}
    assert claims["gupta2019.cgi_mass_random_labels"]["measured"] == 0.0
    assert claims["gupta2019.cgi_mass_random_labels"]["holds"] is True
    assert claims["gupta2019.gi_mass_random_labels"]["measured"] == pytest.approx(2.0)
    assert "100-image training subset" in entry["caption"]


def test_score_histogram_and_all_logits_figures(tmp_path):
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.normal(0, 1, 500), rng.normal(4, 1, 200)])
    (fit,) = E.fit_mixtures(scores, [2], 0)
    save_npz(
        tmp_path / "h.npz", scores=scores, n_images=3, n_pixels=1000, n_zero_input=300,
        components=np.array([2]), bic=np.array([fit["bic"]]), weights_2=fit["weights"],
        means_2=fit["means"], stds_2=fit["stds"],
    )  # fmt: skip
    table = F.score_histogram(tmp_path / "h.npz", *_outputs(tmp_path, "h"))
    assert table["weight"].sum() == pytest.approx(1)
    maps = rng.normal(size=(10, 28, 28))
    save_npz(
        tmp_path / "a.npz", x=rng.random((28, 28)), label=3, index=7, source="test-bed",
        logits=np.arange(10.0), prediction=9, maps=maps, competitive=maps * (maps > 2),
    )  # fmt: skip
    table = F.all_logits(tmp_path / "a.npz", *_outputs(tmp_path, "a"))
    assert table.cgi_pixels.tolist() == (maps > 2).reshape(10, -1).sum(1).tolist()
