"""saliency_sanity.checks on toys whose answers are known by hand, and its contracts: the model
is left as found, the layers follow execution order, the null comes from independent copies,
bad arguments are named."""

from __future__ import annotations

import copy
import dataclasses
import importlib

import numpy as np
import pandas as pd
import pytest
import torch
from test_method_cases import CASES
from torch import nn

from saliency_sanity import checks, models, randomization
from saliency_sanity.attribution import attribute
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


def _mlp3():
    """A dense toy with 3 randomisation steps (a cascading curve with a step in between)."""
    torch.manual_seed(2)
    return nn.Sequential(nn.Flatten(), nn.Linear(144, 16), nn.ReLU(), nn.Linear(16, 12),
                         nn.ReLU(), nn.Linear(12, 10)).eval()  # fmt: skip


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


def _adebayo_cascading(model, seed):
    """The original engine, frozen here: each layer of layer_order re-drawn in turn by the zoo
    model's own initialiser, with the generator of (seed, layer name)."""
    net = copy.deepcopy(model).eval()
    yield "original", copy.deepcopy(net)
    for name in model.layer_order:
        randomization.randomize_layer(net, name, seed)
        yield name, copy.deepcopy(net)


def test_training_init_of_a_zoo_model_redraws_what_the_original_engine_drew():
    model = models.build("cnn")
    ours = dict(randomized_models(model, steps_of(model, torch.zeros(1, 1, 28, 28)), seed=7))
    frozen = list(_adebayo_cascading(model, seed=7))
    assert list(ours) == [name for name, _ in frozen]
    for name, net in frozen:
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


def test_the_checks_themselves_see_no_change_in_the_maps_of_a_model_that_ignores_its_input():
    model, x = IgnoresInput().eval(), _x()
    df = checks.model_randomization(model, x, methods=["gradient"], init="reset",
                                    measures=("spearman_abs", "ssim"))  # fmt: skip
    steps = df[df["index"] > 0].set_index("measure")
    assert (steps.loc["spearman_abs", "n"] == 0).all()  # zero maps have no ranks
    assert np.allclose(steps.loc["ssim", "mean"], 1.0)  # two zero maps are identical
    logit = checks.random_logit(model, x, methods=["gradient"], init="reset")
    assert logit["mean"].iloc[0] == pytest.approx(1.0)


def _blind(seed: int = 0) -> nn.Sequential:
    """A model that ignores its input for any weights: the 1x1 convolution, stride 26 and
    padding 13 on a 12 x 12 image, reads only zero padding, so the logits are a function of the
    biases, also after any re-draw. Sequential, of layers every propagation method reads."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 2, 1, stride=26, padding=13), nn.ReLU(), nn.Flatten(),
                         nn.Linear(2 * 2 * 2, 10)).eval()  # fmt: skip


def _blind_linear(seed: int = 0) -> nn.Sequential:
    """The one-layer model of ``linear``, ignoring its input: W = 0 (a re-draw makes it read)."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(144, 10)).eval()
    with torch.no_grad():
        model[1].weight.zero_()
    return model


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_model_that_ignores_its_input_fails_every_check_for_every_method(name):
    """Every registered method (the cheap parameters of the one case list), every check: fails.
    By the checks' own rules only the random logit fails (see the next test); the rest fail by
    the scorecard's precondition that a model must read its input for a map to show anything,
    which also fails the two references (noise passes the randomisation tests on any model)."""
    blind = _blind_linear if name.removeprefix("competitive_") == "linear" else _blind
    params = {k: v for k, v in CASES[name].items() if k != "patterns"}  # fitted on fit_inputs
    card = scorecard(blind(0), _x(), methods={name: (name, params)}, init="reset",
                     model_random_labels=blind(1), fit_inputs=_x(20))  # fmt: skip
    assert set(card["check"]) == set(CHECKS)  # and every check applies (no empty cell):
    bad = card[card["passes"] != False]  # noqa: E712 (None must count too)
    assert bad.empty, bad.to_string()
    assert card["note"].str.contains("ignores its input").all()


