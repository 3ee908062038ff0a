"""PatternNet and PatternAttribution (kindermans2018, arXiv 1705.05598).

Patterns (kindermans2018 Sec. 4)
--------------------------------
For a dense layer (Linear; Conv2d per output channel over its unfolded input patches) write x for
one input row (a sample; a patch for a conv), y = w^T x for the output of a bias-free copy of
neuron w, and z = w^T x + b for the neuron's real pre-activation. The pattern a is the neuron's
signal direction: PatternNet's signal estimate is a y. E+ is the mean over the rows where z > 0
(the rows the ReLU passes), E the mean over all rows. Three estimators (``estimator=``):

* ``"paper"`` - the two-component estimator, kindermans2018 eq. 8 as iNNvestigate 1.x computes it:
  a+ = (E+[xy] - E+[x] E[y]) / (w^T E+[xy] - w^T E+[x] E[y]). Note E[y] over all rows.
* ``"covariance"`` - the covariance within the active set, cov+(x, y) = E+[xy] - E+[x] E+[y]:
  a+ = cov+(x, y) / (w^T cov+(x, y)). Our addition (REPLICATION-NOTES, kindermans2017).
* ``"linear"`` - kindermans2018 eq. 7: a = cov(x, y) / (w^T cov(x, y)) over all rows.

Why the paper's estimator is not shift-invariant: its numerator is cov+(x, y) plus the *mean term*
E+[x] (E+[y] - E[y]) (:meth:`LayerStatistics.mean_term`). Under kindermans2017's compensated shift
(x' = x + m, b' = b - W m) the masks are unchanged and y' = y + w^T m, so every covariance and the
gap E+[y] - E[y] (:meth:`LayerStatistics.mean_gap`) are unchanged, but E+[x] becomes E+[x] + m: the
paper's numerator changes by m (E+[y] - E[y]) (:meth:`PatternStatistics.paper_shift_term`). Layers
above the first see identical inputs, so only the first layer's patterns move.
:meth:`PatternStatistics.shifted` gives network 2's statistics exactly, without refitting.

Deviation: a layer not followed by a ReLU (the logits) gets the linear estimator whatever
``estimator`` says, as the two-component model assumes a ReLU that discards the negative part
(iNNvestigate applies the chosen estimator to every layer, with a mask "logit > 0"). A zero
denominator w^T(...) divides by 1 instead (iNNvestigate's safe divide), so a neuron never active
on the training data gets the pattern 0.

All estimators come from one pass over the training data (:func:`fit_pattern_statistics`), which
keeps per-layer sums (:class:`LayerStatistics`). Rows, products and sums are float64 whatever the
model's dtype: the covariances are differences of raw moments (E[xy] - E[x]E[y]), which lose
digits when the mean is large against the spread (inputs in [-1, 0] after a shift), and float64
makes the shift checks exact to ~1e-12 rather than to the float32 rounding of a batch matmul.

PatternNet (signal, Sec. 4): backpropagate y with the weights replaced by the patterns, gated by
the forward ReLU masks. PatternAttribution (Sec. 4; Deep Taylor with the pattern root point
x0 = x - a y): the same with weights w ⊙ a. Max pooling routes to the winner (the gradient),
average pooling backpropagates its gradient.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from saliency_sanity.attribution import _lrp_layers as L
from saliency_sanity.attribution._utils import DEFAULT_CHUNK, resolve_chunk
from saliency_sanity.attribution.registry import register
from saliency_sanity.batching import rows_per_batch

Patterns = dict[str, torch.Tensor]
#: the estimators, in the order of the claims table (FIGURES.md)
ESTIMATORS = ("paper", "covariance", "linear")
#: old names: "relu" was the paper's estimator before the covariance estimator was added
_ALIASES = {"relu": "paper"}
#: float64 working memory per batch of the automatic batch size (rows, y, mask, right-hand side)
_BATCH_BYTES = 256 * 2**20
#: float64 bytes of a conv's outputs and weight-gradient right-hand side per block of images
#: (LayerStatistics._add_patches; on the 2-core CPU 8 MiB beat 2, 4, 16 MiB and no blocking)
_PATCH_BYTES = 8 * 2**20
#: layers that pass an input shift on unchanged (so a shift of the model input reaches the first
#: dense layer as the same shift)
_SHAPE_ONLY = (nn.Flatten, nn.Identity, nn.Dropout)


def check_estimator(estimator: str) -> str:
    """The estimator's name; ``"relu"`` (the old name of ``"paper"``) warns and maps to it."""
    if estimator in _ALIASES:
        new = _ALIASES[estimator]
        warnings.warn(
            f"estimator={estimator!r} is deprecated, use {new!r} (the same estimator: "
            "kindermans2018 eq. 8, E+[x] E[y])",
            FutureWarning,
            stacklevel=3,
        )
        return new
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    return estimator


