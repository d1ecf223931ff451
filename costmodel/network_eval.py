"""Whole-network evaluation: every layer through ``evaluate`` with a mapping chosen per layer, then the network's
latency and area composed by the arch's rules (``latency``: docs/formats.md, Arch YAML; ``area``: docs/spikeflow.md).

The mapping source is a plain callable (``Layer -> Mapping | Invalid``), so this module knows nothing of mappers:
the CLI passes a dataflow heuristic, a mapper or the mappings of a file. Layers without weights (pool, add) have
no loop nest worth mapping: they read their input spikes from and write their output spikes to the outermost
level, and pay one accumulate per window element and input spike (:func:`weightless_cost`).

Composition (pure functions, one per rule):

* the accounting profile's workload view of each layer (:func:`accounting_layers`: a post-pool output map, the
  weight precision a tool assumes);
* latency: layer cycles one after another, pipelined over layers and timesteps, or the public SpikeSim
  script's per-output-neuron formula (:func:`latency_shares`);
* area: one chip every layer reuses (``sizing: fixed``), or every layer's weights resident at once
  (``sizing: resident``: the tiles each layer's mapping uses, packed per layer or contiguously, plus the
  input and membrane SRAMs sized to the network, :func:`resident_area`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from costmodel import imc
from costmodel.accounting import Accounting
from costmodel.arch import Arch
from costmodel.components import level_estimates
from costmodel.cost import Cost, Key
from costmodel.evaluate import evaluate
from costmodel.mapping import Invalid, Mapping, mapping_to_dict
from costmodel.pricing import actions_per_element, arch_area_um2
from costmodel.scalesim import scalesim_shape
from costmodel.types import Action, Dim, Latency, LayerKind, OutputSize, Sizing, Tensor
from costmodel.workload import Layer, Network

MapperFn = Callable[[Layer], "Mapping | Invalid"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerResult:
    """One layer's cost (its cycles are its share of the network latency) and mapping; ``pes``/``tiles``: the
    crossbar PEs and tiles its mapping uses on a resident arch; ``area_um2``: its share of the chip area."""

    name: str
    kind: LayerKind
    cost: Cost
    mapping: Mapping | None
    pes: int = 0
    tiles: int = 0
    area_um2: float = 0.0
    busy_cycles: float = 0.0  # the layer's own cycles (its latency share may be smaller when layers pipeline)
    utilization: float = 0.0  # MACs / (busy cycles x the compute slots the layer occupies); 0 for pool/add
    search_status: str | None = None  # a searched mapping's status (OPTIMAL, FEASIBLE, ...); None: not searched
    gap: float | None = None  # its proven optimality gap (value - bound) / value, where the search gives one


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkResult:
    arch: Arch
    network: Network
    layers: tuple[LayerResult, ...]
    method: str
    accounting: Accounting = field(default_factory=Accounting)
    area_breakdown_um2: tuple[tuple[str, float], ...] = ()
    latency: Latency = Latency.SEQUENTIAL

    @property
    def total(self) -> Cost:
        total = self.layers[0].cost
        for lr in self.layers[1:]:
            total = total + lr.cost
        return total

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``spikeloop evaluate`` (stable keys)."""
        names = [lv.name for lv in self.arch.levels]
        out: dict[str, Any] = {
            "arch": self.arch.name,
            "network": self.network.name,
            "T": self.network.timesteps,
            "method": self.method,
            "profile": self.accounting.name,
            "latency_rule": self.latency.value,
            "sizing": self.arch.sizing.value,
        }
        out.update(_cost_keys(self.total))
        out["area_breakdown_um2"] = dict(self.area_breakdown_um2)
        out["estimates"] = level_estimates(self.arch)  # the numbers of estimate: levels, so a run is reproducible
        out["layers"] = [
            {
                "name": lr.name,
                "kind": lr.kind.value,
                **_cost_keys(lr.cost),
                "utilization": lr.utilization,
                "busy_cycles": lr.busy_cycles,
                "layer_area_mm2": lr.area_um2 * 1e-6,
                "pes": lr.pes,
                "tiles": lr.tiles,
                "mapping": mapping_to_dict(lr.mapping, names)["mapping"] if lr.mapping else None,
                "t_position": lr.mapping.t_position() if lr.mapping else None,
                "search_status": lr.search_status,
                "gap": lr.gap,
            }
            for lr in self.layers
        ]
        return out


