"""Rows per batch chosen per model (saliency_sanity.batching) and maps unchanged by batching."""

from __future__ import annotations

import inspect

import pytest
import torch
from _attribution_models import TinyCNN, TinyMLP, images
from torch import nn

from saliency_sanity import batching
from saliency_sanity.attribution import METHODS, attribute, attribute_all_classes
from saliency_sanity.attribution._utils import blocks, grid_rows, resolve_chunk
from saliency_sanity.attribution.patterns import fit_patterns

#: Every registered method that batches rows (has a ``chunk`` parameter): all must appear in
#: the chunked-vs-unchunked comparison below, so a new batched method is tested automatically.
CHUNKED = sorted(n for n, m in METHODS.items() if "chunk" in inspect.signature(m.fn).parameters)
NOISY = {"samples": 7}  # SmoothGrad / VarGrad family: several blocks per image at chunk=3


def _params(name: str, model: nn.Module, x: torch.Tensor) -> dict:
    sig = inspect.signature(METHODS[name].fn).parameters
    params = {**(NOISY if "samples" in sig else {}), **({"steps": 9} if "steps" in sig else {})}
    if "patterns" in sig and METHODS[name].defaults.get("root", "pattern") == "pattern":
        params["patterns"] = fit_patterns(model, x)
    if "coalition_sizes" in sig:
        params["coalition_sizes"] = 3  # 3 sizes: pairs per batch are not a multiple of them
    return params


def test_some_methods_batch_rows():
    for name in ("gradient", "integrated_gradients", "smoothgrad", "occlusion", "lrp_epsilon",
                 "lrp_composite", "pattern_net", "dasp", "lime", "kernel_shap"):  # fmt: skip
        assert name in CHUNKED


@pytest.mark.parametrize("name", CHUNKED)
@pytest.mark.parametrize("all_classes", [False, True], ids=["target", "all_classes"])
def test_maps_do_not_depend_on_the_rows_per_batch(name, all_classes, generator):
    """float64: one row per batch, an odd split and everything at once give the same maps, for
    one target and for all classes (K relevance rows per image); ``chunk=None`` (chosen per
    model) too."""
    model = TinyCNN(generator)
    x = images(generator, n=4)
    target = None if all_classes else torch.tensor([0, 1, 2, 3])
    params = _params(name, model, x)

    def maps_at(chunk):
        if all_classes:
            return attribute_all_classes(name, model, x, chunk=chunk, **params)
        return attribute(name, model, x, target, chunk=chunk, **params)

    ref = maps_at(10**6)
    assert ref.shape == ((4, 5, *x.shape[1:]) if all_classes else x.shape)
    for chunk in (1, 3, 7, None):
        maps = maps_at(chunk)
        torch.testing.assert_close(maps, ref, rtol=1e-10, atol=1e-12, msg=f"chunk={chunk}")


@pytest.mark.parametrize("name", ["gradient", "guided_backprop", "deconvnet"])
def test_classes_batched_in_one_backward_where_they_fit_give_the_loops_gradients(
    name, generator, monkeypatch
):
    """All classes of 4 images (20 gradient rows) fit a batch of 10**6 rows: one backward
    batched over the classes (vmap; the ReLU hooks of Guided Backprop and DeconvNet see batched
    gradients); at 10 rows a backward per class. Same maps (float64), and each path is taken."""
    from saliency_sanity.attribution import _utils

    model, x = TinyCNN(generator), images(generator, n=4)
    calls = []
    grad = torch.autograd.grad

    def spy(*args, **kwargs):
        calls.append(bool(kwargs.get("is_grads_batched")))
        return grad(*args, **kwargs)

    monkeypatch.setattr(_utils.torch.autograd, "grad", spy)
    batched = attribute_all_classes(name, model, x, chunk=10**6)
    assert calls == [True]
    calls.clear()
    looped = attribute_all_classes(name, model, x, chunk=10)
    assert calls == [False] * 5  # one batch of the 4 images, a backward per class (5)
    torch.testing.assert_close(batched, looped, rtol=1e-12, atol=1e-14)


