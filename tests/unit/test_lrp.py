"""LRP rules: against zennit 0.5.1, against the equations written out, and known identities."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from zennit.attribution import Gradient
from zennit.composites import (
    EpsilonGammaBox,
    LayerMapComposite,
    NameLayerMapComposite,
    SpecialFirstLayerMapComposite,
)
from zennit.core import Hook, Stabilizer
from zennit.rules import AlphaBeta, Epsilon, Gamma, Norm, Pass, ZBox
from zennit.types import Activation, AvgPool, Convolution

from saliency_sanity.attribution import attribute, attribute_all_classes

# float64 throughout: the comparisons are to 1e-9, far below the 1e-6 stabilizer effects
TOL = {"rtol": 1e-7, "atol": 1e-9}


@pytest.fixture(autouse=True)
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def small_mlp(bias: bool = True, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(16, 12, bias=bias), nn.ReLU(), nn.Linear(12, 8, bias=bias),
        nn.ReLU(), nn.Linear(8, 4, bias=bias),
    ).eval()  # fmt: skip


def small_cnn(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(6 * 2 * 2, 8), nn.ReLU(), nn.Linear(8, 5),
    ).eval()  # fmt: skip


def inputs(model: nn.Module, signed: bool, n: int = 5, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    shape = (n, 1, 4, 4) if isinstance(model[0], nn.Flatten) else (n, 1, 8, 8)
    x = torch.randn(shape, generator=g) if signed else torch.rand(shape, generator=g)
    return x


def zennit_maps(model, x, target, composite) -> torch.Tensor:
    """Zennit's relevance, starting from one-hot × logit (REPLICATION-NOTES)."""
    with Gradient(model=model, composite=composite) as attributor:
        _, rel = attributor(x, lambda out: nn.functional.one_hot(target, out.shape[1]) * out)
    return rel


def every_layer(rule) -> LayerMapComposite:
    return LayerMapComposite(
        [(Activation, Pass()), (AvgPool, Norm()), ((nn.Linear, Convolution), rule)]
    )


ZENNIT_CASES = [
    ("lrp_0", {}, Epsilon(epsilon=1e-6)),
    ("lrp_epsilon", {"epsilon": 0.1, "relative": False}, Epsilon(epsilon=0.1)),
    ("lrp_epsilon", {"epsilon": 0.25}, Epsilon(epsilon=Stabilizer(0.25, norm_scale=True))),
    ("lrp_gamma", {"gamma": 0.25}, Gamma(gamma=0.25)),
    ("lrp_gamma", {"gamma": 1.0}, Gamma(gamma=1.0)),
    ("lrp_alpha_beta", {}, AlphaBeta(alpha=2.0, beta=1.0)),
    ("lrp_alpha_beta", {"alpha": 1.0, "beta": 0.0}, AlphaBeta(alpha=1.0, beta=0.0)),
]


@pytest.mark.parametrize("arch", [small_mlp, small_cnn])
@pytest.mark.parametrize(("name", "params", "rule"), ZENNIT_CASES)
def test_rules_match_zennit(arch, name, params, rule):
    """Every rule on every dense layer; signed inputs exercise the generalised γ / αβ branches."""
    model = arch()
    x = inputs(model, signed=True)
    target = torch.tensor([0, 1, 2, 3, 0])
    ours = attribute(name, model, x, target, **params)
    theirs = zennit_maps(model, x, target, every_layer(rule))
    assert torch.allclose(ours, theirs, **TOL), (ours - theirs).abs().max()


def test_composite_matches_zennit_epsilon_gamma_box_on_cnn():
    model, target = small_cnn(), torch.tensor([4, 3, 2, 1, 0])
    x = inputs(model, signed=False)
    ours = attribute(
        "lrp_composite", model, x, target, epsilon=0.1, relative=False, low=0.0, high=1.0
    )
    comp = EpsilonGammaBox(low=0.0, high=1.0, epsilon=0.1, gamma=0.25)
    theirs = zennit_maps(model, x, target, comp)
    assert torch.allclose(ours, theirs, **TOL), (ours - theirs).abs().max()


