"""Flat records: any result's JSON form (``to_dict``) as rows of scalars, ready for ``pandas.DataFrame``.

Nested dicts become dotted keys (``breakdown_pj.DRAM/W/read``); a mapping's level list becomes one line
(``DRAM: K2 T4 | GLB: C8, spatial K4x P4y, bypass U | RF: R3 S3``); other lists become compact JSON text.
``Cost``, ``NetworkResult`` and ``SearchResult`` expose it as ``to_records()``; ``spikeloop.records`` for any
result of the Python API.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def mapping_text(levels: Any) -> str:
    """A mapping's level list (``mapping_to_dict``'s ``mapping``) as one line."""
    parts = []
    for lv in levels or []:
        bits = [" ".join(f"{d}{b}" for d, b in lv.get("temporal", []))]
        if lv.get("spatial"):
            bits.append("spatial " + " ".join(f"{d}{b}{ax}" for d, b, ax in lv["spatial"]))
        if lv.get("bypass"):
            bits.append("bypass " + "".join(lv["bypass"]))
        parts.append(f"{lv['level']}: " + ", ".join(b for b in bits if b))
    return " | ".join(parts)


def flat(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys; a ``mapping`` level list as one line; other lists as JSON text."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flat(v, key + "."))
        elif k == "mapping" and isinstance(v, list):
            out[key] = mapping_text(v)
        elif isinstance(v, list | tuple):
            out[key] = json.dumps(v, separators=(",", ":"))
        else:
            out[key] = v
    return out


def network_records(d: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per layer of a network result's JSON (``NetworkResult.to_dict``), headed by arch, network, T,
    method and profile."""
    head = {k: d[k] for k in ("arch", "network", "T", "method", "profile") if k in d}
    rows = []
    for lr in d["layers"]:
        lr = dict(lr)
        rows.append({**head, "layer": lr.pop("name"), **flat(lr)})
    return rows


__all__ = ["flat", "mapping_text", "network_records"]
