"""adebayo2018: the model parameter randomisation test (Adebayo et al. 2018, Sec. 3 and Figs. 1-3;
NeurIPS version "Sanity Checks for Saliency Maps", Sec. 4).

For every step of a randomisation procedure (:func:`saliency_sanity.randomization.cascading` or
:func:`~saliency_sanity.randomization.independent`), the maps of several methods are computed on
the same inputs; then each randomised map is compared with the map of the trained model (Spearman
rank correlation on |m| and on m, SSIM, HOG). Model-agnostic: any zoo model (MNIST or ImageNet)
with ``layer_order`` and ``init_layer`` works.

:func:`randomization_maps` is the reusable core (also for gupta2019's ``competition_rank``);
:func:`similarity_table` turns its maps into curves; :func:`run_randomization` is the rule's entry
point (loads the checkpoint and test-bed, writes ``.npz`` and ``.csv``).
"""

from __future__ import annotations

import inspect
import json
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from saliency_sanity import randomization, runtime, similarity
from saliency_sanity.attribution import METHODS, attribute, model_guard
from saliency_sanity.attribution._utils import DEFAULT_CHUNK, resolve_chunk
from saliency_sanity.attribution.smoothgrad import noisy_moments
from saliency_sanity.catalogue import C, Field, Model, Resources, Testbed, experiment, imagenet_on
from saliency_sanity.checks.measures import against
from saliency_sanity.experiments import RANDOMIZATION_ORDERS
from saliency_sanity.experiments.testbed import display_images, load_testbed
from saliency_sanity.io import save_npz
from saliency_sanity.method_labels import label as method_label
from saliency_sanity.models import load_checkpoint

log = logging.getLogger(__name__)

MODES = ("cascading", "independent")
#: methods that need a convolutional layer (``model.gradcam_layer``); skipped for MLPs
GRADCAM_METHODS = ("gradcam", "guided_gradcam")
#: the noise wrappers whose mean (SmoothGrad) and variance (VarGrad) come from one pass
_NOISY = {"smoothgrad": 0, "vargrad": 1}

#: label -> (registry name, parameters), e.g. {"smoothgrad_gradient": ("smoothgrad", {...})}
MethodSpecs = Mapping[str, tuple[str, Mapping[str, Any]]]


def applicable_methods(model: nn.Module, methods: MethodSpecs) -> dict[str, tuple[str, dict]]:
    """The methods that apply to ``model``: GradCAM and Guided GradCAM only where the model
    declares a ``gradcam_layer`` (it has convolutions), as in the papers' MNIST MLP figures."""
    has_cam = getattr(model, "gradcam_layer", None) is not None
    return {
        label: (name, dict(params))
        for label, (name, params) in methods.items()
        if has_cam or name not in GRADCAM_METHODS
    }


def _noisy_key(name: str, params: Mapping[str, Any]) -> str | None:
    """Group key of SmoothGrad/VarGrad calls that share their noisy maps (same base, samples,
    noise, seed and base parameters); None for other methods."""
    if name not in _NOISY:
        return None
    full = {**METHODS[name].defaults, **params}
    full.pop("statistic", None)  # SmoothGrad's mean and VarGrad's variance share the pass
    return json.dumps(full, sort_keys=True, default=str)


def _noisy_pair(
    model: nn.Module, x: torch.Tensor, target: torch.Tensor, params: Mapping[str, Any]
) -> tuple[torch.Tensor, torch.Tensor]:
    """(SmoothGrad, VarGrad) maps from ONE set of noisy base maps: the same numbers as
    ``attribute("smoothgrad", ...)`` and ``attribute("vargrad", ...)`` with these parameters, at
    half the cost (Adebayo et al. 2018 use both on the same noise level and sample count)."""
    params = {**METHODS["smoothgrad"].defaults, **params}
    params.pop("statistic")  # both statistics come from the one pass
    base = METHODS[params.pop("base")]
    samples, noise, seed = params.pop("samples"), params.pop("noise"), params.pop("seed")
    chunk = resolve_chunk(params.pop("chunk", DEFAULT_CHUNK), model, x)
    base_params = {**base.defaults, **params}
    if "chunk" in inspect.signature(base.fn).parameters and base_params.get("chunk") is None:
        base_params["chunk"] = chunk

    def run(noisy: torch.Tensor, item: torch.Tensor) -> torch.Tensor:
        return base.fn(model, noisy, target[item], **base_params)

    with model_guard(model):
        mean, var = noisy_moments(run, x, samples, noise, seed, chunk)
    return mean.detach(), var.detach()


