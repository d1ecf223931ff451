"""A greedy heuristic mapping per named dataflow: a legal mapping that follows the dataflow and fits every buffer.

It is a mapper (a fixed strategy, no search): spatial loops first (the PE array takes the largest divisors of the
dataflow's preferred dims), then the temporal loops of the levels below the array, innermost level first, each
taking the largest divisor that still fits (capacity is asked of :func:`costmodel.evaluate.evaluate`); the
outermost level takes the rest. ``spikeloop evaluate --dataflow os|ws|time-batched`` uses it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from costmodel.accounting import Accounting, CrossbarMapping
from costmodel.arch import Arch
from costmodel.evaluate import evaluate
from costmodel.mapping import Invalid, InvalidKind, LevelMapping, Loop, Mapping
from costmodel.types import DIMS, Axis, Dim, Tensor
from costmodel.workload import Layer
from mappers.dataflows import Dataflow, TPlacement


def _divisors_desc(n: int) -> list[int]:
    return [d for d in range(n, 0, -1) if n % d == 0]


def _build(arch: Arch, temporal: list[list[Loop]], spatial: list[list[Loop]]) -> Mapping:
    return Mapping(
        levels=tuple(LevelMapping(temporal=tuple(t), spatial=tuple(s)) for t, s in zip(temporal, spatial, strict=True))
    )


_REDUCTION = (Dim.C, Dim.R, Dim.S)


def _t_outside_reduction(inner_first: list[Dim]) -> list[Dim]:
    """Insert T (inner-first order) just outside the reduction dims: timesteps that do not fit the
    innermost level go around the C, R, S loops, so partial sums are not spilled per timestep."""
    rest = [d for d in inner_first if d is not Dim.T]
    cut = max((i + 1 for i, d in enumerate(rest) if d in _REDUCTION), default=0)
    return [*rest[:cut], Dim.T, *rest[cut:]]


def heuristic_mapping(
    arch: Arch,
    layer: Layer,
    flow: Dataflow,
    accounting: Accounting | None = None,
    *,
    capacity: Callable[[Mapping], bool | None] | None = None,
) -> Mapping | Invalid:
    """A legal mapping of ``layer`` that follows ``flow``, filled greedily to fit capacities.

    Spatial: the array level takes the largest divisors of the preferred dims that fit each axis.
    Temporal: levels below the array, innermost first, take the largest divisor of each dim (in
    ``inner_order`` read inner to outer) that keeps every level at or below them within capacity;
    what remains goes to the levels above, the outermost taking the rest. T goes first to its
    place (innermost of the innermost level, or outermost of the outermost level); for T-innermost
    dataflows, timesteps that do not fit the innermost level go just outside the C, R, S loops of
    the levels above. ``accounting``: the profile whose capacity rules the tiles must meet.
    ``capacity``: a faster test of the same capacity rules (e.g. :meth:`mappers.mapspace.MapSpace.fits` of the
    layer's free mapspace; None from it: ask ``evaluate``).
    """
    n = len(arch.levels)
    rem = layer.bounds_dict()
    temporal: list[list[Loop]] = [[] for _ in range(n)]
    spatial: list[list[Loop]] = [[] for _ in range(n)]
    arr = arch.array_level

    for li, lv in enumerate(arch.levels):
        for axis, prefs, room in ((Axis.X, flow.spatial_x, lv.fanout.x), (Axis.Y, flow.spatial_y, lv.fanout.y)):
            for d in prefs:
                if room <= 1 or rem[d] == 1 or (li != arr and lv.fanout.size == 1):
                    continue
                f = next(x for x in _divisors_desc(rem[d]) if x <= room)
                if f > 1:
                    spatial[li].append(Loop(d, f, True, axis))
                    rem[d] //= f
                    room //= f

    def fits(level_from: int) -> bool:
        # a provisional mapping: everything not yet placed goes to the outermost level
        trial_t = [list(x) for x in temporal]
        trial_t[0] = [Loop(d, rem[d]) for d in DIMS if rem[d] > 1] + trial_t[0]
        trial = _build(arch, trial_t, spatial)
        quick = capacity(trial) if capacity is not None else None
        if quick is not None:
            return quick
        res = evaluate(arch, layer, trial, accounting)
        # A failure at a level outside ``level_from`` is permanent too (tiles only grow as the remaining
        # loops are placed), e.g. loops in a weight-only SPAD inflating the input tile of the SPAD above it.
        return not (isinstance(res, Invalid) and res.kind is InvalidKind.CAPACITY)

    t_inner = flow.t_placement is TPlacement.INNERMOST
    order_inner_first = list(reversed(flow.inner_order))
    for li in range(n - 1, 0, -1):
        dims = order_inner_first if li > arr else list(reversed(flow.outer_order))
        if t_inner:
            dims = [Dim.T, *dims] if li == n - 1 else _t_outside_reduction(dims)
        placed: list[Loop] = []
        for d in dims:
            if rem[d] == 1:
                continue
            for f in _divisors_desc(rem[d]):
                if f == 1:
                    break
                temporal[li] = [Loop(d, f), *placed]
                rem[d] //= f
                if fits(li):
                    placed = temporal[li]
                    break
                rem[d] *= f
                temporal[li] = list(placed)
        temporal[li] = placed
    top_order = [d for d in flow.outer_order if rem[d] > 1]
    if rem[Dim.T] > 1:
        top_order = [Dim.T, *top_order] if not t_inner else list(reversed(_t_outside_reduction(top_order[::-1])))
    temporal[0] = [Loop(d, rem[d]) for d in top_order]
    mapping = _build(arch, temporal, spatial)
    res = evaluate(arch, layer, mapping, accounting)
    if isinstance(res, Invalid):
        return res
    return mapping


# ------------------------------------------------------------------------------ crossbar archs
def _largest_divisor(n: int, limit: int) -> int:
    return next(d for d in _divisors_desc(n) if d <= limit)


def _place(rem: dict[Dim, int], dims: tuple[Dim, ...], room: int) -> list[tuple[Dim, int]]:
    """Largest divisors of the remaining bounds of ``dims`` (in order) whose product fits ``room``."""
    out = []
    for d in dims:
        f = _largest_divisor(rem[d], room)
        if f > 1:
            out.append((d, f))
            rem[d] //= f
            room //= f
    return out


def crossbar_mapping(arch: Arch, layer: Layer, style: CrossbarMapping, *, t_inner: bool = False) -> Mapping | Invalid:
    """A legal mapping of a weight layer onto a crossbar arch's resident weights.

    Columns of a crossbar take output channels (K, with the cells per weight), rows the reduction: ``packed``
    fills the rows with input channels, then filter taps (C, R, S), and the PE's crossbars with the rest of the
    reduction (R, S, C); ``channel-block`` (the public SpikeSim mapping) puts input channels on the rows and one kernel
    position per crossbar of the PE. The remaining output-channel and channel blocks spread over the levels
    above (PEs of a tile, then tiles). Timesteps, batch and output pixels are temporal: pixels at the tile
    level, so a tile's membranes stay in its LIF SRAM across timesteps, and T outermost (or, with ``t_inner``,
    T inside the pixels: all timesteps of a pixel back to back).
    """
    from costmodel.evaluate import fanout_limit

    xb = arch.crossbar
    if xb is None:
        return Invalid(reason=f"arch {arch.name} has no crossbar: section")
    n = len(arch.levels)
    rem = layer.bounds_dict()
    spatial: list[list[Loop]] = [[] for _ in range(n)]
    temporal: list[list[Loop]] = [[] for _ in range(n)]

    def put(level: int, axis: Axis, dims: tuple[Dim, ...]) -> None:
        room = fanout_limit(arch, layer, level, axis) // math.prod(lp.bound for lp in spatial[level] if lp.axis is axis)
        spatial[level] += [Loop(d, f, True, axis) for d, f in _place(rem, dims, room)]

    put(xb.level, Axis.X, (Dim.K,))
    if style is CrossbarMapping.CHANNEL_BLOCK:
        put(xb.level, Axis.Y, (Dim.C,))
        for axis in Axis:
            put(xb.pe_level, axis, (Dim.R, Dim.S))
    else:
        put(xb.level, Axis.Y, (Dim.C, Dim.R, Dim.S))
        for axis in Axis:
            put(xb.pe_level, axis, (Dim.R, Dim.S, Dim.C))
    for level in range(xb.pe_level - 1, -1, -1):
        for axis in Axis:
            put(level, axis, (Dim.K, Dim.C, Dim.R, Dim.S))
    left = [d.value for d in (Dim.K, Dim.C, Dim.R, Dim.S) if rem[d] > 1]
    if left:
        return Invalid(
            kind=InvalidKind.FANOUT,
            reason=f"layer {layer.name} needs more crossbars than {arch.name} has (left over: {', '.join(left)})",
        )
    outer, tile = [Dim.T], [Dim.N, Dim.P, Dim.Q]
    if t_inner:
        outer, tile = [Dim.N, Dim.P, Dim.Q], [Dim.T]
    temporal[0] = [Loop(d, rem[d]) for d in outer if rem[d] > 1]
    temporal[xb.tile_level] = [Loop(d, rem[d]) for d in tile if rem[d] > 1]
    mapping = _build(arch, temporal, spatial)
    res = evaluate(arch, layer, mapping)
    return res if isinstance(res, Invalid) else mapping


# ------------------------------------------------------------------------------ the SATA tool's schedule
def scalesim_os_mapping(arch: Arch, layer: Layer, accounting: Accounting | None = None) -> Mapping | Invalid:
    """The output-stationary schedule of the public SATA tool (scale-sim OS) as a mapping of a systolic arch.

    At the systolic level: output channels on the array's columns (x) and output pixels on its rows (y); the
    whole reduction (C, R, S) streams through each PE inside it (C at the level below the array, whose input
    partition the stream bypasses, R and S in the weight scratchpad), so each fold of the array pays one fill
    and drain skew; T outermost, then the filter folds, then bands of output rows as the input buffer's tile
    (the tallest band whose input rows fit the buffer under the profile's capacity rules), the rest of the
    pixels inside the band (a band of one output row and as many output columns as fit when no row does; when
    not even the array's windows fit, the inputs stream from the outermost level, as the tool then reads every
    operand from DRAM).
    """
    s = arch.systolic_level
    if s is None or s + 2 >= len(arch.levels) + 1:
        return Invalid(reason=f"arch {arch.name} has no systolic fanout with levels below it")
    n = len(arch.levels)
    rem = layer.bounds_dict()
    spatial: list[list[Loop]] = [[] for _ in range(n)]
    temporal: list[list[Loop]] = [[] for _ in range(n)]
    fo = arch.levels[s].fanout
    spatial[s] = [Loop(d, f, True, Axis.X) for d, f in _place(rem, (Dim.K,), fo.x)]
    spatial[s] += [Loop(d, f, True, Axis.Y) for d, f in _place(rem, (Dim.Q, Dim.P, Dim.N), fo.y)]
    inner = [i for i in range(s + 1, n)]
    w_level = max((i for i in inner if Tensor.W in arch.levels[i].keeps), default=n - 1)
    c_level = min(inner) if inner else s
    temporal[w_level] = [Loop(d, rem[d]) for d in (Dim.R, Dim.S) if rem[d] > 1]
    temporal[c_level] = [Loop(Dim.C, rem[Dim.C])] + (temporal[c_level] if c_level == w_level else [])
    rem[Dim.R] = rem[Dim.S] = rem[Dim.C] = 1
    bypass: list[frozenset[Tensor]] = [frozenset() for _ in range(n)]
    if c_level != w_level and Tensor.I in arch.levels[c_level].keeps:
        bypass[c_level] = frozenset({Tensor.I})
    p_all, q_all = rem[Dim.P], rem[Dim.Q]
    bands = [(b, q_all) for b in _divisors_desc(p_all)] + [(1, q) for q in _divisors_desc(q_all)[1:]]
    invalid = Invalid(reason="no band fits")
    stream = [*bypass[:s], bypass[s] | {Tensor.I}, *bypass[s + 1 :]]  # inputs straight from the outermost level
    tries = [(p_band, q_band, bypass) for p_band, q_band in bands] + [(p_all, q_all, stream)]
    for p_band, q_band, bypass in tries:  # the tallest band of rows, then of columns, that fits; else stream
        temporal[0] = [
            Loop(d, b)
            for d, b in ((Dim.T, rem[Dim.T]), (Dim.K, rem[Dim.K]), (Dim.P, p_all // p_band), (Dim.Q, q_all // q_band))
            if b > 1
        ]
        temporal[s] = [Loop(d, b) for d, b in ((Dim.N, rem[Dim.N]), (Dim.P, p_band), (Dim.Q, q_band)) if b > 1]
        mapping = Mapping(
            levels=tuple(
                LevelMapping(temporal=tuple(t), spatial=tuple(sp), bypass=b)
                for t, sp, b in zip(temporal, spatial, bypass, strict=True)
            )
        )
        res = evaluate(arch, layer, mapping, accounting)
        if not isinstance(res, Invalid):
            return mapping
        invalid = res
    return invalid