def _cost_keys(c: Cost) -> dict[str, Any]:
    d = c.to_dict()
    return {
        k: d[k]
        for k in (
            "total_energy_pj",
            "cycles",
            "latency_s",
            "area_mm2",
            "edp_pj_s",
            "macs",
            "accumulations",
            "lif_ops",
            "utilization",
            "breakdown_pj",
        )
    }


# ------------------------------------------------------------------------------ the workload a profile sees
def charged_pixels(layers: Sequence[Layer], index: int, acc: Accounting) -> tuple[int, int]:
    """Output rows and columns a layer is charged for: its own (``conv``); under ``post-pool`` (the public
    SpikeSim script's layer lists) the pooled map when the next layer is a pool layer; ``unpadded`` (the public
    SATA tool's scale-sim shapes) ceil((H - R + s) / s) without padding."""
    layer = layers[index]
    nxt = layers[index + 1] if index + 1 < len(layers) else None
    if acc.output_size is OutputSize.POST_POOL and nxt is not None and nxt.kind is LayerKind.POOL:
        return nxt.bound(Dim.P), nxt.bound(Dim.Q)
    if acc.unpadded and layer.kind is LayerKind.CONV:
        sh = scalesim_shape(layer)
        return sh.out_h, sh.out_w
    return layer.bound(Dim.P), layer.bound(Dim.Q)


def accounting_layers(network: Network, acc: Accounting) -> tuple[Layer, ...]:
    """Each layer as the profile counts it: the output map of :func:`charged_pixels` and the profile's weight
    precision, for weight layers; other layers unchanged."""
    out = []
    for i, layer in enumerate(network.layers):
        if not layer.has_weights:
            out.append(layer)
            continue
        p, q = charged_pixels(network.layers, i, acc)
        b = layer.bounds_dict()
        b[Dim.P], b[Dim.Q] = p, q
        changed = replace(layer, bounds=tuple(b.values()))
        if acc.weight_bits is not None:
            changed = replace(changed, weight_bits=acc.weight_bits)
        out.append(changed)
    return tuple(out)


