"""Timeloop's values turned into spikeloop's: :class:`~costmodel.arch.Arch`, :class:`~costmodel.workload.Layer`
(a non-spiking layer, T = 1) and :class:`~costmodel.mapping.Mapping`, priced under the ``timeloop`` accounting
profile, and the result read back in Timeloop's terms (reads, fills, updates per data space and level).

How the terms correspond (docs/timeloop.md has the table and the public source of each rule):

* every Timeloop storage level (dummy levels that keep nothing included) is one spikeloop level, outer first;
  its fanout to the next level is the ratio of the two levels' meshX and meshY (the innermost level's, of the
  compute units'); a level may keep W, I, O (Weights, Inputs, Outputs) and the mapping's ``bypass`` directives
  bypass them; the outermost also keeps the finished outputs S (and U, unused by a non-spiking layer);
* a level's ``datawidth`` / ``word-bits`` is the width every tensor is stored at there (``element_bits``);
  its vector access (``block-size`` elements) costs the ERT's energy, so one element costs ERT / block-size;
  counts are per element (``access_granularity: element``), as Timeloop's scalar accesses;
* Timeloop's action names: a read is ``read`` (ERT ``random_read`` or ``read``), a fill ``write`` (ERT
  ``random_fill`` or ``write``) and an update ``update`` priced as Timeloop prices it (ERT ``random_update``,
  ``random_fill`` or ``write``: the ERT's ``update`` entry is not looked up by v3.0.3); a MAC is the compute
  unit's ``mac_random``, ``mult_random``, ``mac``, ``mult`` or ``compute``; leakage is not charged (v3.0.3);
* Outputs are spikeloop's partial sums O and, at the outermost level, the finished outputs S: S written there
  is Timeloop's final Outputs update, so the outermost level's write is priced as Timeloop's update (nothing
  else is written there: the outermost level is never filled).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, fields
from typing import Any

from costmodel.accounting import Accounting
from costmodel.arch import Arch, Compute, Fanout, Level
from costmodel.cost import Cost
from costmodel.evaluate import evaluate
from costmodel.mapping import Invalid, LevelMapping, Loop, Mapping
from costmodel.specio import SpecError
from costmodel.types import TENSORS, Action, Axis, Dim, Granularity, Tensor
from costmodel.workload import Layer, conv_layer
from spikeloop.timeloop.files import (
    DATA_SPACES,
    Inputs,
    Storage,
    TLArch,
    TLMapping,
    TLProblem,
    parse_arch,
    parse_ert,
    parse_mapping,
    parse_problem,
    read_inputs,
)

PROFILE = "timeloop"
#: The options of the ``timeloop`` accounting profile (costmodel.accounting), fixed by issue 13.
PROFILE_OPTIONS: dict[str, Any] = {
    "update_reads": True,
    "drain_reads": False,
    "halo_reuse": True,
    "peer_forwarding": True,
    "peer_links_one_instance": True,
    "final_writeback": True,
}
SPACE_TENSOR = {"Weights": Tensor.W, "Inputs": Tensor.I, "Outputs": Tensor.O}
ROLE_DIM = {"R": Dim.R, "S": Dim.S, "P": Dim.P, "Q": Dim.Q, "C": Dim.C, "K": Dim.K, "N": Dim.N}
#: Timeloop v3.0.3's ERT action names per spikeloop action, in its priority order (model/topology.hpp).
ERT_ACTIONS = {
    Action.READ: ("random_read", "read"),
    Action.WRITE: ("random_fill", "write"),
    Action.UPDATE: ("random_update", "random_fill", "write"),
}
COMPUTE_ACTIONS = ("mac_random", "mult_random", "mac", "mult", "compute")


def timeloop_accounting() -> tuple[Accounting, tuple[str, ...]]:
    """The ``timeloop`` profile with every option of :data:`PROFILE_OPTIONS` the engine has; the names of
    those it does not have yet."""
    have = {f.name for f in fields(Accounting)}
    given = {k: v for k, v in PROFILE_OPTIONS.items() if k in have}
    missing = tuple(k for k in PROFILE_OPTIONS if k not in have)
    acc = Accounting(name=PROFILE, description="timeloop-model v3.0.3's counting (docs/timeloop.md)", **given)
    return acc, missing


def _has(cls: type, name: str) -> bool:
    return name in {f.name for f in fields(cls)}


def _pow2(n: int) -> int:
    return 1 << max(0, math.ceil(math.log2(max(n, 1))))


def _energy(s: Storage, table: dict[str, float] | None, action: Action, ert_file: str = "ERT") -> float:
    """pJ per element of ``action`` at ``s``: the ERT's vector energy (Timeloop's action priority) / block
    size; or the ``vector-access-energy`` attribute; 0 for a level with neither that keeps nothing."""
    if table is not None:
        for name in ERT_ACTIONS[action]:
            if name in table:
                return table[name] / s.block_size
        raise SpecError(
            f"{ert_file}: ERT.tables: the entry for {s.name} has no "
            f"{' / '.join(ERT_ACTIONS[action])} action (spikeloop does not have Timeloop's built-in "
            "energy model)"
        )
    if s.vector_access_pj is not None:
        return s.vector_access_pj / s.block_size
    return 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """A Timeloop case in spikeloop's values."""

    arch: Arch
    layer: Layer
    mapping: Mapping
    accounting: Accounting
    tl_arch: TLArch
    problem: TLProblem
    tl_mapping: TLMapping
    kept: tuple[frozenset[str], ...]  # data spaces each level keeps (outer first)
    missing_options: tuple[str, ...]
    notes: tuple[str, ...]
    files: tuple[str, ...]


