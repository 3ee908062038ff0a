"""The data randomisation test (Adebayo et al. 2018, Sec. 5): does a map depend on the
relation between inputs and labels that the model learnt?

The same architecture is trained twice, on the true labels and on permuted labels (it then
memorises the training set); the maps of the two models on the same images are compared. A
method whose maps stay similar explains the input, not what the model learnt. Read against the
null of two independently initialised, untrained copies (the architecture prior).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import torch
from torch import nn

from saliency_sanity.checks import _tidy
from saliency_sanity.checks.layers import InitFn, steps_of, untrained_copies
from saliency_sanity.checks.measures import DEFAULT, check_measures, compare, not_applicable
from saliency_sanity.checks.methods import eval_copy
from saliency_sanity.checks.methods import not_applicable as method_not_applicable
from saliency_sanity.checks.methods import specs as method_specs
from saliency_sanity.checks.parameter import NULL_SEEDS, explained


def data_randomization(
    model: nn.Module,
    model_random_labels: nn.Module,
    x: torch.Tensor,
    target=None,
    methods: Sequence[str] | Mapping[str, Any] | None = None,
    *,
    measures: Sequence[str] = DEFAULT,
    init: str | InitFn = "training",
    null: bool = True,
    null_seeds: Sequence[int] = NULL_SEEDS,
    maps_out: dict | None = None,
) -> pd.DataFrame:
    """Similarity between the maps of ``model`` and of ``model_random_labels`` (same
    architecture, trained on permuted labels) on ``x``; each model explains ``target`` or, for
    None, its own prediction (Adebayo et al. explain each model's prediction). Tidy rows, step
    ``"random labels"``, with the null of two untrained copies of ``model``. ``maps_out``: a
    dict that receives each method's maps, ``{label: (model's, model_random_labels')}``
    (float64 NumPy), for a caller that also draws them."""
    if [p.shape for p in model.parameters()] != [p.shape for p in model_random_labels.parameters()]:
        raise ValueError("model and model_random_labels must have the same architecture")
    specs = method_specs(methods)
    measures = check_measures(measures)
    model, model_random_labels = eval_copy(model), eval_copy(model_random_labels)
    copies = []
    if null:
        copies = untrained_copies(model, steps_of(model, x), init=init, seeds=null_seeds)
    rows = []
    for spec in specs:
        if reason := method_not_applicable(spec, model):
            rows += _tidy.not_applicable("data_randomization", spec.label, measures, reason)
            continue
        maps = [explained(spec, net, x, target) for net in (model, model_random_labels, *copies)]
        if maps_out is not None:
            maps_out[spec.label] = (maps[0], maps[1])
        for measure in measures:
            reason = not_applicable(measure, maps[0].shape)
            values = None if reason else compare(measure, maps[0], maps[1])
            nul = compare(measure, maps[2], maps[3]) if copies and not reason else None
            rows.append(_tidy.row("data_randomization", spec.label, "random labels", 1,
                                  measure, values, nul, reason or ""))  # fmt: skip
    return _tidy.frame(rows)