# ------------------------------------------------------------------------------ layers without weights
def weightless_cost(arch: Arch, layer: Layer, acc: Accounting | None = None) -> Cost:
    """Pool / add layer: input spikes read and output spikes written at the outermost level.

    Reads = T*N*C*H*W (each input spike once; add layers read both operands: x2), writes = T*N*K*P*Q spikes,
    accumulations = T*N*K*P*Q*R*S x spike density (x2 operands for add), LIF updates = T*N*K*P*Q (spiking
    pool/add output). Cycles = accumulations spread over the PEs, at least the outermost level's bandwidth time.
    A non-spiking pool/add layer (an ANN's) moves its ``input_bits`` / ``output_bits`` wide elements, has no LIF
    updates and pays one ``activation_pj`` per output instead (its window operations stay accumulates: adds or
    compares of finished activations).
    Under a profile with ``price_weightless_layers: false`` (the public SpikeSim and SATA tools price weight
    layers only) they cost nothing.
    """
    top = arch.levels[0]
    t, n = layer.bound(Dim.T), layer.bound(Dim.N)
    operands = 2 if layer.kind is LayerKind.ADD else 1
    in_elems = float(t * n * layer.bound(Dim.C) * layer.in_h * layer.in_w * operands)
    out_elems = float(layer.neurons * t)
    free = acc is not None and not acc.price_weightless_layers
    gran = (acc.access_granularity if acc is not None else None) or top.access_granularity
    per_in = (
        0.0 if free else float(actions_per_element(top.stored_bits(Tensor.I, layer.input_bits), top.word_bits, gran))
    )
    per_out = (
        0.0 if free else float(actions_per_element(top.stored_bits(Tensor.S, layer.output_bits), top.word_bits, gran))
    )
    r_words, w_words = in_elems * per_in, out_elems * per_out
    accs = 0.0 if free else float(layer.macs) * layer.mean_spike_density * operands
    lif = 0.0 if free else out_elems
    neuron_op = Key("compute", None, Action.LIF if layer.spiking else Action.ACTIVATION)
    neuron_ops = lif if layer.spiking or arch.compute.activation_pj else 0.0  # as _compute: no free activations
    counts = {
        Key(top.name, Tensor.I, Action.READ): r_words,
        Key(top.name, Tensor.S, Action.WRITE): w_words,
        Key("compute", None, Action.AC): accs,
        neuron_op: neuron_ops,
    }
    prices = {
        Key(top.name, Tensor.I, Action.READ): top.energy(Action.READ),
        Key(top.name, Tensor.S, Action.WRITE): top.energy(Action.WRITE),
        Key("compute", None, Action.AC): arch.compute.ac_pj,
        neuron_op: arch.compute.lif_pj if layer.spiking else arch.compute.activation_pj,
    }
    cycles = 0.0 if free else max(float(layer.macs) * operands / arch.pes, 1.0)
    if top.read_bandwidth_bits_per_cycle and not free:
        cycles = max(cycles, r_words * top.word_bits / top.read_bandwidth_bits_per_cycle)
    return Cost(
        energy_pj={k: v * prices[k] for k, v in counts.items() if v},
        counts={k: v for k, v in counts.items() if v},
        macs=float(layer.macs) * operands,
        accumulations=accs,
        lif_ops=lif,
        cycles=cycles,
        clock_hz=arch.clock_hz,
        area_um2=arch_area_um2(arch),
        pes=arch.pes,
        notes=("pool/add layers: outermost-level traffic and accumulations only",),
    )


# ------------------------------------------------------------------------------ latency
def latency_shares(
    rule: Latency, layers: Sequence[Layer], cycles: Sequence[float], *, overlap: float = 1.0, cycles_per_step: int = 1
) -> list[float]:
    """Each layer's share of the network latency (cycles).

    sequential: its own cycles. pipelined: s_l = cycles_l / (T*N) per timestep of every weight layer,
    D = sum s_l + (T*N - 1) max s_l (:func:`costmodel.imc.pipelined_latency`; pool and add layers stream with
    their producer). per-output-neuron: the public SpikeSim script's D = T*N (sum_{l<L} floor(overlap K_l P_l Q_l)
    + K_L P_L Q_L) steps of ``cycles_per_step`` (:func:`costmodel.imc.sequential_latency_pe_cycles`), which
    ignores the crossbars' column parallelism: it is not the loop nest's cycle count, hence a named rule.
    """
    if rule is Latency.SEQUENTIAL:
        return list(cycles)
    weight = [i for i, layer in enumerate(layers) if layer.has_weights]
    out = [0.0] * len(layers)
    if not weight:
        return out
    t = layers[weight[0]].bound(Dim.T) * layers[weight[0]].bound(Dim.N)
    if rule is Latency.PIPELINED:
        shares = imc.pipelined_latency(t, [cycles[i] / t for i in weight])
    else:
        neurons = [layers[i].bound(Dim.K) * layers[i].bound(Dim.P) * layers[i].bound(Dim.Q) for i in weight]
        shares = [s * cycles_per_step for s in imc.sequential_latency_pe_cycles(t, neurons, overlap)]
    for i, s in zip(weight, shares, strict=True):
        out[i] = s
    return out


