"""SATA (28 nm systolic array) rows of the paper: Table II's SATA column and improvement factors, Fig. 4(b) with
DT-SNN, Fig. 5(a), Fig. 5(b) and the 16x claim.

Every ``ours`` is computed by the one engine from ``archspecs/sata.yaml`` and the network files: Table II, its
improvement factors and Fig. 4(b)'s tool totals under the arch's ``sata-compat`` profile (the public tool's
schedule and named counting options, :mod:`costmodel.accounting`), the dataflow rows and Fig. 5(a) under the
native profile on heuristic mappings of the ``os`` / ``ws`` / ``time-batched`` dataflows (Fig. 5(a) also with
SATA's pricing of every element access at the full block energy), the ``-best`` rows with stored CP-SAT mappings
re-priced every run (:mod:`spikeloop.experiments.sata_search`). DT-SNN rows price a measured exit distribution
(:mod:`spikeloop.experiments.dt`). The paper's numbers are printed beside ours only (``Row.paper``); the one
labelled exception is the DT-SNN sensitivity row at the paper's stated mean (id ``...-paper``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from costmodel import scalesim
from costmodel.accounting import Accounting
from costmodel.arch import Arch, load_arch, with_lif_sharing
from costmodel.cost import Cost
from costmodel.evaluate import evaluate
from costmodel.mapping import Invalid, LevelMapping, Loop, Mapping
from costmodel.network_eval import NetworkResult, evaluate_network
from costmodel.types import TENSORS, Action, Dim, Granularity, Tensor
from costmodel.workload import Layer, Network
from mappers.dataflows import DATAFLOWS, TPlacement
from mappers.heuristic import heuristic_mapping
from spikeloop.engine import Options, run_network
from spikeloop.experiments import dt
from spikeloop.experiments.sata_search import COMMAND as SEARCH_COMMAND
from spikeloop.experiments.sata_search import Store, load_store
from spikeloop.experiments.works import BASELINE_SPIKE_DENSITY, BASELINE_T, WORKS
from spikeloop.experiments.works import network as network_of
from spikeloop.rows import Row

ARCH = "sata"
COMPAT = "sata-compat"
COMMAND = "spikeloop reproduce sata"
NETWORK = {"SBP": "sbp", "BNTT": "bntt", "Direct": "direct", "TSSL": "tssl", "LTH": "lth", "TDBN": "tdbn"}
#: Table II, SATA column (nJ) and its improvement factors "(N x)": printed beside ours only.
PAPER_TABLE2_NJ = {"SBP": 1.1e7, "BNTT": 0.6e7, "Direct": 3.8e7, "TSSL": 3.1e7, "LTH": 5.7e7, "TDBN": 5.4e7}
PAPER_TABLE2_X = {"SBP": 4.5, "BNTT": 2.8, "Direct": 2.3, "TSSL": 4.9, "LTH": 1.3, "TDBN": 6.8}
F4B_NETWORK = "vgg9-cifar10"
F4B_T = (1, 2, 3, 4)
F5A_NETWORK = "vgg9-tinyimagenet"
F5A_T = (1, 2, 4, 8)
PAPER_F4B_DT_REDUCTION = 46.5  # %
PAPER_DT_MEAN_TIMESTEPS = 2.14  # the paper's DT-SNN mean (stated for SpikeSim VGG16 Tiny-ImageNet): sensitivity only
PAPER_F5A_T4 = 62.5  # %
PAPER_F5B_LIF_SHARE = 61.6  # %
PAPER_F5B_C4_SAVING = 75.1  # %
PAPER_16X = 16.0
ENGINE_FLOWS = ("os", "ws", "time-batched")
SATA_PRICING = "sata-pricing"  # the F5a variant: every element access at the level's full per-block energy


def _nj(c: Cost) -> float:
    return c.total_energy_pj * 1e-3


def memory_levels(arch: Arch) -> tuple[str, ...]:
    """Storage levels whose accesses count as memory movement: the levels at and above the PE array's fanout
    (DRAM and the global buffers), not the per-PE scratchpads below it."""
    return tuple(lv.name for lv in arch.levels[: arch.array_level + 1])


# ------------------------------------------------------------------------------ mappings and costs, memoised
_MAPPINGS: dict[tuple, Mapping | Invalid] = {}
_COSTS: dict[tuple, tuple[Arch, Cost | Invalid]] = {}


def _shape_key(layer: Layer) -> tuple:
    return (
        layer.kind,
        layer.bounds,
        layer.stride,
        layer.padding,
        layer.in_h,
        layer.in_w,
        layer.weight_bits,
        layer.psum_bits,
        layer.membrane_bits,
    )


def heuristic(arch: Arch, layer: Layer, flow: str) -> Mapping | Invalid:
    """:func:`heuristic_mapping`, memoised by layer shape (names and densities do not change it).

    For a T-outermost dataflow the heuristic never places T below the outermost level, so the mapping
    for T = t is the T = 1 mapping with ``[T, t]`` put outermost at level 0: it is computed once.
    """
    fl = DATAFLOWS[flow]
    t = layer.bound(Dim.T)
    outer = fl.t_placement is TPlacement.OUTERMOST
    base = layer.with_timesteps(1) if outer else layer
    key = (arch.name, arch.file, flow, _shape_key(base))
    if key not in _MAPPINGS:
        _MAPPINGS[key] = heuristic_mapping(arch, base, fl)
    m = _MAPPINGS[key]
    if isinstance(m, Invalid) or not outer or t == 1:
        return m
    top = m.levels[0]
    levels = (
        LevelMapping(temporal=(Loop(Dim.T, t), *top.temporal), spatial=top.spatial, bypass=top.bypass),
        *m.levels[1:],
    )
    return Mapping(levels=levels)


def cost(arch: Arch, layer: Layer, mapping: Mapping, accounting: Accounting | None = None) -> Cost | Invalid:
    """:func:`costmodel.evaluate.evaluate`, memoised per (arch, layer, mapping, profile)."""
    key = (id(arch), layer, mapping, accounting)
    hit = _COSTS.get(key)
    if hit is None or hit[0] is not arch:
        hit = _COSTS[key] = (arch, evaluate(arch, layer, mapping, accounting))
    return hit[1]


def engine_network(
    arch: Arch, network: str | Network, flow: str, timesteps: int | None = None, accounting: Accounting | None = None
) -> NetworkResult:
    """The engine on a named dataflow's heuristic mapping, layer by layer (``accounting``: how it is priced)."""
    net = network_of(network, timesteps) if isinstance(network, str) else network
    return evaluate_network(arch, net, lambda layer: heuristic(arch, layer, flow), method=flow, accounting=accounting)