def test_by_their_own_rules_the_checks_fail_a_model_that_ignores_its_input_only_on_the_logit():
    """Gradient's maps of a model that ignores its input are zero. Zero maps have no ranks, so
    the Spearman checks have no score; two zero maps have SSIM 1, and so have the untrained
    copies' (null 1), so the random-logit test fails; a zero map is trivially invariant, so the
    shifts pass. The references read no model: noise passes the randomisation test (Binder et
    al. 2023), and an edge detector ignores a constant shift. Hence the precondition above."""
    from saliency_sanity.checks.scorecard import _invariance_cells, _similarity_cells

    model, x, kw = _blind(), _x(), {"init": "reset"}
    methods = ["gradient", "random_map", "edge_detector"]
    casc = checks.model_randomization(model, x, methods=methods, measures=("spearman_abs",), **kw)
    cells = {c["method"]: c for c in _similarity_cells("c", casc, "spearman_abs", "last")}
    assert cells["gradient"]["passes"] is None and "no score" in cells["gradient"]["note"]
    assert cells["random_map"]["passes"] is True and cells["edge_detector"]["passes"] is False
    logit = _similarity_cells("r", checks.random_logit(model, x, methods=["gradient"], **kw),
                              "ssim", "last")[0]  # fmt: skip
    assert (logit["score"], logit["null"], logit["passes"]) == (1.0, 1.0, False)
    shift = {c["method"]: c for c in _invariance_cells(
        "s", checks.input_invariance(model, x, methods=methods, shift=-1.0))}  # fmt: skip
    assert shift["gradient"]["score"] == 0 and shift["gradient"]["passes"] is True
    assert shift["edge_detector"]["passes"] is True


def test_the_edge_detector_fails_every_randomisation_check_by_construction():
    card = _card(_cnn(), ["edge_detector", "gradient"], model_random_labels=_cnn())
    edge = card[(card["method"] == "edge_detector") & card["check"].str.contains("random")]
    assert len(edge) == 4 and np.allclose(edge["score"], 1.0)
    assert (edge["passes"] == False).all()  # noqa: E712


def test_scorecard_leaves_a_cell_empty_only_with_a_reason():
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(144, 16), nn.ReLU(), nn.Linear(16, 10)).eval()
    card = _card(mlp, ["gradient", "gradcam", "pattern_net"])
    empty = card[card["passes"].isna()]
    assert (empty["note"] != "").all()
    # GradCAM has no convolution, PatternNet no training inputs, nobody a random-label model
    assert set(empty["method"]) == {"gradcam", "pattern_net", "gradient"}
    assert set(empty[empty["method"] == "gradient"]["check"]) == {"data randomisation"}
    filled = card[card["passes"].notna()]
    assert (filled["n"] > 0).all()


# --- contracts the review asked for --------------------------------------------------------


class WithBatchNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.bn = nn.BatchNorm2d(3)
        self.fc = nn.Linear(3 * 12 * 12, 4)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).flatten(1))


@pytest.mark.parametrize("check", ["model_randomization", "smooth_mprt", "efficient_mprt",
                                   "random_logit", "input_invariance", "scorecard"])  # fmt: skip
def test_a_model_in_train_mode_is_left_as_found(check):
    torch.manual_seed(0)
    model = WithBatchNorm().train()
    before = _state(model)
    kwargs = {"methods": ["gradient"]}
    if check == "smooth_mprt":
        kwargs["samples"] = 2
    if check in ("model_randomization", "smooth_mprt", "efficient_mprt", "random_logit",
                 "scorecard"):  # fmt: skip
        kwargs["init"] = "reset"
    getattr(checks, check)(model, _x(), **kwargs)
    assert model.training and all(m.training for m in model.modules())
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_a_normalisation_layer_is_redrawn_with_the_layer_before_it():
    steps = steps_of(WithBatchNorm(), _x())
    assert [(s.name, s.modules) for s in steps] == [("conv", ("conv", "bn")), ("fc", ("fc",))]


class Token(nn.Module):
    """Root parameters (a token) and a layer whose weights are used functionally."""

    def __init__(self):
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, 144))
        self.attn = nn.MultiheadAttention(144, 1, batch_first=True)
        self.fc = nn.Linear(144, 3)

    def forward(self, x):
        seq = torch.cat([self.token.expand(len(x), 1, -1), x.flatten(1)[:, None]], 1)
        return self.fc(self.attn(seq, seq, seq)[0][:, 0])


def test_forward_order_places_containers_where_they_start_and_keeps_functional_weights():
    order = checks.forward_order(Token(), _x())
    assert order == ["", "attn", "attn.out_proj", "fc"]
    steps = steps_of(Token(), _x())
    assert steps[0].name == "(root)" and "attn.out_proj" in [m for s in steps for m in s.modules]


