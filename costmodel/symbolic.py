"""The sympy arithmetic: the cost form of a nest (:mod:`costmodel.pricing`) with loop bounds as symbols.

:mod:`costmodel.numeric` evaluates a :class:`~costmodel.pricing.CostForm` on arrays of loop bounds; this module
evaluates *the same form* on symbols, so a reader can see a count as a formula (``DRAM W reads = K*C*R*S*T`` when T
is the outermost loop, ``K*C*R*S`` when T sits inside the weight tile) and a search can ``lambdify`` it. Nothing here
restates a count or a price: quantities, conditions and coefficients all come from the form.

Symbols
-------
* one *positional* symbol per loop of the nest, named ``<dim>_<level>`` (temporal) or ``<dim>_<level>_<axis>``
  (spatial), e.g. ``K_DRAM``, ``K_GLB``, ``K_GLB_x``; a second loop of the same dim at the same place gets a
  suffix ``_2``;
* the layer dims :data:`DIM_SYMBOLS` (``T N K C P Q R S``), the mean input spike density :data:`RHO`, and
  :data:`CYCLES` for the cycle count in static energies.

:func:`layer_form` rewrites positional symbols in the layer dims: a dim whose loops all sit at one position is the
layer dim itself (``K_GLB -> K``); a dim split over several positions keeps the inner positions as named
sub-factors and its outermost loop becomes the remainder (``K_DRAM -> K/(K_GLB*K_GLB_x)``), so products over a
whole dim cancel back to the dim.

Validity: bound-1 loops are absent from a symbolic nest. With ``general=False`` (the readable form) every present
loop is taken to have a bound > 1, which is what a :class:`~costmodel.analysis.Refetch` tests to decide whether an
irrelevant loop re-uses a tile; with ``general=True`` that test stays in the expression as a ``Piecewise``, so the
formulas are exact for any bounds (used by :class:`LambdifiedBatch`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeAlias

import numpy as np
import sympy as sp
from sympy.printing.str import StrPrinter

from costmodel.accounting import Accounting
from costmodel.analysis import Fn, FnKind, NestView, Position, Quantity, Refetch, window_extent
from costmodel.arch import Arch
from costmodel.cost import Key
from costmodel.evaluate import BatchResult, cost_form, nest_of
from costmodel.imc import mesh_mean_hops, p_any_spike
from costmodel.mapping import Mapping
from costmodel.pricing import CostForm
from costmodel.types import DIMS, Action, Dim, Tensor
from costmodel.workload import Layer

Expr: TypeAlias = Any  # sympy expressions (sympy's own types are too loose for arithmetic checks)


def _pos_int(name: str) -> sp.Symbol:
    return sp.Symbol(name, positive=True, integer=True)


DIM_SYMBOLS: dict[Dim, sp.Symbol] = {d: _pos_int(d.value) for d in DIMS}
STRIDE: sp.Symbol = _pos_int("stride")
RHO: sp.Symbol = sp.Symbol("rho", nonnegative=True)  # mean input spike density
CYCLES: sp.Symbol = sp.Symbol("cycles", positive=True)  # stands for the cycle count in static energies


def exact(x: float | int | Fraction | Expr) -> Expr:
    """A spec number as an exact sympy number (``0.03 -> 3/100``), floats inside an expression too."""
    if isinstance(x, bool):
        raise TypeError("exact() of a bool")
    if isinstance(x, int):
        return sp.Integer(x)
    if isinstance(x, Fraction):
        return sp.Rational(x.numerator, x.denominator)
    if isinstance(x, float):
        return sp.Rational(repr(x)) if math.isfinite(x) else sp.Float(x)
    expr = sp.sympify(x)
    floats = expr.atoms(sp.Float)
    return expr.xreplace({f: sp.Rational(repr(float(f))) for f in floats}) if floats else expr


def select(cond, a, b):  # noqa: ANN001, ANN201
    """The sympy if-then-else for :func:`costmodel.analysis.window_extent`: decided when the condition is, a
    ``Piecewise`` otherwise (collapsed when both branches agree)."""
    c = sp.sympify(cond)
    if c is sp.true:
        return a
    if c is sp.false:
        return b
    if sp.simplify(sp.sympify(a) - b) == 0:
        return a
    return sp.Piecewise((a, c), (b, True))


# ------------------------------------------------------------------------------ symbolic nest
@dataclass(frozen=True, slots=True)
class SymbolicNest:
    """A concrete nest (bound-1 loops removed) with one positional symbol per loop."""

    view: NestView
    factors: tuple[sp.Symbol, ...]
    level_names: tuple[str, ...]

    def positions(self, dim: Dim) -> list[int]:
        return [j for j, p in enumerate(self.view.positions) if p.dim is dim]


def _symbol_name(p: Position, level_name: str) -> str:
    lvl = re.sub(r"\W", "_", level_name)
    return f"{p.dim.value}_{lvl}" + (f"_{p.axis.value}" if p.axis is not None else "")


def nest_from_view(view: NestView, level_names: Sequence[str]) -> SymbolicNest:
    """Positional symbols for every loop of ``view`` (all of them taken as present)."""
    seen: dict[str, int] = {}
    syms = []
    for p in view.positions:
        name = _symbol_name(p, level_names[p.level])
        seen[name] = seen.get(name, 0) + 1
        syms.append(_pos_int(name if seen[name] == 1 else f"{name}_{seen[name]}"))
    return SymbolicNest(view=view, factors=tuple(syms), level_names=tuple(level_names))


def symbolic_nest(arch: Arch, mapping: Mapping) -> tuple[SymbolicNest, np.ndarray]:
    """The symbolic nest of a concrete mapping (its view with the bound-1 loops dropped) and the (J,) bounds of
    its present loops."""
    view, factors = nest_of(arch, mapping)
    keep = [j for j in range(factors.shape[1]) if factors[0, j] > 1]
    present = NestView(
        positions=tuple(view.positions[j] for j in keep), may_keep=view.may_keep, keeps=view.keeps, ordered=True
    )
    return nest_from_view(present, [lv.name for lv in arch.levels]), factors[0, keep]


def layer_form(nest: SymbolicNest) -> dict[sp.Symbol, Expr]:
    """Substitution positional symbol -> layer-dim expression (see the module docstring)."""
    sub: dict[sp.Symbol, Expr] = {}
    for d in DIMS:
        pos = nest.positions(d)
        if len(pos) == 1:
            sub[nest.factors[pos[0]]] = DIM_SYMBOLS[d]
        elif pos:
            sub[nest.factors[pos[0]]] = DIM_SYMBOLS[d] / sp.Mul(*(nest.factors[j] for j in pos[1:]))
    return sub


def layer_values(layer: Layer, nest: SymbolicNest, bounds: Sequence[int] | np.ndarray) -> dict[sp.Symbol, Expr]:
    """Values of every symbol of the layer form: the layer dims, inner sub-factors, stride, density."""
    vals: dict[sp.Symbol, Expr] = {DIM_SYMBOLS[d]: sp.Integer(layer.bound(d)) for d in DIMS}
    replaced = layer_form(nest)
    for s, b in zip(nest.factors, bounds, strict=True):
        if s not in replaced:  # an inner sub-factor of a split dim
            vals[s] = sp.Integer(int(b))
    vals[STRIDE] = sp.Integer(layer.stride)
    vals[RHO] = exact(layer.mean_spike_density)
    return vals


# ------------------------------------------------------------------------------ the arithmetic
def _refetch(r: Refetch, f: Sequence[Expr], general: bool) -> Expr:
    """The factor of a refetch condition: the loop's symbol if a relevant loop inside it is live (readable form:
    every present loop is live), else 1; ``general``: a Piecewise on the inner loops' bounds."""
    if r.same_level:
        raise ValueError("the symbolic arithmetic evaluates concrete nests (loop order known)")
    if not r.inside:
        return sp.Integer(1)
    if not general:
        return f[r.position]
    return sp.Piecewise((f[r.position], sp.Or(*[sp.Gt(f[k], 1) for k in r.inside])), (1, True))