def heuristic_best(arch: Arch, layer: Layer) -> tuple[Mapping | Invalid, float]:
    """The lowest-energy of the named dataflows' heuristic mappings of ``layer`` (mapping, pJ)."""
    best: Mapping | Invalid = Invalid(reason=f"layer {layer.name}: no dataflow maps it")
    best_e = float("inf")
    for name in ENGINE_FLOWS:
        m = heuristic(arch, layer, name)
        if isinstance(m, Invalid):
            continue
        c = cost(arch, layer, m)
        if not isinstance(c, Invalid) and c.total_energy_pj < best_e:
            best, best_e = m, c.total_energy_pj
    return best, best_e


@dataclass(slots=True)
class BestStats:
    """What :func:`best_mapper` saw: per layer the stored search's status (``OPTIMAL``, ``FEASIBLE``, ``random``
    where CP-SAT found none and random search did, ``none``, ``unsearched``, ``invalid`` for a stored mapping the
    engine now refuses) and which mapping won (``won-search``, ``won-heuristic``); and the sum of the per-layer best
    heuristic energies (pJ)."""

    counts: Counter[str] = field(default_factory=Counter)
    heuristic_pj: float = 0.0


def best_mapper(arch: Arch, store: Store | None) -> tuple[Callable[[Layer], Mapping | Invalid], BestStats]:
    """Per layer: the better of the stored search mapping (:mod:`spikeloop.experiments.sata_search`) and
    :func:`heuristic_best`, and what it saw (:class:`BestStats`)."""
    stats = BestStats()
    counts = stats.counts

    def pick(layer: Layer) -> Mapping | Invalid:
        m_h, e_h = heuristic_best(arch, layer)
        stats.heuristic_pj += e_h
        stored = store.lookup(layer) if store is not None else None
        if stored is None:
            counts["unsearched"] += 1
        elif stored.mapping is None:
            counts["none"] += 1
        else:
            counts[stored.status if stored.method == "cpsat" else stored.method] += 1
            c = cost(arch, layer, stored.mapping)
            if isinstance(c, Invalid):
                counts["invalid"] += 1
            elif c.total_energy_pj < e_h:
                counts["won-search"] += 1
                return stored.mapping
        counts["won-heuristic"] += 1
        return m_h

    return pick, stats


