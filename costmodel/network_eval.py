"""Whole-network evaluation: every layer through ``evaluate`` with a mapping chosen per layer.

The mapping source is a plain callable (``Layer -> Mapping | Invalid``), so this module knows
nothing of mappers: the CLI passes the dataflow heuristic, a mapping file or a mapper.
Layers without weights (pool, add) have no loop nest worth mapping: they read their input
spikes from and write their output spikes to the outermost level, and pay one accumulate per
window element and input spike (see :func:`weightless_cost`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from costmodel.arch import Arch
from costmodel.cost import Cost, Key
from costmodel.evaluate import evaluate
from costmodel.mapping import Invalid, Mapping, mapping_to_dict
from costmodel.pricing import actions_per_element, arch_area_um2
from costmodel.types import Action, Dim, LayerKind, Tensor
from costmodel.workload import Layer, Network

MapperFn = Callable[[Layer], "Mapping | Invalid"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerResult:
    name: str
    kind: LayerKind
    cost: Cost
    mapping: Mapping | None


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkResult:
    arch: Arch
    network: Network
    layers: tuple[LayerResult, ...]
    method: str

    @property
    def total(self) -> Cost:
        total = self.layers[0].cost
        for lr in self.layers[1:]:
            total = total + lr.cost
        return total

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``spikeloop evaluate`` (stable keys)."""
        names = [lv.name for lv in self.arch.levels]
        tot = self.total
        out: dict[str, Any] = {
            "arch": self.arch.name,
            "network": self.network.name,
            "T": self.network.timesteps,
            "method": self.method,
        }
        out.update(_cost_keys(tot))
        out["layers"] = [
            {
                "name": lr.name,
                "kind": lr.kind.value,
                **_cost_keys(lr.cost),
                "mapping": mapping_to_dict(lr.mapping, names)["mapping"] if lr.mapping else None,
                "t_position": lr.mapping.t_position() if lr.mapping else None,
            }
            for lr in self.layers
        ]
        return out


def _cost_keys(c: Cost) -> dict[str, Any]:
    d = c.to_dict()
    return {k: d[k] for k in ("total_energy_pj", "cycles", "latency_s", "area_mm2", "edp_pj_s", "macs",
                              "accumulations", "lif_ops", "utilization", "breakdown_pj")}


def weightless_cost(arch: Arch, layer: Layer) -> Cost:
    """Pool / add layer: input spikes read and output spikes written at the outermost level.

    Reads = T*N*C*H*W (each input spike once; add layers read both operands: x2), writes =
    T*N*K*P*Q spikes, accumulations = T*N*K*P*Q*R*S x spike density (x2 operands for add),
    LIF updates = T*N*K*P*Q (spiking pool/add output). Cycles = accumulations spread over the
    PEs, at least the outermost level's bandwidth time.
    """
    top = arch.levels[0]
    t, n = layer.bound(Dim.T), layer.bound(Dim.N)
    operands = 2 if layer.kind is LayerKind.ADD else 1
    in_elems = float(t * n * layer.bound(Dim.C) * layer.in_h * layer.in_w * operands)
    out_elems = float(layer.neurons * t)
    per_spike = float(actions_per_element(1, top.word_bits, top.access_granularity))
    r_words = in_elems * per_spike
    w_words = out_elems * per_spike
    accs = float(layer.macs) * layer.mean_spike_density * operands
    energy = {
        Key(top.name, Tensor.I, Action.READ): r_words * top.energy(Action.READ),
        Key(top.name, Tensor.S, Action.WRITE): w_words * top.energy(Action.WRITE),
        Key("compute", None, Action.AC): accs * arch.compute.ac_pj,
        Key("compute", None, Action.LIF): out_elems * arch.compute.lif_pj,
    }
    cycles = max(float(layer.macs) * operands / arch.pes, 1.0)
    if top.read_bandwidth_bits_per_cycle:
        cycles = max(cycles, r_words * top.word_bits / top.read_bandwidth_bits_per_cycle)
    return Cost(
        energy_pj=energy,
        counts={
            Key(top.name, Tensor.I, Action.READ): r_words,
            Key(top.name, Tensor.S, Action.WRITE): w_words,
            Key("compute", None, Action.AC): accs,
            Key("compute", None, Action.LIF): out_elems,
        },
        macs=float(layer.macs) * operands,
        accumulations=accs,
        lif_ops=out_elems,
        cycles=cycles,
        clock_hz=arch.clock_hz,
        area_um2=arch_area_um2(arch),
        pes=arch.pes,
        notes=("pool/add layers: outermost-level traffic and accumulations only",),
    )


class MappingFailed(ValueError):
    """No legal mapping for a layer: carries the Invalid value."""


def evaluate_network(arch: Arch, network: Network, mapper: MapperFn, *, method: str = "") -> NetworkResult:
    """Evaluate every layer; a layer the mapper cannot map raises :class:`MappingFailed` naming it."""
    results = []
    for layer in network.layers:
        if not layer.has_weights:
            results.append(LayerResult(name=layer.name, kind=layer.kind, cost=weightless_cost(arch, layer),
                                       mapping=None))
            continue
        m = mapper(layer)
        if isinstance(m, Invalid):
            raise MappingFailed(f"layer {layer.name}: no legal mapping: {m}")
        c = evaluate(arch, layer, m)
        if isinstance(c, Invalid):
            raise MappingFailed(f"layer {layer.name}: {c}")
        results.append(LayerResult(name=layer.name, kind=layer.kind, cost=c, mapping=m))
    return NetworkResult(arch=arch, network=network, layers=tuple(results), method=method)
