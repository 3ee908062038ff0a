"""Atomic writes (temp file in the same folder, then rename) and small readers/writers.

A killed rule therefore never leaves a half-written output that Snakemake would take as done.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[str]:
    """Yield a temporary file name next to ``path``; rename it onto ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_json(path: str | Path, obj: Any) -> None:
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        json.dump(obj, fh, indent=2, sort_keys=True, default=_to_builtin)
        fh.write("\n")


def load_json(path: str | Path) -> Any:
    with open(path) as fh:
        return json.load(fh)


def save_npz(path: str | Path, **arrays: Any) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **{k: np.asarray(v) for k, v in arrays.items()})


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def save_csv(path: str | Path, frame) -> None:
    """Write a pandas DataFrame with a fixed float format (stable diffs of committed CSVs)."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")


def save_figure(fig, path: str | Path) -> None:
    """Save a matplotlib figure to ``path`` atomically (format from the suffix)."""
    path = Path(path)
    kind = path.suffix.lstrip(".")
    # no creation date in PDFs, so an unchanged figure gives an unchanged file
    metadata = {"CreationDate": None} if kind == "pdf" else None
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=kind, bbox_inches="tight", dpi=150, metadata=metadata)


def setup_logging(log_file: str | Path | None) -> None:
    """Send the library's logging, warnings and tqdm's progress (stderr) to a rule's log file."""
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        sys.stderr = open(log_file, "w", buffering=1)  # noqa: SIM115 (lives as long as the rule)
        handlers = [logging.StreamHandler(sys.stderr)]
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
        handlers=handlers,
        force=True,
    )


def _to_builtin(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")
