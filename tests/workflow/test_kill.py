"""``kill -9`` of a smoke run during a job, then the README's recovery (issue 13, item 9).

The run: a copy of the finished smoke run from which one trained model (kindermans2017's
network 1) and every committed output were deleted, so the run retrains that model, reruns what
reads it and redraws every figure (a third of a fresh smoke run). Its whole process group
(Snakemake and the jobs it runs) is killed with SIGKILL while that training runs, leaving
Snakemake's lock and its incomplete-output markers behind. A user then resumes as the README
says: ``snakemake --unlock``, then ``snakemake`` with the default profile
(workflow/profiles/default: rerun-incomplete). Every committed output of the resumed run
(everything under the smoke figures prefix: png, pdf, csv, claims.csv, README.md) must be
byte-identical to the uninterrupted run's.
"""

from __future__ import annotations

import base64
import os
import shutil
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
    copy_smoke_run,
    job_stats,
    snakemake,
    tail,
)

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

DEFAULT_PROFILE = ROOT / "workflow" / "profiles" / "default"
RESULTS = "results/smoke"
FIGURES = "results/smoke/figures"
#: how long the killed run may take to start its first job
START_TIMEOUT_S = 5 * 60


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root``, by relative path, with its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}  # fmt: skip


#: the model whose files are deleted: the killed run's first job trains it
MODEL = Path(RESULTS) / "models" / "kindermans_mlp"


def running_outputs(work: Path) -> list[str]:
    """The outputs of the running jobs: Snakemake marks them in .snakemake/incomplete until
    their job has finished (a file named by the output's path, urlsafe-base64-encoded)."""
    marker_dir = work / ".snakemake" / "incomplete"
    if not marker_dir.is_dir():
        return []
    names = [p.name for p in marker_dir.iterdir() if p.is_file()]
    return sorted(base64.urlsafe_b64decode(n).decode(errors="replace") for n in names)


def training(work: Path) -> bool:
    """The killed run's training of MODEL is under way."""
    return str(MODEL / "normal.pt") in running_outputs(work)


def test_kill_9_then_resume_gives_identical_outputs(tmp_path, local_smoke_run):
    work, env = copy_smoke_run(local_smoke_run, tmp_path)
    shutil.rmtree(work / MODEL)
    shutil.rmtree(work / FIGURES)
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE), "--directory",
           str(work), "--cores", str(SMOKE_CORES), *SMOKE_CONFIGS]  # fmt: skip
    console = tmp_path / "killed.log"
    with console.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=work, env={**os.environ, **STRICT, **env}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not training(work):
            ended = "the run ended before it could be killed:\n"
            assert proc.poll() is None, ended + console.read_text()[-4000:]
            assert time.monotonic() < deadline, console.read_text()[-4000:]
            time.sleep(0.5)
        running = running_outputs(work)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the session's group: Snakemake and its jobs
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # what a kill -9 leaves: the lock, and the outputs of the running job marked incomplete
    assert any((work / ".snakemake" / "locks").iterdir())
    assert str(MODEL / "normal.pt") in running, running

    # the README's recovery
    unlock = snakemake(work, "--unlock", *SMOKE_CONFIGS, env=env)
    assert unlock.returncode == 0, tail(unlock)
    resumed = snakemake(work, "--profile", str(DEFAULT_PROFILE), "--cores", str(SMOKE_CORES),
                        *SMOKE_CONFIGS, env=env)  # fmt: skip
    assert resumed.returncode == 0, tail(resumed)
    assert not list((work / ".snakemake" / "incomplete").glob("*")), "markers left after resume"
    # the killed training ran again (its marker said incomplete); the figures were all deleted,
    # so each one compared below was redrawn by the killed or the resumed run
    assert job_stats(resumed.stdout).get("train") == 1, tail(resumed)

    got, want = tree(work / FIGURES), tree(local_smoke_run / FIGURES)
    assert sorted(got) == sorted(want)
    assert "claims.csv" in want and "README.md" in want
    differ = [name for name in want if got[name] != want[name]]
    assert not differ, f"{len(differ)} committed outputs differ after kill + resume: {differ}"
