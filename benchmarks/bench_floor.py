"""Every gradient-family method against an honest floor and against Captum (issue 12).

The floor of a method is a plain batched forward + backward (gradient of the target logits
w.r.t. the input, parameters frozen; forward only for occlusion) over the same total number of
rows the method evaluates (N for Gradient, N x 50 for IG and SmoothGrad, N x 10 for the
all-class pass, ...), timed at EVERY batch size in 16..1024 (and the whole workload at once);
the best of them is the floor. It does not move with our rows per batch, which is the point.

Timing: per model, the methods that evaluate the same number of rows form one group; every
method of the group, its Captum counterpart and the floor at every batch size run round-robin
in one loop, at least ``--repeats`` rounds (default 3; more for workloads of milliseconds,
:func:`best_time`), and each cell is the best round. Before the
rounds, one untimed call of each of ours records the batch sizes its forward passes actually
ran (column "ours: rows/batch"), beside the floor's best batch and the rows
:func:`saliency_sanity.batching.rows_per_batch` chose for the model.

Models (random weights; cost does not depend on training): the adebayo2018 MLP and CNN, the
kindermans2017 MLP, the gupta2019 AlexNet, a wider CNN (conv 32-48-64 at 28x28, never used to
tune anything) and torchvision's VGG-16 at 64x64 (4 images: it is ~40x the CNN's cost). A method
that does not apply to a model (Grad-CAM without a convolution; the all-class row on VGG-16's
1000 classes) is skipped with the reason printed under the table. Captum runs with its defaults,
except where those put the whole workload in one batch of gigabytes: IG-SmoothGrad (one noisy
sample per IG call, ``internal_batch_size`` = our rows per batch) and occlusion (all patches of
one image per evaluation).

``--passes`` adds, per model, the time of one forward pass and of one backward pass over the
images (at our rows per batch) and of the all-class backward two ways: one backward per class
from the retained graph (``_utils._class_backward``, what the library runs) and one
``is_grads_batched=True`` call (vmap over the classes). All-class Gradient x Input costs about
F + K B against K (F + B) for K Captum calls, so the measured B/F says how far below ten Captum
calls it can go. ``--sweep-chunks`` times one of our methods at fixed rows per batch.
Usage::

    python benchmarks/bench_floor.py                   # all models, markdown table on stdout
    python benchmarks/bench_floor.py --models cnn wide_cnn --images 20 --repeats 1
    python benchmarks/bench_floor.py --methods ig smoothgrad --passes
    python benchmarks/bench_floor.py --sweep-chunks integrated_gradients --models cnn
    python benchmarks/bench_floor.py --layouts          # default vs channels-last passes
"""

from __future__ import annotations

import argparse
import copy
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from captum.attr import (
    Deconvolution,
    GuidedBackprop,
    GuidedGradCam,
    InputXGradient,
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    NoiseTunnel,
    Occlusion,
    Saliency,
)
from torch import nn

from saliency_sanity import models
from saliency_sanity.attribution import attribute, attribute_all_classes
from saliency_sanity.attribution._utils import _class_backward, frozen_params
from saliency_sanity.attribution.gradcam import gradcam_module
from saliency_sanity.batching import rows_per_batch
from saliency_sanity.layout import convolutional

#: IG steps and SmoothGrad/VarGrad samples (the papers'); IG-SmoothGrad as config/config.yaml
#: runs it (10 samples x 10 steps); classes of the all-class row; occlusion patch
STEPS, SAMPLES, IGSG_STEPS, IGSG_SAMPLES, K, PATCH = 50, 50, 10, 10, 10, 4
BATCHES = (16, 32, 64, 128, 256, 512, 1024)


