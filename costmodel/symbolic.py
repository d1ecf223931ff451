"""The closed-form cost equations as sympy expressions (DESIGN.md section 4.1-4.4).

:mod:`costmodel.counts` and :mod:`costmodel.energy` evaluate the equations numerically for a
batch of factor arrays sharing one :class:`~costmodel.counts.NestStructure`. This module builds
the *same* equations for one structure with the loop bounds as symbols, so a reader can see a
count as a formula (``DRAM W reads = K*C*R*S*T`` when T is the outermost loop, ``K*C*R*S`` when
T sits inside the weight tile) and a search can evaluate the formulas with ``lambdify``.

Symbols
-------
* one *positional* symbol per loop of the nest, named ``<dim>_<level>`` (temporal) or
  ``<dim>_<level>_<axis>`` (spatial), e.g. ``K_DRAM``, ``K_GLB``, ``K_GLB_x``; a second loop
  of the same dim at the same place gets a suffix ``_2``;
* the layer dims :data:`DIM_SYMBOLS` (``T N K C P Q R S``), :data:`STRIDE`, the mean input
  spike density :data:`RHO`.

:func:`layer_form` rewrites positional symbols in the layer dims: a dim whose loops all sit at
one position is the layer dim itself (``K_GLB -> K``); a dim split over several positions keeps
the inner positions as named sub-factors and its outermost loop becomes the remainder
(``K_DRAM -> K/(K_GLB*K_GLB_x)``), so products over a whole dim cancel back to the dim.

Where a counts.py / energy.py function is plain arithmetic it is called as is on sympy objects
(:func:`~costmodel.counts.spill_transfers`, :func:`~costmodel.counts.fill_transfers`,
:func:`~costmodel.counts.parent_side`, :func:`~costmodel.counts.compute_side`,
:func:`~costmodel.counts.network_hops`,
:func:`~costmodel.energy.access_energy_pj`, :func:`~costmodel.energy.accumulations`,
:func:`~costmodel.energy.compute_energy_pj`, :func:`~costmodel.energy.static_energy_pj`,
:func:`~costmodel.energy.lif_cycles`, :func:`~costmodel.energy.bandwidth_cycles`). Where it uses
numpy-only operations (``np.where``, ``cumsum``, ``np.asarray``) a ``*_sym`` counterpart below
restates the same equation; ``tests/test_symbolic.py`` proves both agree.

Validity: bound-1 loops are absent from a symbolic nest. With ``general=False`` (the readable
form) every present loop is taken to have a bound > 1, which is what
:func:`costmodel.counts.residencies` tests (``f > 1``) to decide whether an irrelevant loop
re-uses a tile; with ``general=True`` that test stays in the expression as a ``Piecewise``, so
the formulas are exact for any bounds (used by :class:`LambdifiedBatch`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.printing.str import StrPrinter

from costmodel import counts as cq
from costmodel import energy as eq
from costmodel.arch import Arch
from costmodel.cost import Key
from costmodel.counts import NestStructure
from costmodel.evaluate import bits_of, nest_of, storage_actions
from costmodel.mapping import Mapping
from costmodel.types import ACCUMULATED, DIMS, OP_SPACE, RELEVANT, Action, Dim, Tensor
from costmodel.workload import Layer

Expr = sp.Expr


def _pos_int(name: str) -> sp.Symbol:
    return sp.Symbol(name, positive=True, integer=True)


DIM_SYMBOLS: dict[Dim, sp.Symbol] = {d: _pos_int(d.value) for d in DIMS}
STRIDE: sp.Symbol = _pos_int("stride")
RHO: sp.Symbol = sp.Symbol("rho", nonnegative=True)  # mean input spike density
CYCLES: sp.Symbol = sp.Symbol("cycles", positive=True)  # stands for the cycle count in static energies


def exact(x: float | int | Expr) -> Expr:
    """A spec number as an exact sympy number (``0.03 -> 3/100``), floats inside an expression too."""
    if isinstance(x, bool):
        raise TypeError("exact() of a bool")
    if isinstance(x, int):
        return sp.Integer(x)
    if isinstance(x, float):
        return sp.Rational(repr(x)) if math.isfinite(x) else sp.Float(x)
    expr = sp.sympify(x)
    floats = expr.atoms(sp.Float)
    return expr.xreplace({f: sp.Rational(repr(float(f))) for f in floats}) if floats else expr


def _prod(xs) -> Expr:  # noqa: ANN001
    return sp.Mul(*xs)


# ------------------------------------------------------------------------------ symbolic nest
@dataclass(frozen=True, slots=True)
class SymbolicNest:
    """A loop structure (bound-1 loops removed) with one positional symbol per loop."""

    structure: NestStructure
    factors: tuple[sp.Symbol, ...]
    level_names: tuple[str, ...]
    axes: tuple[str | None, ...]  # spatial axis per position (None for temporal)

    def positions(self, dim: Dim) -> list[int]:
        return [j for j, d in enumerate(self.structure.dim) if d is dim]

    def split_dims(self) -> list[Dim]:
        """Dims whose loops sit at more than one position."""
        return [d for d in DIMS if len(self.positions(d)) > 1]


def _symbol_name(dim: Dim, level_name: str, axis: str | None) -> str:
    lvl = re.sub(r"\W", "_", level_name)
    return f"{dim.value}_{lvl}" + (f"_{axis}" if axis else "")


def nest_from_structure(structure: NestStructure, level_names: Sequence[str],
                        axes: Sequence[str | None] | None = None) -> SymbolicNest:
    """Positional symbols for every loop of ``structure`` (all of them taken as present)."""
    axes = tuple(axes) if axes is not None else tuple(
        "x" if s else None for s in structure.spatial)
    seen: dict[str, int] = {}
    syms = []
    for lv, d, ax in zip(structure.level, structure.dim, axes, strict=True):
        name = _symbol_name(d, level_names[lv], ax)
        seen[name] = seen.get(name, 0) + 1
        syms.append(_pos_int(name if seen[name] == 1 else f"{name}_{seen[name]}"))
    return SymbolicNest(structure=structure, factors=tuple(syms), level_names=tuple(level_names), axes=axes)


def symbolic_nest(arch: Arch, mapping: Mapping) -> tuple[SymbolicNest, np.ndarray]:
    """The symbolic nest of a concrete mapping, and the (J,) bounds of its present loops.

    The structure is :func:`costmodel.evaluate.nest_of`'s with the bound-1 loops dropped.
    """
    structure, factors = nest_of(arch, mapping)
    axes_all = [lp.axis if lp.spatial else None for _, lp in mapping.loops()]
    keep = [j for j in range(factors.shape[1]) if factors[0, j] > 1]
    st = NestStructure(
        level=tuple(structure.level[j] for j in keep),
        dim=tuple(structure.dim[j] for j in keep),
        spatial=tuple(structure.spatial[j] for j in keep),
        keeps=structure.keeps,
    )
    nest = nest_from_structure(st, [lv.name for lv in arch.levels], [axes_all[j] for j in keep])
    return nest, factors[0, keep]


def layer_form(nest: SymbolicNest) -> dict[sp.Symbol, Expr]:
    """Substitution positional symbol -> layer-dim expression (see the module docstring)."""
    sub: dict[sp.Symbol, Expr] = {}
    for d in DIMS:
        pos = nest.positions(d)
        if not pos:
            continue
        if len(pos) == 1:
            sub[nest.factors[pos[0]]] = DIM_SYMBOLS[d]
        else:
            sub[nest.factors[pos[0]]] = DIM_SYMBOLS[d] / _prod(nest.factors[j] for j in pos[1:])
    return sub


def positional_values(nest: SymbolicNest, bounds: Sequence[int]) -> dict[sp.Symbol, int]:
    return {s: int(b) for s, b in zip(nest.factors, bounds, strict=True)}


def layer_values(layer: Layer, nest: SymbolicNest, bounds: Sequence[int]) -> dict[sp.Symbol, Expr]:
    """Values of every symbol of the layer form: the layer dims, inner sub-factors, stride, density."""
    vals: dict[sp.Symbol, Expr] = {DIM_SYMBOLS[d]: sp.Integer(layer.bound(d)) for d in DIMS}
    replaced = layer_form(nest)
    for s, b in zip(nest.factors, bounds, strict=True):
        if s not in replaced:  # an inner sub-factor of a split dim
            vals[s] = sp.Integer(int(b))
    vals[STRIDE] = sp.Integer(layer.stride)
    vals[RHO] = exact(layer.mean_spike_density)
    return vals


# ------------------------------------------------------------------------------ equations
def window_extent_sym(p: Expr, r: Expr, stride: Expr | int) -> Expr:
    """Symbolic counterpart of :func:`costmodel.counts.window_extent`.

    E = (p - 1) * stride + r if r >= stride, else p * r. When r = 1 both branches are p (any
    stride >= 1) and when p = 1 both are r, so those cases need no Piecewise.
    """
    if r == 1:
        return sp.sympify(p)
    if p == 1:
        return sp.sympify(r)
    return sp.Piecewise(((p - 1) * stride + r, sp.Ge(r, stride)), (p * r, True))


def tile_elements_sym(tensor: Tensor, extent: dict[Dim, Expr], stride: Expr | int) -> Expr:
    """Symbolic counterpart of :func:`costmodel.counts.tile_elements`.

    W: K*C*R*S; I: T*N*C*E(P,R)*E(Q,S); O, S: T*N*K*P*Q; U: N*K*P*Q (elements).
    """
    e = extent
    if tensor is Tensor.I:
        return (e[Dim.T] * e[Dim.N] * e[Dim.C]
                * window_extent_sym(e[Dim.P], e[Dim.R], stride)
                * window_extent_sym(e[Dim.Q], e[Dim.S], stride))
    return _prod(e[d] for d in DIMS if d in RELEVANT[tensor])


def residencies_sym(f_above: Sequence[Expr], relevant: Sequence[bool], *, general: bool = False) -> Expr:
    """Symbolic counterpart of :func:`costmodel.counts.residencies`.

    R = prod_j f_j^[relevant_j or any_{k>j}(relevant_k and f_k > 1)]. ``general=False``: every
    loop present has f > 1, so an irrelevant loop counts iff a relevant loop lies inside it;
    ``general=True``: the test f_k > 1 is kept (a Piecewise), exact for any bounds.
    """
    out: Expr = sp.Integer(1)
    inner: list[Expr] = []  # relevant loops strictly inside the current one
    for f, rel in reversed(list(zip(f_above, relevant, strict=True))):
        if rel:
            out = out * f
        elif inner:
            out = out * (sp.Piecewise((f, sp.Or(*[sp.Gt(x, 1) for x in inner])), (1, True)) if general else f)
        if rel and f != 1:
            inner.append(f)
    return out


def distinct_tiles_sym(f_above: Sequence[Expr], relevant: Sequence[bool]) -> Expr:
    """Symbolic counterpart of :func:`costmodel.counts.distinct_tiles`: D = prod of relevant bounds."""
    return _prod(f for f, rel in zip(f_above, relevant, strict=True) if rel)


def words_sym(elements: Expr, bits_per_element: int, word_bits: int, granularity: str) -> Expr:
    """Symbolic counterpart of :func:`costmodel.energy.words`: packed: n * bits / word_bits; element: n."""
    if granularity == "element":
        return elements
    return elements * sp.Rational(bits_per_element, word_bits)


def link_energy_pj_sym(elements: Expr, bits_per_element: int, pj_per_bit: float) -> Expr:
    """Symbolic counterpart of :func:`costmodel.energy.link_energy_pj`: E = n x bits x e_bit (pJ)."""
    return elements * bits_per_element * exact(pj_per_bit)


def compute_cycles_sym(temporal_iterations: Sequence[Expr], arch: Arch) -> Expr:
    """Symbolic counterpart of :func:`costmodel.energy.compute_cycles`.

    No systolic level: prod of every temporal bound; systolic fanout at level s (x by y):
    prod_{l<=s} It_l * (prod_{l>s} It_l + x + y - 2).
    """
    s = next((i for i, lv in enumerate(arch.levels) if lv.fanout.systolic), None)
    if s is None:
        return _prod(temporal_iterations)
    fo = arch.levels[s].fanout
    outer = _prod(it for i, it in enumerate(temporal_iterations) if i <= s)
    inner = _prod(it for i, it in enumerate(temporal_iterations) if i > s)
    return outer * (inner + fo.x + fo.y - 2)


# ------------------------------------------------------------------------------ the analysis
@dataclass(frozen=True, slots=True)
class SymbolicCounts:
    """:class:`costmodel.counts.AccessCounts` with sympy expressions instead of (M,) arrays."""

    reads: dict[tuple[int, Tensor], Expr]
    writes: dict[tuple[int, Tensor], Expr]
    updates: dict[tuple[int, Tensor], Expr]
    tiles: dict[tuple[int, Tensor], Expr]
    compute_side: dict[tuple[int, Tensor], Expr]
    fanout_traffic: dict[tuple[int, Tensor], Expr]
    macs: Expr
    lif_ops: Expr
    temporal_iterations: tuple[Expr, ...]

    def mapped(self, fn: Callable[[Expr], Expr]) -> SymbolicCounts:
        """Every expression through ``fn`` (e.g. a substitution)."""
        def m(d: dict) -> dict:
            return {k: fn(v) for k, v in d.items()}
        return SymbolicCounts(
            reads=m(self.reads), writes=m(self.writes), updates=m(self.updates), tiles=m(self.tiles),
            compute_side=m(self.compute_side), fanout_traffic=m(self.fanout_traffic),
            macs=fn(self.macs), lif_ops=fn(self.lif_ops),
            temporal_iterations=tuple(fn(x) for x in self.temporal_iterations),
        )


def symbolic_access_counts(nest: SymbolicNest, stride: Expr | int = STRIDE, *,
                           general: bool = False) -> SymbolicCounts:
    """Per-(level, tensor) reads, writes, updates as expressions: the symbolic
    :func:`costmodel.counts.access_counts` (same steps, same order, same helpers)."""
    st = nest.structure
    f = nest.factors
    lvl, dims, spatial = st.level, st.dim, st.spatial
    J = len(f)
    reads: dict[tuple[int, Tensor], Expr] = {}
    writes: dict[tuple[int, Tensor], Expr] = {}
    updates: dict[tuple[int, Tensor], Expr] = {}
    tiles: dict[tuple[int, Tensor], Expr] = {}
    cside: dict[tuple[int, Tensor], Expr] = {}
    traffic: dict[tuple[int, Tensor], Expr] = {}

    def add(store: dict, key: tuple[int, Tensor], value: Expr) -> None:
        store[key] = store.get(key, 0) + value

    macs = _prod(f)
    lif_ops = _prod(f[j] for j in range(J) if dims[j] in OP_SPACE[Tensor.U])

    for tensor in Tensor:
        in_op = [d in OP_SPACE[tensor] for d in dims]
        rel = [d in RELEVANT[tensor] and in_op[j] for j, d in enumerate(dims)]
        f_op = [f[j] if in_op[j] else sp.Integer(1) for j in range(J)]
        kept = st.kept_levels(tensor)
        for lv in kept:
            extent = {d: _prod(f_op[j] for j in range(J) if lvl[j] >= lv and dims[j] is d) for d in DIMS}
            tiles[(lv, tensor)] = tile_elements_sym(tensor, extent, stride)
        for parent, child in zip(kept, kept[1:], strict=False):
            cols = [j for j in range(J) if lvl[j] < child and not spatial[j]]
            f_above = [f_op[j] for j in cols]
            rel_above = [rel[j] for j in cols]
            res = residencies_sym(f_above, rel_above, general=general)
            inst = _prod(f_op[j] for j in range(J) if lvl[j] < child and spatial[j])
            irrelevant_spatial = [spatial[j] and not rel[j] and in_op[j] for j in range(J)]
            group = _prod(f_op[j] for j in range(J) if parent <= lvl[j] < child and irrelevant_spatial[j])
            hop_groups = [_prod(f_op[j] for j in range(J) if h <= lvl[j] < child and irrelevant_spatial[j])
                          for h in range(parent, child)]
            tile = tiles[(child, tensor)]
            if tensor in ACCUMULATED:
                moved = cq.spill_transfers(res, distinct_tiles_sym(f_above, rel_above), tile, inst)
                add(writes, (child, tensor), moved)
                add(reads, (child, tensor), moved)
                add(reads, (parent, tensor), cq.parent_side(moved, group))
                add(updates, (parent, tensor), cq.parent_side(moved, group))
                for h, n in zip(range(parent, child), cq.network_hops(2 * moved, hop_groups), strict=True):
                    add(traffic, (h, tensor), n)
            elif tensor is Tensor.S:
                moved = cq.fill_transfers(res, tile, inst)
                add(reads, (child, tensor), moved)
                add(writes, (parent, tensor), cq.parent_side(moved, group))
                for h, n in zip(range(parent, child), cq.network_hops(moved, hop_groups), strict=True):
                    add(traffic, (h, tensor), n)
            else:
                moved = cq.fill_transfers(res, tile, inst)
                add(writes, (child, tensor), moved)
                add(reads, (parent, tensor), cq.parent_side(moved, group))
                for h, n in zip(range(parent, child), cq.network_hops(moved, hop_groups), strict=True):
                    add(traffic, (h, tensor), n)
        inner_lv = kept[-1]
        group = _prod(f_op[j] for j in range(J) if lvl[j] >= inner_lv and spatial[j] and not rel[j] and in_op[j])
        key = (inner_lv, tensor)
        if tensor in (Tensor.W, Tensor.I):
            cs = cq.compute_side(macs, group)
            add(reads, key, cs)
        elif tensor is Tensor.O:
            cs = cq.compute_side(macs, group)
            add(updates, key, cs)
            add(reads, key, lif_ops)
            add(traffic, key, lif_ops)
        elif tensor is Tensor.U:
            cs = cq.compute_side(lif_ops, group)
            add(updates, key, cs)
        else:
            cs = lif_ops
            add(writes, key, cs)
        cside[key] = cs
        ops = lif_ops if tensor in (Tensor.U, Tensor.S) else macs
        hop_groups = [_prod(f_op[j] for j in range(J) if lvl[j] >= h and spatial[j] and not rel[j] and in_op[j])
                      for h in range(inner_lv, st.n_levels)]
        for h, n in zip(range(inner_lv, st.n_levels), cq.network_hops(ops, hop_groups), strict=True):
            add(traffic, (h, tensor), n)

    temporal_iterations = tuple(
        _prod(f[j] for j in range(J) if lvl[j] == lv and not spatial[j]) for lv in range(st.n_levels))
    return SymbolicCounts(reads=reads, writes=writes, updates=updates, tiles=tiles, compute_side=cside,
                          fanout_traffic=traffic, macs=macs, lif_ops=lif_ops,
                          temporal_iterations=temporal_iterations)


# ------------------------------------------------------------------------------ pricing
@dataclass(frozen=True, slots=True)
class SymbolicPriced:
    """:class:`costmodel.evaluate.Priced` as expressions; ``elements`` are the element counts behind
    each storage action (after spike gating), ``counts`` the words (or transfers) priced.

    Static energies are written in the symbol :data:`CYCLES`; ``cycles`` is
    max(``cycle_terms``) (compute, LIF and per-level bandwidth cycles), an unevaluated ``Max``
    (sympy's pairwise comparison of symbolic arguments is slow and rarely decidable).
    """

    energy: dict[Key, Expr]
    counts: dict[Key, Expr]
    elements: dict[Key, Expr]
    cycle_terms: tuple[Expr, ...]
    accumulations: Expr
    cycle_labels: tuple[str, ...] = ()

    @property
    def cycles(self) -> Expr:
        if len(self.cycle_terms) == 1:
            return self.cycle_terms[0]
        return sp.Max(*self.cycle_terms, evaluate=False)

    @property
    def compute_cycles(self) -> Expr:
        return self.cycle_terms[0]

    def total(self) -> Expr:
        """Total energy (pJ) with :data:`CYCLES` replaced by ``cycles``."""
        return sp.Add(*self.energy.values()).xreplace({CYCLES: self.cycles})

    def dynamic(self) -> Expr:
        """Energy without the static (per-cycle) terms."""
        return sp.Add(*(v for k, v in self.energy.items() if k.action is not Action.STATIC))

    def mapped(self, fn: Callable[[Expr], Expr]) -> SymbolicPriced:
        return SymbolicPriced(
            energy={k: fn(v) for k, v in self.energy.items()},
            counts={k: fn(v) for k, v in self.counts.items()},
            elements={k: fn(v) for k, v in self.elements.items()},
            cycle_terms=tuple(fn(x) for x in self.cycle_terms),
            accumulations=fn(self.accumulations),
            cycle_labels=self.cycle_labels,
        )


def symbolic_price(arch: Arch, layer: Layer, counts: SymbolicCounts, density: Expr | float = RHO) -> SymbolicPriced:
    """The symbolic :func:`costmodel.evaluate.price`: action counts, energies (pJ) and cycles.

    Bit widths, weight density and every spec number come from ``layer`` and ``arch``; the spike
    density is ``density`` (the symbol :data:`RHO` by default).
    """
    rho = exact(density)
    energy, acts, elems, bus_bits = storage_actions(
        arch, layer, counts, density=rho, zero=sp.Integer(0), words=words_sym, link=link_energy_pj_sym,
        const=exact)
    c = arch.compute
    accs = exact(eq.accumulations(counts.macs, rho, exact(layer.weight_density), c.skip_zero_weights))
    acts[Key("compute", None, Action.AC)] = accs
    energy[Key("compute", None, Action.AC)] = eq.compute_energy_pj(accs, exact(c.ac_pj))
    lif = counts.lif_ops
    acts[Key("compute", None, Action.LIF)] = lif
    energy[Key("compute", None, Action.LIF)] = eq.compute_energy_pj(lif, exact(c.lif_pj))

    ccycles = compute_cycles_sym(counts.temporal_iterations, arch)
    terms: list[Expr] = [ccycles, eq.lif_cycles(lif, arch.lif_units)]
    labels = ["compute", "LIF units"]
    for li, (rb, wb) in bus_bits.items():
        lv = arch.levels[li]
        inst = arch.instances(li)
        for bits, bw, what in ((rb, lv.read_bandwidth_bits_per_cycle, "read"),
                               (wb, lv.write_bandwidth_bits_per_cycle, "write")):
            if bw is not None:
                terms.append(eq.bandwidth_cycles(bits, exact(bw), inst))
                labels.append(f"{lv.name} {what} bandwidth")
    cycles = CYCLES
    for li, lv in enumerate(arch.levels):
        if lv.static_pj_per_cycle:
            energy[Key(lv.name, None, Action.STATIC)] = eq.static_energy_pj(
                cycles, exact(lv.static_pj_per_cycle), arch.instances(li))
    if c.static_pj_per_cycle:
        energy[Key("compute", None, Action.STATIC)] = eq.static_energy_pj(cycles, exact(c.static_pj_per_cycle),
                                                                           arch.pes)
    if c.lif_static_pj_per_cycle:
        energy[Key("lif", None, Action.STATIC)] = eq.static_energy_pj(
            cycles, exact(c.lif_static_pj_per_cycle), arch.lif_units)
    return SymbolicPriced(energy=energy, counts=acts, elements=elems, cycle_terms=tuple(terms),
                          accumulations=accs, cycle_labels=tuple(labels))


# ------------------------------------------------------------------------------ one-call forms
@dataclass(frozen=True, slots=True)
class SymbolicCost:
    """Everything :func:`symbolic_cost` derives for one (arch, layer, mapping structure)."""

    nest: SymbolicNest
    bounds: np.ndarray  # (J,) bounds of the concrete mapping's present loops
    counts: SymbolicCounts  # positional symbols
    priced: SymbolicPriced  # positional symbols
    layer_counts: SymbolicCounts  # layer dims + inner sub-factors
    layer_priced: SymbolicPriced
    values: dict[sp.Symbol, Expr]  # the layer's values of every layer-form symbol, and of CYCLES


def simplify_counts(expr: Expr) -> Expr:
    """Clean-up for display: factor sums (``K*P*Q*T - K*P*Q -> K*P*Q*(T - 1)``); products are
    already cancelled by sympy; Piecewise and Max are left alone."""
    expr = sp.sympify(expr)
    if isinstance(expr, sp.Max):
        return sp.Max(*(simplify_counts(a) for a in expr.args), evaluate=False)
    if not expr.has(sp.Add) or expr.has(sp.Piecewise, sp.Max):
        return expr
    if isinstance(expr, sp.Add):  # factor term by term: factoring the sum would expand the windows
        return sp.factor_terms(sp.Add(*(sp.factor(t) for t in expr.args)))
    return sp.factor(expr)


def symbolic_cost(arch: Arch, layer: Layer, mapping: Mapping, *, stride: Expr | int | None = None,
                  general: bool = False) -> SymbolicCost:
    """Symbolic counts and energies of ``mapping``'s loop structure, in positional and layer form.

    ``stride``: default the layer's concrete stride (pass :data:`STRIDE` for the symbol).
    """
    nest, bounds = symbolic_nest(arch, mapping)
    s = layer.stride if stride is None else stride
    counts = symbolic_access_counts(nest, s, general=general)
    priced = symbolic_price(arch, layer, counts)
    sub = layer_form(nest)

    def to_layer(e: Expr) -> Expr:
        return sp.sympify(e).xreplace(sub)

    layer_priced = priced.mapped(to_layer)
    values = layer_values(layer, nest, bounds)
    values[CYCLES] = sp.sympify(layer_priced.cycles).xreplace(values)
    return SymbolicCost(nest=nest, bounds=bounds, counts=counts, priced=priced,
                        layer_counts=counts.mapped(to_layer), layer_priced=layer_priced, values=values)


def value_at(expr: Expr, values: dict[sp.Symbol, Expr]) -> float:
    return float(sp.sympify(expr).xreplace(values))


def resolve_piecewise(expr: Expr, values: dict[sp.Symbol, Expr]) -> Expr:
    """Each Piecewise replaced by its branch that holds at ``values`` (for display at one point)."""
    def pick(pw: sp.Piecewise) -> Expr:
        for e, cond in pw.args:
            if cond == sp.true or bool(sp.sympify(cond).xreplace(values)):
                return e
        return pw  # pragma: no cover - a Piecewise always ends with a True branch

    return sp.sympify(expr).replace(lambda x: isinstance(x, sp.Piecewise), pick)


# ------------------------------------------------------------------------------ lambdify
class LambdifiedBatch:
    """Energy, cycles and capacity validity of many mappings of one structure via ``lambdify``.

    The drop-in counterpart of :func:`costmodel.evaluate.evaluate_batch` for a structure whose
    loops are all present: ``__call__(factors)`` takes the same (M, J) bounds (any bounds >= 1:
    the expressions are built with ``general=True``) and returns a
    :class:`costmodel.evaluate.BatchResult`.
    """

    def __init__(self, arch: Arch, layer: Layer, structure: NestStructure,
                 level_names: Sequence[str] | None = None) -> None:
        names = level_names or [lv.name for lv in arch.levels]
        self.nest = nest_from_structure(structure, names)
        counts = symbolic_access_counts(self.nest, layer.stride, general=True)
        priced = symbolic_price(arch, layer, counts, layer.mean_spike_density)
        args = list(self.nest.factors)
        self._energy = sp.lambdify(args, priced.total(), "numpy", cse=True)
        self._cycles = sp.lambdify(args, priced.cycles, "numpy", cse=True)
        checks: list[Expr] = []  # need - capacity <= 0
        for li, lv in enumerate(arch.levels):
            total: Expr = sp.Integer(0)
            for t in structure.keeps[li]:
                need = counts.tiles[(li, t)] * bits_of(layer, t)
                total = total + need
                cap = lv.tensor_capacity(t)
                if cap is not None:
                    checks.append(need - cap)
            if lv.capacity_bits is not None:
                checks.append(total - lv.capacity_bits)
        self._checks = [sp.lambdify(args, c, "numpy", cse=True) for c in checks]

    def __call__(self, factors: np.ndarray):  # noqa: ANN204 - returns evaluate.BatchResult
        from costmodel.evaluate import BatchResult

        f = np.asarray(factors, dtype=np.float64)
        if f.ndim == 1:
            f = f[None, :]
        cols = [np.ascontiguousarray(f[:, j]) for j in range(f.shape[1])]
        m = f.shape[0]
        energy = np.broadcast_to(np.asarray(self._energy(*cols), dtype=np.float64), (m,))
        cycles = np.broadcast_to(np.asarray(self._cycles(*cols), dtype=np.float64), (m,))
        valid = np.ones(m, dtype=bool)
        for chk in self._checks:
            valid &= np.asarray(chk(*cols)) <= 0
        return BatchResult(energy_pj=energy, cycles=cycles, valid=valid)


# ------------------------------------------------------------------------------ printing
_DIM_ORDER = {DIM_SYMBOLS[d]: i for i, d in enumerate((Dim.N, Dim.K, Dim.C, Dim.P, Dim.Q, Dim.R, Dim.S, Dim.T))}


def _factor_key(x: Expr) -> tuple:
    base = x.base if isinstance(x, sp.Pow) else x
    if x.is_Number:
        return (0, 0, "")
    if isinstance(base, sp.Symbol):
        if base in _DIM_ORDER:
            return (1, _DIM_ORDER[base], base.name)
        head = base.name.split("_", 1)[0]
        dim_rank = _DIM_ORDER[DIM_SYMBOLS[Dim(head)]] if head in Dim.__members__ else 99
        return (2, dim_rank, base.name)
    return (3, 0, sp.sstr(x))


class _Printer(StrPrinter):
    """sympy's str printer with factors in a reader's order: N K C P Q R S T, then sub-factors."""

    def _print_Mul(self, expr: sp.Mul) -> str:
        args = sorted(expr.args, key=_factor_key)
        if list(args) == list(expr.args):
            return super()._print_Mul(expr)
        return super()._print_Mul(sp.Mul(*args, evaluate=False))


    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        args = sorted(expr.args, key=lambda a: a.is_Number)  # stable: the constant term last
        if list(args) == list(expr.args):
            return super()._print_Add(expr, order)
        return super()._print_Add(sp.Add(*args, evaluate=False), order)


_PRINTER = _Printer({"order": "none"})


def formula(expr: Expr) -> str:
    """A readable one-line form of ``expr``: ``K*C*R*S*T``."""
    return _PRINTER.doprint(sp.sympify(expr))


__all__ = [
    "DIM_SYMBOLS", "STRIDE", "RHO", "CYCLES", "SymbolicNest", "SymbolicCounts", "SymbolicPriced", "SymbolicCost",
    "LambdifiedBatch", "nest_from_structure", "symbolic_nest", "layer_form", "layer_values", "positional_values",
    "symbolic_access_counts", "symbolic_price", "symbolic_cost", "window_extent_sym", "tile_elements_sym",
    "residencies_sym", "distinct_tiles_sym", "words_sym", "link_energy_pj_sym", "compute_cycles_sym", "exact",
    "formula", "value_at", "resolve_piecewise", "simplify_counts",
]
