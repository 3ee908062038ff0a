"""PatternNet / PatternAttribution (kindermans2018): estimators, one-pass statistics, the toy,
and invariance to kindermans2017's bias-compensated input shift (REPLICATION-NOTES)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from saliency_sanity.attribution import attribute, attribute_all_classes, fit_patterns
from saliency_sanity.attribution import patterns as P

TOL = 1e-6  # float64 throughout: agreement to ~1e-12 is expected, 1e-6 leaves a wide margin
SHIFTS = ("constant", "checkerboard", "random")


@pytest.fixture(autouse=True)
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _init(model: nn.Module, g: torch.Generator, scale: float = 0.8) -> nn.Module:
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=g))
    return model.eval()


def toy_mlp(g: torch.Generator) -> nn.Sequential:
    """6 -> 5 -> 4 -> 3 with biases; the logits have no ReLU."""
    layers = [nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3)]
    return _init(nn.Sequential(*layers), g)


def toy_cnn(g: torch.Generator) -> nn.Sequential:
    """1x6x6 -> conv 2x2 stride 2 (unpadded) -> conv 2x2 -> max pool -> linear, with biases.

    The first conv's patches tile the image, so a shift periodic with period 2 moves every
    patch alike and a per-channel bias compensates it."""
    layers = [
        nn.Conv2d(1, 3, 2, stride=2),
        nn.ReLU(),
        nn.Conv2d(3, 4, 2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4, 3),
    ]
    return _init(nn.Sequential(*layers), g)


def make_shift(kind: str, net: str, g: torch.Generator) -> torch.Tensor:
    if net == "mlp":
        return {
            "constant": torch.full((6,), -1.0),
            "checkerboard": 0.5 * torch.tensor([1.0, -1.0]).repeat(3),
            "random": torch.randn(6, generator=g),
        }[kind]
    i, j = torch.meshgrid(torch.arange(6), torch.arange(6), indexing="ij")
    return {
        "constant": torch.full((1, 6, 6), -1.0),
        "checkerboard": 0.5 * (-1.0) ** (i + j)[None],
        "random": torch.randn(1, 2, 2, generator=g).repeat(1, 3, 3),
    }[kind]


def compensated(model: nn.Sequential, m: torch.Tensor) -> nn.Sequential:
    """Network 2 (kindermans2017 Sec. 2): b2 = b1 - W1 m, built here independently of the code."""
    net2 = copy.deepcopy(model)
    first = net2[0]
    with torch.no_grad():
        if isinstance(first, nn.Linear):
            first.bias -= first.weight @ m
        else:  # every 2x2 patch of the periodic m equals its top-left one
            first.bias -= (first.weight * m[:, :2, :2]).sum((1, 2, 3))
    return net2


def setup(net: str, generator: torch.Generator, n_train: int = 400):
    model = toy_mlp(generator) if net == "mlp" else toy_cnn(generator)
    shape = (6,) if net == "mlp" else (1, 6, 6)
    x_train = torch.rand(n_train, *shape, generator=generator)
    x = torch.rand(5, *shape, generator=generator)
    return model, x_train, x


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


def pattern_maps(model, x, target, patterns):
    return [
        attribute(name, model, x, target, patterns=patterns)
        for name in ("pattern_net", "pattern_attribution")
    ]


@pytest.mark.parametrize("net", ["mlp", "cnn"])
@pytest.mark.parametrize("shift", SHIFTS)
def test_covariance_and_linear_are_shift_invariant_paper_is_not(net, shift, generator):
    """Patterns fitted on network 2 (inputs x + m) equal network 1's, and so do the maps of
    network 2 at x + m; the paper estimator's maps differ (so the test can fail)."""
    model, x_train, x = setup(net, generator)
    m = make_shift(shift, net, generator)
    net2 = compensated(model, m)
    assert torch.allclose(net2(x + m), model(x), atol=1e-12)  # the same function
    target = model(x).argmax(1)
    stats1 = P.fit_pattern_statistics(model, x_train)
    stats2 = P.fit_pattern_statistics(net2, x_train + m)
    for estimator in ("covariance", "linear"):
        p1, p2 = stats1.patterns(estimator), stats2.patterns(estimator)
        assert all(rel(p2[k], p1[k]) < TOL for k in p1), estimator
        maps1 = pattern_maps(model, x, target, p1)
        maps2 = pattern_maps(net2, x + m, target, p2)
        assert all(rel(b, a) < TOL for a, b in zip(maps1, maps2, strict=True)), estimator
    maps1 = pattern_maps(model, x, target, stats1.patterns("paper"))
    maps2 = pattern_maps(net2, x + m, target, stats2.patterns("paper"))
    assert all(rel(b, a) > 1e-2 for a, b in zip(maps1, maps2, strict=True))


