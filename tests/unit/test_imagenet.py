"""The ImageNet tier with random weights on small inputs (no pretrained weights offline).

Facts written out here, not read from the code under test: adebayo2018's 17 Inception v3 blocks
(REPLICATION-NOTES), the ImageNet-1k class indices of its ten classes (the ILSVRC2012 class
index), ImageNet's mean/std, torchvision's initialiser distributions (torchvision's
inception.py / vgg.py) and torchvision's weights cache layout (torch.hub docs).
"""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from saliency_sanity import imagenet
from saliency_sanity.attribution import attribute
from saliency_sanity.randomization import layer_generator

MEAN = (0.485, 0.456, 0.406)  # ImageNet statistics (torchvision's transforms)
STD = (0.229, 0.224, 0.225)
SMALL = {"inception_v3": 75, "vgg16": 64, "vgg19": 64}  # smallest CPU-cheap inputs

#: adebayo2018's order as the paper names it; "Logits" is torchvision's ``fc``
PAPER_ORDER = [
    "Logits", "Mixed_7c", "Mixed_7b", "Mixed_7a", "Mixed_6e", "Mixed_6d", "Mixed_6c", "Mixed_6b",
    "Mixed_6a", "Mixed_5d", "Mixed_5c", "Mixed_5b", "Conv2d_4a_3x3", "Conv2d_3b_1x1",
    "Conv2d_2b_3x3", "Conv2d_2a_3x3", "Conv2d_1a_3x3",
]  # fmt: skip
#: ILSVRC2012 class indices of adebayo2018's ten classes
PAPER_INDICES = {
    "accordion": 401, "banjo": 420, "book": 921, "cannon": 471, "coffeemaker": 550,
    "cowboy hat": 515, "dumbbell": 543, "dutch oven": 544, "maltese": 153, "scuba diver": 983,
}  # fmt: skip


@pytest.fixture(scope="module", params=imagenet.MODELS)
def model(request) -> imagenet.ImageNetModel:
    """One random-weight model at a time (pytest groups the tests by this module-scoped param)."""
    return imagenet.build(request.param, seed=0)


@pytest.fixture(scope="module")
def photos() -> imagenet.ImageSet:
    return imagenet.skimage_photographs()


def _fingerprint(tensors) -> dict[str, tuple[float, float]]:
    """Per tensor (sum, 2-norm) accumulated in float64: any redraw changes it."""
    return {
        n: (
            t.sum(dtype=torch.float64).item(),
            torch.linalg.vector_norm(
                t if t.is_floating_point() else t.double(), dtype=torch.float64
            ).item(),
        )
        for n, t in tensors
    }


def _state_fingerprint(model: nn.Module):
    return _fingerprint(model.state_dict().items())


# ------------------------------------------------------------------------- models, layer order


def test_inception_order_is_adebayos_17_blocks():
    torchvision_names = ["fc" if n == "Logits" else n for n in PAPER_ORDER]
    assert len(PAPER_ORDER) == 17
    assert tuple(torchvision_names) == imagenet.INCEPTION_ORDER


def test_models_are_built_in_eval_mode(model):
    assert not model.training
    assert not any(m.training for m in model.modules())
    assert not any(m.inplace for m in model.modules() if isinstance(m, nn.ReLU))


def test_layer_order_covers_every_parameter_exactly_once(model):
    steps = {name: model.layer_parameters(name) for name in model.layer_order}
    listed = [p for params in steps.values() for p in params]
    assert all(steps.values()), "every step re-initialises something"
    assert len(listed) == len(set(listed)), "a parameter belongs to two steps"
    assert set(listed) == {n for n, _ in model.named_parameters()}


def test_layer_order_is_logits_first_then_top_down(model):
    """Inception v3: adebayo2018's blocks; VGG: the dense layers, then the convs, top down."""
    if model.name == "inception_v3":
        assert tuple(model.layer_order) == imagenet.INCEPTION_ORDER
        assert isinstance(model.layer("fc"), nn.Linear) and model.layer("fc").out_features == 1000
        return
    layers = [model.layer(n) for n in model.layer_order]
    depth = int(model.name.removeprefix("vgg"))  # VGG-16/19: weight layers, 3 of them dense
    assert len(layers) == depth
    assert all(isinstance(m, nn.Linear) for m in layers[:3])
    assert all(isinstance(m, nn.Conv2d) for m in layers[3:])
    assert layers[0].out_features == 1000 and layers[-1].in_channels == 3
    indices = [int(n.split(".")[1]) for n in model.layer_order]
    assert indices[:3] == sorted(indices[:3], reverse=True)
    assert indices[3:] == sorted(indices[3:], reverse=True)