def best_note(stats: BestStats, store: Store | None, why_no_store: str, total_pj: float) -> str:
    counts = stats.counts
    n = counts["won-search"] + counts["won-heuristic"]
    if store is None:
        return f"engine, per layer the best os / ws / time-batched heuristic mapping only: {why_no_store}; {n} layers"
    found = ", ".join(
        f"{k} {counts[k]}" for k in ("OPTIMAL", "FEASIBLE", "random", "none", "unsearched", "invalid") if counts[k]
    )
    stale = f"; {store.stale}" if store.stale else ""
    budget = "the deterministic budget" if store.time_limit_s is None else f"{store.time_limit_s:g} s per layer shape"
    return (
        f"engine, per layer the better of the search's mapping (CP-SAT, {budget}, random search where CP-SAT "
        f"found none; stored by {SEARCH_COMMAND}, re-priced now: {found}) "
        f"and the best os / ws / time-batched heuristic mapping: the search's won {counts['won-search']} of {n} "
        f"layers; {100 * (1 - total_pj / stats.heuristic_pj):.1f} % below the best heuristic per layer{stale}"
    )


# ------------------------------------------------------------------------------ parts of a cost
def compat_parts(arch: Arch, c: Cost) -> dict[str, float]:
    """Split a cost (pJ) into PE compute (AC, weight SPAD, LIF, PE static) and memory (accesses and leakage of
    :func:`memory_levels`)."""
    levels = memory_levels(arch)
    mem = sum(v for k, v in c.energy_pj.items() if k.component in levels)
    return {"compute": c.total_energy_pj - mem, "memory": mem}


def memory_by_tensor(arch: Arch, c: Cost) -> dict[Tensor, float]:
    """Access energy (read, write, update, transfer; no leakage) of :func:`memory_levels`, per tensor (pJ)."""
    levels = memory_levels(arch)
    out = dict.fromkeys(TENSORS, 0.0)
    for k, v in c.energy_pj.items():
        if k.component in levels and k.action is not Action.STATIC and k.tensor is not None:
            out[k.tensor] += v
    return out


def memory_movement_pj(arch: Arch, c: Cost) -> float:
    """Access energy (read, write, update, transfer) at :func:`memory_levels`; no leakage."""
    levels = memory_levels(arch)
    return sum(v for k, v in c.energy_pj.items() if k.component in levels and k.action is not Action.STATIC)


def _energy_split(arch: Arch, c: Cost) -> dict[str, float]:
    """pJ of memory accesses (:func:`memory_movement_pj`), static power (ungated and leakage) and the rest (gated
    PE operations: accumulations, weight SPAD reads, LIF updates)."""
    mem = memory_movement_pj(arch, c)
    static = c.energy_by(action=Action.STATIC)
    return {"memory accesses": mem, "static power": static, "gated PE ops": c.total_energy_pj - mem - static}


def _saving_split(arch: Arch, before: Cost, after: Cost) -> str:
    """Each tensor's share of the memory-access energy saved from ``before`` to ``after``."""
    b, a = memory_by_tensor(arch, before), memory_by_tensor(arch, after)
    saved = sum(b.values()) - sum(a.values())
    if saved == 0:
        return ""
    return ", ".join(f"{t.value} {100 * (b[t] - a[t]) / saved:.0f} %" for t in b if b[t] or a[t])


# ------------------------------------------------------------------------------ Table II
def tool_network(arch: Arch, network: str | Network, timesteps: int | None = None) -> NetworkResult:
    """The engine under the arch's ``sata-compat`` profile (the tool's schedule and counting options)."""
    net = network_of(network, timesteps) if isinstance(network, str) else network
    return run_network(arch, net, opts=Options(profile=COMPAT))


def table2_rows(arch: Arch, works: tuple[str, ...] = WORKS) -> list[Row]:
    """``table2-sata-<WORK>`` (sata-compat), the improvement factors and the engine's ``-os``, ``-time-batched``,
    ``-best`` rows."""
    return [*table2_compat_rows(arch, works), *table2_x_rows(arch, works), *table2_engine_rows(arch, works)]


