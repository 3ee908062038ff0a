"""kindermans2017 experiments: input invariance of saliency methods (Secs. 2-4, Figs. 1-5).

Network 1 is the trained MLP on inputs x in [0, 1]; network 2 is the same network with the
first-layer bias b2 = b1 - W m2, fed x + m2 (:func:`saliency_sanity.models.bias_compensated`).
Both compute the same function of the image, so an input-invariant saliency method gives the
same map for both. For every shift m2 (:mod:`saliency_sanity.shifts`) :func:`input_invariance`
builds network 2, checks that it predicts exactly as network 1 on the whole test set (and stops
if not), and computes the eight methods of the paper on a few test-bed digits for both networks.

PatternNet/PatternAttribution need patterns fitted on training data (kindermans2018). Network 1's
are cached per trained model (:func:`fit_model_patterns`); network 2's are fitted on its own
shifted training inputs x + m2, as a user of network 2 would, with the same images and settings.
Both estimators ("relu", the paper's/iNNvestigate's, and "linear") are computed.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from saliency_sanity import data, models, runtime, shifts
from saliency_sanity.attribution import attribute, fit_patterns
from saliency_sanity.experiments.testbed import load_testbed
from saliency_sanity.io import atomic_path, save_npz

log = logging.getLogger(__name__)

#: the eight methods of the invariance claims (FIGURES.md), in the paper's figure order
METHODS = (
    "gradient",
    "guided_backprop",
    "pattern_net",
    "gradient_input",
    "integrated_gradients_zero",
    "integrated_gradients_black",
    "deep_taylor_zero",
    "pattern_attribution",
)
ESTIMATORS = ("relu", "linear")
SHIFTS = ("constant", "checkerboard", "cat")
#: display labels of the methods (the paper's names)
LABELS = {
    "gradient": "Gradient",
    "guided_backprop": "Guided Backprop",
    "pattern_net": "PatternNet",
    "gradient_input": "Gradient x Input",
    "integrated_gradients_zero": "IG (zero ref.)",
    "integrated_gradients_black": "IG (black ref.)",
    "deep_taylor_zero": "DTD (LRP z-rule root)",
    "pattern_attribution": "DTD (PatternAttr. root)",
}


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


def map_names(estimator: str) -> list[str]:
    """Names of the saved maps: the eight methods (patterns from ``estimator``), then PatternNet
    and PatternAttribution with each estimator (``pattern_net_relu``, ...)."""
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    extra = [f"{m}_{e}" for m in ("pattern_net", "pattern_attribution") for e in ESTIMATORS]
    return [*METHODS, *extra]


def attribution_maps(
    model: torch.nn.Module,
    x: torch.Tensor,
    target: torch.Tensor,
    patterns: dict[str, dict[str, torch.Tensor]],
    estimator: str,
    ig_steps: int,
) -> dict[str, torch.Tensor]:
    """Every map of :func:`map_names` for ``model`` at ``x`` (patterns: estimator -> patterns)."""
    maps = {
        name: attribute(method, model, x, target, **params)
        for name, (method, params) in method_calls(ig_steps).items()
    }
    for est in ESTIMATORS:
        for method in ("pattern_net", "pattern_attribution"):
            maps[f"{method}_{est}"] = attribute(method, model, x, target, patterns=patterns[est])
    maps["pattern_net"] = maps[f"pattern_net_{estimator}"]
    maps["pattern_attribution"] = maps[f"pattern_attribution_{estimator}"]
    return {name: maps[name] for name in map_names(estimator)}


def relative_difference(maps1: np.ndarray, maps2: np.ndarray) -> np.ndarray:
    """Per image: max |map1 - map2| / max |map1| (the invariance score of the claims).

    ``maps1``, ``maps2``: (N, ...). Where map 1 is all zero, map 2's peak is the denominator
    (so a nonzero map 2 scores 1), and two all-zero maps score 0.
    """
    m1 = np.asarray(maps1, dtype=np.float64).reshape(len(maps1), -1)
    m2 = np.asarray(maps2, dtype=np.float64).reshape(len(maps2), -1)
    diff = np.abs(m1 - m2).max(axis=1)
    peak = np.abs(m1).max(axis=1)
    peak = np.where(peak > 0, peak, np.abs(m2).max(axis=1))
    return np.divide(diff, peak, out=np.zeros_like(diff), where=peak > 0)


def pattern_training_inputs(
    mnist_root: str | Path, images: int, seed: int, encoding: str = "unit"
) -> torch.Tensor:
    """``images`` training images (a seeded random subset, all if it exceeds the training set)
    in ``encoding``: the data the patterns are fitted on."""
    mnist = data.load_mnist(mnist_root)
    n = len(mnist.train_images)
    keep = np.sort(np.random.default_rng(seed).permutation(n)[: min(images, n)])
    return data.encode(mnist.train_images[keep], encoding)


def save_patterns(path: str | Path, patterns: dict[str, torch.Tensor]) -> None:
    with atomic_path(path) as tmp:
        torch.save({k: v.detach().cpu() for k, v in patterns.items()}, tmp)


def load_patterns(path: str | Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    return {k: v.to(device) for k, v in torch.load(path, weights_only=True).items()}


def fit_model_patterns(
    mnist_root: str | Path,
    checkpoint: str | Path,
    estimator: str,
    images: int,
    seed: int,
    batch_size: int,
    device: str,
    out: str | Path,
) -> dict[str, torch.Tensor]:
    """Fit and cache a trained model's patterns on its training inputs (its own encoding)."""
    dev = runtime.device(device)
    model, _ = models.load_checkpoint(checkpoint, dev)
    x_train = pattern_training_inputs(mnist_root, images, seed, model.encoding)
    log.info("fitting %s patterns of %s on %d training images", estimator, checkpoint, len(x_train))
    patterns = fit_patterns(model, x_train.to(dev), estimator=estimator, batch_size=batch_size)
    save_patterns(out, patterns)
    return patterns


