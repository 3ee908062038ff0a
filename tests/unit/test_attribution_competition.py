"""Competition for pixels (gupta2019, Sec. 3) on hand-built maps and on random-weight nets."""

from __future__ import annotations

import pytest
import torch

from saliency_sanity import models
from saliency_sanity.attribution import attribute, attribute_all_classes, compete


def test_compete_hand_built_example():
    # 1 image, 3 classes, 6 pixels; columns: pixel, rows: class
    all_maps = torch.tensor(
        [
            [
                [3.0, 1.0, -2.0, -2.0, 2.0, 0.0],
                [1.0, 4.0, -1.0, -2.0, 2.0, 0.0],
                [-5.0, 0.5, -3.0, 1.0, -1.0, 0.0],
            ]
        ]
    )
    # target 0: pixel 0 positive max -> kept; pixel 1 positive, not max -> 0; pixel 2 negative,
    # not min (-3 < -2) -> 0; pixel 3 negative, tied min with class 1 -> kept; pixel 4 positive,
    # tied max with class 1 -> kept; pixel 5 zero -> 0
    torch.testing.assert_close(
        compete(all_maps, torch.tensor([0])), torch.tensor([[3.0, 0, 0, -2.0, 2.0, 0]])
    )
    # target 2: pixel 0 negative min -> kept (a "negative winner"); pixel 2 min -> kept;
    # pixel 3 positive max -> kept; pixel 4 negative min -> kept; pixel 1 positive not max -> 0
    torch.testing.assert_close(
        compete(all_maps, torch.tensor([2])), torch.tensor([[-5.0, 0, -3.0, 1.0, -1.0, 0]])
    )
    # the target's own score is part of the max: a positive target that is max over the others
    # but compared with a max that excludes it must not matter (both public snippets' bugs)
    torch.testing.assert_close(
        compete(all_maps, torch.tensor([1])), torch.tensor([[0, 4.0, 0, -2.0, 2.0, 0]])
    )


def test_compete_rejects_bad_target():
    with pytest.raises(ValueError, match="out of range"):
        compete(torch.zeros(2, 3, 4), torch.tensor([0, 3]))


def test_each_pixel_is_won_by_one_positive_and_one_negative_class(generator):
    """Without ties, summing the kept masks over all K targets gives [max > 0] + [min < 0]."""
    all_maps = torch.randn(4, 10, 1, 6, 6, generator=generator, dtype=torch.float64)
    kept = sum((compete(all_maps, torch.full((4,), t)) != 0).long() for t in range(10))
    expected = (all_maps.amax(1) > 0).long() + (all_maps.amin(1) < 0).long()
    assert torch.equal(kept, expected)


@pytest.mark.parametrize("model_name", ["mlp", "cnn"])
def test_competitive_gradient_input_thins_random_nets_to_about_2_over_k(model_name, generator):
    """gupta2019 Sec. 4: on a random net no class dominates, so the target keeps a pixel about
    1/K of the time per sign: about 1/K of the positive and 1/K of the negative pixels win for
    the target, i.e. 2/K of the non-zero pixels in all (0.2 for K = 10; measured 0.19-0.21)."""
    torch.manual_seed(0)  # the zoo models draw their (random) weights from the global generator
    model = models.build(model_name)
    x = torch.rand(8, 1, 28, 28, generator=generator)
    target = torch.randint(10, (8,), generator=generator)
    gi = attribute_all_classes("gradient_input", model, x)
    cgi = attribute("competitive_gradient_input", model, x, target)
    own = gi[torch.arange(8), target]
    kept = ((cgi != 0).sum() / (own != 0).sum()).item()
    assert 0.12 < kept < 0.28
    positive_kept = ((cgi > 0).sum() / (own > 0).sum()).item()
    assert 0.06 < positive_kept < 0.34  # the positive pixels are thinned as much
    torch.testing.assert_close(cgi, compete(gi, target))
