"""The ImageNet tier: torchvision's Inception v3, VGG-16 and VGG-19, their inputs and test-beds.

* **Models** (:func:`build`): torchvision's networks behind the zoo's interface
  (:class:`ImageNetModel`: ``layer_order`` logits first, ``init_layer``, ``gradcam_layer``).
  Weights come through torchvision's weights API (``weights="DEFAULT"``, ``"IMAGENET1K_V1"``,
  ...); torchvision downloads them to, or reads them offline from,
  ``$TORCH_HOME/hub/checkpoints/<file name of the weights' url>``. ``weights=None`` gives seeded
  random weights (the tests' models). ``model.weights`` names what produced the model, for the
  figure captions.
* **Preprocessing** (:func:`preprocessing`, :func:`normalization_box`): the weights' own
  ``transforms()`` (resize, centre crop, ImageNet mean/std), optionally at a smaller size.
* **Images** (:func:`image_folder`, :func:`skimage_photographs`, :func:`load_images`): an ImageNet
  validation folder laid out by class, as in adebayo2018 (10 classes x 20 images), or the colour
  photographs scikit-image ships as the fallback.
* **Test-beds** (:func:`write_testbed`, :func:`load_testbed`): preprocessed inputs for one model.

Randomisation (adebayo2018, Sec. 3) re-runs torchvision's own initialiser of each block; see
:meth:`ImageNetModel.init_layer`.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import torch
from torch import nn

from saliency_sanity.io import load_npz, save_npz

MODELS = ("inception_v3", "vgg16", "vgg19")

#: adebayo2018's 17 Inception v3 blocks, logits first (REPLICATION-NOTES); torchvision names.
INCEPTION_ORDER = (
    "fc", "Mixed_7c", "Mixed_7b", "Mixed_7a", "Mixed_6e", "Mixed_6d", "Mixed_6c", "Mixed_6b",
    "Mixed_6a", "Mixed_5d", "Mixed_5c", "Mixed_5b", "Conv2d_4a_3x3", "Conv2d_3b_1x1",
    "Conv2d_2b_3x3", "Conv2d_2a_3x3", "Conv2d_1a_3x3",
)  # fmt: skip

#: adebayo2018's ImageNet test-bed classes (20 validation images each; Sec. 3 of the NeurIPS
#: version): paper name -> (WordNet id, ImageNet-1k category in torchvision's ``categories``).
#: ImageNet-1k has no "coffeemaker" category (WordNet's coffee maker n03063338 is not one of the
#: 1000); its coffee machine is "espresso maker", taken here. "book" is "book jacket" and
#: "maltese" is "Maltese dog", the only categories with those names.
ADEBAYO_CLASSES: dict[str, tuple[str, str]] = {
    "accordion": ("n02672831", "accordion"),
    "banjo": ("n02787622", "banjo"),
    "book": ("n07248320", "book jacket"),
    "cannon": ("n02950826", "cannon"),
    "coffeemaker": ("n03297495", "espresso maker"),
    "cowboy hat": ("n03124170", "cowboy hat"),
    "dumbbell": ("n03255030", "dumbbell"),
    "dutch oven": ("n03259280", "Dutch oven"),
    "maltese": ("n02085936", "Maltese dog"),
    "scuba diver": ("n10565667", "scuba diver"),
}

#: The fallback images (``skimage.data``) and their ImageNet-1k category, None = no class fits
#: (label -1): the astronaut portrait has no person/astronaut class (the shuttle model behind her
#: is not the subject); ImageNet-1k has no motorcycle class ("moped" and "motor scooter" are other
#: vehicles). The rocket on its launch pad is ImageNet's "missile" (n03773504).
SKIMAGE_PHOTOGRAPHS: dict[str, str | None] = {
    "astronaut": None,
    "chelsea": "tabby",
    "coffee": "espresso",
    "rocket": "missile",
    "motorcycle": None,
}

_IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png", ".bmp", ".ppm", ".tif", ".tiff", ".webp"}
_WNID = re.compile(r"^n\d{8}$")
#: modules whose parameters :meth:`ImageNetModel.init_layer` re-draws (every parametrised module
#: of the three networks is one of these; the tests check it)
_INITIALISED = (nn.Conv2d, nn.Linear, nn.BatchNorm2d)


class ImageNetModel(nn.Module):
    """A torchvision classifier with the zoo's interface (layer order, initialisers, weights).

    Attributes: ``name``; ``net`` (the torchvision module); ``layer_order`` (block names in
    ``net``, logits first); ``gradcam_layer`` (qualified, e.g. ``"net.Mixed_7c"``, as GradCAM
    looks it up in ``model.named_modules()``); ``weights`` ("IMAGENET1K_V1" or "random (seed s)");
    ``categories`` (the 1000 class names); ``input_shape`` (the weights' crop size).
    """

    encoding = "imagenet"

    def __init__(
        self,
        name: str,
        net: nn.Module,
        order: tuple[str, ...],
        gradcam_layer: str,
        weights: str = "random",
    ):
        super().__init__()
        self.name, self.net, self.layer_order, self.gradcam_layer = name, net, order, gradcam_layer
        self.weights = weights
        self.categories = categories()
        crop = preprocessing(name).crop_size[0] if name in MODELS else 224
        self.input_shape = (3, crop, crop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def layer(self, name: str) -> nn.Module:
        return self.net.get_submodule(name)

    def layer_parameters(self, name: str) -> tuple[str, ...]:
        """Qualified names (as in ``self.named_parameters()``) that :meth:`init_layer` re-draws."""
        return tuple(
            ".".join(part for part in ("net", name, sub, p) if part)
            for sub, module in self.layer(name).named_modules()
            if isinstance(module, _INITIALISED)
            for p, _ in module.named_parameters(recurse=False)
        )

    def init_layer(self, name: str, generator: torch.Generator | None = None) -> None:
        """Re-run torchvision's own initialiser on every module of block ``name`` (in place).

        The initialisers are those torchvision's ``Inception3.__init__`` / ``VGG.__init__`` apply
        when building a random model (see :func:`_torchvision_init`): the original sanity-checks
        code re-runs each layer's own initializer (REPLICATION-NOTES), there TF-slim's of its
        graph; here the PyTorch counterpart, the same distribution as a random-weight
        :func:`build`. Batch-norm running statistics (Inception v3) are kept, as in the original
        code; only BN's affine weight and bias are reset (to 1 and 0). With trained running
        statistics a re-drawn block is therefore normalised by the wrong statistics, and a fully
        random Inception v3 in eval mode grows its activations ~30x per Mixed block (|logits|
        up to ~3e11 at 299 px, still finite in float32).
        Draws happen on the CPU from ``generator`` and are copied to the model's device, so the
        weights do not depend on the device.
        """
        block = self.layer(name)
        for module in block.modules():
            own = list(module.parameters(recurse=False))
            if own and not isinstance(module, _INITIALISED):
                raise TypeError(
                    f"{self.name}.{name}: no torchvision initialiser known for "
                    f"{type(module).__name__}"
                )
            if own:
                _torchvision_init(self.name, module, generator)


def _draw(param: torch.Tensor, fill) -> None:
    fresh = torch.empty_like(param, device="cpu")
    fill(fresh)
    param.copy_(fresh)


@torch.no_grad()
def _torchvision_init(model: str, module: nn.Module, generator: torch.Generator | None) -> None:
    """torchvision's initialiser for one module of ``model`` (torchvision 0.2x source).

    * Inception v3 (``Inception3.__init__``): conv and linear weights
      ``trunc_normal_(std=0.1, a=-2, b=2)`` (``a, b`` are absolute bounds, i.e. +-20 sd: in
      effect an untruncated normal; modules with a ``stddev`` attribute, only in the removed
      auxiliary head, use that sd); BatchNorm weight 1, bias 0. torchvision does not touch the
      ``fc`` bias, which keeps PyTorch's ``nn.Linear`` default U(-1/sqrt(fan_in), 1/sqrt(fan_in));
      that is redrawn here too. The convolutions have no bias.
    * VGG (``VGG.__init__``): conv weights ``kaiming_normal_(mode="fan_out",
      nonlinearity="relu")`` (sd sqrt(2 / (out_channels k_h k_w))), bias 0; linear weights
      N(0, 0.01^2), bias 0.
    """
    if isinstance(module, nn.BatchNorm2d):
        module.weight.fill_(1.0)
        module.bias.zero_()
        return
    g = generator
    if model == "inception_v3":
        sd = float(getattr(module, "stddev", 0.1))
        _draw(module.weight, lambda w: nn.init.trunc_normal_(w, std=sd, a=-2, b=2, generator=g))
        if module.bias is not None:  # only fc: PyTorch's nn.Linear default bias
            bound = 1.0 / math.sqrt(module.weight.shape[1])
            _draw(module.bias, lambda b: nn.init.uniform_(b, -bound, bound, generator=g))
        return
    if isinstance(module, nn.Conv2d):
        _draw(
            module.weight,
            lambda w: nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu", generator=g),
        )
    else:
        _draw(module.weight, lambda w: nn.init.normal_(w, 0.0, 0.01, generator=g))
    if module.bias is not None:
        module.bias.zero_()


# ----------------------------------------------------------------------------------- weights


def _check_model(name: str) -> None:
    if name not in MODELS:
        raise KeyError(f"unknown ImageNet model {name!r}; known: {MODELS}")


def weights_enum(name: str, weights: Any):
    """torchvision's weights enum member for ``weights`` ("DEFAULT", "IMAGENET1K_V1", a
    ``"VGG16_Weights.IMAGENET1K_V1"`` string or the member itself); None for None."""
    import torchvision.models as tvm

    _check_model(name)
    if weights is None:
        return None
    enum = tvm.get_model_weights(name)
    try:
        member = enum.verify(weights)
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(
            f"unknown weights {weights!r} for {name}; known: {list(enum.__members__)} or null "
            "(random weights)"
        ) from err
    if member.meta.get("categories") is None:  # e.g. VGG16_Weights.IMAGENET1K_FEATURES
        raise ValueError(
            f"{member} has no ImageNet class layer (features only); use DEFAULT or IMAGENET1K_V1"
        )
    return member


def weights_file(name: str, weights: Any = "DEFAULT") -> Path:
    """Where torchvision keeps (and offline, reads) ``weights``: ``torch.hub.get_dir()``
    (``$TORCH_HOME/hub``, default ``~/.cache/torch/hub``) ``/checkpoints/<url's file name>``,
    the path ``torch.hub.load_state_dict_from_url`` uses."""
    member = weights_enum(name, weights)
    if member is None:
        raise ValueError("random weights (None) have no weights file")
    filename = os.path.basename(urlparse(member.url).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def build(
    name: str, weights: Any = None, *, seed: int = 0, allow_download: bool = True
) -> ImageNetModel:
    """Build torchvision's ``name`` (eval mode) with ``weights``, wrapped as :class:`ImageNetModel`.

    Parameters
    ----------
    name
        ``"inception_v3"``, ``"vgg16"`` or ``"vgg19"``.
    weights
        torchvision weights ("DEFAULT", "IMAGENET1K_V1", ...), or None for random weights drawn
        by torchvision's own initialisers from ``seed``.
    seed
        Seed of the random weights. torchvision draws from the global RNG, so it is seeded inside
        ``torch.random.fork_rng``: the caller's RNG state is restored afterwards.
    allow_download
        False: the weights file must already be in ``$TORCH_HOME/hub/checkpoints`` (offline
        use); if it is not, FileNotFoundError names the expected path, the weights and their URL.
        Never a silent fallback to random weights.

    Inception v3 is built as torchvision builds it for its pretrained weights, also for random
    ones: ``transform_input=True`` (inputs normalised with the ImageNet mean/std are mapped back
    to the [-1, 1] scaling the ported Google weights expect), and the auxiliary classifier
    (training only) removed, so ``layer_order`` covers every parameter. torchvision's in-place
    ReLU modules (VGG) are made out-of-place for the hook-based methods.
    """
    member = weights_enum(name, weights)
    if member is None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = _torchvision_net(name, None)
        label = f"random (seed {seed})"
    else:
        path = weights_file(name, member)
        if not allow_download and not path.is_file():
            raise FileNotFoundError(
                f"weights {member} for {name} not found at {path} and downloading is not allowed "
                f"(imagenet.allow_download: false). Put the file from {member.url} there (the "
                "folder is $TORCH_HOME/hub/checkpoints), or allow downloading."
            )
        net = _torchvision_net(name, member)
        label = member.name
    return _wrap(name, net, label)


def _torchvision_net(name: str, member) -> nn.Module:
    import torchvision.models as tvm

    if name == "inception_v3":
        kwargs: dict[str, Any] = {"transform_input": True}
        if member is None:
            kwargs["init_weights"] = True  # torchvision's initialiser (silences its warning)
        net = tvm.inception_v3(weights=member, **kwargs)  # aux_logits=True: torchvision's
        net.aux_logits, net.AuxLogits = False, None
        return net
    return getattr(tvm, name)(weights=member)


def _wrap(name: str, net: nn.Module, label: str) -> ImageNetModel:
    for module in net.modules():  # hook-based methods need out-of-place ReLU modules
        if isinstance(module, nn.ReLU):
            module.inplace = False
    if name == "inception_v3":
        return ImageNetModel(name, net, INCEPTION_ORDER, "net.Mixed_7c", label).eval()
    convs = [f"features.{i}" for i, m in enumerate(net.features) if isinstance(m, nn.Conv2d)]
    linears = [f"classifier.{i}" for i, m in enumerate(net.classifier) if isinstance(m, nn.Linear)]
    order = (*reversed(linears), *reversed(convs))
    last_relu = max(i for i, m in enumerate(net.features) if isinstance(m, nn.ReLU))
    return ImageNetModel(name, net, order, f"net.features.{last_relu}", label).eval()


# ------------------------------------------------------------------------------ preprocessing


@cache
def categories() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names in class-index order (torchvision's weights' meta)."""
    import torchvision.models as tvm

    return tuple(tvm.get_model_weights("vgg16").DEFAULT.meta["categories"])