def _kept(tl: TLArch, m: TLMapping) -> tuple[frozenset[str], ...]:
    """Data spaces each level keeps: Timeloop's default is keep; the outermost level keeps everything."""
    out = []
    for i, s in enumerate(tl.storage):
        lv = m.levels[s.name]
        if i == 0 and lv.bypass:
            raise SpecError(f"{m.file}: mapping: the outermost level {s.name} cannot bypass {sorted(lv.bypass)[0]}")
        out.append(frozenset(d for d in DATA_SPACES if d not in lv.bypass))
    return tuple(out)


def to_arch(
    tl: TLArch,
    ert: dict[str, dict[str, float]] | None,
    art: dict[str, dict[str, float]] | None,
    kept: tuple[frozenset[str], ...],
    accounting: Accounting,
    ert_file: str = "ERT",
) -> Arch:
    """spikeloop's Arch of a Timeloop architecture (see the module docstring)."""
    levels = []
    n = len(tl.storage)
    for i, s in enumerate(tl.storage):
        child = tl.storage[i + 1] if i + 1 < n else tl.arithmetic
        fx, fy = child.mesh_x / s.mesh_x, child.mesh_y / s.mesh_y
        if not (fx.is_integer() and fy.is_integer()) or child.instances % s.instances:
            raise SpecError(
                f"{s.where}: {child.name} ({child.mesh_x} x {child.mesh_y}) is not a whole fanout of "
                f"{s.name} ({s.mesh_x} x {s.mesh_y}); spikeloop needs each level's mesh to divide the "
                "next one's"
            )
        if s.shared_elements_per_cycle is not None:
            raise SpecError(f"{s.where}: shared_bandwidth is not supported; give read_bandwidth and write_bandwidth")
        table = (ert or {}).get(s.name)
        if table is None and s.vector_access_pj is None and "dummy" not in s.cls and ert is not None and kept[i]:
            raise SpecError(
                f"{ert_file}: ERT.tables: no entry for {s.name} (spikeloop does not have Timeloop's "
                "built-in energy model: give its read and write energies in the ERT)"
            )
        keeps = frozenset(SPACE_TENSOR[d] for d in DATA_SPACES)
        if i == 0:
            keeps = frozenset(TENSORS)
        cap = s.effective_size_elements
        kw: dict[str, Any] = {}
        if _has(Level, "element_bits"):
            kw["element_bits"] = tuple((t, s.word_bits) for t in sorted(keeps - {Tensor.U}, key=TENSORS.index))
        width = s.word_bits * s.block_size
        levels.append(
            Level(
                name=s.name,
                keeps=keeps,
                capacity_bits=None if cap is None else max(cap * s.word_bits, 1),
                word_bits=_pow2(width),
                read_bandwidth_bits_per_cycle=None
                if s.read_elements_per_cycle is None
                else s.read_elements_per_cycle * s.word_bits,
                write_bandwidth_bits_per_cycle=None
                if s.write_elements_per_cycle is None
                else s.write_elements_per_cycle * s.word_bits,
                energy_pj=tuple(
                    (a, _energy(s, table, Action.UPDATE if (i == 0 and a is Action.WRITE) else a, ert_file))
                    for a in (Action.READ, Action.WRITE, Action.UPDATE)
                ),
                access_granularity=Granularity.ELEMENT,
                area_um2=((art or {}).get(s.name) or {}).get("area", 0.0),
                fanout=Fanout(x=int(fx), y=int(fy)),
                **kw,
            )
        )
    ar = tl.arithmetic
    table = (ert or {}).get(ar.name, {})
    mac_pj = next((table[a] for a in COMPUTE_ACTIONS if a in table), None)
    if mac_pj is None:
        if ert is None:
            raise SpecError(
                f"{ar.where}: no ERT given: spikeloop does not have Timeloop's built-in energy model (give ERT.yaml)"
            )
        raise SpecError(
            f"{ert_file}: ERT.tables: no entry with a compute action ({', '.join(COMPUTE_ACTIONS)}) for {ar.name}"
        )
    ckw: dict[str, Any] = {}
    if _has(Compute, "mac_pj"):
        ckw["mac_pj"] = mac_pj
    compute = Compute(ac_pj=mac_pj, lif_pj=0.0, area_um2=((art or {}).get(ar.name) or {}).get("area", 0.0), **ckw)
    return Arch(
        name=f"timeloop:{tl.file}",
        clock_hz=1e9,
        levels=tuple(levels),
        compute=compute,
        source=f"converted from {tl.file} by spikeloop timeloop-model",
        file=tl.file,
        profiles=(Accounting(), accounting),
        default_profile=PROFILE,
    )