def test_composite_on_mlp_is_box_then_epsilon_as_zennit():
    model, target = small_mlp(), torch.tensor([0, 1, 2, 3, 3])
    x = inputs(model, signed=False)
    ours = attribute("lrp_composite", model, x, target, low=-0.5, high=1.5)
    eps = Epsilon(epsilon=Stabilizer(0.25, norm_scale=True))
    comp = SpecialFirstLayerMapComposite(
        [(Activation, Pass()), (nn.Linear, eps)], [(nn.Linear, ZBox(low=-0.5, high=1.5))]
    )
    theirs = zennit_maps(model, x, target, comp)
    assert torch.allclose(ours, theirs, **TOL), (ours - theirs).abs().max()


# --- the equations written again, in matrix form, for a 2-layer net --------------------------


def stab(z):
    return z + 1e-6 * torch.where(z >= 0, 1.0, -1.0)


def two_layer():
    torch.manual_seed(3)
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)).eval()


def _by_hand(model, x, target, layer_rule):
    """R_j = Σ_k C_jk(a) R_k layer by layer; C from the explicit contribution matrices."""
    w1, b1, w2, b2 = (p.detach() for p in model.parameters())
    a1 = torch.relu(x @ w1.T + b1)
    r2 = torch.zeros(3)
    r2[target] = (a1 @ w2.T + b2)[target]
    r1 = layer_rule(a1, w2, b2, r2)
    return layer_rule(x, w1, b1, r1)


def eps_layer(eps):
    def rule(a, w, b, r):  # montavon2019 eq. 10.2: a_j w_jk / (ε sign + Σ_j a_j w_jk + b_k)
        contrib = a[None, :] * w  # (out, in)
        z = contrib.sum(1) + b
        return ((contrib / (z + eps * torch.where(z >= 0, 1.0, -1.0))[:, None]) * r[:, None]).sum(0)

    return rule


def gamma_layer(g):
    def rule(a, w, b, r):  # eq. 10.3 for a >= 0; negative outputs use w + γ w⁻ (zennit 0.5)
        z = a @ w.T + b
        out = torch.zeros_like(a)
        for sel, wm, bm in (
            (z > 0, w + g * w.clamp(min=0), b + g * b.clamp(min=0)),
            (z < 0, w + g * w.clamp(max=0), b + g * b.clamp(max=0)),
        ):
            contrib = a[None, :] * wm
            out += ((contrib / stab(contrib.sum(1) + bm)[:, None]) * (r * sel)[:, None]).sum(0)
        return out

    return rule


def alpha_beta_layer(alpha, beta):
    def rule(a, w, b, r):  # bach2015 eq. 60
        contrib = a[None, :] * w
        cp, cn = contrib.clamp(min=0), contrib.clamp(max=0)
        zp, zn = stab(cp.sum(1) + b.clamp(min=0)), stab(cn.sum(1) + b.clamp(max=0))
        return ((alpha * cp / zp[:, None] - beta * cn / zn[:, None]) * r[:, None]).sum(0)

    return rule


@pytest.mark.parametrize(
    ("name", "params", "layer_rule"),
    [
        ("lrp_epsilon", {"epsilon": 0.3, "relative": False}, eps_layer(0.3)),
        ("lrp_0", {}, eps_layer(1e-6)),
        ("lrp_gamma", {"gamma": 0.5}, gamma_layer(0.5)),
        ("lrp_alpha_beta", {"alpha": 2.0, "beta": 1.0}, alpha_beta_layer(2.0, 1.0)),
        ("lrp_alpha_beta", {"alpha": 3.0, "beta": 2.0}, alpha_beta_layer(3.0, 2.0)),
    ],
)
def test_rules_match_the_equations(name, params, layer_rule):
    model = two_layer()
    x = torch.rand(4, 6)
    target = torch.tensor([0, 1, 2, 1])
    ours = attribute(name, model, x, target, **params)
    for i in range(4):
        expected = _by_hand(model, x[i], int(target[i]), layer_rule)
        assert torch.allclose(ours[i], expected, **TOL), (ours[i] - expected).abs().max()