def test_reset_draws_on_the_cpu_and_leaves_the_global_generator_alone():
    model = _cnn()
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = dict(randomized_models(model, steps_of(model, _x()), init="reset", seed=4))
    assert torch.equal(torch.get_rng_state(), state)
    b = dict(randomized_models(model, steps_of(model, _x()), init="reset", seed=4))
    assert torch.equal(a["0"][0].weight, b["0"][0].weight)


def test_propagation_methods_on_a_model_they_cannot_read_are_named_not_applicable():
    df = checks.model_randomization(Late().eval(), _x(), methods=["lrp_epsilon", "dasp"],
                                    init="reset")  # fmt: skip
    assert (df["n"] == 0).all() and df["note"].str.contains("sequential").all()


def test_scorecard_on_flat_inputs_leaves_the_image_shifts_empty():
    mlp = nn.Sequential(nn.Linear(20, 8), nn.ReLU(), nn.Linear(8, 3)).eval()
    x = torch.rand(5, 20, generator=torch.Generator().manual_seed(0))
    card = scorecard(mlp, x, methods=["gradient"], init="reset")
    shifts = card.set_index("check")
    for check in ("checkerboard shift", "cat shift"):
        assert shifts.loc[check, "passes"] is None and "images" in shifts.loc[check, "note"]
    assert shifts.loc["constant shift", "passes"] is True  # the gradient is invariant
    assert shifts.loc["cascading randomisation", "n"] == 5


def test_per_image_shifts_compare_the_same_noise():
    model, x = _cnn(), _x(4)
    per_image = torch.full((4, 1, 12, 12), -1.0)
    for shift in (-1.0, per_image):
        df = checks.input_invariance(model, x, methods={"sg": ("smoothgrad", {"samples": 3})},
                                     shift=shift)  # fmt: skip
        assert df["mean"].iloc[0] < 1e-5 and df["null_mean"].iloc[0] < 1e-6


def _padded(padding):
    torch.manual_seed(2)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=padding), nn.ReLU(), nn.Flatten(),
                         nn.Linear(3 * (12 + 2 * padding - 2) ** 2, 4)).double().eval()  # fmt: skip


def test_lrp_reads_the_position_dependent_compensation():
    """Network 2 with a bias map (padding) and with the same compensation folded into a
    per-channel bias (no padding) compute the same LRP; and the bias map is what LRP reads."""
    x = _x().double()
    net2 = checks.compensated(_padded(0), x, torch.full((1, 12, 12), -1.0, dtype=torch.float64))
    assert not checks.input_invariance.__globals__["position_dependent"](net2)
    layer = net2[0]
    mapped = copy.deepcopy(net2)
    mapped[0].__class__ = checks.input_invariance.__globals__["CompensatedConv2d"]
    delta = layer.bias.detach().view(1, -1, 1, 1).expand(1, 3, 10, 10) - _padded(0)[
        0
    ].bias.detach().view(1, -1, 1, 1)
    mapped[0].register_buffer("offset", -delta.clone())
    with torch.no_grad():
        mapped[0].bias.copy_(_padded(0)[0].bias)
    for name in ("lrp_0", "lrp_epsilon", "lrp_gamma", "lrp_composite"):
        a = attribute(name, net2, x - 1.0, torch.tensor([0, 1, 2, 3, 0, 1]))
        b = attribute(name, mapped, x - 1.0, torch.tensor([0, 1, 2, 3, 0, 1]))
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_pattern_attribution_is_invariant_where_a_bias_compensates_and_named_where_not():
    x = _x().double()
    fit = torch.rand(
        200, 1, 12, 12, generator=torch.Generator().manual_seed(5), dtype=torch.float64
    )
    for padding in (0, 1):
        card = scorecard(_padded(padding), x, methods=["pattern_attribution"], init="reset",
                         fit_inputs=fit, checks=("constant shift",)).iloc[0]  # fmt: skip
        if padding == 0:  # Kindermans et al.: PatternAttribution survives the constant shift
            assert card["passes"] is not None and bool(card["passes"]) and card["score"] < 1e-6
        else:
            assert card["passes"] is None and "per-channel bias" in card["note"]