def same_outputs(
    net1: torch.nn.Module,
    net2: torch.nn.Module,
    x: torch.Tensor,
    m2: torch.Tensor,
    batch_size: int = 1000,
) -> float:
    """Max |net1(x) - net2(x + m2)| over ``x``; raises if any prediction differs."""
    dev = next(net1.parameters()).device
    worst, differ = 0.0, 0
    with torch.no_grad():
        for batch in x.split(batch_size):
            batch = batch.to(dev)
            out1, out2 = net1(batch), net2(batch + m2)
            worst = max(worst, float((out1 - out2).abs().max()))
            differ += int((out1.argmax(1) != out2.argmax(1)).sum())
    if differ:
        raise RuntimeError(
            f"network 2 (b2 = b1 - W m2) predicts differently from network 1 on {differ} of "
            f"{len(x)} test images (max |logit difference| {worst:.3g}): the bias compensation "
            "is broken"
        )
    return worst


def describe_shift(shift: str, settings: dict) -> str:
    """The shift in words, for captions."""
    if shift == "constant":
        return f"constant m2 = {settings['constant_shift']:g}"
    if shift == "checkerboard":
        board = settings["checkerboard"]
        return (
            f"checkerboard m2 of {board['square']}x{board['square']}-pixel squares, "
            f"+/-{board['amplitude']:g}"
        )
    if shift == "cat":
        return (
            "cat shift m2 = ŝ / ∇f1(x) - x clipped to "
            f"[-{settings['cat']['clip']:g}, {settings['cat']['clip']:g}], ŝ = hand-drawn cat "
            "x clip x mean |∇f1(x)| (one m2, hence one network 2, per digit)"
        )
    raise ValueError(f"shift must be one of {SHIFTS}, got {shift!r}")


