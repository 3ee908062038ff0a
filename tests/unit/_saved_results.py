"""Tiny synthetic saved results, one builder per result kind, for tests that draw figures.

Each builder writes the file that an experiment (or a training rule) writes at that path, with
the configuration's counts (methods, randomisation steps, images shown, models) and random
maps: no model is trained and no attribution is computed, so every figure can be drawn in
seconds. The arrays follow the experiments' ``save_npz`` calls (``saliency_sanity.
experiments.*``); where an experiment's own helper builds a table or a label, the builder
calls it. :func:`build` picks the builder from the file's path below the results folder
(``adebayo2018/cascading_maps_cnn.npz``); a result kind without a builder raises, naming it.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from saliency_sanity import models
from saliency_sanity.io import save_json, save_npz

#: MNIST's image side and classes
SIDE, K = 28, 10
#: test-bed images of the results whose figures draw no per-image text (kept small: speed)
N = 6

BUILDERS: list[tuple[re.Pattern, Callable[..., None]]] = []


def builder(pattern: str):
    """Register a builder for result paths matching ``pattern`` (named groups: keywords)."""

    def deco(fn):
        BUILDERS.append((re.compile(pattern), fn))
        return fn

    return deco


def build(path: str | Path, results: str | Path, cfg: Mapping) -> None:
    """Write the synthetic result at ``path`` (below ``results``) for config ``cfg``."""
    rel = Path(path).relative_to(results).as_posix()
    for pattern, fn in BUILDERS:
        match = pattern.fullmatch(rel)
        if match:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            rng = np.random.default_rng(zlib.crc32(rel.encode()))
            fn(Path(path), cfg, rng, **match.groupdict())
            return
    raise KeyError(f"no synthetic builder for the result {rel!r} (tests/unit/_saved_results.py)")


def _steps(model: str) -> list[str]:
    return ["original", *models.build(model).layer_order]


def _images(rng, n: int) -> np.ndarray:
    """MNIST-like display images (n, H, W) in [0, 1]: a bright blob on a black background."""
    yy, xx = np.mgrid[:SIDE, :SIDE]
    blob = np.exp(-((yy - 14) ** 2 + (xx - 14) ** 2) / 40.0)
    return np.clip(blob[None] * rng.uniform(0.8, 1.0, (n, 1, 1)), 0, 1) * (blob[None] > 0.2)


def _maps(rng, *shape: int) -> np.ndarray:
    return rng.normal(size=(*shape, SIDE, SIDE)).astype(np.float32)


def _accuracy(n_steps: int) -> np.ndarray:
    return np.array([0.98, *np.linspace(0.6, 0.1, n_steps - 1)])


# --- trained models ----------------------------------------------------------------------------


@builder(r"models/(?P<model>\w+)/(?P<variant>\w+)\.json")
def metrics(path: Path, cfg: Mapping, rng, *, model: str, variant: str) -> None:
    if variant == "shifted":  # kindermans2017 network 2
        save_json(path, {"shift": cfg["kindermans2017"]["shifts"]["constant"],
                         "net1_test_accuracy": 0.9787, "net2_test_accuracy": 0.9787,
                         "max_abs_logit_difference": 3.2e-6, "same_predictions": True,
                         "net2_input_range": [-1.0, 0.0]})  # fmt: skip
        return
    recipe = dict(cfg["models"][model][variant])
    target = recipe.get("target_train_accuracy")
    epochs = 67 if target else int(recipe["epochs"])  # a permuted-label net stops early
    history = []
    for e in range(1, epochs + 1):
        record = {"epoch": e, "test_accuracy": 0.1 if target else 0.9 + 0.08 * e / epochs}
        if target:
            record["train_accuracy"] = min(0.99, 0.1 + e / epochs)
        history.append(record)
    save_json(path, {"history": history, "epochs": epochs, "train_accuracy": 0.99,
                     "test_accuracy": history[-1]["test_accuracy"],
                     "n_train": recipe.get("train_subset") or 60000, "spec": recipe,
                     "model": model, "variant": variant})  # fmt: skip


# --- adebayo2018 -------------------------------------------------------------------------------


def _adebayo_specs(cfg: Mapping, model: str):
    from saliency_sanity.experiments import adebayo2018 as E

    methods = cfg["adebayo2018"]["methods"]
    specs = E.applicable_methods(models.build(model), E.method_specs(methods))
    return methods, specs


def _adebayo_maps(rng, specs, n_steps: int) -> np.ndarray:
    maps = _maps(rng, n_steps, len(specs), N)[:, :, :, None]
    for m, (name, _) in enumerate(specs.values()):
        if name in ("vargrad", "gradcam"):  # non-negative maps
            maps[:, m] = np.abs(maps[:, m])
    return maps


@builder(r"adebayo2018/(?P<order>cascading|independent)_maps_(?P<model>\w+)\.npz")
def adebayo_maps(path: Path, cfg: Mapping, rng, *, order: str, model: str) -> None:
    from saliency_sanity.experiments import adebayo2018 as E

    methods, specs = _adebayo_specs(cfg, model)
    steps = _steps(model)
    pos = cfg["adebayo2018"]["grid_position"]
    subsets = E.method_subsets({k: methods[k] for k in specs}, N, [pos])
    computed = np.zeros((len(specs), N), dtype=bool)
    for m, key in enumerate(specs):
        computed[m, subsets[key]] = True
    x = _images(rng, N)
    result = {
        "steps": np.asarray(steps),
        "methods": np.asarray(list(specs)),
        "maps": _adebayo_maps(rng, specs, len(steps)),
        "computed": computed,
        "targets": rng.integers(0, K, (len(steps), N)),
        "logits": rng.normal(size=(len(steps), N, K)),
        "accuracy": _accuracy(len(steps)),
    }
    table = E.similarity_table(result, hog_images=2)
    table.insert(0, "mode", order)
    save_npz(path, **result, **E._meta(methods, specs, result), similarity=table,
             true_labels=rng.integers(0, K, N), indices=np.arange(N), grid_position=pos,
             grid_images=1, image=x[pos : pos + 1], weights="trained checkpoint",
             x=x[:, None], mode=order, explained_class=cfg["adebayo2018"]["randomization"][
                 "explained_class"], model=model)  # fmt: skip


@builder(r"adebayo2018/null_(?P<model>\w+)\.npz")
def adebayo_null(path: Path, cfg: Mapping, rng, *, model: str) -> None:
    from saliency_sanity.experiments import adebayo2018 as E

    methods, specs = _adebayo_specs(cfg, model)
    pair = {"steps": np.asarray(["copy A", "copy B"]), "methods": np.asarray(list(specs)),
            "maps": _adebayo_maps(rng, specs, 2), "computed": np.ones((len(specs), N), bool),
            "targets": rng.integers(0, K, (2, N))}  # fmt: skip
    table = E.similarity_table(pair, hog_images=2)
    save_npz(path, maps=pair["maps"], methods=pair["methods"], computed=pair["computed"],
             targets=pair["targets"], seeds=np.asarray(cfg["adebayo2018"]["randomization"][
                 "null_seeds"]), similarity=table, **E._meta(methods, specs, pair))  # fmt: skip


# --- gupta2019 ---------------------------------------------------------------------------------


def _competitive(rng, plain: np.ndarray) -> np.ndarray:
    """About 1/K of the plain map's pixels kept."""
    return plain * (rng.random(plain.shape) < 1 / K)


