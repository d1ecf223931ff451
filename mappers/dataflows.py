"""Named dataflows as mapping constraints.

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

from costmodel.accounting import CrossbarMapping
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
    """The digital dataflow ``name`` (os, ws, time-batched)."""
    try:
        return DATAFLOWS[name]
    except KeyError:
        raise KeyError(f"unknown dataflow {name!r}; expected one of {', '.join(DATAFLOWS)}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class CrossbarFlow:
    """A named allocation of a layer onto a crossbar arch's resident weights (a mapping constraint and the
    heuristic :func:`mappers.heuristic.crossbar_mapping` follows): how the reduction fills crossbar rows and
    where T sits (outermost: a tile's membranes stay in its LIF SRAM over all pixels; ``t_inner``: all
    timesteps of a pixel back to back)."""

    name: str
    mapping: CrossbarMapping
    t_inner: bool
    description: str = ""


CROSSBAR_FLOWS: dict[str, CrossbarFlow] = {
    "packed": CrossbarFlow(
        name="packed",
        mapping=CrossbarMapping.PACKED,
        t_inner=False,
        description="input channels then filter taps on the rows, T outermost",
    ),
    "spikesim": CrossbarFlow(
        name="spikesim",
        mapping=CrossbarMapping.CHANNEL_BLOCK,
        t_inner=False,
        description="the public SpikeSim allocation: a crossbar per kernel position, <= 64 "
        "input channels on its rows, T outermost",
    ),
    "time-batched": CrossbarFlow(
        name="time-batched",
        mapping=CrossbarMapping.PACKED,
        t_inner=True,
        description="packed rows, all timesteps of a pixel back to back",
    ),
}


#: The public SATA tool's output-stationary schedule (mappers.heuristic.scalesim_os_mapping); systolic archs.
SCALESIM = "scalesim"


def flow_names(crossbar: bool) -> tuple[str, ...]:
    """The named dataflows of a digital arch or of a crossbar arch."""
    return tuple(CROSSBAR_FLOWS) if crossbar else (*DATAFLOWS, SCALESIM)


def check_flow(name: str, crossbar: bool, *, flag: str = "--dataflow") -> None:
    """Raise ``ValueError`` naming the flag when ``name`` is not a dataflow of this kind of arch."""
    names = flow_names(crossbar)
    if name not in (*names, "best"):
        kind = "a crossbar arch" if crossbar else "a digital arch"
        raise ValueError(f"{flag} {name}: not a dataflow of {kind}; expected one of {', '.join(names)}, best")