def table2_compat_rows(arch: Arch, works: tuple[str, ...] = WORKS) -> list[Row]:
    out: list[Row] = []
    for w in works:
        res = tool_network(arch, NETWORK[w])
        tot = res.total
        dram_i = tot.energy_by(component=arch.levels[0].name, tensor=Tensor.I)
        static = tot.energy_by(action=Action.STATIC)
        out.append(
            Row(
                id=f"table2-sata-{w}",
                paper=PAPER_TABLE2_NJ[w],
                ours=_nj(tot),
                unit="nJ",
                note=(
                    f"{COMPAT} on {NETWORK[w]} (T={res.network.timesteps}): the engine on the tool's output-stationary "
                    f"schedule; static (ungated + leakage) power x {tot.cycles:.3g} cycles is "
                    f"{100 * static / tot.total_energy_pj:.0f} % of the total, {arch.levels[0].name} ifmap reads "
                    f"(bands that fit the ifmap buffer) {100 * dram_i / tot.total_energy_pj:.0f} %"
                ),
                command=f"spikeloop evaluate --arch {ARCH} --network {NETWORK[w]} --profile {COMPAT}",
            )
        )
    return out


def baseline_network(network: Network, timesteps: int) -> Network:
    """The work's network as its baseline: ``timesteps`` and every layer at :data:`BASELINE_SPIKE_DENSITY`."""
    base = network.with_timesteps(timesteps)
    return replace(
        base,
        name=f"{network.name}-baseline",
        layers=tuple(la.with_spike_density(BASELINE_SPIKE_DENSITY) for la in base.layers),
    )


def table2_x_rows(arch: Arch, works: tuple[str, ...] = WORKS) -> list[Row]:
    """``table2-x-sata-<WORK>``: E(baseline) / E(work), both under sata-compat (works with a baseline only)."""
    out: list[Row] = []
    for w in works:
        if w not in BASELINE_T:
            continue
        net = network_of(NETWORK[w])
        work, base = tool_network(arch, net).total, tool_network(arch, baseline_network(net, BASELINE_T[w])).total
        split_w, split_b = _energy_split(arch, work), _energy_split(arch, base)
        density = net.layers[0].mean_spike_density
        growth = ", ".join(f"{k} x{split_b[k] / split_w[k]:.2f}" for k in split_w if split_w[k])
        out.append(
            Row(
                id=f"table2-x-sata-{w}",
                paper=PAPER_TABLE2_X[w],
                ours=base.total_energy_pj / work.total_energy_pj,
                unit="x",
                note=(
                    f"{COMPAT}: {NETWORK[w]} at its baseline's T={BASELINE_T[w]} and spike density "
                    f"{BASELINE_SPIKE_DENSITY:g} ({_nj(base):.4g} nJ) over T={net.timesteps}, density {density:g} "
                    f"({_nj(work):.4g} nJ); T ratio {BASELINE_T[w] / net.timesteps:.2f}; {growth}"
                ),
                command=(
                    f"spikeloop evaluate --arch {ARCH} --network {NETWORK[w]} --profile {COMPAT} "
                    f"-T {BASELINE_T[w]} (spike density {BASELINE_SPIKE_DENSITY:g})"
                ),
            )
        )
    return out


def _psum_note(arch: Arch, network: Network) -> str:
    """Whether a PE's T partial sums fit the innermost level that keeps them (for the time-batched note)."""
    li = max(i for i, lv in enumerate(arch.levels) if Tensor.O in lv.keeps)
    lv = arch.levels[li]
    cap = lv.tensor_capacity(Tensor.O) or lv.capacity_bits
    layer = next(la for la in network.layers if la.has_weights)
    need = network.timesteps * layer.psum_bits
    if cap is None or need <= cap:
        return ""
    return (
        f" (SATA's per-cycle power makes cycles decide: a PE's {network.timesteps} partial sums need {need} bits, "
        f"{lv.name} holds {cap}, so the greedy mapping has shorter PE passes and more systolic fill/drain)"
    )


