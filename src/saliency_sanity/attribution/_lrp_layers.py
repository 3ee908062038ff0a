"""Layer walk shared by the propagation methods (LRP, Deep Taylor, PatternNet, DASP).

A model is read as a flat list of named layers (:func:`sequential_layers`): the zoo's
``PaperModel.body``, any ``nn.Sequential`` (nested ones are flattened), and torchvision's VGG
(``features``, ``avgpool``, flatten, ``classifier``). :func:`record` runs the forward pass once and
keeps every layer's input; :func:`propagate` walks back with a per-layer rule for the dense layers
(Linear, Conv2d) and fixed handling of the rest. Relevance tensors carry a leading class axis
``(B, N, ...)`` so that all classes share one forward pass. Weights are only ever read: modified
weights are new tensors passed to the functional ops, never written into the model.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

Dense = nn.Linear | nn.Conv2d
Layers = list[tuple[str, nn.Module]]
#: rule(name, layer, a, R) -> relevance at the layer's input; a is (N, ...), R is (B, N, ...)
DenseRule = Callable[[str, nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]

_PASS = (nn.ReLU, nn.Dropout, nn.Identity)
_SUPPORTED = (
    *_PASS,
    nn.Linear,
    nn.Conv2d,
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.Flatten,
)


def _flatten_children(prefix: str, module: nn.Module) -> Layers:
    if isinstance(module, nn.Sequential):
        out: Layers = []
        for name, child in module.named_children():
            out += _flatten_children(f"{prefix}.{name}" if prefix else name, child)
        return out
    if not isinstance(module, _SUPPORTED):
        raise ValueError(
            f"layer {prefix!r} ({type(module).__name__}) is not supported by propagation methods; "
            f"supported: {', '.join(t.__name__ for t in _SUPPORTED)}"
        )
    if isinstance(module, nn.Conv2d) and (
        module.padding_mode != "zeros" or isinstance(module.padding, str)
    ):
        raise ValueError(f"layer {prefix!r}: only numeric zero padding is supported")
    return [(prefix, module)]


def sequential_layers(model: nn.Module) -> Layers:
    """The model as a flat list of ``(qualified name, layer)``; ValueError if not sequential."""
    if isinstance(model, nn.Sequential):
        return _flatten_children("", model)
    body = getattr(model, "body", None)
    if isinstance(body, nn.Sequential):
        return _flatten_children("body", body)
    net = getattr(model, "net", None)
    if net is not None and all(hasattr(net, k) for k in ("features", "avgpool", "classifier")):
        return [  # torchvision VGG: features -> avgpool -> torch.flatten(x, 1) -> classifier
            *_flatten_children("net.features", net.features),
            *_flatten_children("net.avgpool", net.avgpool),
            ("net.flatten", nn.Flatten()),
            *_flatten_children("net.classifier", net.classifier),
        ]
    raise ValueError(
        f"{type(model).__name__} is not a sequential model (nn.Sequential, a zoo model's .body "
        "or torchvision's VGG); propagation methods cannot read its layers"
    )


def dense_layers(layers: Layers) -> Layers:
    return [(n, m) for n, m in layers if isinstance(m, Dense)]


def record(layers: Layers, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """One forward pass without autograd: the input of every layer, and the output."""
    inputs = []
    with torch.no_grad():
        for _, layer in layers:
            inputs.append(x)
            x = layer(x)
    return inputs, x


def by_images(
    fn: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor],
    layers: Layers,
    x: torch.Tensor,
    target: torch.Tensor | None,
    rows: int,
) -> torch.Tensor:
    """``fn(x[i:j], target[i:j])`` over consecutive slices of the images, concatenated.

    A slice holds at most ``rows`` relevance rows: an image is one row for a target and K rows
    for all K classes (which share its forward pass), so an all-class slice has ``rows // K``
    images (at least one). Every rule and pooling step acts on each image alone, so the maps do
    not depend on the split (tests/unit/test_batching.py).
    """
    classes = dense_layers(layers)[-1][1].weight.shape[0]
    per = rows if target is not None else max(1, rows // classes)
    if per >= x.shape[0]:
        return fn(x, target)
    return torch.cat(
        [
            fn(x[i : i + per], None if target is None else target[i : i + per])
            for i in range(0, x.shape[0], per)
        ]
    )


def forward(layer: nn.Module, a: torch.Tensor, weight: torch.Tensor, bias=None) -> torch.Tensor:
    """``layer``'s linear map applied to ``a`` with the given (possibly modified) parameters.
    A conv's ``bias`` is per channel (C,) or, for a bias that depends on the position (network 2
    of an exact input-shift compensation, :func:`bias_of`), a map (1, C, H, W)."""
    if isinstance(layer, nn.Linear):
        return F.linear(a, weight, bias)
    if bias is not None and bias.dim() > 1:
        out = F.conv2d(a, weight, None, layer.stride, layer.padding, layer.dilation, layer.groups)
        return out + bias
    return F.conv2d(a, weight, bias, layer.stride, layer.padding, layer.dilation, layer.groups)


def bias_of(layer: nn.Module, weight: torch.Tensor) -> torch.Tensor:
    """The layer's bias (zeros without one); minus the layer's ``offset`` map where it has one
    (``saliency_sanity.checks.input_invariance.CompensatedConv2d``): then (1, C, H, W)."""
    b = layer.bias.detach() if layer.bias is not None else torch.zeros(weight.shape[0]).to(weight)
    offset = getattr(layer, "offset", None)
    return b if offset is None else b.view(1, -1, 1, 1) - offset.detach()


def transpose(layer: nn.Module, s: torch.Tensor, weight: torch.Tensor, in_shape) -> torch.Tensor:
    """J^T s for the layer's linear map with ``weight``: (B, N, out...) -> (B, N, in...)."""
    b, n = s.shape[:2]
    flat = s.reshape(b * n, *s.shape[2:])
    if isinstance(layer, nn.Linear):
        out = flat @ weight
    else:
        shape = (b * n, *in_shape[1:])
        out = torch.nn.grad.conv2d_input(
            shape, weight, flat, layer.stride, layer.padding, layer.dilation, layer.groups
        )
    return out.reshape(b, n, *in_shape[1:])