@pytest.fixture(scope="module")
def scratch(model) -> imagenet.ImageNetModel:
    """A copy to re-initialise in place, with every parameter and BN statistic perturbed
    (a stand-in for trained weights: re-initialised values then differ from the current ones,
    also where the initialiser writes constants)."""
    m = copy.deepcopy(model)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for t in [*m.parameters(), *(b for b in m.buffers() if b.is_floating_point())]:
            t.add_(0.05 + 0.01 * torch.rand(t.shape, generator=g))
    return m


def _expected_distribution(model_name: str, module: nn.Module, param: str):
    """(kind, value) of torchvision's initialiser for ``module.<param>`` (inception.py, vgg.py)."""
    if isinstance(module, nn.BatchNorm2d):
        return ("const", 1.0 if param == "weight" else 0.0)
    if model_name == "inception_v3":
        if param == "weight":  # trunc_normal_(std=0.1, a=-2, b=2): bounds at +-20 sd
            return ("normal", 0.1)
        bound = 1 / math.sqrt(module.in_features)  # fc bias: nn.Linear's default
        return ("uniform", bound)
    if param == "bias":
        return ("const", 0.0)
    if isinstance(module, nn.Conv2d):  # kaiming_normal_(mode="fan_out", relu)
        fan_out = module.out_channels * module.kernel_size[0] * module.kernel_size[1]
        return ("normal", math.sqrt(2.0 / fan_out))
    return ("normal", 0.01)


