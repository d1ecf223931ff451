"""The mapspace: a product of named sub-spaces, with dataflows as constraints (docs/dataflows.md).

Sub-spaces (each enumerable on its own):

* **factorization**: for every dim, an ordered factorization of its bound over the *slots* of
  that dim: one temporal slot per level, and one spatial slot per (level, fanout axis) whose
  fanout along that axis is > 1. A dim has at most one loop per slot. The spatial factors on one
  (level, axis) multiply to at most the fanout (checked while counting and enumerating).
* **loop order** per level: only the *relative order of relevant and irrelevant loops* changes
  reuse (see :mod:`costmodel.analysis`), so orders are collapsed into classes with identical access
  counts: two orders are in one class when, for every tensor X and every loop j irrelevant to X,
  the set of X-relevant dims ordered inside j is the same (:func:`order_signature`). The order of
  the innermost level never matters (no tile below it is refilled), and loops of bound 1 are
  inert, so a search enumerates the classes of the *live* dims (bound > 1) of each level only.
* **bypass**: for every level below the outermost, the subset of the tensors it may keep that it
  does keep.

Dataflows (``os``, ``ws``, ``time-batched``, from :mod:`costmodel.dataflows`) and user YAML
constraints restrict these sub-spaces through one :class:`Constraints` value: where T sits,
which dims may use which spatial axis, fixed relative orders, fixed factors, forced keep/bypass.

:meth:`MapSpace.precheck` is the cheap test (capacity from tile sizes, the open cost form's capacity terms) run
before the full evaluation; the fanout test is built into the enumeration of factorizations.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from costmodel.accounting import Accounting, CrossbarMapping
from costmodel.analysis import NestView, Position
from costmodel.arch import Arch
from costmodel.evaluate import fanout_limit, spatial_dims_allowed
from costmodel.mapping import LevelMapping, Loop, Mapping
from costmodel.numeric import capacity_ok
from costmodel.pricing import CostForm, analyze_for, price
from costmodel.specio import Node, SpecError, load_yaml
from costmodel.types import AXES, DIMS, OP_SPACE, RELEVANT, TENSORS, Axis, Dim, Tensor
from costmodel.workload import Layer
from mappers.dataflows import CrossbarFlow, Dataflow, TPlacement

Array = np.ndarray
Slot = Position  # a mapspace slot is a position of the open nest: one loop per (level, temporal|axis, dim)


# ------------------------------------------------------------------------------ values
@dataclass(frozen=True, slots=True, kw_only=True)
class Constraints:
    """Restrictions of the mapspace: a named dataflow and/or a user's constraint file.

    ``t_placement``: T outermost in the outermost level, or innermost in the innermost level (all
    of T's factors there). ``spatial_dims``: (level, axis, dims allowed on that axis); absent means
    every dim. ``orders``: (level, dims outer to inner) whose relative order is fixed.
    ``fixed_factors``: (slot, factor). ``keep`` / ``bypass``: (level, tensors) forced.
    """

    name: str = "free"
    t_placement: TPlacement | None = None
    spatial_dims: tuple[tuple[int, Axis, frozenset[Dim]], ...] = ()
    orders: tuple[tuple[int, tuple[Dim, ...]], ...] = ()
    fixed_factors: tuple[tuple[Slot, int], ...] = ()
    keep: tuple[tuple[int, frozenset[Tensor]], ...] = ()
    bypass: tuple[tuple[int, frozenset[Tensor]], ...] = ()

    def allowed_spatial(self, level: int, axis: Axis) -> frozenset[Dim] | None:
        for lv, ax, dims in self.spatial_dims:
            if lv == level and ax == axis:
                return dims
        return None

    def fixed_order(self, level: int) -> tuple[Dim, ...]:
        for lv, dims in self.orders:
            if lv == level:
                return dims
        return ()

    def merged(self, other: Constraints) -> Constraints:
        """Both sets of restrictions (``other`` wins where both fix the same thing)."""
        return Constraints(
            name=other.name
            if self.name == "free"
            else (self.name if other.name == "free" else f"{self.name}+{other.name}"),
            t_placement=other.t_placement or self.t_placement,
            spatial_dims=other.spatial_dims
            + tuple(s for s in self.spatial_dims if other.allowed_spatial(s[0], s[1]) is None),
            orders=other.orders + tuple(o for o in self.orders if not other.fixed_order(o[0])),
            fixed_factors=self.fixed_factors + other.fixed_factors,
            keep=self.keep + other.keep,
            bypass=self.bypass + other.bypass,
        )


FREE = Constraints()


def crossbar_constraints(arch: Arch, flow: CrossbarFlow) -> Constraints:
    """A crossbar dataflow as mapspace constraints: ``channel-block`` puts only input channels on the crossbar
    rows and only kernel positions on the PE's crossbars; T outermost, or innermost with ``t_inner``."""
    xb = arch.crossbar
    if xb is None:
        raise ValueError(f"dataflow {flow.name}: arch {arch.name} has no crossbar: section")
    spatial: tuple[tuple[int, Axis, frozenset[Dim]], ...] = ()
    if flow.mapping is CrossbarMapping.CHANNEL_BLOCK:
        spatial = (
            (xb.level, Axis.Y, frozenset({Dim.C})),
            *((xb.pe_level, axis, frozenset({Dim.R, Dim.S})) for axis in AXES),
        )
    t = TPlacement.INNERMOST if flow.t_inner else TPlacement.OUTERMOST
    return Constraints(name=flow.name, t_placement=t, spatial_dims=spatial)


def dataflow_constraints(arch: Arch, flow: Dataflow) -> Constraints:
    """A named dataflow as mapspace constraints.

    T placement as the dataflow says; the PE array (the level with the largest fanout) uses only
    the dataflow's ``spatial_x`` dims on x and ``spatial_y`` dims on y; levels below the array keep
    the dataflow's ``inner_order`` (which dims stay stationary in the PE). Orders at and above the
    array, factors and bypass stay free: the mapper chooses them.
    """
    arr = arch.array_level
    spatial = (
        (arr, Axis.X, frozenset(flow.spatial_x)),
        (arr, Axis.Y, frozenset(flow.spatial_y)),
    )
    inner = tuple((lv, tuple(d for d in flow.inner_order if d is not Dim.T)) for lv in range(arr + 1, len(arch.levels)))
    return Constraints(name=flow.name, t_placement=flow.t_placement, spatial_dims=spatial, orders=inner)


def load_constraints(path: str | Path, arch: Arch) -> Constraints:
    """User constraints from YAML (every key optional)::

    constraints:
      t: innermost                 # or outermost
      levels:
        - level: GLB
          factors: {K: 4}          # temporal factors fixed at this level
          spatial: {x: {K: 4}, y: {P: 2}}   # spatial factors fixed (others on that axis: 1)
          spatial_dims: {x: [K], y: [P, Q]}  # dims allowed on each axis
          order: [K, C]            # relative order of these dims, outer to inner
          keep: [W, I]
          bypass: [S]
    """
    file = str(path)
    root = Node(load_yaml(path), file)
    c = root.child("constraints")
    assert c is not None
    t_raw = c.raw("t", None)
    t_place = None
    if t_raw is not None:
        try:
            t_place = TPlacement(t_raw)
        except ValueError:
            raise c.error("t", f"expected innermost or outermost, got {t_raw!r}") from None
    spatial_dims: list[tuple[int, Axis, frozenset[Dim]]] = []
    orders: list[tuple[int, tuple[Dim, ...]]] = []
    fixed: list[tuple[Slot, int]] = []
    keep: list[tuple[int, frozenset[Tensor]]] = []
    bypass: list[tuple[int, frozenset[Tensor]]] = []
    names = [lv.name for lv in arch.levels]
    for n in c.children("levels") if c.has("levels") else []:
        name = n.str("level")
        if name not in names:
            raise n.error("level", f"unknown level {name!r}; {arch.name} has {', '.join(names)}")
        li = names.index(name)
        fac = n.child("factors", None)
        if fac is not None:
            for key in fac.keys():  # noqa: SIM118 - Node is not a dict
                fixed.append((Position(li, _dim(fac, key)), fac.int(key)))
            fac.done()
        sp = n.child("spatial", None)
        if sp is not None:
            for ax in sp.keys():  # noqa: SIM118
                if ax not in AXES:
                    raise sp.error(ax, "expected x or y")
                axn = sp.child(ax)
                assert axn is not None
                for key in axn.keys():  # noqa: SIM118
                    fixed.append((Position(li, _dim(axn, key), True, Axis(ax)), axn.int(key)))
                axn.done()
                spatial_dims.append((li, Axis(ax), frozenset(_dim(axn, k) for k in axn.keys())))  # noqa: SIM118
            sp.done()
        sd = n.child("spatial_dims", None)
        if sd is not None:
            for ax in sd.keys():  # noqa: SIM118
                if ax not in AXES:
                    raise sd.error(ax, "expected x or y")
                spatial_dims.append((li, Axis(ax), frozenset(sd.enum_list(ax, Dim))))
            sd.done()
        if n.has("order"):
            orders.append((li, tuple(n.enum_list("order", Dim))))
        if n.has("keep"):
            keep.append((li, frozenset(n.enum_list("keep", Tensor))))
        if n.has("bypass"):
            bypass.append((li, frozenset(n.enum_list("bypass", Tensor))))
        n.done()
    c.done()
    root.done()
    return Constraints(
        name=Path(file).stem,
        t_placement=t_place,
        spatial_dims=tuple(spatial_dims),
        orders=tuple(orders),
        fixed_factors=tuple(fixed),
        keep=tuple(keep),
        bypass=tuple(bypass),
    )


def _dim(node: Node, key: str) -> Dim:
    try:
        return Dim(key)
    except ValueError:
        raise node.error(key, f"unknown dim (expected one of {' '.join(DIMS)})") from None


# ------------------------------------------------------------------------------ loop-order classes
def order_signature(order: Sequence[Dim]) -> tuple[tuple[Tensor, Dim, frozenset[Dim]], ...]:
    """What a level's temporal order changes in the access counts: for every tensor X and every
    X-irrelevant dim j of X's operation space present in ``order``, the X-relevant dims inside j.

    A loop j irrelevant to X refetches X's tiles below iff some X-relevant loop of bound > 1 lies
    inside it (``costmodel.analysis.Refetch``), so two orders with equal signatures have equal
    access counts for every choice of factors.
    """
    pos = {d: i for i, d in enumerate(order)}
    out = []
    for x in TENSORS:
        rel = RELEVANT[x] & OP_SPACE[x]
        for j in sorted(OP_SPACE[x] - rel):
            if j in pos:
                out.append((x, j, frozenset(d for d in rel if d in pos and pos[d] > pos[j])))
    return tuple(out)


def _dominates(a: tuple, b: tuple) -> bool:
    """Order class ``a`` refetches no more than ``b`` for every factor choice (inside-sets are subsets)."""
    return all(sa[2] <= sb[2] for sa, sb in zip(a, b, strict=True))


@functools.lru_cache(maxsize=4096)
def order_classes(
    dims: tuple[Dim, ...], fixed: tuple[Dim, ...] = (), t_first: bool = False, prune: bool = False
) -> tuple[tuple[Dim, ...], ...]:
    """One representative order (outer to inner) per distinct-cost class of the orders of ``dims``.

    ``fixed``: dims whose relative order is imposed; ``t_first``: T must be the outermost loop.
    ``prune``: drop classes dominated by another (their refetch sets are supersets): the access
    counts, hence energy and cycles, are non-decreasing in those sets, so a dominated class is
    never strictly better. Memoised (a pure function of its arguments).
    """
    dims = tuple(sorted(dims))
    reps: dict[tuple, tuple[Dim, ...]] = {}
    fixed_in = [d for d in fixed if d in dims]
    for perm in itertools.permutations(dims):
        if t_first and Dim.T in dims and perm[0] is not Dim.T:
            continue
        if fixed_in:
            pos = [perm.index(d) for d in fixed_in]
            if pos != sorted(pos):
                continue
        reps.setdefault(order_signature(perm), perm)
    if prune and len(reps) > 1:
        sigs = list(reps)
        bit = {d: 1 << i for i, d in enumerate(DIMS)}
        masks = np.array([[sum(bit[d] for d in entry[2]) for entry in sig] for sig in sigs], dtype=np.int64)
        # o dominates s when each of o's inside-sets is a subset of s's: (o & ~s) == 0 in every column
        sub = ((masks[:, None, :] & ~masks[None, :, :]) == 0).all(axis=2)  # sub[o, s]
        np.fill_diagonal(sub, False)
        keep = ~sub.any(axis=0)  # signatures are distinct per class, so a dominating one is strictly better
        reps = {s: reps[s] for s, k in zip(sigs, keep, strict=True) if k}
    return tuple(reps.values())


# ------------------------------------------------------------------------------ factorizations
def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def prime_factors(n: int) -> dict[int, int]:
    """{prime: exponent} of n."""
    out: dict[int, int] = {}
    p = 2
    while p * p <= n:
        while n % p == 0:
            out[p] = out.get(p, 0) + 1
            n //= p
        p += 1
    if n > 1:
        out[n] = out.get(n, 0) + 1
    return out


def _ordered_factorizations(n: int, limits: Sequence[int | None], fixed: Sequence[int | None]) -> list[tuple[int, ...]]:
    """Every tuple of len(limits) factors multiplying to n, factor i <= limits[i], == fixed[i] if given."""
    if not limits:
        return [()] if n == 1 else []
    out: list[tuple[int, ...]] = []
    last = len(limits) - 1
    for f in divisors(n):
        if limits[0] is not None and f > limits[0]:
            continue
        if fixed[0] is not None and f != fixed[0]:
            continue
        if last == 0:
            if f == n:
                out.append((f,))
            continue
        out.extend((f, *rest) for rest in _ordered_factorizations(n // f, limits[1:], fixed[1:]))
    return out


@dataclass(frozen=True, slots=True)
class SpaceSize:
    """Sizes of the named sub-spaces; ``total`` is their product (distinct-cost mappings at most)."""

    factorizations: int
    orders: int
    bypass: int

    @property
    def total(self) -> int:
        return self.factorizations * self.orders * self.bypass


@dataclass(frozen=True, slots=True, kw_only=True)
class MapSpace:
    """The mapspace of one layer on one arch under constraints (built by :func:`build_mapspace`).

    ``slots`` lists every slot in nest order (per level: temporal slots, then spatial x, then y);
    ``choices[d]`` is an (n_d, k_d) int64 array of the legal factorizations of dim d over
    ``slots_of[d]`` (column indices into ``slots``). ``temporal_dims[l]`` are the dims with a
    temporal slot at level l, ``order_levels`` the levels whose temporal order changes counts,
    ``bypass_options`` every legal per-level bypass assignment.
    """

    arch: Arch
    layer: Layer
    constraints: Constraints
    slots: tuple[Slot, ...]
    slots_of: dict[Dim, tuple[int, ...]]
    choices: dict[Dim, Array]
    temporal_dims: tuple[tuple[Dim, ...], ...]
    order_levels: tuple[int, ...]
    bypass_options: tuple[tuple[frozenset[Tensor], ...], ...]
    form: CostForm  # the cost form of the open nest (order and bypass left to the search)
    accounting: Accounting | None = None  # the profile the form is priced with (None: native)
    level_names: tuple[str, ...] = field(default=())

    # ---------------------------------------------------------------- sub-spaces
    @property
    def n_slots(self) -> int:
        return len(self.slots)

    def size(self) -> SpaceSize:
        """Sub-space sizes without enumerating: factorizations (fanout-legal, by a DP over dims),
        loop-order classes (product over order levels, over every dim of the level), bypass."""
        spatial_keys = sorted({(s.level, s.axis) for s in self.slots if s.spatial and s.axis is not None})
        limit = {k: fanout_limit(self.arch, self.layer, k[0], k[1]) for k in spatial_keys}
        states: dict[tuple[int, ...], int] = {tuple(1 for _ in spatial_keys): 1}
        for d in DIMS:
            cols = self.slots_of[d]
            ch = self.choices[d]
            usage: dict[tuple[int, ...], int] = {}
            for row in ch:
                u = [1] * len(spatial_keys)
                for c, f in zip(cols, row, strict=True):
                    s = self.slots[c]
                    if s.spatial:
                        assert s.axis is not None  # build_mapspace gives every spatial slot an axis
                        u[spatial_keys.index((s.level, s.axis))] *= int(f)
                usage[tuple(u)] = usage.get(tuple(u), 0) + 1
            nxt: dict[tuple[int, ...], int] = {}
            for st, cnt in states.items():
                for use, k in usage.items():
                    new = tuple(a * b for a, b in zip(st, use, strict=True))
                    if all(v <= limit[key] for v, key in zip(new, spatial_keys, strict=True)):
                        nxt[new] = nxt.get(new, 0) + cnt * k
            states = nxt
        n_fact = sum(states.values())
        n_orders = 1
        for lv in self.order_levels:
            n_orders *= len(self.level_order_classes(lv, self.temporal_dims[lv]))
        return SpaceSize(factorizations=n_fact, orders=n_orders, bypass=len(self.bypass_options))

    def level_order_classes(
        self, level: int, live: Sequence[Dim], *, prune: bool = False
    ) -> tuple[tuple[Dim, ...], ...]:
        """Distinct-cost orders of the ``live`` dims of ``level``, with the constraints applied."""
        t_first = self.constraints.t_placement is TPlacement.OUTERMOST and level == 0
        return order_classes(tuple(live), self.constraints.fixed_order(level), t_first, prune)

    def full_order(self, level: int, live_order: Sequence[Dim]) -> tuple[Dim, ...]:
        """A complete temporal order of the level: the live dims in ``live_order``, the inert ones
        (bound 1 here) after them; T last when the constraints place T innermost."""
        rest = [d for d in self.temporal_dims[level] if d not in live_order]
        order = [*live_order, *rest]
        if self.constraints.t_placement is TPlacement.INNERMOST and Dim.T in order:
            order = [d for d in order if d is not Dim.T] + [Dim.T]
        return tuple(order)

    # ---------------------------------------------------------------- enumeration helpers
    def n_factorizations_product(self) -> int:
        """Size of the cartesian product of per-dim choices (before the joint fanout filter)."""
        return math.prod(len(self.choices[d]) for d in DIMS)

    def factor_rows(self, flat: Array) -> Array:
        """Factor rows (M, n_slots) for flat indices into the cartesian product of per-dim choices."""
        sizes = [len(self.choices[d]) for d in DIMS]
        idx = np.unravel_index(flat, sizes)
        out = np.ones((len(flat), self.n_slots), dtype=np.int64)
        for d, ix in zip(DIMS, idx, strict=True):
            cols = list(self.slots_of[d])
            if cols:
                out[:, cols] = self.choices[d][ix]
        return out

    def fanout_ok(self, rows: Array) -> Array:
        ok = np.ones(len(rows), dtype=bool)
        for (lv, axis), cols in self._spatial_groups().items():
            ok &= np.prod(rows[:, cols], axis=1) <= fanout_limit(self.arch, self.layer, lv, axis)
        return ok

    def _spatial_groups(self) -> dict[tuple[int, Axis], list[int]]:
        groups: dict[tuple[int, Axis], list[int]] = {}
        for i, s in enumerate(self.slots):
            if s.spatial and s.axis is not None:
                groups.setdefault((s.level, s.axis), []).append(i)
        return groups

    def live_codes(self, rows: Array) -> Array:
        """Per row, a bitmask of the live (factor > 1) temporal slots at the order levels."""
        code = np.zeros(len(rows), dtype=np.int64)
        bit = 0
        for i, s in enumerate(self.slots):
            if not s.spatial and s.level in self.order_levels:
                code |= (rows[:, i] > 1).astype(np.int64) << bit
                bit += 1
        return code

    def live_dims(self, row: Array) -> dict[int, tuple[Dim, ...]]:
        return {
            lv: tuple(s.dim for i, s in enumerate(self.slots) if s.level == lv and not s.spatial and row[i] > 1)
            for lv in self.order_levels
        }

    def keeps(self, bypass: Sequence[frozenset[Tensor]]) -> tuple[frozenset[Tensor], ...]:
        return tuple(frozenset(lv.keeps - b) for lv, b in zip(self.arch.levels, bypass, strict=True))

    def structure(
        self, orders: dict[int, tuple[Dim, ...]], bypass: Sequence[frozenset[Tensor]]
    ) -> tuple[NestView, Array]:
        """The concrete nest view for complete per-level temporal orders (levels missing from ``orders`` use
        their default order) and a bypass choice, with the column of ``slots`` feeding each nest position."""
        positions, cols = [], []
        index = {s: i for i, s in enumerate(self.slots)}
        for lv in range(len(self.arch.levels)):
            order = orders.get(lv) or self.full_order(lv, ())
            for d in order:
                positions.append(Position(lv, d))
                cols.append(index[Position(lv, d)])
            for i, s in enumerate(self.slots):
                if s.level == lv and s.spatial:
                    positions.append(s)
                    cols.append(i)
        view = NestView(
            positions=tuple(positions),
            may_keep=tuple(lv.keeps for lv in self.arch.levels),
            keeps=self.keeps(bypass),
            ordered=True,
        )
        return view, np.array(cols, dtype=np.int64)

    def ranks(self, orders: dict[int, tuple[Dim, ...]]) -> tuple[int, ...]:
        """Each slot's position within its level's temporal order (levels missing from ``orders`` use their
        default order; spatial slots: 0): the loop order an open cost form needs to be evaluated."""
        out = []
        for s in self.slots:
            order = orders.get(s.level) or self.full_order(s.level, ())
            out.append(0 if s.spatial else order.index(s.dim))
        return tuple(out)

    def precheck(self, rows: Array, bypass: Sequence[frozenset[Tensor]]) -> Array:
        """Cheap capacity test before evaluation: every kept tile fits (per tensor and in total): the open
        form's capacity terms, which depend on the factors and the bypass choice only."""
        return capacity_ok(self.form, rows, self.keeps(bypass))

    def row_of(self, mapping: Mapping) -> tuple[Array, tuple[frozenset[Tensor], ...]] | None:
        """The factor row and bypass of a mapping whose loops all have slots here (at most one loop per slot,
        loops of bound 1 ignored), else None. No constraint, fanout or capacity check."""
        return _row_of(self.slots, len(self.arch.levels), mapping)

    def fits(self, mapping: Mapping) -> bool | None:
        """Whether every kept tile of ``mapping`` fits its level (the open form's capacity terms: tiles depend on
        the factors and the bypass only), or None when the mapping has a loop without a slot here."""
        return CapacityTest(slots=self.slots, form=self.form, arch=self.arch)(mapping)

    def encode(
        self, mapping: Mapping
    ) -> tuple[Array, dict[int, tuple[Dim, ...]], tuple[frozenset[Tensor], ...]] | None:
        """The factor row, complete orders and bypass of a mapping of this space with the same costs as
        ``mapping`` (each level's order replaced by the constraint-respecting order of its class), or None when
        ``mapping`` is not in the space (a loop without a slot, a factor or order the constraints forbid, a
        fanout or capacity exceeded)."""
        got = self.row_of(mapping)
        if got is None:
            return None
        row, _ = got
        live = {lv: [lp.dim for lp in lm.temporal if lp.bound > 1] for lv, lm in enumerate(mapping.levels)}
        for d in DIMS:
            cols = list(self.slots_of[d])
            if math.prod(int(x) for x in row[cols]) != self.layer.bound(d):
                return None
            if cols and not (self.choices[d] == row[cols]).all(axis=1).any():
                return None
        if not self.fanout_ok(row[None])[0]:
            return None
        orders = {}
        for lv in self.order_levels:
            order = tuple(live.get(lv, ()))
            sig = order_signature(order)
            rep = next((c for c in self.level_order_classes(lv, order) if order_signature(c) == sig), None)
            if rep is None:
                return None
            orders[lv] = self.full_order(lv, rep)
        bypass = tuple(frozenset(lm.bypass) for lm in mapping.levels)
        if bypass not in self.bypass_options or not self.precheck(row[None], bypass)[0]:
            return None
        return row, orders, bypass

    def to_mapping(
        self, row: Sequence[int] | Array, orders: dict[int, tuple[Dim, ...]], bypass: Sequence[frozenset[Tensor]]
    ) -> Mapping:
        """The :class:`Mapping` of a factor row (loops of bound 1 omitted)."""
        levels = []
        index = {s: i for i, s in enumerate(self.slots)}
        for lv in range(len(self.arch.levels)):
            order = orders.get(lv) or self.full_order(lv, ())
            temporal = tuple(
                Loop(d, int(row[index[Position(lv, d)]])) for d in order if row[index[Position(lv, d)]] > 1
            )
            spatial = tuple(
                Loop(s.dim, int(row[i]), True, s.axis or Axis.X)
                for i, s in enumerate(self.slots)
                if s.level == lv and s.spatial and row[i] > 1
            )
            levels.append(LevelMapping(temporal=temporal, spatial=spatial, bypass=frozenset(bypass[lv])))
        return Mapping(levels=tuple(levels))


def _stationary_above(arch: Arch, level: int, dim: Dim) -> bool:
    """A temporal loop of ``dim`` at ``level`` would refill a tensor held stationary below it."""
    return any(dim in RELEVANT[t] for lv in arch.levels[level + 1 :] for t in lv.stationary)


def build_mapspace(
    arch: Arch, layer: Layer, constraints: Constraints = FREE, accounting: Accounting | None = None
) -> MapSpace:
    """The mapspace of ``layer`` on ``arch``; raises ``ValueError`` naming a contradictory constraint.

    The arch's physics shape it too: a temporal loop that would refill a stationary tensor has no slot, and a
    crossbar's cells take only output channels on their columns (each ``cells per weight`` wide) and the
    reduction on their rows (:func:`costmodel.evaluate.spatial_dims_allowed`, :func:`~costmodel.evaluate.fanout_limit`).
    ``accounting``: the profile the cost form is priced with (default: native).
    """
    n = len(arch.levels)
    c = constraints
    fixed = dict(c.fixed_factors)
    _check_fixed(arch, layer, fixed)
    slots, temporal_dims = _slots(arch, layer, c)
    for slot, f in fixed.items():
        if f > 1 and slot not in slots:
            raise ValueError(
                f"constraint: {slot.dim.value} cannot have a factor at "
                f"{arch.levels[slot.level].name} ({slot.axis or 'temporal'}) under these constraints"
            )
    slots_of, choices = _choices(arch, layer, slots, fixed)
    order_levels = tuple(li for li in range(n - 1) if len(temporal_dims[li]) > 1)
    bypass_options = _bypass_options(arch, c)
    form = _open_form(arch, layer, slots, accounting)
    return MapSpace(
        arch=arch,
        layer=layer,
        constraints=c,
        slots=tuple(slots),
        slots_of=slots_of,
        choices=choices,
        temporal_dims=tuple(temporal_dims),
        order_levels=order_levels,
        bypass_options=bypass_options,
        form=form,
        accounting=accounting,
        level_names=tuple(lv.name for lv in arch.levels),
    )


def _open_form(arch: Arch, layer: Layer, slots: Sequence[Slot], accounting: Accounting | None) -> CostForm:
    """The cost form of the open nest over ``slots`` (loop order and bypass left open)."""
    view = NestView(positions=tuple(slots), may_keep=tuple(lv.keeps for lv in arch.levels), keeps=None, ordered=False)
    return price(arch, layer, analyze_for(view, layer, accounting), accounting)


def _row_of(
    slots: Sequence[Slot], n_levels: int, mapping: Mapping
) -> tuple[Array, tuple[frozenset[Tensor], ...]] | None:
    """The factor row over ``slots`` and the bypass of ``mapping``, or None when a loop has no slot."""
    if len(mapping.levels) != n_levels:
        return None
    index = {s: i for i, s in enumerate(slots)}
    row = np.ones(len(slots), dtype=np.int64)
    for lv, lm in enumerate(mapping.levels):
        for lp in (*lm.temporal, *lm.spatial):
            if lp.bound == 1:
                continue
            s = Position(lv, lp.dim, True, lp.axis) if lp.spatial else Position(lv, lp.dim)
            i = index.get(s)
            if i is None or row[i] != 1:
                return None
            row[i] = lp.bound
    return row, tuple(frozenset(lm.bypass) for lm in mapping.levels)


@dataclass(frozen=True, slots=True, kw_only=True)
class CapacityTest:
    """Does a mapping's every kept tile fit its level? The open form's capacity terms (tiles depend on the factors
    and the bypass only): a callable returning True/False, or None for a mapping with a loop outside ``slots``."""

    slots: tuple[Slot, ...]
    form: CostForm
    arch: Arch

    def __call__(self, mapping: Mapping) -> bool | None:
        got = _row_of(self.slots, len(self.arch.levels), mapping)
        if got is None:
            return None
        row, bypass = got
        keeps = tuple(frozenset(lv.keeps - b) for lv, b in zip(self.arch.levels, bypass, strict=True))
        return bool(capacity_ok(self.form, row[None], keeps)[0])


def capacity_test(arch: Arch, layer: Layer, accounting: Accounting | None = None) -> CapacityTest:
    """The capacity test of the layer's free mapspace, without enumerating its factorizations (what the greedy
    heuristics ask many times per layer)."""
    slots, _ = _slots(arch, layer, FREE)
    return CapacityTest(slots=tuple(slots), form=_open_form(arch, layer, slots, accounting), arch=arch)


def _check_fixed(arch: Arch, layer: Layer, fixed: dict[Slot, int]) -> None:
    """Fixed factors must name a level of the arch and divide the layer's bound."""
    for slot, f in fixed.items():
        if slot.level >= len(arch.levels):
            raise ValueError(f"constraint: level {slot.level} does not exist in {arch.name}")
        if layer.bound(slot.dim) % f:
            raise ValueError(
                f"constraint: factor {f} of {slot.dim.value} at {arch.levels[slot.level].name} "
                f"does not divide the layer's {slot.dim.value} = {layer.bound(slot.dim)}"
            )


def _slots(arch: Arch, layer: Layer, c: Constraints) -> tuple[list[Slot], list[tuple[Dim, ...]]]:
    """The temporal and spatial slots the constraints and the arch's physics leave, and each level's temporal
    dims (a temporal loop that would refill a stationary tensor has no slot; T is spatial only where allowed)."""
    n = len(arch.levels)
    active = [d for d in DIMS if layer.bound(d) > 1]
    slots: list[Slot] = []
    temporal_dims: list[tuple[Dim, ...]] = []
    for li in range(n):
        tdims = []
        for d in active:
            if d is Dim.T and c.t_placement is TPlacement.OUTERMOST and li != 0:
                continue
            if d is Dim.T and c.t_placement is TPlacement.INNERMOST and li != n - 1:
                continue
            if _stationary_above(arch, li, d):
                continue
            tdims.append(d)
        temporal_dims.append(tuple(tdims))
        slots.extend(Position(li, d) for d in tdims)
        for axis in AXES:
            if fanout_limit(arch, layer, li, axis) <= 1:
                continue
            allowed = c.allowed_spatial(li, axis)
            physical = spatial_dims_allowed(arch, li, axis)
            for d in active:
                if (allowed is not None and d not in allowed) or (physical is not None and d not in physical):
                    continue
                if d is Dim.T and (c.t_placement is not None or (layer.spiking and not arch.compute.lif_spatial_t)):
                    continue  # T spatial: a dataflow places T in time; else the LIF units must allow it
                slots.append(Position(li, d, True, axis))
    return slots, temporal_dims


def _choices(
    arch: Arch, layer: Layer, slots: list[Slot], fixed: dict[Slot, int]
) -> tuple[dict[Dim, tuple[int, ...]], dict[Dim, Array]]:
    """Per dim: its slots' columns and every ordered factorization of its bound over them (fanout limits and fixed
    factors applied; a fixed spatial axis takes no other dim)."""
    slots_of: dict[Dim, tuple[int, ...]] = {}
    choices: dict[Dim, Array] = {}
    for d in DIMS:
        cols = tuple(i for i, s in enumerate(slots) if s.dim is d)
        slots_of[d] = cols
        limits: list[int | None] = []
        fixes: list[int | None] = []
        for i in cols:
            s = slots[i]
            limits.append(None if s.axis is None else fanout_limit(arch, layer, s.level, s.axis))
            if s in fixed:
                fixes.append(fixed[s])
            elif s.spatial and any(fs.level == s.level and fs.axis == s.axis for fs in fixed):
                fixes.append(1)  # a fixed spatial axis: other dims do not use it
            else:
                fixes.append(None)
        rows = _ordered_factorizations(layer.bound(d), limits, fixes)
        choices[d] = np.array(rows, dtype=np.int64).reshape(len(rows), len(cols))
    return slots_of, choices


def _bypass_options(arch: Arch, c: Constraints) -> tuple[tuple[frozenset[Tensor], ...], ...]:
    per_level: list[list[frozenset[Tensor]]] = [[frozenset()]]
    for li, lv in enumerate(arch.levels[1:], start=1):
        must_keep = frozenset().union(*[t for lvl, t in c.keep if lvl == li])
        must_bypass = frozenset().union(*[t for lvl, t in c.bypass if lvl == li])
        bad = (must_keep | must_bypass) - lv.keeps
        if bad:
            raise ValueError(f"constraint: level {lv.name} does not keep {sorted(t.value for t in bad)}")
        if must_keep & must_bypass:
            raise ValueError(
                f"constraint: level {lv.name} must both keep and bypass "
                f"{sorted(t.value for t in must_keep & must_bypass)}"
            )
        free = sorted(lv.keeps - must_keep - must_bypass)
        opts = []
        for k in range(len(free) + 1):
            for combo in itertools.combinations(free, k):
                opts.append(frozenset(combo) | must_bypass)
        per_level.append(opts)
    for lvl, _ in (*c.keep, *c.bypass):
        if lvl == 0 or lvl >= len(arch.levels):
            if lvl == 0:
                continue
            raise ValueError(f"constraint: level index {lvl} out of range")
    return tuple(itertools.product(*per_level))


def iter_order_combos(
    space: MapSpace, live: dict[int, tuple[Dim, ...]], *, prune: bool = True
) -> Iterator[dict[int, tuple[Dim, ...]]]:
    """Every combination of per-level order classes of the live dims (complete orders)."""
    levels = list(space.order_levels)
    per = [space.level_order_classes(lv, live.get(lv, ()), prune=prune) for lv in levels]
    for combo in itertools.product(*per):
        yield {lv: space.full_order(lv, o) for lv, o in zip(levels, combo, strict=True)}


def describe(space: MapSpace) -> dict[str, Any]:
    """A JSON-able summary of the sub-spaces."""
    sz = space.size()
    return {
        "factorizations": sz.factorizations,
        "order_classes": sz.orders,
        "bypass_choices": sz.bypass,
        "total": sz.total,
        "order_levels": [space.level_names[i] for i in space.order_levels],
        "constraints": space.constraints.name,
    }


__all__ = [
    "Constraints",
    "FREE",
    "MapSpace",
    "Slot",
    "SpaceSize",
    "build_mapspace",
    "dataflow_constraints",
    "load_constraints",
    "order_classes",
    "order_signature",
    "prime_factors",
    "divisors",
    "iter_order_combos",
    "describe",
    "SpecError",
]
