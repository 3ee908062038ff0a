"""Helpers of the workflow tests: run Snakemake on a scratch copy of the configs, and the
catalogues of the default and the smoke configs (the same rows the DAG is generated from)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
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
#: seconds between the progress lines of a running Snakemake (``pytest -s`` shows them)
HEARTBEAT_S = 30


def snakemake(workdir: Path, *args: str, env: dict | None = None, snakefile: Path = SNAKEFILE,
              timeout: float | None = None) -> subprocess.CompletedProcess:  # fmt: skip
    """``snakemake --snakefile <repo>/workflow/Snakefile --directory <workdir> *args``.

    The console (stdout and stderr, interleaved) streams to a new ``snakemake-<k>.log`` beside
    ``workdir`` (the test's tmp dir): its path is printed at the start, then every
    :data:`HEARTBEAT_S` the elapsed time and the log's last line, and the exit status at the
    end (shown with ``pytest -s``). The result's ``stdout`` is the whole log, ``stderr`` is
    empty and ``log`` is the path (:func:`tail` names it). Past ``timeout`` seconds Snakemake
    is killed and ``subprocess.TimeoutExpired`` raised, as ``subprocess.run`` does.
    """
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile),
           "--directory", str(workdir), *args]  # fmt: skip
    env = {**os.environ, **STRICT, **(env or {})}
    log = _new_log(Path(workdir).parent)
    print(f"\nsnakemake {' '.join(args)}\n  console: {log}", flush=True)
    start = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=workdir)
        try:
            _wait(proc, log, start, timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    print(f"  exit {proc.returncode} after {time.monotonic() - start:.0f} s: {log}", flush=True)
    result = subprocess.CompletedProcess(cmd, proc.returncode, _read(log), "")
    result.log = log
    return result


def _new_log(folder: Path) -> Path:
    k = 1
    while (folder / f"snakemake-{k}.log").exists():
        k += 1
    return folder / f"snakemake-{k}.log"


def _read(log: Path, last: int | None = None) -> str:
    """The log's text, or only its ``last`` bytes."""
    with log.open("rb") as f:
        if last is not None:
            f.seek(max(0, log.stat().st_size - last))
        return f.read().decode(errors="replace")


def _wait(proc: subprocess.Popen, log: Path, start: float, timeout: float | None) -> None:
    """Wait for ``proc``, printing a heartbeat line every HEARTBEAT_S seconds."""
    while True:
        left = None if timeout is None else start + timeout - time.monotonic()
        if left is not None and left <= 0:
            raise subprocess.TimeoutExpired(proc.args, timeout, output=_read(log, 6000))
        try:
            proc.wait(timeout=HEARTBEAT_S if left is None else min(HEARTBEAT_S, left))
            return
        except subprocess.TimeoutExpired:
            lines = _read(log, 2000).strip().splitlines() or [""]
            print(f"  {time.monotonic() - start:.0f} s: {lines[-1][:160]}", flush=True)


def tail(result: subprocess.CompletedProcess, n: int = 6000) -> str:
    """The end of a run's console output, and where the whole of it is, for assertion
    messages."""
    text = (result.stdout + "\n" + result.stderr)[-n:]
    log = getattr(result, "log", None)
    return text + (f"\n(whole console: {log})" if log else "")


def job_stats(console: str) -> dict[str, int]:
    """Jobs per rule of the first "Job stats" table a Snakemake console printed (without the
    total); empty when there was none (nothing to be done)."""
    _, found, rest = console.partition("Job stats:")
    if not found:
        return {}
    table = rest.split("\n\n", 1)[0]
    stats = {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)\s*$", table, flags=re.M)}
    stats.pop("total", None)
    return stats


def copy_smoke_run(work: Path, base: Path) -> tuple[Path, dict]:
    """A copy of the finished smoke run ``work`` (made by :func:`prepare_smoke`) and of its
    MNIST mirror under ``base``; the copy's working directory and run environment."""
    shutil.copytree(work, base / "work", symlinks=True)
    shutil.copytree(work.parent / "mirror", base / "mirror")
    return base / "work", {"SALIENCY_SANITY_MNIST_MIRROR": str(base / "mirror")}


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


def local_threads(declared: int) -> int:
    """The threads a job that declares ``declared`` runs with in a local smoke run here:
    the workflow's packing for this machine (``runtime.job_threads``), at most the cores."""
    from saliency_sanity.runtime import job_threads, machine_cpus

    return min(job_threads(declared, machine_cpus()), SMOKE_CORES)


def recorded_threads(log: Path) -> int:
    """The threads the adapter says a job ran with (its last ``threads: N`` line)."""
    found = re.findall(r"saliency_sanity\.run INFO: threads: (\d+)", log.read_text())
    assert found, f"{log} records no thread count"
    return int(found[-1])
