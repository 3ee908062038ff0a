"""Sanity checks for any model (DESIGN.md, "Sanity checks for any model").

>>> from saliency_sanity import checks
>>> df = checks.model_randomization(model, x, target, methods=["gradient", "guided_backprop"],
...                                 order="cascading", direction="top_down", init="training")
>>> card = checks.scorecard(model, x, target, methods=["gradient", "integrated_gradients"])

Every check returns a tidy DataFrame (``check, method, step, index, measure, mean, std, n,
null_mean, null_std, note``) whose similarities are read against a null: the same measure
between two independently initialised, untrained copies of the architecture. The model passed
in is never modified (randomisation works on copies; hooks are removed).
"""

from saliency_sanity.checks.data_randomization import data_randomization
from saliency_sanity.checks.input_invariance import compensated, input_invariance
from saliency_sanity.checks.layers import forward_order, steps_of, untrained_copies
from saliency_sanity.checks.measures import MEASURES
from saliency_sanity.checks.methods import PerModel
from saliency_sanity.checks.parameter import efficient_mprt, model_randomization, smooth_mprt
from saliency_sanity.checks.random_logit import random_logit
from saliency_sanity.checks.scorecard import CHECKS, scorecard

__all__ = [
    "CHECKS",
    "MEASURES",
    "PerModel",
    "compensated",
    "data_randomization",
    "efficient_mprt",
    "forward_order",
    "input_invariance",
    "model_randomization",
    "random_logit",
    "scorecard",
    "smooth_mprt",
    "steps_of",
    "untrained_copies",
]
