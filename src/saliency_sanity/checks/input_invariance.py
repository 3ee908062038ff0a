"""Input invariance (Kindermans et al. 2017, "The (Un)reliability of saliency methods", Sec. 2)
for any model whose first parametrised layer is a ``Linear`` or a ``Conv2d``.

Network 2 sees x + m and its first layer subtracts the shift's response, so it computes the same
function of the image as network 1 sees on x: a method that explains the function should give
the same map for both. The compensation is exact for any shift m (a constant, a checkerboard,
any tensor) and any padding: the first layer's output is reduced by ``W * m`` computed with the
layer's own stride, padding and dilation, i.e. a bias that depends on the position wherever the
kernel overlaps the zero padding (a per-channel bias change, Quantus 0.6's compensation, is
exact only away from padded borders; its issue #303). The logits of the two networks are
checked to agree before any map is compared.

The score is continuous: the maximum over pixels of |a1 - a2| relative to max |a1|, per image
(0 for an invariant method, up to float rounding).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from saliency_sanity import shifts
from saliency_sanity.checks import _tidy
from saliency_sanity.checks.layers import forward_order
from saliency_sanity.checks.methods import eval_copy, targets_for
from saliency_sanity.checks.methods import not_applicable as method_not_applicable
from saliency_sanity.checks.methods import specs as method_specs

#: the two networks' logits must agree to this fraction of max |logit|
LOGIT_RTOL = 1e-4


class CompensatedConv2d(nn.Conv2d):
    """A ``Conv2d`` whose output is reduced by a fixed map ``offset`` (1, C, H', W'): the first
    layer of network 2 when the compensation depends on the position."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return super().forward(z) - self.offset


def first_layer(model: nn.Module, x: torch.Tensor) -> tuple[str, nn.Module]:
    """The first parametrised module that runs (name, module); ValueError unless it is a
    ``Linear`` or a ``Conv2d`` (the layers whose shift response is linear in the shift)."""
    name = forward_order(model, x)[0]
    module = model.get_submodule(name)
    if not isinstance(module, nn.Linear | nn.Conv2d) or type(module) not in (
        nn.Linear,
        nn.Conv2d,
    ):
        raise ValueError(
            f"input invariance needs a first layer that is a Linear or a Conv2d; {name!r} is a "
            f"{type(module).__name__}"
        )
    return name, module


def _layer_input(model: nn.Module, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    seen = []
    handle = module.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach()))
    try:
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
    return seen[0]


def compensated(model: nn.Module, x: torch.Tensor, shift: torch.Tensor) -> nn.Module:
    """Network 2: a copy of ``model`` whose first layer subtracts its response to ``shift`` (one
    input's shape), so that ``net2(x + shift) == model(x)``. The shift is followed through
    whatever runs before the first layer (a ``Flatten``) by feeding it in: that part must be
    linear, which the logit check of :func:`input_invariance` confirms."""
    name, layer = first_layer(model, x)
    was_training = model.training
    model.eval()
    try:
        zero = torch.zeros_like(x[:1])
        delta = _layer_input(model, layer, zero + shift) - _layer_input(model, layer, zero)
    finally:
        model.train(was_training)
    net2 = copy.deepcopy(model).eval()
    layer2 = net2.get_submodule(name)
    with torch.no_grad():
        if isinstance(layer2, nn.Linear):
            response = F.linear(delta, layer2.weight)[0]
            bias = layer2.bias if layer2.bias is not None else torch.zeros_like(response)
            layer2.bias = nn.Parameter(bias - response)
            return _shifted(net2, shift)
        offset = layer2._conv_forward(delta, layer2.weight, None)
        per_channel = offset.mean(dim=(2, 3), keepdim=True)
        scale = float(offset.abs().max()) or 1.0
        if float((offset - per_channel).abs().max()) <= 1e-6 * scale:  # an ordinary bias does
            bias = (
                layer2.bias
                if layer2.bias is not None
                else torch.zeros_like(per_channel[0, :, 0, 0])
            )
            layer2.bias = nn.Parameter(bias - per_channel.flatten())
            return _shifted(net2, shift)
    layer2.__class__ = CompensatedConv2d
    layer2.register_buffer("offset", offset)
    return _shifted(net2, shift)


def position_dependent(net2: nn.Module) -> bool:
    """True when network 2's compensation is a bias map (:class:`CompensatedConv2d`): the kernel
    meets the zero padding, or the shift is not constant."""
    return any(isinstance(m, CompensatedConv2d) for m in net2.modules())


#: methods that read only a per-channel bias of each layer (DASP's first layer, the pattern
#: statistics): they cannot explain a network 2 whose compensation depends on the position
PER_CHANNEL_BIAS = ("dasp", "pattern_net", "pattern_attribution")


def _shifted(net2: nn.Module, shift: torch.Tensor) -> nn.Module:
    """Mark network 2 with the shift its inputs carry (``input_shift``): a method that fits to
    data (PatternNet's patterns) must fit network 2 on shifted data."""
    net2.input_shift = shift.detach().clone()
    return net2