def test_deep_taylor_with_the_pattern_root_gets_its_patterns():
    x = _x().double()
    fit = torch.rand(
        100, 1, 12, 12, generator=torch.Generator().manual_seed(5), dtype=torch.float64
    )
    methods = {"dtd_pattern": ("deep_taylor", {"root": "pattern"})}
    card = scorecard(_padded(0), x, methods=methods, init="reset", fit_inputs=fit,
                     checks=("cascading randomisation",))  # fmt: skip
    assert card["n"].iloc[0] == len(x)
    bare = scorecard(_padded(0), x, methods=methods, init="reset",
                     checks=("cascading randomisation",))  # fmt: skip
    assert bare["passes"].iloc[0] is None and "fit_inputs" in bare["note"].iloc[0]


def test_smooth_mprt_gives_every_model_the_same_noisy_inputs():
    seen = []

    def record(model, x, target):
        seen.append(x.clone())
        return attribute("gradient", model, x, target)

    checks.smooth_mprt(_cnn(), _x(3), methods={"g": record}, samples=2, init="reset",
                       null=False)  # fmt: skip
    # 3 models (original + 2 steps) x 2 noisy copies: the same 2 inputs for every model
    assert len(seen) == 6
    for i in range(2, 6):
        assert torch.equal(seen[i], seen[i % 2])


def test_shared_maps_reuse_only_identical_computations():
    from saliency_sanity.checks.methods import shared_maps, specs

    model, x = _cnn(), _x()
    (spec,) = specs(["smoothgrad"])
    t = torch.zeros(len(x), dtype=torch.long)
    with shared_maps():
        a = spec.explain(model, x, t)
        assert torch.equal(spec.explain(copy.deepcopy(model), x, t), a)  # same weights: reused
        other = copy.deepcopy(model)
        with torch.no_grad():
            other[0].weight.add_(1.0)
        assert not torch.equal(spec.explain(other, x, t), a)  # other weights: computed
        assert not torch.equal(spec.explain(model, x + 0.1, t), a)  # other inputs: computed


@pytest.mark.parametrize("base", ["lime", "kernel_shap", "dasp"])
def test_a_method_and_its_competitive_variant_share_one_all_class_pass(base, monkeypatch):
    """LIME, KernelSHAP and DASP fit every class on the same samples: inside shared_maps the
    plain and the competitive map come from one all-class computation and equal attribute()'s."""
    from saliency_sanity.attribution import METHODS
    from saliency_sanity.checks.methods import ALL_CLASS_PASS, shared_maps, specs

    assert base in ALL_CLASS_PASS
    model, x = _cnn(), _x(2)
    t = torch.tensor([3, 1])
    params = {"samples": 30} if base != "dasp" else {"coalition_sizes": 2}
    plain, comp = specs({"p": (base, params), "c": (f"competitive_{base}", params)})
    want = attribute(base, model, x, t, **params), attribute(f"competitive_{base}", model, x, t,
                                                             **params)  # fmt: skip
    calls = []
    fn = METHODS[base].fn
    counted = dataclasses.replace(
        METHODS[base], fn=lambda *a, **k: calls.append(a[2]) or fn(*a, **k)
    )
    monkeypatch.setitem(METHODS, base, counted)
    with shared_maps():
        got = plain.explain(model, x, t), comp.explain(model, x, t), plain.explain(model, x, t)
    assert calls == [None]  # one pass, for all classes
    torch.testing.assert_close(got[0], want[0], rtol=0, atol=0)
    torch.testing.assert_close(got[1], want[1], rtol=0, atol=0)
    torch.testing.assert_close(got[2], want[0], rtol=0, atol=0)


def test_the_scorecard_cells_equal_the_checks_run_alone():
    model, x = _cnn(), _x()
    card = scorecard(model, x, methods=["gradient", "smoothgrad"], init="reset",
                     checks=("cascading randomisation", "random logit"))  # fmt: skip
    alone = checks.model_randomization(model, x, methods=["gradient", "smoothgrad"],
                                       init="reset", measures=("spearman_abs",))  # fmt: skip
    last = alone[alone["index"] == alone["index"].max()].set_index("method")
    cells = card[card["check"] == "cascading randomisation"].set_index("method")
    for m in ("gradient", "smoothgrad"):
        assert cells.loc[m, "score"] == pytest.approx(last.loc[m, "mean"], abs=1e-12)
        assert cells.loc[m, "null"] == pytest.approx(last.loc[m, "null_mean"], abs=1e-12)
        assert cells.loc[m, "n"] == last.loc[m, "n"]


