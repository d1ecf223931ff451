"""The loop-nest analysis, written once: tiles, fills, spills, multicast and reduction, compute-side and LIF
accesses, network crossings (Timeloop-style reuse analysis in index space).

The analysis does no arithmetic. It turns a nest into a list of *quantities* -- each an element count that is a
product of loop factors (:class:`Quantity`) -- and says which level, tensor and action every quantity is charged
to (:class:`Access`, :class:`Traffic`) and which tiles must fit where (:class:`TileUse`). Three arithmetics then
read the same :class:`Analysis` (through the priced :class:`costmodel.pricing.CostForm`):

* numpy arrays over a batch of factor rows (:mod:`costmodel.numeric`: ``evaluate`` and ``evaluate_batch``),
* sympy symbols (:mod:`costmodel.symbolic`: ``spikeloop explain``),
* CP-SAT prime-factor exponents (:mod:`mappers.cpsat`).

No other module restates a count.

Nest
----
A :class:`NestView` lists the loops (*positions*) outer to inner: level 0 temporal loops, level 0 spatial loops,
level 1 temporal, ... The spatial loops of level ``l`` spread level ``l``'s tile over the instances of level
``l + 1`` (below the innermost level: over compute units). Level ``l`` holds, per instance, the tile of a tensor
spanned by the loops at levels >= ``l``. A view is *concrete* (a mapping: the order of each level's temporal loops
and the tensors each level keeps are known) or *open* (a mapspace: one loop per (level, temporal|axis, dim), their
order and the bypass choices are a search's variables): the same analysis serves both, leaving what an open view
does not know as conditions (:class:`Refetch`, :class:`Presence`) that the arithmetic resolves.

Rules
-----
* A tile of tensor X at level ``l`` is *resident* until a temporal loop above ``l`` that is relevant to X
  advances; an X-irrelevant loop above ``l`` re-uses the tile unless an X-relevant loop of bound > 1 lies inside
  it (:class:`Refetch`). Reuse is tracked by loop indices: overlapping input windows are not merged (no halo
  reuse).
* ``U`` (membrane) and ``S`` (output spikes) are touched by the LIF update, which runs once per (t, n, k, p, q)
  after the C, R, S reduction: their counts use the nest projected onto (T, N, K, P, Q).
* Partial results (``O``, ``U``): the first residency of a tile starts from zero (no fill) and the last is not
  written back; every other residency is a spill: written back to the parent (update) and later refilled (read).
  ``S`` tiles are written back once each.
* Spatial loops irrelevant to a tensor between a parent and a child are multicast (inputs) or spatial reduction
  (outputs): the parent sees the transfer once per group; a fanout network is crossed once per group below it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from costmodel.types import ACCUMULATED, OP_SPACE, RELEVANT, Action, Axis, Dim, Tensor


# ------------------------------------------------------------------------------ the nest
@dataclass(frozen=True, slots=True)
class Position:
    """One loop of a nest: its level, dim, and whether it is spatial (on fanout axis ``axis``)."""

    level: int
    dim: Dim
    spatial: bool = False
    axis: Axis | None = None


@dataclass(frozen=True, slots=True)
class NestView:
    """The loops of a nest, outer to inner, and what the analysis may assume about order and bypass.

    ``may_keep[l]``: tensors level ``l`` can hold (the arch's ``keeps``). ``keeps[l]``: tensors it does hold in
    this mapping, or ``None`` when a search decides (open view: quantities then carry :class:`Presence`
    conditions). ``ordered``: the temporal positions of each level are listed in loop order (outer first); when
    False their relative order is a search variable (:class:`Refetch` keeps the same-level candidates apart).
    """

    positions: tuple[Position, ...]
    may_keep: tuple[frozenset[Tensor], ...]
    keeps: tuple[frozenset[Tensor], ...] | None = None
    ordered: bool = True

    @property
    def n_levels(self) -> int:
        return len(self.may_keep)

    def candidates(self, tensor: Tensor) -> list[int]:
        """Levels that hold ``tensor`` (concrete view) or may hold it (open view), outer first."""
        held = self.keeps if self.keeps is not None else self.may_keep
        return [lv for lv, k in enumerate(held) if tensor in k]

    def presence(self, tensor: Tensor, kept: tuple[int, ...], bypassed: tuple[int, ...]) -> Presence | bool:
        """True/False when the view knows the bypass choice, else the condition as a value."""
        if self.keeps is None:
            return Presence(tensor=tensor, kept=kept, bypassed=bypassed)
        return all(tensor in self.keeps[lv] for lv in kept) and not any(tensor in self.keeps[lv] for lv in bypassed)


# ------------------------------------------------------------------------------ quantities
@dataclass(frozen=True, slots=True, order=True)
class Refetch:
    """The factor of temporal loop ``position`` (irrelevant to a tensor) in the residencies of the tensor's tile
    below it: it multiplies iff a relevant temporal loop of bound > 1 lies inside it: one of ``inside`` (known to
    be inside: a level in between, or the same level ordered inside) or one of ``same_level`` that the search
    orders inside it (open views only)."""

    position: int
    inside: tuple[int, ...]
    same_level: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, order=True)
class Window:
    """Sliding-window extent of the products of the ``p`` and ``r`` positions' factors:
    :func:`window_extent` (rows h = p * stride + r touched by p output and r filter positions)."""

    p: tuple[int, ...]
    r: tuple[int, ...]
    stride: int


@dataclass(frozen=True, slots=True, order=True)
class Gate:
    """A 0/1 factor: 1 iff some loop of ``positions`` has a bound > 1 (``live``) or none has (not ``live``). It
    switches a count on or off with the mapping, e.g. a partial-sum drain that happens only when a reduction
    loop is split over instances."""

    positions: tuple[int, ...]
    live: bool


class FnKind(StrEnum):
    """Nonlinear functions of a product of loop factors that a quantity may carry (one equation each in
    :mod:`costmodel.imc`): ``any-spike``: 1 - (1 - param)^n, the probability that one of n rows sees a spike of
    density ``param``; ``mesh-hops``: the mean hop count of an n-tile mesh."""

    ANY_SPIKE = "any-spike"
    MESH_HOPS = "mesh-hops"


@dataclass(frozen=True, slots=True, order=True)
class Fn:
    """A factor f(n) with n the product of the ``positions``' factors (see :class:`FnKind`)."""

    kind: FnKind
    positions: tuple[int, ...]
    param: float = 0.0


class FlowKind(StrEnum):
    """Which count of an input transfer a :class:`FlowTerm` is (:class:`costmodel.halo.Flow`)."""

    PARENT_READS = "parent-reads"
    CHILD_FILLS = "child-fills"
    PEER_READS = "peer-reads"
    CROSSING = "crossing"


@dataclass(frozen=True, slots=True, order=True)
class FlowOptions:
    """Input-transfer counting options (accounting ``halo_reuse``, ``peer_forwarding``,
    ``peer_links_one_instance``): when any is on, input transfers of a concrete nest are counted by
    :func:`costmodel.halo.input_flow` instead of as whole tiles."""

    halo: bool = False
    forwarding: bool = False
    one_instance: bool = False

    @property
    def active(self) -> bool:
        return self.halo or self.forwarding


@dataclass(frozen=True, slots=True, order=True)
class FlowTerm:
    """An input-transfer count that is not a product of loop factors: the ``kind`` component of
    :func:`costmodel.halo.input_flow` for (``parent``, ``child``) (``hop``: which fanout for a crossing),
    evaluated on the factors of ``nest`` (each position as (level, dim, axis or "")) per mapping."""

    kind: FlowKind
    parent: int
    child: int
    hop: int
    stride: int
    options: FlowOptions
    nest: tuple[tuple[int, str, str], ...]


@dataclass(frozen=True, slots=True, order=True)
class Presence:
    """A quantity exists only if ``tensor`` is kept at every level of ``kept`` and at none of ``bypassed``."""

    tensor: Tensor
    kept: tuple[int, ...]
    bypassed: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, order=True)