# --- identities ----------------------------------------------------------------------------


def gradient_x_input(model, x, target):
    x = x.clone().requires_grad_(True)
    out = model(x).gather(1, target[:, None]).sum()
    (g,) = torch.autograd.grad(out, x)
    return g * x


@pytest.mark.parametrize("arch", [lambda: small_mlp(bias=False), small_mlp, small_cnn])
def test_lrp_0_equals_gradient_times_input(arch):
    """On ReLU nets LRP-0 = Gradient × Input, with or without biases (REPLICATION-NOTES)."""
    model = arch()
    x = inputs(model, signed=False)
    target = torch.tensor([1, 0, 3, 2, 1])
    ours = attribute("lrp_0", model, x, target, stabilizer=1e-12)
    assert torch.allclose(ours, gradient_x_input(model, x, target), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("lrp_0", {}),
        ("lrp_gamma", {}),
        ("lrp_alpha_beta", {}),
        ("lrp_alpha_beta", {"alpha": 1.0, "beta": 0.0}),
    ],
)
def test_conservation_on_bias_free_net(name, params):
    """Σ_i R_i = target logit for conserving rules on a bias-free net (montavon2019 Sec. 10.1);
    stabilizer 1e-12 so that its absorption (1e-6 / |z| relative) stays below the tolerance."""
    model, target = small_mlp(bias=False), torch.tensor([0, 1, 2, 3, 0])
    x = inputs(model, signed=False)
    logit = model(x).gather(1, target[:, None]).squeeze(1)
    maps = attribute(name, model, x, target, stabilizer=1e-12, **params)
    total = maps.sum(dim=(1, 2, 3))
    assert torch.allclose(total, logit, rtol=1e-5, atol=1e-8)


def test_epsilon_absorbs_relevance():
    model, target = small_mlp(bias=False), torch.tensor([0, 1, 2, 3, 0])
    x = inputs(model, signed=False)
    logit = model(x).gather(1, target[:, None]).squeeze(1)
    total = attribute("lrp_epsilon", model, x, target, epsilon=1.0, relative=False).sum(
        dim=(1, 2, 3)
    )
    assert (total.abs() < logit.abs() - 1e-6).all()


def test_all_classes_equals_per_class():
    model, x = small_cnn(), inputs(small_cnn(), signed=False, n=3)
    all_maps = attribute_all_classes("lrp_composite", model, x)
    assert all_maps.shape == (3, 5, 1, 8, 8)
    for k in range(5):
        assert torch.allclose(all_maps[:, k], attribute("lrp_composite", model, x, k), **TOL)


def test_maxpool_average_differs_from_winner_and_conserves():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(48, 4, bias=False)).eval()  # fmt: skip
    x = torch.rand(2, 1, 8, 8)
    win = attribute("lrp_0", model, x, 0, stabilizer=1e-12)
    avg = attribute("lrp_0", model, x, 0, stabilizer=1e-12, maxpool="average")
    assert not torch.allclose(win, avg)
    # both conserve what reaches the pooling layer; winner-take-all conserves the logit
    assert torch.allclose(win.sum((1, 2, 3)), model(x)[:, 0], rtol=1e-6)


# --- the model is left as found; errors ------------------------------------------------------


def _snapshot(model):
    hooks = sum(
        len(m._forward_hooks) + len(m._backward_hooks) + len(m._forward_pre_hooks)
        for m in model.modules()
    )
    return (
        {k: v.clone() for k, v in model.state_dict().items()},
        hooks,
        [m.training for m in model.modules()],
    )


@pytest.mark.parametrize(
    "name", ["lrp_0", "lrp_epsilon", "lrp_gamma", "lrp_alpha_beta", "lrp_composite"]
)
def test_model_left_as_found(name):
    model = small_cnn().train()
    before = _snapshot(model)
    attribute(name, model, inputs(model, signed=False), None)
    after = _snapshot(model)
    assert all(torch.equal(before[0][k], after[0][k]) for k in before[0])
    assert before[1:] == after[1:]


