"""The README's "Check your own model" example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from saliency_sanity.checks import CHECKS

README = Path(__file__).resolve().parents[2] / "README.md"


def _example() -> str:
    text = README.read_text()
    section = text[text.index("## Check your own model") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_check_your_own_model_example_runs(capsys):
    code = _example()
    assert len(code.strip().splitlines()) <= 10  # issue 14: a 10-line example
    ns: dict = {}
    exec(compile(code, str(README), "exec"), ns)
    card, mprt, shift = ns["card"], ns["mprt"], ns["shift"]
    assert set(card["check"]) == set(CHECKS)
    assert set(card["method"]) == {"gradient", "integrated_gradients", "random_map"}
    assert np.isfinite(mprt["null_mean"]).all()  # every similarity comes with its null
    assert mprt["step"].nunique() == 3  # original + the two parametrised layers
    assert set(shift["method"]) == {"gradient", "gradient_input"}
    assert "passes" in capsys.readouterr().out
