"""How a similarity after randomisation is read against its null (FIGURES.md, "Claims").

Adebayo et al. (2018) compare a method's maps of the same inputs before and after the network's
weights are re-initialised: a method is *sensitive* to the model parameters when its maps
change, *insensitive* when they stay alike. How alike two networks' maps of one input are is in
part set by the architecture and the input alone (the seed's own conclusion: the architecture is
a prior). The **null** measures that part: the same similarity between the maps of two
independently initialised, untrained copies of the architecture (same images, same method).
A similarity is read against it, with a margin:

* **insensitive**: ``measured > null + margin``. The randomised network's map is more alike to
  the trained network's than two untrained copies' maps are to each other: something of the
  trained map survives the randomisation. After *full* randomisation the network is itself an
  untrained copy, so this holds only when the trained map is the architecture's typical map
  (what all initialisations share), i.e. when training did not move the map;
* **sensitive**: ``measured <= null + margin``. What the two maps share is no more than what the
  architecture and the input give any two networks;
* **no power**: ``null >= 1 - margin``. Two untrained copies' maps already agree (the input sets
  the map: zero pixels tie in Gradient x Input on MNIST; the edge detector never reads the
  weights). The similarity cannot tell one untrained network from another, so "insensitive"
  (``measured >= null - margin``: as alike as any two networks) holds by construction unless
  the trained map departs from what every initialisation gives; such a row is an identity, never
  evidence. "Sensitive" then holds only if it does depart: ``measured < null - margin``.

The scorecard (:mod:`saliency_sanity.checks.scorecard`) passes a randomisation cell by the same
reading (:func:`is_sensitive`), so a figure's claim and a scorecard cell cannot disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: the default margin of the reading (config: adebayo2018.randomization.null_margin,
#: gupta2019.rank_margin): Spearman/SSIM means over 200 images move by ~0.02 between training
#: runs, so 0.1 is several times the run-to-run noise and small against the scale [-1, 1]
MARGIN = 0.1
EXPECTATIONS = ("sensitive", "insensitive")


@dataclass(frozen=True)
class Reading:
    """A claim's rule (for :func:`saliency_sanity.report.evaluate`), its words, and whether the
    null leaves the similarity no power (then the verdict follows from the input)."""

    rule: str
    why: str
    no_power: bool


def no_power(null: float, margin: float = MARGIN) -> bool:
    """Two untrained copies' maps agree to within ``margin`` of identical maps."""
    return math.isfinite(null) and null >= 1 - margin


def read_against_null(expected: str, null: float, margin: float = MARGIN) -> Reading:
    """The rule that reads a similarity (trained vs randomised maps) against its ``null``,
    for a claim that the method is ``expected`` ("sensitive" or "insensitive")."""
    if expected not in EXPECTATIONS:
        raise ValueError(f"expected must be one of {EXPECTATIONS}, got {expected!r}")
    if no_power(null, margin):
        words = (f"two untrained copies already agree to {null:.3f}: the input sets the map, so "
                 "the maps are as alike as any two networks' by construction")  # fmt: skip
        if expected == "insensitive":
            return Reading(f"measured >= null - {margin:g}", f"insensitive; {words}", True)
        why = f"sensitive only if the trained map departs from that; {words}"
        return Reading(f"measured < null - {margin:g}", why, True)
    if expected == "insensitive":
        return Reading(f"measured > null + {margin:g}",
                       "insensitive: more alike than two untrained copies", False)  # fmt: skip
    return Reading(f"measured <= null + {margin:g}",
                   "sensitive: no more alike than two untrained copies", False)  # fmt: skip


def is_sensitive(measured: float, null: float, margin: float = MARGIN) -> bool | None:
    """The same reading as a verdict (the rule of a "sensitive" claim): the similarity is no
    more than the null plus the margin or, when the null has no power, below the null minus the
    margin; None without a finite score or null."""
    if not (math.isfinite(measured) and math.isfinite(null)):
        return None
    if no_power(null, margin):
        return bool(measured < null - margin)
    return bool(measured <= null + margin)