def _check_distribution(kind: str, value: float, t: torch.Tensor, where: str) -> None:
    t = t.detach().flatten()
    if kind == "const":
        assert torch.all(t == value), where
        return
    t = t[:: max(1, t.numel() // 2_000_000)].double()  # <= 2M evenly spaced entries
    if kind == "uniform":
        assert t.abs().max() <= value and t.std() > 0.9 * value / math.sqrt(3), where
        return
    n = t.numel()
    tol = 5 / math.sqrt(n) + (0.02 if n > 5000 else 0.2)
    assert abs(t.mean().item()) < 5 * value / math.sqrt(n) + 1e-12, where
    assert abs(t.std().item() / value - 1) < tol, where


def _versions(model: nn.Module) -> dict[str, int]:
    """Autograd's version counter of every parameter and buffer: bumped by each in-place write."""
    return {n: t._version for n, t in model.state_dict(keep_vars=True).items()}


def test_init_layer_redraws_exactly_its_block_from_torchvision_distributions(scratch):
    """Cascading over the whole order: each step writes its own parameters and nothing else
    (version counters), changes every one of them (values), keeps the BN running statistics
    (as the original code) and draws from torchvision's distributions."""
    for name in scratch.layer_order:
        own = dict(scratch.layer(name).named_parameters(prefix=f"net.{name}"))
        assert set(own) == set(scratch.layer_parameters(name)), name
        versions, values = _versions(scratch), _fingerprint(own.items())
        scratch.init_layer(name, layer_generator(0, name))
        after = _versions(scratch)
        assert {n for n in after if after[n] != versions[n]} == set(own), name
        new = _fingerprint(own.items())
        assert all(new[n] != values[n] for n in own), name
        for sub, module in scratch.layer(name).named_modules():
            for p, t in module.named_parameters(recurse=False):
                kind, value = _expected_distribution(scratch.name, module, p)
                _check_distribution(kind, value, t, f"{name}.{sub}.{p}")


@pytest.mark.parametrize("position", [0, -1])
def test_init_layer_is_deterministic_given_the_generator(scratch, position):
    name = scratch.layer_order[position]
    params = lambda: [p.detach().clone() for p in scratch.layer(name).parameters()]  # noqa: E731
    scratch.init_layer(name, torch.Generator().manual_seed(5))
    first = params()
    scratch.init_layer(name, torch.Generator().manual_seed(5))
    assert all(torch.equal(a, b) for a, b in zip(first, params(), strict=True))
    scratch.init_layer(name, torch.Generator().manual_seed(6))
    weights = [(a, b) for a, b in zip(first, params(), strict=True) if a.std() > 0]
    assert weights and not any(torch.equal(a, b) for a, b in weights)


def test_random_build_is_seeded_and_restores_the_global_rng(model):
    with torch.random.fork_rng(devices=[]):  # the test's own RNG stream stays untouched
        torch.manual_seed(1234)  # a state no build leaves behind
        state = torch.get_rng_state()
        same = imagenet.build(model.name, seed=0)
        assert torch.equal(torch.get_rng_state(), state), "the caller's RNG state is restored"
    assert same.weights == model.weights == "random (seed 0)"
    assert _state_fingerprint(same) == _state_fingerprint(model)
    del same
    other = imagenet.build(model.name, seed=1)
    assert other.weights == "random (seed 1)"
    assert _state_fingerprint(other) != _state_fingerprint(model)


# --------------------------------------------------------------------------- weights (offline)


@pytest.fixture
def torch_home(tmp_path, monkeypatch) -> Path:
    """An empty TORCH_HOME; any download attempt fails the test."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)  # get_dir() reads TORCH_HOME

    def no_download(*args, **kwargs):
        raise AssertionError(f"download attempted: {args}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    return tmp_path


def _expected_file(torch_home: Path, model_name: str) -> Path:
    import torchvision.models as tvm

    url = tvm.get_model_weights(model_name).DEFAULT.url
    return torch_home / "hub" / "checkpoints" / url.rsplit("/", 1)[-1]


def test_default_weights_load_offline_from_a_prefilled_torch_home(torch_home):
    import torchvision.models as tvm

    path = _expected_file(torch_home, "inception_v3")
    assert path.name == "inception_v3_google-0cc3c7bd.pth"
    assert imagenet.weights_file("inception_v3", "DEFAULT") == path
    # a "pretrained" file: random weights with a recognisable logits bias
    with torch.random.fork_rng():
        torch.manual_seed(3)
        net = tvm.inception_v3(weights=None, aux_logits=True, init_weights=False)
    state = net.state_dict()
    state["fc.bias"] = torch.arange(1000, dtype=torch.float32)
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    model = imagenet.build("inception_v3", weights="DEFAULT", allow_download=False)
    assert model.weights == "IMAGENET1K_V1"
    assert not model.training and model.net.AuxLogits is None
    loaded = model.net.state_dict()
    assert set(loaded) == {k for k in state if not k.startswith("AuxLogits.")}
    assert all(torch.equal(loaded[k], state[k]) for k in loaded)


@pytest.mark.parametrize("model_name", imagenet.MODELS)
def test_missing_weights_file_stops_naming_path_weights_and_url(torch_home, model_name):
    import torchvision.models as tvm

    member = tvm.get_model_weights(model_name).DEFAULT
    with pytest.raises(FileNotFoundError) as err:
        imagenet.build(model_name, weights="DEFAULT", allow_download=False)
    message = str(err.value)
    assert str(_expected_file(torch_home, model_name)) in message
    assert str(member) in message and member.url in message


def _constant_state(model_name: str) -> dict[str, torch.Tensor]:
    """A state dict with ``model_name``'s keys and shapes, one constant per tensor (the k-th is
    k + 1), each a stride-0 view of one element: torch.save stores one number per tensor, so
    VGG-16's 528 MB file shrinks to kilobytes, and a tensor loaded into the wrong parameter
    shows as a wrong constant."""
    import torchvision.models as tvm

    with torch.device("meta"):  # shapes only, no memory
        net = getattr(tvm, model_name)(weights=None, init_weights=False)
    return {k: torch.full((1,), float(i + 1)).expand(t.shape)
            for i, (k, t) in enumerate(net.state_dict().items())}  # fmt: skip


def test_the_tier_loads_vgg16_offline_from_its_torch_home(torch_home, tmp_path):
    """The imagenet_model rule's function with ``imagenet.torch_home`` (not the environment's
    TORCH_HOME, which is empty here) and downloads forbidden: the spec it writes loads back as
    the file's weights, without a download, in the job and in every experiment that reads it."""
    from saliency_sanity import models
    from saliency_sanity.experiments.training import imagenet_model

    home = tmp_path / "tier_home"
    path = home / "hub" / "checkpoints" / "vgg16-397923af.pth"  # torchvision's file name
    assert path.name == _expected_file(torch_home, "vgg16").name
    state = _constant_state("vgg16")
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    out = tmp_path / "imagenet.json"
    spec = imagenet_model(model="vgg16", weights="DEFAULT", seed=0, allow_download=False,
                          torch_home=str(home), out=out)  # fmt: skip
    assert spec["label"] == "IMAGENET1K_V1" and spec["torch_home"] == str(home)
    model, meta = models.load_checkpoint(out)
    assert meta == spec and model.weights == "IMAGENET1K_V1" and not model.training
    loaded = model.net.state_dict()
    assert set(loaded) == set(state)
    assert all(torch.equal(loaded[k], state[k]) for k in loaded)