def test_unsupported_layer_raises_and_leaves_model():
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 4), nn.Tanh(), nn.Linear(4, 3)).train()
    before = _snapshot(model)
    with pytest.raises(ValueError, match="Tanh"):
        attribute("lrp_epsilon", model, torch.rand(2, 1, 4, 4))
    assert before[1:] == _snapshot(model)[1:]


def test_non_sequential_model_raises():
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 3), nn.Linear(4, 3)

        def forward(self, x):
            return self.a(x) + self.b(x)

    with pytest.raises(ValueError, match="not a sequential model"):
        attribute("lrp_0", Branchy(), torch.rand(2, 4))


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("lrp_alpha_beta", {"alpha": 1.0, "beta": 1.0}, "alpha - beta = 1"),
        ("lrp_0", {"maxpool": "min"}, "maxpool"),
        ("lrp_composite", {"top": "one"}, "top must be"),
        ("lrp_composite", {"lower": 0}, "lower must be"),
    ],
)
def test_bad_parameters(name, params, match):
    with pytest.raises(ValueError, match=match):
        attribute(name, small_cnn(), torch.rand(2, 1, 8, 8), 0, **params)


def test_zoo_cnn_runs_in_float32():
    """The adebayo2018 CNN of the zoo (max-pooling, conv and dense layers), float32."""
    from saliency_sanity.models import build

    model = build("cnn").float()
    maps = attribute_all_classes("lrp_composite", model, torch.rand(2, 1, 28, 28).float())
    assert maps.shape == (2, 10, 1, 28, 28) and torch.isfinite(maps).all()


class _TinyVGG(nn.Module):
    """torchvision VGG's layout (features, adaptive avg-pool, flatten, classifier with Dropout)
    behind a ``.net`` attribute, as the ImageNet wrapper of the zoo."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Module()
        self.net.features = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(4, 4, 3, padding=1),
            nn.ReLU(),
        )
        self.net.avgpool = nn.AdaptiveAvgPool2d((2, 2))
        self.net.classifier = nn.Sequential(
            nn.Linear(16, 8), nn.ReLU(), nn.Dropout(), nn.Linear(8, 3)
        )

    def forward(self, x):
        x = self.net.avgpool(self.net.features(x))
        return self.net.classifier(torch.flatten(x, 1))


def test_vgg_layout_lrp_0_equals_gradient_times_input():
    model, x, target = _TinyVGG().eval(), torch.rand(2, 3, 8, 8), torch.tensor([0, 2])
    ours = attribute("lrp_0", model, x, target, stabilizer=1e-12)
    assert torch.allclose(ours, gradient_x_input(model, x, target), rtol=1e-6, atol=1e-10)


def test_composite_with_the_per_channel_box_of_the_imagenet_tier_matches_zennit():
    """z^B with the per-channel box of the normalised input (the one the ImageNet tier passes,
    experiments.samek2020.lrp_rules_imagenet); with the MNIST figure's layer choice (γ on every
    other convolution, ε on the dense layers), winner-take-all pooling and an absolute ε it is
    zennit's EpsilonGammaBox."""
    from saliency_sanity.experiments.samek2020 import lrp_rules_imagenet
    from saliency_sanity.imagenet import normalization_box

    cfg = {"samek2020": {"lrp_rules": {"methods": {"lrp_composite": {}}}}}
    params = lrp_rules_imagenet(cfg)["lrp_composite"]
    low, high = (t.double() for t in normalization_box("vgg16"))
    torch.testing.assert_close(torch.tensor(params["low"], dtype=torch.float64), low)
    torch.testing.assert_close(torch.tensor(params["high"], dtype=torch.float64), high)
    model = _TinyVGG().double().eval()
    gen = torch.Generator().manual_seed(0)
    x = low + torch.rand(3, 3, 8, 8, generator=gen, dtype=torch.float64) * (high - low)
    target = torch.tensor([0, 1, 2])
    box = {"low": params["low"], "high": params["high"]}
    ours = attribute("lrp_composite", model, x, target, **box, relative=False, epsilon=0.1)
    comp = EpsilonGammaBox(low=low.expand_as(x), high=high.expand_as(x), epsilon=0.1, gamma=0.25)
    theirs = zennit_maps(model, x, target, comp)
    assert torch.allclose(ours, theirs, **TOL), (ours - theirs).abs().max()
    # the recipe's average pooling is a different, documented choice: it changes the maps
    averaged = attribute("lrp_composite", model, x, target, **box, relative=False, epsilon=0.1,
                         maxpool="average")  # fmt: skip
    assert not torch.allclose(averaged, ours, rtol=1e-3, atol=1e-6)