def quantity_expr(q: Quantity, f: Sequence[Expr], general: bool = False) -> Expr:
    """scale x prod(factors) x prod(refetch factors) x prod(window extents) x prod(gates) of a concrete-view
    quantity."""
    if q.presence is not None:
        raise ValueError("the symbolic arithmetic evaluates concrete nests (bypass known)")
    if q.flow is not None:
        raise ValueError(
            "halo_reuse / peer_forwarding count input transfers by a walk, not a product of loop factors: "
            "no symbolic form (explain under a profile without them)"
        )
    out = sp.Integer(q.scale) * sp.Mul(*(f[j] for j in q.factors))
    for r in q.refetch:
        out = out * _refetch(r, f, general)
    for w in q.windows:
        out = out * window_extent(sp.Mul(*(f[j] for j in w.p)), sp.Mul(*(f[j] for j in w.r)), w.stride, select)
    for g in q.gates:
        on, off = (sp.Integer(1), sp.Integer(0)) if g.live else (sp.Integer(0), sp.Integer(1))
        out = out * (
            sp.Piecewise((on, sp.Or(*[sp.Gt(f[k], 1) for k in g.positions])), (off, True)) if general else on
        )  # readable form: every present loop is live
    for fn in q.fns:
        out = out * fn_expr(fn, sp.Mul(*(f[j] for j in fn.positions)))
    return out