def _explicit_mean_gap(model: nn.Sequential, x_train: torch.Tensor) -> torch.Tensor:
    """E+[y] - E[y] of the first Linear, from explicit masked means (0 for a dead neuron)."""
    w, b = model[0].weight, model[0].bias
    y = x_train @ w.T
    gaps = []
    for j in range(len(b)):
        on = y[:, j] + b[j] > 0
        gaps.append(y[on, j].mean() - y[:, j].mean() if on.any() else torch.tensor(0.0))
    return torch.stack(gaps)


@pytest.mark.parametrize("shift", SHIFTS)
def test_paper_pattern_change_equals_analytic_prediction(shift, generator):
    """Fitted on network 2, the paper estimator's first-layer numerator moves by m (E+[y] - E[y])
    and its patterns equal the prediction from network 1's statistics; the upper layers'
    patterns do not move."""
    model, x_train, _ = setup("mlp", generator)
    m = make_shift(shift, "mlp", generator)
    net2 = compensated(model, m)
    stats1 = P.fit_pattern_statistics(model, x_train)
    stats2 = P.fit_pattern_statistics(net2, x_train + m)
    fitted, before = stats2.patterns("paper"), stats1.patterns("paper")
    predicted = stats1.shifted(m).patterns("paper")
    for k in fitted:
        assert rel(predicted[k], fitted[k]) < TOL
    assert rel(fitted["0"], before["0"]) > 1e-2  # the paper estimator's patterns do move
    assert all(torch.allclose(fitted[k], before[k], rtol=1e-9) for k in ("2", "4"))
    gap = _explicit_mean_gap(model, x_train)
    expected = torch.outer(gap, m)  # weight-shaped (out, in): row j is m (E+[y_j] - E[y_j])
    change = stats2.layers["0"].numerator("paper") - stats1.layers["0"].numerator("paper")
    assert torch.allclose(change, expected, atol=1e-12)
    assert torch.allclose(stats1.paper_shift_term(m), expected, atol=1e-12)
    assert gap.abs().max() > 0.05  # the neurons are partly active: the change is real
    for estimator in ("covariance", "linear"):
        diff = stats2.layers["0"].numerator(estimator) - stats1.layers["0"].numerator(estimator)
        assert diff.abs().max() < 1e-12


@pytest.mark.parametrize("net", ["mlp", "cnn"])
@pytest.mark.parametrize("shift", SHIFTS)
def test_shifted_statistics_equal_statistics_fitted_on_shifted_inputs(net, shift, generator):
    model, x_train, _ = setup(net, generator)
    m = make_shift(shift, net, generator)
    predicted = P.fit_pattern_statistics(model, x_train).shifted(m)
    fitted = P.fit_pattern_statistics(compensated(model, m), x_train + m)
    assert predicted.layers.keys() == fitted.layers.keys()
    for name, got in predicted.layers.items():
        want = fitted.layers[name]
        for field in ("bias", "n", "count", "sum_x", "sum_y", "sum_xy", "active_x", "active_y"):
            a, b = getattr(got, field), getattr(want, field)
            assert torch.allclose(a, b, rtol=1e-10, atol=1e-9), (name, field)
        assert torch.allclose(got.active_xy, want.active_xy, rtol=1e-10, atol=1e-9), name


def _direct_pattern(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, estimator: str):
    """kindermans2018 eqs. 7-8 and the active-set covariance, neuron by neuron, with explicit
    masked means and centred products (not the raw moments the code accumulates)."""
    rows = []
    for j in range(len(w)):
        y = x @ w[j]
        on = (y + b[j]) > 0
        if estimator == "linear":
            num = ((x - x.mean(0)) * (y - y.mean())[:, None]).mean(0)
        elif not on.any():
            num = torch.zeros(x.shape[1])  # no active rows: no statistics, pattern 0
        elif estimator == "paper":  # E+[x y] - E+[x] E[y], E[y] over all rows
            num = (x[on] * y[on, None]).mean(0) - x[on].mean(0) * y.mean()
        else:  # covariance within the active rows
            num = ((x[on] - x[on].mean(0)) * (y[on] - y[on].mean())[:, None]).mean(0)
        norm = w[j] @ num
        rows.append(num / norm if norm != 0 else num)
    return torch.stack(rows)


