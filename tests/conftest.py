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


@pytest.fixture
def attributions_computed(monkeypatch) -> list[str]:
    """The names of the methods the checks compute maps with, one entry per call (the checks'
    one way into the registry, ``checks.methods.attribute``, counted): what a reuse saves."""
    import saliency_sanity.checks.methods as methods_module

    calls: list[str] = []
    attribute = methods_module.attribute

    def counted(name, *args, **kwargs):
        calls.append(name)
        return attribute(name, *args, **kwargs)

    monkeypatch.setattr(methods_module, "attribute", counted)
    return calls