def wide_cnn() -> nn.Module:
    """conv3x3 32-48-64 at 28x28 (ReLU, two 2x2 max-pools) and a dense 3136-10 head."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 48, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(48, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 10),
    )


def vgg16() -> nn.Module:
    import torchvision

    return torchvision.models.vgg16(weights=None)


#: name -> (builder, input shape of one image, images)
MODELS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...], int]] = {
    "mlp": (lambda: models.build("mlp"), (1, 28, 28), 50),
    "cnn": (lambda: models.build("cnn"), (1, 28, 28), 50),
    "kindermans_mlp": (lambda: models.build("kindermans_mlp"), (1, 28, 28), 50),
    "alexnet": (lambda: models.build("alexnet"), (1, 28, 28), 50),
    "wide_cnn": (wide_cnn, (1, 28, 28), 50),
    "vgg16": (vgg16, (3, 64, 64), 4),
}


@dataclass
class Case:
    """One table row: our call, Captum's (None: none), the rows the method evaluates and the
    kind of floor ("backward": forward + input gradient; "forward": forward only)."""

    ours: Callable[[], object]
    captum: Callable[[], object] | None
    rows: int
    kind: str = "backward"


#: a function runs more rounds until it has run this many seconds in all (at most MAX_ROUNDS)
BUDGET_S, MAX_ROUNDS = 1.0, 50


def best_time(fns: list[Callable[[], object]], repeats: int) -> list[float]:
    """Best wall time of each function over round-robin rounds (drift hits all alike): at least
    ``repeats`` rounds, and more until every function has run BUDGET_S seconds in all, so a
    5 ms workload gets enough rounds for its cold first calls to drop out of the best time; a
    workload of seconds runs ``repeats`` times."""
    best, spent, rounds = [float("inf")] * len(fns), [0.0] * len(fns), 0
    while rounds < repeats or (min(spent) < BUDGET_S and rounds < MAX_ROUNDS):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            took = time.perf_counter() - start
            best[i], spent[i] = min(best[i], took), spent[i] + took
        rounds += 1
    return best


def floor_fn(
    model: nn.Module, x: torch.Tensor, rows: int, batch: int, kind: str = "backward"
) -> Callable[[], None]:
    """Plain forward + input-gradient backward (``kind="forward"``: forward only, no grad) over
    ``rows`` rows cycled from x, ``batch`` at a time, parameters frozen (no weight gradients:
    the cheapest honest pass)."""
    xs = x.repeat((rows + x.shape[0] - 1) // x.shape[0], *([1] * (x.dim() - 1)))[:rows]
    with torch.no_grad():
        target = model(x[:1]).argmax(1).expand(rows).contiguous()

    def run() -> None:
        with frozen_params(model), torch.set_grad_enabled(kind == "backward"):
            for i in range(0, rows, batch):
                xi = xs[i : i + batch].detach().requires_grad_(kind == "backward")
                out = model(xi).gather(1, target[i : i + batch, None]).sum()
                if kind == "backward":
                    torch.autograd.grad(out, xi)

    return run


def floor_sizes(rows: int) -> list[int]:
    """The batch sizes of the floor: those of BATCHES below ``rows``, and all rows (<= 1024)."""
    return sorted({b for b in BATCHES if b < rows} | {min(rows, BATCHES[-1])})


def _gradient_cases(model, x, target) -> dict[str, Case]:
    n = x.shape[0]
    sal, ixg = Saliency(model), InputXGradient(model)
    return {
        "Gradient": Case(
            lambda: attribute("gradient", model, x, target),
            lambda: sal.attribute(x, target=target, abs=False),
            n,
        ),
        "Gradient x Input": Case(
            lambda: attribute("gradient_input", model, x, target),
            lambda: ixg.attribute(x, target=target),
            n,
        ),
        "Guided Backprop": Case(
            lambda: attribute("guided_backprop", model, x, target),
            lambda: GuidedBackprop(model).attribute(x, target=target),
            n,
        ),
        "DeconvNet": Case(
            lambda: attribute("deconvnet", model, x, target),
            lambda: Deconvolution(model).attribute(x, target=target),
            n,
        ),
    }


def _noisy_cases(model, x, target) -> dict[str, Case]:
    n, chunk = x.shape[0], rows_per_batch(model, x)
    sigma = 0.15 * float(x.max() - x.min())  # Captum's stdevs is absolute; random data: one range
    tunnel, ig = NoiseTunnel(Saliency(model)), IntegratedGradients(model)
    ig_tunnel = NoiseTunnel(IntegratedGradients(model))

    def captum_tunnel(kind: str) -> Callable[[], object]:
        return lambda: tunnel.attribute(
            x, nt_type=kind, nt_samples=SAMPLES, stdevs=sigma, target=target, abs=False
        )

    igsg = {"base": "integrated_gradients", "steps": IGSG_STEPS, "samples": IGSG_SAMPLES}
    captum_igsg = {"nt_type": "smoothgrad", "nt_samples": IGSG_SAMPLES, "stdevs": sigma,
                   "nt_samples_batch_size": 1, "n_steps": IGSG_STEPS,
                   "method": "riemann_middle", "internal_batch_size": max(chunk, n)}  # fmt: skip
    return {
        f"IG ({STEPS} steps)": Case(
            lambda: attribute("integrated_gradients", model, x, target, steps=STEPS),
            lambda: ig.attribute(x, target=target, n_steps=STEPS, method="riemann_middle"),
            n * STEPS,
        ),
        f"SmoothGrad ({SAMPLES} samples)": Case(
            lambda: attribute("smoothgrad", model, x, target, samples=SAMPLES),
            captum_tunnel("smoothgrad"),
            n * SAMPLES,
        ),
        f"VarGrad ({SAMPLES} samples)": Case(
            lambda: attribute("vargrad", model, x, target, samples=SAMPLES),
            captum_tunnel("vargrad"),
            n * SAMPLES,
        ),
        f"IG-SmoothGrad ({IGSG_SAMPLES} x {IGSG_STEPS})": Case(
            lambda: attribute("smoothgrad", model, x, target, **igsg),
            lambda: ig_tunnel.attribute(x, target=target, **captum_igsg),
            n * IGSG_SAMPLES * IGSG_STEPS,
        ),
    }


def _gradcam_cases(model, x, target) -> dict[str, Case | str]:
    try:
        _, module = gradcam_module(model, None)
    except ValueError as err:
        return {"Grad-CAM": str(err), "Guided Grad-CAM": str(err)}
    n, size = x.shape[0], tuple(x.shape[2:])

    def captum_gradcam() -> torch.Tensor:
        cam = LayerGradCam(model, module).attribute(x, target=target, relu_attributions=True)
        return LayerAttribution.interpolate(cam, size, interpolate_mode="bilinear")

    return {
        "Grad-CAM": Case(lambda: attribute("gradcam", model, x, target), captum_gradcam, n),
        "Guided Grad-CAM": Case(
            lambda: attribute("guided_gradcam", model, x, target),
            lambda: GuidedGradCam(model, module).attribute(
                x, target=target, interpolate_mode="bilinear"
            ),
            2 * n,  # a guided backward and a Grad-CAM pass
        ),
    }


def _other_cases(model, x, target, classes: int) -> dict[str, Case | str]:
    n, (h, w) = x.shape[0], x.shape[2:]
    patches = -(-h // PATCH) * -(-w // PATCH)
    window = (x.shape[1], PATCH, PATCH)
    occlude = {"sliding_window_shapes": window, "strides": window, "target": target,
               "perturbations_per_eval": patches}  # fmt: skip
    out: dict[str, Case | str] = {
        f"Occlusion ({PATCH}x{PATCH})": Case(
            lambda: attribute("occlusion", model, x, target, patch=PATCH),
            lambda: Occlusion(model).attribute(x, **occlude),
            n * patches,
            "forward",
        )
    }
    name = f"Gradient x Input, all {K} classes"
    if classes != K:
        out[name] = f"{classes} classes: the target is stated for ten Captum calls"
        return out
    ixg = InputXGradient(model)
    out[name] = Case(
        lambda: attribute_all_classes("gradient_input", model, x),
        lambda: [ixg.attribute(x, target=torch.full_like(target, k)) for k in range(K)],
        n * K,
    )
    return out


def cases(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> dict[str, Case | str]:
    """method -> Case, or the reason it is skipped on this model."""
    with torch.no_grad():
        classes = model(x[:1]).shape[1]
    return {
        **_gradient_cases(model, x, target),
        **_noisy_cases(model, x, target),
        **_gradcam_cases(model, x, target),
        **_other_cases(model, x, target, classes),
    }


def batch_sizes(model: nn.Module, fn: Callable[[], object]) -> list[int]:
    """The batch size of every forward pass of ``model`` during one call of ``fn``."""
    sizes: list[int] = []
    handle = model.register_forward_pre_hook(lambda _m, args: sizes.append(args[0].shape[0]))
    try:
        fn()
    finally:
        handle.remove()
    return sizes


def describe(sizes: list[int]) -> str:
    """The range of the batch sizes and how many batches there were: "89-90 (x28)"."""
    if not sizes:
        return "-"
    lo, hi = min(sizes), max(sizes)
    return f"{lo if lo == hi else f'{lo}-{hi}'} (x{len(sizes)})"


def captum_or_reason(fn: Callable[[], object] | None) -> tuple[Callable | None, str]:
    """``fn`` if one untimed call succeeds, else None and why (Captum cannot run every model:
    e.g. backward hooks on in-place ReLUs)."""
    if fn is None:
        return None, "no Captum counterpart"
    try:
        fn()
    except Exception as err:  # any failure of Captum's is reported, not fatal
        return None, f"Captum failed: {type(err).__name__}: {str(err).splitlines()[0][:120]}"
    return fn, ""


HEADER = (
    "| model | method | rows | ours (s) | Captum (s) | floor (s) | floor batch "
    "| ours: rows/batch | rows_per_batch | ours/floor | ours/Captum |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def floor_layouts(model: nn.Module, x: torch.Tensor, kind: str) -> dict[str, nn.Module]:
    """The layouts the floor is timed in: the default, and for a forward-only floor of a conv
    net on the CPU also channels-last (a copy of the model; the library's perturbation methods
    run their forward passes that way, saliency_sanity.layout), so the floor stays the best
    plain pass there is."""
    out = {"": model}
    if kind == "forward" and convolutional(model) and x.device.type == "cpu" and x.dim() == 4:
        out[" NHWC"] = copy.deepcopy(model).to(memory_format=torch.channels_last)
    return out


def time_group(model, x, group: dict[str, Case], rows: int, kind: str, repeats: int) -> list:
    """Round-robin: every method of the group, its Captum call and the floor at every batch
    size (and layout, :func:`floor_layouts`) in one loop. Returns (method, ours, Captum, floor,
    floor batch, sizes, note) rows."""
    layouts = floor_layouts(model, x, kind)
    sizes = [(b, name) for name in layouts for b in floor_sizes(rows)]
    used, captum, notes = {}, {}, {}
    for name, case in group.items():
        used[name] = batch_sizes(model, case.ours)  # also the untimed warm-up
        captum[name], notes[name] = captum_or_reason(case.captum)
    xs = {"": x, " NHWC": x.contiguous(memory_format=torch.channels_last)}
    fns = [floor_fn(layouts[name], xs[name], rows, b, kind) for b, name in sizes]
    fns += [case.ours for case in group.values()]
    fns += [fn for fn in captum.values() if fn is not None]
    times = iter(best_time(fns, repeats))
    floors = [next(times) for _ in sizes]
    ours = {name: next(times) for name in group}
    theirs = {name: next(times) if fn is not None else float("nan") for name, fn in captum.items()}
    i = min(range(len(sizes)), key=floors.__getitem__)
    batch = f"{sizes[i][0]}{sizes[i][1]}"
    return [(name, ours[name], theirs[name], floors[i], batch, used[name], notes[name])
            for name in group]  # fmt: skip


def setup(name: str, images: int | None) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    build, shape, n = MODELS[name]
    n = images or n
    torch.manual_seed(0)
    model = build().eval()
    x = torch.rand(n, *shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        target = model(x).argmax(1)
    return model, x, target


def benchmark(names: list[str], images: int | None, repeats: int, only: list[str]) -> None:
    print(HEADER)
    notes = []
    for name in names:
        model, x, target = setup(name, images)
        chosen = rows_per_batch(model, x)
        groups: dict[tuple[int, str], dict[str, Case]] = {}
        for method, case in cases(model, x, target).items():
            if only and not any(word.lower() in method.lower() for word in only):
                continue
            if isinstance(case, str):
                notes.append(f"- {name}, {method}: skipped ({case})")
                continue
            groups.setdefault((case.rows, case.kind), {})[method] = case
        for (rows, kind), group in sorted(groups.items()):
            for method, t_ours, t_captum, t_floor, batch, used, note in time_group(
                model, x, group, rows, kind, repeats
            ):
                floor_name = f"{t_floor:.3f}" + (" (fwd)" if kind == "forward" else "")
                cells = [name, method, str(rows), f"{t_ours:.3f}", f"{t_captum:.3f}",
                         floor_name, str(batch), describe(used), str(chosen),
                         f"{t_ours / t_floor:.2f}", f"{t_ours / t_captum:.2f}"]  # fmt: skip
                print("| " + " | ".join(cells) + " |", flush=True)
                if note:
                    notes.append(f"- {name}, {method}: {note}")
    print("\n".join(["", *notes]) if notes else "")


def vmap_class_backward(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Gradients of every output column w.r.t. x, (K, *x.shape), in ONE backward call batched
    over the classes (``is_grads_batched=True``, vmap), against the library's loop."""
    k = out.shape[1]
    eye = torch.eye(k, dtype=out.dtype, device=out.device)[:, None, :]
    return torch.autograd.grad(out, x, eye.expand(k, *out.shape), is_grads_batched=True)[0]