def preprocessing(name: str, weights: Any = None, *, size: int | None = None):
    """The weights' own preprocessing (``weights.transforms()``; needs no weights file).

    For ``weights=None`` (random weights) the DEFAULT weights' transforms. ``size`` replaces the
    crop size (small CPU runs) and scales the resize size with it (299 <- 342 for Inception v3,
    224 <- 256 for VGG), so the crop keeps the field of view of the full-size recipe; mean/std
    are unchanged. Returns torchvision's ``ImageClassification`` (uint8 or float image tensors
    (..., 3, H, W) -> normalised float (..., 3, size, size)).
    """
    member = weights_enum(name, weights) or weights_enum(name, "DEFAULT")
    default = member.transforms()
    if size is None:
        return default
    min_size = member.meta.get("min_size", (1, 1))[0]
    if size < min_size:
        raise ValueError(f"input size {size} is below {name}'s minimum {min_size}")
    crop, resize = default.crop_size[0], default.resize_size[0]
    return member.transforms(crop_size=size, resize_size=round(size * resize / crop))


def normalization_box(name: str, weights: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Bounds of the normalised input for LRP's z^B rule (montavon2017 Sec. 4): pixels in [0, 1]
    become ``low = (0 - mean) / std``, ``high = (1 - mean) / std`` per channel, (1, 3, 1, 1)."""
    t = preprocessing(name, weights)
    mean = torch.tensor(t.mean, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(t.std, dtype=torch.float32).view(1, 3, 1, 1)
    return (0.0 - mean) / std, (1.0 - mean) / std


# ------------------------------------------------------------------------------------- images


@dataclass(frozen=True)
class ImageSet:
    """Natural images before preprocessing: uint8 (H, W, 3) arrays of any size, their ImageNet
    class indices (-1: no class fits), ids (file names) and where they came from."""

    images: list[np.ndarray]
    labels: np.ndarray
    ids: list[str]
    source: str

    def __len__(self) -> int:
        return len(self.images)


def _norm(name: str) -> str:
    return name.replace("_", " ").strip().lower()


def _name_index(name: str) -> int | None:
    """Class index of a class name: adebayo2018's paper names, then torchvision's categories."""
    key = _norm(name)
    if key in ADEBAYO_CLASSES:
        return categories().index(ADEBAYO_CLASSES[key][1])
    hits = [i for i, c in enumerate(categories()) if _norm(c) == key]
    if len(hits) > 1:
        raise ValueError(
            f"class name {name!r} is ambiguous in ImageNet-1k (indices {hits}); name the folder "
            "by its WordNet id"
        )
    return hits[0] if hits else None


def read_synsets(path: str | Path) -> dict[str, int]:
    """WordNet id -> class index from a synset list in class order, one ``nXXXXXXXX ...`` line
    per class (ImageNet's ``LOC_synset_mapping.txt`` / Caffe's ``synset_words.txt``)."""
    lines = [ln.split()[0] for ln in Path(path).read_text().splitlines() if ln.strip()]
    bad = [w for w in lines if not _WNID.match(w)]
    if bad or len(lines) != len(categories()):
        raise ValueError(
            f"{path}: expected {len(categories())} lines starting with a WordNet id, got "
            f"{len(lines)} lines ({len(bad)} without an id)"
        )
    return {w: i for i, w in enumerate(lines)}


def _wnid_table(folders: Sequence[str], synsets: str | Path | None) -> dict[str, int]:
    """Known WordNet ids: adebayo2018's ten; a synset file; or, when ``folders`` are exactly
    1000 WordNet ids (the ILSVRC2012 validation layout), their sorted order, which is the class
    index (the ImageNet convention torchvision's weights follow)."""
    table = {wnid: categories().index(cat) for wnid, cat in ADEBAYO_CLASSES.values()}
    wnids = sorted(f for f in folders if _WNID.match(f))
    if len(wnids) == len(categories()):
        table.update({w: i for i, w in enumerate(wnids)})
    if synsets is not None:
        table.update(read_synsets(synsets))
    return table


def _folder_index(folder: str, wnids: Mapping[str, int]) -> int | None:
    return wnids.get(folder) if _WNID.match(folder) else _name_index(folder)


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:  # ImageNet has grey and CMYK JPEGs: always RGB
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def _image_files(folder: Path, per_class: int | None) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"image folder {folder} contains no images ({_IMAGE_SUFFIXES})")
    if per_class is not None:
        if len(files) < per_class:
            raise ValueError(f"{folder} has {len(files)} images, per_class asks for {per_class}")
        files = files[:per_class]
    return files


def image_folder(
    root: str | Path,
    classes: Sequence[str] | None = None,
    per_class: int | None = None,
    *,
    synsets: str | Path | None = None,
) -> ImageSet:
    """Images of an ImageNet validation folder laid out by class (one sub-folder per class).

    Sub-folders are named by WordNet id (``n02672831``) or by class name (``accordion``,
    ``cowboy_hat``; torchvision's category names or adebayo2018's, see :data:`ADEBAYO_CLASSES`).
    WordNet ids resolve through adebayo2018's ten, through the full 1000-folder layout (sorted
    order = class index) or through a ``synsets`` file (:func:`read_synsets`).

    Parameters
    ----------
    root
        The folder; missing or without class sub-folders: FileNotFoundError naming it.
    classes
        Classes to read (names or WordNet ids), in this order; None = every sub-folder, in
        class-index order. A class without a sub-folder stops with a message naming both.
    per_class
        The first ``per_class`` images of each class in file-name order (deterministic; the
        papers' 20); None = all. An empty class folder, or one with too few images, stops.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"ImageNet image folder {root} does not exist")
    folders = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not folders:
        raise FileNotFoundError(f"ImageNet image folder {root} has no class sub-folders")
    wnids = _wnid_table(folders, synsets)
    index = {f: _folder_index(f, wnids) for f in folders}
    if classes is None:
        unknown = [f for f, i in index.items() if i is None]
        if unknown:
            raise ValueError(f"{root}: sub-folders {unknown} name no ImageNet class")
        chosen = sorted(folders, key=lambda f: index[f])
    else:
        chosen = [_class_folder(root, c, index, wnids) for c in classes]
    images, labels, ids = [], [], []
    for folder in chosen:
        for path in _image_files(root / folder, per_class):
            images.append(_read_image(path))
            labels.append(index[folder])
            ids.append(f"{folder}/{path.name}")
    return ImageSet(images, np.asarray(labels, dtype=np.int64), ids, str(root))


def _class_folder(root: Path, cls: str, index: Mapping[str, int | None], wnids) -> str:
    wanted = _folder_index(cls, wnids)
    if wanted is None:
        raise ValueError(f"class {cls!r} is no ImageNet-1k class name or known WordNet id")
    for folder, i in index.items():
        if i == wanted:
            return folder
    raise FileNotFoundError(
        f"no sub-folder of {root} for class {cls!r} (ImageNet index {wanted}, "
        f"{categories()[wanted]!r}); name it by the class or its WordNet id"
    )


def skimage_photographs() -> ImageSet:
    """The fallback test-bed: scikit-image's bundled colour photographs (no download), with the
    ImageNet labels of :data:`SKIMAGE_PHOTOGRAPHS` (-1 where no ImageNet class fits)."""
    import skimage.data

    loaders = {"motorcycle": lambda: skimage.data.stereo_motorcycle()[0]}
    images, labels = [], []
    for name, category in SKIMAGE_PHOTOGRAPHS.items():
        load = loaders.get(name, getattr(skimage.data, name, None))
        images.append(np.ascontiguousarray(load(), dtype=np.uint8))
        labels.append(-1 if category is None else categories().index(category))
    return ImageSet(
        images, np.asarray(labels, dtype=np.int64), list(SKIMAGE_PHOTOGRAPHS), "skimage.data"
    )


def load_images(
    folder: str | Path | None = None,
    *,
    classes: Sequence[str] | None = None,
    per_class: int | None = None,
    synsets: str | Path | None = None,
) -> ImageSet:
    """:func:`image_folder` for a folder, :func:`skimage_photographs` for None."""
    if folder is None:
        return skimage_photographs()
    return image_folder(folder, classes, per_class, synsets=synsets)


# ---------------------------------------------------------------------------------- test-beds


@dataclass(frozen=True)
class TestBed:
    """A model's preprocessed ImageNet test-bed (see :func:`write_testbed`)."""

    x: torch.Tensor  # (N, 3, H, W) float32, preprocessed for the model
    labels: torch.Tensor  # (N,) long, ImageNet class index, -1 = none
    ids: list[str]
    display: np.ndarray  # (N, H, W, 3) float32 in [0, 1], the same crop unnormalised
    class_names: list[str]  # "" where the label is -1
    meta: dict = field(default_factory=dict)

    __test__ = False  # not a pytest class

    def __len__(self) -> int:
        return len(self.x)


def write_testbed(
    *,
    model_name: str,
    weights: Any,
    images: ImageSet | str | Path | None,
    size: int | None,
    out: str | Path,
) -> TestBed:
    """Preprocess ``images`` for ``model_name`` and save them as ``.npz`` (atomic).

    ``images``: an :class:`ImageSet`, a folder (:func:`image_folder` with every class and image)
    or None (:func:`skimage_photographs`). ``weights`` picks the preprocessing
    (:func:`preprocessing`; None = DEFAULT's). ``size``: crop size, None = the weights' own
    (299 Inception v3, 224 VGG). The file holds ``x``, ``labels``, ``ids``, ``display``,
    ``class_names`` and ``meta`` (JSON: model, weights, transforms, size, resize, mean, std,
    source). Returns what :func:`load_testbed` reads back.
    """
    if not isinstance(images, ImageSet):
        images = load_images(images)
    if len(images) == 0:
        raise ValueError(f"no images in {images.source}")
    transform = preprocessing(model_name, weights, size=size)
    member = weights_enum(model_name, weights)
    x = torch.stack([transform(torch.from_numpy(im).permute(2, 0, 1)) for im in images.images])
    mean = torch.tensor(transform.mean).view(1, 3, 1, 1)
    std = torch.tensor(transform.std).view(1, 3, 1, 1)
    display = (x * std + mean).clamp(0.0, 1.0).permute(0, 2, 3, 1)
    names = [categories()[i] if i >= 0 else "" for i in images.labels.tolist()]
    meta = {
        "model": model_name,
        "weights": member.name if member is not None else "random",
        "transforms": str(member or weights_enum(model_name, "DEFAULT")),
        "size": transform.crop_size[0],
        "resize": transform.resize_size[0],
        "mean": list(transform.mean),
        "std": list(transform.std),
        "source": images.source,
    }
    save_npz(
        out,
        x=x.numpy().astype(np.float32),
        labels=images.labels.astype(np.int64),
        ids=np.asarray(images.ids, dtype=str),
        display=display.numpy().astype(np.float32),
        class_names=np.asarray(names, dtype=str),
        meta=np.asarray(json.dumps(meta, sort_keys=True)),
    )
    return load_testbed(out)


def load_testbed(path: str | Path) -> TestBed:
    """Read a test-bed written by :func:`write_testbed`."""
    arrays = load_npz(path)
    return TestBed(
        x=torch.from_numpy(arrays["x"]),
        labels=torch.from_numpy(arrays["labels"]).long(),
        ids=[str(i) for i in arrays["ids"]],
        display=arrays["display"],
        class_names=[str(c) for c in arrays["class_names"]],
        meta=json.loads(str(arrays["meta"])),
    )