def fn_expr(fn: Fn, n: Expr) -> Expr:
    """A quantity's nonlinear factor as an expression of n (:mod:`costmodel.imc`)."""
    if fn.kind is FnKind.ANY_SPIKE:
        return p_any_spike(exact(fn.param), n)
    return mesh_mean_hops(n, lambda x: sp.ceiling(sp.sqrt(x)))


@dataclass(frozen=True, slots=True)
class SymbolicPriced:
    """A cost form as expressions: energy (pJ), action counts and element counts per :class:`Key`, the tiles
    per (level, tensor), and the cycle terms whose max is the cycle count. Static energies are written in
    :data:`CYCLES`; ``cycles`` is an unevaluated ``Max`` (sympy's pairwise comparison of symbolic arguments is
    slow and rarely decidable)."""

    energy: dict[Key, Expr]
    counts: dict[Key, Expr]
    elements: dict[Key, Expr]
    tiles: dict[tuple[int, Tensor], Expr]
    cycle_terms: tuple[Expr, ...]
    cycle_labels: tuple[str, ...]

    @property
    def cycles(self) -> Expr:
        if len(self.cycle_terms) == 1:
            return self.cycle_terms[0]
        return sp.Max(*self.cycle_terms, evaluate=False)

    def total(self) -> Expr:
        """Total energy (pJ) with :data:`CYCLES` replaced by ``cycles``."""
        return sp.Add(*self.energy.values()).xreplace({CYCLES: self.cycles})

    def mapped(self, fn: Callable[[Expr], Expr]) -> SymbolicPriced:
        def m(d: dict) -> dict:
            return {k: fn(v) for k, v in d.items()}

        return SymbolicPriced(
            energy=m(self.energy),
            counts=m(self.counts),
            elements=m(self.elements),
            tiles=m(self.tiles),
            cycle_terms=tuple(fn(x) for x in self.cycle_terms),
            cycle_labels=self.cycle_labels,
        )


def _cycle_terms(form: CostForm, values: Sequence[Expr]) -> tuple[list[Expr], list[str]]:
    cm = form.cycles
    compute = values[cm.outer] if cm.inner is None else values[cm.outer] * (values[cm.inner] + cm.skew)
    compute = compute * cm.cycles_per_step + cm.extra_cycles
    terms, labels = [compute, values[cm.lif] * exact(cm.cycles_per_lif_op)], ["compute", "LIF units"]
    per_bus: dict[str, Expr] = {}
    for b in form.buses:
        per_bus[b.bus] = per_bus.get(b.bus, sp.Integer(0)) + exact(b.cycles_per_unit) * values[b.q]
    terms += list(per_bus.values())
    labels += list(per_bus)
    return terms, labels


def symbolic_price(
    form: CostForm, factors: Sequence[Expr], *, general: bool = False, density: Expr | float = RHO
) -> SymbolicPriced:
    """The form evaluated on symbols ``factors`` (one per position): energies, counts, elements, tiles, cycles.
    Spike-scaled charges use ``density`` (the symbol :data:`RHO` by default)."""
    values = [quantity_expr(q, factors, general) for q in form.quantities]
    rho = exact(density)
    energy: dict[Key, Expr] = {}
    counts: dict[Key, Expr] = {}
    elements: dict[Key, Expr] = {}
    for c in form.charges:
        n = exact(c.elements) * (rho if c.per_spike else 1) * values[c.q]
        actions = n * exact(c.actions_per_element)
        elements[c.key] = elements.get(c.key, sp.Integer(0)) + n
        counts[c.key] = counts.get(c.key, sp.Integer(0)) + actions
        energy[c.key] = energy.get(c.key, sp.Integer(0)) + actions * exact(c.pj_per_action)
    for key, pj in form.static:
        energy[key] = exact(pj) * CYCLES
    terms, labels = _cycle_terms(form, values)
    tiles = {(u.level, u.tensor): values[u.q] for u in form.analysis.tiles}
    return SymbolicPriced(
        energy=energy,
        counts=counts,
        elements=elements,
        tiles=tiles,
        cycle_terms=tuple(terms),
        cycle_labels=tuple(labels),
    )