# --- the real torchvision VGG-16 (random weights, 64 x 64, float64) against zennit ---------------
# torchvision's vgg16 layout, written out (torchvision/models/vgg.py, cfg "D"): ``features``
# convolutions at 0, 2 | 5, 7 | 10, 12, 14 | 17, 19, 21 | 24, 26, 28, max-pooling at 4, 9, 16,
# 23, 30; ``avgpool`` (AdaptiveAvgPool2d(7): at 64 px it spreads pool5's 2 x 2 over 7 x 7);
# ``classifier`` Linear layers at 0, 3, 6.

#: max|ours - zennit| / max|zennit| allowed: both sides do the same float64 arithmetic, perhaps
#: in another order (unit roundoff 1e-16; another BLAS or thread count reorders sums); 16 layers
#: each dividing by a stabilised z can amplify rounding, yet measured: 0 for the uniform rules,
#: 3e-16 for the composite. 1e-9 leaves that margin and is far below what another rule,
#: cut-off or pooling does (relative differences of 0.3 and more: the negative controls below).
VGG_TOL = 1e-9


def _features(*indices: int) -> tuple[str, ...]:
    return tuple(f"net.features.{i}" for i in indices)


def _rel_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


@pytest.fixture(scope="module")
def vgg16():
    """torchvision's VGG-16 with seeded random weights, float64, two inputs inside the box of
    the normalised input; targets: the first image's predicted class and the second image's
    least likely one (a negative logit). torchvision initialises every bias to 0; random
    biases are added so that the rules' bias terms (γ, αβ, z^B) are exercised."""
    from saliency_sanity import imagenet

    model = imagenet.build("vgg16", None, seed=0).double()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen, dtype=torch.float64))
    low, high = (t.double() for t in imagenet.normalization_box("vgg16"))
    x = low + torch.rand(2, 3, 64, 64, generator=gen, dtype=torch.float64) * (high - low)
    with torch.no_grad():
        logits = model(x)
    target = torch.stack([logits[0].argmax(), logits[1].argmin()])
    return model, x, target, low, high


VGG16_UNIFORM = [
    ("lrp_0", {}, Epsilon(epsilon=1e-6)),
    ("lrp_epsilon", {"epsilon": 0.25}, Epsilon(epsilon=Stabilizer(0.25, norm_scale=True))),
    ("lrp_epsilon", {"epsilon": 0.1, "relative": False}, Epsilon(epsilon=0.1)),
    ("lrp_gamma", {"gamma": 0.25}, Gamma(gamma=0.25)),
    ("lrp_alpha_beta", {}, AlphaBeta(alpha=2.0, beta=1.0)),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "params", "rule"), VGG16_UNIFORM)
def test_uniform_rules_on_vgg16_match_zennit(vgg16, name, params, rule):
    """One rule on all 16 dense layers of the real VGG-16; max-pooling winner-take-all (the
    gradient: no zennit rule on MaxPool2d), the 2 x 2 -> 7 x 7 adaptive average pooling
    proportional (zennit's Norm on AvgPool), ReLUs and Dropout pass."""
    model, x, target, _, _ = vgg16
    ours = attribute(name, model, x, target, **params)
    theirs = zennit_maps(model, x, target, every_layer(rule))
    assert theirs.abs().max() > 0 and ours.shape == x.shape
    assert _rel_diff(ours, theirs) <= VGG_TOL, _rel_diff(ours, theirs)