@functools.cache
def engine_prices_macs() -> bool:
    """Whether :func:`costmodel.evaluate.evaluate` prices a layer of multi-bit inputs as MACs (``compute.mac_pj``).
    The engine commit that added MACs (d521ee6) still reads the accumulate count in ``evaluate``, which fails
    with a KeyError when the compute is a MAC; until that is fixed the converter states 1-bit inputs (every
    level stores them at its own width, and one accumulate costs the MAC's energy: the same counts and pJ)."""
    if not (_has(Compute, "mac_pj") and _has(Layer, "input_bits")):
        return False
    from costmodel.types import Activation

    arch = Arch(
        name="probe",
        clock_hz=1e9,
        compute=Compute(ac_pj=1.0, lif_pj=0.0, mac_pj=1.0),
        levels=(
            Level(
                name="M",
                keeps=frozenset(TENSORS),
                capacity_bits=None,
                word_bits=8,
                read_bandwidth_bits_per_cycle=None,
                write_bandwidth_bits_per_cycle=None,
                energy_pj=(),
            ),
        ),
    )
    layer = conv_layer("probe", K=1, C=1, P=1, R=1, input_bits=8, output_bits=8, activation=Activation.NONE)
    try:
        evaluate(arch, layer, Mapping(levels=(LevelMapping(),)))
    except KeyError:
        return False
    return True


def to_layer(p: TLProblem, bits: int) -> Layer:
    """The conv as a non-spiking layer (T = 1) with ``bits``-bit inputs, weights, partial sums and outputs (the
    outermost level's width; a level that stores them wider says so with its own width). Inputs are stated as
    1-bit while the engine cannot price MACs (:func:`engine_prices_macs`)."""
    b = p.bounds
    kw: dict[str, Any] = {}
    if _has(Layer, "output_bits"):
        kw["output_bits"] = bits
    if _has(Layer, "input_bits") and engine_prices_macs():
        kw["input_bits"] = bits
    if _has(Layer, "activation"):
        from costmodel.types import Activation

        kw["activation"] = Activation.NONE
    return conv_layer(
        "timeloop",
        T=1,
        N=b["N"],
        K=b["K"],
        C=b["C"],
        P=b["P"],
        Q=b["Q"],
        R=b["R"],
        S=b["S"],
        stride=p.stride,
        weight_bits=bits,
        psum_bits=bits,
        **kw,
    )