#: methods that sum over samples/steps, with 5 (3) of them per image: 4 images are 20 rows, so
#: batches of 3, 4 or 7 rows (7: 6 + 7 + 7) cut images between two batches (grid_rows)
RAGGED = {
    "smoothgrad": ("smoothgrad", {"samples": 5}),
    "vargrad": ("vargrad", {"samples": 5}),
    "integrated_gradients": ("integrated_gradients", {"steps": 5}),
    "ig_smoothgrad": ("smoothgrad", {"base": "integrated_gradients", "steps": 3, "samples": 5}),
    "ig_vargrad": ("vargrad", {"base": "integrated_gradients", "steps": 3, "samples": 5}),
}


@pytest.mark.parametrize("case", sorted(RAGGED))
@pytest.mark.parametrize("all_classes", [False, True], ids=["target", "all_classes"])
def test_images_cut_between_batches_give_the_same_maps(case, all_classes, generator):
    """float64: rows per batch that are not a multiple of the samples (steps) per image give the
    maps of one batch for everything: each image's run of rows in each batch is summed into
    its own image (mean, and VarGrad's variance through Chan's merge, :func:`_merge`)."""
    name, params = RAGGED[case]
    model = TinyCNN(generator)
    x = images(generator, n=4)
    target = None if all_classes else torch.tensor([0, 1, 2, 3])

    def maps_at(chunk):
        if all_classes:
            return attribute_all_classes(name, model, x, chunk=chunk, **params)
        return attribute(name, model, x, target, chunk=chunk, **params)

    ref = maps_at(10**6)
    for chunk in (3, 4, 7):
        torch.testing.assert_close(maps_at(chunk), ref, rtol=1e-10, atol=1e-12, msg=f"{chunk}")


def test_every_batch_holds_about_chunk_rows(generator):
    """SmoothGrad with 50 samples on 4 images in batches of at most 92 rows runs 3 batches of
    66-67 rows (whole images per batch would be 4 batches of 50), and IG alike."""
    sizes = []
    model = TinyMLP(generator)
    x = images(generator, n=4)
    attribute("gradient", model, x, torch.zeros(4, dtype=torch.long))  # the probe, cached
    model.register_forward_pre_hook(lambda _m, args: sizes.append(args[0].shape[0]))
    attribute("smoothgrad", model, x, torch.zeros(4, dtype=torch.long), samples=50, chunk=92)
    assert sizes == [66, 67, 67]
    sizes.clear()
    attribute("integrated_gradients", model, x, torch.zeros(4, dtype=torch.long), chunk=92)
    assert sizes == [66, 67, 67]


def test_grid_rows_cover_the_grid_once_in_item_major_order():
    """4 items x 5 samples in batches of at most 7 rows: 6 + 7 + 7, each row once, items cut
    between batches, and ``items``/``local`` name the items each batch touches."""
    batches = list(grid_rows(4, 5, 7))
    assert [len(b.item) for b in batches] == [6, 7, 7]
    pairs = [(int(i), int(j)) for b in batches for i, j in zip(b.item, b.sample, strict=True)]
    assert pairs == [(i, j) for i in range(4) for j in range(5)]
    assert [(b.items.start, b.items.stop) for b in batches] == [(0, 2), (1, 3), (2, 4)]
    assert batches[1].local.tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert list(grid_rows(0, 5, 7)) == []
    assert [len(b.item) for b in grid_rows(2, 50, 40)] == [33, 33, 34]
    with pytest.raises(ValueError, match="chunk"):
        next(grid_rows(2, 5, 0))