def test_the_tier_stops_on_missing_vgg16_weights_naming_the_file(torch_home, tmp_path):
    from saliency_sanity.experiments.training import imagenet_model

    home, out = tmp_path / "empty_home", tmp_path / "imagenet.json"
    with pytest.raises(FileNotFoundError) as err:
        imagenet_model(model="vgg16", weights="DEFAULT", seed=0, allow_download=False,
                       torch_home=str(home), out=out)  # fmt: skip
    assert str(home / "hub" / "checkpoints" / "vgg16-397923af.pth") in str(err.value)
    assert not out.exists(), "no spec for a model that could not be built"


def test_unknown_or_featureless_weights_are_refused():
    with pytest.raises(ValueError, match="IMAGENET1K_V1"):
        imagenet.build("vgg16", weights="IMAGENET2K")
    with pytest.raises(ValueError, match="features only"):
        imagenet.build("vgg16", weights="IMAGENET1K_FEATURES", allow_download=False)
    with pytest.raises(KeyError, match="resnet50"):
        imagenet.build("resnet50")


# ------------------------------------------------------------------------------ preprocessing


def _image(h: int, w: int, rgb=(255, 0, 128)) -> np.ndarray:
    return np.broadcast_to(np.asarray(rgb, dtype=np.uint8), (h, w, 3)).copy()


def _normalised(rgb) -> torch.Tensor:
    v = torch.tensor(rgb, dtype=torch.float64) / 255
    return (v - torch.tensor(MEAN, dtype=torch.float64)) / torch.tensor(STD, dtype=torch.float64)


@pytest.mark.parametrize(
    ("name", "size", "crop", "resize"),
    [("vgg16", None, 224, 256), ("inception_v3", None, 299, 342), ("vgg19", 64, 64, 73),
     ("inception_v3", 75, 75, 86)],
)  # fmt: skip
def test_preprocessing_is_the_weights_recipe_scaled_to_size(name, size, crop, resize):
    t = imagenet.preprocessing(name, None, size=size)
    assert (t.crop_size[0], t.resize_size[0]) == (crop, resize)  # resize/crop ratio kept
    x = t(torch.from_numpy(_image(120, 200)).permute(2, 0, 1))
    assert x.shape == (3, crop, crop)
    expected = _normalised((255, 0, 128)).view(3, 1, 1).expand(3, crop, crop)
    torch.testing.assert_close(x.double(), expected, atol=1e-5, rtol=0)


def test_preprocessing_crops_the_centre():
    img = _image(100, 200, (0, 0, 0))
    img[:, 50:150] = 255  # white centre half, black sides
    x = imagenet.preprocessing("vgg16", size=64)(torch.from_numpy(img).permute(2, 0, 1))
    torch.testing.assert_close(
        x.double(), _normalised((255,) * 3).view(3, 1, 1).expand_as(x), atol=1e-5, rtol=0
    )


def test_preprocessing_refuses_inputs_below_the_minimum():
    with pytest.raises(ValueError, match="75"):
        imagenet.preprocessing("inception_v3", size=64)


def test_normalization_box_is_black_and_white_after_preprocessing():
    low, high = imagenet.normalization_box("vgg16", "DEFAULT")
    assert low.shape == high.shape == (1, 3, 1, 1)
    mean, std = torch.tensor(MEAN, dtype=torch.float64), torch.tensor(STD, dtype=torch.float64)
    torch.testing.assert_close(low.double().flatten(), -mean / std)
    torch.testing.assert_close(high.double().flatten(), (1 - mean) / std)
    t = imagenet.preprocessing("vgg16", size=32)
    for rgb, bound in (((0, 0, 0), low), ((255, 255, 255), high)):
        x = t(torch.from_numpy(_image(40, 40, rgb)).permute(2, 0, 1))
        torch.testing.assert_close(x, bound[0].expand_as(x))