# ------------------------------------------------------------------------------ area
def used_instances(mapping: Mapping, level: int) -> int:
    """Instances of ``level`` a mapping occupies: the product of the spatial loop bounds above it."""
    return math.prod(lp.bound for lm in mapping.levels[:level] for lp in lm.spatial)


def subtree_area_um2(arch: Arch, level: int) -> float:
    """Area of one instance of ``level`` with everything below it (um^2)."""
    area, copies = 0.0, 1
    for lv in arch.levels[level:]:
        area += copies * lv.area_um2
        copies *= lv.fanout.size
    return area


@dataclass(frozen=True, slots=True)
class ResidentArea:
    """The chip area of a network whose weights are all resident: breakdown (um^2) and per-layer shares."""

    breakdown: dict[str, float]
    per_layer: list[float]
    pes: list[int]
    tiles_per_layer: list[int]


def _membrane_layers(layers: Sequence[Layer], acc: Accounting) -> set[int]:
    """Layers whose membranes the LIF module stores: every firing layer (conv, linear, add), or only the first
    ``lif_area_layers`` weight layers (the public SpikeSim script counts five); a non-spiking layer has none."""
    if acc.lif_area_layers is None:
        return {
            i for i, layer in enumerate(layers) if layer.spiking and (layer.has_weights or layer.kind is LayerKind.ADD)
        }
    return {
        i
        for i in [i for i, layer in enumerate(layers) if layer.has_weights][: acc.lif_area_layers]
        if layers[i].spiking
    }


def resident_area(
    arch: Arch, layers: Sequence[Layer], mappings: Sequence[Mapping | None], acc: Accounting
) -> ResidentArea:
    """Tiles (:func:`costmodel.imc.tiles_needed` over the PEs each mapping uses) x the tile's area, the input
    SRAM (the profile's activation bits, or the layer's input bits when wider, x C*H*W of every weight layer),
    the membrane SRAM (bits x ceil(K*P*Q / C#n) of the layers of :func:`_membrane_layers`) and the LIF datapaths;
    per-layer shares: the tiles and datapaths in proportion to the layer's PEs, its own input and membrane SRAM."""
    xb = arch.crossbar
    assert xb is not None
    pes = [used_instances(m, xb.pe_level) if m is not None else 0 for m in mappings]
    tiles_l = [used_instances(m, xb.tile_level) if m is not None else 0 for m in mappings]
    per_tile = math.prod(lv.fanout.size for lv in arch.levels[xb.tile_level : xb.pe_level])
    from costmodel.types import Packing

    contiguous = acc.packing is Packing.CONTIGUOUS
    tiles = imc.tiles_needed(pes, per_tile, contiguous) if contiguous else sum(tiles_l)
    members = _membrane_layers(layers, acc)
    u_bits = [
        imc.membrane_sram_bits(layer.neurons, acc.membrane_bits or layer.membrane_bits, arch.compute.lif_sharing)
        if i in members
        else 0
        for i, layer in enumerate(layers)
    ]
    in_bits = [
        layer.bound(Dim.C) * layer.in_h * layer.in_w * max(acc.activation_bits, layer.input_bits)
        if layer.has_weights
        else 0
        for layer in layers
    ]
    tile_area = tiles * subtree_area_um2(arch, xb.tile_level)
    logic = imc.lif_logic_area_um2(tiles, xb.lif_units_per_tile, xb.lif_logic_um2) if acc.lif_logic_area else 0.0
    breakdown = {
        "tiles": tile_area,
        "input_sram": imc.sram_area_um2(sum(in_bits), xb.input_sram_um2_per_bit),
        "lif_membrane_sram": imc.sram_area_um2(sum(u_bits), xb.membrane_sram_um2_per_bit),
        "lif_logic": logic,
    }
    total_pes = sum(pes) or 1
    per_layer = [
        (tile_area + logic) * p / total_pes
        + imc.sram_area_um2(ib, xb.input_sram_um2_per_bit)
        + imc.sram_area_um2(ub, xb.membrane_sram_um2_per_bit)
        for p, ib, ub in zip(pes, in_bits, u_bits, strict=True)
    ]
    breakdown["total"] = sum(v for k, v in breakdown.items())
    return ResidentArea(breakdown=breakdown, per_layer=per_layer, pes=pes, tiles_per_layer=tiles_l)