def table2_engine_rows(
    arch: Arch, works: tuple[str, ...] = WORKS, store: Store | None = None, why_no_store: str = ""
) -> list[Row]:
    out: list[Row] = []
    if store is None and not why_no_store:
        store, why_no_store = load_store(arch)
    for w in works:
        net = network_of(NETWORK[w])
        runs = {flow: engine_network(arch, net, flow) for flow in ("os", "time-batched")}
        for flow, r in runs.items():
            mem = memory_movement_pj(arch, r.total) * 1e-3
            static = r.total.energy_by(action=Action.STATIC) / r.total.total_energy_pj
            note = (
                f"engine, {flow} heuristic mapping, T={net.timesteps}; {'+'.join(memory_levels(arch))} access "
                f"energy {mem:.3g} nJ, {r.total.cycles:.3g} cycles, static (ungated + leakage) "
                f"{100 * static:.0f} % of the total"
            )
            if flow == "time-batched":
                os_ = runs["os"].total
                ratio = r.total.cycles / os_.cycles
                note += (
                    f"; vs os: memory x{memory_movement_pj(arch, r.total) / memory_movement_pj(arch, os_):.2f}, "
                    f"cycles x{ratio:.2f}"
                )
                if ratio > 1.02:
                    note += _psum_note(arch, net)
            out.append(
                Row(id=f"table2-sata-{w}-{flow}", paper=None, ours=_nj(r.total), unit="nJ", note=note, command=COMMAND)
            )
        pick, stats = best_mapper(arch, store)
        r = evaluate_network(arch, net, pick, method="best")
        out.append(
            Row(
                id=f"table2-sata-{w}-best",
                paper=None,
                ours=_nj(r.total),
                unit="nJ",
                note=best_note(stats, store, why_no_store, r.total.total_energy_pj),
                command=COMMAND,
            )
        )
    return out


# ------------------------------------------------------------------------------ Fig. 4(b)
def f4b_rows(arch: Arch) -> list[Row]:
    """Fig. 4(b): energy vs T with compute and memory parts (``ours``: the engine on the ``os`` dataflow, T
    outermost: the network runs timestep by timestep, as the figure's linear growth of both parts implies).
    ``parts`` also carry the sata-compat total (nJ), whose memory traffic is counted once for all timesteps, for
    the DT-SNN rows (:func:`f4b_dt_rows`)."""
    out: list[Row] = []
    for t in F4B_T:
        c = engine_network(arch, F4B_NETWORK, "os", t).total
        parts = compat_parts(arch, c)
        tool = tool_network(arch, F4B_NETWORK, t).total
        tool_mem = memory_movement_pj(arch, tool)
        out.append(
            Row(
                id=f"f4b-energy-T{t}",
                paper=None,
                ours=_nj(c),
                unit="nJ",
                note=(
                    f"engine os, VGG9 CIFAR-10: compute {parts['compute'] * 1e-3:.3g} nJ (PE ops, SPADs, PE static), "
                    f"memory {parts['memory'] * 1e-3:.3g} nJ ({'+'.join(memory_levels(arch))} accesses and leakage); "
                    f"{COMPAT} total {_nj(tool):.3g} nJ (memory accesses {tool_mem * 1e-3:.3g} nJ)"
                ),
                command=COMMAND,
                parts=(
                    ("compute", parts["compute"] * 1e-3),
                    ("memory", parts["memory"] * 1e-3),
                    (COMPAT, _nj(tool)),
                    (f"{COMPAT} memory accesses", tool_mem * 1e-3),
                ),
            )
        )
    return out


def f4b_dt_rows(f4b: Sequence[Row], fractions: Sequence[float], source: str) -> list[Row]:
    """``f4b-dt-energy-reduction`` (the measured exit distribution) and its sensitivity to the mean exit timestep,
    from the ``f4b-energy-T<t>`` rows (engine os; sata-compat in their parts)."""
    by_t = {int(r.id.removeprefix("f4b-energy-T")): r for r in f4b if r.id.startswith("f4b-energy-T")}
    steps = max(by_t)
    engine = [by_t[t].ours for t in range(1, steps + 1)]
    tool = [dict(by_t[t].parts)[COMPAT] for t in range(1, steps + 1)]
    fr = list(fractions)
    if not fr or len(fr) > steps:
        fr, source = [1.0] + [0.0] * (steps - 1), f"upper bound, every input exits at T=1 ({source})"
    fr += [0.0] * (steps - len(fr))
    mem = [dict(by_t[t].parts)[f"{COMPAT} memory accesses"] for t in (1, steps)]
    main = Row(
        id="f4b-dt-energy-reduction",
        paper=PAPER_F4B_DT_REDUCTION,
        ours=dt.energy_reduction_pct(engine, fr),
        unit="%",
        note=(
            f"engine os, VGG9 CIFAR-10, expected energy of the {source} vs T={steps}; {COMPAT} gives "
            f"{dt.energy_reduction_pct(tool, fr):.1f} % (its memory accesses x{mem[1] / mem[0]:.2f} from T=1 to "
            f"T={steps})"
        ),
        command=COMMAND,
        parts=(("mean_timesteps", dt.mean_timesteps(fr)),),
    )
    sens = dt.dt_sensitivity_rows(
        id_prefix="f4b-dt-energy-reduction",
        reduction=lambda f: dt.energy_reduction_pct(engine, f),
        steps=steps,
        unit="%",
        what=f"engine os, VGG9 CIFAR-10, expected energy vs T={steps}",
        command=COMMAND,
        paper_mean=PAPER_DT_MEAN_TIMESTEPS,
        paper_value=PAPER_F4B_DT_REDUCTION,
    )
    return [main, *sens]