def to_mapping(tl: TLArch, m: TLMapping, kept: tuple[frozenset[str], ...]) -> Mapping:
    out = []
    for s, k in zip(tl.storage, kept, strict=True):
        lv = m.levels[s.name]
        bypass = frozenset(SPACE_TENSOR[d] for d in DATA_SPACES if d not in k)
        out.append(
            LevelMapping(
                temporal=tuple(Loop(ROLE_DIM[r], b) for r, b in lv.temporal),
                spatial=tuple(Loop(ROLE_DIM[r], b, True, Axis(ax)) for r, b, ax in lv.spatial),
                bypass=bypass,
            )
        )
    return Mapping(levels=tuple(out))


def load_case(paths: list[str]) -> Case:
    """Read Timeloop files (any order; see :func:`spikeloop.timeloop.files.read_inputs`) into a :class:`Case`."""
    inputs: Inputs = read_inputs(paths)
    arch_data, arch_file = inputs.sections["architecture"]
    tl = parse_arch(arch_data, arch_file)
    prob_data, prob_file = inputs.sections["problem"]
    problem = parse_problem(prob_data, prob_file)
    map_data, map_file = inputs.sections["mapping"]
    tl_map = parse_mapping(map_data, map_file, tl, problem)
    ert = art = None
    ert_file = "ERT"
    if inputs.section("ERT") is not None:
        data, ert_file = inputs.sections["ERT"]
        ert = parse_ert(data, ert_file, "ERT")
    if inputs.section("ART") is not None:
        data, file = inputs.sections["ART"]
        art = parse_ert(data, file, "ART")
    kept = _kept(tl, tl_map)
    accounting, missing = timeloop_accounting()
    bits = tl.storage[0].word_bits
    arch = to_arch(tl, ert, art, kept, accounting, ert_file)
    layer = to_layer(problem, bits)
    mapping = to_mapping(tl, tl_map, kept)
    notes = list(inputs.notes) + list(problem.notes)
    if not engine_prices_macs():
        notes.append(
            "the engine cannot price multi-bit MACs yet (costmodel.evaluate reads the accumulate count): "
            "inputs stated as 1-bit, each MAC priced as one accumulate of the MAC's energy (same pJ)"
        )
    if tl.skipped:
        notes.append(f"{arch_file}: components outside the loop nest skipped: {', '.join(tl.skipped)}")
    return Case(
        arch=arch,
        layer=layer,
        mapping=mapping,
        accounting=accounting,
        tl_arch=tl,
        problem=problem,
        tl_mapping=tl_map,
        kept=kept,
        missing_options=missing,
        notes=tuple(notes),
        files=tuple(str(p) for p in paths),
    )


# ------------------------------------------------------------------------------------------------ the result
@dataclass(frozen=True, slots=True, kw_only=True)
class LevelResult:
    name: str
    instances: int
    kept: tuple[str, ...]
    counts: dict[str, dict[str, float]]  # data space -> reads | fills | updates (scalar, all instances)
    energy_pj: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    """timeloop-model's summary in its terms, from spikeloop's Cost."""

    levels: tuple[LevelResult, ...]
    macs: float
    mac_energy_pj: float
    total_energy_pj: float
    cycles: float
    utilization: float
    arithmetic_instances: int
    profile: dict[str, Any]
    missing_options: tuple[str, ...]
    notes: tuple[str, ...]
    cost: Cost

    @property
    def fj_per_mac(self) -> float:
        return 1000.0 * self.total_energy_pj / self.macs if self.macs else 0.0

    def count(self, level: str, space: str, action: str) -> float:
        for lv in self.levels:
            if lv.name == level:
                return lv.counts.get(space, {}).get(action, 0.0)
        raise KeyError(f"no level {level!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "total_energy_pj": self.total_energy_pj,
            "fj_per_mac": self.fj_per_mac,
            "cycles": self.cycles,
            "utilization": self.utilization,
            "macs": self.macs,
            "mac_energy_pj": self.mac_energy_pj,
            "levels": [
                {
                    "name": lv.name,
                    "instances": lv.instances,
                    "keeps": list(lv.kept),
                    "energy_pj": lv.energy_pj,
                    "counts": lv.counts,
                }
                for lv in self.levels
            ],
            "profile": self.profile,
            "profile_options_missing": list(self.missing_options),
            "notes": list(self.notes),
        }