@pytest.mark.parametrize("estimator", P.ESTIMATORS)
def test_one_pass_patterns_match_direct_formulas_mlp(estimator, generator):
    """Every layer; the logits (no ReLU) get the linear estimator; one dead neuron gets 0."""
    model, x_train, _ = setup("mlp", generator)
    with torch.no_grad():
        model[2].bias[0] = -100.0  # never active: the safe divide leaves a zero pattern
    got = fit_patterns(model, x_train, estimator, batch_size=37)
    a = x_train
    for i in (0, 2, 4):
        layer = model[i]
        kind = estimator if i < 4 else "linear"
        want = _direct_pattern(a, layer.weight, layer.bias, kind)
        assert torch.allclose(got[str(i)], want, rtol=1e-9, atol=1e-12), i
        a = torch.relu(a @ layer.weight.T + layer.bias)
    if estimator != "linear":  # the linear estimator does not mask: a dead neuron has a pattern
        assert got["2"][0].abs().max() == 0


@pytest.mark.parametrize("estimator", P.ESTIMATORS)
def test_one_pass_patterns_match_direct_formulas_conv(estimator, generator):
    """First conv, per output channel over explicitly extracted 2x2 stride-2 patches."""
    model, x_train, _ = setup("cnn", generator, n_train=60)
    got = fit_patterns(model, x_train, estimator, batch_size=7)["0"]
    patches = torch.stack(
        [x_train[:, 0, i : i + 2, j : j + 2].reshape(-1, 4) for i in (0, 2, 4) for j in (0, 2, 4)],
        1,
    ).reshape(-1, 4)
    w, b = model[0].weight.reshape(3, 4), model[0].bias
    want = _direct_pattern(patches, w, b, estimator).reshape(3, 1, 2, 2)
    assert torch.allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("padding", "stride", "dilation"), [(0, 1, 1), (1, 2, 1), (2, 1, 2)], ids=str
)
def test_conv_sums_are_the_sums_over_its_patches(padding, stride, dilation, generator, monkeypatch):
    """The conv statistics (one weight gradient, no patches made) equal the same sums taken
    over explicitly unfolded patches, row by row in float64: 3 input channels, zero padding,
    stride and dilation; two batches, and blocks of one image within a batch."""
    conv = nn.Conv2d(3, 4, 3, stride=stride, padding=padding, dilation=dilation).double()
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator, dtype=torch.float64))
    model = nn.Sequential(conv, nn.ReLU(), nn.Flatten())
    x = torch.randn(9, 3, 9, 9, generator=generator, dtype=torch.float64)
    got = P.fit_pattern_statistics(model, x, batch_size=5).layers["0"]
    monkeypatch.setattr(P, "_PATCH_BYTES", 1)  # a block per image
    one_by_one = P.fit_pattern_statistics(model, x, batch_size=5).layers["0"]
    cols = torch.nn.functional.unfold(x, 3, dilation=dilation, padding=padding, stride=stride)
    rows = cols.transpose(1, 2).reshape(-1, 27)  # one row per patch position and image
    w = conv.weight.reshape(4, 27)
    y = rows @ w.T
    on = (y + conv.bias > 0).double()
    want = {"n": torch.tensor(len(rows), dtype=torch.float64), "count": on.sum(0),
            "sum_x": rows.sum(0), "sum_y": y.sum(0), "sum_xy": rows.T @ y, "active_x": rows.T @ on,
            "active_y": (on * y).sum(0), "active_xy": rows.T @ (on * y)}  # fmt: skip
    for field, value in want.items():
        torch.testing.assert_close(getattr(got, field), value, rtol=1e-12, atol=1e-12, msg=field)
        torch.testing.assert_close(getattr(one_by_one, field), value, rtol=1e-12, atol=1e-12)
    assert 0 < on.mean() < 1  # both sides of the mask are exercised


def test_a_conv_with_non_zero_padding_mode_is_named(generator):
    """The weight-gradient sums assume zero padding; the layer walk refuses anything else."""
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect"), nn.ReLU())
    with pytest.raises(ValueError, match="zero padding"):
        P.fit_pattern_statistics(model, torch.rand(2, 1, 5, 5, generator=generator))


def test_mean_term_and_gap_decompose_the_paper_numerator(generator):
    """paper numerator = covariance numerator + E+[x] (E+[y] - E[y])."""
    model, x_train, _ = setup("mlp", generator)
    first = P.fit_pattern_statistics(model, x_train).layers["0"]
    assert torch.allclose(first.mean_gap(), _explicit_mean_gap(model, x_train), atol=1e-12)
    total = first.numerator("covariance") + first.mean_term()
    assert torch.allclose(first.numerator("paper"), total, atol=1e-12)
    assert first.mean_term().abs().max() > 1e-2


