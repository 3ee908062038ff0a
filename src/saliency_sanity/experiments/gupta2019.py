"""gupta2019 experiments: competition for pixels (CGI, CLRP, CDASP) on MNIST models.

Gupta & Arora, "A simple technique to enable saliency methods to pass the sanity checks" (ICLR
2020 submission; arXiv:1905.12152 "A simple saliency method that passes the sanity checks").
Competition (Sec. 3): compute a base map for every class; a pixel keeps its score for the
explained class only if it is positive and the largest over the classes, or negative and the
smallest (:func:`saliency_sanity.attribution.compete`).

Everything here computes the base method once for all classes
(:func:`saliency_sanity.attribution.attribute_all_classes`: one forward, batched backward) and
takes both the plain map (the explained class's slice) and the competitive map from those same
maps, so CGI costs no more than GI for all classes. Results go to ``.npz`` files read by
:mod:`saliency_sanity.figures.gupta2019`; nothing here draws.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from saliency_sanity import checks, data, models, randomization, runtime
from saliency_sanity.attribution import attribute, attribute_all_classes, compete
from saliency_sanity.attribution.reference import REFERENCE_METHODS
from saliency_sanity.attribution.registry import pick
from saliency_sanity.catalogue import (
    MNIST,
    C,
    Model,
    Resources,
    Testbed,
    experiment,
    imagenet_on,
)
from saliency_sanity.experiments import GUPTA2019_RUNS
from saliency_sanity.experiments.testbed import display_images, load_testbed
from saliency_sanity.io import save_npz

log = logging.getLogger(__name__)

#: Randomisation procedures by config name: gupta2019's "layerwise" is adebayo2018's independent.
PROCEDURES = {"cascading": randomization.cascading, "independent": randomization.independent}


# --------------------------------------------------------------------------------------------
# building blocks (tensors in, tensors / arrays out)


def all_class_maps(
    method: str, model: nn.Module, x: torch.Tensor, images_per_batch: int = 100, **params: Any
) -> torch.Tensor:
    """Maps of ``method`` for every class, (N, K, *x.shape[1:]), ``images_per_batch`` at a time:
    the registry's :func:`~saliency_sanity.attribution.attribute_all_classes`, over batches of
    the config's ``batch_size`` images (a bound on memory); the explained class's slice is the
    registry's ``pick``. ``params`` go to the method (e.g. DASP's ``chunk`` of coalitions)."""
    chunks = [
        attribute_all_classes(method, model, xb, **params) for xb in x.split(images_per_batch)
    ]
    return torch.cat(chunks)


def competition_classes(logits: torch.Tensor, target: torch.Tensor, k: int) -> torch.Tensor:
    """(N, k) classes that compete for the pixels: the explained class first, then the other
    classes by logit. With 1000 ImageNet classes, competing over all of them needs 1000 maps
    per image (LRP: a 1000-class relevance tensor); a pixel that a class outside the top k would
    win is then kept (a deviation, stated where used)."""
    others = logits.clone()
    others[torch.arange(len(logits)), target] = -torch.inf
    top = others.topk(k - 1, dim=1).indices
    return torch.cat([target[:, None], top], dim=1)


def class_maps(method: str, model: nn.Module, x: torch.Tensor, classes: torch.Tensor,
               images_per_batch: int = 10, **params: Any) -> torch.Tensor:  # fmt: skip
    """Maps of ``method`` for the given classes of each image, (N, k, *x.shape[1:])."""
    k = classes.shape[1]
    parts = []
    for xb, cb in zip(x.split(images_per_batch), classes.split(images_per_batch), strict=True):
        rows = attribute(method, model, xb.repeat_interleave(k, 0), cb.flatten(), **params)
        parts.append(rows.reshape(len(xb), k, *x.shape[1:]))
    return torch.cat(parts)


def competition_maps(method, model, x, target, competition: int | None = None,
                     images_per_batch: int = 100, **params):  # fmt: skip
    """(plain map, competitive map, per-class sums, classes) of ``target``: competition over
    every class (``competition=None``; MNIST) or over the explained class and the top
    ``competition - 1`` others (:func:`competition_classes`; ImageNet). Both maps come from the
    same maps of the competing classes. ``images_per_batch`` bounds the images per pass;
    ``params`` go to the method (DASP's ``chunk`` counts coalitions)."""
    if competition is None:
        maps = all_class_maps(method, model, x, images_per_batch, **params)
        plain, comp = plain_and_competitive(maps, target)
        classes = torch.arange(maps.shape[1], device=x.device).expand(len(x), -1)
    else:
        with torch.no_grad():
            logits = torch.cat([model(xb) for xb in x.split(images_per_batch)])
        classes = competition_classes(logits, target, competition)
        maps = class_maps(method, model, x, classes, **params)
        plain, comp = plain_and_competitive(maps, torch.zeros_like(target))
    return plain, comp, maps.flatten(2).sum(2), classes


def plain_and_competitive(
    all_maps: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(base map, competitive map) of ``target`` from the same all-class maps (N, K, ...)."""
    return pick(all_maps, target), compete(all_maps, target)


def mass(maps) -> np.ndarray:
    """Sum of |m| per map: (N, ...) -> (N,) float64."""
    m = np.asarray(maps.detach().cpu() if hasattr(maps, "detach") else maps, dtype=np.float64)
    return np.abs(m.reshape(len(m), -1)).sum(axis=1)


def mass_ratio(maps, reference) -> np.ndarray:
    """Per map, sum |m| over sum |reference| (N,); NaN where the reference is all zero."""
    num, den = mass(maps), mass(reference)
    return np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)


def fit_mixtures(scores, components=(2, 3), seed: int = 0) -> list[dict[str, Any]]:
    """Gaussian mixtures (sklearn, seeded) with each number of components fitted to 1-d scores.

    The scores are standardised before fitting (sklearn's variance floor ``reg_covar`` = 1e-6
    would otherwise swamp GI scores of order 1e-3) and the parameters mapped back. Returns one
    dict per fit: ``k``, ``weights``, ``means``, ``stds`` (components sorted by mean) and
    ``bic`` (of the standardised scores: comparable between fits, not across data sets).
    """
    from sklearn.mixture import GaussianMixture

    s = np.asarray(scores, dtype=np.float64).reshape(-1, 1)
    center, scale = s.mean(), s.std()
    if not scale > 0:
        raise ValueError("cannot fit a mixture to constant scores")
    z = (s - center) / scale
    fits = []
    for k in components:
        gmm = GaussianMixture(n_components=int(k), random_state=seed, n_init=3).fit(z)
        order = np.argsort(gmm.means_.ravel())
        fits.append(
            {
                "k": int(k),
                "weights": gmm.weights_[order],
                "means": center + scale * gmm.means_.ravel()[order],
                "stds": scale * np.sqrt(gmm.covariances_.reshape(-1))[order],
                "bic": float(gmm.bic(z)),
            }
        )
    return fits


def labelled_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Top-1 accuracy over the images that have a label (ImageNet photographs without a class
    are labelled -1); NaN when none has."""
    labels = labels.cpu()
    known = labels >= 0
    if not known.any():
        return float("nan")
    return (logits.argmax(1).cpu()[known] == labels[known]).float().mean().item()


def randomization_maps(
    model: nn.Module,
    x: torch.Tensor,
    labels: torch.Tensor,
    methods: Mapping[str, Mapping[str, Any]],
    procedure: str = "cascading",
    seed: int = 0,
    explained: str = "randomized_prediction",
    batch_size: int = 100,
    competition: int | None = None,
    references: Sequence[str] = (),
) -> dict[str, np.ndarray]:
    """Plain and competitive maps of every method after each randomisation step.

    Parameters
    ----------
    model
        A zoo model (``layer_order``, ``init_layer``); left untouched.
    x, labels
        Images (N, C, H, W) and their true labels (N,).
    methods
        Base method name -> parameters, e.g. ``{"gradient_input": {}}``. For each, the maps of
        all classes are computed once per step; the plain map and the competitive map of the
        explained class are both taken from them.
    procedure
        ``"cascading"`` or ``"independent"`` (gupta2019's "layerwise").
    explained
        Which class is explained after randomisation
        (:func:`saliency_sanity.randomization.explained_class`).
    references
        Registered reference methods (``random_map``, ``edge_detector``: they read no model, or
        only its fingerprint; Binder et al. 2023 draw them on every randomisation plot), without
        a competitive variant.

    Returns
    -------
    dict of arrays: ``steps`` (S,), ``accuracy`` (S,) on ``(x, labels)``, ``logits`` (S, N, K),
    ``targets`` (S, N), per method ``maps_<m>`` and ``maps_competitive_<m>`` (S, N, H, W,
    channels summed) and ``sums_<m>`` (S, N, K) sum of each class's map (for completeness), and
    per reference ``maps_<r>`` (S, N, H, W, channels summed) of the explained class.
    """
    if procedure not in PROCEDURES:
        raise ValueError(f"procedure must be one of {sorted(PROCEDURES)}, got {procedure!r}")
    steps = PROCEDURES[procedure](model, seed)
    original_pred = None
    out: dict[str, list] = {"steps": [], "accuracy": [], "logits": [], "targets": []}
    for key in methods:
        for prefix in ("maps", "maps_competitive", "sums"):
            out[f"{prefix}_{key}"] = []
    out.update({f"maps_{name}": [] for name in references})
    total = len(model.layer_order) + 1
    for name, net in tqdm(steps, desc=f"{procedure} randomisation", unit="step", total=total):
        with torch.no_grad():
            logits = torch.cat([net(xb) for xb in x.split(batch_size)])
        if original_pred is None:
            original_pred = logits.argmax(dim=1)
        target = randomization.explained_class(
            explained, randomized_logits=logits, labels=labels, original_pred=original_pred
        ).to(x.device)
        out["steps"].append(name)
        out["accuracy"].append(labelled_accuracy(logits, labels))
        out["logits"].append(logits.cpu().numpy())
        out["targets"].append(target.cpu().numpy())
        for key, params in methods.items():
            start = time.perf_counter()
            plain, comp, sums, _ = competition_maps(
                key, net, x, target, competition, images_per_batch=batch_size, **params
            )
            out[f"maps_{key}"].append(plain.sum(dim=1).cpu().numpy())
            out[f"maps_competitive_{key}"].append(comp.sum(dim=1).cpu().numpy())
            out[f"sums_{key}"].append(sums.cpu().numpy())
            log.info("%s %s: %.2f s", name, key, time.perf_counter() - start)
        for ref in references:
            out[f"maps_{ref}"].append(attribute(ref, net, x, target).sum(dim=1).cpu().numpy())
        del net
    return {k: np.asarray(v) for k, v in out.items()}


# --------------------------------------------------------------------------------------------
# the null: two independently initialised, untrained copies of the architecture


untrained_copies = randomization.untrained_copies


def null_maps(model, x, labels, methods, seeds, explained, batch_size,
              competition=None, references=()) -> dict[str, np.ndarray]:  # fmt: skip
    """Plain and competitive maps of each method for two untrained copies (``null_maps_<m>``
    and ``null_maps_competitive_<m>``, (2, N, H, W)), and each reference's (``null_maps_<r>``).
    Each copy explains its own top class (an untrained net has no "original" prediction), or
    the true label when the test does."""
    out: dict[str, list] = {}
    for net in untrained_copies(model, seeds):
        with torch.no_grad():
            logits = torch.cat([net(xb) for xb in x.split(batch_size)])
        target = labels.to(x.device) if explained == "label" else logits.argmax(1)
        for key, params in methods.items():
            plain, comp, _, _ = competition_maps(
                key, net, x, target, competition, images_per_batch=batch_size, **params
            )
            out.setdefault(f"null_maps_{key}", []).append(plain.sum(dim=1).cpu().numpy())
            out.setdefault(f"null_maps_competitive_{key}", []).append(comp.sum(dim=1).cpu().numpy())
        for ref in references:
            maps = attribute(ref, net, x, target).sum(dim=1).cpu().numpy()
            out.setdefault(f"null_maps_{ref}", []).append(maps)
    return {k: np.stack(v) for k, v in out.items()}


# --------------------------------------------------------------------------------------------
# experiments (paths in, .npz out); one per figure of FIGURES.md's gupta2019 table

DOC = "gupta2019"
LIGHT = Resources(gpu=1, threads=2, mem_mb=2000, runtime=10)
HEAVY = Resources(gpu=1, threads=2, mem_mb=4000, runtime=60)


def _setup(checkpoint, testbed, device, n_images=None):
    dev = runtime.device(device)
    model, meta = models.load_checkpoint(checkpoint, dev)
    x, labels, indices = load_testbed(testbed, model.encoding, n_images)
    return model, x.to(dev), labels, indices, meta


def _predict(model, x, batch_size=256):
    with torch.no_grad():
        return torch.cat([model(xb) for xb in x.split(batch_size)])


GUPTA_MODEL = Model(C("gupta2019.model"))


@experiment(DOC, "all_logits", inputs={"checkpoint": GUPTA_MODEL, "testbed": Testbed(),
                                       "mnist": MNIST},
            params={"digit": C("gupta2019.all_logits.digit")}, resources=LIGHT)  # fmt: skip
def all_logits(*, checkpoint, testbed, mnist, digit: int, device: str, out) -> dict:
    """Fig. 1: Gradient x Input for all 10 logits of the first test-bed image of ``digit``, and
    the competitive map of every class (the CGI map of the explained class is one of them).

    When the test-bed has no such digit (tiny test-beds), the first test-set image of it is used
    and ``source`` says so."""
    model, x, labels, indices, _ = _setup(checkpoint, testbed, device)
    where = np.flatnonzero(labels.numpy() == digit)
    source = "test-bed"
    if len(where) == 0:
        images = data.load_mnist(mnist)
        where = np.flatnonzero(images.test_labels == digit)
        if len(where) == 0:
            raise ValueError(f"the MNIST test set has no image of digit {digit}")
        source = "test set"
        indices = where[:1]
        labels = torch.from_numpy(images.test_labels[indices])
        x = data.encode(images.test_images[indices], model.encoding).to(x.device)
        where = np.zeros(1, dtype=np.int64)
    i = int(where[0])
    xi = x[i : i + 1]
    logits = _predict(model, xi)
    all_maps = attribute_all_classes("gradient_input", model, xi)  # (1, K, 1, H, W)
    k = all_maps.shape[1]
    competitive = torch.cat(
        [compete(all_maps, torch.tensor([c], device=x.device)) for c in range(k)]
    )
    result = {
        "x": xi[0, 0].cpu().numpy(),
        "label": int(labels[i]),
        "index": int(indices[i]),
        "source": source,
        "logits": logits[0].cpu().numpy(),
        "prediction": int(logits.argmax(1)[0]),
        "maps": all_maps[0, :, 0].cpu().numpy(),
        "competitive": competitive[:, 0].cpu().numpy(),
    }
    save_npz(out, **result)
    return result


@experiment(DOC, "score_histogram", inputs={"checkpoint": GUPTA_MODEL, "testbed": Testbed()},
            params={"n_images": C("gupta2019.score_histogram.images"),
                    "components": C("gupta2019.score_histogram.components"),
                    "seed": C("seed")}, resources=LIGHT)  # fmt: skip
def score_histogram(*, checkpoint, testbed, n_images, components, seed: int, device: str, out):
    """Fig. 2: Gradient x Input scores for the predicted class over the test-bed, with fitted
    Gaussian mixtures. Pixels with input exactly 0 (MNIST background) have score exactly 0 by
    construction; they are counted but left out of the scores and the fits."""
    model, x, _, _, _ = _setup(checkpoint, testbed, device, n_images)
    pred = _predict(model, x).argmax(1)
    maps = (
        torch.cat(
            [
                attribute("gradient_input", model, xb, tb)
                for xb, tb in zip(x.split(100), pred.split(100), strict=True)
            ]
        )
        .cpu()
        .numpy()
    )
    nonzero = x.cpu().numpy() != 0
    scores = maps[nonzero]
    fits = fit_mixtures(scores, components, seed)
    result: dict[str, Any] = {
        "scores": scores.astype(np.float32),
        "n_images": len(x),
        "n_pixels": maps.size,
        "n_zero_input": int((~nonzero).sum()),
        "components": np.asarray([f["k"] for f in fits]),
        "bic": np.asarray([f["bic"] for f in fits]),
    }
    for f in fits:
        for key in ("weights", "means", "stds"):
            result[f"{key}_{f['k']}"] = f[key]
    save_npz(out, **result)
    return result


@experiment(DOC, "approximate_completeness",
            inputs=lambda cfg: {"checkpoints": {m: Model(m) for m in cfg["gupta2019"][
                "approximate_completeness"]["models"]}, "testbed": Testbed()},
            params={"n_images": C("gupta2019.approximate_completeness.images")},
            resources=LIGHT)  # fmt: skip
def approximate_completeness(*, checkpoints: Mapping[str, str | Path], testbed, n_images,
                             device: str, out, competition: int | None = None) -> dict:  # fmt: skip
    """Fig. 3 (GI part): sum of the Gradient x Input map vs the logit, every class of every
    test-bed image (``competition``: the predicted class and the top ``competition - 1``
    others), per model (nets with biases). DASP's points come from the cascading_cdasp
    experiment (the trained network's step), so DASP is not run twice."""
    result: dict[str, Any] = {"models": np.asarray(list(checkpoints))}
    for name, path in checkpoints.items():
        model, x, _, _, _ = _setup(path, testbed, device, n_images)
        logits = _predict(model, x)
        _, _, sums, classes = competition_maps("gradient_input", model, x, logits.argmax(1),
                                               competition)  # fmt: skip
        result[f"sums_{name}"] = sums.cpu().numpy()
        result[f"logits_{name}"] = logits.gather(1, classes).cpu().numpy()
    save_npz(out, **result)
    return result


@experiment(DOC, "cgi_maps", inputs={"checkpoint": GUPTA_MODEL, "testbed": Testbed()},
            params={"n_images": C("gupta2019.cgi_maps.images")}, resources=LIGHT)  # fmt: skip
def cgi_maps(*, checkpoint, testbed, n_images, device: str, out,
             competition: int | None = None) -> dict:  # fmt: skip
    """Fig. 4: GI and CGI maps (predicted class) for the first ``n_images`` test-bed images."""
    model, x, labels, indices, _ = _setup(checkpoint, testbed, device, n_images)
    pred = _predict(model, x).argmax(1)
    gi, cgi, _, _ = competition_maps("gradient_input", model, x, pred, competition)
    result = {
        "x": display_images(testbed, len(x)),
        "labels": labels.numpy(),
        "indices": indices,
        "predictions": pred.cpu().numpy(),
        "gi": gi.sum(dim=1).cpu().numpy(),
        "cgi": cgi.sum(dim=1).cpu().numpy(),
    }
    save_npz(out, **result)
    return result


#: the randomisation runs of Figs. 5, 6, 8-10: procedure and base methods (all-class maps once
#: per step; the plain and the competitive maps both come from them)
RUNS = GUPTA2019_RUNS
#: the reference methods of every randomisation run (``maps_<r>``, ``null_maps_<r>``; listed in
#: the result's ``references``): a map of noise and an edge detector, the two ends of the scale
REFERENCES = REFERENCE_METHODS


def run_settings(cfg: Mapping, run: str) -> dict[str, Any]:
    """Model, procedure, base methods and images of one randomisation run."""
    g = cfg["gupta2019"]
    if run == "cascading_cdasp":
        d = g["cascading_cdasp"]
        methods = {"dasp": {"coalition_sizes": d["coalition_sizes"], "chunk": d["chunk"]},
                   "gradient_input": {}}  # fmt: skip
        return {"model": d["model"], "procedure": "cascading", "methods": methods,
                "images": d["images"]}  # fmt: skip
    methods = {g["cascading_clrp"]["method"]: {}} if run == "cascading_clrp" else {
        "gradient_input": {}}  # fmt: skip
    procedure = "independent" if run == "layerwise_cgi" else "cascading"
    return {"model": g["model"], "procedure": procedure, "methods": methods,
            "images": g["randomization"]["images"]}  # fmt: skip


@experiment(DOC, "{run}", over={"run": RUNS},
            inputs=lambda cfg, run: {"checkpoint": Model(run_settings(cfg, run)["model"]),
                                     "testbed": Testbed()},
            params=lambda cfg, run: {
                **{k: v for k, v in run_settings(cfg, run).items() if k != "model"},
                "seed": cfg["seed"], "null_seeds": cfg["gupta2019"]["null_seeds"],
                "explained": cfg["gupta2019"]["explained_class"],
                "batch_size": cfg["gupta2019"]["batch_size"], "references": list(REFERENCES)},
            resources=HEAVY)  # fmt: skip
def randomization_experiment(
    *,
    checkpoint,
    testbed,
    procedure: str,
    methods: Mapping[str, Mapping[str, Any]],
    images,
    seed: int,
    null_seeds,
    explained: str,
    device: str,
    out,
    batch_size: int = 100,
    competition: int | None = None,
    references: Sequence[str] = (),
) -> dict[str, np.ndarray]:
    """Figs. 5, 6, 8-10 and competition_rank: :func:`randomization_maps` on test-bed images,
    with the null maps of two untrained copies (:func:`null_maps`), of the base methods and of
    the reference methods (listed in the result's ``methods`` and ``references``; a reference
    has no competitive variant)."""
    model, x, labels, indices, _ = _setup(checkpoint, testbed, device, images)
    log.info("%s randomisation of %s on %d images: %s", procedure, model.name, len(x), methods)
    result = randomization_maps(model, x, labels, methods, procedure, seed, explained, batch_size,
                                competition, references)  # fmt: skip
    result.update(null_maps(model, x, labels, methods, null_seeds, explained, batch_size,
                            competition, references))  # fmt: skip
    result.update(
        x=display_images(testbed, len(x)),
        labels=labels.numpy(),
        indices=indices,
        methods=np.asarray(list(methods)),
        references=np.asarray(list(references), dtype=str),
        model=model.name,
        procedure=procedure,
        explained=explained,
        null_seeds=np.asarray(null_seeds),
        n_classes=result["logits"].shape[-1] if competition is None else competition,
        competition=-1 if competition is None else competition,
    )
    for key, params in methods.items():
        for p, v in params.items():
            if isinstance(v, int | float | str):
                result[f"param_{key}_{p}"] = v
    save_npz(out, **result)
    return result


#: the methods of Fig. 7 as :func:`saliency_sanity.checks.data_randomization` names them
DATA_RANDOMIZATION = {"gi": ("gradient_input", {}), "cgi": ("competitive_gradient_input", {})}


@experiment(DOC, "data_randomization",
            inputs={"normal": GUPTA_MODEL,
                    "random_labels": Model(C("gupta2019.model"), "random_labels"),
                    "testbed": Testbed()},
            params={"n_images": C("gupta2019.data_randomization.images"),
                    "null_seeds": C("gupta2019.null_seeds")},
            resources=LIGHT)  # fmt: skip
def data_randomization(*, normal, random_labels, testbed, n_images, device: str, out,
                       null_seeds=checks.parameter.NULL_SEEDS) -> dict:  # fmt: skip
    """Fig. 7: GI and CGI (predicted class) of the normally trained and the permuted-label net,
    compared by :func:`saliency_sanity.checks.data_randomization` (``similarity``: Spearman
    |map| and signed, each with its null from two untrained copies of the architecture, seeds
    ``null_seeds``: those of the randomisation runs, so the same copies as their null)."""
    model, x, labels, indices, _ = _setup(normal, testbed, device, n_images)
    twin = models.load_checkpoint(random_labels, x.device)[0]
    maps: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    table = checks.data_randomization(model, twin, x, None, DATA_RANDOMIZATION,
                                      measures=("spearman_abs", "spearman_signed"),
                                      null_seeds=null_seeds, maps_out=maps)  # fmt: skip
    result: dict[str, Any] = {"similarity": table}
    for i, (name, net) in enumerate((("normal", model), ("random_labels", twin))):
        logits = _predict(net, x)
        result[f"predictions_{name}"] = logits.argmax(1).cpu().numpy()
        result[f"logits_{name}"] = logits.cpu().numpy()
        for key, pair in maps.items():  # float32 maps, channels summed (as the other runs)
            result[f"{key}_{name}"] = pair[i].astype(np.float32).sum(axis=1)
    result.update(x=display_images(testbed, len(x)), labels=labels.numpy(), indices=indices)
    save_npz(out, **result)
    return result


# --- the ImageNet tier: the same experiments on VGG-19 (CLRP: VGG-16) ---------------------------


def _tier(cfg, key):
    return cfg["imagenet"]["gupta2019"][key]


IMAGENET = Resources(gpu=1, threads=2, mem_mb=16000, runtime=180)
ON_VGG19 = {"checkpoint": Model("vgg19"), "testbed": Testbed("vgg19")}

experiment(DOC, "score_histogram_vgg19", when=imagenet_on, inputs=ON_VGG19,
           params=lambda cfg: {"n_images": _tier(cfg, "score_histogram")["images"],
                               "components": cfg["gupta2019"]["score_histogram"]["components"],
                               "seed": cfg["seed"]},
           resources=IMAGENET)(score_histogram)  # fmt: skip
experiment(DOC, "approximate_completeness_vgg19", when=imagenet_on,
           inputs={"checkpoints": {"vgg19": Model("vgg19")}, "testbed": Testbed("vgg19")},
           params=lambda cfg: {"n_images": _tier(cfg, "approximate_completeness")["images"],
                               "competition": _tier(cfg, "competition_classes")},
           resources=IMAGENET)(approximate_completeness)  # fmt: skip
experiment(DOC, "cgi_maps_vgg19", when=imagenet_on, inputs=ON_VGG19,
           params=lambda cfg: {"n_images": _tier(cfg, "cgi_maps")["images"],
                               "competition": _tier(cfg, "competition_classes")},
           resources=IMAGENET)(cgi_maps)  # fmt: skip

#: the ImageNet runs: run -> (model, procedure, base methods)
IMAGENET_RUNS = {
    "layerwise_cgi_vgg19": ("vgg19", "independent", ("gradient_input",)),
    "cascading_cgi_vgg19": ("vgg19", "cascading", ("gradient_input", "lrp_epsilon")),
    "cascading_clrp_vgg16": ("vgg16", "cascading", ("lrp_epsilon",)),
}


def _imagenet_run(cfg, imagenet_run):
    _, procedure, methods = IMAGENET_RUNS[imagenet_run]
    return {"procedure": procedure, "methods": {m: {} for m in methods},
            "images": _tier(cfg, "randomization")["images"], "seed": cfg["seed"],
            "null_seeds": cfg["gupta2019"]["null_seeds"],
            "explained": cfg["gupta2019"]["explained_class"], "batch_size": 10,
            "competition": _tier(cfg, "competition_classes"),
            "references": list(REFERENCES)}  # fmt: skip


experiment(DOC, "{imagenet_run}", over={"imagenet_run": tuple(IMAGENET_RUNS)}, when=imagenet_on,
           inputs=lambda cfg, imagenet_run: {"checkpoint": Model(IMAGENET_RUNS[imagenet_run][0]),
                                             "testbed": Testbed(IMAGENET_RUNS[imagenet_run][0])},
           params=_imagenet_run, resources=IMAGENET)(randomization_experiment)  # fmt: skip