class Quantity:
    """An element count: ``scale`` x prod(factors) x prod(active refetch factors) x prod(window extents) x
    prod(gates) x prod(fns) (x the ``flow`` count, which only the numeric arithmetic evaluates), zero unless
    ``presence`` holds."""

    factors: tuple[int, ...]
    refetch: tuple[Refetch, ...] = ()
    windows: tuple[Window, ...] = ()
    scale: int = 1
    presence: Presence | None = None
    gates: tuple[Gate, ...] = ()
    fns: tuple[Fn, ...] = ()
    flow: FlowTerm | None = None

    def without(self, positions: Sequence[int]) -> Quantity:
        """The quantity divided by the factors of ``positions`` (a multicast or reduction group)."""
        drop = set(positions)
        missing = drop - set(self.factors)
        if missing:
            raise ValueError(f"cannot divide by positions {sorted(missing)}: not factors of the quantity")
        return replace(self, factors=tuple(j for j in self.factors if j not in drop))

    def gated(self, gate: Gate) -> Quantity | None:
        """The quantity times a gate; None when the gate is always 0 (a live-gate over no loops)."""
        if not gate.positions:
            return None if gate.live else self
        return replace(self, gates=tuple(sorted({*self.gates, gate})))


def window_extent(p, r, stride, select: Callable = lambda c, a, b: a if c else b):  # noqa: ANN001, ANN201
    """Distinct input rows touched by ``p`` output rows and ``r`` filter rows (elements).

    h = p' * stride + r' for p' < p, r' < r. The rows are contiguous when r >= stride:
    E = (p - 1) * stride + r; otherwise the windows do not overlap: E = p * r. ``select(cond, a, b)`` is the
    arithmetic's if-then-else (numpy ``where``, a sympy ``Piecewise``, Python's conditional expression).
    """
    return select(r >= stride, (p - 1) * stride + r, p * r)