def test_final_only_explains_the_fully_randomised_model_and_skips_the_steps_between(
    attributions_computed,
):
    """final_only: the rows of the original and the last cascading step, equal to the full
    curve's, from the maps of 4 networks per method (original, fully randomised, the null's
    two copies) instead of steps + 3."""
    model = _mlp3()
    x, kw = _x(), {"methods": ["gradient", "smoothgrad"], "init": "reset", "seed": 4}
    full = checks.model_randomization(model, x, **kw)
    in_full = sorted(attributions_computed)
    attributions_computed.clear()
    final = checks.model_randomization(model, x, final_only=True, **kw)
    assert in_full == ["gradient"] * 6 + ["smoothgrad"] * 6  # 3 steps + original + 2 null copies
    assert sorted(attributions_computed) == ["gradient"] * 4 + ["smoothgrad"] * 4
    assert set(final["index"]) == {0, 3} and set(full["index"]) == {0, 1, 2, 3}
    keep = full[full["index"].isin([0, 3])].reset_index(drop=True)
    pd.testing.assert_frame_equal(final.reset_index(drop=True), keep, check_exact=True)
    assert final.attrs["final_only"] and not full.attrs["final_only"]
    with pytest.raises(ValueError, match="final_only needs order='cascading'"):
        checks.model_randomization(model, x, order="independent", final_only=True, **kw)


def test_the_scorecard_explains_only_the_last_cascading_step(attributions_computed):
    """On a 3-step model the cascading cell costs 4 maps per method (the original, the fully
    randomised model, the null's two copies), not 6, and equals the full curve's last step."""
    model = _mlp3()
    x = _x()
    card = scorecard(model, x, methods=["gradient"], init="reset",
                     checks=("cascading randomisation",))  # fmt: skip
    assert attributions_computed == ["gradient"] * 4
    full = checks.model_randomization(model, x, methods=["gradient"], init="reset",
                                      measures=("spearman_abs",))  # fmt: skip
    last = full[full["index"] == 3].iloc[0]
    assert card["score"].iloc[0] == last["mean"] and card["null"].iloc[0] == last["null_mean"]


def test_every_empty_scorecard_cell_says_why():
    card = _card(IgnoresInput().eval(), ["gradient", "gradcam", "linear"])
    for _, row in card.iterrows():
        assert row["passes"] is not None or row["note"], row.to_dict()
    from saliency_sanity.checks.scorecard import _similarity_cells

    # a method whose maps after the last step are constant on every image, and one whose
    # untrained copies' maps are: no score / no null, and the cell says which
    df = pd.DataFrame({"method": ["a", "a", "b", "b"], "index": [0, 1, 0, 1],
                       "measure": ["m"] * 4, "mean": [1.0, np.nan, 1.0, 0.2],
                       "null_mean": [0.1, 0.1, np.nan, np.nan], "n": [3, 0, 3, 3],
                       "note": [""] * 4})  # fmt: skip
    cells = {c["method"]: c for c in _similarity_cells("cascading", df, "m", "last")}
    assert cells["a"]["passes"] is None and "no score" in cells["a"]["note"]
    assert cells["b"]["passes"] is None and "no null" in cells["b"]["note"]


def test_the_design_sketch_calls_work_as_written():
    """DESIGN.md passes the methods positionally after the target."""
    model, x = _cnn(), _x(3)
    assert len(checks.data_randomization(model, model, x, None, ["gradient"], init="reset"))
    assert len(checks.input_invariance(model, x, None, ["gradient"], shift=-1.0))
    assert len(checks.scorecard(model, x, None, ["gradient"], init="reset"))
    with pytest.raises(ValueError, match="methods is required"):
        checks.model_randomization(model, x)


# --- order, measures and the compensation check --------------------------------------------


def _deep():
    """Conv -> conv -> dense: three steps, so an order is visible."""
    torch.manual_seed(3)
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Conv2d(2, 2, 3, padding=1),
                         nn.ReLU(), nn.Flatten(), nn.Linear(2 * 12 * 12, 4)).eval()  # fmt: skip