def sixteen_x_row(arch: Arch) -> Row:
    """The paper's "an SNN with 16 timesteps can cost up to 16x its ANN on a systolic array".

    spikeloop models spiking layers only (1-bit activations, accumulate-only PEs, LIF), so the ANN
    side is approximated by one SNN timestep: E(T=16) / E(T=1) of VGG9 CIFAR-10 under ``os``. An
    8-bit ANN pass moves 8x wider activations and multiplies, so the true SNN/ANN ratio is below this.
    """
    t_hi = 16
    e16 = engine_network(arch, F4B_NETWORK, "os", t_hi).total.total_energy_pj
    e1 = engine_network(arch, F4B_NETWORK, "os", 1).total.total_energy_pj
    return Row(
        id="16x-snn-t16-vs-one-pass",
        paper=PAPER_16X,
        ours=e16 / e1,
        unit="x",
        note=(
            f"proxy: E(T={t_hi})/E(T=1), VGG9 CIFAR-10 on SATA, os (T outermost) - an upper bound on SNN/ANN since "
            "an 8-bit ANN pass costs more than one SNN timestep (spikeloop has no ANN model)"
        ),
        command=COMMAND,
    )


# ------------------------------------------------------------------------------ Fig. 5
def f5a_rows(arch: Arch) -> list[Row]:
    """``f5a-memory-saving-T<t>``: memory-movement energy saved by time-batched over os, priced per packed word
    at each level's word energy (ours), and ``-sata-pricing``: every element (spike, byte, partial sum) at the
    level's full per-block energy, as SATA's tool prices accesses."""
    out: list[Row] = []
    pricing = {"": None, f"-{SATA_PRICING}": arch.profile().with_overrides(access_granularity=Granularity.ELEMENT)}
    for t in F5A_T:
        net = network_of(F5A_NETWORK, t)
        for suffix, acc in pricing.items():
            os_c = engine_network(arch, net, "os", accounting=acc).total
            tb_c = engine_network(arch, net, "time-batched", accounting=acc).total
            os_, tb = memory_movement_pj(arch, os_c), memory_movement_pj(arch, tb_c)
            how = (
                "every element access at the full block energy (SATA's pricing)"
                if acc is not None
                else "packed words at each level's word energy"
            )
            note = (
                f"engine, VGG9 Tiny-ImageNet T={t}, {how}: {'+'.join(memory_levels(arch))} access energy os "
                f"{os_ * 1e-3:.3g} nJ, time-batched {tb * 1e-3:.3g} nJ"
            )
            if t == 4:
                note += f"; share of the saving by tensor: {_saving_split(arch, os_c, tb_c)}"
            out.append(
                Row(
                    id=f"f5a-memory-saving-T{t}{suffix}",
                    paper=PAPER_F5A_T4 if t == 4 else None,
                    ours=100 * (1 - tb / os_),
                    unit="%",
                    note=note,
                    command=COMMAND,
                )
            )
    return out