def test_rows_per_batch_is_the_budget_over_the_bytes_of_one_row():
    """Linear(4, 8) - ReLU - Linear(8, 3) in float32: one row holds the input (4), the two
    hidden outputs (8 + 8) and the logits (3): 23 floats = 92 bytes."""
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x = torch.zeros(5, 4)
    assert batching.activation_bytes_per_row(model, x) == 92
    assert batching.rows_per_batch(model, x, budget_bytes=920) == 10
    assert batching.rows_per_batch(model, x, budget_bytes=10**12) == batching.MAX_ROWS
    # a budget below the weights' bytes is raised to them: (4*8 + 8 + 8*3 + 3) floats = 268
    # bytes of parameters over 92 bytes a row
    assert batching.parameter_bytes(model) == 268
    assert batching.rows_per_batch(model, x, budget_bytes=91) == 268 // 92
    assert batching.rows_per_batch(nn.ReLU(), x, budget_bytes=1) == batching.MIN_ROWS


def test_a_wider_model_gets_fewer_rows():
    narrow = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten())
    wide = nn.Sequential(nn.Conv2d(1, 64, 3, padding=1), nn.ReLU(), nn.Flatten())
    x = torch.zeros(2, 1, 28, 28)
    assert batching.rows_per_batch(wide, x) < batching.rows_per_batch(narrow, x)


def test_the_probe_leaves_the_model_and_the_rng_as_found():
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 3)).train()
    model[2].eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    batching.clear_cache()
    batching.rows_per_batch(model, torch.ones(3, 4))
    assert torch.equal(torch.get_rng_state(), rng)
    assert [m.training for m in model] == [True, True, False]
    assert all(not m._forward_hooks for m in model.modules())
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])


def test_the_choice_is_cached_per_model_and_shape():
    calls = []
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
    model.register_forward_pre_hook(lambda *_: calls.append(1))
    batching.clear_cache()
    first = batching.rows_per_batch(model, torch.zeros(2, 4))
    assert batching.rows_per_batch(model, torch.zeros(7, 4)) == first  # N does not matter
    assert len(calls) == 1
    other = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
    batching.rows_per_batch(other, torch.zeros(2, 4))
    model.register_forward_pre_hook(lambda *_: None)
    assert len(calls) == 1  # the second model's probe did not run the first


def test_a_given_target_costs_no_forward_pass_beyond_the_methods_own():
    """attribute() learns K from the cached probe: after the first call, Gradient with a given
    target runs exactly one forward pass (its own), where it used to run a one-row pass more."""
    calls = []
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    model.register_forward_pre_hook(lambda _m, args: calls.append(args[0].shape[0]))
    x, target = torch.rand(5, 4), torch.tensor([0, 1, 2, 0, 1])
    batching.clear_cache()
    attribute("gradient", model, x, target)
    assert calls == [1, 5]  # the probe (one row), then the method's batch
    attribute("gradient", model, x, target)
    attribute_all_classes("gradient", model, x)
    assert calls == [1, 5, 5, 5]


def test_a_replaced_layer_is_probed_again():
    """The cache key holds the parameters' shapes: a head swapped for one with 2 classes is
    seen at once (target 2 then out of range), while randomising weights in place reuses it."""
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x = torch.rand(2, 4)
    assert batching.output_classes(model, x) == 3
    attribute("gradient", model, x, torch.tensor([2, 2]))
    with torch.no_grad():
        model[2].weight.normal_()
    assert batching.output_classes(model, x) == 3
    model[2] = nn.Linear(8, 2)
    assert batching.output_classes(model, x) == 2
    with pytest.raises(ValueError, match="out of range"):
        attribute("gradient", model, x, torch.tensor([2, 2]))


def test_an_explicit_chunk_wins_and_a_bad_one_is_named():
    model = nn.Sequential(nn.Linear(4, 3))
    assert resolve_chunk(5, model, torch.zeros(2, 4)) == 5
    assert resolve_chunk(None, model, torch.zeros(2, 4)) == batching.rows_per_batch(
        model, torch.zeros(2, 4)
    )
    for bad in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match="chunk"):
            resolve_chunk(bad, model, torch.zeros(2, 4))


def test_blocks_split_the_samples_of_an_image_evenly():
    sizes = [s.stop - s.start for _, s in blocks(2, 50, 40)]
    assert sizes == [25, 25, 25, 25]
    covered = sorted((i.start, s.start) for i, s in blocks(3, 5, 7))  # one image per block
    assert covered == [(0, 0), (1, 0), (2, 0)]