def _linear_transpose(fn: Callable, a: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """J^T s of a linear, parameter-free map ``fn`` (pooling) via autograd, batched over B."""
    b, n = s.shape[:2]
    with torch.enable_grad():
        zero = torch.zeros(b * n, *a.shape[1:], dtype=a.dtype, device=a.device, requires_grad=True)
        (g,) = torch.autograd.grad(fn(zero), zero, s.reshape(b * n, *s.shape[2:]))
    return g.reshape(b, n, *a.shape[1:])


def avg_pool_fn(layer: nn.Module) -> Callable:
    if isinstance(layer, nn.AdaptiveAvgPool2d):
        return lambda t: F.adaptive_avg_pool2d(t, layer.output_size)
    if isinstance(layer, nn.MaxPool2d):  # max-pool treated as average pool (samek2020 recipe)
        return lambda t: F.avg_pool2d(t, layer.kernel_size, layer.stride, layer.padding)
    return layer


def max_pool_winner(layer: nn.MaxPool2d, a: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Winner-take-all: relevance goes to the argmax of each window (the max-pool gradient)."""
    _, idx = F.max_pool2d(
        a, layer.kernel_size, layer.stride, layer.padding, layer.dilation, layer.ceil_mode, True
    )
    b, n, c = r.shape[:3]
    out = torch.zeros(b, n, c, a.shape[-2] * a.shape[-1], dtype=r.dtype, device=r.device)
    index = idx.reshape(1, n, c, -1).expand(b, -1, -1, -1)
    out.scatter_add_(-1, index, r.reshape(b, n, c, -1))
    return out.reshape(b, *a.shape)


def stabilize(z: torch.Tensor, epsilon: float | torch.Tensor) -> torch.Tensor:
    """z + ε sign(z), with sign(0) = +1 (zennit ``Stabilizer``)."""
    return z + epsilon * ((z == 0).to(z) + z.sign())


def proportional(fn: Callable, a: torch.Tensor, r: torch.Tensor, stabilizer) -> torch.Tensor:
    """LRP-0 through a parameter-free linear map (average pooling; zennit's ``Norm`` rule);
    ``stabilizer``: a float, or a per-image ε (N, 1, ...) for LRP-ε through pooling."""
    return a * _linear_transpose(fn, a, r / stabilize(fn(a), stabilizer))


def propagate(
    layers: Layers,
    inputs: list[torch.Tensor],
    relevance: torch.Tensor,
    dense_rule: DenseRule,
    *,
    mode: str = "lrp",
    maxpool: str = "winner",
    stabilizer: float = 1e-6,
    pool_rule: DenseRule | None = None,
) -> torch.Tensor:
    """Walk back from the output relevance (B, N, K) to the input (B, N, *x.shape[1:]).

    ``mode="lrp"``: ReLUs pass relevance unchanged (their zero inputs receive none from the
    dense rules anyway), average pooling redistributes proportionally to its inputs.
    ``mode="gradient"``: ReLUs gate by the forward mask and pooling backpropagates its gradient
    (PatternNet, PatternAttribution). Max-pooling: ``"winner"`` (take-all, the gradient) or
    ``"average"`` (as average pooling, samek2020's VGG recipe; LRP mode only). ``pool_rule``
    (LRP mode): ``(name, layer, a, R)`` -> relevance through each averaged pooling layer, in
    place of the proportional default.
    """
    r = relevance
    for (name, layer), a in zip(reversed(layers), reversed(inputs), strict=True):
        if isinstance(layer, Dense):
            r = dense_rule(name, layer, a, r)
        elif isinstance(layer, nn.ReLU):
            r = r * (a > 0).to(r) if mode == "gradient" else r
        elif isinstance(layer, nn.Flatten):
            r = r.reshape(r.shape[0], *a.shape)
        elif isinstance(layer, nn.MaxPool2d) and maxpool == "winner":
            r = max_pool_winner(layer, a, r)
        elif isinstance(layer, nn.MaxPool2d | nn.AvgPool2d | nn.AdaptiveAvgPool2d):
            fn = avg_pool_fn(layer)
            if mode != "lrp":
                r = _linear_transpose(fn, a, r)
            elif pool_rule is not None:
                r = pool_rule(name, layer, a, r)
            else:
                r = proportional(fn, a, r, stabilizer)
        elif not isinstance(layer, _PASS):  # pragma: no cover - sequential_layers checked types
            raise ValueError(f"cannot propagate through {type(layer).__name__}")
    return r


def seed(logits: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
    """Output relevance: one-hot × logit, (1, N, K) for ``target``, (K, N, K) for all classes."""
    k = logits.shape[1]
    if target is not None:
        onehot = F.one_hot(target, k).to(logits)
        return (onehot * logits).unsqueeze(0)
    eye = torch.eye(k, dtype=logits.dtype, device=logits.device)
    return eye[:, None, :] * logits[None]


def finish(r: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
    """(1, N, ...) -> (N, ...); (K, N, ...) -> (N, K, ...)."""
    return r[0] if target is not None else r.transpose(0, 1).contiguous()


def check_maxpool(maxpool: str) -> None:
    if maxpool not in ("winner", "average"):
        raise ValueError(f"maxpool must be 'winner' or 'average', got {maxpool!r}")
