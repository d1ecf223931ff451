"""Stored CP-SAT mappings for the ``table2-sata-<WORK>-best`` rows.

A ``-best`` row prices every layer with the better of two mappings: the best of the ``os`` / ``ws`` /
``time-batched`` heuristics (computed every run) and the mapping the mapper's search finds
(:func:`mappers.search.search`, CP-SAT with the same random-search fallback as
:func:`mappers.search.best_mapping_fn`). The search takes seconds to minutes per layer, far more than a report
run may, so it runs once, offline, and its mappings are stored in ``sata_search.json`` beside this module with
the status CP-SAT reported (OPTIMAL, FEASIBLE, or nothing found in the limit), its bound and its wall time. A
report run re-prices every stored mapping with today's engine (a mapping the engine refuses is not used) and finds
it by the layer's exact shape, bits and densities (:func:`layer_key`). When the arch spec's values have changed
since the search (``arch_fingerprint``), the mappings stay legal candidates, but the statuses were proven for the
old values: the row's note says so, and the search should be run again.

Regenerate (a few minutes on 2 cores; by default CP-SAT's deterministic budget, so the file is reproducible;
``--time-limit`` adds a wall-clock limit per layer shape)::

    python -m spikeloop.experiments.sata_search [--time-limit S]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import archspecs
from costmodel.arch import Arch, load_arch
from costmodel.mapping import Mapping, mapping_from_dict, mapping_to_dict
from costmodel.network import load_network
from costmodel.specio import load_yaml
from costmodel.workload import Layer
from spikeloop.cliargs import positive_float, positive_int

STORE = Path(__file__).with_name("sata_search.json")
COMMAND = "python -m spikeloop.experiments.sata_search"


def arch_fingerprint(arch_name: str) -> str:
    """sha256 (16 hex digits) of the arch spec's values (comments and layout do not count)."""
    data = load_yaml(archspecs.arch_path(arch_name))
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def layer_key(layer: Layer) -> str:
    """Everything of a layer that the search sees, except its name: kind, dims, stride, padding, input size,
    bit widths and densities."""
    parts = (
        layer.kind.value,
        layer.bounds,
        layer.stride,
        layer.padding,
        layer.in_h,
        layer.in_w,
        layer.weight_bits,
        layer.psum_bits,
        layer.membrane_bits,
        layer.spike_density,
        layer.spike_density_per_t,
        layer.weight_density,
    )
    return repr(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class Stored:
    """One layer's stored search: its status and, if the search found one, the mapping."""

    status: str
    method: str
    mapping: Mapping | None
    wall_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Store:
    time_limit_s: float | None  # None: CP-SAT's deterministic budget
    fingerprint: str  # the arch spec values the search ran on
    entries: dict[str, Stored]
    stale: str = ""  # why the statuses may not hold for today's spec values ("" if they do)

    def lookup(self, layer: Layer) -> Stored | None:
        return self.entries.get(layer_key(layer))


def load_store(arch: Arch, path: Path = STORE) -> tuple[Store | None, str]:
    """The stored searches for ``arch`` (None, and why, when there are none: a missing file, another arch)."""
    if not path.exists():
        return None, f"no stored search ({path.name} missing; run {COMMAND})"
    data = json.loads(path.read_text())
    if data["arch"] != arch.name:
        return None, f"the stored search is for arch {data['arch']}, not {arch.name}"
    names = [lv.name for lv in arch.levels]
    entries = {}
    for e in data["layers"]:
        m = mapping_from_dict({"mapping": e["mapping"]}, names, path.name) if e["mapping"] else None
        entries[e["key"]] = Stored(status=e["status"], method=e["method"], mapping=m, wall_s=e["wall_s"])
    now = arch_fingerprint(arch.name)
    stale = (
        ""
        if now == data["arch_fingerprint"]
        else (
            f"searched on other {arch.name} spec values (fingerprint {data['arch_fingerprint']}, now {now}), so the "
            f"statuses are those of then; run {COMMAND}"
        )
    )
    return Store(
        time_limit_s=data["time_limit_s"], fingerprint=data["arch_fingerprint"], entries=entries, stale=stale
    ), ""


def table2_layers() -> list[tuple[str, Layer]]:
    """(network, layer) for every distinct weight layer of the Table II workloads, in report order."""
    from spikeloop.experiments.sata import NETWORK, WORKS

    seen: set[str] = set()
    out = []
    for w in WORKS:
        for layer in load_network(NETWORK[w]).layers:
            k = layer_key(layer)
            if layer.has_weights and k not in seen:
                seen.add(k)
                out.append((NETWORK[w], layer))
    return out


def search_layer(arch: Arch, layer: Layer, time_limit_s: float | None, workers: int) -> dict:
    """CP-SAT on one layer (then random search if CP-SAT finds nothing, as ``best_mapping_fn``), as stored."""
    from mappers.search import search

    start = time.perf_counter()
    res = search(arch, layer, method="cpsat", time_limit_s=time_limit_s, seed=0, workers=workers, quiet=True)
    method = "cpsat"
    if res.mapping is None:
        res = search(arch, layer, method="random", time_limit_s=time_limit_s, seed=0, quiet=True)
        method = "random"
    names = [lv.name for lv in arch.levels]
    return {
        "key": layer_key(layer),
        "layer": layer.name,
        "status": res.status.value,
        "method": method,
        "energy_pj": res.cost.total_energy_pj if res.cost is not None else None,
        "bound": res.bound,
        "reproducible": res.reproducible,
        "wall_s": round(time.perf_counter() - start, 2),
        "mapping": mapping_to_dict(res.mapping, names)["mapping"] if res.mapping is not None else None,
    }


def write_store(arch_name: str, time_limit_s: float | None, workers: int, path: Path = STORE) -> None:
    arch = load_arch(arch_name)
    layers = table2_layers()
    out: dict[str, Any] = {
        "about": (
            "CP-SAT mappings (random search where CP-SAT found none) of the Table II workloads' layers, for "
            f"the table2-sata-<WORK>-best rows; written by {COMMAND}. spikeloop reproduce re-prices every "
            "mapping with the engine on each run."
        ),
        "arch": arch_name,
        "arch_fingerprint": arch_fingerprint(arch_name),
        "objective": "energy",
        "time_limit_s": time_limit_s,
        "seed": 0,
        "workers": workers,
        "layers": [],
    }
    entries: list[dict] = []
    out["layers"] = entries
    for i, (network, layer) in enumerate(layers, 1):
        entry = {"network": network, **search_layer(arch, layer, time_limit_s, workers)}
        entries.append(entry)
        print(
            f"[{i}/{len(layers)}] {network} {layer.name}: {entry['status']} ({entry['method']}) "
            f"{entry['energy_pj']} pJ in {entry['wall_s']} s",
            file=sys.stderr,
            flush=True,
        )
        path.write_text(json.dumps(out, indent=1) + "\n")  # after every layer: an interrupted run keeps its work


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--time-limit",
        type=positive_float,
        default=None,
        help="wall-clock seconds per layer shape (default: CP-SAT's deterministic budget, reproducible)",
    )
    p.add_argument("--workers", type=positive_int, default=2, help="CP-SAT workers")
    p.add_argument("--out", type=Path, default=STORE, help=f"store file (default {STORE.name} beside this module)")
    args = p.parse_args(argv)
    write_store("sata", args.time_limit, args.workers, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["Store", "Stored", "arch_fingerprint", "layer_key", "load_store", "search_layer", "table2_layers"]