@builder(r"gupta2019/all_logits\.npz")
def gupta_all_logits(path: Path, cfg: Mapping, rng) -> None:
    maps = _maps(rng, K)
    save_npz(path, x=_images(rng, 1)[0], label=cfg["gupta2019"]["all_logits"]["digit"], index=18,
             source="test-bed", logits=rng.normal(0, 5, K), prediction=3, maps=maps,
             competitive=_competitive(rng, maps))  # fmt: skip


@builder(r"gupta2019/score_histogram\.npz")
def gupta_score_histogram(path: Path, cfg: Mapping, rng) -> None:
    from saliency_sanity.experiments.gupta2019 import fit_mixtures

    settings = cfg["gupta2019"]["score_histogram"]
    scores = np.concatenate([rng.normal(0, 0.01, 2000), rng.normal(0.05, 0.05, 500)])
    fits = fit_mixtures(scores, settings["components"], 0)
    result: dict[str, Any] = {"scores": scores.astype(np.float32),
                              "n_images": settings["images"], "n_pixels": 200 * SIDE * SIDE,
                              "n_zero_input": 120_000,
                              "components": np.asarray([f["k"] for f in fits]),
                              "bic": np.asarray([f["bic"] for f in fits])}  # fmt: skip
    for f in fits:
        for key in ("weights", "means", "stds"):
            result[f"{key}_{f['k']}"] = f[key]
    save_npz(path, **result)