def test_relu_alias_warns_and_equals_paper(generator):
    model, x_train, _ = setup("mlp", generator)
    with pytest.warns(FutureWarning, match="'paper'"):
        old = fit_patterns(model, x_train, "relu")
    new = fit_patterns(model, x_train, "paper")
    assert all(torch.equal(old[k], new[k]) for k in new)
    stats = P.fit_pattern_statistics(model, x_train)
    with pytest.warns(FutureWarning, match="'paper'"):
        assert torch.equal(stats.patterns("relu")["0"], new["0"])
    assert not torch.allclose(new["0"], fit_patterns(model, x_train, "covariance")["0"])


def test_batches_auto_sized_or_iterable_give_the_same_statistics(generator):
    model, x_train, _ = setup("cnn", generator, n_train=30)
    auto = P.fit_pattern_statistics(model, x_train)
    small = P.fit_pattern_statistics(model, x_train, batch_size=4)
    streamed = P.fit_pattern_statistics(model, [(x_train[:13], None), x_train[13:]])
    for stats in (small, streamed):
        for name, layer in auto.layers.items():
            assert torch.allclose(stats.layers[name].sum_xy, layer.sum_xy, rtol=1e-12)
            assert torch.equal(stats.layers[name].count, layer.count)
            assert int(stats.layers[name].n) == 30 * (9 if name == "0" else 4 if name == "2" else 1)


def test_auto_batch_size_memory_rule_and_batching_helper(monkeypatch, generator):
    """Memory rule: the largest layer's float64 work per sample is (fan_in + 5 out) x 8 bytes
    (first layer: (6 + 25) x 8 = 248); capped by saliency_sanity.batching.rows_per_batch."""
    model, x_train, _ = setup("mlp", generator)
    layers = P.L.sequential_layers(model)
    monkeypatch.setattr(P, "_BATCH_BYTES", 248 * 10)
    monkeypatch.setattr(P, "rows_per_batch", lambda model, x, device=None: 10**6)
    assert P._auto_batch_size(model, layers, x_train) == 10
    monkeypatch.setattr(P, "rows_per_batch", lambda model, x, device=None: 4)
    assert P._auto_batch_size(model, layers, x_train) == 4


def test_shift_that_no_bias_compensates_is_refused(generator):
    model, x_train, _ = setup("cnn", generator, n_train=10)
    stats = P.fit_pattern_statistics(model, x_train)
    with pytest.raises(ValueError, match="patches"):
        stats.shifted(torch.randn(1, 6, 6, generator=generator))  # not periodic
    padded = toy_cnn(generator)
    padded[0].padding = (1, 1)  # 1x8x8 -> 4x4 -> 3x3 -> 1x1 after the pool
    stats = P.fit_pattern_statistics(padded, torch.rand(10, 1, 6, 6, generator=generator))
    with pytest.raises(ValueError, match="padding"):
        stats.shifted(-1.0)  # border patches see zeros: the compensation is position dependent
    pooled = _init(nn.Sequential(nn.MaxPool2d(2), nn.Flatten(), nn.Linear(9, 2)), generator)
    stats = P.fit_pattern_statistics(pooled, torch.rand(10, 1, 6, 6, generator=generator))
    with pytest.raises(ValueError, match="not a reshape"):
        stats.shifted(-1.0)


def test_float32_model_statistics_stay_float64(generator):
    """A float32 net: sums in float64, patterns in float32; the covariance estimator's
    invariance is then limited by float32 rounding of the inputs x + m (printed)."""
    model, x_train, _ = setup("mlp", generator)
    m = make_shift("constant", "mlp", generator)
    net2 = compensated(model, m).float()
    net1 = model.float()
    x32 = x_train.float()
    stats1 = P.fit_pattern_statistics(net1, x32)
    assert stats1.layers["0"].sum_xy.dtype == torch.float64
    p1 = stats1.patterns("covariance")
    p2 = P.fit_pattern_statistics(net2, x32 + m.float()).patterns("covariance")
    assert p1["0"].dtype == torch.float32
    err = max(rel(p2[k], p1[k]) for k in p1)
    print(f"\nfloat32 net, covariance estimator, constant shift: max relative error {err:.2e}")
    assert err < 1e-4


