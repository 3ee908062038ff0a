"""saliency_sanity.checks on toys whose answers are known by hand, and its contracts: the model
is left as found, the layers follow execution order, the null comes from independent copies,
bad arguments are named."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from saliency_sanity import checks, models, randomization
from saliency_sanity.checks.layers import randomized_models, steps_of
from saliency_sanity.checks.parameter import histogram_entropy
from saliency_sanity.checks.random_logit import other_class
from saliency_sanity.checks.scorecard import CHECKS, scorecard

GEN = torch.Generator().manual_seed(0)


class Late(nn.Module):
    """Registers ``head`` before ``conv`` but runs ``conv`` first; ``unused`` never runs."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(4 * 12 * 12, 10)
        self.unused = nn.Linear(3, 3)
        self.conv = nn.Conv2d(1, 4, 3, padding=1)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).flatten(1))


class IgnoresInput(nn.Module):
    """Logits that do not depend on the input: b + 0 * W x."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.fc = nn.Linear(2 * 12 * 12, 10)

    def forward(self, x):
        return self.fc(0.0 * torch.relu(self.conv(x)).flatten(1))


def _cnn():
    torch.manual_seed(1)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 12 * 12, 10)).eval()  # fmt: skip


def _x(n=6):
    return torch.rand(n, 1, 12, 12, generator=torch.Generator().manual_seed(n))


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_steps_follow_execution_not_registration_and_skip_unused_modules():
    steps = steps_of(Late(), _x())
    assert [s.name for s in steps] == ["conv", "head"]  # registration order is head, unused, conv


def test_block_depth_groups_modules_by_name_prefix():
    net = nn.Sequential(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3)), nn.Flatten(),
                        nn.Linear(2 * 8 * 8, 3))  # fmt: skip
    steps = steps_of(net, torch.rand(1, 1, 12, 12), block_depth=1)
    assert [(s.name, s.modules) for s in steps] == [("0", ("0.0", "0.1")), ("2", ("2",))]


def test_cascading_top_down_redraws_from_the_logits_and_keeps_the_rest():
    model = _cnn()
    before = _state(model)
    nets = dict(randomized_models(model, steps_of(model, _x()), init="reset", seed=5))
    assert list(nets) == ["original", "3", "0"]
    assert torch.equal(nets["3"][0].weight, model[0].weight)  # conv still trained
    assert not torch.equal(nets["3"][3].weight, model[3].weight)
    assert not torch.equal(nets["0"][0].weight, model[0].weight)
    assert torch.equal(nets["0"][3].weight, nets["3"][3].weight)  # cumulative
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_independent_redraws_one_step_with_the_cascading_weights():
    model = _cnn()
    steps = steps_of(model, _x())
    casc = dict(randomized_models(model, steps, init="reset", seed=5))
    ind = dict(randomized_models(model, steps, order="independent", init="reset", seed=5))
    assert torch.equal(ind["0"][3].weight, model[3].weight)  # only conv re-drawn
    assert torch.equal(ind["0"][0].weight, casc["0"][0].weight)


def test_shuffle_permutes_the_trained_values():
    model = _cnn()
    nets = dict(randomized_models(model, steps_of(model, _x()), init="shuffle", seed=2))
    w, v = model[3].weight.detach().flatten(), nets["3"][3].weight.detach().flatten()
    assert not torch.equal(w, v)
    assert torch.equal(torch.sort(w).values, torch.sort(v).values)


def test_training_init_of_a_zoo_model_is_the_adebayo_engine_step_for_step():
    model = models.build("cnn")
    ours = dict(randomized_models(model, steps_of(model, torch.zeros(1, 1, 28, 28)), seed=7))
    for name, net in randomization.cascading(model, seed=7):
        for (k, a), b in zip(net.state_dict().items(), ours[name].state_dict().values(),
                             strict=True):  # fmt: skip
            assert torch.equal(a, b), (name, k)


def test_the_null_comes_from_two_independent_untrained_copies():
    model = _cnn()
    a, b = checks.untrained_copies(model, steps_of(model, _x()), init="reset", seeds=(1, 2))
    for pa, pb, p in zip(a.parameters(), b.parameters(), model.parameters(), strict=True):
        assert not torch.equal(pa, pb) and not torch.equal(pa, p)
        assert pa.data_ptr() != pb.data_ptr()
    with pytest.raises(ValueError, match="different seeds"):
        checks.untrained_copies(model, steps_of(model, _x()), seeds=(3, 3))


def test_model_randomization_leaves_the_model_as_found_and_reads_its_null():
    model = _cnn()
    before = _state(model)
    df = checks.model_randomization(model, _x(), methods=["gradient", "edge_detector"],
                                    init="reset")  # fmt: skip
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert not any(m._forward_hooks for m in model.modules())
    orig = df[df["index"] == 0]
    assert np.allclose(orig["mean"], 1.0)
    edge = df[df["method"] == "edge_detector"]
    # the edge detector reads no model: every step and its null are 1 by construction
    assert np.allclose(edge["mean"], 1.0) and np.allclose(edge["null_mean"], 1.0)
    grad = df[(df["method"] == "gradient") & (df["measure"] == "spearman_abs")]
    assert grad["null_mean"].nunique() == 1 and abs(grad["null_mean"].iloc[0]) < 0.5
    assert grad["mean"].iloc[-1] < 0.5


def test_checks_name_bad_arguments():
    model, x = _cnn(), _x()
    with pytest.raises(KeyError, match="gradeint"):
        checks.model_randomization(model, x, methods=["gradeint"])
    with pytest.raises(ValueError, match="spearmann"):
        checks.model_randomization(model, x, methods=["gradient"], measures=("spearmann",))
    with pytest.raises(ValueError, match="order"):
        checks.model_randomization(model, x, methods=["gradient"], order="sideways")
    with pytest.raises(ValueError, match="init"):
        checks.model_randomization(model, x, methods=["gradient"], init="zeros")
    with pytest.raises(KeyError, match="conv9"):
        checks.model_randomization(model, x, methods=["gradient"], layers=["conv9"])


@pytest.mark.parametrize("shift", [-1.0, "checkerboard", "tensor", "per_image"])
def test_compensated_network_computes_the_same_function_at_padded_borders(shift):
    model, x = _cnn().double(), _x().double()
    if shift == "tensor":
        shift = torch.randn(1, 12, 12, generator=GEN, dtype=torch.float64)
    elif shift == "per_image":
        shift = torch.randn(6, 1, 12, 12, generator=GEN, dtype=torch.float64)
    m = checks.input_invariance.__globals__["shift_tensor"](shift, x)
    for i in range(len(x)):
        mi = m if m.shape == x.shape[1:] else m[i]
        net2 = checks.compensated(model, x[i : i + 1], mi)
        with torch.no_grad():
            assert torch.allclose(net2(x[i : i + 1] + mi), model(x[i : i + 1]), atol=1e-12)


def test_input_invariance_of_a_linear_model_by_hand():
    """f = W x + b: the gradient is W_t at every x (invariant); Gradient x Input changes by
    W_t m, so its relative difference is max|W_t m| / max|W_t x| per image."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(144, 3)).double()
    x = _x().double()
    target = torch.tensor([0, 1, 2, 0, 1, 2])
    df = checks.input_invariance(model, x, target, methods=["gradient", "gradient_input"],
                                 shift=-1.0).set_index("method")  # fmt: skip
    w = model[1].weight.detach()[target]  # (N, 144)
    expected = (w * -1.0).abs().amax(1) / (w * x.flatten(1)).abs().amax(1)
    assert df.loc["gradient", "mean"] < 1e-12
    assert df.loc["gradient_input", "mean"] == pytest.approx(expected.mean().item(), rel=1e-9)
    assert df.loc["gradient_input", "null_mean"] < 1e-12