# ------------------------------------------------------------------------------ what is charged where
@dataclass(frozen=True, slots=True)
class Access:
    """``sign`` x quantity ``q`` elements of ``tensor`` accessed with ``action`` at ``level``. ``compute_side``:
    the accesses made by the accumulators (operand reads of W and I, partial-sum updates of O), which a level
    that gates on spikes skips for zero spikes. ``pair``: (parent, child) of the transfer this access belongs to,
    None for compute-side and LIF accesses."""

    level: int
    tensor: Tensor
    action: Action
    q: int
    sign: int = 1
    compute_side: bool = False
    pair: tuple[int, int] | None = None
    rmw: bool = False


@dataclass(frozen=True, slots=True)
class Traffic:
    """``elements`` x quantity ``q`` elements of ``tensor`` crossing the fanout network below ``level``
    (``pair``: the transfer they belong to, as in :class:`Access`)."""

    level: int
    tensor: Tensor
    q: int
    elements: int = 1
    pair: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class TileUse:
    """Level ``level`` holds (per instance) quantity ``q`` elements of ``tensor`` when it keeps it."""

    level: int
    tensor: Tensor
    q: int


@dataclass(frozen=True, slots=True)
class Analysis:
    """Quantities and where they are charged, for one nest (see the module docstring).

    ``macs``: dense accumulations (every loop); ``lif_ops``: LIF updates (the T, N, K, P, Q loops);
    ``temporal[l]``: level ``l``'s temporal iterations; ``ordered_pairs``: (a, b) with value_a >= value_b for
    every factor choice (residencies >= distinct tiles), which a solver may use to tighten bounds.
    """

    view: NestView
    quantities: tuple[Quantity, ...]
    accesses: tuple[Access, ...]
    traffic: tuple[Traffic, ...]
    tiles: tuple[TileUse, ...]
    macs: int
    lif_ops: int
    temporal: tuple[int, ...]
    ordered_pairs: tuple[tuple[int, int], ...] = ()


@dataclass
class _Builder:
    """Interns quantities (equal quantities share one index) and collects charges."""

    view: NestView
    stride: int
    flows: FlowOptions = field(default_factory=FlowOptions)
    final_writeback: bool = False
    quantities: list[Quantity] = field(default_factory=list)
    index: dict[Quantity, int] = field(default_factory=dict)
    accesses: list[Access] = field(default_factory=list)
    traffic: list[Traffic] = field(default_factory=list)
    tiles: list[TileUse] = field(default_factory=list)
    ordered_pairs: list[tuple[int, int]] = field(default_factory=list)

    def q(self, quantity: Quantity) -> int:
        i = self.index.get(quantity)
        if i is None:
            i = self.index[quantity] = len(self.quantities)
            self.quantities.append(quantity)
        return i

    def access(
        self,
        level: int,
        tensor: Tensor,
        action: Action,
        quantity: Quantity,
        sign: int = 1,
        *,
        compute_side: bool = False,
        pair: tuple[int, int] | None = None,
        rmw: bool = False,
    ) -> int:
        i = self.q(quantity)
        self.accesses.append(Access(level, tensor, action, i, sign, compute_side, pair, rmw))
        return i

    def cross(
        self, level: int, tensor: Tensor, quantity: Quantity, elements: int = 1, pair: tuple[int, int] | None = None
    ) -> None:
        self.traffic.append(Traffic(level, tensor, self.q(quantity), elements, pair))