def test_signal_distractor_toy_recovers_the_signal_direction():
    """kindermans2018 Fig. 2: x = s a_s + d a_d, w = (1, -1) cancels a_d = (1, 1); w^T a_s = 1.

    The gradient (w) points away from the signal (cosine 1/√2); PatternNet returns a_s y.
    With 20000 samples the fitted pattern is a_s to about 1e-2 (standard error ~ 1/√n).
    """
    g = torch.Generator().manual_seed(0)
    a_s, a_d = torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0])
    s, d = torch.randn(20000, 1, generator=g), torch.randn(20000, 1, generator=g)
    x_train = s * a_s + d * a_d
    model = nn.Sequential(nn.Linear(2, 2, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, -1.0], [0.0, 1.0]]))
    patterns = fit_patterns(model, x_train, estimator="linear", batch_size=3000)
    assert torch.allclose(patterns["0"][0], a_s, atol=0.03)
    x = x_train[:50]
    signal = attribute("pattern_net", model, x, 0, patterns=patterns)
    expected = a_s * model(x)[:, :1].detach()  # the signal estimate ŝ = a_s y, with y = s here
    assert torch.allclose(signal, expected, atol=0.05 * float(expected.abs().max()))
    cos = nn.functional.cosine_similarity(signal, a_s.expand_as(signal).clone(), dim=1).abs()
    assert (cos > 0.999).all()
    grad_cos = nn.functional.cosine_similarity(model[0].weight[:1], a_s[None], dim=1).abs()
    assert grad_cos < 0.8  # the test could fail: the gradient is not the signal


def test_patterns_are_normalised_and_logits_use_linear_estimator(generator):
    model, x_train, _ = setup("mlp", generator)
    stats = P.fit_pattern_statistics(model, x_train)
    linear = stats.patterns("linear")
    for estimator in ("paper", "covariance"):
        p = stats.patterns(estimator)
        for name in ("0", "2"):
            w_dot_a = (model[int(name)].weight * p[name]).sum(1)
            # w^T a = 1, or a = 0 for a neuron that is never active on x_train
            assert (((w_dot_a - 1).abs() < 1e-9) | (p[name].abs().sum(1) == 0)).all()
        assert torch.equal(p["4"], linear["4"])  # no ReLU after the logits
        assert not torch.allclose(p["0"], linear["0"])


def test_all_classes_and_missing_or_mismatched_patterns(generator):
    model, x_train, x = setup("cnn", generator, n_train=20)
    p = fit_patterns(model, x_train)
    for name in ("pattern_net", "pattern_attribution"):
        all_maps = attribute_all_classes(name, model, x, patterns=p)
        assert torch.allclose(all_maps[:, 2], attribute(name, model, x, 2, patterns=p))
        with pytest.raises(ValueError, match="fit_patterns"):
            attribute(name, model, x, 0)
        with pytest.raises(ValueError, match="do not fit"):
            attribute(name, model, x, 0, patterns={**p, "6": torch.zeros(3, 3)})
    with pytest.raises(ValueError, match="estimator"):
        fit_patterns(model, x, estimator="quadratic")
    with pytest.raises(ValueError, match="no training inputs"):
        P.fit_pattern_statistics(model, x[:0])


def test_model_left_as_found_also_after_error(generator):
    model = toy_mlp(generator).train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    p = fit_patterns(model, torch.rand(50, 6, generator=generator))
    attribute("pattern_attribution", model, torch.rand(2, 6, generator=generator), patterns=p)
    with pytest.raises(ValueError):
        attribute("pattern_net", model, torch.rand(2, 6, generator=generator), patterns={})
    assert model.training and all(torch.equal(state[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("net", ["mlp", "cnn"])
def test_saved_first_layer_statistics_give_the_same_shifted_patterns(net, generator, tmp_path):
    """The statistics saved as arrays (the pipeline fits network 1 once and stores its first
    layer) come back equal, conv geometry included, and shift exactly as the originals."""
    from saliency_sanity.io import load_npz, save_npz

    model, x_train, _ = setup(net, generator, n_train=80)
    stats = P.fit_pattern_statistics(model, x_train, batch_size=13)
    first = stats.layers[stats.first]
    save_npz(tmp_path / "s.npz", **first.arrays())
    back = P.LayerStatistics.from_arrays(load_npz(tmp_path / "s.npz"))
    assert (back.shape, back.dtype, back.in_shape) == (first.shape, first.dtype, first.in_shape)
    assert (back.unfold, back.feeds_relu) == (first.unfold, first.feeds_relu)
    for name in P.LayerStatistics.TENSORS:
        torch.testing.assert_close(getattr(back, name), getattr(first, name), rtol=0, atol=0)
    m = make_shift("checkerboard", net, generator)
    want = stats.shifted(m).patterns("paper")[stats.first]
    torch.testing.assert_close(back.shifted(m).pattern("paper"), want, rtol=0, atol=0)
