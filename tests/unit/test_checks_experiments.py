"""The papers' experiments run on the checks library: adebayo2018's curves and null, gupta2019's
data randomisation and null, kindermans2017's network 2 are the checks' numbers (one
implementation of the randomisation engine, the measures, the nulls and the compensation)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from saliency_sanity import checks, models
from saliency_sanity.attribution import attribute
from saliency_sanity.checks.input_invariance import shift_tensor
from saliency_sanity.experiments import adebayo2018 as A
from saliency_sanity.experiments import gupta2019 as G
from saliency_sanity.models import PaperModel, truncated_normal

SIZE = 12  # SSIM and HOG need maps of at least 11 x 11
METHODS = {"g": ("gradient", {}), "gi": ("gradient_input", {}), "gbp": ("guided_backprop", {}),
           "ig": ("integrated_gradients", {"steps": 4}), "cam": ("gradcam", {})}  # fmt: skip


class Tiny(PaperModel):
    """A zoo model in miniature: declared layer order and initialisers, a GradCAM layer."""

    name = "tiny"
    gradcam_layer = "relu1"
    input_shape = (1, SIZE, SIZE)

    def __init__(self) -> None:
        layers = [("conv1", nn.Conv2d(1, 3, 3, padding=1)), ("relu1", nn.ReLU()),
                  ("pool1", nn.MaxPool2d(2)), ("flatten", nn.Flatten()),
                  ("fc1", nn.Linear(3 * 6 * 6, 8)), ("relu2", nn.ReLU()),
                  ("logits", nn.Linear(8, 4))]  # fmt: skip
        init = truncated_normal(0.3, bias=0.05)
        super().__init__(layers, {n: init for n in ("conv1", "fc1", "logits")})


def _tiny(dtype=torch.float64) -> Tiny:
    torch.manual_seed(0)
    return Tiny().to(dtype).eval()


def _x(dtype=torch.float64, n=6) -> torch.Tensor:
    return torch.rand(n, 1, SIZE, SIZE, generator=torch.Generator().manual_seed(1), dtype=dtype)


@pytest.mark.parametrize("order", ["cascading", "independent"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_adebayo2018_curves_are_the_model_randomization_rows(order, dtype):
    """Same model, seed, images and methods (each step explaining its own prediction): every
    curve point of adebayo2018 (mean, std, n) is the checks' row. In float32 the two compute the
    same maps and agree exactly; in float64 adebayo2018 stores its maps as float32, so they
    agree to that rounding."""
    model, x = _tiny(dtype), _x(dtype)
    result = A.randomization_maps(model, x, METHODS, order, seed=3, progress=False)
    table = A.similarity_table(result).set_index(["method", "layer", "metric", "variant"])
    df = checks.model_randomization(model, x, None, METHODS, order=order, seed=3,
                                    measures=tuple(A.METRICS.values()), null=False)  # fmt: skip
    assert list(dict.fromkeys(df["step"])) == list(result["steps"])
    tol = 0 if dtype == torch.float32 else 1e-6
    assert len(df) == len(table) == 4 * len(METHODS) * len(A.METRICS)
    for (metric, variant), measure in A.METRICS.items():
        for row in df[df["measure"] == measure].itertuples():
            ours = table.loc[(row.method, row.step, metric, variant)]
            assert ours["n"] == row.n, (row.method, row.step, measure)
            got, want = [ours["mean"], ours["std"]], [row.mean, row.std]
            np.testing.assert_allclose(got, want, rtol=0, atol=tol, err_msg=str(row))


def test_adebayo2018_null_is_the_checks_null():
    model, x = _tiny(), _x()
    pair = A.null_maps(model, x, METHODS, seeds=(11, 12))
    null = A.similarity_table(pair).query("step == 1").set_index(["method", "metric", "variant"])
    df = checks.model_randomization(model, x, None, METHODS, null_seeds=(11, 12),
                                    measures=tuple(A.METRICS.values()))  # fmt: skip
    for (metric, variant), measure in A.METRICS.items():
        for row in df[(df["measure"] == measure) & (df["index"] == 0)].itertuples():
            expected = null.loc[(row.method, metric, variant), "mean"]
            assert row.null_mean == pytest.approx(expected, abs=1e-6, nan_ok=True)


def test_gupta2019_null_and_data_randomization_null_are_the_same_copies():
    """The null of Fig. 7 (checks.data_randomization's copies) equals the null maps of the
    randomisation runs with the same seeds: the figure may read either."""
    torch.manual_seed(0)
    model, twin = models.build("alexnet").eval(), models.build("alexnet").eval()
    x = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    labels = torch.zeros(3, dtype=torch.long)
    null = G.null_maps(model, x, labels, {"gradient_input": {}}, [7, 8], "randomized_prediction",
                       100)  # fmt: skip
    maps: dict = {}
    df = checks.data_randomization(model, twin, x, None, G.DATA_RANDOMIZATION,
                                   measures=("spearman_abs",), null_seeds=[7, 8],
                                   maps_out=maps).set_index("method")  # fmt: skip
    for key, prefix in (("gi", "null_maps_"), ("cgi", "null_maps_competitive_")):
        a, b = null[f"{prefix}gradient_input"]
        rho = checks.measures.compare("spearman_abs", a[:, None], b[:, None])
        assert df.loc[key, "null_mean"] == pytest.approx(np.nanmean(rho), abs=1e-12)
    # the maps handed back are the ones compared, and equal gupta2019's plain/competitive maps:
    # CGI from the same all-class pass to the bit; GI to float32 rounding (the check explains
    # the target alone, gupta2019 reads it off the all-class pass, whose backward is batched
    # over the classes where they fit a batch: another summation order in the convolutions)
    pred = model(x).argmax(1)
    gi, cgi = G.plain_and_competitive(G.all_class_maps("gradient_input", model, x), pred)
    gi = gi.double().numpy()
    np.testing.assert_allclose(maps["gi"][0], gi, rtol=0, atol=1e-6 * np.abs(gi).max())
    np.testing.assert_array_equal(maps["cgi"][0], cgi.double().numpy())


@pytest.mark.parametrize("shift", [-1.0, 0.3, "checkerboard", "tensor"])
def test_bias_compensated_is_b1_minus_w_m2_by_the_checks(shift):
    """kindermans2017's network 2 comes from the checks' compensation: b2 = b1 - W m2 (Sec. 2),
    written out here, for any shift; the model's mode is kept, the shift recorded."""
    torch.manual_seed(0)
    net1 = models.build("kindermans_mlp").double().train()
    x = torch.zeros(1, *net1.input_shape, dtype=torch.float64)
    if shift == "tensor":
        shift = torch.rand(net1.input_shape, generator=torch.Generator().manual_seed(3)) - 0.5
    m2 = shift_tensor(shift, x)
    net2 = models.bias_compensated(net1, m2 if isinstance(shift, str) else shift)
    first = net1.body.fc1
    expected = first.bias - first.weight @ m2.flatten()
    torch.testing.assert_close(net2.body.fc1.bias, expected, rtol=0, atol=1e-12)
    assert net2.training and torch.equal(net2.input_shift, m2)
    assert torch.equal(net1.body.fc1.bias, first.bias)  # network 1 untouched


def test_gradient_input_read_off_the_gradient_is_attributes():
    """checks explains Gradient x Input as x times Gradient's maps when both are checked (one
    backward pass): the very numbers attribute() gives."""
    from saliency_sanity.checks.methods import explain_each, specs

    model, x = _tiny(torch.float32), _x(torch.float32)
    t = torch.tensor([0, 1, 2, 3, 0, 1])
    got = {s.label: maps for s, maps in explain_each(specs(["gradient_input", "gradient"]),
                                                      model, x, t)}  # fmt: skip
    assert torch.equal(got["gradient_input"], attribute("gradient_input", model, x, t))
    assert torch.equal(got["gradient"], attribute("gradient", model, x, t))
