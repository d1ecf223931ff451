"""OR-Tools CP-SAT mapper: an exact integer model of the mapspace and of the layer's cost form.

The cost form is :attr:`mappers.mapspace.MapSpace.form`: the one loop-nest analysis
(:func:`costmodel.analysis.analyze`) of the *open* nest (one loop per slot, order and bypass undecided), priced by
:func:`costmodel.pricing.price`. This module encodes that form; it states no count and no energy itself.

Variables (containers on :class:`_Vars`):

* ``e[slot][p]``: exponent of prime p in the factor of ``slot`` (one slot per (level, temporal or
  spatial axis, dim) of the mapspace); per dim and prime the exponents sum to the bound's exponent.
* ``live[slot]``: factor > 1.
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

What makes it prove optimality (each switched by :class:`ModelOptions`; ``benchmarks/mapper_bench.py --suite ideas``
switches each off in turn on the four hardest layers of the acceptance suite; numbers below are wall s with all on
-> with that idea off, on 2 cores, 2026-11-30):

* **log-weighted fanout limits** (``log_fanout``): the LP sees the PE count the spatial factors share. Pays most:
  5.1 -> 31.4 s, 4.4 -> 28.2 s, 4.6 -> 6.7 s, 5.3 -> 23.3 s.
* **spill terms**: a partial-sum spill is charged as residencies minus distinct tiles; the pair becomes one
  nonnegative term so no negative coefficient weakens the bound (5.3 -> 18.6 s on generic3 DVS conv1, neutral
  elsewhere).
* **linear cycles**: with a systolic fanout, compute = outer x (inner + skew) = all temporal loops + skew x
  outer: two products, no multiplication constraint (5.1 -> 5.7 s, 4.4 -> 5.4 s on SATA).
* **symmetry breaking**: loops of bound 1 are ordered innermost in a fixed order, and live loops of dims that
  every tensor treats alike (N, P, Q; C, R, S) in a fixed relative order (neutral: 4.4-5.9 s either way; kept
  because it makes the returned mapping canonical).
* **warm start**: the best seed mapping (every named dataflow's heuristic that lies in the space and a seeded
  random probe of fixed size, :mod:`mappers.seeds`) is the hint and caps the objective (cutoff). Neutral to mixed
  on these layers (cutoff off: 3.7 vs 5.3 s on generic3 DVS conv1, slower on the others); kept because it is
  what makes every search, however short, return a legal mapping.
* **hull cuts** (off by default): a product of factors is a convex function of its exponents' logarithm; the
  option adds the lower convex hull of its (log-weighted exponent sum, value) points as linear cuts, so the LP sees
  every count (refills, tiles, compute steps, the algorithmic minimum traffic). Measured not to pay: switching
  them off made the four layers faster (5.1 -> 3.1, 4.4 -> 2.0, 4.6 -> 4.3, 5.3 -> 3.8 s) and the whole
  acceptance suite (58 shapes, all OPTIMAL either way, the same energies) went from 394 s to 301 s, max 5.8 ->
  3.6 s per shape. tests/test_form_agreement.py keeps them on to check they never cut off a legal mapping.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import select
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction

import numpy as np
from ortools.sat.python import cp_model

from costmodel.analysis import Fn, Gate, Position, Quantity, Refetch, Window, window_extent
from costmodel.evaluate import fanout_limit
from costmodel.mapping import Invalid, Mapping
from costmodel.numeric import fn_value
from costmodel.pricing import CostForm
from costmodel.types import DIMS, OP_SPACE, RELEVANT, TENSORS, Axis, Dim, Tensor
from mappers.dataflows import TPlacement
from mappers.mapspace import MapSpace, Slot, prime_factors
from mappers.search import Deadline, Method, Objective, SearchResult, Status, TopK, finish, progress

INT_LIMIT = 2**62
FN_SCALE = 2**16
LOG_UNITS = 1024  # integer log2 weights of the primes: floor(LOG_UNITS * log2 p)
HULL_BOX_LIMIT = 20_000  # exponent boxes larger than this get no hull cuts (never reached on real layers)

BoolLit = cp_model.BoolVarT  # a BoolVar or its negation (``x.Not()``)
IntVal = cp_model.IntVar | int  # a model value: an IntVar, or an int when the value is a constant


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelOptions:
    """Which strengthenings the CP-SAT model carries (all exact: none changes the optimum)."""

    hull_cuts: bool = False  # measured not to pay (benchmarks/mapper_bench.py --suite ideas): see the module docstring
    log_fanout: bool = True
    linear_cycles: bool = True
    spill_terms: bool = True
    symmetry: bool = True
    cutoff: bool = True  # objective <= the best seed's value
    hint: bool = True  # start from the best seed mapping


@dataclass(frozen=True, slots=True, kw_only=True)
class SolverConfig:
    """CP-SAT parameters: always explicit (seed, workers, budgets).

    ``deterministic_s``: CP-SAT's deterministic time budget (reproducible: same inputs, seed and workers give the
    same result). ``time_limit_s``: an optional wall-clock limit on top (a run it stops is not reproducible).
    ``probe_samples``: size of the seeded random probe that seeds the search.
    """

    time_limit_s: float | None = None
    deterministic_s: float = 20.0
    seed: int = 0
    workers: int = 2
    log: bool = False
    probe_samples: int = 512
    options: ModelOptions = field(default_factory=ModelOptions)


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
    stopped_by_wall_clock: bool = False
    interrupted: bool = False
    cutoff_used: bool = False
    deterministic_s: float = 0.0
    reproducible: bool = True


@dataclass
class _Vars:
    e: dict[Slot, dict[int, cp_model.IntVar]] = field(default_factory=dict)
    live: dict[Slot, cp_model.IntVar] = field(default_factory=dict)
    before: dict[int, dict[tuple[Dim, Dim], BoolLit]] = field(default_factory=dict)
    keep: dict[tuple[int, Tensor], cp_model.IntVar | bool] = field(default_factory=dict)  # BoolVar or True/False
    refetch: dict[Refetch, cp_model.IntVar] = field(default_factory=dict)
    z: dict[tuple[Refetch, int], cp_model.IntVar] = field(default_factory=dict)
    gates: dict[Gate, BoolLit] = field(default_factory=dict)
    qvalue: dict[int, IntVal] = field(default_factory=dict)  # IntVar or int (constant)
    qub: dict[int, int] = field(default_factory=dict)
    monos: dict[tuple, IntVal] = field(default_factory=dict)
    values: dict[tuple, IntVal] = field(default_factory=dict)


def _frac(x: float) -> tuple[Fraction, bool]:
    f = Fraction(x).limit_denominator(10**6)
    return f, abs(float(f) - x) <= 1e-12 * max(abs(x), 1e-300)


def lower_hull(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The lower convex hull of integer points (x, y), left to right (exact integer arithmetic): every point lies
    on or above each edge's line."""
    best: dict[int, int] = {}
    for x, y in points:
        if x not in best or y < best[x]:
            best[x] = y
    hull: list[tuple[int, int]] = []
    for p in sorted(best.items()):
        while len(hull) >= 2:
            (ox, oy), (ax, ay) = hull[-2], hull[-1]
            if (ax - ox) * (p[1] - oy) - (ay - oy) * (p[0] - ox) <= 0:
                hull.pop()
            else:
                break
        hull.append(p)
    return hull


