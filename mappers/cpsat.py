"""OR-Tools CP-SAT mapper: an exact integer model of the mapspace and of the layer's cost form.

The cost form is :attr:`mappers.mapspace.MapSpace.form`: the one loop-nest analysis
(:func:`costmodel.analysis.analyze`) of the *open* nest (one loop per slot, order and bypass undecided), priced by
:func:`costmodel.pricing.price`. This module encodes that form; it states no count and no energy itself.

Variables (containers on :class:`_Vars`):

* ``e[slot][p]``: exponent of prime p in the factor of ``slot`` (one slot per (level, temporal or
  spatial axis, dim) of the mapspace); per dim and prime the exponents sum to the bound's exponent.
* ``live[slot]``: temporal factor > 1 (forced true when the exponents are not all zero).
* ``before[level][(a, b)]``: dim a's loop is outside dim b's at that level (a strict total order:
  antisymmetric by construction, transitive by constraints), for the levels whose order matters.
* ``keep[level][tensor]``: the tensor is kept (not bypassed) at the level.
* ``refetch[r]``: the form's :class:`~costmodel.analysis.Refetch` condition (an irrelevant loop counts in a
  tile's residencies): implied by the liveness of each relevant loop known to be inside it, and by (ordered
  inside and live) for each relevant loop of the same level. Costs only grow with these booleans, so at an
  optimum they equal the exact condition.

Every quantity of the form is a product of factors: its value is an ``element`` over a table indexed by its
per-prime exponent sums (exact integers), times the sliding-window extents (tables over the exponents of the P
and R products, :func:`costmodel.analysis.window_extent`) through ``add_multiplication_equality``, and it is zero
unless its presence (keep/bypass) condition holds; a quantity that spans every loop of its dims is the constant
product of their bounds. Fanout and capacity are exact integer constraints over the same values. Energy is
linear in the quantities plus static power x cycles, cycles = max(compute, LIF, bus) is an integer variable
bounded below by each of them (exact at the optimum because the objective grows with it). Coefficients are turned
into integers with one common rational scale (exact when every coefficient is a decimal with few digits, which
spec numbers are); if the scale or EDP's product would overflow 64 bits the objective is rounded and the result
says so in ``notes`` (it is then optimal for the rounded objective, and the reported Cost is always costmodel's
evaluation of the returned mapping).
"""

from __future__ import annotations

import itertools
import math
import signal
import threading
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from ortools.sat.python import cp_model

from costmodel.analysis import Fn, Gate, Quantity, Refetch, Window, window_extent
from costmodel.evaluate import fanout_limit
from costmodel.numeric import fn_value
from costmodel.pricing import CostForm
from costmodel.types import DIMS, Axis, Dim, Tensor
from mappers.dataflows import TPlacement
from mappers.mapspace import MapSpace, Slot, prime_factors
from mappers.search import Deadline, Objective, SearchResult, Status, TopK, finish, progress

INT_LIMIT = 2**62
FN_SCALE = 2**16


@dataclass(frozen=True, slots=True, kw_only=True)
class SolverConfig:
    """CP-SAT parameters: always explicit (seed, workers, time limit)."""

    time_limit_s: float = 30.0
    seed: int = 0
    workers: int = 2
    log: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MapperInstance:
    space: MapSpace
    form: CostForm
    objective: Objective


@dataclass(frozen=True, slots=True, kw_only=True)
class MapperSolution:
    status: Status
    row: tuple[int, ...] | None
    orders: dict[int, tuple[Dim, ...]]
    bypass: tuple[frozenset[Tensor], ...] | None
    value: float | None  # objective in pJ (energy) or pJ x cycles (edp), from the model
    bound: float | None
    exact: bool
    wall_s: float
    notes: tuple[str, ...] = ()


@dataclass
class _Vars:
    e: dict[Slot, dict[int, cp_model.IntVar]] = field(default_factory=dict)
    live: dict[Slot, cp_model.IntVar] = field(default_factory=dict)
    before: dict[int, dict[tuple[Dim, Dim], cp_model.IntVar]] = field(default_factory=dict)
    keep: dict[tuple[int, Tensor], object] = field(default_factory=dict)  # BoolVar or True/False
    refetch: dict[Refetch, cp_model.IntVar] = field(default_factory=dict)
    gates: dict[Gate, object] = field(default_factory=dict)
    qvalue: dict[int, object] = field(default_factory=dict)  # IntVar or int (constant)
    qub: dict[int, int] = field(default_factory=dict)


