"""samek2020 experiments (Samek & Montavon 2020 tutorial, Part 2: methods for explaining DNNs).

Each function loads trained models and the test-bed, computes attributions (target: the
predicted class) and writes one ``.npz`` of arrays that the figure functions in
:mod:`saliency_sanity.figures.samek2020` draw from. Maps are stored as (N, 28, 28) (the
MNIST channel squeezed), float32.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from saliency_sanity import data, runtime
from saliency_sanity.attribution import attribute
from saliency_sanity.catalogue import (
    MNIST,
    C,
    Model,
    Resources,
    Testbed,
    experiment,
    imagenet_on,
)
from saliency_sanity.experiments.testbed import display_images, load_testbed
from saliency_sanity.io import save_npz
from saliency_sanity.models import load_checkpoint

log = logging.getLogger(__name__)

#: relative differences are max|a - b| / max|b| per image; images whose reference map is all
#: zero (max|b| below this) are left out (their ratio is undefined)
ZERO_MAP = 1e-12


DOC = "samek2020"
#: resources of the light experiments (a few seconds on 2 cores)
LIGHT = Resources(gpu=1, threads=2, mem_mb=2000, runtime=10)


def _setup(checkpoint, testbed, device, images: int | None = None):
    dev = runtime.device(device)
    model, _ = load_checkpoint(checkpoint, dev)
    x, labels, indices = load_testbed(testbed, model.encoding, images)
    return model, x.to(dev), labels, indices


def _models(names) -> dict:
    return {name: Model(name) for name in names}


def _np(t: torch.Tensor) -> np.ndarray:
    """(N, 1, H, W) maps -> float32 (N, H, W) on the CPU."""
    a = t.detach().cpu().float().numpy()
    return a[:, 0] if a.ndim == 4 and a.shape[1] == 1 else a


def _logits(model, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(x)


def relative_max_difference(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """Per image max|a - b| / max|b| (NaN where b is all zero)."""
    diff = (a - b).flatten(1).abs().amax(1)
    scale = b.flatten(1).abs().amax(1)
    out = torch.where(scale > ZERO_MAP, diff / scale.clamp(min=ZERO_MAP), torch.nan)
    return out.double().cpu().numpy()


def _timed(name: str, model, x, **params) -> torch.Tensor:
    """Maps of the predicted class; the time goes to the log only (committed files carry no
    timings; the rule's benchmark file has the job's)."""
    t0 = time.perf_counter()
    maps = attribute(name, model, x, None, **params)
    log.info("%s on %d images: %.2f s", name, len(x), time.perf_counter() - t0)
    return maps


@experiment(DOC, "{name}", over={"name": ("deconvnet", "lrp_rules")},
            inputs={"checkpoint": Model(C("samek2020.model")), "testbed": Testbed()},
            params={"methods": C("samek2020.{name}.methods"), "images": C("samek2020.show")},
            resources=LIGHT)  # fmt: skip
@experiment(DOC, "other_methods",
            inputs={"checkpoint": Model(C("samek2020.model")), "testbed": Testbed()},
            params={"methods": C("samek2020.other_methods.methods"),
                    "images": C("samek2020.other_methods.images")},
            resources=Resources(gpu=1, threads=2, mem_mb=2000, runtime=30))  # fmt: skip
def method_maps(
    *,
    checkpoint: str | Path,
    testbed: str | Path,
    out: str | Path,
    methods: Mapping[str, Mapping[str, Any]],
    images: int,
    device: str = "auto",
) -> None:
    """Maps of several methods on the first ``images`` test-bed images (predicted class).

    ``methods`` maps a registry name to its parameters (on top of the registry's defaults).
    Writes ``x`` (shown inputs), ``labels``, ``predicted``, ``logits``, ``methods``, ``maps``
    (M, N, H, W) and ``sums`` (M, N: the sum of each map).
    """
    model, x, labels, indices = _setup(checkpoint, testbed, device, images)
    logits = _logits(model, x)
    maps = np.stack([_np(_timed(name, model, x, **(params or {})))
                     for name, params in tqdm(methods.items(), desc="methods")])  # fmt: skip
    save_npz(
        out,
        x=display_images(testbed, len(x)),
        labels=labels.numpy(),
        indices=indices,
        predicted=logits.argmax(1).cpu().numpy(),
        logits=logits.cpu().numpy(),
        methods=np.array(list(methods)),
        maps=maps,
        sums=maps.reshape(len(maps), len(x), -1).sum(-1),
    )


@experiment(DOC, "linear_model",
            inputs={"checkpoint": Model(C("samek2020.linear_model.model")), "testbed": Testbed()},
            params={"images": C("samek2020.show")}, resources=LIGHT)  # fmt: skip
def linear_model(
    *,
    checkpoint: str | Path,
    testbed: str | Path,
    out: str | Path,
    images: int,
    device: str = "auto",
) -> None:
    """R_i = w_ci x_i of the softmax-regression model (predicted class c), its weights per class,
    and the check that Σ_i R_i + b_c is the logit."""
    model, x, labels, indices = _setup(checkpoint, testbed, device, images)
    logits = _logits(model, x)
    pred = logits.argmax(1)
    maps = attribute("linear", model, x, pred)
    gi = attribute("gradient_input", model, x, pred)
    layer = model.layer("logits")
    bias = layer.bias.detach()
    save_npz(
        out,
        x=_np(x),
        labels=labels.numpy(),
        indices=indices,
        predicted=pred.cpu().numpy(),
        logits=logits.cpu().numpy(),
        maps=_np(maps),
        weights=layer.weight.detach().cpu().numpy().reshape(-1, *x.shape[-2:]),
        bias=bias.cpu().numpy(),
        sum_plus_bias=(maps.flatten(1).sum(1) + bias[pred]).cpu().numpy(),
        linear_minus_gi=relative_max_difference(maps, gi),
    )


@experiment(DOC, "occlusion",
            inputs={"checkpoint": Model(C("samek2020.model")), "testbed": Testbed(),
                    "mnist": MNIST},
            params={"images": C("samek2020.occlusion.images"),
                    "patches": C("samek2020.occlusion.patches"),
                    "stride": C("samek2020.occlusion.stride")}, resources=LIGHT)  # fmt: skip
def occlusion(
    *,
    checkpoint: str | Path,
    testbed: str | Path,
    out: str | Path,
    images: int,
    patches: list[int],
    mnist: str | Path | None = None,
    stride: int | None = None,
    device: str = "auto",
) -> None:
    """R_i = f(x) - f(x_-i) with square patches of each size and three fills: 0 (black), the
    test-set mean pixel value, and each image's own mean. ``maps``: (patches, fills, N, H, W)."""
    model, x, labels, indices = _setup(checkpoint, testbed, device, images)
    fills: dict[str, float | str] = {"zero": 0.0, "image_mean": "mean"}
    test_mean = np.nan
    if mnist is not None:  # MNIST: also the test set's mean pixel value
        test_mean = float(data.encode(data.load_mnist(mnist).test_images, model.encoding).mean())
        fills = {"zero": 0.0, "test_mean": test_mean, "image_mean": "mean"}
    maps = np.zeros((len(patches), len(fills), *_np(x).shape), dtype=np.float32)
    for i, patch in enumerate(tqdm(patches, desc="patch sizes")):
        for j, fill in enumerate(fills.values()):
            maps[i, j] = _np(_timed("occlusion", model, x, patch=patch, stride=stride, fill=fill))
    logits = _logits(model, x)
    save_npz(
        out,
        x=display_images(testbed, len(x)),
        labels=labels.numpy(),
        indices=indices,
        predicted=logits.argmax(1).cpu().numpy(),
        patches=np.array(patches),
        stride=np.array(-1 if stride is None else stride),
        fills=np.array(list(fills)),
        fill_values=np.array([{"zero": 0.0, "test_mean": test_mean}.get(k, np.nan) for k in fills]),
        maps=maps,
    )


@experiment(DOC, "ig_equals_gi",
            inputs=lambda cfg: {"checkpoints": _models([
                cfg["samek2020"]["ig_equals_gi"]["bias_free"],
                cfg["samek2020"]["ig_equals_gi"]["biased"]]), "testbed": Testbed()},
            params={"steps": C("samek2020.ig_equals_gi.steps"),
                    "images": C("samek2020.ig_equals_gi.images")}, resources=LIGHT)  # fmt: skip
def ig_equals_gi(
    *,
    checkpoints: Mapping[str, str | Path],
    testbed: str | Path,
    out: str | Path,
    steps: list[int],
    images: int | None = None,
    device: str = "auto",
) -> None:
    """IG (zero baseline) vs Gradient x Input for each model and number of steps.

    ``rel_diff`` (models, steps, N): per image max|IG - GI| / max|GI|; ``completeness``
    (models, steps, N): |Σ IG - (f(x) - f(0))| / |f(x)|; ``ig_example``/``gi_example``
    (models, H, W): the first image's maps at the largest number of steps.
    """
    rel, comp, ig_ex, gi_ex = [], [], [], []
    for name, path in checkpoints.items():
        model, x, _, indices = _setup(path, testbed, device, images)
        pred = _logits(model, x).argmax(1)
        rows = torch.arange(len(x), device=x.device)
        fx = _logits(model, x)[rows, pred]
        f0 = _logits(model, torch.zeros_like(x))[rows, pred]
        gi = attribute("gradient_input", model, x, pred)
        rel_m, comp_m = [], []
        for s in tqdm(steps, desc=f"{name}: steps"):
            ig = _timed("integrated_gradients", model, x, baseline="zero", steps=s)
            rel_m.append(relative_max_difference(ig, gi))
            err = (ig.flatten(1).sum(1) - (fx - f0)).abs() / fx.abs().clamp(min=ZERO_MAP)
            comp_m.append(err.double().cpu().numpy())
        rel.append(rel_m)
        comp.append(comp_m)
        ig_ex.append(_np(ig[:1])[0])
        gi_ex.append(_np(gi[:1])[0])
    save_npz(
        out,
        models=np.array(list(checkpoints)),
        steps=np.array(steps),
        rel_diff=np.array(rel),
        completeness=np.array(comp),
        ig_example=np.stack(ig_ex),
        gi_example=np.stack(gi_ex),
        x_example=display_images(testbed, 1)[0],
        indices=indices,
    )


@experiment(DOC, "gradient_input_practice",
            inputs={"checkpoint": Model(C("samek2020.model")), "testbed": Testbed()},
            params={"show": C("samek2020.show")}, resources=LIGHT)  # fmt: skip
def gradient_input_practice(
    *,
    checkpoint: str | Path,
    testbed: str | Path,
    out: str | Path,
    show: int,
    device: str = "auto",
) -> None:
    """Gradient x Input on the whole test-bed: the first ``show`` maps, and per image the
    fraction of positive, negative and zero scores (over all pixels, and over the pixels where
    the input is non-zero, the only ones where GI can be non-zero)."""
    model, x, labels, indices = _setup(checkpoint, testbed, device)
    logits = _logits(model, x)
    gi = _np(attribute("gradient_input", model, x, None))
    flat, on = gi.reshape(len(gi), -1), _np(x).reshape(len(gi), -1) != 0
    pos, neg = flat > 0, flat < 0
    n_on = np.maximum(on.sum(1), 1)
    save_npz(
        out,
        x=display_images(testbed, show),
        labels=labels.numpy(),
        indices=indices,
        predicted=logits.argmax(1).cpu().numpy(),
        maps=gi[:show],
        frac_positive=pos.mean(1),
        frac_negative=neg.mean(1),
        frac_zero=(flat == 0).mean(1),
        frac_positive_on=(pos & on).sum(1) / n_on,
        frac_negative_on=(neg & on).sum(1) / n_on,
        positive_mass=np.where(pos, flat, 0).sum(1) / np.maximum(np.abs(flat).sum(1), 1e-30),
    )


def _pairs(labels: torch.Tensor, n_pairs: int) -> list[tuple[int, int]]:
    """Consecutive test-bed images with different labels: (0, j), then the next free ones."""
    pairs, used, lab = [], set(), labels.tolist()
    for i in range(len(lab)):
        if len(pairs) == n_pairs:
            break
        if i in used:
            continue
        j = next((j for j in range(i + 1, len(lab)) if j not in used and lab[j] != lab[i]), None)
        if j is not None:
            pairs.append((i, j))
            used |= {i, j}
    if len(pairs) < n_pairs:
        raise ValueError(
            f"the test-bed has too few differently labelled images for {n_pairs} pairs"
        )
    return pairs


@experiment(DOC, "shattered_gradients",
            inputs=lambda cfg: {"checkpoints": _models(cfg["samek2020"]["shattered_gradients"][
                "models"]), "testbed": Testbed()},
            params={"pairs": C("samek2020.shattered_gradients.pairs"),
                    "points": C("samek2020.shattered_gradients.points")},
            resources=LIGHT)  # fmt: skip
def shattered_gradients(
    *,
    checkpoints: Mapping[str, str | Path],
    testbed: str | Path,
    out: str | Path,
    pairs: int,
    points: int,
    device: str = "auto",
) -> None:
    """The logit of the start image's predicted class c along x(t) = (1 - t) x0 + t x1,
    t in [0, 1] at ``points`` points, and its gradient there: norm, the component at a fixed
    pixel (the one of largest mean |gradient| on the path), the directional derivative
    d f / d t = ∇f · (x1 - x0), and the cosine of neighbouring gradients.

    Arrays are (models, pairs, points) (``cosine``: points - 1); ``grad_maps`` (models, pairs,
    5, H, W) holds the gradient at the start, three neighbouring points mid-path, and the end.
    """
    t = torch.linspace(0, 1, points, dtype=torch.float64)
    mid = points // 2
    show = [0, mid, mid + 1, mid + 2, points - 1]
    keys = ("function", "grad_norm", "grad_pixel", "directional", "other_logit")
    res: dict[str, list] = {k: [] for k in (*keys, "cosine", "grad_maps", "pixel", "classes")}
    for name, path in checkpoints.items():
        model, x, labels, indices = _setup(path, testbed, device)
        if not np.issubdtype(np.asarray(indices).dtype, np.integer):
            indices = np.arange(len(x))  # ImageNet ids are file names: test-bed positions
        per = {k: [] for k in res}
        for i, j in tqdm(_pairs(labels, pairs), desc=f"{name}: pairs"):
            x0, x1 = x[i], x[j]
            tt = t.view(-1, 1, 1, 1).to(x.device)
            path_x = ((1 - tt) * x0.double() + tt * x1.double()).to(x.dtype)
            logits = _logits(model, path_x)
            c, c1 = int(logits[0].argmax()), int(logits[-1].argmax())
            target = torch.full((points,), c, device=x.device, dtype=torch.long)
            g = attribute("gradient", model, path_x, target).flatten(1)
            pixel = int(g.abs().mean(0).argmax())
            gd = g.double()
            cos = torch.nn.functional.cosine_similarity(gd[1:], gd[:-1], dim=1)
            per["function"].append(logits[:, c].cpu().numpy())
            per["other_logit"].append(logits[:, c1].cpu().numpy())
            per["grad_norm"].append(gd.norm(dim=1).cpu().numpy())
            per["grad_pixel"].append(gd[:, pixel].cpu().numpy())
            per["directional"].append((gd @ (x1 - x0).flatten().double()).cpu().numpy())
            per["cosine"].append(cos.cpu().numpy())
            maps = g[show].reshape(len(show), *x.shape[1:]).sum(1)  # channels summed
            per["grad_maps"].append(maps.cpu().numpy())
            per["pixel"].append(pixel)
            per["classes"].append((c, c1, int(indices[i]), int(indices[j])))
        for k in res:
            res[k].append(per[k])
    save_npz(
        out,
        models=np.array(list(checkpoints)),
        t=t.numpy(),
        shown_points=np.array(show),
        **{k: np.array(v) for k, v in res.items()},
    )


@experiment(DOC, "smoothgrad",
            inputs={"checkpoint": Model(C("samek2020.model")), "testbed": Testbed()},
            params=lambda cfg: {"show": cfg["samek2020"]["show"], **cfg["samek2020"]["smoothgrad"],
                                "seed": cfg["seed"]}, resources=LIGHT)  # fmt: skip
def smoothgrad(
    *,
    checkpoint: str | Path,
    testbed: str | Path,
    out: str | Path,
    show: int,
    display_samples: int,
    images: int,
    samples: list[int],
    seeds: int,
    reference_samples: int,
    noise: float,
    seed: int = 0,
    device: str = "auto",
) -> None:
    """Smooth Gradient x Input (SmoothGrad with base gradient_input) vs Gradient x Input, and the
    explanation noise of the T-sample estimate for T in ``samples``.

    Noise, per T, over the first ``images`` test-bed images: ``noise_std`` = mean over images of
    ‖std over ``seeds`` independent estimates‖₂ / ‖reference‖₂ (no reference bias), and
    ``noise_ref`` (T, seeds) = mean over images of ‖estimate - reference‖₂ / ‖reference‖₂, the
    reference being one estimate with ``reference_samples`` samples (its own noise adds to it).
    """
    model, x, labels, indices = _setup(checkpoint, testbed, device)
    sg = {"base": "gradient_input", "noise": noise}
    xs = x[:show]
    gi_show = attribute("gradient_input", model, xs, None)
    sg_show = attribute("smoothgrad", model, xs, None, samples=display_samples, seed=seed, **sg)
    xn = x[:images]
    target = _logits(model, xn).argmax(1)
    ref_seed = seed + 10_000  # a seed no estimate below uses
    ref = attribute("smoothgrad", model, xn, target, samples=reference_samples, seed=ref_seed, **sg)
    ref_norm = ref.flatten(1).norm(dim=1).clamp(min=ZERO_MAP)
    noise_std, noise_ref = [], []
    for n_samples in tqdm(samples, desc="samples T"):
        est = torch.stack(
            [
                attribute(
                    "smoothgrad", model, xn, target, samples=n_samples, seed=seed + 1 + s, **sg
                )
                for s in range(seeds)
            ]
        )  # (seeds, N, ...)
        std = est.std(dim=0, unbiased=True).flatten(1).norm(dim=1) / ref_norm
        dist = (est - ref).flatten(2).norm(dim=2) / ref_norm  # (seeds, N)
        noise_std.append(float(std.mean()))
        noise_ref.append(dist.mean(dim=1).cpu().numpy())
    save_npz(
        out,
        x=display_images(testbed, len(xs)),
        labels=labels.numpy(),
        indices=indices,
        predicted=_logits(model, xs).argmax(1).cpu().numpy(),
        gi=_np(gi_show),
        smooth_gi=_np(sg_show),
        samples=np.array(samples),
        noise_std=np.array(noise_std),
        noise_ref=np.array(noise_ref),
        settings=np.array([display_samples, images, seeds, reference_samples, noise]),
    )


@experiment(DOC, "method_connections",
            inputs=lambda cfg: {"checkpoints": _models(cfg["samek2020"]["method_connections"][
                "models"]), "testbed": Testbed()},
            params={"steps": C("samek2020.ig_equals_gi.default_steps"),
                    "stabilizer": C("samek2020.method_connections.stabilizer"),
                    "images": C("samek2020.method_connections.images")},
            resources=LIGHT)  # fmt: skip
def method_connections(
    *,
    checkpoints: Mapping[str, str | Path],
    testbed: str | Path,
    out: str | Path,
    steps: int,
    stabilizer: float,
    images: int | None = None,
    device: str = "auto",
) -> None:
    """Measured equivalences per model: LRP-0 vs GI (with ``stabilizer``, and with the
    registry's default stabiliser), IG (zero baseline, ``steps``) vs GI, and Deep Taylor (zero
    root) vs LRP-0. ``rel_diff`` (models, pairs, N): per image max|a - b| / max|b|;
    ``lrp0_conservation`` (models, N): Σ LRP-0 / f_c(x) (1 without biases)."""
    pairs = [("lrp_0", "gradient_input"), ("lrp_0_default", "gradient_input"),
             ("integrated_gradients", "gradient_input"), ("deep_taylor", "lrp_0")]  # fmt: skip
    specs = {
        "gradient_input": ("gradient_input", {}),
        "lrp_0": ("lrp_0", {"stabilizer": stabilizer}),
        "lrp_0_default": ("lrp_0", {}),
        "integrated_gradients": ("integrated_gradients", {"baseline": "zero", "steps": steps}),
        "deep_taylor": ("deep_taylor", {"root": "zero", "stabilizer": stabilizer}),
    }
    rel, cons = [], []
    for path in checkpoints.values():
        model, x, _, indices = _setup(path, testbed, device, images)
        logits = _logits(model, x)
        pred = logits.argmax(1)
        maps = {key: _timed(method, model, x, **params) for key, (method, params) in specs.items()}
        rel.append([relative_max_difference(maps[a], maps[b]) for a, b in pairs])
        fx = logits[torch.arange(len(x)), pred]
        cons.append((maps["lrp_0"].flatten(1).sum(1) / fx).double().cpu().numpy())
    save_npz(
        out,
        models=np.array(list(checkpoints)),
        pairs=np.array([f"{a} vs {b}" for a, b in pairs]),
        stabilizer=np.array(stabilizer),
        rel_diff=np.array(rel),
        lrp0_conservation=np.array(cons),
        indices=indices,
    )


# --- the ImageNet tier: the same experiments on VGG-16 (FIGURES.md) ----------------------------

VGG16 = Model("vgg16")
ON_VGG16 = {"checkpoint": VGG16, "testbed": Testbed("vgg16")}
#: an ImageNet experiment on a GPU: minutes; on a CPU only at smoke sizes
IMAGENET = Resources(gpu=1, threads=2, mem_mb=16000, runtime=120)


def _tier(cfg, key: str | None = None):
    tier = cfg["imagenet"]["samek2020"]
    return tier if key is None else tier[key]


experiment(DOC, "{name}_vgg16", over={"name": ("deconvnet", "lrp_rules")}, when=imagenet_on,
           inputs=ON_VGG16,
           params=lambda cfg, name: {"methods": cfg["samek2020"][name]["methods"] if name
                                     == "deconvnet" else lrp_rules_imagenet(cfg),
                                     "images": _tier(cfg, "show")},
           resources=IMAGENET)(method_maps)  # fmt: skip
experiment(DOC, "occlusion_vgg16", when=imagenet_on, inputs=ON_VGG16,
           params=lambda cfg: {**_tier(cfg, "occlusion"), "stride": None},
           resources=IMAGENET)(occlusion)  # fmt: skip
experiment(DOC, "gradient_input_practice_vgg16", when=imagenet_on, inputs=ON_VGG16,
           params=lambda cfg: {"show": _tier(cfg, "show")},
           resources=IMAGENET)(gradient_input_practice)  # fmt: skip
experiment(DOC, "shattered_gradients_vgg16", when=imagenet_on,
           inputs={"checkpoints": {"vgg16": VGG16}, "testbed": Testbed("vgg16")},
           params=lambda cfg: _tier(cfg, "shattered_gradients"),
           resources=IMAGENET)(shattered_gradients)  # fmt: skip
experiment(DOC, "smoothgrad_vgg16", when=imagenet_on, inputs=ON_VGG16,
           params=lambda cfg: {"show": _tier(cfg, "show"), **_tier(cfg, "smoothgrad"),
                               "seed": cfg["seed"]},
           resources=IMAGENET)(smoothgrad)  # fmt: skip


def lrp_rules_imagenet(cfg) -> dict:
    """The lrp_rules methods on VGG-16, the composite with Montavon's VGG-16 recipe
    (montavon2019 Sec. 10.3; samek2020 Sec. 4; :data:`~saliency_sanity.attribution.lrp.
    MONTAVON_VGG16`): z^B at conv1_1 with the box of the *normalised* input (pixels in [0, 1]
    through the weights' own mean/std, per channel, as
    :func:`saliency_sanity.imagenet.normalization_box` gives it; the MNIST box [0, 1] would be
    wrong there), LRP-γ (0.25) on conv1_2..conv3_3, LRP-ε (0.25 × RMS) on conv4_1..conv5_3 and
    pool4/pool5, LRP-0 on the three dense layers, max-pooling treated as average pooling.
    The recipe's keys override the config's parameters of ``lrp_composite``."""
    from saliency_sanity.attribution.lrp import MONTAVON_VGG16
    from saliency_sanity.imagenet import normalization_box

    low, high = normalization_box("vgg16")
    vgg = {"low": low.tolist(), "high": high.tolist(), **MONTAVON_VGG16}
    methods = dict(cfg["samek2020"]["lrp_rules"]["methods"])
    methods["lrp_composite"] = {**(methods.get("lrp_composite") or {}), **vgg}
    return methods
