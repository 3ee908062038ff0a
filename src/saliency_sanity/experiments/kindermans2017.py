"""kindermans2017 experiments: input invariance of saliency methods (Secs. 2-4, Figs. 1-5).

Network 1 is the trained MLP on inputs x in [0, 1]; network 2 is the same network with the
first-layer bias b2 = b1 - W m2, fed x + m2 (:func:`saliency_sanity.models.bias_compensated`).
Both compute the same function of the image, so an input-invariant saliency method gives the
same map for both. For every shift m2 (:mod:`saliency_sanity.shifts`) the experiment builds
network 2, checks that it predicts exactly as network 1 on the whole test set (and stops if
not), and computes the paper's methods on a few test-bed digits for both networks.

PatternNet/PatternAttribution need patterns fitted on training data (kindermans2018), with one
of three estimators (``paper``: the PatternNet paper's eq. 8, ``covariance``: the covariance
within the active set, ``linear``; :mod:`saliency_sanity.attribution.patterns`). Each network's
patterns are fitted once, on its own training inputs (network 2: x + m2, as a user of network 2
would), all estimators in one pass, and cached in their own experiments (network 1:
``patterns_network1``, shared by every shift; network 2: ``patterns_<shift>``), so the map
experiments never refit them. The
paper estimator is not shift-invariant: its first-layer numerator changes by m (E+[y] - E[y]);
its analytic prediction of network 2's patterns, from network 1's statistics, is saved beside
the fitted ones, so the figures show the measured change beside the predicted one.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from saliency_sanity import data, models, runtime, shifts
from saliency_sanity.attribution import attribute
from saliency_sanity.attribution import patterns as P
from saliency_sanity.catalogue import (
    MNIST,
    C,
    Field,
    Model,
    Resources,
    Result,
    Testbed,
    experiment,
    imagenet_on,
)
from saliency_sanity.experiments import (
    INVARIANCE_METHODS,
    KINDERMANS2017_SHIFTS,
    PATTERN_ESTIMATORS,
    PATTERN_METHODS,
)
from saliency_sanity.experiments.testbed import display_images, load_testbed
from saliency_sanity.io import load_npz, save_npz

log = logging.getLogger(__name__)

DOC = "kindermans2017"
NETWORK1 = Model("kindermans_mlp")
METHODS = INVARIANCE_METHODS
ESTIMATORS = PATTERN_ESTIMATORS
SHIFTS = KINDERMANS2017_SHIFTS
#: resources of the pattern fits (one pass over the training set per network)
FIT = Resources(gpu=1, threads=2, mem_mb=4000, runtime=30)
#: Both networks run in float64 here. The compensation b2 = b1 - W m2 is exact only in exact
#: arithmetic: in float32, W (x + m2) + b2 cancels to ~1e-7 |W m2|, enough to flip the ReLU
#: gate of a neuron within rounding of zero, and max |map2 - map1| / max |map1| of the
#: shift-invariant methods measured 1.4e-3 (PatternAttribution, checkerboard) against 1e-15 in
#: float64, where an identity row must read ~0 (the MLP is small: float64 costs little).
PRECISION = torch.float64


def _network1(checkpoint, dev) -> torch.nn.Module:
    """Network 1 from its checkpoint, in :data:`PRECISION`."""
    net1, _ = models.load_checkpoint(checkpoint, dev)
    return net1.to(PRECISION)


def method_calls(ig_steps: int) -> dict[str, tuple[str, dict]]:
    """Registry name and parameters of each method that needs no patterns."""
    return {
        "gradient": ("gradient", {}),
        "guided_backprop": ("guided_backprop", {}),
        "gradient_input": ("gradient_input", {}),
        "integrated_gradients_zero": (
            "integrated_gradients",
            {"baseline": "zero", "steps": ig_steps},
        ),
        "integrated_gradients_black": (
            "integrated_gradients",
            {"baseline": "black", "steps": ig_steps},
        ),
        "deep_taylor_zero": ("deep_taylor", {"root": "zero"}),
    }


def map_names() -> list[str]:
    """Names of the saved maps: the six methods, then PatternNet and PatternAttribution with
    each estimator (``pattern_net_covariance``, ...), then the paper estimator's predicted
    network-2 maps (``pattern_net_predicted``; for network 1 the same as ``_paper``)."""
    fitted = [f"{m}_{e}" for m in PATTERN_METHODS for e in ESTIMATORS]
    return [*METHODS, *fitted, *(f"{m}_predicted" for m in PATTERN_METHODS)]


def attribution_maps(model, x, target, patterns: dict, ig_steps: int) -> dict[str, torch.Tensor]:
    """Every map of :func:`map_names` for ``model`` at ``x``; ``patterns``: estimator (and
    ``"predicted"``) -> patterns of that model."""
    maps = {
        name: attribute(method, model, x, target, **params)
        for name, (method, params) in method_calls(ig_steps).items()
    }
    for est in (*ESTIMATORS, "predicted"):
        for method in PATTERN_METHODS:
            maps[f"{method}_{est}"] = attribute(method, model, x, target, patterns=patterns[est])
    return maps


def pattern_training_inputs(
    mnist: str | Path, images: int, seed: int, encoding: str = "unit"
) -> torch.Tensor:
    """``images`` training images (a seeded random subset, all if it exceeds the training set)
    in ``encoding``: the data the patterns are fitted on."""
    train = data.load_mnist(mnist)
    n = len(train.train_images)
    keep = np.sort(np.random.default_rng(seed).permutation(n)[: min(images, n)])
    return data.encode(train.train_images[keep], encoding)


# --- patterns: fitted once per network, all estimators in one pass -------------------------------


def _save_patterns(prefix: str, patterns: dict[str, dict[str, torch.Tensor]]) -> dict:
    return {f"{prefix}__{est}__{layer}": p.detach().cpu().numpy()
            for est, layers in patterns.items() for layer, p in layers.items()}  # fmt: skip


def load_patterns(
    path, prefix: str, device="cpu", dtype=PRECISION
) -> dict[str, dict[str, torch.Tensor]]:
    """``{estimator: {layer: pattern}}`` saved under ``prefix`` (``network1``, ``g0``, ...)."""
    out: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in load_npz(path).items():
        parts = key.split("__")
        if len(parts) == 3 and parts[0] == prefix:
            out.setdefault(parts[1], {})[parts[2]] = torch.from_numpy(value).to(device, dtype)
    if not out:
        raise KeyError(f"{path} holds no patterns under {prefix!r}")
    return out


def fit_statistics(model, x_train: torch.Tensor, batch_size: int | None):
    """Sufficient statistics of every dense layer (one pass; all estimators come from them)."""
    return P.fit_pattern_statistics(model, x_train, batch_size=batch_size)


def _fit_inputs(mnist, settings: dict, device) -> torch.Tensor:
    fit = settings["patterns"]
    return pattern_training_inputs(mnist, fit["images"], fit["seed"]).to(device, PRECISION)


def describe_shift(shift: str, settings: dict) -> str:
    """The shift in words, for captions."""
    s = settings["shifts"]
    if shift == "constant":
        return f"constant m2 = {s['constant']:g}"
    if shift == "checkerboard":
        board = s["checkerboard"]
        return (
            f"checkerboard m2 of {board['square']}x{board['square']}-pixel squares, "
            f"+/-{board['amplitude']:g}"
        )
    if shift == "cat":
        clip = s["cat"]["clip"]
        return (
            f"cat shift m2 = ŝ / ∇f1(x) - x clipped to [-{clip:g}, {clip:g}], ŝ = hand-drawn cat "
            "x clip x mean |∇f1(x)| (one m2, hence one network 2, per digit)"
        )
    raise ValueError(f"shift must be one of {SHIFTS}, got {shift!r}")


def make_shift(shift: str, settings: dict, net1, x: torch.Tensor, target) -> torch.Tensor:
    """m2 for each of the images x: (N, 1, 28, 28). ``settings``: the config section."""
    s, n = settings["shifts"], len(x)
    if shift == "constant":
        return shifts.constant(s["constant"]).expand(n, *x.shape[1:]).to(x)
    if shift == "checkerboard":
        return shifts.checkerboard(**s["checkerboard"]).to(x).expand(n, *x.shape[1:])
    if shift == "cat":
        grad = attribute("gradient", net1, x, target)
        return shifts.cat_shift(grad, x, shifts.cat_image().to(x), clip=s["cat"]["clip"])
    raise ValueError(f"shift must be one of {SHIFTS}, got {shift!r}")


def _groups(shift: str, n: int) -> list[list[int]]:
    """One network 2 for all digits (constant, checkerboard), one per digit (cat)."""
    return [list(range(n))] if shift != "cat" else [[i] for i in range(n)]


def _shown(net1, testbed, settings, dev):
    x, labels, indices = load_testbed(testbed, net1.encoding, settings["images"])
    x = x.to(dev, PRECISION)
    with torch.no_grad():
        target = net1(x).argmax(1)
    return x, labels, indices, target


#: prefix of the first layer's statistics of network 1 in ``patterns_network1``
FIRST = "network1_first"


@experiment(DOC, "patterns_network1",
            inputs={"checkpoint": NETWORK1, "mnist": MNIST},
            params={"settings": C("kindermans2017")}, resources=FIT)  # fmt: skip
def fit_network1_patterns(*, checkpoint, mnist, settings: dict, device: str, out) -> None:
    """Network 1's patterns (every estimator, one pass over its training inputs), fitted once
    for all shifts, and its first layer's statistics: a compensated shift moves only those, so
    the paper estimator's prediction for any network 2 follows from them
    (:meth:`~saliency_sanity.attribution.patterns.LayerStatistics.shifted`)."""
    dev = runtime.device(device)
    net1 = _network1(checkpoint, dev)
    x_train = _fit_inputs(mnist, settings, dev)
    stats1 = fit_statistics(net1, x_train, settings["patterns"]["batch_size"])
    if stats1.first is None:
        raise ValueError(
            "network 1's first dense layer is not its first layer: no shift reaches it"
        )
    arrays = {"n_images": len(x_train), "first_layer": stats1.first}
    arrays.update(_save_patterns("network1", {est: stats1.patterns(est) for est in ESTIMATORS}))
    first = stats1.layers[stats1.first].arrays()
    arrays.update({f"{FIRST}__{k}": v for k, v in first.items()})
    save_npz(out, **arrays)


def _network1_first_layer(saved: dict, dev) -> tuple[str, P.LayerStatistics]:
    prefix = f"{FIRST}__"
    arrays = {k.removeprefix(prefix): v for k, v in saved.items() if k.startswith(prefix)}
    return str(saved["first_layer"]), P.LayerStatistics.from_arrays(arrays, dev)


@experiment(DOC, "patterns_{shift}", over={"shift": SHIFTS},
            inputs={"checkpoint": NETWORK1, "testbed": Testbed(), "mnist": MNIST,
                    "network1": Result("kindermans2017/patterns_network1")},
            params={"shift": Field("shift"), "settings": C("kindermans2017")},
            resources=FIT)  # fmt: skip
def fit_network2_patterns(*, checkpoint, testbed, mnist, network1, shift: str, settings: dict,
                          device: str, out) -> None:  # fmt: skip
    """Each network 2's patterns (every estimator), fitted on its own training inputs x + m2,
    beside network 1's (fitted once, ``patterns_network1``) and the paper estimator's analytic
    prediction of network 2's patterns: network 1's, with the first layer's statistics shifted
    by m2 (the layers above see the same inputs)."""
    dev = runtime.device(device)
    net1 = _network1(checkpoint, dev)
    x, _, _, target = _shown(net1, testbed, settings, dev)
    m2 = make_shift(shift, settings, net1, x, target)
    x_train = _fit_inputs(mnist, settings, dev)
    saved = load_npz(network1)
    if int(saved["n_images"]) != len(x_train):
        raise ValueError(f"{network1}: fitted on {int(saved['n_images'])} images, the config "
                         f"says {len(x_train)}")  # fmt: skip
    first_name, first = _network1_first_layer(saved, dev)
    paper1 = load_patterns(network1, "network1", dev)["paper"]
    arrays = {"m2": m2.cpu().numpy(), "n_images": len(x_train)}
    arrays.update({k: v for k, v in saved.items() if k.startswith("network1__")})
    groups = _groups(shift, len(x))
    for g, group in enumerate(tqdm(groups, desc=f"network 2 patterns ({shift})", mininterval=5)):
        m = m2[group[0]]
        net2 = models.bias_compensated(net1, m)
        stats2 = fit_statistics(net2, x_train + m, settings["patterns"]["batch_size"])
        patterns = {est: stats2.patterns(est) for est in ESTIMATORS}
        patterns["predicted"] = {**paper1, first_name: first.shifted(m).pattern("paper")}
        arrays.update(_save_patterns(f"g{g}", patterns))
    arrays["groups"] = np.asarray([grp[0] for grp in groups])
    save_npz(out, **arrays)


def same_outputs(
    net1, net2, x: torch.Tensor, m2: torch.Tensor, batch_size: int | None = None
) -> float:
    """Max |net1(x) - net2(x + m2)| over ``x`` (:func:`models.compensation_error`); raises if
    any prediction differs. ``batch_size=None``: rows per batch chosen for network 1."""
    worst, differ = models.compensation_error(net1, net2, x, m2, batch_size)
    if differ:
        raise RuntimeError(
            f"network 2 (b2 = b1 - W m2) predicts differently from network 1 on {differ} of "
            f"{len(x)} test images (max |logit difference| {worst:.3g}): the bias compensation "
            "is broken"
        )
    return worst


@experiment(DOC, "shift_{shift}", over={"shift": SHIFTS},
            inputs={"checkpoint": NETWORK1, "testbed": Testbed(), "mnist": MNIST,
                    "patterns": Result("kindermans2017/patterns_{shift}")},
            params={"shift": Field("shift"), "settings": C("kindermans2017")},
            resources=Resources(gpu=1, threads=2, mem_mb=3000, runtime=30))  # fmt: skip
def input_invariance(*, checkpoint, testbed, mnist, patterns, shift: str,
                     settings: dict, device: str, out) -> dict[str, np.ndarray]:  # fmt: skip
    """Maps of every method for network 1 at x and network 2 at x + m2 (one shift).

    ``settings`` is the config's ``kindermans2017`` section. The constant and checkerboard
    shifts give one network 2 for all digits; the cat shift depends on the digit, so each digit
    gets its own network 2 (and its own patterns). For the digit-correlation claim, network 1's
    PatternNet maps of the first ``correlation_images`` test-bed digits are saved too.
    """
    dev = runtime.device(device)
    net1 = _network1(checkpoint, dev)
    x, labels, indices, target = _shown(net1, testbed, settings, dev)
    names = map_names()
    pats1 = load_patterns(patterns, "network1", dev)
    pats1["predicted"] = pats1["paper"]  # network 1 is its own prediction
    maps1 = attribution_maps(net1, x, target, pats1, settings["ig_steps"])
    saved = load_npz(patterns)
    m2 = torch.from_numpy(saved["m2"]).to(dev, PRECISION)
    if m2.shape != x.shape:
        raise ValueError(f"{patterns}: shift for {len(m2)} images, this experiment shows {len(x)}")
    x_test = data.encode(data.load_mnist(mnist).test_images, net1.encoding).to(PRECISION)
    maps2 = {name: torch.zeros_like(maps1[name]) for name in names}
    logit_diff = np.zeros(len(x))
    for g, group in enumerate(_groups(shift, len(x))):
        m = m2[group[0]]
        net2 = models.bias_compensated(net1, m)
        diff = same_outputs(net1, net2, x_test, m)
        log.info("%s shift, images %s: max |logit difference| on the test set %.3g", shift,
                 group, diff)  # fmt: skip
        logit_diff[group] = diff
        pats2 = load_patterns(patterns, f"g{g}", dev)
        got = attribution_maps(net2, x[group] + m, target[group], pats2, settings["ig_steps"])
        for name in names:
            maps2[name][group] = got[name]
    arrays = {
        "methods": np.asarray(names),
        "maps1": np.stack([maps1[n].cpu().numpy() for n in names]),
        "maps2": np.stack([maps2[n].cpu().numpy() for n in names]),
        "x1": x.cpu().numpy(),
        "x2": (x + m2).cpu().numpy(),
        "m2": m2.cpu().numpy(),
        "target": target.cpu().numpy(),
        "labels": labels.numpy(),
        "indices": indices,
        "max_abs_logit_difference": logit_diff,
        "n_test": np.asarray(len(x_test)),
        "shift": np.asarray(shift),
        "shift_description": np.asarray(describe_shift(shift, settings)),
        "shown_estimator": np.asarray(settings["patterns"]["shown"]),
        "ig_steps": np.asarray(settings["ig_steps"]),
        "pattern_images": np.asarray(int(saved["n_images"])),
    }
    if shift == "constant":
        arrays.update(_correlation_maps(net1, testbed, settings, pats1, dev))
    save_npz(out, **arrays)
    return arrays


def _correlation_maps(net1, testbed, settings, pats1, dev) -> dict[str, np.ndarray]:
    """Network 1's PatternNet and PatternAttribution maps (each estimator) and inputs of more
    digits, for the between-digit correlation of the claims."""
    x, labels, _ = load_testbed(testbed, net1.encoding, settings["correlation_images"])
    x = x.to(dev, PRECISION)
    with torch.no_grad():
        target = net1(x).argmax(1)
    out = {"correlation_x": x.cpu().numpy(), "correlation_labels": labels.numpy()}
    for method in PATTERN_METHODS:
        for est in ESTIMATORS:
            maps = attribute(method, net1, x, target, patterns=pats1[est])
            out[f"correlation_{method}_{est}"] = maps.cpu().numpy()
    return out


# --- the ImageNet tier: Fig. 1 on VGG-16 -------------------------------------------------------

REFERENCE_POINTS = ("integrated_gradients_zero", "integrated_gradients_black", "deep_taylor_zero",
                    "pattern_attribution_covariance")  # fmt: skip


@experiment(DOC, "reference_points_vgg16", when=imagenet_on,
            inputs={"checkpoint": Model("vgg16"), "testbed": Testbed("vgg16")},
            params=lambda cfg: {**cfg["imagenet"]["kindermans2017"]["reference_points"]},
            resources=Resources(gpu=1, threads=2, mem_mb=16000, runtime=120))  # fmt: skip
def reference_point_maps(*, checkpoint, testbed, images: int, steps: int, device: str,
                         out) -> None:  # fmt: skip
    """Fig. 1 on VGG-16: IG with the zero and the black reference, Deep Taylor with the zero
    (LRP z-rule) and the pattern root point, for the first ``images`` test-bed images. The
    patterns (covariance estimator) are fitted on the whole test-bed: the tier has no training
    images (the caption says so)."""
    dev = runtime.device(device)
    net, _ = models.load_checkpoint(checkpoint, dev)
    x_all, labels, ids = load_testbed(testbed, net.encoding)
    stats = fit_statistics(net, x_all.to(dev), None)
    patterns = stats.patterns("covariance")
    x = x_all[:images].to(dev)
    with torch.no_grad():
        target = net(x).argmax(1)
    calls = method_calls(steps)
    maps = {name: attribute(calls[name][0], net, x, target, **calls[name][1])
            for name in REFERENCE_POINTS[:3]}  # fmt: skip
    maps[REFERENCE_POINTS[3]] = attribute("pattern_attribution", net, x, target, patterns=patterns)
    save_npz(out, methods=np.asarray(REFERENCE_POINTS),
             maps1=np.stack([maps[n].cpu().numpy() for n in REFERENCE_POINTS]),
             x1=x.cpu().numpy(), display1=display_images(testbed, images),
             target=target.cpu().numpy(),
             labels=labels[:images].numpy(), indices=ids[:images], shown_estimator="covariance",
             ig_steps=steps, pattern_images=len(x_all), n_test=len(x_all),
             shift_description="no shift (VGG-16: network 1 only)",
             max_abs_logit_difference=np.zeros(len(x)))  # fmt: skip