class AveragedMaxPool(Hook):
    """Test-side zennit rule: max-pooling treated as 2 x 2 average pooling in the backward pass
    (the LRP tutorial replaces each MaxPool2d by AvgPool2d(2)): R_in = a ⊙ J^T (R / s(z)),
    z = avgpool(a), s a zennit stabiliser (1e-6 as Norm, or a relative ε)."""

    def __init__(self, stabilizer=1e-6):
        super().__init__()
        self.stabilizer = stabilizer

    def copy(self):
        return type(self)(self.stabilizer)

    def forward(self, module, input, output):
        self.stored_tensors["input"] = input

    def backward(self, module, grad_input, grad_output):
        a = self.stored_tensors["input"][0].detach().requires_grad_()
        with torch.enable_grad():
            z = nn.functional.avg_pool2d(a, 2)
        s = grad_output[0] / Stabilizer.ensure(self.stabilizer)(z.detach())
        (g,) = torch.autograd.grad(z, a, s)
        return (a * g,)


def montavon_vgg16_zennit(low, high, pool_epsilon: bool = True) -> NameLayerMapComposite:
    """Montavon's VGG-16 recipe (montavon2019 Sec. 10.3; the LRP tutorial's VGG-16 code: γ for
    ``features`` indices <= 16, ε = 0.25 RMS for 17-30, LRP-0 for the classifier, z^B at the
    pixels, max-pooling as average pooling) by module name, in zennit's rules."""
    eps = Stabilizer(0.25, norm_scale=True)
    return NameLayerMapComposite(
        name_map=[
            (_features(0), ZBox(low=low, high=high)),
            (_features(2, 5, 7, 10, 12, 14), Gamma(gamma=0.25)),
            (_features(17, 19, 21, 24, 26, 28), Epsilon(epsilon=eps)),
            (_features(4, 9, 16), AveragedMaxPool()),
            (_features(23, 30), AveragedMaxPool(eps if pool_epsilon else 1e-6)),
            (("net.classifier.0", "net.classifier.3", "net.classifier.6"), Epsilon(1e-6)),
        ],
        layer_map=[(Activation, Pass()), (AvgPool, Norm())],
    )


@pytest.mark.slow
def test_montavon_vgg16_recipe_of_the_imagenet_tier_matches_zennit(vgg16):
    """The composite the lrp_rules_vgg16 figure runs (experiments.samek2020.lrp_rules_imagenet)
    against zennit rules named layer by layer; a cut-off one convolution higher, or pool4 and
    pool5 without the block's ε, are different maps (the comparison sees both choices)."""
    from saliency_sanity.attribution import lrp
    from saliency_sanity.experiments.samek2020 import lrp_rules_imagenet

    model, x, target, low, high = vgg16
    cfg = {"samek2020": {"lrp_rules": {"methods": {"lrp_composite": {}}}}}
    params = lrp_rules_imagenet(cfg)["lrp_composite"]
    ours = attribute("lrp_composite", model, x, target, **params)
    theirs = zennit_maps(model, x, target, montavon_vgg16_zennit(low.expand_as(x),
                                                                  high.expand_as(x)))  # fmt: skip
    assert theirs.abs().max() > 0
    assert _rel_diff(ours, theirs) <= VGG_TOL, _rel_diff(ours, theirs)

    higher = attribute("lrp_composite", model, x, target, **{**params, "lower": 8})
    assert _rel_diff(higher, theirs) > 1e-3
    comp = lrp.samek_composite(0.25, True, 0.25, params["low"], params["high"], 1e-6, 7, "zero")
    plain_pools = lrp.lrp(model, x, target, comp, maxpool="average")
    assert _rel_diff(plain_pools, theirs) > 1e-3