def f5b_rows(arch: Arch) -> list[Row]:
    share = 100 * scalesim.lif_power_share(arch)
    c4 = with_lif_sharing(arch, 4)
    saving = 100 * (1 - scalesim.lif_power_pj_per_cycle(c4) / scalesim.lif_power_pj_per_cycle(arch))
    c = arch.compute
    return [
        Row(
            id="f5b-lif-share",
            paper=PAPER_F5B_LIF_SHARE,
            ours=share,
            unit="%",
            note=(
                f"LIF (comparator+subtractor {c.lif_static_pj_per_cycle} + registers {c.lif_pj} pJ/cycle) over "
                f"LIF + MAC (AND+adder {c.static_pj_per_cycle} + accumulator {c.ac_pj}), {arch.pes} PEs; the "
                "paper's figure is EfficientLIF-Net's"
            ),
            command=COMMAND,
        ),
        Row(
            id="f5b-c4-lif-saving",
            paper=PAPER_F5B_C4_SAVING,
            ours=saving,
            unit="%",
            note=f"C#4 sharing: {c4.lif_units} instead of {arch.lif_units} LIF units (lif_sharing: 4 in the spec)",
            command=COMMAND,
        ),
    ]


# ------------------------------------------------------------------------------ running them
#: independent pieces of work, heaviest first (workloads sharing layer shapes stay together, for the mapping
#: memo); each runs in one process
TASKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("table2-engine", ("Direct", "TSSL")),
    ("table2-engine", ("LTH", "TDBN")),
    ("table2-engine", ("SBP", "BNTT")),
    ("f5a", ()),
    ("compat", WORKS),
)


def run_task(task: tuple[str, tuple[str, ...]]) -> list[Row]:
    """One piece of :data:`TASKS` (a top-level function, so a process pool can run it)."""
    kind, works = task
    arch = load_arch(ARCH)
    if kind == "table2-engine":
        return table2_engine_rows(arch, works)
    if kind == "f5a":
        return f5a_rows(arch)
    return [
        *table2_compat_rows(arch, works),
        *table2_x_rows(arch, works),
        *f4b_rows(arch),
        *f5b_rows(arch),
        sixteen_x_row(arch),
    ]


def _order(rows_: list[Row]) -> list[Row]:
    """Stable report order: Table II compat, improvement factors, engine (by work), Fig. 4(b), 5(a), 5(b), 16x."""

    def key(r: Row) -> tuple:
        if r.id.startswith("table2-x-"):
            return (1, WORKS.index(r.id.rsplit("-", 1)[1]), r.id)
        if r.id.startswith("table2-sata-"):
            parts = r.id.split("-", 3)
            return (0 if len(parts) == 3 else 2, WORKS.index(parts[2]), r.id)
        return ({"f4b": 3, "f5a": 4, "f5b": 5, "16x": 6}[r.id[:3]], 1 if "-dt-" in r.id else 0, "-mean-" in r.id, r.id)

    return sorted(rows_, key=key)


class Pending:
    """The :data:`TASKS` running in a process pool (:func:`start`); :func:`finish` collects them."""

    def __init__(self, pool, futures: list) -> None:  # noqa: ANN001 - a ProcessPoolExecutor
        self.pool = pool
        self.futures = futures

    def collect(self) -> list[Row]:
        try:
            return [r for f in self.futures for r in f.result()]
        finally:
            self.pool.shutdown()


def start(workers: int | None = None) -> Pending | None:
    """Start the :data:`TASKS` on up to ``workers`` processes (default: 2 if the machine has them) and return at
    once, so the caller can do other work meanwhile; None where there is no process pool (or one worker)."""
    import os

    n = workers if workers is not None else min(2, os.cpu_count() or 1)
    if n <= 1:
        return None
    try:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=n)
        return Pending(pool, [pool.submit(run_task, task) for task in TASKS])
    except (OSError, RuntimeError):  # no process pool here (sandbox, frozen app)
        return None


def finish(pending: Pending | None) -> list[Row]:
    """The rows of a started run (or of the :data:`TASKS` run here, one after another), with the DT-SNN rows."""
    from concurrent.futures.process import BrokenProcessPool

    out: list[Row] | None = None
    if pending is not None:
        try:
            out = pending.collect()
        except (OSError, RuntimeError, BrokenProcessPool):  # the pool broke: run serially
            out = None
    if out is None:
        out = [r for task in TASKS for r in run_task(task)]
    fractions, source = dt.exit_distribution()
    out.extend(f4b_dt_rows([r for r in out if r.id.startswith("f4b-energy-T")], fractions, source))
    return _order(out)


def rows(quiet: bool = True, workers: int | None = None) -> list[Row]:  # noqa: ARG001
    """Every SATA row: :func:`start` then :func:`finish`."""
    return finish(start(workers))