def test_bottom_up_runs_the_steps_from_the_input_layer_up():
    model = _deep()
    steps = steps_of(model, _x())
    assert [s.name for s in steps] == ["0", "2", "5"]  # listed from the input
    nets = list(randomized_models(model, steps, direction="bottom_up", init="reset", seed=5))
    assert [name for name, _ in nets] == ["original", "0", "2", "5"]
    trained = dict(model.named_parameters())
    for k, (_, net) in enumerate(nets):  # cascading: the k layers nearest the input are new
        redrawn = {n.split(".")[0] for n, p in net.named_parameters()
                   if not torch.equal(p, trained[n])}  # fmt: skip
        assert redrawn == set(["0", "2", "5"][:k])
    # a layer gets the same fresh weights in either direction (seeded by its name)
    top = dict(randomized_models(model, steps, init="reset", seed=5))
    assert torch.equal(nets[1][1][0].weight, top["0"][0].weight)
    df = checks.model_randomization(model, _x(), methods=["gradient"], direction="bottom_up",
                                    init="reset", measures=("ssim",), null=False)  # fmt: skip
    assert df["step"].tolist() == ["original", "0", "2", "5"]
    assert df.attrs["direction"] == "bottom_up"


def test_a_step_copies_only_the_layers_it_redraws():
    """The models of a randomisation share the tensors of the layers they have in common (a
    step copies its own layers, not the model), never the caller's; a re-draw that writes
    outside its step is caught."""
    from saliency_sanity.checks.layers import Step, _redrawn_copy

    model = _deep()
    before = _state(model)
    nets = dict(randomized_models(model, steps_of(model, _x()), init="reset", seed=1))
    assert nets["5"][0].weight is nets["original"][0].weight  # top-down: the dense layer first
    assert nets["5"][5].weight is not nets["original"][5].weight
    assert nets["2"][5].weight is nets["5"][5].weight  # cascading: kept from the step before
    assert not {id(p) for p in model.parameters()} & {id(p) for n in nets.values()
                                                       for p in n.parameters()}  # fmt: skip
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())

    def sloppy(net, name, seed, recurse):
        with torch.no_grad():
            net[0].weight.add_(1.0)  # not the step's layer

    with pytest.raises(RuntimeError, match="changed a layer outside"):
        _redrawn_copy(nets["original"], Step("5", ("5",)), sloppy, 0)


def test_hog_through_the_checks_is_the_hog_similarity_of_the_maps():
    from saliency_sanity import similarity

    model, x = _cnn(), _x()
    df = checks.model_randomization(model, x, methods=["gradient"], init="reset",
                                    measures=("hog",))  # fmt: skip
    nets = dict(randomized_models(model, steps_of(model, x), init="reset", seed=0))
    maps = {k: attribute("gradient", net, x, net(x).argmax(1)) for k, net in nets.items()}
    assert df["mean"].iloc[0] == pytest.approx(1.0)
    for row in df.itertuples():
        expected = similarity.hog_similarity(maps["original"], maps[row.step])
        assert row.mean == pytest.approx(np.nanmean(expected), abs=1e-12)
        assert row.n == np.isfinite(expected).sum() and np.isfinite(row.null_mean)
    # maps too small for HOG cells: empty rows that say why
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(64, 3)).eval()
    small = checks.model_randomization(mlp, _x()[..., :8, :8], methods=["gradient"],
                                       init="reset", measures=("hog",))  # fmt: skip
    assert (small["n"] == 0).all() and small["note"].str.contains("H, W >= 11").all()


class Clamped(nn.Module):
    """Clips its input before the first layer: a shift of the input does not reach the layer
    linearly, so no bias can compensate it."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(144, 3)

    def forward(self, x):
        return self.fc(x.clamp(0, 1).flatten(1))


def test_input_invariance_raises_when_the_compensated_logits_differ(monkeypatch):
    torch.manual_seed(0)
    with pytest.raises(RuntimeError, match="the input does not reach the first layer linearly"):
        checks.input_invariance(Clamped().eval(), _x(), methods=["gradient"], shift=-1.0)
    # a wrongly compensated network 2 (here: none at all) is caught the same way, with numbers
    module = importlib.import_module("saliency_sanity.checks.input_invariance")  # not the function
    monkeypatch.setattr(module, "compensated", lambda model, x, shift: copy.deepcopy(model))
    with pytest.raises(RuntimeError, match=r"logits differ from the model's by [0-9.e+-]+ \(max"):
        checks.input_invariance(_cnn(), _x(), methods=["gradient"], shift=-1.0)
    # the scorecard leaves the shift cells empty and says why
    card = scorecard(_cnn(), _x(), methods=["gradient"], init="reset", checks=("constant shift",))
    assert card["passes"].iloc[0] is None and "logits differ" in card["note"].iloc[0]