@torch.no_grad()
def _logits(model: nn.Module, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    return torch.cat([model(xb) for xb in torch.split(x, batch_size)])


def randomization_maps(
    model: nn.Module,
    x: torch.Tensor,
    methods: MethodSpecs,
    mode: str = "cascading",
    seed: int = 0,
    explained_class: str = "randomized_prediction",
    labels: torch.Tensor | None = None,
    subsets: Mapping[str, Sequence[int]] | None = None,
    layers: Sequence[str] | None = None,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Maps of every method after every randomisation step, on the same inputs (Adebayo et al.
    2018, Sec. 3, cascading and independent randomisation).

    Parameters
    ----------
    model
        A zoo model (``layer_order``, ``init_layer``), on the device to compute on; left untouched.
    x
        Inputs (N, C, H, W), on the model's device.
    methods
        ``{label: (registry name, params)}``, in row order. Methods are used as given (call
        :func:`applicable_methods` first to drop GradCAM on MLPs). Noise-based methods keep their
        ``seed`` at every step, so the noisy inputs are the same and the comparison is paired;
        SmoothGrad and VarGrad with equal parameters share one pass.
    mode
        ``"cascading"`` or ``"independent"`` (see :mod:`saliency_sanity.randomization`).
    seed
        Base seed of the layer re-initialisation.
    explained_class
        Which class is explained at each step (:func:`randomization.explained_class`): the
        randomised model's own prediction (default, as the original code), the trained model's
        prediction (``"original_prediction"``) or the true label (``"label"``).
    labels
        True labels (N,); needed for accuracies and for ``explained_class="label"``.
    subsets
        ``{label: positions}``: compute that method only on these rows of ``x`` (costly methods);
        other rows of its maps are NaN and ``computed`` is False there. Default: all rows.
    layers
        Layers to randomise, in order; default ``model.layer_order`` (logits first).

    Returns
    -------
    dict of NumPy arrays
        ``steps`` (S,) step names, ``"original"`` first, then the layer randomised (cumulatively
        or alone); ``methods`` (M,) labels; ``maps`` float32 (S, M, N, C, H, W);
        ``computed`` bool (M, N); ``targets`` (S, N) explained classes; ``logits`` (S, N, K);
        ``accuracy`` (S,) top-1 accuracy on (x, labels) (NaN without labels);
        ``seconds`` (S, M) wall time per map batch (a shared SG/VG pass is booked on the first).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    for label, (name, _) in methods.items():
        if name not in METHODS:
            raise KeyError(f"method {label!r}: unknown attribution method {name!r}")
    procedure = randomization.cascading if mode == "cascading" else randomization.independent
    labels_ = list(methods)
    n = x.shape[0]
    rows = {}
    for label in labels_:
        pos = np.arange(n) if subsets is None or label not in subsets else subsets[label]
        pos = np.unique(np.asarray(pos, dtype=np.int64))
        if pos.size and (pos.min() < 0 or pos.max() >= n):
            raise ValueError(f"subset of {label!r} out of range 0..{n - 1}")
        rows[label] = pos
    order = list(layers) if layers is not None else list(model.layer_order)
    n_steps = len(order) + 1
    maps = np.full((n_steps, len(labels_), *x.shape), np.nan, dtype=np.float32)
    targets = np.zeros((n_steps, n), dtype=np.int64)
    logits_all, steps, accuracy = [], [], np.full(n_steps, np.nan)
    seconds = np.zeros((n_steps, len(labels_)))
    original_pred = None
    bar = tqdm(total=n_steps * len(labels_), desc=f"{mode} maps", disable=not progress)
    for s, (step, net) in enumerate(procedure(model, seed, layers)):
        steps.append(step)
        logits = _logits(net, x)
        if original_pred is None:
            original_pred = logits.argmax(dim=1)
        target = randomization.explained_class(explained_class, logits, labels, original_pred)
        targets[s] = target.cpu().numpy()
        logits_all.append(logits.cpu().numpy())
        if labels is not None:
            accuracy[s] = (logits.argmax(1).cpu() == labels.cpu()).float().mean().item()
        shared: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
        for m, label in enumerate(labels_):
            name, params = methods[label]
            idx = rows[label]
            t0 = time.perf_counter()
            if idx.size:
                sel = torch.as_tensor(idx, device=x.device)
                key = _noisy_key(name, params)
                if key is not None:
                    group = (key, idx.tobytes())
                    if group not in shared:
                        shared[group] = _noisy_pair(net, x[sel], target[sel], params)
                    out = shared[group][_NOISY[name]]
                else:
                    out = attribute(name, net, x[sel], target[sel], **params)
                maps[s, m, idx] = out.float().cpu().numpy()
            seconds[s, m] = time.perf_counter() - t0
            bar.update()
        log.info(
            "%s step %d/%d (%s): accuracy %.3f; seconds %s",
            mode,
            s + 1,
            n_steps,
            step,
            accuracy[s],
            {lab: round(float(t), 2) for lab, t in zip(labels_, seconds[s], strict=True)},
        )
    bar.close()
    computed = np.zeros((len(labels_), n), dtype=bool)
    for m, label in enumerate(labels_):
        computed[m, rows[label]] = True
    return {
        "steps": np.asarray(steps),
        "methods": np.asarray(labels_),
        "maps": maps,
        "computed": computed,
        "targets": targets,
        "logits": np.stack(logits_all),
        "accuracy": accuracy,
        "seconds": seconds,
    }


#: the (metric, variant) columns of :func:`similarity_table` and the measure of each, by its name
#: in :data:`saliency_sanity.checks.measures.MEASURES` (implemented once, for every check)
METRICS = {
    ("spearman", "abs"): "spearman_abs",
    ("spearman", "signed"): "spearman_signed",
    ("ssim", "abs"): "ssim",
    ("ssim", "signed"): "ssim_signed",
    ("hog", "abs"): "hog",
}


def similarity_table(
    result: Mapping[str, np.ndarray],
    metrics: Sequence[tuple[str, str]] = tuple(METRICS),
    hog_images: int | None = None,
) -> pd.DataFrame:
    """Similarity of each step's maps to the original maps, per method (Adebayo et al. 2018,
    Figs. 2 and 3): mean and population std over the images where the method was computed,
    ignoring NaNs (constant maps, e.g. an all-zero GradCAM, have no ranks). The measures are
    the checks' (:func:`saliency_sanity.checks.measures.against`: the original's ranks and HOG
    features computed once per method).

    Columns: ``step`` (index, 0 = original), ``layer``, ``method``, ``metric``, ``variant``,
    ``mean``, ``std``, ``n`` (images used), ``n_nan`` (computed but NaN), ``n_skipped`` (not
    computed, see ``subsets`` of :func:`randomization_maps`). HOG (skimage, one call per map:
    the slow one) uses only the first ``hog_images`` computed images of each method (None: all).
    """
    maps, computed = result["maps"], result["computed"]
    rows = []
    for m, method in enumerate(result["methods"]):
        idx = np.flatnonzero(computed[m])
        hog_idx = idx if hog_images is None else idx[:hog_images]
        used = {key: hog_idx if key[0] == "hog" else idx for key in metrics}
        versus = {key: against(METRICS[key], maps[0, m, rows_]) for key, rows_ in used.items()
                  if rows_.size}  # fmt: skip
        for s, step in enumerate(result["steps"]):
            for metric, variant in metrics:
                rows_ = used[(metric, variant)]
                values = versus[(metric, variant)](maps[s, m, rows_]) if rows_.size else np.empty(0)
                mean, std = similarity.summarize(values)
                n_nan = int(np.isnan(values).sum())
                rows.append(
                    {
                        "step": s,
                        "layer": str(step),
                        "method": str(method),
                        "metric": metric,
                        "variant": variant,
                        "mean": mean,
                        "std": std,
                        "n": int(rows_.size - n_nan),
                        "n_nan": n_nan,
                        "n_skipped": int(computed.shape[1] - rows_.size),
                    }
                )
    return pd.DataFrame(rows)


def method_specs(settings: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, dict]]:
    """``{label: (method, params)}`` from the config's ``adebayo2018.methods`` section."""
    return {label: (s["method"], dict(s.get("params") or {})) for label, s in settings.items()}


def method_subsets(
    settings: Mapping[str, Mapping[str, Any]], n: int, always: Sequence[int] = ()
) -> dict[str, np.ndarray]:
    """Rows to compute per method: the first ``images`` test-bed positions (all when null), plus
    the positions in ``always`` (the image shown in the grids)."""
    out = {}
    for label, s in settings.items():
        k = n if s.get("images") is None else min(int(s["images"]), n)
        out[label] = np.union1d(np.arange(k), np.asarray(always, dtype=np.int64))
    return out


# --- the experiments: rows of the catalogue -----------------------------------------------------

DOC = "adebayo2018"
ORDERS = RANDOMIZATION_ORDERS
#: resources of one randomisation run (SG/VG and IG on 200 images at every step)
HEAVY = Resources(gpu=1, threads=2, mem_mb=6000, runtime=90)


def _prepare(checkpoint, testbed, methods, grid_position, grid_images, device):
    dev = runtime.device(device)
    model, _ = load_checkpoint(checkpoint, dev)
    x, labels, indices = load_testbed(testbed, getattr(model, "encoding", "unit"))
    shown = np.arange(grid_position, min(grid_position + grid_images, len(x)))
    if not 0 <= grid_position < len(x):
        raise ValueError(f"grid position {grid_position} outside the test-bed (0..{len(x) - 1})")
    specs = applicable_methods(model, method_specs(methods))
    subsets = method_subsets({k: methods[k] for k in specs}, len(x), shown)
    return dev, model, x, labels, indices, specs, subsets


def _meta(methods, specs, result) -> dict[str, np.ndarray]:
    # figure labels from the registry: "Gradient", "IG", SmoothGrad of IG "IG-SG"
    labels_ = {k: method_label(name, base=p.get("base")) for k, (name, p) in specs.items()}
    params = {k: json.dumps(specs[k][1], sort_keys=True) for k in specs}
    return {
        "labels": np.asarray([labels_[k] for k in result["methods"]]),
        "params": np.asarray([params[k] for k in result["methods"]]),
        "names": np.asarray([specs[k][0] for k in result["methods"]]),
    }


_PARAMS = {"methods": C("adebayo2018.methods"), "grid_position": C("adebayo2018.grid_position"),
           "hog_images": C("adebayo2018.hog_images"),
           "explained_class": C("adebayo2018.randomization.explained_class")}  # fmt: skip


@experiment(DOC, "{order}_maps_{model}", over={"order": ORDERS, "model": C("adebayo2018.models")},
            inputs={"checkpoint": Model("{model}"), "testbed": Testbed("{model}")},
            params={**_PARAMS, "order": Field("order"),
                    "seed": C("adebayo2018.randomization.seed")},
            resources=HEAVY)  # fmt: skip
def run_randomization(
    *,
    checkpoint: str | Path,
    testbed: str | Path,
    methods: Mapping[str, Mapping[str, Any]],
    order: str,
    seed: int,
    explained_class: str,
    grid_position: int,
    hog_images: int | None,
    device: str,
    out: str | Path,
    grid_images: int = 1,
) -> dict[str, np.ndarray]:
    """Maps of every method after every step of ``order`` (cascading or independent) on the
    test-bed, saved with the similarity curves (``similarity``; see :func:`randomization_maps`,
    :func:`similarity_table`)."""
    dev, model, x, labels, indices, specs, subsets = _prepare(
        checkpoint, testbed, methods, grid_position, grid_images, device
    )
    t0 = time.perf_counter()
    result = randomization_maps(
        model, x.to(dev), specs, order, seed, explained_class, labels.to(dev), subsets
    )
    log.info("maps: %.1f s", time.perf_counter() - t0)
    table = similarity_table(result, hog_images=hog_images)
    table.insert(0, "mode", order)
    result.pop("seconds")
    save_npz(
        out,
        **result,
        **_meta(methods, specs, result),
        similarity=table,
        true_labels=labels.numpy(),
        indices=indices,
        grid_position=grid_position,
        grid_images=grid_images,
        image=display_images(testbed)[grid_position : grid_position + grid_images],
        weights=str(getattr(model, "weights", "trained checkpoint")),
        x=x.numpy(),
        mode=order,
        explained_class=explained_class,
        model=getattr(model, "name", type(model).__name__),
    )
    return result


untrained_copies = randomization.untrained_copies


def null_maps(
    model: nn.Module,
    x: torch.Tensor,
    methods: MethodSpecs,
    seeds: Sequence[int],
    explained_class: str = "randomized_prediction",
    labels: torch.Tensor | None = None,
    subsets: Mapping[str, Sequence[int]] | None = None,
) -> dict[str, np.ndarray]:
    """The null's maps: :func:`randomization_maps` (steps ``"copy A"``, ``"copy B"``) of the
    checks' two untrained copies of ``model`` (:func:`saliency_sanity.checks.untrained_copies`,
    one seed each), each explaining its own prediction, or the label for
    ``explained_class="label"``. Step 1 of its :func:`similarity_table` is the null, the
    ``null_mean`` of :func:`saliency_sanity.checks.model_randomization` with these seeds."""
    mode = "label" if explained_class == "label" else "randomized_prediction"
    # the engine's "independent" procedure with no layer is the model as given
    a, b = (randomization_maps(net, x, methods, "independent", 0, mode, labels, subsets,
                               layers=[], progress=False)
            for net in untrained_copies(model, seeds))  # fmt: skip
    return {**a, "steps": np.asarray(["copy A", "copy B"]),
            "maps": np.concatenate([a["maps"], b["maps"]]),
            "targets": np.concatenate([a["targets"], b["targets"]]),
            "logits": np.concatenate([a["logits"], b["logits"]])}  # fmt: skip


@experiment(DOC, "null_{model}", over={"model": C("adebayo2018.models")},
            inputs={"checkpoint": Model("{model}"), "testbed": Testbed("{model}")},
            params={**_PARAMS, "seeds": C("adebayo2018.randomization.null_seeds")},
            resources=HEAVY)  # fmt: skip
def run_null(
    *,
    checkpoint: str | Path,
    testbed: str | Path,
    methods: Mapping[str, Mapping[str, Any]],
    seeds: Sequence[int],
    explained_class: str,
    grid_position: int,
    hog_images: int | None,
    device: str,
    out: str | Path,
    grid_images: int = 1,
) -> None:
    """The null of the randomisation test: every method's maps for two independently
    initialised, untrained copies of the architecture (same images, same subsets, each copy
    explaining its own prediction), and their similarity (``similarity``: step 1 = copy B vs
    copy A). A similarity after randomisation is read against this architecture prior."""
    if len(seeds) != 2 or seeds[0] == seeds[1]:
        raise ValueError(f"the null needs two different seeds, got {list(seeds)}")
    dev, model, x, labels, _, specs, subsets = _prepare(
        checkpoint, testbed, methods, grid_position, grid_images, device
    )
    pair = null_maps(model, x.to(dev), specs, seeds, explained_class, labels.to(dev), subsets)
    table = similarity_table(pair, hog_images=hog_images)
    save_npz(out, maps=pair["maps"], methods=pair["methods"], computed=pair["computed"],
             targets=pair["targets"], seeds=np.asarray(seeds), similarity=table,
             **_meta(methods, specs, pair))  # fmt: skip


# --- the ImageNet tier: Inception v3, block by block ----------------------------------------------


def imagenet_methods(cfg: Mapping) -> dict[str, dict]:
    """adebayo2018's methods on Inception v3, at the tier's sizes: every IG with the tier's
    steps, every SG/VG with its samples, on the tier's test-bed images (None: all)."""
    tier = cfg["imagenet"]["adebayo2018"]
    out = {}
    for label, spec in cfg["adebayo2018"]["methods"].items():
        params = dict(spec.get("params") or {})
        if spec["method"] == "integrated_gradients" or params.get("base") == "integrated_gradients":
            params["steps"] = tier["steps"]
        if "samples" in params or spec["method"] in ("smoothgrad", "vargrad"):
            params["samples"] = tier["samples"]
        out[label] = {**spec, "params": params, "images": tier["images"]}
    return out


def _imagenet_params(cfg: Mapping, **fields: str) -> dict[str, Any]:
    tier = cfg["imagenet"]["adebayo2018"]
    random = cfg["adebayo2018"]["randomization"]
    params = {"methods": imagenet_methods(cfg), "grid_position": 0,
              "grid_images": tier["grid_images"], "hog_images": tier["hog_images"],
              "explained_class": random["explained_class"]}  # fmt: skip
    if "order" in fields:
        return {**params, "order": fields["order"], "seed": random["seed"]}
    return {**params, "seeds": random["null_seeds"]}


INCEPTION = {"checkpoint": Model("inception_v3"), "testbed": Testbed("inception_v3")}
IMAGENET = Resources(gpu=1, threads=2, mem_mb=24000, runtime=240)
experiment(
    DOC,
    "{order}_maps_inception_v3",
    over={"order": ORDERS},
    when=imagenet_on,
    inputs=INCEPTION,
    params=_imagenet_params,
    resources=IMAGENET,
)(run_randomization)
experiment(
    DOC,
    "null_inception_v3",
    when=imagenet_on,
    inputs=INCEPTION,
    params=_imagenet_params,
    resources=IMAGENET,
)(run_null)