@builder(r"gupta2019/approximate_completeness\.npz")
def gupta_completeness(path: Path, cfg: Mapping, rng) -> None:
    settings = cfg["gupta2019"]["approximate_completeness"]
    result: dict[str, Any] = {"models": np.asarray(settings["models"])}
    for m in settings["models"]:
        logits = rng.normal(0, 5, (settings["images"], K))
        result[f"logits_{m}"] = logits
        result[f"sums_{m}"] = 0.8 * logits + 0.3 + rng.normal(0, 0.5, logits.shape)
    save_npz(path, **result)


@builder(r"gupta2019/cgi_maps\.npz")
def gupta_cgi_maps(path: Path, cfg: Mapping, rng) -> None:
    n = cfg["gupta2019"]["cgi_maps"]["images"]
    gi = _maps(rng, n)
    save_npz(path, x=_images(rng, n), labels=rng.integers(0, K, n), indices=np.arange(n),
             predictions=rng.integers(0, K, n), gi=gi, cgi=_competitive(rng, gi))  # fmt: skip


@builder(r"gupta2019/(?P<run>layerwise_cgi|cascading_cgi|cascading_clrp|cascading_cdasp)\.npz")
def gupta_randomization(path: Path, cfg: Mapping, rng, *, run: str) -> None:
    from saliency_sanity.experiments.gupta2019 import run_settings

    settings = run_settings(cfg, run)
    n = min(settings["images"], N)
    steps = _steps(settings["model"])
    result: dict[str, Any] = {"steps": np.asarray(steps), "accuracy": _accuracy(len(steps)),
                              "logits": rng.normal(size=(len(steps), n, K)),
                              "targets": rng.integers(0, K, (len(steps), n))}  # fmt: skip
    for key, params in settings["methods"].items():
        plain, null = _maps(rng, len(steps), n), _maps(rng, 2, n)
        result.update({f"maps_{key}": plain, f"maps_competitive_{key}": _competitive(rng, plain),
                       f"sums_{key}": rng.normal(size=(len(steps), n, K)),
                       f"null_maps_{key}": null,
                       f"null_maps_competitive_{key}": _competitive(rng, null)})  # fmt: skip
        for p, v in params.items():
            if isinstance(v, int | float | str):
                result[f"param_{key}_{p}"] = v
    references = ("random_map", "edge_detector")  # the experiments save both, every run
    for ref in references:
        result.update(
            {f"maps_{ref}": _maps(rng, len(steps), n), f"null_maps_{ref}": _maps(rng, 2, n)}
        )
    save_npz(path, **result, x=_images(rng, n), labels=rng.integers(0, K, n),
             references=np.asarray(references),
             indices=np.arange(n), methods=np.asarray(list(settings["methods"])),
             model=settings["model"], procedure=settings["procedure"],
             explained=cfg["gupta2019"]["explained_class"],
             null_seeds=np.asarray(cfg["gupta2019"]["null_seeds"]), n_classes=K,
             competition=-1)  # fmt: skip


@builder(r"gupta2019/data_randomization\.npz")
def gupta_data_randomization(path: Path, cfg: Mapping, rng) -> None:
    n = N  # <= the null's images (cascading_cgi), as in the pipeline (both the test-bed's)
    result: dict[str, Any] = {}
    for net in ("normal", "random_labels"):
        gi = _maps(rng, n)
        result.update({f"predictions_{net}": rng.integers(0, K, n),
                       f"logits_{net}": rng.normal(size=(n, K)), f"gi_{net}": gi,
                       f"cgi_{net}": _competitive(rng, gi)})  # fmt: skip
    save_npz(path, **result, x=_images(rng, n), labels=rng.integers(0, K, n),
             indices=np.arange(n))  # fmt: skip


# --- kindermans2017 ----------------------------------------------------------------------------


@builder(r"kindermans2017/shift_(?P<shift>\w+)\.npz")
def kindermans_shift(path: Path, cfg: Mapping, rng, *, shift: str) -> None:
    from saliency_sanity.experiments import kindermans2017 as k17

    settings = cfg["kindermans2017"]
    n, names = settings["images"], k17.map_names()
    maps1 = rng.normal(size=(len(names), n, 1, SIDE, SIDE))
    maps2 = maps1 + rng.normal(0, 0.1, maps1.shape) * rng.integers(0, 2, (len(names), 1, 1, 1, 1))
    x1 = _images(rng, n)[:, None]
    m2 = np.full_like(x1, -1.0) if shift == "constant" else rng.uniform(-0.3, 0.3, x1.shape)
    arrays = {"methods": np.asarray(names), "maps1": maps1, "maps2": maps2, "x1": x1,
              "x2": x1 + m2, "m2": m2, "target": rng.integers(0, K, n),
              "labels": np.arange(n) % K, "indices": np.arange(n),
              "max_abs_logit_difference": np.full(n, 2.4e-6), "n_test": np.asarray(10_000),
              "shift": np.asarray(shift),
              "shift_description": np.asarray(k17.describe_shift(shift, settings)),
              "shown_estimator": np.asarray(settings["patterns"]["shown"]),
              "ig_steps": np.asarray(settings["ig_steps"]),
              "pattern_images": np.asarray(settings["patterns"]["images"])}  # fmt: skip
    if shift == "constant":
        c = settings["correlation_images"]
        arrays.update(correlation_x=_images(rng, c)[:, None], correlation_labels=np.arange(c) % K,
                      **{f"correlation_pattern_net_{e}": rng.normal(size=(c, 1, SIDE, SIDE))
                         for e in k17.ESTIMATORS})  # fmt: skip
    save_npz(path, **arrays)


