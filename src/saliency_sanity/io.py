"""Atomic writes (temp file in the same folder, then rename) and small readers/writers.

A killed rule therefore never leaves a half-written output that Snakemake would take as done.
Files are created with the user's umask (readable by a group on a shared filesystem, unlike
``tempfile.mkstemp``'s 0600), and a temp file left behind by a killed job is removed the next
time the same output is written. Tables (pandas DataFrames) can be stored inside ``.npz``
files next to arrays, so that every experiment writes exactly one file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

#: temp files are ``.<name>.<random>.tmp`` next to their target
_TMP_SUFFIX = ".tmp"
#: prefix of the npz keys that hold a table (see :func:`save_npz`)
TABLE_PREFIX = "table__"


def _stale_temps(path: Path) -> Iterator[Path]:
    yield from path.parent.glob(f".{path.name}.*{_TMP_SUFFIX}")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[str]:
    """Yield a temporary file name next to ``path``; rename it onto ``path`` on success.

    The temp file is created with mode 0666 minus the umask (as ``open`` would), and temp
    files of the same target left by a killed earlier attempt are deleted first: only one job
    ever writes a given output, so they cannot belong to a live writer.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in _stale_temps(path):
        stale.unlink(missing_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}{_TMP_SUFFIX}"
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield str(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_json(path: str | Path, obj: Any) -> None:
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        json.dump(obj, fh, indent=2, sort_keys=True, default=_to_builtin)
        fh.write("\n")


def load_json(path: str | Path) -> Any:
    with open(path) as fh:
        return json.load(fh)


def _table_to_arrays(name: str, frame) -> dict[str, np.ndarray]:
    """A DataFrame as one array per column (strings as fixed-width unicode, no pickles)."""
    out = {f"{TABLE_PREFIX}{name}": np.asarray(list(frame.columns), dtype=str)}
    for i, col in enumerate(frame.columns):
        values = frame[col].to_numpy()
        if values.dtype == object:
            values = values.astype(str)
        out[f"{TABLE_PREFIX}{name}__{i}"] = values
    return out


def save_npz(path: str | Path, **arrays: Any) -> None:
    """Save arrays (and pandas DataFrames, stored column by column) to one compressed ``.npz``.

    DataFrames come back from :func:`load_npz` as DataFrames, so an experiment's maps and its
    tables live in one file.
    """
    flat: dict[str, np.ndarray] = {}
    for key, value in arrays.items():
        if hasattr(value, "columns") and hasattr(value, "to_numpy"):
            flat.update(_table_to_arrays(key, value))
        else:
            flat[key] = np.asarray(value)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **flat)


def load_npz(path: str | Path) -> dict[str, Any]:
    """Arrays of a ``.npz`` written by :func:`save_npz`; its tables as pandas DataFrames."""
    with np.load(path, allow_pickle=False) as f:
        raw = {k: f[k] for k in f.files}
    out: dict[str, Any] = {}
    tables = [k for k in raw if k.startswith(TABLE_PREFIX) and "__" not in k[len(TABLE_PREFIX) :]]
    for key in tables:
        import pandas as pd

        name = key[len(TABLE_PREFIX) :]
        columns = [str(c) for c in raw.pop(key)]
        data = {c: raw.pop(f"{key}__{i}") for i, c in enumerate(columns)}
        out[name] = pd.DataFrame(data, columns=columns)
    out.update(raw)
    return out


def save_csv(path: str | Path, frame) -> None:
    """Write a pandas DataFrame with a fixed float format (stable diffs of committed CSVs)."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")


def save_figure(fig, path: str | Path) -> None:
    """Save a matplotlib figure to ``path`` atomically (format from the suffix).

    No creation date in PDFs and no software version in PNGs, so an unchanged figure gives an
    unchanged file (a rerun of the same config changes no committed byte).
    """
    path = Path(path)
    kind = path.suffix.lstrip(".")
    metadata = {"pdf": {"CreationDate": None, "Producer": None}, "png": {"Software": None}}
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=kind, bbox_inches="tight", dpi=150, metadata=metadata.get(kind))


def setup_logging(log_file: str | Path | None) -> None:
    """Send the library's logging, warnings and tqdm's progress (stderr) to a rule's log file.

    The original stderr stays reachable as ``sys.__stderr__`` (the console), where the
    workflow's adapter reports a failing job's error in one line.
    """
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
    logging.captureWarnings(True)


def _to_builtin(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")
