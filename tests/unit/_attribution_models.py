"""Tiny float64 models for the attribution tests (small enough for exact cross-checks)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

K = 5  # classes of the tiny models


def _init(model: nn.Module, generator: torch.Generator) -> nn.Module:
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=p.dtype) * 0.5)
    return model.double().eval()


class TinyCNN(nn.Sequential):
    """conv-relu-pool-conv-relu-flatten-linear on (N, C, 8, 8); GradCAM at the second ReLU."""

    gradcam_layer = "4"

    def __init__(self, generator: torch.Generator, channels: int = 1) -> None:
        super().__init__(
            nn.Conv2d(channels, 4, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(4, 6, 3, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(6 * 4 * 4, K),
        )
        _init(self.double(), generator)


class TinyMLP(nn.Sequential):
    """flatten-linear-relu-linear-relu-linear on (N, 1, 8, 8)."""

    gradcam_layer = None

    def __init__(self, generator: torch.Generator, bias: bool = True) -> None:
        super().__init__(
            nn.Flatten(),
            nn.Linear(64, 16, bias=bias),
            nn.ReLU(),
            nn.Linear(16, 12, bias=bias),
            nn.ReLU(),
            nn.Linear(12, K, bias=bias),
        )
        _init(self.double(), generator)


class FunctionalMLP(nn.Module):
    """TinyMLP's weights, its ReLUs written as F.relu, torch.relu and Tensor.relu."""

    def __init__(self, mlp: TinyMLP) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = mlp[1], mlp[3], mlp[5]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.fc1(x.flatten(1)))
        return self.fc3(torch.relu(self.fc2(h)).relu())


class ReusedReLUMLP(nn.Module):
    """TinyMLP's weights with a single (in-place) ReLU module used twice."""

    def __init__(self, mlp: TinyMLP, inplace: bool = False) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = mlp[1], mlp[3], mlp[5]
        self.act = nn.ReLU(inplace=inplace)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(self.act(self.fc2(self.act(self.fc1(x.flatten(1))))))


def images(generator: torch.Generator, n: int = 3, channels: int = 1) -> torch.Tensor:
    return torch.rand(n, channels, 8, 8, generator=generator, dtype=torch.float64)
