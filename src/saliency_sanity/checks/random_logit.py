"""The random-logit test (Sixt et al. 2020, "When explanations lie", Sec. 5): is a map specific
to the class it explains?

The map for the explained class is compared with the map for a randomly drawn other class of
the same image. A method whose maps do not depend on the class (Sixt et al. show this for
several modified-backpropagation methods, whose maps converge to the same image in deep
networks) scores near 1. The other class is drawn as Quantus 0.6 draws it
(``RandomState(seed).randint(0, K - 1)``, skipping the explained class), so the two agree on
it; unlike Quantus, SSIM is computed on the 2-D maps (``ssim``), not on maps flattened to 1-D
(``ssim_1d``, kept for the comparison).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from saliency_sanity.checks import _tidy
from saliency_sanity.checks.layers import InitFn, steps_of, untrained_copies
from saliency_sanity.checks.measures import check_measures, compare, not_applicable
from saliency_sanity.checks.methods import eval_copy, targets_for
from saliency_sanity.checks.methods import not_applicable as method_not_applicable
from saliency_sanity.checks.methods import specs as method_specs
from saliency_sanity.checks.parameter import NULL_SEEDS, explained


def other_class(target: torch.Tensor, classes: int, seed: int = 0) -> torch.Tensor:
    """A random class != ``target`` per image (N,), seeded: Quantus' draw (uniform over the
    ``classes - 1`` other classes)."""
    if classes < 2:
        raise ValueError(f"the random-logit test needs at least 2 classes, got {classes}")
    r = np.random.RandomState(int(seed)).randint(0, classes - 1, len(target))
    r = torch.as_tensor(r, device=target.device)
    return r + (r >= target).long()


def random_logit(
    model: nn.Module,
    x: torch.Tensor,
    target=None,
    methods: Sequence[str] | Mapping[str, Any] | None = None,
    *,
    measures: Sequence[str] = ("ssim",),
    seed: int = 0,
    init: str | InitFn = "training",
    null: bool = True,
    null_seeds: Sequence[int] = NULL_SEEDS,
) -> pd.DataFrame:
    """Similarity between the map of ``target`` (None: the prediction) and the map of a random
    other class (:func:`other_class`), per method and measure (tidy rows, step ``"random
    logit"``). The null: the same measure between the map of each untrained copy's predicted
    class and of a random other class, over two independently initialised copies: how
    class-specific a map is when the network has learnt no class."""
    specs = method_specs(methods)
    measures = check_measures(measures)
    model = eval_copy(model)
    target = targets_for(model, x, target)
    with torch.no_grad():
        classes = model(x[:1]).shape[1]
    off = other_class(target, classes, seed)
    copies = []
    if null:
        copies = untrained_copies(model, steps_of(model, x), init=init, seeds=null_seeds)
    rows = []
    for spec in specs:
        if reason := method_not_applicable(spec, model):
            rows += _tidy.not_applicable("random_logit", spec.label, measures, reason)
            continue
        own, other = explained(spec, model, x, target), explained(spec, model, x, off)
        null_pairs = []
        for c in copies:  # each untrained copy: its own class against a random other one
            t = targets_for(c, x, None)
            pair = explained(spec, c, x, t), explained(spec, c, x, other_class(t, classes, seed))
            null_pairs.append(pair)
        for measure in measures:
            reason = not_applicable(measure, own.shape)
            values = None if reason else compare(measure, own, other)
            nul = None
            if copies and not reason:
                nul = np.concatenate([compare(measure, a, b) for a, b in null_pairs])
            rows.append(_tidy.row("random_logit", spec.label, "random logit", 1, measure,
                                  values, nul, reason or ""))  # fmt: skip
    return _tidy.frame(rows, seed=seed)
