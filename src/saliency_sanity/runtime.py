"""Run-time choices: the device (CUDA when present), seeding and threads.

torch is imported inside the functions that need it: the workflow's adapter calls
:func:`set_threads` in every job, and a figure job (which only reads saved results and draws)
then never loads torch, ~1.7 s of its ~3.5 s on a 2-core CPU (issue 12).
"""

from __future__ import annotations

import os
import random
import sys
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else the CPU; ``cpu`` / ``cuda`` force one."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("config device is 'cuda' but no CUDA device is available")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {name!r}")
    return torch.device(name)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator seeded the same way."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (third-party code may use the global RNG)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def machine_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def job_threads(declared: int, cpus: int) -> int:
    """Threads for a job that declares ``declared`` on a machine with ``cpus`` CPUs.

    Where ``cpus >= 2 * declared`` the job keeps what it declares. On a smaller machine (a
    2-core laptop or CI runner) every job gets ``cpus // 2`` threads (at least one), so that
    the scheduler runs two at once: measured on 2 cores, two jobs side by side with one thread
    each finish sooner than the same two one after the other with two threads: the whole MNIST
    tier in 0.85x the time (26 min 42 s against 31 min 21 s; benchmarks/README.md). Torch's
    kernels do not keep a second thread busy on these small models; a second process does.
    """
    declared, cpus = int(declared), int(cpus)
    if declared < 1 or cpus < 1:
        raise ValueError(f"threads and CPUs must be >= 1, got {declared} and {cpus}")
    return declared if cpus >= 2 * declared else max(1, cpus // 2)


def set_threads(threads: int) -> None:
    """Use the rule's thread count for torch's intra-op parallelism (no oversubscription).

    Sets ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` for a torch imported later (read when torch
    initialises) and ``torch.set_num_threads`` if torch is already loaded; does not import it.
    """
    n = max(1, int(threads))
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
