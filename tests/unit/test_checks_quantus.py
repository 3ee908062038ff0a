"""saliency_sanity.checks against Quantus 0.6 (test-only dependency), same model and inputs.

Quantus' settings are reproduced where they are choices (its layer list, PyTorch's default
initialiser seeded as Quantus seeds it, a fixed target); where Quantus has a defect, the test
shows its size (REPLICATION-NOTES, "Quantus").
"""

from __future__ import annotations

import numpy as np
import pytest
import quantus
import torch
from torch import nn

from saliency_sanity import checks
from saliency_sanity.attribution import attribute

SEED = 42


def _cnn() -> nn.Module:
    """A 7-layer CNN with zero padding (4 convolutions, 3 dense layers), random weights."""
    torch.manual_seed(3)
    return nn.Sequential(
        nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(),
        nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Flatten(),
        nn.Linear(8 * 8 * 8, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10),
    ).eval()  # fmt: skip


@pytest.fixture(scope="module")
def setup():
    model = _cnn()
    x = torch.rand(12, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = model(x).argmax(1)
    return model, x, y


def _explain(model, inputs, targets, **_):
    x = torch.as_tensor(np.asarray(inputs), dtype=torch.float32)
    return attribute("gradient", model, x, torch.as_tensor(np.asarray(targets))).numpy()


def _quantus_reset(module: nn.Module, name: str, seed: int) -> None:
    """Quantus' re-draw: the global generator seeded with seed + 1, then reset_parameters."""
    torch.manual_seed(seed + 1)
    module.reset_parameters()


def _quantus_layers(model: nn.Module) -> list[str]:
    """Quantus' steps: every module with reset_parameters, in registration order."""
    return [n for n, m in model.named_modules() if hasattr(m, "reset_parameters")]


def test_mprt_equals_quantus_per_layer_and_shows_its_averaging_defect(setup):
    model, x, y = setup
    metric = quantus.MPRT(layer_order="top_down", seed=SEED, abs=True, normalise=True,
                          disable_warnings=True)  # fmt: skip
    theirs = metric(model=model, x_batch=x.numpy(), y_batch=y.numpy(), a_batch=None,
                    explain_func=_explain, device="cpu", batch_size=len(x))  # fmt: skip
    ours = checks.model_randomization(
        model, x, y, methods={"gradient": _explain_torch}, init=_quantus_reset, seed=SEED,
        layers=_quantus_layers(model), direction="top_down", measures=("spearman_abs",),
        null=False,
    )  # fmt: skip
    layers = [k for k in theirs if k != "original"]
    assert layers == list(ours["step"].iloc[1:])  # the same 7 steps in the same order
    for _, row in ours.iloc[1:].iterrows():
        per_sample = np.asarray(theirs[row["step"]], dtype=np.float64)
        assert row["mean"] == pytest.approx(per_sample.mean(), abs=1e-6)
        assert row["std"] == pytest.approx(per_sample.std(), abs=1e-6)

    averaged = quantus.MPRT(layer_order="top_down", seed=SEED, abs=True, normalise=True,
                            return_average_correlation=True, disable_warnings=True)  # fmt: skip
    avg = averaged(model=model, x_batch=x.numpy(), y_batch=y.numpy(), a_batch=None,
                   explain_func=_explain, device="cpu", batch_size=len(x))  # fmt: skip
    their_avg = float(np.mean(avg))
    our_avg = float(ours["mean"].iloc[1:].mean())
    n_layers = len(layers)
    # Quantus skips a key "orig" but stores "original": the self score 1 is averaged in
    assert their_avg == pytest.approx((1 + n_layers * our_avg) / (n_layers + 1), abs=1e-6)
    defect = their_avg - our_avg
    print(f"Quantus' layer average {their_avg:.4f} vs {our_avg:.4f}: +{defect:.4f}")
    assert defect > 0.05


def _explain_torch(model, x, target):
    return attribute("gradient", model, x, target)


def test_efficient_mprt_equals_quantus(setup):
    model, x, y = setup
    metric = quantus.EfficientMPRT(seed=SEED, disable_warnings=True)
    theirs = metric(model=model, x_batch=x.numpy(), y_batch=y.numpy(), a_batch=None,
                    explain_func=_explain, device="cpu", batch_size=len(x))  # fmt: skip
    ours = checks.efficient_mprt(model, x, y, methods={"gradient": _explain_torch},
                                 init=_quantus_reset, seed=SEED,
                                 layers=_quantus_layers(model))  # fmt: skip
    theirs = np.asarray(theirs, dtype=np.float64)
    assert ours["mean"].iloc[0] == pytest.approx(theirs.mean(), abs=1e-6)
    assert ours["std"].iloc[0] == pytest.approx(theirs.std(), abs=1e-6)


def test_random_logit_matches_quantus_in_1d_and_differs_in_2d(setup):
    model, x, y = setup
    metric = quantus.RandomLogit(num_classes=10, seed=SEED, abs=False, normalise=False,
                                 similarity_func=quantus.similarity_func.ssim,
                                 disable_warnings=True)  # fmt: skip
    theirs = np.asarray(metric(model=model, x_batch=x.numpy(), y_batch=y.numpy(), a_batch=None,
                               explain_func=_explain, device="cpu", batch_size=len(x)))  # fmt: skip
    ours = checks.random_logit(model, x, y, methods=["gradient"], measures=("ssim_1d", "ssim"),
                               seed=SEED, null=False).set_index("measure")  # fmt: skip
    assert ours.loc["ssim_1d", "mean"] == pytest.approx(theirs.mean(), abs=1e-6)
    # the 2-D SSIM (Gaussian windows over rows and columns, min-max normalised maps) is another
    # number: a 1-D window sees pixels of one row only
    assert abs(ours.loc["ssim", "mean"] - theirs.mean()) > 0.02


def test_input_invariance_is_exact_on_a_padded_conv_where_quantus_is_not(setup):
    model, x, y = setup
    ours = checks.input_invariance(model, x, y, methods=["gradient"], shift=-1.0)
    assert ours.attrs["logit_difference"] < 1e-4
    assert ours["mean"].iloc[0] < 1e-5 and ours["n"].iloc[0] == len(x)

    wrapped = quantus.helpers.model.pytorch_model.PyTorchModel(model, channel_first=True)
    shifted = wrapped.add_mean_shift_to_first_layer(-1.0, tuple(x[:1].shape))
    with torch.no_grad():
        logit_gap = float((shifted(x - 1.0) - model(x)).abs().max())
    a1 = attribute("gradient", model, x, y)
    a2 = attribute("gradient", shifted, x - 1.0, y)
    rel = ((a1 - a2).abs().flatten(1).amax(1) / a1.abs().flatten(1).amax(1)).numpy()
    print(f"Quantus' compensation: logits off by {logit_gap:.3g}, maps by {rel.mean():.3g}")
    assert logit_gap > 1e-3  # its per-channel bias is wrong where the kernel meets the padding
    assert rel.mean() > 1e-3
    metric = quantus.InputInvariance(abs=False, normalise=False, input_shift=-1.0,
                                     disable_warnings=True)  # fmt: skip
    flags = metric(model=model, x_batch=x.numpy(), y_batch=y.numpy(), a_batch=None,
                   explain_func=_explain, device="cpu", batch_size=len(x))  # fmt: skip
    assert not all(flags)  # Quantus calls the gradient, which is invariant, not invariant