# ------------------------------------------------------------------------------ position sets
def _positions(view: NestView, keep: Callable[[int, Position], bool]) -> tuple[int, ...]:
    return tuple(j for j, p in enumerate(view.positions) if keep(j, p))


def _refetches(view: NestView, tensor: Tensor, child: int, above: Sequence[int]) -> tuple[Refetch, ...]:
    """A :class:`Refetch` for every irrelevant temporal loop in ``above`` (the temporal loops above ``child`` in
    the tensor's operation space): the relevant loops inside it, known or to be ordered."""
    pos = view.positions
    rel = RELEVANT[tensor]
    out = []
    for j in above:
        if pos[j].dim in rel:
            continue
        deeper = [k for k in above if pos[k].dim in rel and pos[j].level < pos[k].level < child]
        same = [k for k in above if pos[k].dim in rel and pos[k].level == pos[j].level]
        if view.ordered:
            out.append(Refetch(j, tuple(sorted(deeper + [k for k in same if k > j]))))
        else:
            out.append(Refetch(j, tuple(deeper), tuple(same)))
    return tuple(out)


def _tile(view: NestView, tensor: Tensor, level: int, stride: int) -> Quantity:
    """Elements of ``tensor``'s tile at ``level`` (per instance): the product of the tensor-relevant loops at and
    below the level; inputs span sliding windows: T*N*C*E(P,R)*E(Q,S) (:func:`window_extent`)."""
    op = OP_SPACE[tensor]
    inner = _positions(view, lambda j, p: p.level >= level and p.dim in op)
    pos = view.positions
    if tensor is Tensor.I:
        windows = tuple(
            Window(tuple(j for j in inner if pos[j].dim is pd), tuple(j for j in inner if pos[j].dim is rd), stride)
            for pd, rd in ((Dim.P, Dim.R), (Dim.Q, Dim.S))
        )
        return Quantity(tuple(j for j in inner if pos[j].dim in (Dim.T, Dim.N, Dim.C)), windows=windows)
    return Quantity(tuple(j for j in inner if pos[j].dim in RELEVANT[tensor]))


# ------------------------------------------------------------------------------ the steps
def _transfers(b: _Builder, tensor: Tensor, parent: int, child: int, presence: Presence | None) -> None:
    """Fills (W, I), spills (O, U) or write-backs (S) of ``tensor`` between ``parent`` and ``child``.

    moved = residencies x tile x instances (child side); the parent sees moved / group (multicast or reduction
    over the irrelevant spatial loops between them); the fanout network below level h is crossed
    moved / group_h times. Partial results move (residencies - distinct tiles) x tile x instances each way.
    """
    view = b.view
    op, rel = OP_SPACE[tensor], RELEVANT[tensor]
    above = _positions(view, lambda j, p: p.level < child and not p.spatial and p.dim in op)
    inst = _positions(view, lambda j, p: p.level < child and p.spatial and p.dim in op)
    tile = _tile(view, tensor, child, b.stride)
    res_f = tuple(j for j in above if view.positions[j].dim in rel)

    def group(top: int) -> tuple[int, ...]:
        return tuple(j for j in inst if view.positions[j].level >= top and view.positions[j].dim not in rel)

    def moved(refetch: tuple[Refetch, ...]) -> Quantity:
        return Quantity(tuple(sorted(res_f + tile.factors + inst)), refetch, tile.windows, presence=presence)

    residencies = moved(_refetches(view, tensor, child, above))
    pair = (parent, child)
    if tensor is Tensor.O:  # partial sums split over instances (a reduction loop spatial above the child) drain
        drain = moved(()) if b.final_writeback else moved(()).gated(Gate(_reduction_split(view, child), live=True))
        if drain is not None:
            b.access(child, tensor, Action.READ, drain, pair=pair)
            b.access(parent, tensor, Action.UPDATE, drain.without(group(parent)), pair=pair)
            for h in range(parent, child):
                b.cross(h, tensor, drain.without(group(h)), pair=pair)
    if tensor in ACCUMULATED:
        made = []
        for sign, q in ((1, residencies), (-1, moved(()))):  # (residencies - distinct tiles) x tile x inst
            qc = b.access(child, tensor, Action.WRITE, q, sign, pair=pair)
            b.access(child, tensor, Action.READ, q, sign, pair=pair)
            qp = b.access(parent, tensor, Action.READ, q.without(group(parent)), sign, pair=pair)
            b.access(parent, tensor, Action.UPDATE, q.without(group(parent)), sign, pair=pair)
            for h in range(parent, child):
                b.cross(h, tensor, q.without(group(h)), 2 * sign, pair=pair)
            made.append((qc, qp))
        b.ordered_pairs.extend([(made[0][0], made[1][0]), (made[0][1], made[1][1])])
        return
    child_action, parent_action = (Action.READ, Action.WRITE) if tensor is Tensor.S else (Action.WRITE, Action.READ)
    b.access(child, tensor, child_action, residencies, pair=pair)
    b.access(parent, tensor, parent_action, residencies.without(group(parent)), pair=pair)
    for h in range(parent, child):
        b.cross(h, tensor, residencies.without(group(h)), 1, pair=pair)


