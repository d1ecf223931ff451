"""Named dataflows as mapping constraints (DESIGN.md section 5).

A :class:`Dataflow` says where T sits and which loops go where: the spatial preference of the
PE array (the level with the largest fanout), the loop order of the levels below it (inner loops
first filled) and where T goes. It is a constraint on the mapspace, not a code path: the mappers
read the same values (:func:`mappers.mapspace.dataflow_constraints`), and
:func:`mappers.heuristic.heuristic_mapping` fills the loop bounds greedily.

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

from costmodel.types import Dim


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
