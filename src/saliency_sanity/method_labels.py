"""One table of the attribution methods' labels: what figures draw, and what captions cite.

Every registered method (``saliency_sanity.attribution.METHODS``) has a row here: its short
label, a few words (the papers' abbreviations), drawn as row labels, legends and ticks; and its
citation (bibtex key, equation, the setting chosen), for captions and the gallery, never for a
row label. The registry takes both from this table (``Method.short``, ``Method.cite``). The
module imports nothing heavy, so a figure job reads labels without loading torch.

A run of a method with a parameter set is labelled by :func:`label`: the short label with the
parameter described after it ("IG (black ref.)"); SmoothGrad and VarGrad of a base method are
"<base>-SG" and "<base>-VG", and the competitive variant of a method (gupta2019) is "C<short>".
"""

from __future__ import annotations

from typing import Any

#: registry name -> (short label, citation)
METHOD_LABELS: dict[str, tuple[str, str]] = {
    "gradient": ("Gradient", "simonyan2013 eq. 1"),
    "gradient_input": ("GI", "Gradient ⊙ Input; shrikumar2016, ancona2018 eq. 3"),
    "integrated_gradients": ("IG", "Integrated Gradients; sundararajan2017 eq. 1"),
    "smoothgrad": ("SmoothGrad", "smilkov2017 eq. 3"),
    "vargrad": ("VarGrad", "adebayo2018 Sec. 3"),
    "guided_backprop": ("Guided Backprop", "springenberg2014"),
    "deconvnet": ("DeconvNet", "zeiler2014"),
    "gradcam": ("GradCAM", "selvaraju2017 eqs. 1-2"),
    "guided_gradcam": ("Guided GradCAM", "selvaraju2017 Sec. 3.1"),
    "occlusion": ("Occlusion", "zeiler2014"),
    "lrp_0": ("LRP-0", "bach2015; montavon2019 eq. 10.1"),
    "lrp_epsilon": ("LRP-ε", "montavon2019 eq. 10.2; ε = 0.25 RMS(z)"),
    "lrp_gamma": ("LRP-γ", "montavon2019 eq. 10.3"),
    "lrp_alpha_beta": ("LRP-α2β1", "bach2015 eq. 60"),
    "lrp_composite": (
        "LRP composite",
        "montavon2019 Sec. 10.3: z^B at the pixels, γ in the "
        "lower layers, ε in the upper ones (VGG-16: LRP-0 at the dense layers)",
    ),
    "deep_taylor": ("DTD", "Deep Taylor decomposition; montavon2017"),
    "pattern_net": ("PatternNet", "kindermans2018"),
    "pattern_attribution": ("PatternAttribution", "kindermans2018"),
    "dasp": ("DASP", "ancona2019"),
    "lime": ("LIME", "ribeiro2016"),
    "kernel_shap": ("KernelSHAP", "lundberg2017"),
    "linear": ("Linear (w ⊙ x)", "samek2020; bach2015 eq. 2"),
    "random_map": ("Random map", "binder2023 Sec. 4"),
    "edge_detector": ("Edge detector", "Sobel; adebayo2018 NeurIPS Fig. 1"),
}
#: the prefix of a method's competitive variant (gupta2019), and its label's prefix
COMPETITIVE = "competitive_"
#: how a parameter that tells two runs of one method apart reads in its label
PARAMETER_TEXT = {"baseline": "{} ref.", "root": "{} root", "estimator": "{} est."}
#: SmoothGrad and VarGrad of a base method read "<base>-SG" / "<base>-VG" (adebayo2018's names)
NOISE_SUFFIX = {"smoothgrad": "SG", "vargrad": "VG"}


def short(name: str) -> str:
    """The short label of a registry name (``competitive_<m>``: "C" + m's); a name without a
    row reads as itself, underscores as spaces."""
    if name in METHOD_LABELS:
        return METHOD_LABELS[name][0]
    if name.startswith(COMPETITIVE) and name.removeprefix(COMPETITIVE) in METHOD_LABELS:
        return "C" + METHOD_LABELS[name.removeprefix(COMPETITIVE)][0]
    return name.replace("_", " ")


def cite(name: str) -> str:
    """The citation of a registry name ("" without a row)."""
    if name in METHOD_LABELS:
        return METHOD_LABELS[name][1]
    base = name.removeprefix(COMPETITIVE)
    if name.startswith(COMPETITIVE) and base in METHOD_LABELS:
        return f"gupta2019 competition on {short(base)} ({cite(base)})"
    return ""


def label(name: str, *notes: str, **params: Any) -> str:
    """What a figure draws for method ``name``: its short label, then the ``params`` that tell
    two runs of it apart and any ``notes``, in parentheses.

    ``label("integrated_gradients", baseline="black")`` -> "IG (black ref.)";
    ``label("smoothgrad", base="gradient")`` -> "Gradient-SG"; ``label("pattern_net",
    "predicted", estimator="paper")`` -> "PatternNet (paper est., predicted)". A ``base`` of
    None is left out.
    """
    base = params.pop("base", None)
    if name in NOISE_SUFFIX and base is not None:
        text = f"{label(base)}-{NOISE_SUFFIX[name]}"
    else:
        text = short(name)
        if base is not None:
            params["base"] = label(base)
    parts = [PARAMETER_TEXT.get(k, k + " {}").format(v) for k, v in params.items()]
    parts += notes
    return f"{text} ({', '.join(parts)})" if parts else text


def legend(names) -> str:
    """Caption text for a figure's methods (registry names): each short label with its
    registry name and citation, "LRP-0 (lrp_0; bach2015; montavon2019 eq. 10.1), ..."."""
    return ", ".join(
        f"{short(str(n))} ({'; '.join(filter(None, (str(n), cite(str(n)))))})" for n in names
    )