# ------------------------------------------------------------------------------ one-call forms
@dataclass(frozen=True, slots=True)
class SymbolicCost:
    """Everything :func:`symbolic_cost` derives for one (arch, layer, mapping structure)."""

    nest: SymbolicNest
    bounds: np.ndarray  # (J,) bounds of the concrete mapping's present loops
    priced: SymbolicPriced  # positional symbols
    layer_priced: SymbolicPriced  # layer dims + inner sub-factors
    values: dict[sp.Symbol, Expr]  # the layer's values of every layer-form symbol, and of CYCLES


def symbolic_cost(
    arch: Arch, layer: Layer, mapping: Mapping, *, general: bool = False, accounting: Accounting | None = None
) -> SymbolicCost:
    """Symbolic counts and energies of ``mapping``'s loop structure, in positional and layer form, priced under
    an accounting profile (default: native)."""
    nest, bounds = symbolic_nest(arch, mapping)
    priced = symbolic_price(cost_form(arch, layer, nest.view, accounting), nest.factors, general=general)
    sub = layer_form(nest)
    layer_priced = priced.mapped(lambda e: sp.sympify(e).xreplace(sub))
    values = layer_values(layer, nest, bounds)
    values[CYCLES] = sp.sympify(layer_priced.cycles).xreplace(values)
    return SymbolicCost(nest=nest, bounds=bounds, priced=priced, layer_priced=layer_priced, values=values)


def simplify_counts(expr: Expr) -> Expr:
    """Clean-up for display: factor sums (``K*P*Q*T - K*P*Q -> K*P*Q*(T - 1)``); products are already
    cancelled by sympy; Piecewise and Max are left alone."""
    expr = sp.sympify(expr)
    if isinstance(expr, sp.Max):
        return sp.Max(*(simplify_counts(a) for a in expr.args), evaluate=False)
    if not expr.has(sp.Add) or expr.has(sp.Piecewise, sp.Max):
        return expr
    if isinstance(expr, sp.Add):  # factor term by term: factoring the sum would expand the windows
        return sp.factor_terms(sp.Add(*(sp.factor(t) for t in expr.args)))
    return sp.factor(expr)


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
    """Energy, cycles and capacity validity of many mappings of one nest via ``lambdify`` of the general form.

    The drop-in counterpart of :func:`costmodel.evaluate.evaluate_batch` for a nest whose loops are all present:
    ``__call__(factors)`` takes the same (M, J) bounds (any bounds >= 1) and returns a ``BatchResult``.
    """

    def __init__(self, arch: Arch, layer: Layer, view: NestView) -> None:
        self.nest = nest_from_view(view, [lv.name for lv in arch.levels])
        form = cost_form(arch, layer, view)
        priced = symbolic_price(form, self.nest.factors, general=True, density=layer.mean_spike_density)
        args = list(self.nest.factors)
        self._energy = sp.lambdify(args, priced.total(), "numpy", cse=True)
        self._cycles = sp.lambdify(args, priced.cycles, "numpy", cse=True)
        values = [quantity_expr(q, self.nest.factors, True) for q in form.quantities]
        checks = [sp.Add(*(bits * values[q] for q, bits in c.uses)) - c.limit_bits for c in form.capacities if c.uses]
        self._checks = [sp.lambdify(args, c, "numpy", cse=True) for c in checks]

    def __call__(self, factors: np.ndarray) -> BatchResult:
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
    "DIM_SYMBOLS",
    "STRIDE",
    "RHO",
    "CYCLES",
    "SymbolicNest",
    "SymbolicPriced",
    "SymbolicCost",
    "LambdifiedBatch",
    "nest_from_view",
    "symbolic_nest",
    "layer_form",
    "layer_values",
    "symbolic_price",
    "symbolic_cost",
    "quantity_expr",
    "select",
    "exact",
    "formula",
    "value_at",
    "resolve_piecewise",
    "simplify_counts",
    "Action",
]