def pass_fn(model: nn.Module, x: torch.Tensor, chunk: int, backward) -> Callable[[], None]:
    """Forward over x in chunks (graph built, input requires grad), then ``backward(out, xr)``
    on each chunk (None: no backward)."""

    def run() -> None:
        with frozen_params(model), torch.enable_grad():
            for i in range(0, x.shape[0], chunk):
                xr = x[i : i + chunk].detach().requires_grad_(True)
                out = model(xr)
                if backward is not None:
                    backward(out, xr)

    return run


def one_backward(out: torch.Tensor, x: torch.Tensor) -> None:
    torch.autograd.grad(out[:, 0].sum(), x)


def passes(names: list[str], images: int | None, repeats: int) -> None:
    """Forward vs backward per model, and the all-class backward as a loop or one vmap call."""
    print(
        "\n| model | images | rows/batch | F: forward (s) | F + B: one backward (s) | B/F "
        "| F + K backward, loop (s) | F + K backward, vmap (s) | vmap/loop "
        "| loop / (K (F + B)) | (F + K B) / (K (F + B)) |\n" + "|---" * 11 + "|"
    )
    for name in names:
        model, x, _ = setup(name, images)
        chunk = rows_per_batch(model, x)
        with torch.no_grad():
            k = model(x[:1]).shape[1]
        fns = [pass_fn(model, x, chunk, None), pass_fn(model, x, chunk, one_backward)]
        if k <= K:
            fns += [pass_fn(model, x, chunk, _class_backward),
                    pass_fn(model, x, chunk, vmap_class_backward)]  # fmt: skip
        t = best_time(fns, repeats) + [float("nan")] * (4 - len(fns))
        f, fb, loop, vmap = t
        cells = [name, str(x.shape[0]), str(chunk), f"{f:.4f}", f"{fb:.4f}",
                 f"{(fb - f) / f:.2f}", f"{loop:.4f}", f"{vmap:.4f}", f"{vmap / loop:.2f}",
                 f"{loop / (k * fb):.2f}", f"{(f + k * (fb - f)) / (k * fb):.2f}"]  # fmt: skip
        if k > K:
            cells[6:] = [f"skipped: K = {k}"] + ["-"] * 4
        print("| " + " | ".join(cells) + " |", flush=True)