def _input_flows(b: _Builder, parent: int, child: int) -> None:
    """Input transfers from ``parent`` to ``child`` counted with halo reuse and/or peer forwarding
    (:func:`costmodel.halo.input_flow`): the parent's reads, the child's fills, the reads of instances that
    forward to a neighbour (peer reads, a local read: no transfer) and the crossings of each fanout between."""
    nest = tuple((p.level, p.dim.value, p.axis.value if p.axis is not None else "") for p in b.view.positions)

    def term(kind: FlowKind, hop: int = 0) -> Quantity:
        return Quantity((), flow=FlowTerm(kind, parent, child, hop, b.stride, b.flows, nest))

    pair = (parent, child)
    b.access(child, Tensor.I, Action.WRITE, term(FlowKind.CHILD_FILLS), pair=pair)
    b.access(parent, Tensor.I, Action.READ, term(FlowKind.PARENT_READS), pair=pair)
    if b.flows.forwarding:
        b.access(child, Tensor.I, Action.READ, term(FlowKind.PEER_READS))
    for i, h in enumerate(range(parent, child)):
        b.cross(h, Tensor.I, term(FlowKind.CROSSING, i), 1, pair=pair)


def _compute_side(b: _Builder, tensor: Tensor, level: int, presence: Presence | None) -> None:
    """Accesses of compute and LIF units to the innermost level keeping ``tensor``: operand reads (W, I),
    partial-sum updates (O) per accumulation, membrane updates (U) per LIF update, each divided by the
    irrelevant spatial loops below the level (operand broadcast, spatial reduction); one read of every finished
    partial sum (O) and one spike write (S) per LIF update. The fanout network below level h >= ``level`` is
    crossed by every access from below it, once per irrelevant spatial group."""
    view = b.view
    op, rel = OP_SPACE[tensor], RELEVANT[tensor]
    ops = Quantity(_positions(view, lambda j, p: p.dim in op), presence=presence)

    def group(top: int) -> tuple[int, ...]:
        return _positions(view, lambda j, p: p.level >= top and p.spatial and p.dim in op and p.dim not in rel)

    if tensor in (Tensor.W, Tensor.I):
        b.access(level, tensor, Action.READ, ops.without(group(level)), compute_side=True)
    elif tensor is Tensor.O:
        updates = ops.without(group(level))
        b.access(level, tensor, Action.UPDATE, updates, compute_side=True)
        # first touches: every element once per instance (the relevant loops x the instances above the level)
        first = Quantity(
            _positions(view, lambda j, p: p.dim in rel or (p.spatial and p.level < level)), presence=presence
        )
        b.access(level, tensor, Action.READ, updates, compute_side=True, rmw=True)
        b.access(level, tensor, Action.READ, first, -1, compute_side=True, rmw=True)
    elif tensor is Tensor.U:
        b.access(level, tensor, Action.UPDATE, ops.without(group(level)))
    else:
        b.access(level, tensor, Action.WRITE, ops)
    for h in range(level, view.n_levels):
        b.cross(h, tensor, ops.without(group(h)))


def _reduction_split(view: NestView, level: int) -> tuple[int, ...]:
    """Spatial loops of reduction dims (C, R, S) above ``level``: when one is live, the instances of ``level``
    hold parts of the same partial sums, which must be reduced above it before the LIF can read them."""
    return _positions(
        view,
        lambda j, p: p.spatial and p.level < level and p.dim in OP_SPACE[Tensor.O] and p.dim not in RELEVANT[Tensor.O],
    )


