"""Architecture values and their strict YAML loader (DESIGN.md section 3).

An :class:`Arch` is a chain of storage :class:`Level` s, outermost (index 0, usually DRAM) to
innermost, each with a spatial fanout to the instances of the next level (the innermost level
fans out to compute units), and a :class:`Compute` block: accumulators (AC, no multiplier) and
LIF units. Energies are per word (``word_bits``) and per action; static energies are per cycle
per instance, so ungated (clocked every cycle) and gated (per action) power are both plain spec
values.

YAML (all keys shown; optional ones marked)::

    name: generic3
    clock_hz: 1.0e9
    technology_nm: 45                 # optional, informational
    source: "where the numbers come from"  # optional
    levels:
      - name: DRAM
        keeps: [W, I, O, U, S]        # the others bypass this level
        capacity_bits: null           # null = unbounded
        tensor_capacity_bits: {W: 1024}   # optional per-tensor partitions
        word_bits: 64
        read_bandwidth_bits_per_cycle: 64     # null = unbounded
        write_bandwidth_bits_per_cycle: 64    # null = unbounded
        access_granularity: packed    # packed: bits/word_bits words per element; element: one access per element
        energy_pj: {read: 100.0, write: 100.0, update: 200.0}   # per word (per access if element)
        static_pj_per_cycle: 0.0      # per instance, every cycle (leakage or ungated clocking)
        area_um2: 0.0                 # per instance
        link_pj_per_bit: 0.0          # optional: network energy per bit moved between this level and its children
        spike_gated: []               # optional: tensors whose compute-side accesses here are skipped on zero spikes
        fanout: {x: 1, y: 1, systolic: false}   # instances of the next level (or compute) per instance
    compute:
      ac_pj: 0.1                      # per accumulate (executed only for non-zero spikes)
      skip_zero_weights: false        # optional: also skip zero weights
      static_pj_per_cycle: 0.0        # per compute unit (PE datapath), every cycle
      area_um2: 0.0                   # per compute unit
      lif_pj: 0.05                    # per LIF update
      lif_units_per_pe: 1
      lif_sharing: 1                  # C#n: one LIF unit serves n neurons -> units / n
      lif_static_pj_per_cycle: 0.0    # per LIF unit, every cycle
      lif_area_um2: 0.0               # per LIF unit
    device: {...}                     # optional: crossbar device model, read by the crossbar package
    imc: {...}                        # optional: in-memory-compute (crossbar) level, read by costmodel.imc
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import archspecs
from costmodel.specio import Node, SpecError, load_yaml
from costmodel.types import TENSORS, Action, Axis, Granularity, Tensor


@dataclass(frozen=True, slots=True, kw_only=True)
class Fanout:
    x: int = 1
    y: int = 1
    systolic: bool = False

    @property
    def size(self) -> int:
        return self.x * self.y

    def along(self, axis: Axis) -> int:
        """Instances along one mesh axis."""
        return self.x if axis is Axis.X else self.y


@dataclass(frozen=True, slots=True, kw_only=True)
class Level:
    name: str
    keeps: frozenset[Tensor]
    capacity_bits: int | None
    word_bits: int
    read_bandwidth_bits_per_cycle: float | None
    write_bandwidth_bits_per_cycle: float | None
    energy_pj: tuple[tuple[Action, float], ...]  # per word: READ, WRITE, UPDATE
    access_granularity: Granularity = Granularity.PACKED
    tensor_capacity_bits: tuple[tuple[Tensor, int], ...] = ()
    static_pj_per_cycle: float = 0.0
    area_um2: float = 0.0
    link_pj_per_bit: float = 0.0
    spike_gated: frozenset[Tensor] = frozenset()
    fanout: Fanout = field(default_factory=Fanout)

    def __post_init__(self) -> None:
        if self.word_bits < 1:
            raise ValueError(f"level {self.name}: word_bits must be >= 1, got {self.word_bits}")
        if self.capacity_bits is not None and self.capacity_bits < 1:
            raise ValueError(f"level {self.name}: capacity_bits must be positive, got {self.capacity_bits}")

    def energy(self, action: Action) -> float:
        for a, e in self.energy_pj:
            if a is action:
                return e
        return 0.0

    def tensor_capacity(self, tensor: Tensor) -> int | None:
        for t, c in self.tensor_capacity_bits:
            if t is tensor:
                return c
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Compute:
    ac_pj: float
    lif_pj: float
    static_pj_per_cycle: float = 0.0
    area_um2: float = 0.0
    skip_zero_weights: bool = False
    lif_units_per_pe: int = 1
    lif_sharing: int = 1
    lif_static_pj_per_cycle: float = 0.0
    lif_area_um2: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Arch:
    name: str
    clock_hz: float
    levels: tuple[Level, ...]
    compute: Compute
    technology_nm: float | None = None
    source: str = ""
    file: str = ""
    extras: tuple[tuple[str, Any], ...] = ()  # raw sections read by other packages (device, imc)

    def __post_init__(self) -> None:
        if not self.levels:
            raise ValueError(f"arch {self.name}: no levels")
        missing = set(TENSORS) - self.levels[0].keeps
        if missing:
            raise ValueError(
                f"arch {self.name}: the outermost level {self.levels[0].name} must keep every tensor; "
                f"missing {', '.join(sorted(t.value for t in missing))}"
            )
        systolic = [lv.name for lv in self.levels if lv.fanout.systolic]
        if len(systolic) > 1:
            raise ValueError(f"arch {self.name}: at most one systolic fanout, got {systolic}")

    # ---------------------------------------------------------------- derived (pure queries)
    def level_index(self, name: str) -> int:
        for i, lv in enumerate(self.levels):
            if lv.name == name:
                return i
        raise KeyError(f"arch {self.name} has no level {name!r}; levels: {', '.join(lv.name for lv in self.levels)}")

    def instances(self, level: int) -> int:
        """Physical instances of ``level``: the product of the fanouts above it."""
        return math.prod(lv.fanout.size for lv in self.levels[:level])

    @property
    def pes(self) -> int:
        """Compute units: the product of every fanout."""
        return math.prod(lv.fanout.size for lv in self.levels)

    @property
    def systolic_level(self) -> int | None:
        """Index of the level whose fanout is systolic (fill/drain skew), or None."""
        return next((i for i, lv in enumerate(self.levels) if lv.fanout.systolic), None)

    @property
    def array_level(self) -> int:
        """Index of the level whose fanout is the PE array: the largest fanout (outermost on ties)."""
        sizes = [lv.fanout.size for lv in self.levels]
        return sizes.index(max(sizes))

    @property
    def lif_units(self) -> int:
        c = self.compute
        return max(1, math.ceil(self.pes * c.lif_units_per_pe / c.lif_sharing))

    def extra(self, key: str) -> Any:
        for k, v in self.extras:
            if k == key:
                return v
        return None


# ---------------------------------------------------------------------------------------- loader
_EXTRA_SECTIONS = ("device", "imc", "profiles")


def _opt_int(node: Node, key: str) -> int | None:
    v = node.raw(key, None)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise node.error(key, f"expected a positive integer or null, got {v!r}")
    return v


def _opt_pos_float(node: Node, key: str) -> float | None:
    v = node.raw(key, None)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
        raise node.error(key, f"expected a positive number or null, got {v!r}")
    return float(v)


def _level(node: Node) -> Level:
    name = node.str("name")
    keeps = frozenset(node.enum_list("keeps", Tensor))
    energy = node.child("energy_pj")
    assert energy is not None
    e = tuple((a, energy.float(a.value, 0.0)) for a in (Action.READ, Action.WRITE, Action.UPDATE))
    energy.done()
    tcap: list[tuple[Tensor, int]] = []
    tc = node.child("tensor_capacity_bits", None)
    if tc is not None:
        for key in tc.keys():  # noqa: SIM118 - Node is not iterable
            try:
                t = Tensor(key)
            except ValueError:
                raise tc.error(key, "unknown tensor (expected one of W, I, O, U, S)") from None
            if t not in keeps:
                raise tc.error(key, f"tensor {key} has a capacity but is not in keeps")
            tcap.append((t, tc.int(key)))
        tc.done()
    fo = node.child("fanout", {})
    assert fo is not None
    fanout = Fanout(x=fo.int("x", 1), y=fo.int("y", 1), systolic=fo.bool("systolic", False))
    fo.done()
    gran = node.enum("access_granularity", Granularity, Granularity.PACKED)
    gated = frozenset(node.enum_list("spike_gated", Tensor, []))
    level = Level(
        name=name,
        keeps=keeps,
        capacity_bits=_opt_int(node, "capacity_bits"),
        tensor_capacity_bits=tuple(tcap),
        word_bits=node.int("word_bits"),
        read_bandwidth_bits_per_cycle=_opt_pos_float(node, "read_bandwidth_bits_per_cycle"),
        write_bandwidth_bits_per_cycle=_opt_pos_float(node, "write_bandwidth_bits_per_cycle"),
        energy_pj=e,
        access_granularity=gran,
        static_pj_per_cycle=node.float("static_pj_per_cycle", 0.0),
        area_um2=node.float("area_um2", 0.0),
        link_pj_per_bit=node.float("link_pj_per_bit", 0.0),
        spike_gated=gated,
        fanout=fanout,
    )
    node.done()
    return level


def _compute(node: Node) -> Compute:
    c = Compute(
        ac_pj=node.float("ac_pj"),
        lif_pj=node.float("lif_pj"),
        static_pj_per_cycle=node.float("static_pj_per_cycle", 0.0),
        area_um2=node.float("area_um2", 0.0),
        skip_zero_weights=node.bool("skip_zero_weights", False),
        lif_units_per_pe=node.int("lif_units_per_pe", 1),
        lif_sharing=node.int("lif_sharing", 1),
        lif_static_pj_per_cycle=node.float("lif_static_pj_per_cycle", 0.0),
        lif_area_um2=node.float("lif_area_um2", 0.0),
    )
    node.done()
    return c


def arch_from_dict(data: Any, file: str = "<arch>") -> Arch:
    """Build and validate an :class:`Arch` from parsed YAML; errors name ``file`` and the key path."""
    root = Node(data, file)
    levels_nodes = root.children("levels")
    if not levels_nodes:
        raise root.error("levels", "expected at least one level")
    levels = tuple(_level(n) for n in levels_nodes)
    names = [lv.name for lv in levels]
    for i, n in enumerate(names):
        if names.index(n) != i:
            raise root.error(f"levels[{i}].name", f"duplicate level name {n!r}")
    missing = sorted(t.value for t in set(TENSORS) - levels[0].keeps)
    if missing:
        raise root.error("levels[0].keeps", f"the outermost level {levels[0].name} must keep every tensor; "
                         f"missing {', '.join(missing)}")
    compute_node = root.child("compute")
    assert compute_node is not None
    compute = _compute(compute_node)
    extras = tuple((k, root.raw(k)) for k in _EXTRA_SECTIONS if root.has(k))
    clock = root.float("clock_hz")
    if clock <= 0:
        raise root.error("clock_hz", f"expected a positive number, got {clock}")
    tech = root.raw("technology_nm", None)
    arch_kwargs = dict(
        name=root.str("name"),
        clock_hz=clock,
        levels=levels,
        compute=compute,
        technology_nm=float(tech) if tech is not None else None,
        source=root.str("source", ""),
        file=file,
        extras=extras,
    )
    root.done()
    try:
        return Arch(**arch_kwargs)  # type: ignore[arg-type]
    except ValueError as exc:
        raise SpecError(f"{file}: {exc}") from None


def load_arch(name_or_path: str | Path) -> Arch:
    """Load a shipped arch by name (``sata``, ``generic3``) or a user's YAML file."""
    path = archspecs.arch_path(str(name_or_path))
    shown = _shown_path(path)
    return arch_from_dict(load_yaml(path), shown)


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(archspecs.ROOT.parent))
    except ValueError:
        return str(path)