def layouts(names: list[str], repeats: int) -> None:
    """A forward pass (no grad) and a forward + input-gradient backward at the rows per batch
    chosen for each conv model, in the default layout and channels-last (a copy of the model
    converted with ``.to(memory_format=torch.channels_last)``): the measurement behind
    :mod:`saliency_sanity.layout` (the perturbation methods run their forward passes
    channels-last on a CPU; the gradient methods keep the default layout)."""
    print("| model | rows/batch | forward (s) | forward NHWC (s) | NHWC/default "
          "| forward + backward (s) | forward + backward NHWC (s) | NHWC/default |\n"
          + "|---" * 8 + "|")  # fmt: skip
    for name in names:
        model, x, _ = setup(name, None)
        if not convolutional(model):
            continue
        rows = rows_per_batch(model, x)
        nhwc = copy.deepcopy(model).to(memory_format=torch.channels_last)
        batch = torch.rand(rows, *x.shape[1:], generator=torch.Generator().manual_seed(0))
        batch_nhwc = batch.contiguous(memory_format=torch.channels_last)
        fns = [floor_fn(m, b, rows, rows, kind) for kind in ("forward", "backward")
               for m, b in ((model, batch), (nhwc, batch_nhwc))]  # fmt: skip
        f, f_cl, fb, fb_cl = best_time(fns, repeats)
        cells = [name, str(rows), f"{f:.4f}", f"{f_cl:.4f}", f"{f_cl / f:.2f}", f"{fb:.4f}",
                 f"{fb_cl:.4f}", f"{fb_cl / fb:.2f}"]  # fmt: skip
        print("| " + " | ".join(cells) + " |", flush=True)