# --- samek2020 ---------------------------------------------------------------------------------


def _shown(rng, n: int) -> dict[str, np.ndarray]:
    """The inputs and labels of the first ``n`` test-bed images."""
    return {"x": _images(rng, n), "labels": rng.integers(0, K, n), "indices": np.arange(n),
            "predicted": rng.integers(0, K, n)}  # fmt: skip


@builder(r"samek2020/(?P<name>deconvnet|lrp_rules|other_methods)\.npz")
def samek_method_maps(path: Path, cfg: Mapping, rng, *, name: str) -> None:
    settings = cfg["samek2020"]
    n = settings["other_methods"]["images"] if name == "other_methods" else settings["show"]
    methods = list(settings[name]["methods"])
    maps = _maps(rng, len(methods), n)[:, :, None]
    save_npz(
        path,
        **_shown(rng, n),
        logits=rng.normal(3, 1, (n, K)),
        methods=np.array(methods),
        maps=maps,
        sums=maps.reshape(len(methods), n, -1).sum(-1),
    )


@builder(r"samek2020/linear_model\.npz")
def samek_linear_model(path: Path, cfg: Mapping, rng) -> None:
    n = cfg["samek2020"]["show"]
    shown = _shown(rng, n)
    logits = rng.normal(3, 1, (n, K))
    save_npz(path, **{**shown, "x": shown["x"][:, None]}, logits=logits,
             maps=_maps(rng, n)[:, None], weights=_maps(rng, K), bias=rng.normal(size=K),
             sum_plus_bias=logits[np.arange(n), shown["predicted"]],
             linear_minus_gi=np.full(n, 1e-7))  # fmt: skip


@builder(r"samek2020/occlusion\.npz")
def samek_occlusion(path: Path, cfg: Mapping, rng) -> None:
    settings = cfg["samek2020"]["occlusion"]
    fills = ["zero", "test_mean", "image_mean"]
    save_npz(path, **_shown(rng, settings["images"]), patches=np.array(settings["patches"]),
             stride=np.array(-1), fills=np.array(fills),
             fill_values=np.array([0.0, 0.13, np.nan]),
             maps=_maps(rng, len(settings["patches"]), len(fills), settings["images"])[
                 :, :, :, None])  # fmt: skip


@builder(r"samek2020/ig_equals_gi\.npz")
def samek_ig_equals_gi(path: Path, cfg: Mapping, rng) -> None:
    settings = cfg["samek2020"]["ig_equals_gi"]
    names = [settings["bias_free"], settings["biased"]]
    steps = settings["steps"]
    rel = np.abs(rng.normal(0, 0.1, (2, len(steps), N)))
    rel[0] *= 1e-6  # the bias-free net: IG = GI
    save_npz(path, models=np.array(names), steps=np.array(steps), rel_diff=rel,
             completeness=np.abs(rng.normal(0, 0.01, rel.shape)),
             ig_example=_maps(rng, 2)[:, None], gi_example=_maps(rng, 2)[:, None],
             x_example=_images(rng, 1)[0], indices=np.arange(N))  # fmt: skip


@builder(r"samek2020/gradient_input_practice\.npz")
def samek_gradient_input_practice(path: Path, cfg: Mapping, rng) -> None:
    show, n = cfg["samek2020"]["show"], cfg["testbed"]["size"]
    pos = rng.uniform(0.3, 0.7, n)
    shown = _shown(rng, n)
    save_npz(path, **{**shown, "x": shown["x"][:show]}, maps=_maps(rng, show)[:, None],
             frac_positive=0.2 * pos, frac_negative=0.2 * (1 - pos), frac_zero=np.full(n, 0.8),
             frac_positive_on=pos, frac_negative_on=1 - pos, positive_mass=pos)  # fmt: skip


