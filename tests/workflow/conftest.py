"""The smoke DAG, run once per test session and shared by the tests that read its outputs."""

from __future__ import annotations

import pytest
from _smk import SMOKE_CONFIGS, SMOKE_CORES, prepare_smoke, snakemake, tail


@pytest.fixture(scope="session")
def local_smoke_run(tmp_path_factory):
    """The whole smoke DAG on this machine with the default profile; its working directory."""
    work, env = prepare_smoke(tmp_path_factory.mktemp("smoke"))
    result = snakemake(work, "--cores", str(SMOKE_CORES), *SMOKE_CONFIGS, env=env)
    assert result.returncode == 0, tail(result)
    return work
