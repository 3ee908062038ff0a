"""The Snakemake workflow: a dry run of the default config, and the whole DAG on the smoke config
with a tiny synthetic MNIST (offline mirror), in a scratch working directory."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mnist_fixture import write_tiny_mnist

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.workflow


def snakemake(workdir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
           "--directory", str(workdir), *args]  # fmt: skip
    env = {**os.environ, **(env or {})}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir)


def scratch(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(ROOT / "config", work / "config")
    shutil.copy(ROOT / "matplotlibrc", work / "matplotlibrc")
    return work


def test_dry_run_default_config(tmp_path):
    work = scratch(tmp_path)
    result = snakemake(work, "-n", "--quiet", "rules")
    assert result.returncode == 0, result.stderr
    for rule in ("fetch_mnist", "train", "shifted_network", "report"):
        assert rule in result.stdout + result.stderr


def test_bad_config_key_stops_with_its_name(tmp_path):
    work = scratch(tmp_path)
    (work / "bad.yaml").write_text("testbed: {size: 5, seeed: 1}\n")
    result = snakemake(work, "-n", "--configfile", "config/config.yaml", "bad.yaml")
    assert result.returncode != 0
    assert "testbed.seeed" in result.stderr + result.stdout


def test_wrong_type_stops_with_its_name(tmp_path):
    work = scratch(tmp_path)
    (work / "bad.yaml").write_text("seed: zero\n")
    result = snakemake(work, "-n", "--configfile", "config/config.yaml", "bad.yaml")
    assert result.returncode != 0
    assert "'seed'" in result.stderr + result.stdout


@pytest.mark.slow
def test_smoke_run_produces_every_target(tmp_path):
    work = scratch(tmp_path)
    checksums = write_tiny_mnist(tmp_path / "mirror", n_train=300, n_test=100)
    (work / "tiny.yaml").write_text(yaml.safe_dump({"data": {"checksums": checksums}}))
    configs = ["--configfile", "config/config.yaml", "config/smoke.yaml", "tiny.yaml"]
    env = {"SALIENCY_SANITY_MNIST_MIRROR": str(tmp_path / "mirror")}
    result = snakemake(work, "--cores", "2", *configs, env=env)
    assert result.returncode == 0, result.stderr[-5000:]
    # every file the DAG promises exists
    listed = snakemake(work, "--list-target-rules", *configs, env=env)
    assert listed.returncode == 0
    summary = snakemake(work, "--summary", *configs, env=env)
    assert summary.returncode == 0, summary.stderr
    rows = [line.split("\t") for line in summary.stdout.splitlines()[1:] if "\t" in line]
    assert rows, summary.stdout
    missing = [r[0] for r in rows if r[-1].strip() != "-" and not (work / r[0]).exists()]
    assert not missing, missing
    claims = pd.read_csv(work / "figures" / "claims.csv")
    assert list(claims.columns) == ["id", "doc", "figure", "claim", "measured", "expected", "holds"]
    assert "kindermans2017.same_outputs" in set(claims["id"])
    assert claims["measured"].notna().all()
    gallery = (work / "figures" / "README.md").read_text()
    assert "kindermans2017/networks" in gallery
    # nothing left to do: a second run is a no-op
    again = snakemake(work, "-n", "--cores", "2", *configs, env=env)
    assert "Nothing to be done" in again.stdout + again.stderr
