"""Dotted-path overrides of arch YAML data: ``levels[GLB].fanout.x``, ``compute.lif_sharing``.

A path is a chain of mapping keys and list selectors; a selector names a list item by its ``name`` or by
its (possibly negative) index. :func:`resolve_override` checks a path against the arch data and
returns its canonical form (selectors by name where the item has one) and a setter.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[[^\[\]]+\])*)")
#: where the arch loader rejects unknown keys itself, so an override may add a new last key there
STRICT_SECTIONS = ("levels", "compute")

Step = str | int
Setter = Callable[[Any, Any], None]


def parse_path(path: str) -> list[str | tuple[str]]:
    """``levels[GLB].fanout.x`` -> ``['levels', ('GLB',), 'fanout', 'x']`` (tuples are selectors)."""
    out: list[str | tuple[str]] = []
    for part in path.split("."):
        m = _SEGMENT.fullmatch(part)
        if not m:
            raise ValueError(f"malformed path segment {part!r} (expected name, name[index] or name[level name])")
        out.append(m.group(1))
        out.extend((sel,) for sel in re.findall(r"\[([^\[\]]+)\]", m.group(2)))
    return out


def _select(items: list[Any], sel: str, where: str) -> tuple[int, str]:
    """Index of a list item by ``name`` or integer index; returns it and its canonical selector."""
    named = [i for i, it in enumerate(items) if isinstance(it, dict) and it.get("name") == sel]
    if named:
        return named[0], sel
    if re.fullmatch(r"-?\d+", sel):
        i = int(sel)
        if not -len(items) <= i < len(items):
            raise ValueError(f"{where}[{sel}]: index out of range (the list has {len(items)} items)")
        i %= len(items)
        name = items[i].get("name") if isinstance(items[i], dict) else None
        return i, name if isinstance(name, str) else str(i)
    names = [it["name"] for it in items if isinstance(it, dict) and isinstance(it.get("name"), str)]
    raise ValueError(f"{where}: no item named {sel!r}" + (f"; names: {', '.join(names)}" if names else ""))


def _key_step(cur: Any, seg: str, canon: str, steps: list[Step], last: bool) -> Any:
    """Follow mapping key ``seg``; a new key is allowed only as the last one, in a strict section."""
    where = canon or "the arch"
    if not isinstance(cur, dict):
        kind = "a list" if isinstance(cur, list) else "a value"
        raise ValueError(f"{where} is {kind}, not a mapping; .{seg} does not apply")
    if seg not in cur and not (last and (not steps or steps[0] in STRICT_SECTIONS)):
        keys = ", ".join(sorted(map(str, cur))) or "none"
        raise ValueError(f"{canon + '.' if canon else ''}{seg}: no such key in the arch (keys here: {keys})")
    return cur.get(seg)


def resolve_override(data: Any, path: str) -> tuple[str, Setter]:
    """Check ``path`` against arch ``data``; return its canonical form and a setter ``(data, value)``.

    Raises ValueError (no file or grid key: the caller adds them) for paths that do not exist.
    """
    segs = parse_path(path)
    cur = data
    canon = ""
    steps: list[Step] = []
    for n, seg in enumerate(segs):
        if isinstance(seg, tuple):
            if not isinstance(cur, list):
                raise ValueError(f"{canon or 'the arch'} is not a list; [{seg[0]}] does not apply")
            i, shown = _select(cur, seg[0], canon)
            steps.append(i)
            canon += f"[{shown}]"
            cur = cur[i]
            continue
        cur = _key_step(cur, seg, canon, steps, n == len(segs) - 1)
        steps.append(seg)
        canon += f".{seg}" if canon else seg

    def setter(target: Any, value: Any) -> None:
        node = target
        for s in steps[:-1]:
            node = node[s]
        node[steps[-1]] = copy.deepcopy(value)

    return canon, setter