def sweep(method: str, names: list[str], images: int | None, repeats: int) -> None:
    """Seconds of one of our methods at fixed rows per batch (``chunk=``)."""
    print(f"| model | rows per batch | {method} (s) |\n|---|---|---|")
    for name in names:
        model, x, target = setup(name, images)
        chunks = (32, 64, 128, 256, 512, 1024, 2048)
        fns = [lambda c=c, m=model, x=x, t=target: attribute(method, m, x, t, chunk=c)
               for c in chunks]  # fmt: skip
        for chunk, t in zip(chunks, best_time(fns, repeats), strict=True):
            print(f"| {name} | {chunk} | {t:.3f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--images", type=int, default=None,
                        help="images per model (default: 50, VGG-16 4)")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds (best is kept)")
    parser.add_argument("--methods", nargs="+", default=[],
                        help="only methods whose name contains one of these words")  # fmt: skip
    parser.add_argument("--passes", action="store_true", help="also forward vs backward")
    parser.add_argument("--no-methods", action="store_true", help="skip the methods table")
    parser.add_argument("--sweep-chunks", metavar="METHOD", help="time METHOD per rows/batch")
    parser.add_argument("--layouts", action="store_true", help="default vs channels-last passes")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # Captum's requires_grad / backward-hook notes
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    if args.sweep_chunks:
        sweep(args.sweep_chunks, args.models, args.images, args.repeats)
        return
    if args.layouts:
        layouts(args.models, args.repeats)
        return
    if not args.no_methods:
        benchmark(args.models, args.images, args.repeats, args.methods)
    if args.passes:
        passes(args.models, args.images, args.repeats)


if __name__ == "__main__":
    main()