# ------------------------------------------------------------------------------------- images


def test_adebayo_classes_are_the_imagenet_classes_of_the_paper():
    assert set(imagenet.ADEBAYO_CLASSES) == set(PAPER_INDICES)
    cats = imagenet.categories()
    for paper, (_, category) in imagenet.ADEBAYO_CLASSES.items():
        assert cats.index(category) == PAPER_INDICES[paper], paper
    # the ImageNet class index is the sorted order of the WordNet ids
    by_wnid = sorted(imagenet.ADEBAYO_CLASSES, key=lambda p: imagenet.ADEBAYO_CLASSES[p][0])
    assert [PAPER_INDICES[p] for p in by_wnid] == sorted(PAPER_INDICES.values())


def _write_images(folder: Path, sizes, grey: bool = False) -> None:
    folder.mkdir(parents=True)
    for i, (h, w) in enumerate(sizes):
        mode = "L" if grey else "RGB"
        arr = np.full((h, w) if grey else (h, w, 3), 10 * i, dtype=np.uint8)
        Image.fromarray(arr, mode=mode).save(folder / f"img{i}.png")


@pytest.fixture
def val_folder(tmp_path) -> Path:
    root = tmp_path / "val"
    _write_images(root / "n02672831", [(30, 40), (50, 20), (33, 33)])  # accordion, by WordNet id
    _write_images(root / "banjo", [(40, 40), (41, 42), (43, 44)], grey=True)
    _write_images(root / "cowboy_hat", [(20, 30), (30, 20), (25, 25)])
    return root


def test_image_folder_reads_classes_by_wordnet_id_and_name(val_folder):
    images = imagenet.image_folder(val_folder, per_class=2)
    assert images.labels.tolist() == [401, 401, 420, 420, 515, 515]  # class-index order
    assert images.ids[:3] == ["n02672831/img0.png", "n02672831/img1.png", "banjo/img0.png"]
    assert [im.shape for im in images.images[:3]] == [(30, 40, 3), (50, 20, 3), (40, 40, 3)]
    assert all(im.dtype == np.uint8 for im in images.images)
    assert images.source == str(val_folder)


def test_image_folder_selects_classes_in_the_given_order(val_folder):
    images = imagenet.image_folder(val_folder, ["cowboy hat", "accordion"], per_class=1)
    assert images.labels.tolist() == [515, 401]
    assert images.ids == ["cowboy_hat/img0.png", "n02672831/img0.png"]


def test_image_folder_resolves_wordnet_ids_through_a_synset_file(tmp_path):
    wnids = [f"n{90000000 + i:08d}" for i in range(1000)]  # fake ids, class order = line order
    synsets = tmp_path / "LOC_synset_mapping.txt"
    synsets.write_text("".join(f"{w} class {i}\n" for i, w in enumerate(wnids)))
    _write_images(tmp_path / "val" / wnids[7], [(10, 10)])
    with pytest.raises(ValueError, match=wnids[7]):
        imagenet.image_folder(tmp_path / "val")
    images = imagenet.image_folder(tmp_path / "val", synsets=synsets)
    assert images.labels.tolist() == [7]


