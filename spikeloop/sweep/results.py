"""The results file: one JSON object per line, appended as points finish; read, repaired and locked here.

A truncated last line (a sweep killed mid-write), a corrupt line or a second record of the same point
is dropped by :func:`repair` before a sweep resumes, so every point ends up in the file exactly once.
One sweep at a time writes a file (an exclusive ``flock``).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

Record = dict[str, Any]


def read_numbered_records(path: str | Path) -> tuple[list[tuple[int, Record]], int]:
    """``(line number, record)`` of every complete, parseable record, and the number of bad lines."""
    p = Path(path)
    if not p.exists():
        return [], 0
    records: list[tuple[int, Record]] = []
    bad = 0
    with p.open("rb") as fh:
        for n, raw in enumerate(fh, start=1):
            if not raw.endswith(b"\n"):
                bad += 1  # a truncated last line
                continue
            try:
                rec = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
                bad += 1
                continue
            if isinstance(rec, dict) and isinstance(rec.get("point"), str):
                records.append((n, rec))
            else:
                bad += 1
    return records, bad


def read_records(path: str | Path) -> tuple[list[Record], int]:
    """Complete, parseable records of a results file and the number of bad lines (truncated, corrupt)."""
    numbered, bad = read_numbered_records(path)
    return [rec for _, rec in numbered], bad


def repair(path: Path, keep: Callable[[Record], bool]) -> tuple[dict[str, Record], int]:
    """Rewrite ``path`` (atomically) without bad lines, duplicates and records ``keep`` rejects.

    Returns the kept records by key and the number of lines removed. The file is only rewritten
    when something is removed.
    """
    records, bad = read_records(path)
    kept: dict[str, Record] = {}
    for rec in records:
        if rec["point"] not in kept and keep(rec):
            kept[rec["point"]] = rec
    removed = bad + len(records) - len(kept)
    if removed:
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w") as fh:
            for rec in kept.values():
                fh.write(json.dumps(rec) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    return kept, removed


def lock(fh: TextIO, path: Path) -> None:
    """Hold an exclusive lock on an open results file, or raise RuntimeError naming it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        return
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise RuntimeError(f"{path}: another sweep is writing to this file") from None


def non_finite(value: Any, where: str = "") -> str | None:
    """The path of the first NaN or infinite number inside ``value`` (dicts and lists), or None."""
    stack: list[tuple[str, Any]] = [(where, value)]
    while stack:
        at, v = stack.pop()
        if isinstance(v, float) and not math.isfinite(v):
            return f"{at or 'value'} = {v}"
        if isinstance(v, dict):
            stack.extend((f"{at}.{k}" if at else str(k), x) for k, x in reversed(list(v.items())))
        elif isinstance(v, list | tuple):
            stack.extend((f"{at}[{i}]", x) for i, x in reversed(list(enumerate(v))))
    return None
