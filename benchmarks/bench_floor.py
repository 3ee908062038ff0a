"""Our gradient-family methods against an honest floor and against Captum (issue 12).

The floor of a method is a plain batched forward + backward (gradient of the target logits
w.r.t. the input, parameters frozen) over the same total number of rows the method evaluates
(N for Gradient, N x 50 for IG and SmoothGrad, N x 10 for the all-class pass), timed at EVERY
batch size in 16..1024 (and the whole workload at once) in the same run; the best of them is the
floor. It does not move with our default rows per batch, which is the point: the table shows the
floor's best batch size beside the one :func:`saliency_sanity.batching.rows_per_batch` chose.

Models (random weights; cost does not depend on training): the adebayo2018 MLP and CNN, the
kindermans2017 MLP, the gupta2019 AlexNet, a wider CNN (conv 32-48-64 at 28x28, never used to
tune anything) and torchvision's VGG-16 at 64x64 (fewer images: it is ~40x the CNN's cost).
Usage::

    python benchmarks/bench_floor.py                   # all models, markdown table on stdout
    python benchmarks/bench_floor.py --models cnn wide_cnn --images 20 --repeats 1
    python benchmarks/bench_floor.py --sweep-only      # floor per batch size, no methods
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable

import torch
from captum.attr import InputXGradient, IntegratedGradients, NoiseTunnel, Saliency
from torch import nn

from saliency_sanity import models
from saliency_sanity.attribution import attribute, attribute_all_classes
from saliency_sanity.attribution._utils import frozen_params
from saliency_sanity.batching import rows_per_batch

STEPS, SAMPLES, K = 50, 50, 10
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


def best_time(fns: list[Callable[[], object]], repeats: int) -> list[float]:
    """Best wall time of each function over ``repeats`` round-robin rounds (drift hits all)."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def floor_fn(model: nn.Module, x: torch.Tensor, rows: int, batch: int) -> Callable[[], None]:
    """Plain forward + input-gradient backward over ``rows`` rows cycled from x, ``batch`` at a
    time, parameters frozen (no weight gradients: the cheapest honest pass)."""
    xs = x.repeat((rows + x.shape[0] - 1) // x.shape[0], *([1] * (x.dim() - 1)))[:rows]
    with torch.no_grad():
        target = model(x[:1]).argmax(1).expand(rows).contiguous()

    def run() -> None:
        with frozen_params(model):
            for i in range(0, rows, batch):
                xi = xs[i : i + batch].detach().requires_grad_(True)
                out = model(xi).gather(1, target[i : i + batch, None]).sum()
                torch.autograd.grad(out, xi)

    return run


def floor(model: nn.Module, x: torch.Tensor, rows: int, repeats: int) -> tuple[float, int]:
    """(best seconds, its batch size) over the batch sizes in BATCHES <= rows, and rows."""
    sizes = sorted({b for b in BATCHES if b < rows} | {min(rows, BATCHES[-1])})
    times = best_time([floor_fn(model, x, rows, b) for b in sizes], repeats)
    i = min(range(len(sizes)), key=times.__getitem__)
    return times[i], sizes[i]


def cases(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> dict[str, tuple]:
    """method -> (ours, Captum, rows of its floor). The all-class row only for models with K
    classes (VGG-16's 1000 would be 1000 Captum calls; the target is stated for ten)."""
    n = x.shape[0]
    sigma = 0.15 * float(x.max() - x.min())
    sal, ixg = Saliency(model), InputXGradient(model)
    ig, tunnel = IntegratedGradients(model), NoiseTunnel(Saliency(model))
    out = {
        "Gradient": (
            lambda: attribute("gradient", model, x, target),
            lambda: sal.attribute(x, target=target, abs=False),
            n,
        ),
        "Gradient x Input": (
            lambda: attribute("gradient_input", model, x, target),
            lambda: ixg.attribute(x, target=target),
            n,
        ),
        f"IG ({STEPS} steps)": (
            lambda: attribute("integrated_gradients", model, x, target, steps=STEPS),
            lambda: ig.attribute(x, target=target, n_steps=STEPS, method="riemann_middle"),
            n * STEPS,
        ),
        f"SmoothGrad ({SAMPLES} samples)": (
            lambda: attribute("smoothgrad", model, x, target, samples=SAMPLES),
            lambda: tunnel.attribute(
                x, nt_type="smoothgrad", nt_samples=SAMPLES, stdevs=sigma, target=target, abs=False
            ),
            n * SAMPLES,
        ),
    }
    with torch.no_grad():
        classes = model(x[:1]).shape[1]
    if classes == K:
        out[f"Gradient x Input, all {K} classes"] = (
            lambda: attribute_all_classes("gradient_input", model, x),
            lambda: [ixg.attribute(x, target=torch.full_like(target, k)) for k in range(K)],
            n * K,
        )
    return out


def benchmark(names: list[str], images: int | None, repeats: int, sweep_only: bool) -> None:
    print(
        "| model | method | rows | ours (s) | floor (s) | floor batch | rows_per_batch "
        "| Captum (s) | ours/floor | ours/Captum |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        build, shape, n = MODELS[name]
        n = min(n, images) if images else n
        torch.manual_seed(0)
        model = build().eval()
        x = torch.rand(n, *shape, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            target = model(x).argmax(1)
        chosen = rows_per_batch(model, x)
        floors: dict[int, tuple[float, int]] = {}
        for method, (ours, captum, rows) in cases(model, x, target).items():
            if rows not in floors:
                floors[rows] = floor(model, x, rows, repeats)
            t_floor, batch = floors[rows]
            if sweep_only:
                t_ours = t_captum = float("nan")
            else:
                t_ours, t_captum = best_time([ours, captum], repeats)
            cells = [
                name,
                method,
                str(rows),
                f"{t_ours:.3f}",
                f"{t_floor:.3f}",
                str(batch),
                str(chosen),
                f"{t_captum:.3f}",
                f"{t_ours / t_floor:.2f}",
                f"{t_ours / t_captum:.2f}",
            ]
            print("| " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--images", type=int, default=None, help="at most this many images")
    parser.add_argument("--repeats", type=int, default=2, help="timed rounds (best is kept)")
    parser.add_argument("--sweep-only", action="store_true", help="only the floors")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # Captum's requires_grad notes
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    benchmark(args.models, args.images, args.repeats, args.sweep_only)


if __name__ == "__main__":
    main()