def test_image_folder_stops_on_missing_or_empty_folders(tmp_path, val_folder):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        imagenet.image_folder(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no class sub-folders"):
        (tmp_path / "flat").mkdir()
        imagenet.image_folder(tmp_path / "flat")
    with pytest.raises(FileNotFoundError, match="dumbbell"):
        imagenet.image_folder(val_folder, ["dumbbell"])
    with pytest.raises(ValueError, match="asks for 4"):
        imagenet.image_folder(val_folder, per_class=4)
    (val_folder / "scuba_diver").mkdir()
    with pytest.raises(FileNotFoundError, match="scuba_diver"):
        imagenet.image_folder(val_folder)
    (val_folder / "scuba_diver").rmdir()
    (val_folder / "holiday").mkdir()
    with pytest.raises(ValueError, match="holiday"):
        imagenet.image_folder(val_folder)


def test_skimage_photographs_are_the_documented_fallback(photos):
    assert photos.ids == ["astronaut", "chelsea", "coffee", "rocket", "motorcycle"]
    assert all(im.ndim == 3 and im.shape[2] == 3 and im.dtype == np.uint8 for im in photos.images)
    cats = imagenet.categories()
    labels = photos.labels.tolist()
    names = {i: (cats[k] if k >= 0 else None) for i, k in zip(photos.ids, labels, strict=True)}
    assert names["chelsea"] == "tabby" and names["coffee"] == "espresso"
    assert names["astronaut"] is None and names["motorcycle"] is None
    assert imagenet.load_images(None).ids == photos.ids


# ---------------------------------------------------------------------------------- test-beds


def test_write_testbed_round_trip_with_exact_pixels(tmp_path):
    colours = [(255, 0, 128), (10, 200, 30)]
    images = imagenet.ImageSet(
        [_image(80, 100, colours[0]), _image(120, 90, colours[1])],
        np.array([281, -1]),
        ["a.png", "b.png"],
        "synthetic",
    )
    out = tmp_path / "tb" / "vgg16.npz"
    written = imagenet.write_testbed(
        model_name="vgg16", weights="DEFAULT", images=images, size=64, out=out
    )
    tb = imagenet.load_testbed(out)
    assert tb.x.shape == (2, 3, 64, 64) and tb.x.dtype == torch.float32
    assert tb.display.shape == (2, 64, 64, 3) and tb.display.dtype == np.float32
    for i, rgb in enumerate(colours):
        torch.testing.assert_close(
            tb.x[i].double(), _normalised(rgb).view(3, 1, 1).expand(3, 64, 64), atol=1e-5, rtol=0
        )
        np.testing.assert_allclose(tb.display[i], np.broadcast_to(np.array(rgb) / 255, (64, 64, 3)),
                                   atol=1e-6)  # fmt: skip
    assert tb.labels.tolist() == [281, -1] and tb.labels.dtype == torch.long
    assert tb.ids == ["a.png", "b.png"] and tb.class_names == ["tabby", ""]
    assert tb.meta["weights"] == "IMAGENET1K_V1" and tb.meta["size"] == 64
    assert tb.meta["source"] == "synthetic" and tb.meta["model"] == "vgg16"
    assert tb.meta["mean"] == list(MEAN) and tb.meta["std"] == list(STD)
    assert torch.equal(written.x, tb.x)
    assert not [p for p in os.listdir(out.parent) if p != "vgg16.npz"], "no temp files left"


def test_write_testbed_from_a_folder_and_from_the_fallback(tmp_path, val_folder):
    tb = imagenet.write_testbed(
        model_name="inception_v3", weights=None, images=val_folder, size=75, out=tmp_path / "a"
    )
    assert tb.x.shape == (9, 3, 75, 75) and tb.meta["weights"] == "random"
    assert tb.display.min() >= 0.0 and tb.display.max() <= 1.0
    tb = imagenet.write_testbed(
        model_name="vgg19", weights=None, images=None, size=32, out=tmp_path / "b.npz"
    )
    assert len(tb) == 5 and tb.meta["source"] == "skimage.data"


# ---------------------------------------------------- the attribution methods on these models

#: per model, the methods its ImageNet figures use (read-only check of attribution/)
FIGURE_METHODS = {
    "inception_v3": ["gradient", "guided_backprop", "gradcam"],
    "vgg16": ["lrp_epsilon", "lrp_composite", "gradcam"],
    "vgg19": ["gradient_input"],
}


def test_attribution_methods_run_on_the_random_models(model, photos, tmp_path):
    x = imagenet.write_testbed(
        model_name=model.name, weights=None, images=photos, size=SMALL[model.name],
        out=tmp_path / "testbed.npz",
    ).x[1:2]  # fmt: skip
    before = _state_fingerprint(model)
    maps = {}
    for method in FIGURE_METHODS[model.name]:
        params = {}
        if method == "lrp_composite":
            params["low"], params["high"] = imagenet.normalization_box(model.name)
        maps[method] = attribute(method, model, x, None, **params)
        assert maps[method].shape == x.shape and torch.isfinite(maps[method]).all(), method
        assert maps[method].abs().sum() > 0, method
    assert _state_fingerprint(model) == before and not model.training
    if model.name == "inception_v3":  # BasicConv2d's functional ReLUs are reached
        assert not torch.allclose(maps["gradient"], maps["guided_backprop"])
