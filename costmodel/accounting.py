"""Accounting profiles: named, documented options for where a published tool counts differently from the engine.

The engine has one way to count (the loop-nest analysis, :mod:`costmodel.analysis`). Published numbers come from
tools that count differently in places: the public SpikeSim script charges fixed per-PE-cycle constants, the
public SATA tool counts memory for one timestep and compute for all of them. Each such difference is one field
of :class:`Accounting`, with its reason; an arch spec names profiles (``profiles:`` in its YAML) that set some of
them, and every command takes ``--profile``. ``native`` (all defaults) is the engine's own accounting.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any

from costmodel.specio import Node, SpecError
from costmodel.types import Activity, Granularity, Latency, OutputSize, Packing

NATIVE = "native"

#: The named dataflows (mapping constraints and heuristics of :mod:`mappers.dataflows`) of a digital arch and of
#: a crossbar arch; ``best`` (a search) applies to both. A profile's ``dataflow`` is checked against these when
#: the arch is loaded; mappers.dataflows keeps its names equal (a test checks it).
DIGITAL_DATAFLOWS: tuple[str, ...] = ("os", "ws", "time-batched", "scalesim")
CROSSBAR_DATAFLOWS: tuple[str, ...] = ("packed", "spikesim", "time-batched")


class CrossbarMapping(StrEnum):
    """How a layer's C*R*S inputs fill crossbar rows by default: ``packed`` densely (row = any (c, r, s)), or
    ``channel-block`` (the public SpikeSim mapping: a crossbar per kernel position, <= rows input channels on its
    rows, so a PE is one block of input channels and a 1x1 or FC layer takes whole PEs)."""

    PACKED = "packed"
    CHANNEL_BLOCK = "channel-block"


@dataclass(frozen=True, slots=True, kw_only=True)
class Accounting:
    """One accounting profile. Every field's default is the engine's own (``native``) counting.

    Every arch:
      ``access_granularity``: None (each level's own) or one granularity for every level (``element``: one access
      per element at the level's full per-access energy, as SATA's tool prices every byte or spike).
      ``dataflow``: None, or the named dataflow the profile maps layers with by default (``scalesim``: the SATA
      tool's schedule; ``spikesim``: the public SpikeSim allocation);
      ``latency``: None (the arch's rule) or how layer latencies add up (:class:`~costmodel.types.Latency`);
      ``layer_overlap``: with ``per-output-neuron`` latency, the part of a layer done when the next starts.
      ``update_reads``: an update of a partial sum by the accumulators is a read-modify-write: also count the
      read (every update but the first touch of each element in each instance), as Timeloop does.
      ``drain_reads``: count the reads that send a partial sum up to its parent (spills, spatial-reduction
      drains) and the read of every finished sum by the LIF/activation unit; Timeloop has neither (the value
      leaves with the update to the parent).
      ``halo_reuse``: consecutive input tiles share their sliding-window overlap: a step fetches only the new
      part when the tile moved as on the step before (Timeloop's rule, reset when the translation changes;
      :mod:`costmodel.halo`). ``peer_forwarding``: an instance takes new inputs from a mesh neighbour that
      received them on the step before, and a buffer above spatial containers is read for their union tile.
      ``peer_links_one_instance``: report link transfers for one instance of the fanout (timeloop-model v3.0.3
      counts them so). All three count input transfers by a walk over a concrete mapping, so the CP-SAT
      mapper and ``explain`` refuse a profile that sets them; the engine's own accounting keeps them off (whole
      windows, no links: a closed form every mapper can search).
      ``final_writeback``: a finished output leaves every level that keeps partial sums with an update to its
      parent, up to the outermost level, and no separate output-spike (S) traffic is counted: Timeloop has one
      Outputs data space, whose final value propagates up; the engine's own accounting writes the finished value
      (S) from the innermost level holding whole sums straight to the levels keeping S.
      ``price_weightless_layers``: price pool and add layers (outermost-level traffic, accumulations, LIF); the
      public SATA and SpikeSim tools price weight layers only (False: those layers are listed at zero cost).

    Crossbar (in-memory-compute) archs:
      ``activity``: charge the column periphery for every PE cycle (``dense``) or where spikes arrive (``event``).
      ``pe_cycle_charges``: charge the tile-buffer access, memory fetch and ``lif_updates_per_pe_cycle`` LIF
      updates of the crossbar section once per PE cycle, instead of the loop nest's storage and LIF counts. The
      public SpikeSim script prices a PE cycle as fixed constants whatever data moves, which no loop-nest count
      reproduces, so it is one named option.
      ``output_size``: ``post-pool`` charges a conv layer followed by a pool layer at the pooled map (the public
      script's layer lists give post-pool sides); ``conv`` at its own.
      ``packing``: tiles hold one layer's PEs (``per-layer``) or consecutive layers share tiles (``contiguous``).
      ``weight_bits``: None (the layer's) or the weight precision the tool assumes (SpikeSim: 4, one cell each).
      ``membrane_bits`` / ``activation_bits``: bits per stored membrane potential / input activation for the
      membrane and input SRAM areas (None: the layer's membrane bits; 1 bit per spike).
      ``lif_area_layers``: None (every firing layer's membranes) or only the first n weight layers' (the public
      script counts five). ``lif_logic_area``: count the LIF datapaths' area (the public script counts only the
      membrane SRAM). ``noc``: charge inter-tile spike traffic (the public script has no NoC term).

    The public SATA tool (``sata-compat``; systolic archs):
      ``mac_padding``: None, or the padding the tool assumes when it counts synaptic operations and LIF updates
      (1: output sides floor((H + 2 - R) / stride) + 1, while its cycles and accesses assume none).
      ``fc_output_3x3``: apply that padding to FC layers too (a 1 x 1 input then gives a 3 x 3 output: x 9).
      ``weight_load_pass``: add one weight-stationary pass of the array per layer (the tool's weight loading).
      ``ofmap_write_quirk``: add F_r x F_c x (rows + columns) output-buffer writes (scale-sim's count).
      ``unpadded``: layer shapes without padding (scale-sim's: output sides ceil((H - R + s) / s)).
      ``scalesim_memory``: memory traffic as the tool counts it, for one timestep: inputs from its OS run (every
      operand once per filter fold from the array's buffer; DRAM refetches by bands of output rows that fit the
      buffer), weights from its WS run (once), outputs once; no partial-sum or membrane traffic. The tool
      stitches two runs and a buffer simulation, so no single mapping's loop nest gives these counts: one named
      option. Compute-side operand reads in the PEs stay the engine's.
      ``ifmap_bits``: the bits the tool stores per input element when it sizes the input buffer (8: one byte
      per spike); ``ifmap_buffer_fraction``: the part of that buffer holding live data (0.5: double buffering).
    """

    name: str = NATIVE
    description: str = ""
    access_granularity: Granularity | None = None
    dataflow: str | None = None
    latency: Latency | None = None
    layer_overlap: float = 1.0
    price_weightless_layers: bool = True
    update_reads: bool = False
    drain_reads: bool = True
    halo_reuse: bool = False
    peer_forwarding: bool = False
    peer_links_one_instance: bool = False
    final_writeback: bool = False
    activity: Activity = Activity.EVENT
    pe_cycle_charges: bool = False
    output_size: OutputSize = OutputSize.CONV
    packing: Packing = Packing.PER_LAYER
    weight_bits: int | None = None
    membrane_bits: int | None = None
    activation_bits: int = 1
    lif_area_layers: int | None = None
    lif_logic_area: bool = True
    noc: bool = True
    mac_padding: int | None = None
    fc_output_3x3: bool = False
    weight_load_pass: bool = False
    ofmap_write_quirk: bool = False
    unpadded: bool = False
    scalesim_memory: bool = False
    ifmap_bits: int | None = None
    ifmap_buffer_fraction: float = 1.0

    def with_overrides(self, **changes: Any) -> Accounting:
        """This profile with some options replaced (None values are ignored)."""
        given = {k: v for k, v in changes.items() if v is not None}
        return replace(self, **given) if given else self


#: Options that only make sense on an arch with a ``crossbar:`` section.
CROSSBAR_OPTIONS = (
    "activity",
    "pe_cycle_charges",
    "output_size",
    "packing",
    "weight_bits",
    "membrane_bits",
    "activation_bits",
    "lif_area_layers",
    "lif_logic_area",
    "noc",
)
#: Options of the public SATA tool's counting (systolic archs).
SATA_TOOL_OPTIONS = (
    "mac_padding",
    "fc_output_3x3",
    "weight_load_pass",
    "ofmap_write_quirk",
    "unpadded",
    "scalesim_memory",
    "ifmap_bits",
    "ifmap_buffer_fraction",
)


def _sata_tool_options(node: Node, systolic: bool) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    for key in SATA_TOOL_OPTIONS:
        if not node.has(key):
            continue
        if not systolic:
            raise node.error(key, "an option of the SATA tool's counting, but the arch has no systolic fanout")
        if key in ("fc_output_3x3", "weight_load_pass", "ofmap_write_quirk", "unpadded", "scalesim_memory"):
            kw[key] = node.bool(key)
        elif key == "ifmap_buffer_fraction":
            kw[key] = node.float(key, minimum=0.0, maximum=1.0, strict_minimum=True)
        elif key == "ifmap_bits":
            kw[key] = node.optional_int(key, maximum=64)
        else:
            kw[key] = node.optional_int(key, minimum=0, maximum=64)
    return kw


def accounting_from_node(node: Node, name: str, *, crossbar: bool, systolic: bool = False) -> Accounting:
    """Read one ``profiles.<name>`` mapping strictly (unknown keys, and crossbar or SATA-tool options on an arch
    without a crossbar or systolic fanout, are errors naming the key path)."""
    kw: dict[str, Any] = {"name": name}
    kw["description"] = node.str("description", "")
    if node.has("access_granularity"):
        kw["access_granularity"] = node.enum("access_granularity", Granularity)
    if node.has("dataflow"):
        names = (*(CROSSBAR_DATAFLOWS if crossbar else DIGITAL_DATAFLOWS), "best")
        kw["dataflow"] = node.str("dataflow")
        if kw["dataflow"] not in names:
            raise node.error(
                "dataflow",
                f"expected one of {', '.join(names)} (the dataflows of a "
                f"{'crossbar' if crossbar else 'digital'} arch), got {kw['dataflow']!r}",
            )
    if node.has("latency"):
        kw["latency"] = node.enum("latency", Latency)
        if kw["latency"] is Latency.PER_OUTPUT_NEURON and not crossbar:
            raise node.error(
                "latency", "per-output-neuron is the public SpikeSim script's rule: it needs a crossbar: section"
            )
    if node.has("layer_overlap"):
        kw["layer_overlap"] = node.float("layer_overlap", minimum=0.0, maximum=1.0, strict_minimum=True)
    for key in (
        "price_weightless_layers",
        "update_reads",
        "drain_reads",
        "halo_reuse",
        "peer_forwarding",
        "peer_links_one_instance",
        "final_writeback",
    ):
        if node.has(key):
            kw[key] = node.bool(key)
    enums = {"activity": Activity, "output_size": OutputSize, "packing": Packing}
    for key in CROSSBAR_OPTIONS:
        if not node.has(key):
            continue
        if not crossbar:
            raise node.error(key, "a crossbar option, but the arch has no crossbar: section")
        if key in enums:
            kw[key] = node.enum(key, enums[key])
        elif key in ("pe_cycle_charges", "lif_logic_area", "noc"):
            kw[key] = node.bool(key)
        elif key == "activation_bits":
            kw[key] = node.int(key, maximum=64)
        elif key == "lif_area_layers":
            kw[key] = node.optional_int(key, maximum=1 << 20)
        else:
            kw[key] = node.optional_int(key, maximum=64)
    kw.update(_sata_tool_options(node, systolic))
    node.done()
    return Accounting(**kw)


def profiles_from_node(node: Node | None, *, crossbar: bool, systolic: bool = False) -> tuple[Accounting, ...]:
    """Every profile of a ``profiles:`` section, ``native`` first (the defaults unless the section redefines it)."""
    out: dict[str, Accounting] = {NATIVE: Accounting()}
    if node is not None:
        for key in node.keys():  # noqa: SIM118 - Node is not iterable
            child = node.child(key)
            assert child is not None
            out[key] = accounting_from_node(child, key, crossbar=crossbar, systolic=systolic)
    return tuple(out.values())


def option_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields(Accounting) if f.name not in ("name", "description"))


__all__ = [
    "Accounting",
    "CrossbarMapping",
    "CROSSBAR_DATAFLOWS",
    "CROSSBAR_OPTIONS",
    "DIGITAL_DATAFLOWS",
    "NATIVE",
    "SATA_TOOL_OPTIONS",
    "SpecError",
    "accounting_from_node",
    "option_names",
    "profiles_from_node",
]