def _lif_reads(b: _Builder, cand: Sequence[int]) -> None:
    """The LIF unit reads every finished partial sum (T*N*K*P*Q of them) once, at the innermost level keeping O
    whose instances hold whole sums (no live reduction loop split above it). At level L that is
    lif x [L complete] - lif x [the next kept level below L complete]: over the kept levels the terms telescope
    to exactly one level. A concrete view drops the pairs that cancel identically (same split loops)."""
    view = b.view
    lif = Quantity(_positions(view, lambda j, p: p.dim in OP_SPACE[Tensor.U]))
    for i, lv in enumerate(cand):
        split = _reduction_split(view, lv)
        below = list(cand[i + 1 :])
        if view.keeps is not None:
            if below and _reduction_split(view, below[0]) == split:
                continue  # the next kept level below is as complete: this level reads nothing
            below = below[:1]
        terms = [(1, Gate(split, live=False), view.presence(Tensor.O, (lv,), ()))]
        for m in below:
            between = tuple(x for x in cand if lv < x < m)
            terms.append((-1, Gate(_reduction_split(view, m), live=False), view.presence(Tensor.O, (lv, m), between)))
        for sign, gate, pres in terms:
            q = lif.gated(gate)
            if q is None or pres is False:
                continue
            q = _with(q, pres)
            b.access(lv, Tensor.O, Action.READ, q, sign)
            b.cross(lv, Tensor.O, q, sign)


def _tensor(b: _Builder, tensor: Tensor) -> None:
    """Tiles, transfers between every (parent, child) pair that can be consecutive keepers, and compute-side
    accesses at every level that can be the innermost keeper of ``tensor``."""
    view = b.view
    cand = view.candidates(tensor)
    for lv in cand:
        pres = view.presence(tensor, (lv,), ())
        if pres is not False:
            b.tiles.append(TileUse(lv, tensor, b.q(_with(_tile(view, tensor, lv, b.stride), pres))))
    for parent, child in itertools.combinations(cand, 2):
        pres = view.presence(tensor, (parent, child), tuple(m for m in cand if parent < m < child))
        if pres is not False:
            if tensor is Tensor.I and b.flows.active:
                _input_flows(b, parent, child)
            else:
                _transfers(b, tensor, parent, child, None if pres is True else pres)
    for lv in cand:
        pres = view.presence(tensor, (lv,), tuple(m for m in cand if m > lv))
        if pres is not False:
            _compute_side(b, tensor, lv, None if pres is True else pres)
    if tensor is Tensor.O:
        _lif_reads(b, cand)


def _with(q: Quantity, presence: Presence | bool) -> Quantity:
    return q if presence is True or presence is False else replace(q, presence=presence)


def _level_loops(view: NestView, level: int) -> tuple[int, ...]:
    """The temporal positions of ``level``."""
    return tuple(j for j, p in enumerate(view.positions) if p.level == level and not p.spatial)


def analyze(
    view: NestView, stride: int, spiking: bool = True, flows: FlowOptions | None = None, final_writeback: bool = False
) -> Analysis:
    """The analysis of ``view`` for a layer of input ``stride`` (see the module docstring). A non-spiking layer
    (``spiking`` False: ReLU or identity neurons) has no membrane: U is not touched; ``lif_ops`` then counts its
    output activations. ``flows``: count input transfers with halo reuse / peer forwarding (a concrete view
    only: the walk needs the loop order and the bypass choices). ``final_writeback``: every tile of partial sums
    is written back to its parent when finished, not only where a reduction is split over instances (the
    accounting option of that name)."""
    flows = flows or FlowOptions()
    if flows.active and (view.keeps is None or not view.ordered):
        raise ValueError(
            "the accounting options halo_reuse / peer_forwarding count input transfers by a walk over a concrete "
            "loop nest; an open mapspace (the CP-SAT model, explain's closed form) cannot carry them: evaluate "
            "given mappings, or search under a profile without them"
        )
    b = _Builder(view, stride, flows, final_writeback)
    macs = b.q(Quantity(tuple(range(len(view.positions)))))
    lif = b.q(Quantity(_positions(view, lambda j, p: p.dim in OP_SPACE[Tensor.U])))
    for tensor in Tensor:
        if view.candidates(tensor) and (spiking or tensor is not Tensor.U):
            _tensor(b, tensor)
    temporal = tuple(b.q(Quantity(_level_loops(view, lv))) for lv in range(view.n_levels))
    return Analysis(
        view=view,
        quantities=tuple(b.quantities),
        accesses=tuple(b.accesses),
        traffic=tuple(b.traffic),
        tiles=tuple(b.tiles),
        macs=macs,
        lif_ops=lif,
        temporal=temporal,
        ordered_pairs=tuple(b.ordered_pairs),
    )
