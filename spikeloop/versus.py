"""The SNN against its ANN twin on the same hardware: ``spikeloop versus``.

The paper asks whether SNNs are truly energy-efficient; an answer needs the ANN the SNN replaces, priced by the same
engine on the same arch. :func:`ann_twin` builds it from the SNN's network (same layer shapes and weights, one
timestep, 8-bit ReLU activations); :func:`versus` prices the SNN at every requested T and the twin once, through
:func:`spikeloop.engine.run_network` (so every command gives the same number for the same layer and mapping), and
returns a :class:`Versus`: per side and T the total and per-layer energy, latency, EDP and area, the break-even T
(:func:`break_even`) and the energy terms that grow with T (:func:`growing_terms`). :func:`render_markdown`,
:func:`write_versus` and :func:`plot_versus` present it; :func:`versus_rows` gives the reproduce report's rows.

This module holds no cost equation: every number comes from the engine's :class:`~costmodel.cost.Cost` records.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costmodel.arch import Arch, load_arch
from costmodel.network import load_network
from costmodel.types import Activation
from costmodel.workload import Network
from spikeloop.engine import Options, resolve, run_network
from spikeloop.formatting import si, table
from spikeloop.rows import Row

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from costmodel.network_eval import NetworkResult

#: the timesteps ``spikeloop versus`` prices by default
DEFAULT_TIMESTEPS: tuple[int, ...] = (1, 2, 4, 8, 16)
#: activation (and input) width of the ANN twin, bits
ANN_BITS = 8
#: how many growing terms the table and the report name
TOP_TERMS = 5
#: the networks of :func:`versus_rows`
ROW_NETWORKS: tuple[str, ...] = ("vgg9-cifar10", "vgg16-cifar10", "resnet18-cifar10")


# ------------------------------------------------------------------------------------------------ the twin
def ann_twin(network: Network, *, density: float = 1.0, bits: int = ANN_BITS) -> Network:
    """The ANN the SNN ``network`` stands in for: every layer with the same shape, kind and weights (width and
    density), one timestep (T = 1), ``bits``-wide inputs and outputs (``input_bits = output_bits = bits``) and a
    ReLU instead of the LIF neuron (no membrane U, no LIF updates); pool and add layers are kept as they are.
    Partial sums keep the SNN's width (``psum_bits``): the twin runs on the same datapaths.

    ``density`` is the fraction of non-zero ANN activations the PEs may skip, for every layer but the first (whose
    input is the image itself: density 1). Its default is 1.0: no zero-skipping is claimed for the ANN. ReLU
    outputs of trained CNNs are often 40-60 % zeros, but whether a given accelerator skips a zero 8-bit operand
    (a zero detector and a gated multiplier per PE) is a design choice the SNN archs here do not make for
    multi-bit operands; with 1.0 the comparison is the one most favourable to the SNN, and a user who has measured
    ReLU densities states them here (``--ann-density``).
    """
    if not 0.0 < density <= 1.0:
        raise ValueError(f"ann density: expected a number in (0, 1], got {density!r}")
    if isinstance(bits, bool) or not isinstance(bits, int) or bits < 2:
        raise ValueError(f"ann bits: expected an integer >= 2, got {bits!r}")
    one = network.with_timesteps(1)
    layers = tuple(
        replace(
            layer,
            input_bits=bits,
            output_bits=bits,
            activation=Activation.RELU,
            spike_density=1.0 if i == 0 else density,
            spike_density_per_t=None,
        )
        for i, layer in enumerate(one.layers)
    )
    return replace(
        one,
        name=f"{network.name}-ann",
        layers=layers,
        source=f"ANN twin of {network.name}: T = 1, {bits}-bit ReLU activations, activation density "
        f"{density:g} (spikeloop.versus.ann_twin)",
    )


# ------------------------------------------------------------------------------------------------ values
@dataclass(frozen=True, slots=True, kw_only=True)
class LayerLine:
    """One layer of one side: energy (pJ), latency share (s), EDP (pJ s), area share (mm^2), dense MACs and the
    executed operations (accumulates or multiply-accumulates)."""

    name: str
    kind: str
    energy_pj: float
    latency_s: float
    edp_pj_s: float
    area_mm2: float
    macs: float
    operations: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Side:
    """One priced network: the SNN at ``timesteps`` or the ANN twin (``timesteps`` 1). ``breakdown_pj``: energy by
    (level/tensor/action) term, the engine's labels."""

    label: str
    timesteps: int
    energy_pj: float
    latency_s: float
    edp_pj_s: float
    area_mm2: float
    cycles: float
    macs: float
    lif_ops: float
    breakdown_pj: tuple[tuple[str, float], ...]
    layers: tuple[LayerLine, ...]

    def term(self, label: str) -> float:
        return dict(self.breakdown_pj).get(label, 0.0)