def _frac(x: float) -> tuple[Fraction, bool]:
    f = Fraction(x).limit_denominator(10**6)
    return f, abs(float(f) - x) <= 1e-12 * max(abs(x), 1e-300)


class _Model:
    """Builds the CP-SAT model of one :class:`MapperInstance` with small ``_add_*`` steps."""

    def __init__(self, inst: MapperInstance) -> None:
        self.inst = inst
        self.space = inst.space
        self.form = inst.form
        self.slots: tuple[Slot, ...] = inst.form.analysis.view.positions
        self.m = cp_model.CpModel()
        self.v = _Vars()
        self.primes: dict[Dim, dict[int, int]] = {d: prime_factors(self.space.layer.bound(d)) for d in DIMS}
        self.notes: list[str] = []
        self.exact = True
        self.cycles_cap: int | None = None
        self.energy_cap_pj: float | None = None  # a proven bound on the optimum's energy (EDP only)

    # ---------------------------------------------------------------- factors, fanout, order, keep
    def _add_factors(self) -> None:
        sp = self.space
        fixed = dict(sp.constraints.fixed_factors)
        for d in DIMS:
            slots = [sp.slots[i] for i in sp.slots_of[d]]
            for p, total in self.primes[d].items():
                vs = []
                for s in slots:
                    x = self.m.new_int_var(0, total, f"e_{s.level}{s.axis or 't'}{d.value}_{p}")
                    self.v.e.setdefault(s, {})[p] = x
                    vs.append(x)
                    if s in fixed:
                        self.m.add(x == prime_factors(fixed[s]).get(p, 0))
                self.m.add(sum(vs) == total)
            for s in slots:
                self.v.e.setdefault(s, {})
                if s.spatial and any(fs.level == s.level and fs.axis == s.axis for fs in fixed) and s not in fixed:
                    for x in self.v.e[s].values():
                        self.m.add(x == 0)
            for s in slots:
                if not s.spatial:
                    live = self.m.new_bool_var(f"live_{s.level}{d.value}")
                    ex = list(self.v.e[s].values())
                    if ex:
                        self.m.add(sum(ex) <= sum(self.primes[d].values()) * live)
                    self.v.live[s] = live

    def _exp_sum(self, slots: tuple[Slot, ...]) -> dict[int, tuple[list, int]]:
        """Per prime: (terms, max) of the exponent sum of a product of slot factors."""
        out: dict[int, tuple[list, int]] = {}
        dims_seen: dict[int, set[Dim]] = {}
        for s in slots:
            for p, x in self.v.e[s].items():
                terms, mx = out.get(p, ([], 0))
                if s.dim not in dims_seen.setdefault(p, set()):
                    dims_seen[p].add(s.dim)
                    mx += self.primes[s.dim][p]
                out[p] = ([*terms, x], mx)
        return out

    def _element(self, exps: dict[int, tuple[list, int]], fn, name: str, ub: int | None = None):  # noqa: ANN001, ANN202
        """An int var = fn({p: E_p}) via an element table over the exponent box (mixed radix)."""
        primes = sorted(exps)
        if not primes:
            return fn({})
        radix, box = [], 1
        for p in primes:
            radix.append(box)
            box *= exps[p][1] + 1
        table = []
        for idx in range(box):
            ev = {p: (idx // r) % (exps[p][1] + 1) for p, r in zip(primes, radix, strict=True)}
            table.append(fn(ev))
        top = max(table) if ub is None else min(max(table), ub)
        target = self.m.new_int_var(min(table), top, name)
        index = self.m.new_int_var(0, box - 1, f"{name}_idx")
        self.m.add(index == sum(r * sum(exps[p][0]) for p, r in zip(primes, radix, strict=True)))
        self.m.add_element(index, table, target)
        return target

    def _add_fanout(self) -> None:
        groups: dict[tuple[int, Axis], list[Slot]] = {}
        for s in self.space.slots:
            if s.spatial and s.axis is not None:
                groups.setdefault((s.level, s.axis), []).append(s)
        for (lv, axis), slots in groups.items():
            limit = fanout_limit(self.space.arch, self.space.layer, lv, axis)
            exps = self._exp_sum(tuple(slots))
            self._element(exps, lambda ev: math.prod(p**k for p, k in ev.items()), f"fanout_{lv}{axis}", ub=limit)

    def _add_order(self) -> None:
        sp = self.space
        for lv in sp.order_levels:
            dims = list(sp.temporal_dims[lv])
            b: dict[tuple[Dim, Dim], object] = {}
            for a, c in itertools.combinations(dims, 2):
                x = self.m.new_bool_var(f"before_{lv}{a.value}{c.value}")
                b[(a, c)] = x
                b[(c, a)] = x.Not()
            for a, c, d in itertools.permutations(dims, 3):
                self.m.add_bool_or([_neg(b[(a, c)]), _neg(b[(c, d)]), b[(a, d)]])
            if sp.constraints.t_placement is TPlacement.OUTERMOST and lv == 0 and Dim.T in dims:
                for d in dims:
                    if d is not Dim.T:
                        self.m.add_bool_and([b[(Dim.T, d)]])
            fixed = [d for d in sp.constraints.fixed_order(lv) if d in dims]
            for a, c in itertools.pairwise(fixed):
                self.m.add_bool_and([b[(a, c)]])
            self.v.before[lv] = b  # type: ignore[assignment]

    def _add_keep(self) -> None:
        sp = self.space
        for li, lv in enumerate(sp.arch.levels):
            for t in lv.keeps:
                vals = {t not in opt[li] for opt in sp.bypass_options}
                if len(vals) == 1:
                    self.v.keep[(li, t)] = vals.pop()
                else:
                    self.v.keep[(li, t)] = self.m.new_bool_var(f"keep_{lv.name}_{t.value}")

    # ---------------------------------------------------------------- quantities
    def _refetch(self, r: Refetch):  # noqa: ANN202
        """The form's refetch condition: some relevant loop inside the loop is live (known inside, or of the same
        level and ordered inside by the search)."""
        if r in self.v.refetch:
            return self.v.refetch[r]
        loop = self.slots[r.position]
        x = self.m.new_bool_var(f"refetch_{r.position}_{len(self.v.refetch)}")
        for k in r.inside:
            self.m.add_implication(self.v.live[self.slots[k]], x)
        for k in r.same_level:
            inner = self.slots[k]
            if loop.level in self.v.before:
                self.m.add_bool_or([_neg(self.v.before[loop.level][(loop.dim, inner.dim)]),
                                    self.v.live[inner].Not(), x])
        self.v.refetch[r] = x
        return x

    def _live(self, slot: Slot):  # noqa: ANN202
        """A BoolVar equal to [factor of ``slot`` > 1] (temporal slots have one from the start)."""
        if slot not in self.v.live:
            live = self.m.new_bool_var(f"live_{slot.level}{slot.axis or 't'}{slot.dim.value}")
            ex = list(self.v.e[slot].values())
            total = sum(self.primes[slot.dim].values())
            if ex:
                self.m.add(sum(ex) <= total * live)
                self.m.add(sum(ex) >= live)
            else:
                self.m.add(live == 0)
            self.v.live[slot] = live
        return self.v.live[slot]

    def _gate(self, g: Gate):  # noqa: ANN202
        """A literal equal to the gate: some of its loops live (or none)."""
        if g in self.v.gates:
            return self.v.gates[g]
        lives = [self._live(self.slots[j]) for j in g.positions]
        anyv = self.m.new_bool_var(f"gate_{len(self.v.gates)}")
        for x in lives:
            self.m.add_implication(x, anyv)
        self.m.add_bool_or([*lives, anyv.Not()])
        lit = anyv if g.live else anyv.Not()
        self.v.gates[g] = lit
        return lit

    def _condition(self, q: Quantity):  # noqa: ANN202
        """True, False, or a BoolVar equal to the quantity's keep/bypass condition and gates."""
        pres = q.presence
        lits = [self._gate(g) for g in q.gates]
        if pres is None:
            return self._conjunction(lits)
        for lv in pres.kept:
            k = self.v.keep.get((lv, pres.tensor), False)
            if k is False:
                return False
            if k is not True:
                lits.append(k)
        for lv in pres.bypassed:
            k = self.v.keep.get((lv, pres.tensor), False)
            if k is True:
                return False
            if k is not False:
                lits.append(k.Not())
        return self._conjunction(lits)

    def _conjunction(self, lits: list):  # noqa: ANN202
        if not lits:
            return True
        if len(lits) == 1:
            return lits[0]
        a = self.m.new_bool_var(f"cond_{len(self.v.qvalue)}")
        self.m.add_bool_and(lits).only_enforce_if(a)
        self.m.add_bool_or([_neg(x) for x in lits] + [a])
        return a

    def _window(self, w: Window, name: str):  # noqa: ANN202
        pe = self._exp_sum(tuple(self.slots[j] for j in w.p))
        re_ = self._exp_sum(tuple(self.slots[j] for j in w.r))
        both = {("p", p): v for p, v in pe.items()} | {("r", p): v for p, v in re_.items()}
        keys = sorted(both, key=str)

        def fn(ev: dict) -> int:
            pv = math.prod(p**k for (side, p), k in ev.items() if side == "p")
            rv = math.prod(p**k for (side, p), k in ev.items() if side == "r")
            return window_extent(pv, rv, w.stride)

        if not keys:
            return fn({})
        radix, box = [], 1
        for k in keys:
            radix.append(box)
            box *= both[k][1] + 1
        table = [fn({k: (i // r) % (both[k][1] + 1) for k, r in zip(keys, radix, strict=True)}) for i in range(box)]
        target = self.m.new_int_var(min(table), max(table), name)
        index = self.m.new_int_var(0, box - 1, f"{name}_idx")
        self.m.add(index == sum(r * sum(both[k][0]) for k, r in zip(keys, radix, strict=True)))
        self.m.add_element(index, table, target)
        return target

    def _fn(self, fn: Fn, name: str):  # noqa: ANN202
        """A nonlinear factor f(n) of a product of slot factors, as an element table of round(f x FN_SCALE)
        (the model's objective is then rounded: see ``notes``)."""
        if self.exact:
            self.exact = False
            self.notes.append(f"crossbar activity and mesh-hop factors rounded to 1/{FN_SCALE} in the model")
        slots = tuple(self.slots[j] for j in fn.positions)
        groups = {(s.level, s.axis) for s in slots if s.axis is not None}
        sp = self.space
        cap = math.prod(fanout_limit(sp.arch, sp.layer, lv, ax) for lv, ax in groups) if groups else None

        def value(ev: dict) -> int:  # a product beyond the fanouts is infeasible: clamp it to keep the table small
            n = math.prod(p**k for p, k in ev.items())
            return round(FN_SCALE * float(fn_value(fn, np.array([n if cap is None else min(n, cap)]))[0]))

        return self._element(self._exp_sum(slots), value, name)

    def _qscale(self, qi: int) -> int:
        """The model holds quantity qi times FN_SCALE per nonlinear factor it carries."""
        return FN_SCALE ** len(self.form.quantities[qi].fns)

    def constant(self, q: Quantity) -> int | None:
        """The value of a quantity that spans every loop of its dims (e.g. MACs, LIF updates): the product of
        those dims' bounds; None if it depends on the mapping."""
        if q.refetch or q.windows or q.gates or q.fns or q.presence is not None:
            return None
        dims = {self.slots[j].dim for j in q.factors}
        every = {j for d in dims for j in self.space.slots_of[d]}
        if every != set(q.factors):
            return None
        return q.scale * math.prod(self.space.layer.bound(d) for d in dims)

    def _monomial(self, qi: int, q: Quantity):  # noqa: ANN202
        """scale x prod(factors) x prod(refetch factors): one element table over the exponent sums."""
        exps = {p: (list(t), 0) for p, (t, _) in self._exp_sum(tuple(self.slots[j] for j in q.factors)).items()}
        for r in q.refetch:
            rf = self._refetch(r)
            loop = self.slots[r.position]
            for p, x in self.v.e[loop].items():
                z = self.m.new_int_var(0, self.primes[loop.dim][p], f"z_{qi}_{loop.dim.value}{p}")
                self.m.add(z == x).only_enforce_if(rf)
                self.m.add(z == 0).only_enforce_if(rf.Not())
                exps.setdefault(p, ([], 0))[0].append(z)
        dims_in = {self.slots[j].dim for j in q.factors} | {self.slots[r.position].dim for r in q.refetch}
        # a dim contributes at most its bound's exponent in total (its slots are disjoint factors)
        exps = {p: (t, sum(self.primes[d].get(p, 0) for d in dims_in)) for p, (t, _) in exps.items()}
        return self._element(exps, lambda ev: q.scale * math.prod(p**k for p, k in ev.items()), f"q{qi}")

    def _quantity(self, qi: int):  # noqa: ANN202
        """The (possibly conditional) value of quantity qi: an int constant or an IntVar."""
        if qi in self.v.qvalue:
            return self.v.qvalue[qi]
        q = self.form.quantities[qi]
        const = self.constant(q)
        cond = self._condition(q)
        if const is not None or cond is False:
            value = 0 if cond is False else const
            self.v.qvalue[qi], self.v.qub[qi] = value, value
            return value
        parts = [self._monomial(qi, q)] + [self._window(w, f"q{qi}_w{i}") for i, w in enumerate(q.windows)]
        parts += [self._fn(fn, f"q{qi}_f{i}") for i, fn in enumerate(q.fns)]
        consts = [x for x in parts if isinstance(x, int)]
        varsv = [x for x in parts if not isinstance(x, int)]
        c = math.prod(consts)
        ub = c * math.prod(_ub(x) for x in varsv)
        if not varsv:
            value = c
        else:
            value = self.m.new_int_var(0, ub, f"v{qi}")
            if len(varsv) == 1:
                self.m.add(value == c * varsv[0])
            else:
                prod = self.m.new_int_var(0, math.prod(_ub(x) for x in varsv), f"p{qi}")
                self.m.add_multiplication_equality(prod, varsv)
                self.m.add(value == c * prod)
        if cond is not True:
            y = self.m.new_int_var(0, ub, f"y{qi}")
            self.m.add(y == value).only_enforce_if(cond)
            self.m.add(y == 0).only_enforce_if(cond.Not())
            value = y
        self.v.qvalue[qi], self.v.qub[qi] = value, ub
        return value

    def _add_capacity(self) -> None:
        for cap in self.form.capacities:
            if cap.uses:
                self.m.add(sum(bits * self._quantity(q) for q, bits in cap.uses) <= cap.limit_bits)

    # ---------------------------------------------------------------- objective
    def _product(self, q: int, name: str):  # noqa: ANN202
        quantity = self.form.quantities[q]
        const = self.constant(quantity)
        if const is not None:
            return const
        return self._element(self._exp_sum(tuple(self.slots[j] for j in quantity.factors)),
                             lambda ev: math.prod(p**k for p, k in ev.items()), name)

    def _compute_cycles(self):  # noqa: ANN202
        """Compute steps (with the systolic skew; cycles = steps x cycles_per_step) and their upper bound."""
        cm = self.form.cycles
        cap = None if self.cycles_cap is None else self.cycles_cap // cm.cycles_per_step + 1
        outer = self._product(cm.outer, "compute_outer")
        if cm.inner is None:
            compute, cub = outer, _ub(outer)
            if cap is not None and cub > cap:
                self.m.add(outer <= cap)
                cub = cap
            return compute, cub
        inner = self._product(cm.inner, "compute_inner")
        # outer x inner <= MACs (disjoint temporal factors), so compute <= MACs x (1 + skew)
        cub = min(_ub(outer) * (_ub(inner) + cm.skew), self.space.layer.macs * (1 + cm.skew))
        if cap is not None:
            cub = min(cub, cap)
        compute = self.m.new_int_var(0, cub, "compute_cycles")
        inner_sk = self.m.new_int_var(0, _ub(inner) + cm.skew, "inner_skew")
        self.m.add(inner_sk == inner + cm.skew)
        self.m.add_multiplication_equality(compute, [_as_var(self.m, outer), inner_sk])
        return compute, cub

    def lif_cycles(self) -> float:
        cm = self.form.cycles
        return float(self.constant(self.form.quantities[cm.lif]) or 0) * cm.cycles_per_lif_op

    def _bus_coefs(self) -> dict[str, dict[int, float]]:
        out: dict[str, dict[int, float]] = {}
        for b in self.form.buses:
            d = out.setdefault(b.bus, {})
            d[b.q] = d.get(b.q, 0.0) + b.cycles_per_unit
        return out

    def _cycles_var(self, scale_c: int):  # noqa: ANN202
        """Scaled cycles Cs = scale_c x max(compute, LIF, buses) (>= each; tight at the optimum)."""
        compute, cub = self._compute_cycles()
        per_step = self.form.cycles.cycles_per_step
        lif = Fraction(self.lif_cycles()).limit_denominator(10**6)
        bus_terms = []
        ub = scale_c * max(cub * per_step + self.form.cycles.extra_cycles, math.ceil(lif))
        for coefs in self._bus_coefs().values():
            terms = [(int(_frac(c)[0] / self._qscale(qi) * scale_c), qi) for qi, c in coefs.items() if c]
            if not terms:
                continue
            bus_terms.append(terms)
            ub = max(ub, sum(max(c, 0) * _ub(self._quantity(qi)) for c, qi in terms))
        if self.cycles_cap is not None:  # a proven bound on the optimum's cycles (see cpsat_search)
            ub = min(ub, max(scale_c * self.cycles_cap, scale_c * math.ceil(lif)))
        if ub >= INT_LIMIT:
            ub = INT_LIMIT // 16
            self.exact = False
            self.notes.append("cycles capped at 2^58 / scale (no reference mapping to bound them)")
        cs = self.m.new_int_var(0, ub, "cycles_scaled")
        self.m.add(cs >= scale_c * (per_step * compute + self.form.cycles.extra_cycles))
        self.m.add(cs >= int(lif * scale_c))
        for terms in bus_terms:
            self.m.add(cs >= sum(c * self._quantity(qi) for c, qi in terms))
        return cs, ub

    def energy_coefficients(self) -> tuple[dict[int, float], float]:
        """pJ per unit of each mapping-dependent quantity, and the mapping-independent energy (pJ)."""
        coef: dict[int, float] = {}
        for c in self.form.charges:
            coef[c.q] = coef.get(c.q, 0.0) + c.pj_per_unit
        constant = 0.0
        for q in list(coef):
            value = self.constant(self.form.quantities[q])
            if value is not None:
                constant += coef.pop(q) * value
        return {q: c for q, c in coef.items() if c}, constant

    def _scales(self, fr: dict[int, Fraction]) -> int:
        """The common scale of the cycle terms (1 when cycles do not enter the objective)."""
        need_cycles = bool(self.form.static_pj_per_cycle) or self.inst.objective is Objective.EDP
        if not need_cycles:
            return 0
        dens = [(_frac(b.cycles_per_unit)[0] / self._qscale(b.q)).denominator for b in self.form.buses
                if b.cycles_per_unit]
        dens.append(Fraction(self.lif_cycles()).limit_denominator(10**6).denominator)
        for b in self.form.buses:
            if b.cycles_per_unit:
                self.exact &= _frac(b.cycles_per_unit)[1]
        return math.lcm(*dens)

    def build(self) -> tuple[cp_model.CpModel, dict]:
        self._add_factors()
        self._add_fanout()
        self._add_order()
        self._add_keep()
        self._add_capacity()
        coefs, constant_pj = self.energy_coefficients()
        fr = {}
        for qi, c in coefs.items():  # per unit of the model's value, which holds the quantity x its scale
            f, ok = _frac(c)
            fr[qi] = f / self._qscale(qi)
            self.exact &= ok
        static, ok_s = _frac(self.form.static_pj_per_cycle)
        const, ok_c = _frac(constant_pj)
        self.exact &= ok_s and ok_c
        scale_c = self._scales(fr)
        qvals = {qi: self._quantity(qi) for qi in fr}
        for a, b in self.form.analysis.ordered_pairs:  # redundant (res >= distinct): tightens the LP bound
            if a in self.v.qvalue and b in self.v.qvalue:
                self.m.add(self.v.qvalue[a] >= self.v.qvalue[b])
        cs, cs_ub = (None, 0)
        if scale_c:
            cs, cs_ub = self._cycles_var(scale_c)
        return self._objective(fr, qvals, static / max(scale_c, 1), const, scale_c, cs, cs_ub)

    def _objective(self, fr, qvals, static_c, const, scale_c, cs, cs_ub):  # noqa: ANN001, ANN202
        ub1 = sum(abs(fr[qi]) * _ub(x) for qi, x in qvals.items()) + static_c * cs_ub + abs(const)
        d = math.lcm(*(f.denominator for f in fr.values()), static_c.denominator, const.denominator)
        if d * ub1 * 8 >= INT_LIMIT:  # exact scale too large: round the coefficients to 1/d pJ
            d = max(1, int(INT_LIMIT / (8 * ub1)))
            self.exact = False
            self.notes.append(f"energy coefficients rounded to multiples of 1/{d} pJ to fit 64-bit integers")
        energy_terms = [(round(fr[qi] * d), x) for qi, x in qvals.items()]
        st = round(static_c * d)
        e_ub = sum(abs(c) * _ub(x) for c, x in energy_terms) + st * cs_ub + abs(round(const * d))
        info = {"d": d, "scale_c": max(scale_c, 1), "shift": 0, "const": const}
        e_expr = sum(c * x for c, x in energy_terms) + (st * cs if cs is not None and st else 0)
        if self.inst.objective is Objective.ENERGY:
            if e_ub >= INT_LIMIT:
                raise OverflowError("energy objective does not fit 64 bits")
            self.m.minimize(e_expr)
        else:
            if self.energy_cap_pj is not None:
                e_ub = min(e_ub, math.ceil(self.energy_cap_pj * d) + 1)
            shift = 0
            while (e_ub >> shift) * cs_ub >= INT_LIMIT:
                shift += 1
            if shift:
                self.exact = False
                self.notes.append(f"EDP objective rounded: energy scaled down by 2^{shift} to fit 64 bits")
            e_var = self.m.new_int_var(0, (e_ub >> shift) + 1, "energy_scaled")
            # e_var = ceil(E / 2^shift): exact when shift = 0
            self.m.add(e_var * (1 << shift) >= e_expr + round(const * d))
            self.m.add(e_var * (1 << shift) <= e_expr + round(const * d) + (1 << shift) - 1)
            edp = self.m.new_int_var(0, ((e_ub >> shift) + 1) * cs_ub, "edp")
            self.m.add_multiplication_equality(edp, [e_var, cs])
            self.m.minimize(edp)
            info["shift"] = shift
        if not self.exact and not self.notes:
            self.notes.append("some coefficients are not short decimals: the objective is rounded to 1e-12 relative")
        return self.m, info

    def unscale(self, raw: float, info: dict) -> float:
        d, sc, sh = info["d"], info["scale_c"], info["shift"]
        if self.inst.objective is Objective.ENERGY:
            return raw / d + float(info["const"])
        return raw * (1 << sh) / d / sc

    # ---------------------------------------------------------------- hint
    def add_hint(self, mapping) -> None:  # noqa: ANN001
        """Start the search from a known legal mapping (its factors, orders and bypass)."""
        sp = self.space
        for s, ex in self.v.e.items():
            lm = mapping.levels[s.level]
            f = lm.factor(s.dim, spatial=False) if not s.spatial else math.prod(
                lp.bound for lp in lm.spatial if lp.dim is s.dim and lp.axis == s.axis)
            pf = prime_factors(f)
            for p, x in ex.items():
                self.m.add_hint(x, pf.get(p, 0))
        for lv, b in self.v.before.items():
            order = [lp.dim for lp in mapping.levels[lv].temporal]
            order += [d for d in sp.temporal_dims[lv] if d not in order]
            for a, c in itertools.combinations(list(sp.temporal_dims[lv]), 2):
                self.m.add_hint(b[(a, c)], order.index(a) < order.index(c))
        for (li, t), k in self.v.keep.items():
            if not isinstance(k, bool):
                self.m.add_hint(k, t not in mapping.levels[li].bypass)

    # ---------------------------------------------------------------- solution
    def solution(self, solver: cp_model.CpSolver) -> tuple[tuple[int, ...], dict, tuple]:
        sp = self.space
        row = []
        for s in sp.slots:
            row.append(math.prod(p ** solver.value(x) for p, x in self.v.e[s].items()))
        orders = {}
        for lv, b in self.v.before.items():
            dims = list(sp.temporal_dims[lv])
            wins = {a: sum(1 for c in dims if c is not a and solver.boolean_value(b[(a, c)])) for a in dims}
            orders[lv] = tuple(sorted(dims, key=lambda a: -wins[a]))
        bypass = []
        for li, lv in enumerate(sp.arch.levels):
            by = set()
            for t in lv.keeps:
                k = self.v.keep[(li, t)]
                kept = k if isinstance(k, bool) else solver.boolean_value(k)
                if not kept:
                    by.add(t)
            bypass.append(frozenset(by))
        return tuple(row), orders, tuple(bypass)


def _neg(x):  # noqa: ANN001, ANN202
    return x.Not()


def _ub(x) -> int:  # noqa: ANN001
    if isinstance(x, int):
        return x
    dom = list(x.proto.domain)
    return int(dom[-1])


def _as_var(m: cp_model.CpModel, x):  # noqa: ANN001, ANN202
    if isinstance(x, int):
        return m.new_constant(x)
    return x


_STATUS = {
    cp_model.OPTIMAL: Status.OPTIMAL,
    cp_model.FEASIBLE: Status.FEASIBLE,
    cp_model.INFEASIBLE: Status.INFEASIBLE,
    cp_model.UNKNOWN: Status.UNKNOWN,
}


def solve(inst: MapperInstance, cfg: SolverConfig, *, quiet: bool = True, reference=None,  # noqa: ANN001
          cycles_cap: int | None = None, energy_cap_pj: float | None = None) -> MapperSolution:
    """Build and solve the model; status always checked (MODEL_INVALID raises). ``reference``: a
    legal mapping used as the search hint; ``cycles_cap``: a proven bound on the optimum's cycles."""
    clock = Deadline(cfg.time_limit_s)
    model = _Model(inst)
    model.cycles_cap = cycles_cap
    model.energy_cap_pj = energy_cap_pj
    cpm, info = model.build()
    if reference is not None:
        model.add_hint(reference)
    solver = cp_model.CpSolver()
    solver.parameters.random_seed = cfg.seed
    solver.parameters.num_workers = cfg.workers
    solver.parameters.max_time_in_seconds = max(0.1, cfg.time_limit_s - clock.elapsed())
    solver.parameters.log_search_progress = cfg.log
    bar = progress(None, "cpsat", quiet)

    class _Progress(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            bar.update(1)
            bar.set_postfix_str(f"objective {model.unscale(self.objective_value, info):.6g}")

    old = None
    if threading.current_thread() is threading.main_thread():
        def _stop(signum, frame):  # noqa: ANN001, ARG001
            solver.stop_search()
        old = signal.signal(signal.SIGINT, _stop)
    try:
        code = solver.solve(cpm, _Progress())
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)
        bar.close()
    if code == cp_model.MODEL_INVALID:
        raise RuntimeError(f"CP-SAT model invalid: {cpm.validate()}")
    status = _STATUS[code]
    notes = tuple(model.notes)
    if status in (Status.OPTIMAL, Status.FEASIBLE):
        row, orders, bypass = model.solution(solver)
        return MapperSolution(status=status, row=row, orders=orders, bypass=bypass,
                              value=model.unscale(solver.objective_value, info),
                              bound=model.unscale(solver.best_objective_bound, info), exact=model.exact,
                              wall_s=clock.elapsed(), notes=notes)
    return MapperSolution(status=status, row=None, orders={}, bypass=None, value=None, bound=None,
                          exact=model.exact, wall_s=clock.elapsed(), notes=notes)


def _reference(space: MapSpace, obj: Objective, model: _Model, seconds: float, seed: int):  # noqa: ANN202
    """A legal mapping from a short random search (the hint) and the bounds it proves:
    energy: E_opt <= E_ref and E_opt >= static x cycles -> cycles_opt <= E_ref / static;
    EDP: E_opt x C_opt <= E_ref x C_ref with E_opt >= the mapping-independent energy (bounds
    cycles) and C_opt >= max(MACs / PEs, LIF cycles) (bounds energy)."""
    from mappers.random import random_search

    res = random_search(space, obj, time_limit_s=seconds, samples=8192, seed=seed, top_k=1)
    if res.cost is None:
        return None, None, None
    e, c = res.cost.total_energy_pj, res.cost.cycles
    ecap = None
    static = model.form.static_pj_per_cycle
    constant_pj = model.energy_coefficients()[1]
    if obj is Objective.ENERGY:
        cap = e / static if static else None
    else:
        cap = e * c / constant_pj if constant_pj > 0 else None
        # C_opt >= MACs / PEs (compute) and >= the LIF cycles, so E_opt <= EDP_ref / that
        c_min = max(space.layer.macs / space.arch.pes, model.lif_cycles(), 1.0)
        ecap = e * c / c_min * (1 + 1e-9)
    return res.mapping, (None if cap is None else math.ceil(cap * (1 + 1e-9)) + 1), ecap


def cpsat_search(space: MapSpace, obj: Objective, cfg: SolverConfig | None = None, *, top_k: int = 1,
                 quiet: bool = True) -> SearchResult:
    """Map with CP-SAT; the returned Cost is costmodel's evaluation of the mapping CP-SAT found."""
    cfg = cfg or SolverConfig()
    clock = Deadline(cfg.time_limit_s)
    inst = MapperInstance(space=space, form=space.form, objective=obj)
    ref, cap, ecap = _reference(space, obj, _Model(inst), min(0.5, cfg.time_limit_s / 10), cfg.seed)
    sol = solve(inst, cfg, quiet=quiet, reference=ref, cycles_cap=cap, energy_cap_pj=ecap)
    top = TopK(max(1, top_k))
    notes = list(sol.notes)
    if sol.row is not None:
        mapping = space.to_mapping(sol.row, {lv: space.full_order(lv, o) for lv, o in sol.orders.items()},
                                   sol.bypass)
        top.offer(sol.value, mapping)
    res = finish(method="cpsat", space=space, obj=obj, top=top, evaluated=1 if sol.row is not None else 0,
                 clock=clock, status=sol.status, bound=sol.bound, notes=tuple(notes))
    if res.cost is not None and sol.value is not None:
        v = obj.of_cost(res.cost)
        if abs(v - sol.value) > 1e-9 * max(abs(v), 1.0):
            from dataclasses import replace

            res = replace(res, notes=res.notes + (f"model objective {sol.value:.12g} vs costmodel {v:.12g}",))
    return res