def _as_rows(layer: nn.Module, a: torch.Tensor) -> torch.Tensor:
    """The layer's input as rows of neuron inputs: (samples, fan_in); conv: one row per patch."""
    if isinstance(layer, nn.Linear):
        return a
    cols = F.unfold(a, layer.kernel_size, layer.dilation, layer.padding, layer.stride)
    return cols.transpose(1, 2).reshape(-1, cols.shape[1])


def _unfold_args(layer: nn.Module) -> dict | None:
    if isinstance(layer, nn.Linear):
        return None
    if layer.groups != 1:
        raise ValueError("pattern statistics support only groups=1 convolutions")
    keys = ("kernel_size", "dilation", "padding", "stride")
    return {k: getattr(layer, k) for k in keys}


@dataclasses.dataclass
class LayerStatistics:
    """Sums over the rows one dense layer saw in :func:`fit_pattern_statistics` (float64).

    ``active_*`` sums run, per neuron, over the rows where its real pre-activation w^T x + b > 0;
    the others over all rows. x is the row (fan_in), y = w^T x the bias-free output (out).
    ``weight`` (out, fan_in) and ``bias`` (out) are float64 copies taken when fitting. Read-only
    once fitted (:meth:`PatternStatistics.shifted` shares the unchanged layers' objects).
    """

    weight: torch.Tensor
    bias: torch.Tensor
    shape: torch.Size  # the layer's weight shape; patterns come back in it
    dtype: torch.dtype  # the layer's weight dtype; patterns come back in it
    in_shape: torch.Size  # one sample's input to the layer
    unfold: dict | None  # conv geometry (None for Linear)
    feeds_relu: bool
    n: torch.Tensor  # () rows
    count: torch.Tensor  # (out,) active rows
    sum_x: torch.Tensor  # (fan_in,)
    sum_y: torch.Tensor  # (out,)
    sum_xy: torch.Tensor  # (fan_in, out)
    active_x: torch.Tensor  # (fan_in, out)
    active_y: torch.Tensor  # (out,)
    active_xy: torch.Tensor  # (fan_in, out)

    @classmethod
    def empty(cls, layer: nn.Module, in_shape, feeds_relu: bool) -> LayerStatistics:
        w = layer.weight.detach().flatten(1).double()
        out, fan_in = w.shape
        bias = layer.bias.detach().double() if layer.bias is not None else w.new_zeros(out)

        def zeros(*size):
            return w.new_zeros(size)

        return cls(
            weight=w.clone(),
            bias=bias.clone(),
            shape=layer.weight.shape,
            dtype=layer.weight.dtype,
            in_shape=torch.Size(in_shape),
            unfold=_unfold_args(layer),
            feeds_relu=feeds_relu,
            n=zeros(),
            count=zeros(out),
            sum_x=zeros(fan_in),
            sum_y=zeros(out),
            sum_xy=zeros(fan_in, out),
            active_x=zeros(fan_in, out),
            active_y=zeros(out),
            active_xy=zeros(fan_in, out),
        )

    def add(self, a: torch.Tensor) -> None:
        """Add a batch of the layer's inputs (samples of a Linear, images of a Conv2d), in float64.

        The mask is z = y + b > 0 in float64 from the same inputs: the network's own
        pre-activation up to its rounding (a neuron within rounding of 0 may fall either way)."""
        if self.unfold is None:
            self._add_rows(a.double())
        else:
            self._add_patches(a.double())

    def _add_rows(self, rows: torch.Tensor) -> None:
        """Rows (R, fan_in): one matmul for the three (fan_in, out) sums."""
        y = rows @ self.weight.T
        mask = (y + self.bias > 0).to(y)
        active_y = mask * y
        out = y.shape[1]
        stacked = rows.T @ torch.cat([mask, active_y, y], 1)
        self.n += rows.shape[0]
        self.count += mask.sum(0)
        self.sum_x += rows.sum(0)
        self.sum_y += y.sum(0)
        self.active_y += active_y.sum(0)
        self.active_x += stacked[:, :out]
        self.active_xy += stacked[:, out : 2 * out]
        self.sum_xy += stacked[:, 2 * out :]

    def _add_patches(self, images: torch.Tensor) -> None:
        """Images (B, C, H, W) of a conv: the same sums over every input patch, without making
        the patches. A sum over patches p of g[o, p] x_p is the conv's weight gradient for the
        output gradient g (:func:`torch.nn.grad.conv2d_weight`), so one weight gradient of
        g = [mask, mask * y, y, 1] gives the three (fan_in, out) sums and the sum of x, in
        blocks of images whose y and g stay within :data:`_PATCH_BYTES` (cache-sized).

        Unfolding the patches (``F.unfold``, then float64 rows: 627 MB for 500 MNIST images at
        the AlexNet's conv2, 231 MB per image at VGG-16's second conv at 224x224) was ~40% of a
        fit. On the 2-core CPU, 500 images, best of 3: the gupta2019 AlexNet 2.51 -> 1.92 s, the
        adebayo2018 CNN 2.21 -> 1.42 s. tests/unit/test_patterns.py checks the sums against
        explicitly unfolded patches."""
        if not len(images):
            return
        per_image = self._patch_bytes_per_image(images)
        for part in images.split(max(1, _PATCH_BYTES // per_image)):
            self._add_patch_block(part)

    def _patch_bytes_per_image(self, images: torch.Tensor) -> int:
        positions = F.conv2d(images[:1], self.weight.view(self.shape)[:1], None,
                             **self._geometry()).numel()  # fmt: skip
        return 8 * (images[0].numel() + positions * (4 * self.shape[0] + 1))

    def _geometry(self) -> dict:
        return {k: self.unfold[k] for k in ("stride", "padding", "dilation")}

    def _add_patch_block(self, images: torch.Tensor) -> None:
        geometry = self._geometry()
        y = F.conv2d(images, self.weight.view(self.shape), None, **geometry)
        mask = (y + self.bias[:, None, None] > 0).to(y)
        active_y = mask * y
        out = y.shape[1]
        grad = torch.cat([mask, active_y, y, torch.ones_like(y[:, :1])], 1)
        sums = torch.nn.grad.conv2d_weight(images, (grad.shape[1], *self.shape[1:]), grad,
                                           **geometry).flatten(1)  # fmt: skip
        self.n += y.shape[0] * y.shape[2] * y.shape[3]
        self.count += mask.sum((0, 2, 3))
        self.sum_x += sums[3 * out]
        self.sum_y += y.sum((0, 2, 3))
        self.active_y += active_y.sum((0, 2, 3))
        self.active_x += sums[:out].T
        self.active_xy += sums[out : 2 * out].T
        self.sum_xy += sums[2 * out : 3 * out].T

    #: the tensors of the statistics (the rest is the layer's geometry, see :meth:`arrays`)
    TENSORS = ("weight", "bias", "n", "count", "sum_x", "sum_y", "sum_xy", "active_x",
               "active_y", "active_xy")  # fmt: skip

    def arrays(self) -> dict[str, np.ndarray]:
        """The statistics as numpy arrays, to save them (:meth:`from_arrays` restores them):
        one per tensor, and ``geometry`` (JSON: weight shape and dtype, input shape, conv
        geometry, whether a ReLU follows)."""
        geometry = {"shape": list(self.shape), "dtype": str(self.dtype).removeprefix("torch."),
                    "in_shape": list(self.in_shape), "unfold": self.unfold,
                    "feeds_relu": self.feeds_relu}  # fmt: skip
        out = {k: getattr(self, k).detach().cpu().numpy() for k in self.TENSORS}
        return {**out, "geometry": np.asarray(json.dumps(geometry))}

    @classmethod
    def from_arrays(cls, arrays, device="cpu") -> LayerStatistics:
        """The statistics :meth:`arrays` saved (float64 tensors on ``device``)."""
        g = json.loads(str(np.asarray(arrays["geometry"])))
        unfold = None if g["unfold"] is None else {
            k: tuple(v) if isinstance(v, list) else v for k, v in g["unfold"].items()}  # fmt: skip
        tensors = {k: torch.as_tensor(np.asarray(arrays[k]), dtype=torch.float64, device=device)
                   for k in cls.TENSORS}  # fmt: skip
        return cls(shape=torch.Size(g["shape"]), dtype=getattr(torch, g["dtype"]),
                   in_shape=torch.Size(g["in_shape"]), unfold=unfold,
                   feeds_relu=bool(g["feeds_relu"]), **tensors)  # fmt: skip

    def _estimator(self, estimator: str) -> str:
        return estimator if self.feeds_relu else "linear"  # logits: linear (module docstring)

    def _numerator(self, estimator: str) -> torch.Tensor:
        """(fan_in, out): the covariance-like numerator of the estimator."""
        n, k = self.n.clamp(min=1), self.count.clamp(min=1)
        estimator = self._estimator(estimator)
        if estimator == "linear":  # eq. 7: E[xy] - E[x] E[y]
            return self.sum_xy / n - torch.outer(self.sum_x / n, self.sum_y / n)
        mean_y = self.sum_y / n if estimator == "paper" else self.active_y / k
        return self.active_xy / k - self.active_x / k * mean_y  # E+[xy] - E+[x] E(+)[y]

    def _weight_shaped(self, t: torch.Tensor) -> torch.Tensor:
        return t.T.reshape(self.shape)

    def numerator(self, estimator: str) -> torch.Tensor:
        """The estimator's numerator (float64, weight-shaped): the pattern before w^T-scaling."""
        return self._weight_shaped(self._numerator(check_estimator(estimator)))

    def pattern(self, estimator: str) -> torch.Tensor:
        """a = numerator / w^T numerator (safe divide), weight-shaped, in the weight's dtype."""
        num = self._numerator(check_estimator(estimator))
        norm = (self.weight.T * num).sum(0)
        a = num / torch.where(norm == 0, 1.0, norm)  # iNNvestigate's safe divide
        return self._weight_shaped(a).to(self.dtype)

    def mean_gap(self) -> torch.Tensor:
        """E+[y] - E[y] per neuron (out,): by how much the active set raises the mean output.

        Unchanged by a compensated shift; zero for an always-active neuron, and set to zero for
        a never-active one (no E+; its paper numerator is 0 and stays 0 under a shift)."""
        gap = self.active_y / self.count.clamp(min=1) - self.sum_y / self.n.clamp(min=1)
        return torch.where(self.count > 0, gap, 0.0)

    def mean_term(self) -> torch.Tensor:
        """E+[x] (E+[y] - E[y]), weight-shaped: the paper's numerator minus the covariance's.

        The mean active input scaled by :meth:`mean_gap`; it makes the paper estimator's
        patterns (and PatternNet maps) lean towards the mean image and carry any input shift."""
        mean_x = self.active_x / self.count.clamp(min=1)
        return self._weight_shaped(mean_x * self.mean_gap())

    def shift_row(self, m) -> torch.Tensor:
        """The input shift m (scalar or one sample's shape) as a shift of this layer's rows.

        A conv's rows (patches) must all shift alike, or the compensating bias would have to
        depend on the position (zero padding at the borders, a shift not periodic with the
        stride): ValueError then."""
        m = torch.as_tensor(m, dtype=torch.float64, device=self.weight.device)
        if m.numel() == 1:
            m = m.reshape(()).expand(self.in_shape)
        if m.numel() != self.in_shape.numel():
            raise ValueError(
                f"shift has {m.numel()} elements, the layer's input {tuple(self.in_shape)}"
            )
        m = m.reshape(self.in_shape)
        if self.unfold is None:
            return m.reshape(-1)
        patches = F.unfold(m[None], **self.unfold)[0].T  # (positions, fan_in)
        if not torch.equal(patches, patches[:1].expand_as(patches)):
            raise ValueError(
                "the shift differs between the conv's input patches (zero padding, or a shift "
                "not periodic with the stride): no per-channel bias compensates it"
            )
        return patches[0]

    def shifted(self, m) -> LayerStatistics:
        """The statistics on inputs x + m with the bias b - W m (so z and the masks are unchanged).

        With c = W m, y' = y + c: Σx' = Σx + n m, Σy' = Σy + n c,
        Σx'y'^T = Σxy^T + Σx c^T + m Σy^T + n m c^T, and per neuron j over its active rows
        Σ+x' = Σ+x + k_j m, Σ+y' = Σ+y + k_j c_j, Σ+x'y' = Σ+xy + c_j Σ+x + m Σ+y + k_j c_j m.
        """
        m = self.shift_row(m)
        c = self.weight @ m
        n, k = self.n, self.count
        return dataclasses.replace(
            self,
            bias=self.bias - c,
            sum_x=self.sum_x + n * m,
            sum_y=self.sum_y + n * c,
            sum_xy=self.sum_xy
            + torch.outer(self.sum_x, c)
            + torch.outer(m, self.sum_y)
            + n * torch.outer(m, c),
            active_x=self.active_x + torch.outer(m, k),
            active_y=self.active_y + k * c,
            active_xy=self.active_xy
            + self.active_x * c
            + torch.outer(m, self.active_y)
            + torch.outer(m, k * c),
        )


@dataclasses.dataclass(frozen=True)
class PatternStatistics:
    """Per-layer :class:`LayerStatistics` of a model, from one pass over training inputs.

    ``first``: the first dense layer when only reshaping layers precede it (an input shift then
    reaches it unchanged, so :meth:`shifted` applies), else None.
    """

    layers: dict[str, LayerStatistics]
    first: str | None

    def patterns(self, estimator: str = "covariance") -> Patterns:
        """``{layer name: pattern}`` (weight-shaped, the weight's dtype and device)."""
        estimator = check_estimator(estimator)
        return {name: stats.pattern(estimator) for name, stats in self.layers.items()}

    def _first(self) -> LayerStatistics:
        if self.first is None:
            raise ValueError(
                "the first dense layer is preceded by a layer that is not a reshape: an input "
                "shift does not reach it as a shift"
            )
        return self.layers[self.first]

    def shifted(self, m) -> PatternStatistics:
        """Network 2's statistics (kindermans2017 Sec. 2: inputs x + m, first-layer bias
        b - W m) derived exactly from these; the upper layers' are unchanged (same inputs).

        ``stats.shifted(m).patterns(estimator)`` are the patterns a fit of network 2 on x + m
        gives, without refitting: unchanged for "covariance" and "linear", moved by
        :meth:`paper_shift_term` in the numerator for "paper".
        """
        return dataclasses.replace(
            self, layers={**self.layers, self.first: self._first().shifted(m)}
        )

    def paper_shift_term(self, m) -> torch.Tensor:
        """m (E+[y] - E[y]) (weight-shaped, float64): the change of the first layer's paper
        numerator under the compensated shift m (the covariance and linear numerators: 0)."""
        first = self._first()
        return first._weight_shaped(torch.outer(first.shift_row(m), first.mean_gap()))


def _batches(x_train, batch_size: int | None, device) -> Iterable[torch.Tensor]:
    if isinstance(x_train, torch.Tensor):
        yield from (batch.to(device) for batch in x_train.split(batch_size))
    else:
        for batch in x_train:
            yield (batch[0] if isinstance(batch, tuple | list) else batch).to(device)


def _auto_batch_size(model: nn.Module, layers: L.Layers, x_example: torch.Tensor) -> int:
    """Samples per batch: float64 work of the largest dense layer within ``_BATCH_BYTES``, and
    within ``saliency_sanity.batching.rows_per_batch`` where that exists."""
    inputs, _ = L.record(layers, x_example[:1])
    per_sample = 1
    for (_, layer), a in zip(layers, inputs, strict=True):
        if isinstance(layer, L.Dense):
            rows = _as_rows(layer, a)
            out = layer.weight.shape[0]
            per_sample = max(per_sample, rows.shape[0] * (rows.shape[1] + 5 * out) * 8)
    n = max(1, _BATCH_BYTES // per_sample)
    return max(1, min(n, rows_per_batch(model, x_example[:1], device=x_example.device)))


def _feeds_relu(layers: L.Layers, name: str) -> bool:
    names = [n for n, _ in layers]
    for _, layer in layers[names.index(name) + 1 :]:
        if not isinstance(layer, nn.Dropout | nn.Identity):
            return isinstance(layer, nn.ReLU)
    return False


def _first_shiftable(layers: L.Layers) -> str | None:
    for name, layer in layers:
        if isinstance(layer, L.Dense):
            return name
        if not isinstance(layer, _SHAPE_ONLY):
            return None
    return None


def fit_pattern_statistics(
    model: nn.Module, x_train, *, batch_size: int | None = None
) -> PatternStatistics:
    """One pass over training inputs: the sums every estimator needs, for every dense layer.

    ``x_train``: a tensor (N, ...), split into ``batch_size`` samples per batch (None: chosen
    from the layers' sizes), or an iterable of batches (tensors or (x, y) pairs), streamed as
    given. Batches move to the model's device; the model is left as found (eval mode inside).
    """
    layers = L.sequential_layers(model)
    dense = dict(L.dense_layers(layers))
    if not dense:
        raise ValueError("fit_pattern_statistics: the model has no dense (Linear/Conv2d) layer")
    device = next(iter(dense.values())).weight.device
    from saliency_sanity.attribution import model_guard  # the package imports this module

    stats: dict[str, LayerStatistics] = {}
    with model_guard(model):  # eval mode (Dropout off), restored afterwards
        if isinstance(x_train, torch.Tensor) and batch_size is None:
            batch_size = (
                _auto_batch_size(model, layers, x_train[:1].to(device)) if len(x_train) else 1
            )
        for batch in _batches(x_train, batch_size, device):
            inputs, _ = L.record(layers, batch)
            for (name, layer), a in zip(layers, inputs, strict=True):
                if name not in dense:
                    continue
                if name not in stats:
                    stats[name] = LayerStatistics.empty(
                        layer, a.shape[1:], _feeds_relu(layers, name)
                    )
                stats[name].add(a)
    if not stats or int(next(iter(stats.values())).n) == 0:
        raise ValueError("fit_pattern_statistics got no training inputs")
    return PatternStatistics(stats, _first_shiftable(layers))


def fit_patterns(
    model: nn.Module, x_train, estimator: str = "covariance", *, batch_size: int | None = None
) -> Patterns:
    """Fit the patterns of every dense layer on training inputs (kindermans2018 eqs. 7-8).

    ``estimator``: "covariance" (default), "paper" or "linear" (module docstring). The default
    is the estimator that is both the two-component model's (a ReLU neuron's signal measured in
    the regime it passes) and invariant to the compensated shift the pattern methods are claimed
    to survive (kindermans2017); "paper" reproduces iNNvestigate 1.x. For several estimators fit
    once with :func:`fit_pattern_statistics`. Returns ``{layer name: pattern}`` weight-shaped,
    on the weight's device and dtype (plain tensors, so ``torch.save`` can cache them).
    """
    estimator = check_estimator(estimator)  # warn/fail before the pass over the data
    return fit_pattern_statistics(model, x_train, batch_size=batch_size).patterns(estimator)


def pattern_backprop(
    model,
    x,
    target,
    patterns: Patterns | None,
    attribution: bool,
    chunk: int | None = DEFAULT_CHUNK,
):
    if patterns is None:
        raise ValueError(
            "pattern methods need patterns=fit_patterns(model, x_train) (kindermans2018)"
        )
    layers = L.sequential_layers(model)
    for name, layer in L.dense_layers(layers):
        p = patterns.get(name)
        if p is None or p.shape != layer.weight.shape:
            got = None if p is None else tuple(p.shape)
            raise ValueError(
                f"patterns do not fit the model: layer {name!r} has weight "
                f"{tuple(layer.weight.shape)}, pattern {got}; fit them on this model"
            )
    weights = {
        name: layer.weight.detach() * patterns[name].to(layer.weight)
        if attribution
        else patterns[name].to(layer.weight)
        for name, layer in L.dense_layers(layers)
    }

    def dense(name, layer, a, r):
        return L.transpose(layer, r, weights[name], a.shape)

    def maps(xs: torch.Tensor, ts: torch.Tensor | None) -> torch.Tensor:
        inputs, logits = L.record(layers, xs)
        with torch.no_grad():
            r = L.propagate(layers, inputs, L.seed(logits, ts), dense, mode="gradient")
        return L.finish(r, ts)

    x = x.detach()
    return L.by_images(maps, layers, x, target, resolve_chunk(chunk, model, x))


@register("pattern_net")
def pattern_net(model, x, target=None, patterns=None, chunk=DEFAULT_CHUNK):
    """Signal estimate: backprop of the target logit with weights → patterns, ReLU-gated.
    Target None: every class; ``chunk``: relevance rows per pass (None: chosen for the model)."""
    return pattern_backprop(model, x, target, patterns, attribution=False, chunk=chunk)


@register("pattern_attribution")
def pattern_attribution(model, x, target=None, patterns=None, chunk=DEFAULT_CHUNK):
    """Deep Taylor with the pattern root point: backprop with weights w ⊙ a, ReLU-gated.
    Target None: every class; ``chunk``: relevance rows per pass (None: chosen for the model)."""
    return pattern_backprop(model, x, target, patterns, attribution=True, chunk=chunk)
