"""A greedy heuristic mapping per named dataflow: a legal mapping that follows the dataflow and fits every buffer.

It is a mapper (a fixed strategy, no search): spatial loops first (the PE array takes the largest divisors of the
dataflow's preferred dims), then the temporal loops of the levels below the array, innermost level first, each
taking the largest divisor that still fits (capacity is asked of :func:`costmodel.evaluate.evaluate`); the
outermost level takes the rest. ``spikeloop evaluate --dataflow os|ws|time-batched`` uses it.
"""

from __future__ import annotations

from costmodel.arch import Arch
from costmodel.evaluate import evaluate
from costmodel.mapping import Invalid, InvalidKind, LevelMapping, Loop, Mapping
from costmodel.types import DIMS, Axis, Dim
from costmodel.workload import Layer
from mappers.dataflows import Dataflow, TPlacement


def _divisors_desc(n: int) -> list[int]:
    return [d for d in range(n, 0, -1) if n % d == 0]


def _build(arch: Arch, temporal: list[list[Loop]], spatial: list[list[Loop]]) -> Mapping:
    return Mapping(
        levels=tuple(
            LevelMapping(temporal=tuple(t), spatial=tuple(s)) for t, s in zip(temporal, spatial, strict=True)
        )
    )


_REDUCTION = (Dim.C, Dim.R, Dim.S)


def _t_outside_reduction(inner_first: list[Dim]) -> list[Dim]:
    """Insert T (inner-first order) just outside the reduction dims: timesteps that do not fit the
    innermost level go around the C, R, S loops, so partial sums are not spilled per timestep."""
    rest = [d for d in inner_first if d is not Dim.T]
    cut = max((i + 1 for i, d in enumerate(rest) if d in _REDUCTION), default=0)
    return [*rest[:cut], Dim.T, *rest[cut:]]


def heuristic_mapping(arch: Arch, layer: Layer, flow: Dataflow) -> Mapping | Invalid:
    """A legal mapping of ``layer`` that follows ``flow``, filled greedily to fit capacities.

    Spatial: the array level takes the largest divisors of the preferred dims that fit each axis.
    Temporal: levels below the array, innermost first, take the largest divisor of each dim (in
    ``inner_order`` read inner to outer) that keeps every level at or below them within capacity;
    what remains goes to the levels above, the outermost taking the rest. T goes first to its
    place (innermost of the innermost level, or outermost of the outermost level); for T-innermost
    dataflows, timesteps that do not fit the innermost level go just outside the C, R, S loops of
    the levels above.
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
        res = evaluate(arch, layer, _build(arch, trial_t, spatial))
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
    res = evaluate(arch, layer, mapping)
    if isinstance(res, Invalid):
        return res
    return mapping