@builder(r"samek2020/shattered_gradients\.npz")
def samek_shattered(path: Path, cfg: Mapping, rng) -> None:
    settings = cfg["samek2020"]["shattered_gradients"]
    m, p, points = len(settings["models"]), settings["pairs"], settings["points"]
    mid = points // 2
    curves = {
        k: np.cumsum(rng.normal(size=(m, p, points)), axis=-1)
        for k in ("function", "grad_norm", "grad_pixel", "directional", "other_logit")
    }
    save_npz(path, models=np.array(settings["models"]), t=np.linspace(0, 1, points),
             shown_points=np.array([0, mid, mid + 1, mid + 2, points - 1]), **curves,
             cosine=rng.uniform(-1, 1, (m, p, points - 1)), grad_maps=_maps(rng, m, p, 5),
             pixel=rng.integers(0, SIDE * SIDE, (m, p)),
             classes=rng.integers(0, K, (m, p, 4)))  # fmt: skip


@builder(r"samek2020/smoothgrad\.npz")
def samek_smoothgrad(path: Path, cfg: Mapping, rng) -> None:
    s, show = cfg["samek2020"]["smoothgrad"], cfg["samek2020"]["show"]
    samples = np.array(s["samples"])
    std = 0.5 / np.sqrt(samples)
    save_npz(path, **_shown(rng, show), gi=_maps(rng, show)[:, None],
             smooth_gi=_maps(rng, show)[:, None], samples=samples, noise_std=std,
             noise_ref=std[:, None] * rng.uniform(0.9, 1.1, (len(samples), s["seeds"])),
             settings=np.array([s["display_samples"], s["images"], s["seeds"],
                                s["reference_samples"], s["noise"]]))  # fmt: skip


@builder(r"samek2020/method_connections\.npz")
def samek_method_connections(path: Path, cfg: Mapping, rng) -> None:
    names = cfg["samek2020"]["method_connections"]["models"]
    pairs = ["lrp_0 vs gradient_input", "lrp_0_default vs gradient_input",
             "integrated_gradients vs gradient_input", "deep_taylor vs lrp_0"]  # fmt: skip
    save_npz(path, models=np.array(names), pairs=np.array(pairs),
             stabilizer=np.array(cfg["samek2020"]["method_connections"]["stabilizer"]),
             rel_diff=np.abs(rng.normal(0, 1e-3, (len(names), len(pairs), N))),
             lrp0_conservation=rng.uniform(0.9, 1.1, (len(names), N)),
             indices=np.arange(N))  # fmt: skip


# --- beyond the papers -------------------------------------------------------------------------


@builder(r"beyond/randomization_variants_(?P<model>\w+)\.npz")
def variants(path: Path, cfg: Mapping, rng, *, model: str) -> None:
    from saliency_sanity.experiments.randomization_variants import MPRT_VARIANTS

    settings = cfg["randomization_variants"]
    cam = getattr(models.build(model), "gradcam_layer", None) is not None
    names = [v for v, _, _ in MPRT_VARIANTS]
    names += [f"sMPRT ({settings['smooth_samples']} samples), Spearman |m|", "eMPRT, entropy rise"]
    rows = [{"variant": v, "method": m,
             "score": float(rng.uniform(-0.2, 1)) if cam or "gradcam" not in m else np.nan,
             "null": 0.3, "n": settings["images"], "note": ""}
            for v in names for m in settings["methods"]]  # fmt: skip
    save_npz(path, table=pd.DataFrame(rows), indices=np.arange(settings["images"]), model=model)


@builder(r"beyond/scorecard\.npz")
def scorecard(path: Path, cfg: Mapping, rng) -> None:
    from saliency_sanity.attribution import METHODS
    from saliency_sanity.checks.scorecard import CHECKS, COLUMNS

    rows = []
    for m in METHODS:
        for check in CHECKS:
            score = float(rng.uniform(0, 1)) if rng.random() > 0.1 else np.nan
            passes = "" if np.isnan(score) else str(score < 0.5)
            rows.append({"method": m, "check": check, "measure": "spearman_abs", "score": score,
                         "null": 0.4, "rule": "measured <= null + 0.1", "passes": passes,
                         "n": cfg["scorecard"]["images"], "note": "", "params": ""})  # fmt: skip
    table = pd.DataFrame(rows)[[*COLUMNS, "params"]]
    save_npz(path, table=table, indices=np.arange(cfg["scorecard"]["images"]),
             model=cfg["scorecard"]["model"], random_labels=True)  # fmt: skip