def _equivalent_dims() -> dict[Dim, int]:
    """Dims every tensor treats alike (same relevance and operation space): swapping two of their loops changes
    no count. Each dim maps to its class id (the first dim of the class)."""
    sig = {d: tuple((d in RELEVANT[t], d in OP_SPACE[t]) for t in TENSORS) for d in DIMS}
    first: dict[tuple, int] = {}
    return {d: first.setdefault(sig[d], i) for i, d in enumerate(DIMS)}


EQUIVALENT = _equivalent_dims()


class _Model:
    """Builds the CP-SAT model of one :class:`MapperInstance` with small ``_add_*`` steps."""

    def __init__(self, inst: MapperInstance, options: ModelOptions | None = None) -> None:
        self.inst = inst
        self.opts = options or ModelOptions()
        self.space = inst.space
        self.form = inst.form
        self.slots: tuple[Slot, ...] = inst.form.analysis.view.positions
        self.m = cp_model.CpModel()
        self.v = _Vars()
        self.primes: dict[Dim, dict[int, int]] = {d: prime_factors(self.space.layer.bound(d)) for d in DIMS}
        self.logw = {p: int(math.floor(LOG_UNITS * math.log2(p) + 1e-9)) for pf in self.primes.values() for p in pf}
        self.notes: list[str] = []
        self.exact = True
        self.cycles_cap: int | None = None
        self.energy_cap_pj: float | None = None  # a proven bound on the optimum's energy (EDP only)
        self.cutoff_pj: float | None = None  # a known mapping's objective (energy pJ or pJ x cycles)
        self.cutoff_used = False
        self.n_cuts = 0

    # ---------------------------------------------------------------- factors, fanout, order, keep
    def _add_factors(self) -> None:
        sp = self.space
        fixed = dict(sp.constraints.fixed_factors)
        for d in DIMS:
            slots = [sp.slots[i] for i in sp.slots_of[d]]
            for p, total in self.primes[d].items():
                vs = []
                for s in slots:
                    top = total
                    if s.spatial and s.axis is not None:  # p^x <= the axis' fanout
                        top = min(
                            top, int(math.floor(math.log(fanout_limit(sp.arch, sp.layer, s.level, s.axis), p) + 1e-9))
                        )
                    x = self.m.new_int_var(0, top, f"e_{s.level}{s.axis or 't'}{d.value}_{p}")
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
                self._live(s)

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

    def _lo(self, slots: tuple[Slot, ...]) -> dict[int, int]:
        """Per prime, the least exponent sum of a product of slot factors: the exponents of the dims all of whose
        slots it spans (their factors multiply to the bound)."""
        have = set(slots)
        lo: dict[int, int] = {}
        for d in {s.dim for s in slots}:
            if all(self.space.slots[i] in have for i in self.space.slots_of[d]):
                for p, k in self.primes[d].items():
                    lo[p] = lo.get(p, 0) + k
        return lo

    def _element(
        self,
        exps: dict[int, tuple[list, int]],
        fn,
        name: str,
        ub: int | None = None,  # noqa: ANN001, ANN202
        lo: dict[int, int] | None = None,
    ):
        """An int var = fn({p: E_p}) via an element table over the exponent box lo..max (mixed radix)."""
        primes = sorted(exps)
        if not primes:
            return fn({})
        lo = lo or {}
        radix, box = [], 1
        for p in primes:
            radix.append(box)
            box *= exps[p][1] - lo.get(p, 0) + 1
        if box == 1:
            return fn({p: exps[p][1] for p in primes})
        table = []
        for idx in range(box):
            ev = {
                p: lo.get(p, 0) + (idx // r) % (exps[p][1] - lo.get(p, 0) + 1)
                for p, r in zip(primes, radix, strict=True)
            }
            table.append(fn(ev))
        top = max(table) if ub is None else min(max(table), ub)
        target = self.m.new_int_var(min(table), top, name)
        index = self.m.new_int_var(0, box - 1, f"{name}_idx")
        self.m.add(index == sum(r * (sum(exps[p][0]) - lo.get(p, 0)) for p, r in zip(primes, radix, strict=True)))
        self.m.add_element(index, table, target)
        return target

    def _log(self, exps: dict[int, tuple[list, int]]):  # noqa: ANN202
        """The log-weighted exponent sum: sum_p floor(LOG_UNITS log2 p) x E_p <= LOG_UNITS log2(product)."""
        return sum(self.logw[p] * sum(terms) for p, (terms, _) in exps.items())

    def _hull(
        self,
        value,
        exps: dict[int, tuple[list, int]],
        scale: int = 1,  # noqa: ANN001
        lo: dict[int, int] | None = None,
    ) -> None:
        """Cuts value >= the lower convex hull of (log-weighted exponent sum, scale x product) over the exponent
        box lo..max: valid for every integer point, and the LP's view of the product (see the module docstring)."""
        if not self.opts.hull_cuts or isinstance(value, int) or not exps:
            return
        lo = lo or {}
        primes = sorted(exps)
        ranges = [range(lo.get(p, 0), exps[p][1] + 1) for p in primes]
        if math.prod(len(r) for r in ranges) > HULL_BOX_LIMIT:
            return
        pts = []
        for ev in itertools.product(*ranges):
            pts.append(
                (
                    sum(self.logw[p] * k for p, k in zip(primes, ev, strict=True)),
                    scale * math.prod(p**k for p, k in zip(primes, ev, strict=True)),
                )
            )
        hull = lower_hull(pts)
        lam = self.m.new_int_var(0, hull[-1][0], f"log_{value.name}")
        self.m.add(lam == self._log(exps))
        ub = _ub(value)
        for (x0, y0), (x1, y1) in itertools.pairwise(hull):
            if y0 > ub:
                break
            dx, dy = x1 - x0, y1 - y0
            g = math.gcd(dx, dy)
            dx, dy = dx // g, dy // g
            if dx * ub >= INT_LIMIT or dy * x1 >= INT_LIMIT:
                continue
            self.m.add(dx * value - dy * lam >= dx * y0 - dy * x0)
            self.n_cuts += 1

    def _add_fanout(self) -> None:
        groups: dict[tuple[int, Axis], list[Slot]] = {}
        for s in self.space.slots:
            if s.spatial and s.axis is not None:
                groups.setdefault((s.level, s.axis), []).append(s)
        for (lv, axis), slots in groups.items():
            limit = fanout_limit(self.space.arch, self.space.layer, lv, axis)
            exps = self._exp_sum(tuple(slots))
            self._element(exps, lambda ev: math.prod(p**k for p, k in ev.items()), f"fanout_{lv}{axis}", ub=limit)
            if self.opts.log_fanout and exps:
                self.m.add(self._log(exps) <= int(math.floor(LOG_UNITS * math.log2(limit) + 1e-9)))

    def _add_order(self) -> None:
        sp = self.space
        for lv in sp.order_levels:
            dims = list(sp.temporal_dims[lv])
            b: dict[tuple[Dim, Dim], BoolLit] = {}
            for a, c in itertools.combinations(dims, 2):
                x = self.m.new_bool_var(f"before_{lv}{a.value}{c.value}")
                b[(a, c)] = x
                b[(c, a)] = x.Not()
            for a, c, d in itertools.permutations(dims, 3):
                self.m.add_bool_or([_neg(b[(a, c)]), _neg(b[(c, d)]), b[(a, d)]])
            t_first = sp.constraints.t_placement is TPlacement.OUTERMOST and lv == 0 and Dim.T in dims
            if t_first:
                for d in dims:
                    if d is not Dim.T:
                        self.m.add_bool_and([b[(Dim.T, d)]])
            fixed = [d for d in sp.constraints.fixed_order(lv) if d in dims]
            for a, c in itertools.pairwise(fixed):
                self.m.add_bool_and([b[(a, c)]])
            self.v.before[lv] = b
            if self.opts.symmetry:
                self._break_order_symmetry(lv, dims, set(fixed) | ({Dim.T} if t_first else set()))

    def _break_order_symmetry(self, lv: int, dims: list[Dim], pinned: set[Dim]) -> None:
        """Loops of bound 1 go innermost, in dim order; live loops of equivalent dims (:data:`EQUIVALENT`) keep
        dim order. Dims whose order a constraint pins are left alone, so some optimum always satisfies both."""
        b = self.v.before[lv]
        free = [d for d in dims if d not in pinned]
        for a, c in itertools.combinations(free, 2):  # a before c in DIMS order
            la, lc = self.v.live[Position(lv, a)], self.v.live[Position(lv, c)]
            self.m.add_bool_or([la, lc, b[(a, c)]])  # both dead: dim order
            self.m.add_bool_or([la, lc.Not(), b[(c, a)]])  # a dead, c live: c first
            self.m.add_bool_or([la.Not(), lc, b[(a, c)]])  # a live, c dead: a first
            if EQUIVALENT[a] == EQUIVALENT[c]:
                self.m.add_bool_or([la.Not(), lc.Not(), b[(a, c)]])

    def _add_keep(self) -> None:
        sp = self.space
        for li, lv in enumerate(sp.arch.levels):
            for t in (t for t in TENSORS if t in lv.keeps):  # a fixed order: the model must not depend on hashing
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
                self.m.add_bool_or(
                    [_neg(self.v.before[loop.level][(loop.dim, inner.dim)]), self.v.live[inner].Not(), x]
                )
        self.v.refetch[r] = x
        return x

    def _z(self, r: Refetch, p: int):  # noqa: ANN202
        """Exponent of p in the refetch factor of ``r``: the loop's exponent when the refetch is active, else 0."""
        key = (r, p)
        if key not in self.v.z:
            rf = self._refetch(r)
            loop = self.slots[r.position]
            x = self.v.e[loop][p]
            z = self.m.new_int_var(0, _ub(x), f"z_{r.position}_{p}_{len(self.v.z)}")
            self.m.add(z == x).only_enforce_if(rf)
            self.m.add(z == 0).only_enforce_if(rf.Not())
            self.v.z[key] = z
        return self.v.z[key]

    def _live(self, slot: Slot):  # noqa: ANN202
        """A BoolVar equal to [factor of ``slot`` > 1]."""
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

    def _window_exps(self, w: Window) -> tuple[dict, dict]:
        return self._exp_sum(tuple(self.slots[j] for j in w.p)), self._exp_sum(tuple(self.slots[j] for j in w.r))

    def _window(self, w: Window, name: str):  # noqa: ANN202
        key = ("window", w)
        if key in self.v.values:
            return self.v.values[key]
        pe, re_ = self._window_exps(w)
        both = {("p", p): v for p, v in pe.items()} | {("r", p): v for p, v in re_.items()}
        keys = sorted(both, key=str)

        def fn(ev: dict) -> int:
            pv = math.prod(p**k for (side, p), k in ev.items() if side == "p")
            rv = math.prod(p**k for (side, p), k in ev.items() if side == "r")
            return window_extent(pv, rv, w.stride)

        if not keys:
            self.v.values[key] = fn({})
            return self.v.values[key]
        radix, box = [], 1
        for k in keys:
            radix.append(box)
            box *= both[k][1] + 1
        table = [fn({k: (i // r) % (both[k][1] + 1) for k, r in zip(keys, radix, strict=True)}) for i in range(box)]
        target = self.m.new_int_var(min(table), max(table), name)
        index = self.m.new_int_var(0, box - 1, f"{name}_idx")
        self.m.add(index == sum(r * sum(both[k][0]) for k, r in zip(keys, radix, strict=True)))
        self.m.add_element(index, table, target)
        self.v.values[key] = target
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
        if q.flow is not None:
            raise ValueError("the CP-SAT model cannot carry halo_reuse / peer_forwarding (a walk, not a product)")
        if q.refetch or q.windows or q.gates or q.fns or q.presence is not None:
            return None
        dims = {self.slots[j].dim for j in q.factors}
        every = {j for d in dims for j in self.space.slots_of[d]}
        if every != set(q.factors):
            return None
        return q.scale * math.prod(self.space.layer.bound(d) for d in dims)

    def _mono_exps(self, factors: tuple[int, ...], refetch: tuple[Refetch, ...]) -> dict[int, tuple[list, int]]:
        """Per prime: exponent terms of prod(factors) x prod(active refetch factors) and the box's maximum (a
        dim contributes at most its bound's exponent in total: its slots are disjoint factors)."""
        exps = {p: list(t) for p, (t, _) in self._exp_sum(tuple(self.slots[j] for j in factors)).items()}
        for r in refetch:
            loop = self.slots[r.position]
            for p in self.v.e[loop]:
                exps.setdefault(p, []).append(self._z(r, p))
        dims_in = {self.slots[j].dim for j in factors} | {self.slots[r.position].dim for r in refetch}
        return {p: (t, sum(self.primes[d].get(p, 0) for d in dims_in)) for p, t in exps.items()}

    def _monomial(self, factors: tuple[int, ...], refetch: tuple[Refetch, ...], scale: int, name: str):  # noqa: ANN202
        """scale x prod(factors) x prod(refetch factors): one element table over the exponent sums (shared by
        every quantity with the same product), with its hull cuts."""
        key = (factors, refetch, scale)
        if key not in self.v.monos:
            exps = self._mono_exps(factors, refetch)
            lo = self._lo(tuple(self.slots[j] for j in factors))
            value = self._element(exps, lambda ev: scale * math.prod(p**k for p, k in ev.items()), name, lo=lo)
            self._hull(value, exps, scale, lo)
            self.v.monos[key] = value
        return self.v.monos[key]

    def _lower_exps(self, q: Quantity) -> dict[int, tuple[list, int]]:
        """Exponents of a product that bounds the quantity from below: its monomial times the output-side products
        of its windows (a window extent (p - 1) s + r or p r is >= p)."""
        exps = dict(self._mono_exps(q.factors, q.refetch))
        for w in q.windows:
            pe, _ = self._window_exps(w)
            for p, (terms, mx) in pe.items():
                t0, m0 = exps.get(p, ([], 0))
                exps[p] = ([*t0, *terms], m0 + mx)
        return exps

    def _value(self, qi: int, q: Quantity):  # noqa: ANN202
        """The unconditional value of quantity qi (its presence and gates aside): int or IntVar."""
        key = (q.factors, q.refetch, q.windows, q.scale, q.fns)
        if key in self.v.values:
            return self.v.values[key]
        parts = [self._monomial(q.factors, q.refetch, q.scale, f"q{qi}")]
        parts += [self._window(w, f"q{qi}_w{i}") for i, w in enumerate(q.windows)]
        parts += [self._fn(fn, f"q{qi}_f{i}") for i, fn in enumerate(q.fns)]
        consts = [x for x in parts if isinstance(x, int)]
        varsv = [x for x in parts if not isinstance(x, int)]
        c = math.prod(consts)
        value: IntVal
        if not varsv:
            value = c
        elif len(varsv) == 1 and c == 1:
            value = varsv[0]
        else:
            ub = c * math.prod(_ub(x) for x in varsv)
            lb = c * math.prod(_lb(x) for x in varsv)
            value = self.m.new_int_var(lb, ub, f"v{qi}")
            if len(varsv) == 1:
                self.m.add(value == c * varsv[0])
            else:
                prod = self.m.new_int_var(lb // max(c, 1), math.prod(_ub(x) for x in varsv), f"p{qi}")
                self.m.add_multiplication_equality(prod, varsv)
                self.m.add(value == c * prod)
            if q.windows and not q.fns:
                self._hull(value, self._lower_exps(q), q.scale, self._lo(tuple(self.slots[j] for j in q.factors)))
        self.v.values[key] = value
        return value

    def _quantity(self, qi: int):  # noqa: ANN202
        """The (possibly conditional) value of quantity qi: an int constant or an IntVar."""
        if qi in self.v.qvalue:
            return self.v.qvalue[qi]
        q = self.form.quantities[qi]
        const = self.constant(q)
        cond = self._condition(q)
        if cond is False:
            const = 0  # the quantity is absent: 0 whatever its value
        if const is not None:
            self.v.qvalue[qi], self.v.qub[qi] = const, const
            return const
        value = self._value(qi, q)
        ub = _ub(value)
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
        return self._monomial(quantity.factors, (), 1, name)

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
        q_out, q_in = self.form.quantities[cm.outer], self.form.quantities[cm.inner]
        # outer x inner <= MACs (disjoint temporal factors), so compute <= MACs x (1 + skew)
        if self.opts.linear_cycles:  # outer x (inner + skew) = (all temporal loops) + skew x outer
            every = self._product_of(tuple(sorted(set(q_out.factors) | set(q_in.factors))), "compute_all")
            cub = min(_ub(every) + cm.skew * _ub(outer), self.space.layer.macs * (1 + cm.skew))
            if cap is not None:
                cub = min(cub, cap)
            compute = self.m.new_int_var(0, cub, "compute_cycles")
            self.m.add(compute == every + cm.skew * outer)
            return compute, cub
        inner = self._product(cm.inner, "compute_inner")
        cub = min(_ub(outer) * (_ub(inner) + cm.skew), self.space.layer.macs * (1 + cm.skew))
        if cap is not None:
            cub = min(cub, cap)
        compute = self.m.new_int_var(0, cub, "compute_cycles")
        inner_sk = self.m.new_int_var(0, _ub(inner) + cm.skew, "inner_skew")
        self.m.add(inner_sk == inner + cm.skew)
        self.m.add_multiplication_equality(compute, [_as_var(self.m, outer), inner_sk])
        return compute, cub

    def _product_of(self, factors: tuple[int, ...], name: str):  # noqa: ANN202
        const = self.constant(Quantity(factors))
        return const if const is not None else self._monomial(factors, (), 1, name)

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

    def _exact_constant(self) -> tuple[Fraction, bool]:
        """The mapping-independent energy as an exact sum of the charges' rational coefficients x the constant
        quantities (a float sum's rational approximation would have a needlessly large denominator)."""
        total, ok = Fraction(0), True
        for c in self.form.charges:
            value = self.constant(self.form.quantities[c.q])
            if value is not None and c.pj_per_unit:
                f, exact = _frac(c.pj_per_unit)
                total += f * value
                ok &= exact
        return total, ok

    def _scales(self, fr: dict[int, Fraction]) -> int:
        """The common scale of the cycle terms (0 when cycles do not enter the objective)."""
        need_cycles = bool(self.form.static_pj_per_cycle) or self.inst.objective is Objective.EDP
        if not need_cycles:
            return 0
        dens = [
            (_frac(b.cycles_per_unit)[0] / self._qscale(b.q)).denominator for b in self.form.buses if b.cycles_per_unit
        ]
        dens.append(Fraction(self.lif_cycles()).limit_denominator(10**6).denominator)
        for b in self.form.buses:
            if b.cycles_per_unit:
                self.exact &= _frac(b.cycles_per_unit)[1]
        return math.lcm(*dens)

    def _terms(self, fr: dict[int, Fraction]) -> list[tuple[Fraction, IntVal]]:
        """The energy as (coefficient, variable) terms; with ``spill_terms`` every (residencies, distinct) pair of
        opposite coefficients becomes a nonnegative spill variable residencies - distinct."""
        qvals = {qi: self._quantity(qi) for qi in fr}
        rem = dict(fr)
        terms: list[tuple[Fraction, IntVal]] = []
        for a, b in self.form.analysis.ordered_pairs:  # redundant (res >= distinct): tightens the LP bound
            if a in self.v.qvalue and b in self.v.qvalue and not isinstance(self.v.qvalue[a], int):
                self.m.add(self.v.qvalue[a] >= self.v.qvalue[b])
            if not self.opts.spill_terms or a not in rem or b not in rem:
                continue
            k = min(rem[a], -rem[b])
            if k <= 0:
                continue
            ya, yb = qvals[a], qvals[b]
            ub = _ub(ya) if not isinstance(ya, int) else ya
            s = self.m.new_int_var(0, max(ub, 0), f"spill_{a}_{b}")
            self.m.add(s == ya - yb)
            terms.append((k, s))
            rem[a] -= k
            rem[b] += k
        terms += [(c, qvals[qi]) for qi, c in rem.items() if c]
        return terms

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
        const, ok_c = self._exact_constant()
        self.exact &= ok_s and ok_c
        scale_c = self._scales(fr)
        terms = self._terms(fr)
        cs, cs_ub = (None, 0)
        if scale_c:
            cs, cs_ub = self._cycles_var(scale_c)
        return self._objective(terms, static / max(scale_c, 1), const, scale_c, cs, cs_ub)

    def _objective(self, terms, static_c, const, scale_c, cs, cs_ub):  # noqa: ANN001, ANN202
        if self.cutoff_pj is not None and self.inst.objective is Objective.ENERGY:
            terms = self._within_cutoff(terms, const, self.cutoff_pj)
        ub1 = sum(abs(f) * _ub(x) for f, x in terms) + static_c * cs_ub + abs(const)
        dens = [f.denominator for f, _ in terms] + [static_c.denominator]
        if self.inst.objective is Objective.EDP:  # the energy objective leaves the constant out (unscale adds it)
            dens.append(const.denominator)
        d = math.lcm(*dens)
        if d * ub1 * 2 >= INT_LIMIT:  # exact scale too large: round the coefficients to 1/d pJ
            d = max(1, int(INT_LIMIT / (8 * ub1)))
            self.exact = False
            self.notes.append(f"energy coefficients rounded to multiples of 1/{d} pJ to fit 64-bit integers")
        energy_terms = [(round(f * d), x) for f, x in terms]
        st = round(static_c * d)
        e_ub = sum(abs(c) * _ub(x) for c, x in energy_terms) + st * cs_ub + abs(round(const * d))
        info = {"d": d, "scale_c": max(scale_c, 1), "shift": 0, "const": const}
        e_expr = sum(c * x for c, x in energy_terms) + (st * cs if cs is not None and st else 0)
        if self.inst.objective is Objective.ENERGY:
            if e_ub >= INT_LIMIT:
                raise OverflowError("energy objective does not fit 64 bits")
            if self.opts.cutoff and self.cutoff_pj is not None and self.exact:
                self.m.add(e_expr <= math.floor((self.cutoff_pj - float(const)) * d * (1 + 1e-9)) + 1)
                self.cutoff_used = True
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
            if self.opts.cutoff and self.cutoff_pj is not None and self.exact:
                self.m.add(edp <= math.floor(self.cutoff_pj * d * max(scale_c, 1) * (1 + 1e-9)) + 1)
                self.cutoff_used = True
            self.m.minimize(edp)
            info["shift"] = shift
        if not self.exact and not self.notes:
            self.notes.append("some coefficients are not short decimals: the objective is rounded to 1e-12 relative")
        return self.m, info

    def _within_cutoff(self, terms: list, const: Fraction, cutoff_pj: float) -> list:
        """Each term of a mapping no worse than the cutoff is at most (cutoff - constant - the negative terms'
        least sum) / its coefficient: domains tightened accordingly (keeps the objective's scale within 64 bits)."""
        neg = sum(f * _ub(x) for f, x in terms if f < 0 and not isinstance(x, int))
        budget = Fraction(cutoff_pj) * (1 + Fraction(1, 10**6)) - const - neg
        out = []
        for f, x in terms:
            if f > 0 and not isinstance(x, int) and budget >= 0:
                top = math.floor(budget / f)
                if top < _ub(x):
                    y = self.m.new_int_var(_lb(x), max(_lb(x), top), f"{x.name}_cut")
                    self.m.add(y == x)
                    x = y
            out.append((f, x))
        return out

    def unscale(self, raw: float, info: dict) -> float:
        d, sc, sh = info["d"], info["scale_c"], info["shift"]
        if self.inst.objective is Objective.ENERGY:
            return raw / d + float(info["const"])
        return raw * (1 << sh) / d / sc

    # ---------------------------------------------------------------- hint
    def add_hint(self, mapping: Mapping) -> None:
        """Start the search from a known legal mapping (its factors, liveness, orders and bypass)."""
        sp = self.space
        for s, ex in self.v.e.items():
            lm = mapping.levels[s.level]
            f = (
                lm.factor(s.dim, spatial=False)
                if not s.spatial
                else math.prod(lp.bound for lp in lm.spatial if lp.dim is s.dim and lp.axis == s.axis)
            )
            pf = prime_factors(f)
            for p, x in ex.items():
                self.m.add_hint(x, pf.get(p, 0))
            if s in self.v.live:
                self.m.add_hint(self.v.live[s], f > 1)
        for lv, b in self.v.before.items():
            live = [lp.dim for lp in mapping.levels[lv].temporal if lp.bound > 1]
            order = list(sp.full_order(lv, tuple(d for d in live if d in sp.temporal_dims[lv])))
            if self.opts.symmetry:
                order = self._canonical(lv, order, set(live))
            for a, c in itertools.combinations(list(sp.temporal_dims[lv]), 2):
                self.m.add_hint(b[(a, c)], order.index(a) < order.index(c))
        for (li, t), k in self.v.keep.items():
            if not isinstance(k, bool):
                self.m.add_hint(k, t not in mapping.levels[li].bypass)

    def _canonical(self, lv: int, order: list[Dim], live: set[Dim]) -> list[Dim]:
        """The symmetry-breaking representative of a complete order: live loops first (equivalent dims among
        them in dim order, over their positions), then dead ones in dim order; pinned dims stay put."""
        sp = self.space
        pinned = set(sp.constraints.fixed_order(lv))
        if sp.constraints.t_placement is TPlacement.OUTERMOST and lv == 0:
            pinned.add(Dim.T)
        live_o = [d for d in order if d in live or d in pinned]
        dead = sorted((d for d in order if d not in live and d not in pinned), key=DIMS.index)
        for cls in set(EQUIVALENT.values()):
            idx = [i for i, d in enumerate(live_o) if EQUIVALENT[d] == cls and d not in pinned]
            members = sorted((live_o[i] for i in idx), key=DIMS.index)
            for i, d in zip(idx, members, strict=True):
                live_o[i] = d
        return live_o + dead

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
        for li, level in enumerate(sp.arch.levels):
            by = set()
            for t in level.keeps:
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


def _lb(x) -> int:  # noqa: ANN001
    if isinstance(x, int):
        return x
    return int(x.proto.domain[0])


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


@contextlib.contextmanager
def _on_ctrl_c(stop: Callable[[], object]) -> Iterator[None]:
    """Call ``stop`` from a watcher thread as soon as SIGINT arrives, while the main thread is inside the solver.

    A Python signal handler runs only when the main thread executes Python code, which it does not during
    ``CpSolver.solve``; CP-SAT's own SIGINT handler (``catch_sigint_signal``) stops the search but says nothing.
    So CP-SAT's is off, and the signal's byte, which Python's C-level handler writes to the wakeup fd at once,
    wakes a thread that stops the search and records that it was interrupted. Outside the main thread: no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    rsock, wsock = socket.socketpair()
    wsock.setblocking(False)
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            ready, _, _ = select.select([rsock], [], [], 0.1)
            if ready:
                data = rsock.recv(64)
                if signal.SIGINT in data:
                    stop()

    old_handler = signal.signal(signal.SIGINT, lambda signum, frame: None)
    old_fd = signal.set_wakeup_fd(wsock.fileno(), warn_on_full_buffer=False)
    watcher = threading.Thread(target=watch, daemon=True, name="cpsat-ctrl-c")
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
        signal.set_wakeup_fd(old_fd)
        signal.signal(signal.SIGINT, old_handler)
        rsock.close()
        wsock.close()


def configure(solver: cp_model.CpSolver, cfg: SolverConfig, wall_s: float | None) -> None:
    """CP-SAT parameters: seed, workers, the deterministic budget, an optional wall-clock limit."""
    prm = solver.parameters
    prm.random_seed = cfg.seed
    prm.num_workers = cfg.workers
    prm.max_deterministic_time = cfg.deterministic_s
    if wall_s is not None:
        prm.max_time_in_seconds = max(wall_s, 1e-3)
    prm.log_search_progress = cfg.log
    prm.catch_sigint_signal = False  # Ctrl-C is ours (_on_ctrl_c): it stops the search and is reported
    prm.cp_model_probing_level = 0  # probing costs seconds of presolve on these models and buys nothing
    prm.linearization_level = 2  # the hull cuts and element encodings in the LP: the bound that proves optimality
    # Deterministic parallel search: the workers run the subsolvers in batches and synchronise between them, so the
    # result depends on the inputs, seed and worker count only. Two full-problem searches (the default one, which
    # finds most solutions, and the one with the largest LP, which proves), plus the LNS neighbourhoods.
    prm.interleave_search = True
    prm.subsolvers.extend(["default_lp", "max_lp"])


def solve(
    inst: MapperInstance,
    cfg: SolverConfig,
    *,
    quiet: bool = True,
    reference: Mapping | None = None,
    cutoff: float | None = None,
    cycles_cap: int | None = None,
    energy_cap_pj: float | None = None,
    wall_s: float | None = None,
) -> MapperSolution:
    """Build and solve the model; status always checked (MODEL_INVALID raises). ``reference``: a legal mapping
    used as the search hint; ``cutoff``: its objective value (the model keeps only mappings at least as good);
    ``cycles_cap``: a proven bound on the optimum's cycles; ``wall_s``: the wall-clock seconds left."""
    clock = Deadline(wall_s)
    model = _Model(inst, cfg.options)
    model.cycles_cap = cycles_cap
    model.energy_cap_pj = energy_cap_pj
    model.cutoff_pj = cutoff
    cpm, info = model.build()
    if reference is not None and cfg.options.hint:
        model.add_hint(reference)
    solver = cp_model.CpSolver()
    configure(solver, cfg, None if wall_s is None else wall_s - clock.elapsed())
    bar = progress(None, "cpsat", quiet)

    class _Progress(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            bar.update(1)
            bar.set_postfix_str(f"objective {model.unscale(self.objective_value, info):.6g}")

    stopped = threading.Event()

    def stop() -> None:
        stopped.set()
        solver.stop_search()

    try:
        with _on_ctrl_c(stop):
            code = solver.solve(cpm, _Progress())
    finally:
        bar.close()
    if code == cp_model.MODEL_INVALID:
        raise RuntimeError(f"CP-SAT model invalid: {cpm.validate()}")
    status = _STATUS[code]
    dtime = float(solver.response_proto.deterministic_time)
    final = status in (Status.OPTIMAL, Status.INFEASIBLE)
    by_wall = not final and not stopped.is_set() and dtime < cfg.deterministic_s * 0.999
    unsolved = MapperSolution(
        status=status,
        row=None,
        orders={},
        bypass=None,
        value=None,
        bound=None,
        exact=model.exact,
        wall_s=clock.elapsed(),
        notes=tuple(model.notes),
        stopped_by_wall_clock=by_wall,
        interrupted=stopped.is_set(),
        cutoff_used=model.cutoff_used,
        deterministic_s=dtime,
        reproducible=not (by_wall or stopped.is_set()),
    )
    if status in (Status.OPTIMAL, Status.FEASIBLE):
        row, orders, bypass = model.solution(solver)
        return replace(
            unsolved,
            row=row,
            orders=orders,
            bypass=bypass,
            value=model.unscale(solver.objective_value, info),
            bound=model.unscale(solver.best_objective_bound, info),
        )
    bound = model.unscale(solver.best_objective_bound, info) if status is Status.UNKNOWN else None
    return replace(unsolved, bound=bound)


def reference_caps(
    space: MapSpace, obj: Objective, model: _Model, e_pj: float, cycles: float
) -> tuple[int | None, float | None]:
    """Bounds a known legal mapping (energy ``e_pj``, ``cycles``) proves on the optimum:
    energy: E_opt <= E_ref and E_opt >= static x cycles -> cycles_opt <= E_ref / static;
    EDP: E_opt x C_opt <= E_ref x C_ref with E_opt >= the mapping-independent energy (bounds
    cycles) and C_opt >= max(MACs / PEs, LIF cycles) (bounds energy)."""
    ecap = None
    static = model.form.static_pj_per_cycle
    constant_pj = model.energy_coefficients()[1]
    if obj is Objective.ENERGY:
        cap = e_pj / static if static else None
    else:
        cap = e_pj * cycles / constant_pj if constant_pj > 0 else None
        c_min = max(space.layer.macs / space.arch.pes, model.lif_cycles(), 1.0)
        ecap = e_pj * cycles / c_min * (1 + 1e-9)
    return (None if cap is None else math.ceil(cap * (1 + 1e-9)) + 1), ecap


def _final_status(sol: MapperSolution, seeds: list, top: TopK, notes: list[str]) -> tuple[Status, float | None]:
    """The search's status and bound from CP-SAT's and the seeds' (``notes`` gains why): a cutoff CP-SAT proves
    infeasible makes the best seed optimal; UNKNOWN with a seed is FEASIBLE; Ctrl-C before a proof is INTERRUPTED."""
    status, bound = sol.status, sol.bound
    if sol.status is Status.INFEASIBLE and sol.cutoff_used and seeds:
        status, bound = Status.OPTIMAL, seeds[0][0]  # nothing beats the seed: it is optimal
        notes.append("CP-SAT proved that no mapping beats the seed")
    elif sol.status is Status.UNKNOWN and seeds:
        status = Status.FEASIBLE
    if sol.interrupted and status is not Status.OPTIMAL:
        status = Status.INTERRUPTED if len(top.items()) else Status.UNKNOWN
    if sol.interrupted:
        notes.append("Ctrl-C stopped CP-SAT: the best mapping found so far (not reproducible)")
    if sol.stopped_by_wall_clock:
        notes.append("the wall-clock limit stopped CP-SAT: the result may differ from run to run (not reproducible)")
    return status, bound


def _polish(res: SearchResult, sol: MapperSolution, obj: Objective) -> SearchResult:
    """A proof with exact integers has gap 0 (not float noise); a model objective below costmodel's is noted."""
    if (
        res.status is Status.OPTIMAL
        and res.value is not None
        and sol.exact
        and res.bound is not None
        and abs(res.bound - res.value) <= 1e-9 * abs(res.value)
    ):
        res = replace(res, bound=res.value)  # proven with exact integers: the gap is 0, not float noise
    if res.cost is not None and sol.value is not None and res.status is not Status.INTERRUPTED:
        v = obj.of_cost(res.cost)
        if (
            sol.status in (Status.OPTIMAL, Status.FEASIBLE)
            and abs(v - sol.value) > 1e-9 * max(abs(v), 1.0)
            and v > sol.value
        ):
            res = replace(res, notes=res.notes + (f"model objective {sol.value:.12g} vs costmodel {v:.12g}",))
    return res


def cpsat_search(
    space: MapSpace, obj: Objective, cfg: SolverConfig | None = None, *, top_k: int = 1, quiet: bool = True
) -> SearchResult:
    """Map with CP-SAT, seeded by the dataflow heuristics and a seeded random probe (:mod:`mappers.seeds`): the
    result is never empty when a legal mapping exists. The returned Cost is costmodel's evaluation."""
    from mappers.seeds import seed_mappings

    cfg = cfg or SolverConfig()
    clock = Deadline(cfg.time_limit_s)
    top = TopK(max(1, top_k))
    seeds, evaluated, seed_interrupted = seed_mappings(space, obj, seed=cfg.seed, samples=cfg.probe_samples)
    for value, mapping, _source in seeds:
        top.offer(value, mapping)
    notes: list[str] = []
    if seeds:
        notes.append(f"seeded by {seeds[0][2]} ({seeds[0][0]:.6g})")
    inst = MapperInstance(space=space, form=space.form, objective=obj)
    left = None if cfg.time_limit_s is None else cfg.time_limit_s - clock.elapsed()

    def seeds_only(interrupted: bool) -> SearchResult:
        status = (Status.INTERRUPTED if interrupted else Status.FEASIBLE) if seeds else Status.UNKNOWN
        why = "Ctrl-C" if interrupted else "the wall-clock limit"
        res = finish(
            method=Method.CPSAT,
            space=space,
            obj=obj,
            top=top,
            evaluated=evaluated,
            clock=clock,
            status=status,
            interrupted=interrupted,
            timed_out=not interrupted,
            notes=(*notes, f"{why} ended the search before CP-SAT did: the best seed (not reproducible)"),
        )
        return replace(res, reproducible=False)

    if seed_interrupted or (left is not None and left <= 0):
        return seeds_only(seed_interrupted)
    ref = seeds[0][1] if seeds else None
    cap = ecap = cutoff = None
    try:
        if ref is not None:
            from costmodel.evaluate import evaluate

            c = evaluate(space.arch, space.layer, ref, space.accounting)
            if isinstance(c, Invalid):
                raise RuntimeError(f"the seed mapping is not legal: {c.reason}")  # seeds are evaluated legal
            cap, ecap = reference_caps(space, obj, _Model(inst, cfg.options), c.total_energy_pj, c.cycles)
            cutoff = seeds[0][0]
        sol = solve(
            inst, cfg, quiet=quiet, reference=ref, cutoff=cutoff, cycles_cap=cap, energy_cap_pj=ecap, wall_s=left
        )
    except KeyboardInterrupt:  # while the model was being built
        return seeds_only(True)
    notes += list(sol.notes)
    if sol.row is not None:
        assert sol.bypass is not None and sol.value is not None  # solve() sets row, bypass and value together
        mapping = space.to_mapping(sol.row, {lv: space.full_order(lv, o) for lv, o in sol.orders.items()}, sol.bypass)
        top.offer(sol.value, mapping)
        evaluated += 1
    status, bound = _final_status(sol, seeds, top, notes)
    res = finish(
        method=Method.CPSAT,
        space=space,
        obj=obj,
        top=top,
        evaluated=evaluated,
        clock=clock,
        status=status,
        bound=bound,
        interrupted=sol.interrupted,
        timed_out=sol.stopped_by_wall_clock,
        notes=tuple(notes),
    )
    return _polish(replace(res, reproducible=sol.reproducible, deterministic_s=sol.deterministic_s), sol, obj)
