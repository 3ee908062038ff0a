"""The workflow's one adapter (workflow/scripts/run.py), called as Snakemake's ``script:`` calls
it: keyword arguments from the params, the outputs, and the config values ``in_job`` names."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest

ADAPTER = Path(__file__).resolve().parents[2] / "workflow" / "scripts" / "run.py"
_calls: list[dict] = []


def record(**kwargs):
    """A library function stand-in: keeps what it was called with."""
    _calls.append(kwargs)


def fail(**kwargs):
    raise ValueError("bad value")


@pytest.fixture
def adapter(monkeypatch):
    """The adapter module; its logging setup (which redirects this process's stderr and the
    root logger to the rule's log) is left out, so the test session's own are kept."""
    spec = importlib.util.spec_from_file_location("workflow_adapter", ADAPTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "setup_logging", lambda log_file: None)
    return module


class _Named(dict):
    """Snakemake's named lists (``output``, ``wildcards``): ``.items()`` and index 0."""

    def __getitem__(self, key):
        return list(self.values())[key] if isinstance(key, int) else super().__getitem__(key)


def job(tmp_path, fn, *, in_job=None, config=None, **kwargs):
    call = {"fn": f"{__name__}:{fn}", "kwargs": kwargs}
    if in_job is not None:
        call["in_job"] = in_job
    return types.SimpleNamespace(
        params=types.SimpleNamespace(call=call), output=_Named(out=str(tmp_path / "o.npz")),
        log=[str(tmp_path / "job.log")], threads=1, config=config or {}, rule="fetch_mnist",
        wildcards=_Named(),
    )  # fmt: skip


def test_the_adapter_passes_params_outputs_and_in_job_config_values(adapter, tmp_path):
    _calls.clear()
    smk = job(tmp_path, "record", in_job={"mirror": "data.mirror"}, root="r",
              config={"data": {"mirror": "/somewhere/mnist"}})  # fmt: skip
    adapter.main(smk)
    assert _calls == [{"root": "r", "mirror": "/somewhere/mnist", "out": str(tmp_path / "o.npz")}]
    # a call without in_job (every catalogue row) passes exactly its kwargs and outputs
    _calls.clear()
    adapter.main(job(tmp_path, "record", root="r"))
    assert _calls == [{"root": "r", "out": str(tmp_path / "o.npz")}]


def test_a_failing_job_names_the_error_and_its_log(adapter, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "__stderr__", sys.stderr)  # capsys sees the console line
    with pytest.raises(SystemExit) as exc:
        adapter.main(job(tmp_path, "fail"))
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "Error in rule fetch_mnist" in err and "ValueError: bad value" in err
    assert str(tmp_path / "job.log") in err