#: spikeloop (tensor, action) -> Timeloop (data space, action). S written at the outermost level is the final
#: Outputs update; S read at a level is its write-back toward the outermost.
_TERMS = {
    (Tensor.W, Action.READ): ("Weights", "reads"),
    (Tensor.W, Action.WRITE): ("Weights", "fills"),
    (Tensor.I, Action.READ): ("Inputs", "reads"),
    (Tensor.I, Action.WRITE): ("Inputs", "fills"),
    (Tensor.O, Action.READ): ("Outputs", "reads"),
    (Tensor.O, Action.WRITE): ("Outputs", "fills"),
    (Tensor.O, Action.UPDATE): ("Outputs", "updates"),
    (Tensor.S, Action.WRITE): ("Outputs", "updates"),
    (Tensor.S, Action.READ): ("Outputs", "reads"),
}


def result_of(case: Case, cost: Cost) -> Result:
    """Per level and data space reads / fills / updates (scalar: one per element, summed over instances) and
    energy, from ``cost``; the compute unit's MACs and energy; total, cycles, utilization."""
    levels = []
    for i, (lv, s) in enumerate(zip(case.arch.levels, case.tl_arch.storage, strict=True)):
        counts: dict[str, dict[str, float]] = {}
        for key, v in cost.counts.items():
            if key.component != lv.name or key.tensor is None:
                continue
            term = _TERMS.get((key.tensor, key.action))
            if term is None:
                space, action = key.tensor.value, key.action.value
            else:
                space, action = term
            counts.setdefault(space, {}).setdefault(action, 0.0)
            counts[space][action] += v
        energy = sum(v for k, v in cost.energy_pj.items() if k.component == lv.name)
        levels.append(
            LevelResult(
                name=lv.name, instances=s.instances, kept=tuple(sorted(case.kept[i])), counts=counts, energy_pj=energy
            )
        )
    mac_e = sum(v for k, v in cost.energy_pj.items() if k.component == "compute")
    inst = case.tl_arch.arithmetic.instances
    util = cost.macs / (cost.cycles * inst) if cost.cycles else 0.0
    profile = {f.name: getattr(case.accounting, f.name) for f in fields(case.accounting) if f.name in PROFILE_OPTIONS}
    return Result(
        levels=tuple(levels),
        macs=cost.macs,
        mac_energy_pj=mac_e,
        total_energy_pj=cost.total_energy_pj,
        cycles=cost.cycles,
        utilization=util,
        arithmetic_instances=inst,
        profile=profile,
        missing_options=case.missing_options,
        notes=case.notes,
        cost=cost,
    )


def run_model(paths: list[str]) -> tuple[Case, Result]:
    """``spikeloop timeloop-model``'s Python face: read the files, evaluate the mapping under the ``timeloop``
    profile, and give the result in Timeloop's terms. An invalid mapping is a one-line SpecError."""
    case = load_case(paths)
    cost = evaluate(case.arch, case.layer, case.mapping, case.accounting)
    if isinstance(cost, Invalid):
        raise SpecError(f"{case.tl_mapping.file}: mapping: not valid on this architecture: {cost}")
    return case, result_of(case, cost)


def replace_profile(case: Case, **options: Any) -> Case:
    """The case under the ``timeloop`` profile with some options changed (those the engine has)."""
    have = {f.name for f in fields(Accounting)}
    acc = dataclasses.replace(case.accounting, **{k: v for k, v in options.items() if k in have})
    arch = dataclasses.replace(case.arch, profiles=(Accounting(), acc))
    return dataclasses.replace(case, arch=arch, accounting=acc)
