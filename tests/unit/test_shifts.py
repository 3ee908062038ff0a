"""Shifts m2 of kindermans2017: constant, checkerboard, the hand-drawn cat and the cat shift."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from saliency_sanity import shifts
from saliency_sanity.attribution import attribute
from saliency_sanity.models import bias_compensated


class Net(nn.Module):
    """A small ReLU MLP on (N, 1, 28, 28) with the input_shape bias_compensated needs."""

    input_shape = (1, 28, 28)

    def __init__(self, generator: torch.Generator) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(),
            nn.Linear(16, 10),
        )  # fmt: skip
        with torch.no_grad():
            for p in self.body.parameters():
                p.copy_(torch.randn(p.shape, generator=generator) * 0.3)
        self.eval()

    def forward(self, x):
        return self.body(x)


def digits(generator: torch.Generator, n: int = 6) -> torch.Tensor:
    """Bright strokes on a black background, in [0, 1], like MNIST digits."""
    x = torch.zeros(n, 1, 28, 28)
    for i in range(n):
        r, c = torch.randint(4, 16, (2,), generator=generator).tolist()
        x[i, 0, r : r + 10, c : c + 3] = 1.0
        x[i, 0, r : r + 3, c : c + 8] = 0.7
    return x


def test_constant_is_the_value_everywhere():
    m2 = shifts.constant(-1.0)
    assert m2.shape == (1, 28, 28)
    assert (m2 == -1.0).all()


def test_checkerboard_alternates_squares_of_plus_and_minus_amplitude():
    board = shifts.checkerboard(amplitude=0.3, square=4)
    assert board.shape == (1, 28, 28)
    assert board.unique().tolist() == pytest.approx([-0.3, 0.3])
    assert board[0, 0, 0] == pytest.approx(0.3)
    assert (board[0, :4, :4] == board[0, 0, 0]).all()  # one square is constant
    assert board[0, 0, 4] == pytest.approx(-0.3)  # the next square along a row flips sign
    assert board[0, 4, 0] == pytest.approx(-0.3)  # ... and along a column
    assert board[0, 4, 4] == pytest.approx(0.3)
    assert int((board > 0).sum()) == 25 * 16  # 7 x 7 squares of 4 x 4 pixels, 25 positive
    with pytest.raises(ValueError, match="square"):
        shifts.checkerboard(square=0)


def test_cat_image_has_mnist_shape_and_is_a_face():
    cat = shifts.cat_image()
    assert cat.shape == (1, 28, 28)
    assert cat.dtype == torch.float32
    assert float(cat.min()) == 0.0 and float(cat.max()) == 1.0
    area = float((cat > 0.5).float().mean())
    assert 0.25 < area < 0.75  # a silhouette, neither empty nor the whole image
    assert torch.allclose(cat, cat.flip(-1), atol=0.3)  # left-right symmetric face
    # the eyes are holes inside the head: dark pixels surrounded by bright ones
    eye_row = cat[0, 15]
    assert (eye_row[9:11] < 0.5).any() and eye_row[5] > 0.5 and eye_row[14] > 0.5
    assert cat[0, 0].max() == 0.0 and cat[0, -1].max() == 0.0  # background at the borders


def test_cat_shift_is_clipped_and_exact_where_not_clipped(generator):
    g = torch.randn(3, 1, 28, 28, generator=generator)
    x = digits(generator, 3)
    cat = shifts.cat_image()
    m2 = shifts.cat_shift(g, x, cat, clip=0.3)
    assert m2.shape == x.shape
    assert float(m2.abs().max()) <= 0.3 + 1e-7
    scale = 0.3 * g.abs().mean(dim=(1, 2, 3), keepdim=True)
    target = scale * cat
    inside = m2.abs() < 0.3 - 1e-6
    assert inside.float().mean() > 0.2  # the test needs unclipped pixels
    # where the clip is inactive, Gradient x Input of network 2 is the target exactly
    assert torch.allclose((g * (x + m2))[inside], target.expand_as(x)[inside], atol=1e-5)


def test_cat_shift_survives_zero_gradients():
    g = torch.zeros(1, 1, 28, 28)
    g[0, 0, 10, 10] = 1.0  # one nonzero pixel, the rest exactly 0
    x = torch.zeros(1, 1, 28, 28)
    m2 = shifts.cat_shift(g, x, shifts.cat_image(), clip=0.3)
    assert torch.isfinite(m2).all()
    cat = shifts.cat_image()[None]
    zero = g == 0
    # on the cat the ratio is huge: the shift goes to the clip bound (the formula's limit)
    on_cat = (cat > 0.1) & zero
    assert on_cat.sum() > 100
    assert torch.allclose(m2[on_cat], torch.full_like(m2[on_cat], 0.3))
    assert (m2[cat == 0] == 0).all()  # no target and x = 0: no shift


@pytest.mark.parametrize("kind", ["constant", "checkerboard", "cat"])
def test_bias_compensation_preserves_predictions_for_each_shift(kind, generator):
    net1 = Net(generator)
    x = digits(generator)
    if kind == "constant":
        m2 = shifts.constant(-1.0).expand_as(x)
    elif kind == "checkerboard":
        m2 = shifts.checkerboard(0.3, 4).expand_as(x)
    else:
        m2 = shifts.cat_shift(attribute("gradient", net1, x), x, shifts.cat_image())
    for i in range(len(x)):  # one network 2 per distinct shift
        net2 = bias_compensated(net1, m2[i])
        with torch.no_grad():
            out1, out2 = net1(x[i : i + 1]), net2(x[i : i + 1] + m2[i])
        assert torch.allclose(out1, out2, atol=1e-4)
        assert out1.argmax(1) == out2.argmax(1)
        # and network 2 is a different network: on x itself it does not agree
        with torch.no_grad():
            assert not torch.allclose(net2(x[i : i + 1]), out1, atol=1e-3)


def _corr(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.flatten().double(), b.flatten().double()
    return float(torch.corrcoef(torch.stack([a, b]))[0, 1])


def test_cat_shift_makes_gradient_x_input_of_network_2_draw_the_cat(generator):
    net1 = Net(generator)
    x = digits(generator, 4)
    cat = shifts.cat_image()
    target = net1(x).argmax(1)
    m2 = shifts.cat_shift(attribute("gradient", net1, x, target), x, cat, clip=0.3)
    for i in range(len(x)):
        net2 = bias_compensated(net1, m2[i])
        gi2 = attribute("gradient_input", net2, x[i : i + 1] + m2[i], target[i : i + 1])
        gi1 = attribute("gradient_input", net1, x[i : i + 1], target[i : i + 1])
        # GI2 = min(ŝ, 0.3 |∇f1|) on the cat: the cat, modulated by where the gradient is small
        assert _corr(gi2, cat) > 0.4
        assert abs(_corr(gi1, cat)) < 0.2  # network 1's map does not show the cat
