"""``kill -9`` of a smoke run during a job, then the README's recovery (issue 13, item 9).

The whole process group of a running smoke DAG (Snakemake and the job it runs) is killed with
SIGKILL once one model is trained and another job is under way, leaving Snakemake's lock and its
incomplete-output markers behind. A user then resumes as the README says: ``snakemake --unlock``,
then ``snakemake`` with the default profile (workflow/profiles/default: rerun-incomplete). Every
committed output of the resumed run (everything under the smoke figures prefix: png, pdf, csv,
claims.csv, README.md) must be byte-identical to the uninterrupted run's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _smk import (
    ROOT,
    SMOKE_CONFIGS,
    SMOKE_CORES,
    SNAKEFILE,
    STRICT,
    prepare_smoke,
    snakemake,
    tail,
)

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

DEFAULT_PROFILE = ROOT / "workflow" / "profiles" / "default"
RESULTS = "results/smoke"
FIGURES = "results/smoke/figures"
#: how long the killed run may take to reach a running job after a finished one
START_TIMEOUT_S = 20 * 60


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root``, by relative path, with its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}  # fmt: skip


def running_job(work: Path) -> bool:
    """A model is trained and some other job is running: Snakemake marks the outputs of a
    running job in .snakemake/incomplete until the job has finished."""
    trained = list((work / RESULTS / "models").glob("*/*.pt"))
    marker_dir = work / ".snakemake" / "incomplete"
    return bool(trained) and marker_dir.is_dir() and any(marker_dir.iterdir())


def test_kill_9_then_resume_gives_identical_outputs(tmp_path, local_smoke_run):
    work, env = prepare_smoke(tmp_path)
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE), "--directory",
           str(work), "--cores", str(SMOKE_CORES), *SMOKE_CONFIGS]  # fmt: skip
    console = tmp_path / "killed.log"
    with console.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=work, env={**os.environ, **STRICT, **env}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not running_job(work):
            ended = "the run ended before it could be killed:\n"
            assert proc.poll() is None, ended + console.read_text()[-4000:]
            assert time.monotonic() < deadline, console.read_text()[-4000:]
            time.sleep(0.5)
        running = sorted(p.name for p in (work / ".snakemake" / "incomplete").iterdir())
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the session's group: Snakemake and its jobs
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # what a kill -9 leaves: the lock, and the outputs of the running job marked incomplete
    assert any((work / ".snakemake" / "locks").iterdir())
    assert running

    # the README's recovery
    unlock = snakemake(work, "--unlock", *SMOKE_CONFIGS, env=env)
    assert unlock.returncode == 0, tail(unlock)
    resumed = snakemake(work, "--profile", str(DEFAULT_PROFILE), "--cores", str(SMOKE_CORES),
                        *SMOKE_CONFIGS, env=env)  # fmt: skip
    assert resumed.returncode == 0, tail(resumed)
    assert not list((work / ".snakemake" / "incomplete").glob("*")), "markers left after resume"

    got, want = tree(work / FIGURES), tree(local_smoke_run / FIGURES)
    assert sorted(got) == sorted(want)
    assert "claims.csv" in want and "README.md" in want
    differ = [name for name in want if got[name] != want[name]]
    assert not differ, f"{len(differ)} committed outputs differ after kill + resume: {differ}"