class BreakEvenKind(StrEnum):
    """How the break-even T was found among the measured T."""

    EXACT = "exact"  # the SNN costs less at T - 1 (measured) and at least as much at T
    BRACKETED = "bracketed"  # less at t_low, at least as much at t_high > t_low + 1: an integer in (t_low, t_high]
    AT_OR_BELOW = "at-or-below"  # at least as much already at the smallest measured T (> 1), nothing measured below
    NONE = "none"  # less than the ANN at every measured T


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakEven:
    """The smallest T at which the SNN's energy reaches the ANN twin's.

    ``t_low``: the largest measured T below the crossing (SNN cheaper), ``t_high``: the smallest measured T at or
    above it. ``t_interpolated``: where the straight line between the two measured energies crosses the ANN's
    (BRACKETED only; energy is close to affine in T for a fixed mapping, but mappings may change with T, so it is
    an estimate and :meth:`text` says so). ``t_max``: the largest measured T.
    """

    kind: BreakEvenKind
    t_low: int | None
    t_high: int | None
    t_interpolated: float | None
    t_max: int

    @property
    def value(self) -> float | None:
        """One number for tables: the exact T, the interpolated T, the bracket's top (AT_OR_BELOW), or None."""
        if self.kind is BreakEvenKind.BRACKETED:
            return self.t_interpolated
        if self.kind is BreakEvenKind.NONE:
            return None
        return float(self.t_high) if self.t_high is not None else None

    def short(self) -> str:
        """A few words for titles."""
        if self.kind is BreakEvenKind.EXACT:
            return f"break-even T = {self.t_high}"
        if self.kind is BreakEvenKind.BRACKETED:
            return f"break-even T in ({self.t_low}, {self.t_high}], interpolated {self.t_interpolated:.1f}"
        if self.kind is BreakEvenKind.AT_OR_BELOW:
            return f"break-even T <= {self.t_high}"
        return f"no break-even up to T = {self.t_max}"

    def text(self) -> str:
        if self.kind is BreakEvenKind.EXACT:
            if self.t_low is None:
                return f"break-even T = {self.t_high}: the SNN costs at least the ANN already at T = {self.t_high}"
            return (
                f"break-even T = {self.t_high} (the SNN costs less at T = {self.t_low}, at least the ANN at "
                f"T = {self.t_high})"
            )
        if self.kind is BreakEvenKind.BRACKETED:
            assert self.t_interpolated is not None
            return (
                f"break-even T between {self.t_low} and {self.t_high}: the SNN costs less at T = {self.t_low}, "
                f"at least the ANN at T = {self.t_high}; linear interpolation T ~ {self.t_interpolated:.2f} "
                f"(an estimate: give -T with the integers between to pin it)"
            )
        if self.kind is BreakEvenKind.AT_OR_BELOW:
            return (
                f"break-even T <= {self.t_high}: the SNN costs at least the ANN at the smallest measured "
                f"T = {self.t_high}"
            )
        return f"break-even T: none up to T = {self.t_max} (the SNN costs less at every measured T)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "t_low": self.t_low,
            "t_high": self.t_high,
            "t_interpolated": self.t_interpolated,
            "t_max": self.t_max,
            "value": self.value,
            "text": self.text(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BreakEven:
        return cls(
            kind=BreakEvenKind(d["kind"]),
            t_low=d["t_low"],
            t_high=d["t_high"],
            t_interpolated=d["t_interpolated"],
            t_max=d["t_max"],
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TermSlope:
    """An energy term of the SNN and how it grows with T: the least-squares slope of its energy over the measured
    T (pJ per timestep), its share of the total slope, and its energy at the largest T."""

    term: str
    slope_pj_per_timestep: float
    share: float
    energy_at_t_max_pj: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Versus:
    """The SNN at every T of ``timesteps`` (``snn``, same order) against its ANN twin (``ann``) on one arch, one
    mapping source (``dataflow``) and one accounting profile. ``compute_prices``: what an accumulate and a
    multiply-accumulate cost on the arch, in words. ``growing``: every term with a positive slope, steepest
    first."""

    arch: str
    network: str
    dataflow: str
    profile: str
    ann_density: float
    ann_bits: int
    compute_prices: str
    timesteps: tuple[int, ...]
    snn: tuple[Side, ...]
    ann: Side
    break_even: BreakEven
    growing: tuple[TermSlope, ...]
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.snn) != len(self.timesteps):
            raise ValueError("versus: one SNN side per T")
        if not self.ann.energy_pj > 0:
            raise ValueError(
                f"versus: the ANN twin of {self.network} costs {self.ann.energy_pj} pJ on {self.arch}: "
                "no ratio to it can be formed"
            )
        bad = [
            f"{s.label} {k}"
            for s in (*self.snn, self.ann)
            for k, v in (
                ("energy", s.energy_pj),
                ("latency", s.latency_s),
                ("EDP", s.edp_pj_s),
                ("area", s.area_mm2),
                *s.breakdown_pj,
            )
            if not math.isfinite(v)
        ]
        if bad:
            raise ValueError(f"versus: non-finite numbers from the engine: {', '.join(bad[:4])}")

    def side(self, t: int) -> Side:
        return self.snn[self.timesteps.index(t)]

    def ratio(self, t: int) -> float:
        """SNN energy at T = t over the ANN's."""
        return self.side(t).energy_pj / self.ann.energy_pj

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON keys; :meth:`from_dict` reads them back."""
        return {
            "arch": self.arch,
            "network": self.network,
            "dataflow": self.dataflow,
            "profile": self.profile,
            "ann_density": self.ann_density,
            "ann_bits": self.ann_bits,
            "compute_prices": self.compute_prices,
            "T": list(self.timesteps),
            "snn": [_side_dict(s) for s in self.snn],
            "ann": _side_dict(self.ann),
            "ratio_snn_over_ann": {str(t): self.ratio(t) for t in self.timesteps},
            "break_even": self.break_even.to_dict(),
            "growing_terms": [_term_dict(g) for g in self.growing],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Versus:
        return cls(
            arch=d["arch"],
            network=d["network"],
            dataflow=d["dataflow"],
            profile=d["profile"],
            ann_density=float(d["ann_density"]),
            ann_bits=int(d["ann_bits"]),
            compute_prices=d["compute_prices"],
            timesteps=tuple(int(t) for t in d["T"]),
            snn=tuple(_side_from(s) for s in d["snn"]),
            ann=_side_from(d["ann"]),
            break_even=BreakEven.from_dict(d["break_even"]),
            growing=tuple(TermSlope(**g) for g in d["growing_terms"]),
            notes=tuple(d.get("notes", ())),
        )


def _side_dict(s: Side) -> dict[str, Any]:
    return {
        "label": s.label,
        "T": s.timesteps,
        "total_energy_pj": s.energy_pj,
        "latency_s": s.latency_s,
        "edp_pj_s": s.edp_pj_s,
        "area_mm2": s.area_mm2,
        "cycles": s.cycles,
        "macs": s.macs,
        "lif_ops": s.lif_ops,
        "breakdown_pj": dict(s.breakdown_pj),
        "layers": [
            {
                "name": lr.name,
                "kind": lr.kind,
                "energy_pj": lr.energy_pj,
                "latency_s": lr.latency_s,
                "edp_pj_s": lr.edp_pj_s,
                "area_mm2": lr.area_mm2,
                "macs": lr.macs,
                "operations": lr.operations,
            }
            for lr in s.layers
        ],
    }


def _side_from(d: dict[str, Any]) -> Side:
    return Side(
        label=d["label"],
        timesteps=int(d["T"]),
        energy_pj=d["total_energy_pj"],
        latency_s=d["latency_s"],
        edp_pj_s=d["edp_pj_s"],
        area_mm2=d["area_mm2"],
        cycles=d["cycles"],
        macs=d["macs"],
        lif_ops=d["lif_ops"],
        breakdown_pj=tuple(d["breakdown_pj"].items()),
        layers=tuple(LayerLine(**lr) for lr in d["layers"]),
    )


def _term_dict(g: TermSlope) -> dict[str, Any]:
    return {
        "term": g.term,
        "slope_pj_per_timestep": g.slope_pj_per_timestep,
        "share": g.share,
        "energy_at_t_max_pj": g.energy_at_t_max_pj,
    }


# ------------------------------------------------------------------------------------------------ analysis
def break_even(points: Sequence[tuple[int, float]], ann_pj: float) -> BreakEven:
    """The smallest T at which the SNN's energy ``E(T)`` (``points``: (T, pJ), any order, distinct T) reaches
    ``ann_pj``, from the measured points only: the first measured T (ascending) with ``E(T) >= ann_pj`` and the
    measured T before it. Between two measured T that are not neighbours the crossing is an integer in
    (t_low, t_high]; the straight line through the two energies gives an estimate, reported as such."""
    pts = sorted(points)
    if not pts:
        raise ValueError("break_even: no measured T")
    t_max = pts[-1][0]
    for i, (t, e) in enumerate(pts):
        if e < ann_pj:
            continue
        if i == 0:
            kind = BreakEvenKind.EXACT if t == 1 else BreakEvenKind.AT_OR_BELOW
            return BreakEven(kind=kind, t_low=None, t_high=t, t_interpolated=None, t_max=t_max)
        t0, e0 = pts[i - 1]
        if t - t0 == 1:
            return BreakEven(kind=BreakEvenKind.EXACT, t_low=t0, t_high=t, t_interpolated=None, t_max=t_max)
        interp = t0 + (ann_pj - e0) / (e - e0) * (t - t0)  # e > ann_pj > e0: the denominator is positive
        return BreakEven(kind=BreakEvenKind.BRACKETED, t_low=t0, t_high=t, t_interpolated=interp, t_max=t_max)
    return BreakEven(kind=BreakEvenKind.NONE, t_low=t_max, t_high=None, t_interpolated=None, t_max=t_max)


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys over xs (0 with fewer than two distinct xs)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def growing_terms(sides: Sequence[Side]) -> tuple[TermSlope, ...]:
    """Every (level/tensor/action) term of the SNN whose energy grows with T: its least-squares slope over the
    measured T (pJ per timestep), steepest first, with its share of the total energy's slope. Empty with fewer
    than two T."""
    if len({s.timesteps for s in sides}) < 2:
        return ()
    ts = [float(s.timesteps) for s in sides]
    labels = sorted({k for s in sides for k, _ in s.breakdown_pj})
    total = slope(ts, [s.energy_pj for s in sides])
    last = max(sides, key=lambda s: s.timesteps)
    out = []
    for lab in labels:
        b = slope(ts, [s.term(lab) for s in sides])
        if b > 0:
            out.append(
                TermSlope(
                    term=lab,
                    slope_pj_per_timestep=b,
                    share=b / total if total > 0 else 0.0,
                    energy_at_t_max_pj=last.term(lab),
                )
            )
    return tuple(sorted(out, key=lambda g: -g.slope_pj_per_timestep))


def side_of(result: NetworkResult, label: str) -> Side:
    """A :class:`Side` from the engine's network result."""
    tot = result.total
    layers = tuple(
        LayerLine(
            name=lr.name,
            kind=lr.kind.value,
            energy_pj=lr.cost.total_energy_pj,
            latency_s=lr.cost.latency_s,
            edp_pj_s=lr.cost.edp_pj_s,
            area_mm2=lr.area_um2 * 1e-6,
            macs=lr.cost.macs,
            operations=lr.cost.accumulations,
        )
        for lr in result.layers
    )
    return Side(
        label=label,
        timesteps=result.network.timesteps,
        energy_pj=tot.total_energy_pj,
        latency_s=tot.latency_s,
        edp_pj_s=tot.edp_pj_s,
        area_mm2=tot.area_mm2,
        cycles=tot.cycles,
        macs=tot.macs,
        lif_ops=tot.lif_ops,
        breakdown_pj=tuple(tot.breakdown_pj().items()),
        layers=layers,
    )


def compute_prices(arch: Arch, bits: int = ANN_BITS) -> str:
    """What an accumulate (a spike) and a multiply-accumulate (a ``bits``-bit activation) cost on ``arch``."""
    c = arch.compute
    if arch.crossbar is not None:
        return f"crossbar: a {bits}-bit input drives the rows bit-serially ({bits} row pulses and conversions)"
    if c.mac_pj is not None:
        return f"AC {c.ac_pj:g} pJ, MAC {c.mac_pj:g} pJ (compute.mac_pj)"
    if c.mac_bit_serial:
        return f"AC {c.ac_pj:g} pJ; MAC bit-serial: {bits} accumulates over {bits} steps"
    return f"AC {c.ac_pj:g} pJ; no MAC (compute.mac_pj absent)"


def versus(
    arch: Arch,
    network: Network,
    timesteps: Sequence[int] = DEFAULT_TIMESTEPS,
    *,
    dataflow: str | None = None,
    opts: Options | None = None,
    ann_density: float = 1.0,
    time_limit_s: float = 10.0,
    progress: Callable[[str], None] | None = None,
) -> Versus:
    """Price ``network`` at every T of ``timesteps`` and its :func:`ann_twin` once, each through
    :func:`spikeloop.engine.run_network` with the same mapping source (``dataflow``: a dataflow name, ``best``
    for CP-SAT per layer, or None for the arch's default) and accounting profile (``opts``)."""
    ts = tuple(sorted(set(timesteps)))
    if not ts or any(isinstance(t, bool) or not isinstance(t, int) or t < 1 for t in ts):
        raise ValueError(f"-T: expected positive integers, got {list(timesteps)!r}")
    twin = ann_twin(network, density=ann_density)
    _, acc = resolve(arch, opts)
    label = dataflow
    sides = []
    for t in ts:
        if progress:
            progress(f"SNN T={t}")
        net = network if t == network.timesteps else network.with_timesteps(t)
        res = run_network(arch, net, dataflow=dataflow, opts=opts, time_limit_s=time_limit_s)
        label = res.method
        sides.append(side_of(res, f"SNN T={t}"))
    if progress:
        progress("ANN")
    try:
        ann_res = run_network(arch, twin, dataflow=dataflow, opts=opts, time_limit_s=time_limit_s)
    except ValueError as exc:
        hint = ""
        if "capacity_bits" in str(exc) and label != "best":
            hint = (
                f" (its {ANN_BITS}-bit activations take {ANN_BITS}x a spike's storage and the {label} mapping "
                "does not shrink its tiles for them; --dataflow best searches mappings that fit)"
            )
        raise ValueError(f"the ANN twin ({ANN_BITS}-bit activations): {exc}{hint}") from None
    ann = side_of(ann_res, "ANN")
    be = break_even([(s.timesteps, s.energy_pj) for s in sides], ann.energy_pj)
    return Versus(
        arch=arch.name,
        network=network.name,
        dataflow=label or "",
        profile=acc.name,
        ann_density=ann_density,
        ann_bits=ANN_BITS,
        compute_prices=compute_prices(arch),
        timesteps=ts,
        snn=tuple(sides),
        ann=ann,
        break_even=be,
        growing=growing_terms(sides),
        notes=ann_notes(ann, acc.name),
    )


def ann_notes(ann: Side, profile: str) -> tuple[str, ...]:
    """What the ANN is charged for that an ANN chip might not have: the LIF units' static power (the twin runs on
    the SNN's chip, whose LIF units are clocked whatever runs) and LIF or membrane terms a profile charges per
    PE cycle rather than per neuron (the public SpikeSim script's constants)."""
    b = dict(ann.breakdown_pj)
    out = []
    if b.get("static/lif"):
        out.append(
            f"the ANN pays static/lif {_j(b['static/lif'])} ({100 * b['static/lif'] / ann.energy_pj:.1f} %): "
            "the chip's LIF units are clocked whatever runs"
        )
    neuron = {k: v for k, v in b.items() if (k == "compute/lif" or "/U/" in k) and v}
    if neuron:
        out.append(
            f"profile {profile} charges the ANN {', '.join(sorted(neuron))} ({_j(sum(neuron.values()))}): "
            "per-PE-cycle constants, not neurons; the native profile has none"
        )
    return tuple(out)


def run_versus(
    arch_name: str,
    network_name: str,
    timesteps: Sequence[int] = DEFAULT_TIMESTEPS,
    *,
    dataflow: str | None = None,
    opts: Options | None = None,
    ann_density: float = 1.0,
    time_limit_s: float = 10.0,
    progress: Callable[[str], None] | None = None,
) -> Versus:
    """The Python face of ``spikeloop versus``: shipped names or YAML files."""
    return versus(
        load_arch(arch_name),
        load_network(network_name),
        timesteps,
        dataflow=dataflow,
        opts=opts,
        ann_density=ann_density,
        time_limit_s=time_limit_s,
        progress=progress,
    )


# ------------------------------------------------------------------------------------------------ text
def _j(pj: float) -> str:
    return si(pj * 1e-12, "J")


def summary_table(v: Versus) -> str:
    rows = [
        [
            s.label,
            s.timesteps,
            _j(s.energy_pj),
            f"{s.energy_pj / v.ann.energy_pj:.3g}x",
            si(s.latency_s, "s"),
            si(s.edp_pj_s * 1e-12, "J·s"),
            f"{s.area_mm2:.3g} mm²",
        ]
        for s in (*v.snn, v.ann)
    ]
    return table(["side", "T", "energy", "vs ANN", "latency", "EDP", "area"], rows)


def growing_table(v: Versus, top: int = TOP_TERMS) -> str:
    if not v.growing:
        return "(one T measured: no slope)"
    rows = [
        [
            g.term,
            _j(g.slope_pj_per_timestep),
            f"{100 * g.share:.1f} %",
            _j(g.energy_at_t_max_pj),
            _j(v.ann.term(g.term)),
        ]
        for g in v.growing[:top]
    ]
    return table(["term", "slope per timestep", "share of slope", f"SNN at T={v.timesteps[-1]}", "ANN"], rows)


def layer_table(v: Versus, what: str = "energy") -> str:
    get, fmt = {
        "energy": (lambda lr: lr.energy_pj, _j),
        "latency": (lambda lr: lr.latency_s, lambda x: si(x, "s")),
        "EDP": (lambda lr: lr.edp_pj_s, lambda x: si(x * 1e-12, "J·s")),
    }[what]
    rows = []
    for i, lr in enumerate(v.ann.layers):
        rows.append([lr.name, lr.kind, *(fmt(get(s.layers[i])) for s in v.snn), fmt(get(lr))])
    return table(["layer", "kind", *(f"SNN T={t}" for t in v.timesteps), "ANN"], rows)


def render_text(v: Versus) -> str:
    """What the command prints: header, the summary table, the break-even T and the growing terms."""
    head = (
        f"{v.network} on {v.arch}: SNN vs its ANN twin ({v.ann_bits}-bit ReLU, T = 1, activation density "
        f"{v.ann_density:g}); mapping {v.dataflow}, profile {v.profile}; {v.compute_prices}"
    )
    parts = [
        head,
        "",
        summary_table(v),
        "",
        v.break_even.text(),
        *(f"note: {n}" for n in v.notes),
        "",
        f"terms that grow with T (SNN, least-squares slope over T = {', '.join(map(str, v.timesteps))}):",
        growing_table(v),
        "",
        "per-layer energy:",
        layer_table(v, "energy"),
    ]
    return "\n".join(parts) + "\n"


def render_markdown(v: Versus) -> str:
    parts = [
        f"# {v.network} on {v.arch}: the SNN against its ANN twin\n",
        f"ANN twin: same layer shapes and weights, T = 1, {v.ann_bits}-bit activations, ReLU, activation "
        f"density {v.ann_density:g}. Mapping: {v.dataflow}; profile: {v.profile}. Compute: "
        f"{v.compute_prices}.\n",
        summary_table(v),
        "",
        f"**{v.break_even.text()}**\n",
        *(f"- {n}" for n in v.notes),
        "\n## Terms that grow with T\n",
        growing_table(v),
        "\n## Per layer: energy\n",
        layer_table(v, "energy"),
        "\n## Per layer: latency\n",
        layer_table(v, "latency"),
        "\n## Per layer: EDP\n",
        layer_table(v, "EDP"),
    ]
    return "\n".join(parts) + "\n"


def summary_rows(v: Versus) -> list[dict[str, Any]]:
    return [
        {
            "side": "ANN" if s is v.ann else "SNN",
            "T": s.timesteps,
            "total_energy_pj": s.energy_pj,
            "ratio_to_ann": s.energy_pj / v.ann.energy_pj,
            "latency_s": s.latency_s,
            "edp_pj_s": s.edp_pj_s,
            "area_mm2": s.area_mm2,
            "cycles": s.cycles,
            "macs": s.macs,
            "lif_ops": s.lif_ops,
        }
        for s in (*v.snn, v.ann)
    ]


def layer_rows(v: Versus) -> list[dict[str, Any]]:
    return [
        {
            "side": "ANN" if s is v.ann else "SNN",
            "T": s.timesteps,
            "layer": lr.name,
            "kind": lr.kind,
            "energy_pj": lr.energy_pj,
            "latency_s": lr.latency_s,
            "edp_pj_s": lr.edp_pj_s,
            "area_mm2": lr.area_mm2,
            "macs": lr.macs,
            "operations": lr.operations,
        }
        for s in (*v.snn, v.ann)
        for lr in s.layers
    ]


# ------------------------------------------------------------------------------------------------ figure
#: terms drawn one by one in the stacked bars; the rest are summed as "other terms" (grey)
STACKED_TERMS = 6
OTHER_COLOR = "#BBBBBB"


def plot_versus(v: Versus) -> Figure:
    """Energy per inference of the SNN vs T as bars stacked by term (the largest terms at the largest T, the rest
    summed), the ANN twin as a horizontal line; beside it the EDP of both."""
    from spikeloop.figures import PALETTE, _figure, energy_unit, integer_ticks, label, plain_log_axis, styled

    @styled
    def draw() -> Figure:
        last = v.snn[-1]
        terms = [k for k, _ in sorted(last.breakdown_pj, key=lambda kv: -kv[1])[:STACKED_TERMS]]
        scale, unit = energy_unit([*(s.energy_pj for s in v.snn), v.ann.energy_pj], "pJ")
        fig, (ax, ax2) = _figure(2, width=11.5, height=4.6)
        xs = list(range(len(v.snn)))
        bottom = [0.0] * len(xs)
        stacks = [(t, [s.term(t) for s in v.snn], PALETTE[k]) for k, t in enumerate(terms)]
        stacks.append(("other terms", [s.energy_pj - sum(s.term(t) for t in terms) for s in v.snn], OTHER_COLOR))
        for name, vals, color in stacks:
            ys = [x * scale for x in vals]
            if name == "other terms" and max(ys) <= 1e-9 * max(s.energy_pj * scale for s in v.snn):
                continue
            ax.bar(xs, ys, 0.6, bottom=bottom, color=color, label=f"SNN: {name}")
            bottom = [b + y for b, y in zip(bottom, ys, strict=True)]
        ax.axhline(
            v.ann.energy_pj * scale,
            color="#000000",
            linestyle="--",
            linewidth=1.2,
            label=f"ANN twin ({v.ann_bits}-bit, T = 1)",
        )
        ax.set_xticks(xs, [str(t) for t in v.timesteps])
        ax.set_xlabel("timesteps T")
        ax.set_ylabel(label("energy per inference", unit))
        ax.set_title(f"Energy by term: {v.break_even.short()}")
        ax.legend(loc="upper left", fontsize=7.5)
        ts = list(v.timesteps)
        edps = [s.edp_pj_s for s in v.snn]
        escale, eunit = energy_unit([*edps, v.ann.edp_pj_s], "pJ", smallest=True)
        ax2.plot(ts, [e * escale for e in edps], marker="o", color=PALETTE[0], label="SNN")
        ax2.axhline(v.ann.edp_pj_s * escale, color="#000000", linestyle="--", linewidth=1.2, label="ANN twin")
        if len(ts) > 1:
            ax2.set_xscale("log", base=2)
        integer_ticks(ax2.xaxis, ts)
        ax2.set_yscale("log")
        plain_log_axis(ax2.yaxis)
        ax2.set_xlabel("timesteps T")
        ax2.set_ylabel(label("energy-delay product", f"{eunit}·s"))
        ax2.set_title("Energy-delay product")
        ax2.legend(loc="upper left")
        fig.suptitle(f"{v.network} on {v.arch} ({v.dataflow}, {v.profile}): SNN vs ANN twin")
        return fig

    return draw()


# ------------------------------------------------------------------------------------------------ files
def _write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def write_json(v: Versus, path: Path) -> Path:
    path.write_text(json.dumps(v.to_dict(), indent=1) + "\n")
    return path


def write_versus(v: Versus, out: Path) -> list[Path]:
    """versus.md, versus.csv (per side and T), versus_layers.csv (per layer), versus.json and versus.png."""
    from spikeloop.figures import save

    out.mkdir(parents=True, exist_ok=True)
    md = out / "versus.md"
    md.write_text(render_markdown(v))
    paths = [md, _write_csv(out / "versus.csv", summary_rows(v)), _write_csv(out / "versus_layers.csv", layer_rows(v))]
    paths.append(write_json(v, out / "versus.json"))
    png = out / "versus.png"
    save(plot_versus(v), png)
    return [*paths, png]


# ------------------------------------------------------------------------------------------------ report rows
def versus_rows(
    arch: Arch | str = "sata",
    networks: Sequence[str] = ROW_NETWORKS,
    timesteps: Sequence[int] = DEFAULT_TIMESTEPS,
    *,
    dataflow: str | None = None,
) -> list[Row]:
    """Rows for ``spikeloop reproduce``: per network, the break-even T (ours only: the paper states none), the
    SNN / ANN energy ratio at the largest T beside the paper's claim that an SNN with 16 timesteps can cost up to
    16x its ANN on a systolic array (the paper cites SpinalFlow for it: an upper bound across workloads, not a
    SATA measurement; stated only where the largest T is 16), and the ANN twin's energy."""
    a = load_arch(arch) if isinstance(arch, str) else arch
    t_max = max(timesteps)
    out: list[Row] = []
    for net in networks:
        v = versus(a, load_network(net), timesteps, dataflow=dataflow)
        short = v.network.split("-")[0]
        cmd = f"spikeloop versus --arch {a.name} --network {net} -T {','.join(map(str, v.timesteps))}"
        if dataflow:
            cmd += f" --dataflow {dataflow}"
        be = v.break_even
        be_value = be.value
        note = be.text() + f"; {v.dataflow}, ANN density {v.ann_density:g}"
        if be_value is None:  # no crossing measured: the row states the largest T checked, the note says so
            be_value = float(t_max)
            note = f"lower bound: {note}"
        out.append(
            Row(
                id=f"versus-{a.name}-{short}-breakeven-T",
                paper=None,
                ours=float(be_value),
                unit="T",
                note=note,
                command=cmd,
            )
        )
        ratio = v.ratio(t_max)
        claim = "paper: up to 16x at T = 16 on a systolic array (SpinalFlow, cited), an upper bound"
        top = v.growing[0].term if v.growing else "-"
        out.append(
            Row(
                id=f"versus-{a.name}-{short}-ratio-T{t_max}",
                paper=16.0 if t_max == 16 else None,
                ours=ratio,
                unit="x",
                note=(
                    f"SNN T={t_max} / ANN energy; {claim if t_max == 16 else 'no paper value at this T'}; "
                    f"steepest growing term {top}"
                ),
                command=cmd,
            )
        )
        out.append(
            Row(
                id=f"versus-{a.name}-{short}-ann-energy",
                paper=None,
                ours=v.ann.energy_pj * 1e-3,
                unit="nJ",
                note=f"ANN twin ({v.ann_bits}-bit ReLU, T = 1, density {v.ann_density:g}); {v.compute_prices}",
                command=cmd,
                parts=((f"snn_T{v.timesteps[0]}_nJ", v.snn[0].energy_pj * 1e-3),),
            )
        )
    return out


__all__ = [
    "ANN_BITS",
    "DEFAULT_TIMESTEPS",
    "BreakEven",
    "BreakEvenKind",
    "LayerLine",
    "Side",
    "TermSlope",
    "Versus",
    "ann_twin",
    "break_even",
    "growing_terms",
    "plot_versus",
    "render_markdown",
    "render_text",
    "run_versus",
    "versus",
    "versus_rows",
    "write_json",
    "write_versus",
]
