"""The Cost record: additive, keyed by (component, tensor, action) enums."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from costmodel.types import Action, Tensor


class Key(NamedTuple):
    """What an energy or count belongs to: a component (level name, ``compute``, ``lif``), the
    tensor it moves (None for compute and static) and the action."""

    component: str
    tensor: Tensor | None
    action: Action

    @property
    def label(self) -> str:
        """Flat JSON key: ``GLB/W/read``, ``compute/ac``, ``compute/lif``, ``static/GLB``."""
        if self.action is Action.STATIC:
            return f"static/{self.component}"
        if self.tensor is None:
            return f"{self.component}/{self.action.value}"
        return f"{self.component}/{self.tensor.value}/{self.action.value}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Cost:
    """Energy, action counts, cycles and area of one layer (or a sum of layers).

    ``energy_pj`` and ``counts`` map :class:`Key` to pJ and to action counts. ``cycles`` add
    over layers run one after another; ``area_um2`` is the chip's and does not add.
    """

    energy_pj: dict[Key, float]
    counts: dict[Key, float]
    macs: float
    accumulations: float
    lif_ops: float
    cycles: float
    clock_hz: float
    area_um2: float
    pes: int
    notes: tuple[str, ...] = field(default=())

    @property
    def total_energy_pj(self) -> float:
        return float(sum(self.energy_pj.values()))

    @property
    def latency_s(self) -> float:
        return self.cycles / self.clock_hz

    @property
    def edp_pj_s(self) -> float:
        """Energy-delay product in pJ x s."""
        return self.total_energy_pj * self.latency_s

    @property
    def area_mm2(self) -> float:
        return self.area_um2 * 1e-6

    @property
    def utilization(self) -> float:
        """Dense MACs / (cycles x PEs): the fraction of PE-cycles doing work."""
        return self.macs / (self.cycles * self.pes) if self.cycles else 0.0

    def energy_by(
        self, *, component: str | None = None, tensor: Tensor | None = None, action: Action | None = None
    ) -> float:
        return float(
            sum(
                v
                for k, v in self.energy_pj.items()
                if (component is None or k.component == component)
                and (tensor is None or k.tensor is tensor)
                and (action is None or k.action is action)
            )
        )

    def __add__(self, other: Cost) -> Cost:
        if self.clock_hz != other.clock_hz:
            raise ValueError("cannot add costs of different clocks")
        e = dict(self.energy_pj)
        for k, v in other.energy_pj.items():
            e[k] = e.get(k, 0.0) + v
        c = dict(self.counts)
        for k, v in other.counts.items():
            c[k] = c.get(k, 0.0) + v
        return Cost(
            energy_pj=e,
            counts=c,
            macs=self.macs + other.macs,
            accumulations=self.accumulations + other.accumulations,
            lif_ops=self.lif_ops + other.lif_ops,
            cycles=self.cycles + other.cycles,
            clock_hz=self.clock_hz,
            area_um2=max(self.area_um2, other.area_um2),
            pes=max(self.pes, other.pes),
            notes=self.notes + tuple(n for n in other.notes if n not in self.notes),
        )

    def scaled(self, factor: float) -> Cost:
        """Energy, counts and cycles x factor (area unchanged): e.g. per image of a batch."""
        return Cost(
            energy_pj={k: v * factor for k, v in self.energy_pj.items()},
            counts={k: v * factor for k, v in self.counts.items()},
            macs=self.macs * factor,
            accumulations=self.accumulations * factor,
            lif_ops=self.lif_ops * factor,
            cycles=self.cycles * factor,
            clock_hz=self.clock_hz,
            area_um2=self.area_um2,
            pes=self.pes,
            notes=self.notes,
        )

    def breakdown_pj(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for k, v in sorted(self.energy_pj.items(), key=lambda kv: kv[0].label):
            out[k.label] = out.get(k.label, 0.0) + float(v)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON keys (used by other tools)."""
        return {
            "total_energy_pj": self.total_energy_pj,
            "cycles": self.cycles,
            "latency_s": self.latency_s,
            "area_mm2": self.area_mm2,
            "edp_pj_s": self.edp_pj_s,
            "macs": self.macs,
            "accumulations": self.accumulations,
            "lif_ops": self.lif_ops,
            "utilization": self.utilization,
            "breakdown_pj": self.breakdown_pj(),
            "counts": {k.label: float(v) for k, v in sorted(self.counts.items(), key=lambda kv: kv[0].label)},
        }

    def to_records(self) -> list[dict[str, Any]]:
        """One flat row (:func:`costmodel.records.flat` of :meth:`to_dict`), ready for ``pandas.DataFrame``."""
        from costmodel.records import flat

        return [flat(self.to_dict())]