# ------------------------------------------------------------------------------ the network
class MappingFailed(ValueError):
    """No legal mapping for a layer: carries the layer's name and the Invalid value."""

    def __init__(self, layer: str, invalid: Invalid, message: str) -> None:
        super().__init__(message)
        self.layer = layer
        self.invalid = invalid


def _layer_costs(
    arch: Arch, layers: Sequence[Layer], mapper: MapperFn, acc: Accounting
) -> tuple[list[Cost], list[Mapping | None]]:
    costs: list[Cost] = []
    mappings: list[Mapping | None] = []
    for layer in layers:
        if not layer.has_weights:
            costs.append(weightless_cost(arch, layer, acc))
            mappings.append(None)
            continue
        m = mapper(layer)
        if isinstance(m, Invalid):
            raise MappingFailed(layer.name, m, f"layer {layer.name}: no legal mapping: {m}")
        c = evaluate(arch, layer, m, acc)
        if isinstance(c, Invalid):
            raise MappingFailed(layer.name, c, f"layer {layer.name}: {c}")
        costs.append(c)
        mappings.append(m)
    return costs, mappings


def evaluate_network(
    arch: Arch, network: Network, mapper: MapperFn, *, method: str = "", accounting: Accounting | None = None
) -> NetworkResult:
    """Evaluate every layer (the mapper maps each weight layer as the profile counts it) and compose the
    network's latency and area; a layer the mapper cannot map raises :class:`MappingFailed` naming it."""
    acc = accounting or arch.profile()
    layers = accounting_layers(network, acc)
    costs, mappings = _layer_costs(arch, layers, mapper, acc)
    busy = [c.cycles for c in costs]
    rule = acc.latency or arch.latency
    shares = latency_shares(rule, layers, busy, overlap=acc.layer_overlap, cycles_per_step=arch.compute.cycles_per_step)
    costs = [replace(c, cycles=s) for c, s in zip(costs, shares, strict=True)]
    if arch.sizing is Sizing.RESIDENT and arch.crossbar is not None:
        ra = resident_area(arch, layers, mappings, acc)
        chip = ra.breakdown["total"]
        per_pe = math.prod(lv.fanout.size for lv in arch.levels[arch.crossbar.pe_level :])
        own = [max(1, p * per_pe // arch.compute.cycles_per_step) for p in ra.pes]  # cell-MAC slots per clock
        costs = [
            replace(c, area_um2=chip, pes=max(1, sum(ra.pes) * per_pe // arch.compute.cycles_per_step)) for c in costs
        ]
        pes, tiles, areas = ra.pes, ra.tiles_per_layer, ra.per_layer
        breakdown = tuple(ra.breakdown.items())
    else:
        chip = arch_area_um2(arch)
        own = [arch.pes] * len(costs)
        pes, tiles, areas = [0] * len(costs), [0] * len(costs), [chip] * len(costs)
        breakdown = (("total", chip),)
    results = tuple(
        LayerResult(
            name=layer.name,
            kind=layer.kind,
            cost=c,
            mapping=m,
            pes=p,
            tiles=t,
            area_um2=a,
            busy_cycles=b,
            utilization=c.macs / (b * o) if b > 0 and layer.has_weights else 0.0,
        )
        for layer, c, m, p, t, a, b, o in zip(
            network.layers, costs, mappings, pes, tiles, areas, busy, own, strict=True
        )
    )
    return NetworkResult(
        arch=arch,
        network=network,
        layers=results,
        method=method,
        accounting=acc,
        area_breakdown_um2=breakdown,
        latency=rule,
    )
