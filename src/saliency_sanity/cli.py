"""The command line: ``saliency-sanity scorecard`` runs every check on a model the user names.

    saliency-sanity scorecard --model mypkg.nets:make_net --weights net.pt --images imgs/ \\
        --methods gradient integrated_gradients guided_backprop --out card/

writes ``card/scorecard.csv`` (one row per method and check, :mod:`saliency_sanity.checks`)
and ``card/scorecard.png``. Bad arguments (an unknown method, a model that does not load,
images of the wrong shape) stop with one line that names the problem and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


class UsageError(Exception):
    """A bad argument: reported in one line, exit code 2."""


def load_model(spec: str, weights: str | None):
    """``pkg.module:factory`` -> ``factory()`` in eval mode, with ``weights`` (a state dict)."""
    import torch

    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise UsageError(f"--model must be 'pkg.module:factory', got {spec!r}")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
        model = factory()
    except Exception as err:  # anything the user's code raises: report it, do not trace
        raise UsageError(
            f"--model {spec}: cannot build the model ({type(err).__name__}: {err})"
        ) from err
    if not isinstance(model, torch.nn.Module):
        raise UsageError(f"--model {spec}: the factory returned a {type(model).__name__}, "
                         "not a torch.nn.Module")  # fmt: skip
    if weights:
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
            model.load_state_dict(state.get("state_dict", state) if isinstance(state, dict)
                                  else state)  # fmt: skip
        except Exception as err:
            raise UsageError(
                f"--weights {weights}: cannot load ({type(err).__name__}: {err})"
            ) from err
    return model.eval()


def _channels(model) -> int:
    from torch import nn

    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    return conv.in_channels if conv is not None else 1


def load_images(folder: str, channels: int, n: int):
    """The first ``n`` images of ``folder`` (sorted by name) as a float tensor (n, C, H, W) in
    [0, 1]; every image must have the same size."""
    import torch
    from skimage import io

    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UsageError(f"--images {folder}: no image file ({', '.join(IMAGE_SUFFIXES)})")
    arrays = []
    for path in files[:n]:
        raw = np.asarray(io.imread(path))
        a = raw.astype(np.float32)
        if np.issubdtype(raw.dtype, np.integer):  # 8 or 16 bits: scale by the type's range
            a = a / np.iinfo(raw.dtype).max
        if a.ndim == 3 and a.shape[-1] in (2, 4):  # drop an alpha channel
            a = a[..., :-1]
        a = a[..., 0] if a.ndim == 3 and a.shape[-1] == 1 else a
        if channels == 1 and a.ndim == 3:
            a = a.mean(axis=-1)
        if channels == 3 and a.ndim == 2:
            a = np.stack([a] * 3, axis=-1)
        arrays.append(a[None] if a.ndim == 2 else a.transpose(2, 0, 1))
    shapes = sorted({a.shape for a in arrays})
    if len(shapes) > 1:
        raise UsageError(f"--images {folder}: the images differ in shape {shapes}; resize them")
    return torch.from_numpy(np.stack(arrays))


def load_mnist_images(root: str | None, n: int):
    from saliency_sanity import data

    root = root or data.resolve_mirror(None) or "data/mnist"
    try:
        mnist = data.load_mnist(root)
    except (OSError, data.DataError) as err:
        raise UsageError(f"--mnist {root}: {err}") from err
    return data.encode(mnist.test_images[:n])


def _check_forward(model, x) -> None:
    import torch

    try:
        with torch.no_grad():
            out = model(x[:1])
    except Exception as err:
        raise UsageError(f"the model does not accept images of shape {tuple(x.shape[1:])} "
                         f"({type(err).__name__}: {err})") from err  # fmt: skip
    if out.dim() != 2:
        raise UsageError(f"the model must return logits (N, K), got shape {tuple(out.shape)}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="saliency-sanity", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    card = sub.add_parser("scorecard", help="every check x every method for one model")
    card.add_argument("--model", required=True, help="pkg.module:factory returning the model")
    card.add_argument("--weights", help="a state dict for the model (torch.save)")
    card.add_argument("--random-label-weights",
                      help="weights of the same model trained on permuted labels (data "
                           "randomisation column)")  # fmt: skip
    source = card.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", help="a folder of images of equal size")
    source.add_argument("--mnist", nargs="?", const="", help="MNIST test images (folder)")
    card.add_argument("--n", type=int, default=8, help="number of images (default 8)")
    card.add_argument("--methods", nargs="+", help="registered methods (default: all)")
    card.add_argument("--init", default="training", choices=("training", "reset", "shuffle"))
    card.add_argument("--seed", type=int, default=0)
    card.add_argument("--out", required=True, help="output folder")
    return parser


def scorecard_command(args: argparse.Namespace) -> int:
    from saliency_sanity import checks
    from saliency_sanity.attribution import METHODS
    from saliency_sanity.figures._plot import save
    from saliency_sanity.figures.scorecard import draw

    methods = args.methods or list(METHODS)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise UsageError(f"--methods: unknown {unknown}; known: {', '.join(sorted(METHODS))}")
    if args.n < 1:
        raise UsageError(f"--n must be a positive number of images, got {args.n}")
    model = load_model(args.model, args.weights)
    twin = load_model(args.model, args.random_label_weights) if args.random_label_weights else None
    if args.images is not None:
        x = load_images(args.images, _channels(model), args.n)
    else:
        x = load_mnist_images(args.mnist or None, args.n)
    _check_forward(model, x)
    table = checks.scorecard(model, x, methods=methods, model_random_labels=twin,
                             init=args.init, seed=args.seed, progress=True)  # fmt: skip
    table["passes"] = table["passes"].map({True: "True", False: "False"}).fillna("")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "scorecard.csv", index=False)
    save(draw(table), out / "scorecard.png")
    filled = table[table["passes"] != ""]
    print(f"{len(filled)} of {len(table)} cells filled, {(filled['passes'] == 'True').sum()} "
          f"pass; wrote {out / 'scorecard.csv'} and {out / 'scorecard.png'}")  # fmt: skip
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return scorecard_command(args)
    except UsageError as err:
        print(f"saliency-sanity: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