def make_shift(
    shift: str,
    settings: dict,
    net1: torch.nn.Module,
    x: torch.Tensor,
    target: torch.Tensor,
) -> torch.Tensor:
    """m2 for each of the images x: (N, 1, 28, 28). ``settings`` is the config section."""
    n = len(x)
    if shift == "constant":
        return shifts.constant(settings["constant_shift"]).expand(n, *x.shape[1:]).to(x)
    if shift == "checkerboard":
        board = shifts.checkerboard(**settings["checkerboard"]).to(x)
        return board.expand(n, *x.shape[1:])
    if shift == "cat":
        grad = attribute("gradient", net1, x, target)
        return shifts.cat_shift(grad, x, shifts.cat_image().to(x), clip=settings["cat"]["clip"])
    raise ValueError(f"shift must be one of {SHIFTS}, got {shift!r}")


def input_invariance(
    mnist_root: str | Path,
    testbed: str | Path,
    checkpoint: str | Path,
    patterns1: dict[str, str | Path],
    shift: str,
    settings: dict,
    device: str,
    out: str | Path,
) -> dict[str, np.ndarray]:
    """Maps of the eight methods for network 1 at x and network 2 at x + m2 (one shift).

    ``settings`` is the config's ``kindermans2017`` section (images, ig_steps, patterns,
    checkerboard, cat, constant_shift); ``patterns1``: estimator -> cached patterns of
    network 1. The constant and checkerboard shifts give one network 2 for all digits; the cat
    shift depends on the digit (m2 = ŝ / ∇f1(x) - x), so each digit gets its own network 2 (and
    its own patterns, fitted on the training inputs + that m2). Writes ``out`` (npz).
    """
    dev = runtime.device(device)
    net1, _ = models.load_checkpoint(checkpoint, dev)
    x_all, labels, indices = load_testbed(mnist_root, testbed, net1.encoding)
    n_images = min(settings["images"], len(x_all))
    x = x_all[:n_images].to(dev)
    with torch.no_grad():
        target = net1(x).argmax(1)
    estimator, ig_steps = settings["patterns"]["estimator"], settings["ig_steps"]
    names = map_names(estimator)
    pats1 = {est: load_patterns(patterns1[est], dev) for est in ESTIMATORS}
    maps1 = attribution_maps(net1, x, target, pats1, estimator, ig_steps)

    m2 = make_shift(shift, settings, net1, x, target)
    mnist = data.load_mnist(mnist_root)
    x_test = data.encode(mnist.test_images, net1.encoding)
    fit = settings["patterns"]
    x_train = pattern_training_inputs(mnist_root, fit["images"], fit["seed"], net1.encoding)
    # one network 2 per distinct shift: all digits for constant/checkerboard, one per digit (cat)
    groups = [list(range(n_images))] if shift != "cat" else [[i] for i in range(n_images)]
    maps2 = {name: torch.zeros_like(maps1[name]) for name in names}
    logit_diff = np.zeros(n_images)
    for group in tqdm(groups, desc=f"network 2 ({shift} shift)", mininterval=5):
        m = m2[group[0]]
        net2 = models.bias_compensated(net1, m)
        diff = same_outputs(net1, net2, x_test, m)
        log.info(
            "%s shift, images %s: max |logit difference| over the test set %.3g", shift, group, diff
        )
        logit_diff[group] = diff
        pats2 = {
            est: fit_patterns(
                net2, (x_train.to(dev) + m), estimator=est, batch_size=fit["batch_size"]
            )
            for est in ESTIMATORS
        }
        got = attribution_maps(net2, x[group] + m, target[group], pats2, estimator, ig_steps)
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
        "labels": labels[:n_images].numpy(),
        "indices": indices[:n_images],
        "max_abs_logit_difference": logit_diff,
        "n_test": np.asarray(len(x_test)),
        "shift": np.asarray(shift),
        "shift_description": np.asarray(describe_shift(shift, settings)),
        "estimator": np.asarray(estimator),
        "ig_steps": np.asarray(ig_steps),
        "pattern_images": np.asarray(len(x_train)),
    }
    for name in names:
        score = relative_difference(
            arrays["maps1"][names.index(name)], arrays["maps2"][names.index(name)]
        )
        log.info("%s shift, %s: max relative difference %.3g", shift, name, score.max())
    save_npz(out, **arrays)
    return arrays