def test_input_invariance_names_a_first_layer_it_cannot_compensate():
    model = nn.Sequential(nn.BatchNorm2d(1), nn.Flatten(), nn.Linear(144, 2)).eval()
    with pytest.raises(ValueError, match="BatchNorm2d"):
        checks.input_invariance(model, _x(), methods=["gradient"])


def test_other_class_is_never_the_target_and_is_seeded():
    target = torch.arange(10).repeat(50)
    off = other_class(target, 10, seed=3)
    assert (off != target).all() and off.min() >= 0 and off.max() <= 9
    assert torch.equal(off, other_class(target, 10, seed=3))
    assert len(torch.unique(off[target == 4])) == 9  # all other classes are drawn


def test_histogram_entropy_by_hand():
    two_values = np.array([[0.0] * 8 + [1.0] * 8])  # two equally full bins of 100
    assert histogram_entropy(two_values)[0] == pytest.approx(np.log(2))
    four = np.array([[0.0, 1.0, 2.0, 3.0]])
    assert histogram_entropy(four, bins=4)[0] == pytest.approx(np.log(4))


def test_smooth_mprt_is_seeded_and_paired():
    model, x = _cnn(), _x()
    a = checks.smooth_mprt(model, x, methods=["gradient"], samples=3, init="reset")
    b = checks.smooth_mprt(model, x, methods=["gradient"], samples=3, init="reset")
    pd_equal = a[["mean", "std", "null_mean"]].to_numpy()
    assert np.array_equal(pd_equal, b[["mean", "std", "null_mean"]].to_numpy())
    assert a["mean"].iloc[0] == pytest.approx(1.0)


def test_data_randomization_of_a_model_with_itself_is_identity():
    model, x = _cnn(), _x()
    df = checks.data_randomization(model, model, x, methods=["gradient"], init="reset")
    assert np.allclose(df["mean"], 1.0) and (df["null_mean"] < 0.5).all()


def _card(model, methods, **kw):
    return scorecard(model, _x(), methods=methods, init="reset", **kw)


def test_a_model_that_ignores_its_input_fails_every_check_for_every_method():
    methods = ["gradient", "gradient_input", "integrated_gradients", "guided_backprop",
               "smoothgrad", "occlusion", "gradcam"]  # fmt: skip
    card = _card(IgnoresInput().eval(), methods, model_random_labels=IgnoresInput().eval())
    assert set(card["check"]) == set(CHECKS) and set(card["method"]) == set(methods)
    bad = card[card["passes"] != False]  # noqa: E712 (None must count too)
    assert bad.empty, bad.to_string()
    assert card["note"].str.contains("constant").all()


def test_the_edge_detector_fails_every_randomisation_check_by_construction():
    card = _card(_cnn(), ["edge_detector", "gradient"], model_random_labels=_cnn())
    edge = card[(card["method"] == "edge_detector") & card["check"].str.contains("random")]
    assert len(edge) == 4 and np.allclose(edge["score"], 1.0)
    assert (edge["passes"] == False).all()  # noqa: E712


def test_scorecard_leaves_a_cell_empty_only_with_a_reason():
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(144, 16), nn.ReLU(), nn.Linear(16, 10)).eval()
    card = _card(mlp, ["gradient", "gradcam", "pattern_net"])
    empty = card[card["passes"].isna()]
    assert not empty.empty and (empty["note"] != "").all()
    assert set(empty["method"]) == {"gradcam", "pattern_net"} | (
        {"gradient"} if "data randomisation" in set(empty["check"]) else set()
    )
    assert set(empty[empty["method"] == "gradient"]["check"]) <= {"data randomisation"}
    filled = card[card["passes"].notna()]
    assert (filled["n"] > 0).all()
