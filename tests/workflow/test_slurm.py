"""The smoke DAG on a real SLURM, through ``--profile workflow/profiles/slurm`` (issue 13, item 8).

CI starts a single-node SLURM first (``.ci/start-slurm.sh``: munged, slurmctld, slurmd on
loopback, one fake GPU GRES) and sets ``SALIENCY_SANITY_REQUIRE_SLURM=1``, so there the test must
run. Elsewhere, without a SLURM that answers, it is skipped with the reason in the summary.

Checked: every job of the DAG but the local ``all`` was submitted with ``sbatch`` and completed
as a SLURM job (``scontrol show job``); exactly the rules that declare ``gpu=1`` (``train`` and the
catalogue's experiments with ``Resources(gpu=1)``) asked SLURM for the GPU GRES; ``claims.csv`` is
the same as the local run's, byte for byte, with the local run's threads per job
(``--set-threads``: results depend on them at float rounding).

The smoke jobs need a few hundred MB, but the catalogue asks up to 6000 MB (the full run's
sizes): every rule's ``mem_mb`` is lowered to what the node has (``--set-resources``), so a
small runner's node does not reject the jobs. Finished jobs are read from the controller, which
keeps them for ``MinJobAge`` seconds: the test needs that to outlast its timeout.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import time

import pytest
from _smk import (
    ROOT,
    SMOKE_CONFIGS,
    local_threads,
    prepare_smoke,
    recorded_threads,
    smoke_catalogue,
    snakemake,
    tail,
)

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

SLURM_PROFILE = ROOT / "workflow" / "profiles" / "slurm"
REQUIRED = os.environ.get("SALIENCY_SANITY_REQUIRE_SLURM") == "1"
#: Snakemake's SLURM executor, one line per submitted job
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.")
#: the DAG is ~80 jobs, one after the other on a two-core node with one GPU
TIMEOUT_S = 90 * 60
#: the executor's job comment, "rule_<rule>" or "rule_<rule>_wildcards_<values>" (plugin 2.x;
#: pyproject's [cluster] extra pins the major version this was tested with)
COMMENT = re.compile(r"rule_(?P<rule>\w+?)(?:_wildcards_(?P<wildcards>.+))?")
#: memory each smoke job asks for at most (MB): ample for the smoke sizes, and never more than
#: the node has; SLURM only places by it (.ci/start-slurm.sh does not enforce memory)
SMOKE_MEM_MB = 2000


def _plugin() -> str:
    try:
        return "snakemake-executor-plugin-slurm " + importlib.metadata.version(
            "snakemake-executor-plugin-slurm"
        )
    except importlib.metadata.PackageNotFoundError:
        return "snakemake-executor-plugin-slurm (not installed)"


def _slurm_value(cmd: list[str], pattern: str) -> int | None:
    """The first integer that ``pattern`` captures in ``cmd``'s output, or None."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(pattern, out, flags=re.M)
    return int(m[1]) if m else None


def min_job_age() -> int | None:
    """Seconds the controller keeps a finished job's record (0: forever)."""
    return _slurm_value(["scontrol", "show", "config"], r"^MinJobAge\s*=\s*(\d+)")


def node_memory_mb() -> int | None:
    """RealMemory of the partition's node (MB)."""
    return _slurm_value(["sinfo", "-h", "-p", "debug", "-o", "%m"], r"^(\d+)")


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
    age = min_job_age()
    if age is None or 0 < age <= TIMEOUT_S:
        return (f"the controller keeps finished jobs for MinJobAge={age} s, not longer than the "
                f"test's {TIMEOUT_S} s: their records could be gone before they are read; "
                ".ci/start-slurm.sh sets it longer")  # fmt: skip
    return None


