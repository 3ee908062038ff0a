"""Helpers of the workflow tests: run Snakemake on a scratch copy of the configs, and the
catalogues of the default and the smoke configs (the same rows the DAG is generated from)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SNAKEFILE = ROOT / "workflow" / "Snakefile"
REPORT_DIR = ROOT / "workflow" / "report"
SCHEMA = ROOT / "config" / "schema.yaml"
#: the smoke DAG: default config, the smoke overlay, and the tiny MNIST's checksums
SMOKE_CONFIGS = ("--configfile", "config/config.yaml", "config/smoke.yaml", "tiny.yaml")
SMOKE_CORES = 2
#: figures that overlap their own labels fail the smoke run instead of only warning
STRICT = {"SALIENCY_SANITY_STRICT_FIGURES": "1"}


def snakemake(workdir: Path, *args: str, env: dict | None = None, snakefile: Path = SNAKEFILE,
              timeout: float | None = None) -> subprocess.CompletedProcess:  # fmt: skip
    """``snakemake --snakefile <repo>/workflow/Snakefile --directory <workdir> *args``."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile),
           "--directory", str(workdir), *args]  # fmt: skip
    env = {**os.environ, **STRICT, **(env or {})}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir,
                          timeout=timeout)  # fmt: skip


def tail(result: subprocess.CompletedProcess, n: int = 6000) -> str:
    """The end of a run's console output, for assertion messages."""
    return (result.stdout + "\n" + result.stderr)[-n:]


def scratch(tmp_path: Path) -> Path:
    """A working directory with the repository's configs, as a user's clone has them."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(ROOT / "config", work / "config")
    shutil.copy(ROOT / "matplotlibrc", work / "matplotlibrc")
    return work


def merge(base: dict, overlay: dict) -> dict:
    """Snakemake's merge of several config files: nested mappings merged, the rest replaced."""
    out = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config(*files: Path | str) -> dict:
    from saliency_sanity.config import validate

    config: dict = {}
    for f in files:
        config = merge(config, yaml.safe_load(Path(f).read_text()) or {})
    return validate(config, SCHEMA)


def default_catalogue():
    from saliency_sanity.catalogue import Catalogue

    return Catalogue(load_config(ROOT / "config" / "config.yaml"))


def smoke_catalogue():
    from saliency_sanity.catalogue import Catalogue

    return Catalogue(load_config(ROOT / "config" / "config.yaml", ROOT / "config" / "smoke.yaml"))


def prepare_smoke(base: Path) -> tuple[Path, dict]:
    """``base/work`` with the configs and ``base/mirror`` with a tiny MNIST; the run's env."""
    from mnist_fixture import write_tiny_mnist

    base.mkdir(parents=True, exist_ok=True)
    work = scratch(base)
    checksums = write_tiny_mnist(base / "mirror", n_train=300, n_test=100)
    (work / "tiny.yaml").write_text(yaml.safe_dump({"data": {"checksums": checksums}}))
    return work, {"SALIENCY_SANITY_MNIST_MIRROR": str(base / "mirror")}
