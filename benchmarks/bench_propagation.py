"""Time our LRP rules against zennit 0.5.1 on the same inputs, the floor, and DASP.

    python benchmarks/bench_propagation.py [--n 200] [--repeats 3] [--dasp-images 4]

For the zoo's mlp and cnn (random weights; timing does not depend on training) and N random
MNIST-shaped inputs: the floor is one batched forward + backward of the target logits; each rule
is timed as ours (``attribute``) and zennit's (the same rule on every dense layer, or
EpsilonGammaBox for the composite), best of ``repeats``. Then DASP on the cnn for a few images.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial

import torch
from torch import nn
from zennit.attribution import Gradient
from zennit.composites import EpsilonGammaBox, LayerMapComposite, SpecialFirstLayerMapComposite
from zennit.core import Stabilizer
from zennit.rules import AlphaBeta, Epsilon, Gamma, Pass, ZBox
from zennit.types import Activation, Convolution

from saliency_sanity.attribution import attribute, attribute_all_classes
from saliency_sanity.models import build


def best_of(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def floor(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> None:
    xg = x.clone().requires_grad_(True)
    model(xg).gather(1, target[:, None]).sum().backward()


def zennit_run(model, x, target, composite) -> torch.Tensor:
    with Gradient(model=model, composite=composite) as attributor:
        _, rel = attributor(x, lambda out: nn.functional.one_hot(target, out.shape[1]) * out)
    return rel


def every_layer(rule) -> LayerMapComposite:
    return LayerMapComposite([(Activation, Pass()), ((nn.Linear, Convolution), rule)])


def cases(arch: str) -> list[tuple[str, dict, object]]:
    eps = Epsilon(epsilon=Stabilizer(0.25, norm_scale=True))
    if arch == "cnn":
        box = EpsilonGammaBox(low=0.0, high=1.0, epsilon=Stabilizer(0.25, norm_scale=True))
    else:
        box = SpecialFirstLayerMapComposite(
            [(Activation, Pass()), (nn.Linear, eps)], [(nn.Linear, ZBox(low=0.0, high=1.0))]
        )
    return [
        ("lrp_0", {}, every_layer(Epsilon(epsilon=1e-6))),
        ("lrp_epsilon", {}, every_layer(eps)),
        ("lrp_gamma", {}, every_layer(Gamma(gamma=0.25))),
        ("lrp_alpha_beta", {}, every_layer(AlphaBeta(alpha=2.0, beta=1.0))),
        ("lrp_composite", {}, box),
    ]


def bench_model(arch: str, n: int, repeats: int) -> None:
    model = build(arch).eval()
    x = torch.rand(n, *model.input_shape)
    target = model(x).argmax(1).detach()
    base = best_of(partial(floor, model, x, target), repeats)
    print(f"{arch:6} {'floor (fwd+bwd)':15} {base:8.3f} {'':9} {'':12} {1.0:11.2f}")
    for name, params, composite in cases(arch):
        ours_fn = partial(attribute, name, model, x, target, **params)
        ref_fn = partial(zennit_run, model, x, target, composite)
        ours, ref = best_of(ours_fn, repeats), best_of(ref_fn, repeats)
        theirs = ref_fn()
        scale = (ours_fn() - theirs).abs().max() / theirs.abs().max()
        row = f"{arch:6} {name:15} {ours:8.3f} {ref:9.3f} {ours / ref:12.2f} {ours / base:11.2f}"
        print(f"{row}   (max |diff| / max |zennit| = {scale:.1e})")


def bench_dasp(images: int) -> None:
    model = build("cnn").eval()
    x = torch.rand(images, *model.input_shape)
    start = time.perf_counter()
    attribute_all_classes("dasp", model, x)
    took = time.perf_counter() - start
    per = took / images
    print(f"dasp on cnn, {images} images, all classes, 16 sizes: {took:.1f} s ({per:.1f} s/image)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dasp-images", type=int, default=4)
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, N = {args.n}")
    header = ("model", "method", "ours s", "zennit s", "ours/zennit", "ours/floor")
    print("{:6} {:15} {:>8} {:>9} {:>12} {:>11}".format(*header))
    for arch in ("mlp", "cnn"):
        bench_model(arch, args.n, args.repeats)
    if args.dasp_images:
        bench_dasp(args.dasp_images)


if __name__ == "__main__":
    main()
