"""Shared, seeded fixtures (STYLE.md item 7: seeds are data)."""

from __future__ import annotations

import pytest
import torch

SEED = 0


@pytest.fixture
def seed() -> int:
    return SEED


@pytest.fixture
def generator() -> torch.Generator:
    """A CPU generator seeded with :data:`SEED`; draw test inputs and weights from it."""
    return torch.Generator().manual_seed(SEED)
