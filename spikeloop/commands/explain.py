"""``spikeloop explain``: one layer's access counts and energies as formulas (Markdown).

The loop structure is the dataflow's heuristic mapping (or ``--mapping FILE``); every count is
printed as a sympy formula in the layer dims (:mod:`costmodel.symbolic`), next to its value at
the layer and a check against :func:`costmodel.evaluate.evaluate`.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

import sympy as sp

from costmodel.accounting import Accounting
from costmodel.arch import Arch, load_arch
from costmodel.cost import Cost, Key
from costmodel.evaluate import bits_of, evaluate
from costmodel.mapping import Invalid, Mapping
from costmodel.network import load_network
from costmodel.network_eval import accounting_layers
from costmodel.symbolic import (
    CYCLES,
    DIM_SYMBOLS,
    RHO,
    SymbolicCost,
    formula,
    layer_form,
    resolve_piecewise,
    simplify_counts,
    symbolic_cost,
)
from costmodel.types import DIMS, Action, Tensor
from costmodel.workload import Layer
from spikeloop.cli import UserError
from spikeloop.cliargs import add_accounting, add_arch_network, positive_int
from spikeloop.engine import Options, mapper, resolve
from spikeloop.formatting import table

REL_TOL = 1e-9


@dataclass(frozen=True, slots=True)
class Explained:
    """The Markdown report, how many values were checked against evaluate(), and the mismatches."""

    markdown: str
    checked: int
    mismatches: tuple[str, ...]
    symbolic: SymbolicCost
    cost: Cost


def _num(x: float) -> str:
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:,.6g}" if abs(x) >= 1e-3 else f"{x:.6g}"


class _Checker:
    def __init__(self) -> None:
        self.checked = 0
        self.bad: list[str] = []

    def __call__(self, what: str, ours: float, theirs: float) -> str:
        self.checked += 1
        if math.isclose(ours, theirs, rel_tol=REL_TOL, abs_tol=1e-9):
            return "="
        self.bad.append(f"{what}: formula gives {ours!r}, evaluate() gives {theirs!r}")
        return f"**differs: {_num(theirs)}**"


def explain_layer(
    arch: Arch, layer: Layer, mapping: Mapping, *, title: str = "", accounting: Accounting | None = None
) -> Explained:
    """The explanation of one layer under one mapping and accounting profile (raises ValueError if the mapping
    is invalid)."""
    cost = evaluate(arch, layer, mapping, accounting)
    if isinstance(cost, Invalid):
        raise ValueError(f"layer {layer.name}: {cost}")
    sc = symbolic_cost(arch, layer, mapping, accounting=accounting)
    vals = sc.values
    lp = sc.layer_priced
    check = _Checker()
    piecewise_used = False

    def show(expr: sp.Expr) -> str:
        nonlocal piecewise_used
        e = sp.sympify(expr)
        if e.has(sp.Piecewise):
            piecewise_used = True
            return formula(simplify_counts(resolve_piecewise(e, vals))) + " †"
        return formula(simplify_counts(e))

    def at(expr: sp.Expr) -> float:
        return float(sp.sympify(expr).xreplace(vals))

    out: list[str] = []
    dims = ", ".join(f"{d.value} = {layer.bound(d)}" for d in DIMS)
    out.append(f"# {title or f'{layer.name} on {arch.name}'}\n")
    out.append(
        f"Layer `{layer.name}` ({layer.kind.value}): {dims}; stride {layer.stride}; "
        f"mean input spike density rho = {layer.mean_spike_density:g}; bits: W {layer.weight_bits}, "
        f"I/S 1, O {layer.psum_bits}, U {layer.membrane_bits}. T sits at: {mapping.t_position()}.\n"
    )
    out.append(
        "Counts are in elements; words = elements x bits / word bits (one access per element where a "
        "level reads per element). A dim held by one loop appears as itself; a dim split over several "
        "loops keeps its inner loops as named sub-factors and its outermost loop is the rest. Loops of "
        "bound 1 are absent. Energies in pJ; `=` means the formula's value equals `evaluate()`.\n"
    )

    estimated = _estimates_section(arch)
    if estimated:
        out.append(estimated)

    # ---- loop nest
    sub = layer_form(sc.nest)
    rows = []
    view = sc.nest.view
    for j, sym in enumerate(sc.nest.factors):
        pos = view.positions[j]
        kind = f"spatial ({pos.axis.value})" if pos.axis is not None else "temporal"
        shown = sub.get(sym, sym)
        rows.append(
            [
                arch.levels[pos.level].name,
                f"{pos.dim.value} {kind}",
                str(sym),
                formula(shown) if shown != sym else "sub-factor",
                _num(int(sc.bounds[j])),
            ]
        )
    out.append("## Loop nest (outer to inner)\n")
    out.append(table(["level", "loop", "symbol", "in layer dims", "value"], rows) + "\n")

    # ---- storage levels
    for li, lv in enumerate(arch.levels):
        rows = []
        for t in Tensor:
            for action in (Action.READ, Action.WRITE, Action.UPDATE, Action.TRANSFER):
                key = Key(lv.name, t, action)
                if key not in lp.counts:
                    continue
                n_val = at(lp.elements[key])
                if n_val == 0.0 and key not in cost.counts:
                    continue
                w_val = at(lp.counts[key])
                e_val = at(lp.energy[key])
                ok_w = check(f"{key.label} count", w_val, cost.counts.get(key, 0.0))
                ok_e = check(f"{key.label} energy", e_val, cost.energy_pj.get(key, 0.0))
                words = _num(w_val) if action is not Action.TRANSFER else "-"
                rows.append(
                    [
                        t.value,
                        action.value,
                        show(lp.elements[key]),
                        _num(n_val),
                        words,
                        show(lp.energy[key]),
                        _num(e_val),
                        ok_w if ok_w != "=" else ok_e,
                    ]
                )
        if not rows:
            continue
        e = ", ".join(f"{a.value} {lv.energy(a):g}" for a in (Action.READ, Action.WRITE, Action.UPDATE))
        link = f"; link {lv.link_pj_per_bit:g} pJ/bit" if lv.link_pj_per_bit else ""
        gran = lv.access_granularity.value
        keeps = "".join(sorted(x.value for x in (view.keeps or view.may_keep)[li]))
        out.append(
            f"## {lv.name} (keeps {keeps}; {lv.word_bits}-bit words, {gran}; "
            f"pJ per word: {e}{link}; x{arch.instances(li)} instances)\n"
        )
        gated = (
            f" Compute-side reads of {', '.join(sorted(x.value for x in lv.spike_gated))} are spike-gated (x rho)."
            if lv.spike_gated
            else ""
        )
        tiles = ", ".join(
            f"{x.value}: {formula(simplify_counts(lp.tiles[(li, x)]))} "
            f"= {_num(at(lp.tiles[(li, x)]))} x {bits_of(layer, x)} b"
            for x in Tensor
            if (li, x) in lp.tiles
        )
        out.append(f"Tiles per instance: {tiles}.{gated}\n")
        out.append(
            table(["tensor", "action", "elements", "value", "words", "energy (pJ)", "value", "evaluate()"], rows) + "\n"
        )

    # ---- actions of components that are not storage levels (a crossbar's column periphery, per-PE-cycle charges)
    names = {lv.name for lv in arch.levels} | {"compute", "lif"}
    rows = []
    for key in sorted((k for k in lp.counts if k.component not in names), key=lambda k: k.label):
        n_val, e_val = at(lp.counts[key]), at(lp.energy[key])
        ok = check(f"{key.label} count", n_val, cost.counts.get(key, 0.0))
        ok_e = check(f"{key.label} energy", e_val, cost.energy_pj.get(key, 0.0))
        rows.append(
            [key.label, show(lp.counts[key]), _num(n_val), show(lp.energy[key]), _num(e_val), ok if ok != "=" else ok_e]
        )
    if rows:
        out.append("## Crossbar periphery and other actions\n")
        out.append(table(["action", "count", "value", "energy (pJ)", "value", "evaluate()"], rows) + "\n")

    # ---- compute
    rows = []
    for action, label in ((Action.AC, "accumulations"), (Action.LIF, "LIF updates")):
        key = Key("compute", None, action)
        n_val, e_val = at(lp.counts[key]), at(lp.energy[key])
        ok = check(f"{key.label} count", n_val, cost.counts.get(key, 0.0))
        ok_e = check(f"{key.label} energy", e_val, cost.energy_pj.get(key, 0.0))
        rows.append(
            [label, show(lp.counts[key]), _num(n_val), show(lp.energy[key]), _num(e_val), ok if ok != "=" else ok_e]
        )
    units = f"{arch.pes} crossbar cells" if arch.crossbar is not None else f"{arch.pes} PEs"
    out.append(f"## Compute ({units}, {arch.lif_units} LIF units)\n")
    out.append(table(["operation", "count", "value", "energy (pJ)", "value", "evaluate()"], rows) + "\n")

    # ---- cycles and static energy
    rows = [[label, show(term), _num(at(term))] for label, term in zip(lp.cycle_labels, lp.cycle_terms, strict=True)]
    cyc = float(vals[CYCLES])
    ok = check("cycles", cyc, cost.cycles)
    out.append("## Cycles = max of\n")
    out.append(table(["term", "formula", "value"], rows) + "\n")
    out.append(f"cycles = {_num(cyc)} ({ok} evaluate())\n")
    static = [(k, v) for k, v in lp.energy.items() if k.action is Action.STATIC]
    if static:
        rows = []
        for k, v in static:
            e_val = at(v)
            rows.append([k.label, formula(v), _num(e_val), check(f"{k.label} energy", e_val, cost.energy_pj[k])])
        out.append("## Static energy\n")
        out.append(table(["component", "energy (pJ)", "value", "evaluate()"], rows) + "\n")

    # ---- totals
    total = at(lp.total())
    ok = check("total energy", total, cost.total_energy_pj)
    out.append("## Total\n")
    dyn = sp.Add(
        *(simplify_counts(resolve_piecewise(v, vals)) for k, v in lp.energy.items() if k.action is not Action.STATIC)
    )
    out.append(f"dynamic energy (pJ) = {formula(dyn)}\n")
    out.append(f"total energy = {_num(total)} pJ ({ok} evaluate(): {_num(cost.total_energy_pj)} pJ)\n")
    if piecewise_used:
        out.append(
            "† input windows: the sliding-window branch that holds at this layer (E = (p-1)*stride + r "
            "when r >= stride, else p*r); the general form is a Piecewise.\n"
        )
    if check.bad:
        out.append("**Mismatches:**\n\n" + "\n".join(f"- {b}" for b in check.bad) + "\n")
    else:
        out.append(f"All {check.checked} values equal `evaluate()` (relative tolerance {REL_TOL:g}).\n")
    _ = (DIM_SYMBOLS, RHO)  # the symbols a reader meets: T N K C P Q R S, rho
    return Explained(
        markdown="\n".join(out), checked=check.checked, mismatches=tuple(check.bad), symbolic=sc, cost=cost
    )


def _shown(value: object) -> str:
    """An estimate input as YAML writes it (true, 28, 1.5e+08)."""
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


def _estimates_section(arch: Arch) -> str:
    """The resolved numbers of the levels priced by ``estimate:`` blocks (empty when there are none): what each
    was estimated from and the per-action energies, static energy and area the counts below are priced with."""
    from costmodel.components import level_estimates

    estimates = level_estimates(arch)
    if not estimates:
        return ""
    rows = []
    for name, est in estimates.items():
        inputs = ", ".join(f"{k} {_shown(v)}" for k, v in est["inputs"].items() if v is not None)
        rows.append(
            [
                name,
                est["class"],
                inputs,
                f"{est['read_pj']:.6g}",
                f"{est['write_pj']:.6g}",
                f"{est['update_pj']:.6g}",
                f"{est['leakage_mw']:.6g}",
                f"{est['static_pj_per_cycle']:.6g}",
                f"{est['area_um2']:.6g}",
                _num(est["instances"]),
            ]
        )
    sources = sorted({est["source"] for est in estimates.values()})
    return (
        "## Estimated levels\n\n"
        "These levels give `estimate:` blocks: their per-word energies, static energy and area are the "
        "component estimates below (per instance), used by every count that follows.\n\n"
        + table(
            [
                "level",
                "class",
                "estimated from",
                "read pJ",
                "write pJ",
                "update pJ",
                "leakage mW",
                "static pJ/cycle",
                "area µm²",
                "instances",
            ],
            rows,
        )
        + "\n\n"
        + "\n".join(f"Source: {s}." for s in sources)
        + "\n"
    )


def run_explain(
    arch_name: str,
    network_name: str,
    layer_name: str,
    *,
    dataflow: str | None = None,
    timesteps: int | None = None,
    mapping_file: str | None = None,
    opts: Options | None = None,
) -> Explained:
    """The Python face of ``spikeloop explain``: the layer as the profile counts it, mapped as ``evaluate`` maps
    it (the dataflow, or the layer's mapping in a mapping file)."""
    arch, acc = resolve(load_arch(arch_name), opts)
    network = load_network(network_name, timesteps=timesteps)
    network.layer(layer_name)  # a KeyError naming the layers
    layer = next(la for la in accounting_layers(network, acc) if la.name == layer_name)
    if not layer.has_weights:
        raise UserError(
            f"layer {layer_name} is a {layer.kind.value} layer; explain covers conv and linear layers "
            "(pool/add layers are priced as outermost-level traffic only)"
        )
    fn, how = mapper(arch, dataflow=dataflow, mapping_file=mapping_file, accounting=acc)
    m = fn(layer)
    if isinstance(m, Invalid):
        raise UserError(f"layer {layer_name}: no legal mapping ({how}): {m}")
    title = f"{layer.name} of {network.name} on {arch.name}, {how}, profile {acc.name}, T = {layer.bound(DIMS[0])}"
    return explain_layer(arch, layer, m, title=title, accounting=acc)


def _cmd(args: argparse.Namespace) -> int:
    if args.mapping and args.dataflow_given:
        raise UserError("give either --mapping or --dataflow, not both")
    opts = Options(profile=args.profile, activity=args.activity, latency=args.latency, lif_sharing=args.lif_sharing)
    result = run_explain(
        args.arch,
        args.network,
        args.layer,
        dataflow=args.dataflow,
        timesteps=args.T,
        opts=opts,
        mapping_file=args.mapping,
    )
    print(result.markdown)
    return 1 if result.mismatches else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain",
        help="one layer's access counts and energies as formulas",
        description="Print each level's per-tensor access counts and energies as formulas in the "
        "layer dims (Markdown), with their values and a check against evaluate().",
    )
    add_arch_network(p, layer=True)
    add_accounting(p)
    p.add_argument(
        "--mapping",
        default=None,
        help="a mapping file instead of the dataflow's mapping (one mapping, "
        "or the per-layer mappings of evaluate --json)",
    )
    p.add_argument("-T", type=positive_int, default=None, help="timesteps (default: the network file's)")
    p.set_defaults(func=_cmd, dataflow_given=False)


__all__ = ["run_explain", "explain_layer", "Explained"]