def job_record(jobid: str) -> dict[str, str]:
    """``scontrol show job -o <id>`` as a mapping (finished jobs stay for MinJobAge)."""
    out = subprocess.run(["scontrol", "show", "job", "-o", jobid], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    return dict(field.split("=", 1) for field in out.split() if "=" in field)


def rule_of(comment: str) -> tuple[str, str]:
    """(rule, wildcards) of a job from the comment the executor gives it; a comment of another
    form fails the test, naming the plugin version (the format is the plugin's, not ours)."""
    m = COMMENT.fullmatch(comment or "")
    if m is None:
        pytest.fail(f"SLURM job comment {comment!r} is not 'rule_<rule>[_wildcards_<values>]' "
                    f"({_plugin()}): update COMMENT in {__file__}")  # fmt: skip
    return m["rule"], m["wildcards"] or ""


def _words(text: str) -> str:
    """Wildcard values with any separator (the plugin joins them with "_") as one string."""
    return "_".join(re.findall(r"[A-Za-z0-9]+", text))


def test_smoke_dag_runs_as_slurm_jobs(tmp_path, request):
    reason = slurm_unavailable()
    if reason is not None:
        if REQUIRED:
            pytest.fail(f"SALIENCY_SANITY_REQUIRE_SLURM=1 but SLURM is unusable: {reason}")
        pytest.skip(f"SLURM TEST NOT RUN: {reason}")
    local = request.getfixturevalue("local_smoke_run")

    work, env = prepare_smoke(tmp_path)
    # the DAG's rules: every job but `all` (no output, run by Snakemake itself) goes to sbatch
    dry = snakemake(work, "--forceall", "-n", "--quiet", "rules", *SMOKE_CONFIGS, env=env)
    assert dry.returncode == 0, tail(dry)
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", dry.stdout + dry.stderr, flags=re.M))
    expected_jobs = int(stats.pop("total")) - int(stats.pop("all", 0))
    memory = min(SMOKE_MEM_MB, node_memory_mb() or SMOKE_MEM_MB)
    fit = [f"{rule}:mem_mb={memory}" for rule in stats]

    # a cluster job keeps the threads it declares, a local one may get fewer (one on a 2-core
    # machine); maps and weights depend on the thread count at float rounding, so the SLURM
    # jobs get the local run's, for a byte-for-byte comparison of the two runs
    threads = local_threads(2)
    same = [f"{rule}={threads}" for rule in ("train", "experiment")]

    started = time.monotonic()
    result = snakemake(work, "--profile", str(SLURM_PROFILE), "--slurm-keep-successful-logs",
                       "--set-resources", *fit, "--set-threads", *same, *SMOKE_CONFIGS, env=env,
                       timeout=TIMEOUT_S)  # fmt: skip
    elapsed = time.monotonic() - started
    console = result.stdout + result.stderr
    assert result.returncode == 0, tail(result)

    submitted = SUBMITTED.findall(console)
    assert len({jobid for _, jobid, _ in submitted}) == len(submitted) == expected_jobs, (
        f"{len(submitted)} SLURM submissions for {expected_jobs} jobs ({_plugin()})\n"
        + tail(result)
    )

    gpu_experiments = {_words(key) for key, row in smoke_catalogue().experiments.items()
                       if row.resources.gpu}  # fmt: skip
    asked_gpu, no_gpu = [], []
    for _, jobid, log in submitted:
        rec = job_record(jobid)
        assert rec["JobState"] == "COMPLETED", (jobid, rec)
        assert rec["Partition"] == "debug" and rec["NodeList"] == "localhost", (jobid, rec)
        rule, wildcards = rule_of(rec.get("Comment", ""))
        declares_gpu = rule == "train" or (
            rule == "experiment" and _words(wildcards) in gpu_experiments
        )
        requests_gpu = "gpu" in rec.get("TresPerJob", "") + rec.get("TresPerNode", "")
        assert requests_gpu == declares_gpu, (rec["Comment"], rec.get("TresPerJob"))
        (asked_gpu if requests_gpu else no_gpu).append((jobid, rec["Comment"]))
        assert os.path.exists(log), log  # the SLURM log of the job (kept for this test)
    assert any(rule_of(c)[0] == "train" for _, c in asked_gpu) and no_gpu

    logs = work / "results" / "smoke" / "logs"
    assert recorded_threads(logs / "train" / "cnn" / "normal.log") == threads
    claims = "results/smoke/figures/claims.csv"
    assert (work / claims).read_bytes() == (local / claims).read_bytes()
    print(f"\nSLURM smoke run: {len(submitted)} jobs in {elapsed:.0f} s; "
          f"jobids {submitted[0][1]}..{submitted[-1][1]}; {len(asked_gpu)} asked for the GPU GRES "
          f"(e.g. job {asked_gpu[0][0]} {asked_gpu[0][1]}: "
          f"TresPerJob={job_record(asked_gpu[0][0]).get('TresPerJob')}), "
          f"{len(no_gpu)} did not")  # fmt: skip
