"""The smoke DAG on a real SLURM, through ``--profile workflow/profiles/slurm`` (issue 13, item 8).

CI starts a single-node SLURM first (``.ci/start-slurm.sh``: munged, slurmctld, slurmd on
loopback, one fake GPU GRES) and sets ``SALIENCY_SANITY_REQUIRE_SLURM=1``, so there the test must
run. Elsewhere, without a SLURM that answers, it is skipped with the reason in the summary.

Checked: every job of the DAG but the local ``all`` was submitted with ``sbatch`` and completed
as a SLURM job (``scontrol show job``); exactly the rules that declare ``gpu=1`` (``train`` and the
catalogue's experiments with ``Resources(gpu=1)``) asked SLURM for the GPU GRES; ``claims.csv`` is
the same as the local run's.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import time

import pytest
from _smk import ROOT, SMOKE_CONFIGS, prepare_smoke, smoke_catalogue, snakemake, tail

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

SLURM_PROFILE = ROOT / "workflow" / "profiles" / "slurm"
REQUIRED = os.environ.get("SALIENCY_SANITY_REQUIRE_SLURM") == "1"
#: Snakemake's SLURM executor, one line per submitted job
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.")
#: the DAG is ~80 jobs, one after the other on a two-core node with one GPU
TIMEOUT_S = 90 * 60


def slurm_unavailable() -> str | None:
    """Why the SLURM test cannot run here, or None."""
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return 'snakemake-executor-plugin-slurm is not installed (pip install -e ".[cluster]")'
    missing = [c for c in ("sbatch", "squeue", "scontrol", "sinfo") if shutil.which(c) is None]
    if missing:
        return f"no SLURM client commands ({', '.join(missing)}); CI runs .ci/start-slurm.sh"
    try:
        states = subprocess.run(["sinfo", "-h", "-p", "debug", "-o", "%t"], capture_output=True,
                                text=True, timeout=30)  # fmt: skip
    except subprocess.TimeoutExpired:
        return "sinfo timed out: slurmctld does not answer"
    usable = {"idle", "mix", "alloc", "comp"}
    if states.returncode != 0 or not usable & set(states.stdout.split()):
        return (f"no usable node in partition 'debug' (sinfo: {states.stdout.strip()} "
                f"{states.stderr.strip()}); as root run .ci/start-slurm.sh")  # fmt: skip
    return None


def job_record(jobid: str) -> dict[str, str]:
    """``scontrol show job -o <id>`` as a mapping (finished jobs stay for MinJobAge)."""
    out = subprocess.run(["scontrol", "show", "job", "-o", jobid], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    return dict(field.split("=", 1) for field in out.split() if "=" in field)


def test_smoke_dag_runs_as_slurm_jobs(tmp_path, request):
    reason = slurm_unavailable()
    if reason is not None:
        if REQUIRED:
            pytest.fail(f"SALIENCY_SANITY_REQUIRE_SLURM=1 but SLURM is unusable: {reason}")
        pytest.skip(f"SLURM TEST NOT RUN: {reason}")
    local = request.getfixturevalue("local_smoke_run")

    work, env = prepare_smoke(tmp_path)
    started = time.monotonic()
    result = snakemake(work, "--profile", str(SLURM_PROFILE), "--slurm-keep-successful-logs",
                       *SMOKE_CONFIGS, env=env, timeout=TIMEOUT_S)  # fmt: skip
    elapsed = time.monotonic() - started
    console = result.stdout + result.stderr
    assert result.returncode == 0, tail(result)

    # every job but `all` (no output, run by Snakemake itself) went through sbatch
    dry = snakemake(work, "--forceall", "-n", "--quiet", "rules", *SMOKE_CONFIGS, env=env)
    assert dry.returncode == 0, tail(dry)
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", dry.stdout + dry.stderr, flags=re.M))
    expected_jobs = int(stats.pop("total")) - int(stats.pop("all", 0))
    submitted = SUBMITTED.findall(console)
    assert len({jobid for _, jobid, _ in submitted}) == len(submitted) == expected_jobs, (
        f"{len(submitted)} SLURM submissions for {expected_jobs} jobs\n" + tail(result)
    )

    gpu_experiments = {key.replace("/", "_") for key, row in smoke_catalogue().experiments.items()
                       if row.resources.gpu}  # fmt: skip
    asked_gpu, no_gpu = [], []
    for _, jobid, log in submitted:
        rec = job_record(jobid)
        assert rec["JobState"] == "COMPLETED", (jobid, rec)
        assert rec["Partition"] == "debug" and rec["NodeList"] == "localhost", (jobid, rec)
        # the executor names the rule and its wildcards in the job's comment
        rule, _, wildcards = rec["Comment"].removeprefix("rule_").partition("_wildcards_")
        declares_gpu = rule == "train" or (rule == "experiment" and wildcards in gpu_experiments)
        requests_gpu = "gpu" in rec.get("TresPerJob", "") + rec.get("TresPerNode", "")
        assert requests_gpu == declares_gpu, (rec["Comment"], rec.get("TresPerJob"))
        (asked_gpu if requests_gpu else no_gpu).append((jobid, rec["Comment"]))
        assert os.path.exists(log), log  # the SLURM log of the job (kept for this test)
    assert any(c.startswith("rule_train_") for _, c in asked_gpu) and no_gpu

    claims = "results/smoke/figures/claims.csv"
    assert (work / claims).read_bytes() == (local / claims).read_bytes()
    print(f"\nSLURM smoke run: {len(submitted)} jobs in {elapsed:.0f} s; "
          f"jobids {submitted[0][1]}..{submitted[-1][1]}; {len(asked_gpu)} asked for the GPU GRES "
          f"(e.g. job {asked_gpu[0][0]} {asked_gpu[0][1]}: "
          f"TresPerJob={job_record(asked_gpu[0][0]).get('TresPerJob')}), "
          f"{len(no_gpu)} did not")  # fmt: skip
