"""Named dataflows as mapping constraints, and a greedy heuristic mapping that fits capacities.

A :class:`Dataflow` says where T sits and which loops go where: the spatial preference of the
PE array (the level with the largest fanout), the loop order of the levels below it (inner loops
first filled) and where T goes. It is a constraint on the mapspace, not a code path: the mappers
read the same values, and :func:`heuristic_mapping` fills the loop bounds greedily (largest
divisor that still fits each level, innermost level first).

* ``os``: output-stationary, T outermost (the network runs timestep by timestep; weights and
  membrane potentials move every timestep). PE array: K on x, output pixels on y; reduction
  (C, R, S) innermost in time.
* ``ws``: weight-stationary, T outermost. PE array: K on x, C on y; output pixels innermost in
  time so the weights in the PE are reused.
* ``time-batched``: the paper's SNN-tailored (tick-batch) dataflow: like ``os`` but T is the
  innermost loop of the innermost level, so a weight fetched into the PE is used for every
  timestep and the membrane potential never leaves the PE.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from costmodel.arch import Arch
from costmodel.mapping import Invalid, LevelMapping, Loop, Mapping
from costmodel.types import DIMS, Dim
from costmodel.workload import Layer


class TPlacement(StrEnum):
    OUTERMOST = "outermost"  # T is the outermost loop of the outermost level
    INNERMOST = "innermost"  # T is the innermost loop of the innermost level


@dataclass(frozen=True, slots=True, kw_only=True)
class Dataflow:
    name: str
    t_placement: TPlacement
    spatial_x: tuple[Dim, ...]  # dims for the array's x axis, in preference order
    spatial_y: tuple[Dim, ...]
    inner_order: tuple[Dim, ...]  # temporal order below the array, outer to inner
    outer_order: tuple[Dim, ...]  # temporal order at and above the array, outer to inner
    description: str = ""


_OS_INNER = (Dim.N, Dim.K, Dim.P, Dim.Q, Dim.C, Dim.R, Dim.S)
_OUTER = (Dim.N, Dim.K, Dim.P, Dim.Q, Dim.C, Dim.R, Dim.S)

DATAFLOWS: dict[str, Dataflow] = {
    "os": Dataflow(
        name="os",
        t_placement=TPlacement.OUTERMOST,
        spatial_x=(Dim.K,),
        spatial_y=(Dim.P, Dim.Q, Dim.N),
        inner_order=_OS_INNER,
        outer_order=_OUTER,
        description="output-stationary, T outermost: weights and membranes move every timestep",
    ),
    "ws": Dataflow(
        name="ws",
        t_placement=TPlacement.OUTERMOST,
        spatial_x=(Dim.K,),
        spatial_y=(Dim.C, Dim.R, Dim.S),
        inner_order=(Dim.K, Dim.C, Dim.R, Dim.S, Dim.N, Dim.P, Dim.Q),
        outer_order=_OUTER,
        description="weight-stationary, T outermost: pixels stream past weights held in the PE",
    ),
    "time-batched": Dataflow(
        name="time-batched",
        t_placement=TPlacement.INNERMOST,
        spatial_x=(Dim.K,),
        spatial_y=(Dim.P, Dim.Q, Dim.N),
        inner_order=_OS_INNER,
        outer_order=_OUTER,
        description="SNN-tailored tick-batch: T innermost in the PE, weights fetched once for all timesteps",
    ),
}


def dataflow(name: str) -> Dataflow:
    try:
        return DATAFLOWS[name]
    except KeyError:
        raise KeyError(f"unknown dataflow {name!r}; expected one of {', '.join(DATAFLOWS)}") from None


def array_level(arch: Arch) -> int:
    """Index of the level whose fanout is the PE array (the largest fanout; outermost on ties)."""
    sizes = [lv.fanout.size for lv in arch.levels]
    return sizes.index(max(sizes))


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
    from costmodel.counts import access_counts
    from costmodel.evaluate import capacity_ok, evaluate, nest_of

    n = len(arch.levels)
    rem = layer.bounds_dict()
    temporal: list[list[Loop]] = [[] for _ in range(n)]
    spatial: list[list[Loop]] = [[] for _ in range(n)]
    arr = array_level(arch)

    for li, lv in enumerate(arch.levels):
        for axis, prefs, room in (("x", flow.spatial_x, lv.fanout.x), ("y", flow.spatial_y, lv.fanout.y)):
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
        structure, factors = nest_of(arch, _build(arch, trial_t, spatial))
        _, failures = capacity_ok(arch, layer, structure, access_counts(structure, factors, layer.stride))
        # A failure at a level outside ``level_from`` is permanent too (tiles only grow as the remaining
        # loops are placed), e.g. loops in a weight-only SPAD inflating the input tile of the SPAD above it.
        return not failures

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
