"""The scorecard: every check x every method for one model, each score read against its null.

Checks (columns): cascading and independent parameter randomisation (Adebayo et al. 2018,
Sec. 3), data randomisation (ibid., Sec. 5; needs the model trained on permuted labels), the
random-logit test (Sixt et al. 2020), and input invariance under a constant, a checkerboard and
the cat shift (Kindermans et al. 2017, Secs. 2, 3.2, 4). The rules (column ``rule``):

* a similarity check **passes** when the score is no more than its null (two untrained,
  unrelated networks) plus :data:`~saliency_sanity.verdicts.MARGIN`, and the null leaves room
  (below 1 - margin: when two unrelated networks' maps already agree, the input sets the map and
  the check cannot tell a method that reads the network; such a cell passes only if the score
  falls clearly below the null). This is the reading of the figures' claims
  (:func:`saliency_sanity.verdicts.is_sensitive`), so a claim and a cell cannot disagree;
* an invariance check **passes** when the maps of the two networks agree to
  :data:`INVARIANCE_TOLERANCE` of the map's maximum (``null``: the same difference for a zero
  shift, the float floor).

A cell is empty only where the check cannot apply (the method needs a layer the model lacks, no
random-label model was given, ...), with the reason in ``note``.

Two preconditions come before the rules, and fail a cell whatever its score (``note`` says
which): a map must show something (a method whose maps of the model are constant on every image
fails every check), and the model must read its input (logits equal on every image: every
method fails). By their own rules the checks cannot see either (a constant map has no ranks and
is trivially invariant; noise passes a randomisation test on any model).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from saliency_sanity import shifts
from saliency_sanity.checks.data_randomization import data_randomization
from saliency_sanity.checks.input_invariance import first_layer, input_invariance
from saliency_sanity.checks.methods import PerModel, Spec, eval_copy, shared_maps, uses_patterns
from saliency_sanity.checks.methods import specs as method_specs
from saliency_sanity.checks.parameter import model_randomization
from saliency_sanity.checks.random_logit import random_logit
from saliency_sanity.verdicts import MARGIN, is_sensitive

#: relative map difference below which a method counts as input invariant
INVARIANCE_TOLERANCE = 1e-3
#: a null at or above this leaves a similarity check no power: the maps of two unrelated
#: networks already agree, so the input, not the network, sets the map (Gradient x Input on
#: MNIST, the edge detector); such a cell fails unless the score falls below null - margin
NULL_CEILING = 1 - MARGIN
SIMILARITY_RULE = (f"passes if score <= null + {MARGIN:g} (null < {NULL_CEILING:g}), else if "
                   f"score < null - {MARGIN:g}")  # fmt: skip
INVARIANCE_RULE = f"passes if score <= {INVARIANCE_TOLERANCE:g} (max |a1 - a2| / max |a1|)"
#: the columns of the scorecard, in this order
COLUMNS = ("method", "check", "measure", "score", "null", "rule", "passes", "n", "note")
CHECKS = ("cascading randomisation", "independent randomisation", "data randomisation",
          "random logit", "constant shift", "checkerboard shift", "cat shift")  # fmt: skip


def _similarity_cells(check: str, df: pd.DataFrame, measure: str, how: str) -> list[dict]:
    cells = []
    for method, rows in df[df["measure"] == measure].groupby("method", sort=False):
        note = "; ".join(sorted(set(rows["note"]) - {""}))
        steps = rows[rows["index"] > 0]
        undefined = "no score: the measure is undefined on every image (constant maps)"
        if steps.empty or steps["n"].sum() == 0:
            cells.append(_cell(method, check, measure, np.nan, np.nan, SIMILARITY_RULE, 0,
                               note or undefined))  # fmt: skip
            continue
        score = steps["mean"].iloc[-1] if how == "last" else float(steps["mean"].mean())
        null = float(steps["null_mean"].iloc[-1])
        if np.isnan(score):
            note = "; ".join(filter(None, [note, undefined]))
        elif np.isnan(null):
            note = "; ".join(filter(None, [note, "no null: the untrained copies' maps are "
                                           "constant, so the score cannot be read"]))  # fmt: skip
        n = int(steps["n"].min())
        cells.append(_cell(method, check, measure, score, null, SIMILARITY_RULE, n, note))
    return cells


def _invariance_cells(check: str, df: pd.DataFrame) -> list[dict]:
    return [_cell(r.method, check, r.measure, r.mean, r.null_mean, INVARIANCE_RULE, r.n, r.note)
            for r in df.itertuples()]  # fmt: skip


def _cell(method, check, measure, score, null, rule, n, note) -> dict:
    if np.isnan(score):
        passes = None
    elif rule == SIMILARITY_RULE:
        passes = is_sensitive(score, null, MARGIN)
    else:
        passes = bool(score <= INVARIANCE_TOLERANCE)
    return {"method": method, "check": check, "measure": measure, "score": score, "null": null,
            "rule": rule, "passes": passes, "n": int(n), "note": note}  # fmt: skip


def _empty(specs: Sequence[Spec], check: str, measure: str, rule: str, note: str) -> list[dict]:
    return [_cell(s.label, check, measure, np.nan, np.nan, rule, 0, note) for s in specs]


def cat_shifts(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor | str:
    """The kindermans2017 Sec. 4 shift per image that makes Gradient x Input draw a cat
    (:func:`saliency_sanity.shifts.cat_shift`), or the reason it does not apply."""
    if x.dim() != 4 or x.shape[-1] != x.shape[-2]:
        return f"the cat shift needs square images (N, C, H, H), got {tuple(x.shape)}"
    from saliency_sanity.attribution import attribute

    grad = attribute("gradient", model, x, target)
    cat = shifts.cat_image(size=x.shape[-1]).to(x)
    return shifts.cat_shift(grad, x, cat)


def with_patterns(methods, fit_inputs: torch.Tensor | None) -> list[Spec]:
    """The specs of ``methods``; PatternNet, PatternAttribution and Deep Taylor with pattern
    roots get patterns fitted on ``fit_inputs`` for every model they explain (the patterns
    depend on the weights, so each randomised model needs its own)."""
    from saliency_sanity.attribution import fit_patterns

    # one fit per model object, shared by the pattern methods; dropped with the model
    fitted: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def fit(model: nn.Module):
        if model not in fitted:
            data = fit_inputs.to(next(model.parameters()))  # its device and dtype
            shift = getattr(model, "input_shift", None)  # network 2 sees shifted inputs
            data = data if shift is None else data + shift.to(data)
            fitted[model] = fit_patterns(model, data)
        return fitted[model]

    out = []
    for spec in method_specs(methods):
        given = (spec.params or {}).get("patterns")
        if uses_patterns(spec) and fit_inputs is not None and given is None:
            spec = Spec(spec.label, spec.name, {**(spec.params or {}), "patterns": PerModel(fit)})
        out.append(spec)
    return out


def scorecard(
    model: nn.Module,
    x: torch.Tensor,
    target=None,
    methods: Sequence[str] | Mapping[str, Any] | None = None,
    *,
    model_random_labels: nn.Module | None = None,
    fit_inputs: torch.Tensor | None = None,
    measure: str = "spearman_abs",
    logit_measure: str = "ssim",
    init: str = "training",
    seed: int = 0,
    checks: Sequence[str] = CHECKS,
    progress: bool = False,
) -> pd.DataFrame:
    """Every check of :data:`CHECKS` x every method: one row per cell (:data:`COLUMNS`).

    ``score`` is the final step's mean similarity (cascading), the mean over layers
    (independent), the mean similarity (data randomisation, random logit) or the mean relative
    map difference (shifts); ``null`` its null; ``passes`` by ``rule`` (None for an empty cell);
    ``n`` the images behind the score (independent: the fewest of any layer; cascading: the
    fully randomised model's, the only step explained). ``fit_inputs`` (training inputs) let
    the pattern methods fit their patterns.
    """
    unknown = [c for c in checks if c not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check(s) {unknown}; known: {list(CHECKS)}")
    model = eval_copy(model)
    if model_random_labels is not None:
        model_random_labels = eval_copy(model_random_labels)
    specs = with_patterns(methods, fit_inputs)
    m = {s.label: (s.fn if s.fn else (s.name, s.params or {})) for s in specs}
    kw = {"methods": m, "init": init}
    cells: list[dict] = []
    bar = tqdm(checks, desc="scorecard", disable=not progress)
    with shared_maps():
        for check in bar:
            bar.set_postfix_str(check)
            if check.endswith("randomisation") and check != "data randomisation":
                order = check.split()[0]
                # the cascading cell reads only the last step: its intermediate models' maps
                # are not computed (on the AlexNet 6 of 29 map computations per method: the
                # first top-down step is the independent check's logits step, shared)
                df = model_randomization(model, x, target, order=order, seed=seed,
                                         measures=(measure,), final_only=order == "cascading",
                                         **kw)  # fmt: skip
                how = "last" if order == "cascading" else "mean"
                cells += _similarity_cells(check, df, measure, how)
            elif check == "data randomisation":
                if model_random_labels is None:
                    cells += _empty(specs, check, measure, SIMILARITY_RULE, "no random-label model")
                    continue
                df = data_randomization(model, model_random_labels, x, target,
                                        measures=(measure,), **kw)  # fmt: skip
                cells += _similarity_cells(check, df, measure, "last")
            elif check == "random logit":
                df = random_logit(model, x, target, measures=(logit_measure,), seed=seed, **kw)
                cells += _similarity_cells(check, df, logit_measure, "last")
            else:
                cells += _invariance(check, model, x, target, specs, m)
        bar.close()
        table = pd.DataFrame(cells, columns=list(COLUMNS))
        if _ignores_input(model, x):
            table = _fail(table, table["method"].notna(), IGNORES_INPUT)
        else:
            table = _flag_constant(table, model, x, target, specs)
    table.attrs.update(measure=measure, logit_measure=logit_measure, init=init, seed=seed)
    return table


CONSTANT = "constant maps: the method shows nothing for this model"
IGNORES_INPUT = ("the model ignores its input (the same logits for every image): a map can show "
                 "nothing the model computes")  # fmt: skip


def _fail(table: pd.DataFrame, rows: pd.Series, note: str) -> pd.DataFrame:
    """Fail the cells of ``rows`` that a method has, with ``note``; a check that cannot apply
    keeps its empty cell and its reason. The scorecard's preconditions (below), not a check's
    rule: a map must show something for any check to pass it."""
    measured = table["note"].str.startswith(("no score", "no null")) | (table["note"] == "")
    rows = rows & (table["passes"].notna() | measured)
    table.loc[rows, "passes"] = False
    table.loc[rows, "note"] = [f"{n}; {note}" if n else note for n in table.loc[rows, "note"]]
    return table


def _ignores_input(model: nn.Module, x: torch.Tensor) -> bool:
    """Whether ``model``'s logits are the same for every image of ``x`` (two or more), to a few
    units of float rounding. Then the faithful map is zero, which no check can pass (a zero map
    has no ranks and is trivially invariant), and a map that shows structure (noise, edges) shows
    what the model does not compute: every method fails every check it has."""
    if len(x) < 2:
        return False
    with torch.no_grad():
        logits = torch.cat([model(xb) for xb in x.split(256)])
    spread = float((logits - logits[:1]).abs().max())
    return spread <= 4 * torch.finfo(logits.dtype).eps * float(logits.abs().max())


def _flag_constant(table, model, x, target, specs) -> pd.DataFrame:
    """A method whose maps of the trained model are constant on every image carries no
    information: it fails every check (a similarity of two constant maps is undefined or 1, a
    zero map is trivially 'invariant')."""
    from saliency_sanity.checks.methods import not_applicable, targets_for

    t = targets_for(model, x, target)
    for spec in specs:
        if not_applicable(spec, model):
            continue
        maps = spec.explain(model, x, t).flatten(1)
        if bool((maps.amax(1) == maps.amin(1)).all()):
            table = _fail(table, table["method"] == spec.label, CONSTANT)
    return table


def _invariance(check, model, x, target, specs, methods) -> list[dict]:
    measure = "max_relative_difference"
    if x.dim() != 4 and check != "constant shift":
        return _empty(specs, check, measure, INVARIANCE_RULE,
                      f"the {check} needs images (N, C, H, W), got {tuple(x.shape)}")  # fmt: skip
    if check == "cat shift":
        from saliency_sanity.checks.methods import targets_for

        shift = cat_shifts(model, x, targets_for(model, x, target))
    else:
        shift = -1.0 if check == "constant shift" else "checkerboard"
    if isinstance(shift, str) and check == "cat shift":
        return _empty(specs, check, measure, INVARIANCE_RULE, shift)
    try:
        first_layer(model, x)
    except ValueError as err:  # the first layer is not a Linear or a Conv2d
        return _empty(specs, check, measure, INVARIANCE_RULE, str(err))
    try:
        df = input_invariance(model, x, target, methods=methods, shift=shift, name=check)
    except RuntimeError as err:  # the logits of network 2 differ: nothing to compare
        return _empty(specs, check, measure, INVARIANCE_RULE, str(err))
    return _invariance_cells(check, df)
