"""saliency_sanity.checks.model_randomization against Quantus 0.6's MPRT, same workload.

Workload (issue 14): cascading top-down randomisation of a 7-layer CNN (4 convolutions with
zero padding, 3 dense layers, random weights, 1x28x28 inputs), 50 images, 4 methods (Gradient,
Gradient x Input, Guided Backprop, IG with 50 steps), Spearman |map| at each of the 7 steps.
"Quantus MPRT" explains with our ``attribute``, so its difference from ours is the check's own
work: Quantus runs one metric per method (re-randomising the model, recomputing the original
maps twice), we randomise once and explain every method on each model. "Quantus MPRT, Captum
maps" is the stack a Quantus user runs (Captum's Saliency, InputXGradient, GuidedBackprop and
IntegratedGradients at 50 midpoint steps). Ours is timed without the null (Quantus has none)
and with it (two untrained copies, 2 more models).

    python benchmarks/bench_checks.py [--images 50] [--repeats 3] [--no-captum]

Rounds alternate Quantus and ours in one process. The table gives each run's best round, its
ratio to Quantus' best, and the median over rounds of the ratio within a round (on a shared
machine the load changes between rounds more than within one, so the within-round ratio is the
steadier number).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from torch import nn

from saliency_sanity import checks
from saliency_sanity.attribution import attribute

METHODS = {"gradient": {}, "gradient_input": {}, "guided_backprop": {},
           "integrated_gradients": {"steps": 50}}  # fmt: skip
SEED = 42


def cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10),
    ).eval()  # fmt: skip


def quantus_reset(module: nn.Module, name: str, seed: int) -> None:
    torch.manual_seed(seed + 1)  # Quantus' seeding, so both sides draw the same weights
    module.reset_parameters()


def _captum(name: str, model, xs, ts):
    """The same maps by Captum (what a Quantus user plugs in): IG 50 steps, midpoint rule."""
    import captum.attr as ca

    if name == "integrated_gradients":
        ig = ca.IntegratedGradients(model)
        return ig.attribute(xs, target=ts, n_steps=50, method="riemann_middle",
                            internal_batch_size=len(xs) * 50)  # fmt: skip
    cls = {"gradient": ca.Saliency, "gradient_input": ca.InputXGradient,
           "guided_backprop": ca.GuidedBackprop}[name]  # fmt: skip
    kwargs = {"abs": False} if name == "gradient" else {}
    return cls(model).attribute(xs, target=ts, **kwargs)


def run_quantus(model, x, y, captum: bool = False) -> dict:
    import quantus

    out = {}
    for name, params in METHODS.items():

        def explain(model, inputs, targets, name=name, params=params, **_):
            xs = torch.as_tensor(np.asarray(inputs), dtype=torch.float32)
            ts = torch.as_tensor(np.asarray(targets))
            if captum:
                return _captum(name, model, xs.requires_grad_(True), ts).detach().numpy()
            return attribute(name, model, xs, ts, **params).numpy()

        metric = quantus.MPRT(layer_order="top_down", seed=SEED, disable_warnings=True)
        out[name] = metric(model=model, x_batch=x.numpy(), y_batch=y.numpy(), a_batch=None,
                           explain_func=explain, device="cpu", batch_size=len(x))  # fmt: skip
    return out


def run_ours(model, x, y, null: bool):
    layers = [n for n, m in model.named_modules() if hasattr(m, "reset_parameters")]
    return checks.model_randomization(
        model, x, y, methods={k: (k, v) for k, v in METHODS.items()}, init=quantus_reset,
        seed=SEED, layers=layers, measures=("spearman_abs",), null=null,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-captum", action="store_true", help="skip Quantus with Captum maps")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    model = cnn()
    x = torch.rand(args.images, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = model(x).argmax(1)
    runs = {"Quantus MPRT": lambda: run_quantus(model, x, y),
            "Quantus MPRT, Captum maps": lambda: run_quantus(model, x, y, captum=True),
            "ours, no null": lambda: run_ours(model, x, y, False),
            "ours, with null": lambda: run_ours(model, x, y, True)}  # fmt: skip
    if args.no_captum:
        runs.pop("Quantus MPRT, Captum maps")
    seconds: dict[str, list[float]] = {k: [] for k in runs}
    results = {}
    for _ in range(args.repeats):
        for key, fn in runs.items():
            t0 = time.perf_counter()
            results[key] = fn()
            seconds[key].append(time.perf_counter() - t0)
    best = {k: min(v) for k, v in seconds.items()}
    quantus = np.asarray(seconds["Quantus MPRT"])
    ours = results["ours, no null"]
    gap = max(abs(float(ours[(ours["method"] == m) & (ours["step"] == s)]["mean"].iloc[0])
                  - float(np.mean(v[s]))) for m, v in results["Quantus MPRT"].items()
              for s in v if s != "original")  # fmt: skip
    print(f"threads {torch.get_num_threads()}, {args.images} images, {args.repeats} rounds")
    print("| run | best (s) | best / Quantus' best | median of round ratios |\n|---|---|---|---|")
    for key, t in best.items():
        ratio = float(np.median(np.asarray(seconds[key]) / quantus))
        print(f"| {key} | {t:.2f} | {t / best['Quantus MPRT']:.2f} | {ratio:.2f} |")
    print(f"largest difference of a per-step mean Spearman from Quantus': {gap:.1e}")


if __name__ == "__main__":
    main()