def shift_tensor(shift, x: torch.Tensor) -> torch.Tensor:
    """``shift`` as a tensor: a number is a constant image, ``"checkerboard"`` the
    kindermans2017 Sec. 3.2 checkerboard, a tensor of one input's shape is shared by every image,
    one of ``x``'s shape gives each image its own shift."""
    shape = tuple(x.shape[1:])
    if isinstance(shift, str):
        if shift != "checkerboard":
            raise ValueError(f"shift must be a number, 'checkerboard' or a tensor, got {shift!r}")
        return shifts.checkerboard(shape=shape).to(x)
    m = torch.as_tensor(shift, dtype=x.dtype, device=x.device)
    if m.dim() == 0:
        return m.expand(shape).clone()
    if tuple(m.shape) not in (shape, tuple(x.shape)):
        raise ValueError(f"a shift tensor must have shape {shape} or {tuple(x.shape)}, got "
                         f"{tuple(m.shape)}")  # fmt: skip
    return m


def _relative_difference(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    a, b = a.double().flatten(1), b.double().flatten(1)
    scale = a.abs().amax(dim=1)
    diff = (a - b).abs().amax(dim=1)
    zero_map = torch.where(diff > 0, torch.full_like(diff, np.inf), torch.zeros_like(diff))
    out = torch.where(scale > 0, diff / scale.clamp(min=1e-300), zero_map)
    return out.cpu().numpy()


def _shifted_pairs(model, x, m):
    """[(net2, x + m, rows)] for one shared shift, or one per image for per-image shifts."""
    if m.shape == x.shape[1:]:
        return [(compensated(model, x, m), x + m, slice(None))]
    return [(compensated(model, x[i : i + 1], m[i]), x[i : i + 1] + m[i], slice(i, i + 1))
            for i in range(len(x))]  # fmt: skip


def _reads_per_channel_bias(spec) -> bool:
    from saliency_sanity.checks.methods import uses_patterns

    return (spec.name or "").removeprefix("competitive_") in PER_CHANNEL_BIAS or uses_patterns(spec)


def _explain_pairs(spec, pairs, target: torch.Tensor) -> torch.Tensor:
    return torch.cat([spec.explain(net2, xs, target[rows]) for net2, xs, rows in pairs])


def _network1(spec, model, x, target, pairs) -> torch.Tensor:
    """Network 1's maps, in the same batches as network 2's (per-image shifts: one image at a
    time), so a method that draws noise per batch position (SmoothGrad) draws the same noise."""
    if len(pairs) == 1:
        return spec.explain(model, x, target)
    return torch.cat([spec.explain(model, x[rows], target[rows]) for _, _, rows in pairs])


def input_invariance(
    model: nn.Module,
    x: torch.Tensor,
    target=None,
    methods: Sequence[str] | Mapping[str, Any] | None = None,
    *,
    shift=-1.0,
    name: str | None = None,
    dtype: torch.dtype | None = torch.float64,
) -> pd.DataFrame:
    """Input invariance under ``shift`` (see :func:`shift_tensor`), per method: the relative
    difference between the maps of network 1 on x and of network 2 on x + m (measure
    ``max_relative_difference``: mean, std over images), with the null of a zero shift through
    the same compensated path (float rounding). Both networks explain ``target`` (None: network
    1's prediction, which network 2 shares). ``name`` labels the rows' step (default: the shift).
    ``dtype``: both networks and the inputs are cast to it (default float64; None keeps them):
    the identity is exact, but in float32 the compensated layer's W (x + m) - W m rounds
    differently from W x, flips ReLUs whose pre-activation is near 0 and reroutes the gradient
    (on the MNIST AlexNet Gradient then differs by ~5% in float32, by 0 in float64).

    Raises ValueError if the first layer is not Linear/Conv2d, RuntimeError if the compensated
    network's logits differ from the model's (then nothing before the first layer may be
    nonlinear, e.g. an input normalisation that clips).
    """
    specs = method_specs(methods)
    model = eval_copy(model)
    if dtype is not None:
        model, x = model.to(dtype), x.to(dtype)
    m = shift_tensor(shift, x)
    step = name or (f"shift {float(shift):g}" if isinstance(shift, int | float) else
                    str(shift) if isinstance(shift, str) else "shift tensor")  # fmt: skip
    target = targets_for(model, x, target)
    pairs = _shifted_pairs(model, x, m)
    null_pairs = _shifted_pairs(model, x, torch.zeros_like(m))
    with torch.no_grad():
        logits = model(x)
        gap = max(float((net2(xs) - logits[rows]).abs().max()) for net2, xs, rows in pairs)
    scale = float(logits.abs().max()) or 1.0
    if gap > LOGIT_RTOL * scale:
        raise RuntimeError(
            f"the compensated network's logits differ from the model's by {gap:.3g} (max |logit| "
            f"{scale:.3g}): the input does not reach the first layer linearly"
        )
    rows_out = []
    for spec in specs:
        if reason := method_not_applicable(spec, model):
            rows_out.append(_tidy.row("input_invariance", spec.label, step, 1,
                                      "max_relative_difference", None, note=reason))  # fmt: skip
            continue
        if _reads_per_channel_bias(spec) and position_dependent(pairs[0][0]):
            note = ("network 2's compensation depends on the position (zero padding or a "
                    "non-constant shift); this method reads only a per-channel bias")  # fmt: skip
            rows_out.append(_tidy.row("input_invariance", spec.label, step, 1,
                                      "max_relative_difference", None, note=note))  # fmt: skip
            continue
        a1 = _network1(spec, model, x, target, pairs)
        values = _relative_difference(a1, _explain_pairs(spec, pairs, target))
        null = _relative_difference(a1, _explain_pairs(spec, null_pairs, target))
        rows_out.append(_tidy.row("input_invariance", spec.label, step, 1,
                                  "max_relative_difference", values, null))  # fmt: skip
    return _tidy.frame(rows_out, logit_difference=gap, shift=step)
