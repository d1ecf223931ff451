"""Value types of the component-estimation layer: classes, specs, results and input validation.

A *component* is one physical block whose per-action energy, leakage and area an estimator
derives from a handful of attributes (an SRAM of ``capacity_bits`` organised in words of
``width_bits``, an ADC of ``bits`` at ``rate_hz``, ...). The loader hands an ``estimate:``
mapping from a level spec to :func:`costmodel.components.estimate`; every bad attribute raises a
:class:`ComponentInputError` (a ``ValueError``) whose one-line message starts with the attribute
name, so the loader can prefix the YAML key path (``levels[1].estimate.capacity_bits: ...``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

#: Calibrated technology range in nm: the nodes of CACTI 7's ITRS tables (22, 32, 45, 65, 90 nm).
#: No estimate is extrapolated outside it.
TECHNOLOGY_RANGE_NM: tuple[float, float] = (22.0, 90.0)


class ComponentClass(StrEnum):
    """The closed set of component classes an estimator knows."""

    SRAM = "sram"  # on-chip SRAM buffer (CACTI-style)
    REGFILE = "regfile"  # flip-flop register file / scratchpad inside a PE
    DRAM = "dram"  # off-chip main memory, per-bit interface energy
    ADC = "adc"  # column analog-to-digital converter
    CROSSBAR = "crossbar"  # resistive (RRAM) crossbar array, cells only


class Backend(StrEnum):
    """Which estimator produces the numbers."""

    BUILTIN = "builtin"  # the calibrated closed-form models of this package
    HWCOMPONENTS = "hwcomponents"  # the optional hwcomponents plug-in library (Python >= 3.12)


class DramKind(StrEnum):
    """Which published per-bit DRAM energy a ``dram`` component uses."""

    CACTI_DDR3 = "cacti-ddr3"  # CACTI-7 main-memory model of a DDR3 die: array + internal datapath, no IO
    LPDDR4 = "lpddr4"  # LPDDR4 including its interface (Accelergy's 32 nm LPDDR4 table entry)


class ComponentInputError(ValueError):
    """A bad estimator attribute. ``str(err)`` is one line: ``"<attribute>: <rule>, got <value>"``."""

    def __init__(self, attribute: str, message: str) -> None:
        super().__init__(f"{attribute}: {message}")
        self.attribute = attribute


# ---------------------------------------------------------------------------------------------
# Attribute validation: one function per rule, each naming the attribute and the offending value


def _shown(value: object) -> str:
    """How a rejected value is printed: YAML-like for strings, repr otherwise."""
    return repr(value) if isinstance(value, str) else str(value)


def positive_int(attribute: str, value: object, *, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` as an int in [minimum, maximum]; integral finite floats (``1.0e6``) are accepted, bools are not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ComponentInputError(attribute, f"expected an integer, got {_shown(value)}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ComponentInputError(attribute, f"expected a finite integer, got {value}")
        if not value.is_integer():
            raise ComponentInputError(attribute, f"expected an integer, got {value}")
        value = int(value)
    if value < minimum:
        rule = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ComponentInputError(attribute, f"expected {rule}, got {value}")
    if maximum is not None and value > maximum:
        raise ComponentInputError(attribute, f"expected an integer <= {maximum}, got {value}")
    return value


def positive_float(attribute: str, value: object, *, maximum: float | None = None, allow_zero: bool = False) -> float:
    """``value`` as a finite float > 0 (>= 0 with ``allow_zero``) and <= ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ComponentInputError(attribute, f"expected a number, got {_shown(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise ComponentInputError(attribute, f"expected a finite number, got {number}")
    if number < 0.0 or (number == 0.0 and not allow_zero):
        rule = "a number >= 0" if allow_zero else "a positive number"
        raise ComponentInputError(attribute, f"expected {rule}, got {_shown(value)}")
    if maximum is not None and number > maximum:
        raise ComponentInputError(attribute, f"expected a number <= {maximum:g}, got {_shown(value)}")
    return number


def technology_nm(value: object, attribute: str = "technology_nm") -> float:
    """A node in nm inside :data:`TECHNOLOGY_RANGE_NM`; outside it the models are not calibrated."""
    node = positive_float(attribute, value)
    low, high = TECHNOLOGY_RANGE_NM
    if not low <= node <= high:
        raise ComponentInputError(attribute, f"outside the calibrated range {low:g}-{high:g} nm, got {_shown(value)}")
    return node


def within(attribute: str, value: int, low: int, high: int, hint: str = "") -> int:
    """Reject an integer outside the calibrated range [low, high] of a model."""
    if not low <= value <= high:
        extra = f" ({hint})" if hint else ""
        raise ComponentInputError(attribute, f"outside the calibrated range {low}-{high}{extra}, got {value}")
    return value


# ---------------------------------------------------------------------------------------------
# Specs: one frozen value per class, built by costmodel.components.parse_spec from a mapping


@dataclass(frozen=True, slots=True, kw_only=True)
class SramSpec:
    """On-chip SRAM macro: ``capacity_bits`` in ``banks`` banks, ``width_bits`` per access.

    ``ports`` 1 is one read-write port, 2 is one read plus one write port (a dual-port buffer).
    ``macros`` identical macros make up the component: leakage and area are multiplied by it,
    an access touches one macro (e.g. SATA's separate ifmap and ofmap buffers as one level).
    ``capacity_bits`` is per macro.
    """

    capacity_bits: int
    width_bits: int
    banks: int = 1
    ports: int = 1
    macros: int = 1
    technology_nm: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RegfileSpec:
    """Flip-flop register file of ``capacity_bits`` read and written ``width_bits`` at a time.

    ``clock_gated`` false means every register is clocked every cycle (SATA's "ungated"
    scratchpads): its clock energy is reported as ``clock_pj_per_cycle``.
    """

    capacity_bits: int
    width_bits: int
    banks: int = 1
    ports: int = 1
    clock_gated: bool = True
    technology_nm: float


@dataclass(frozen=True, slots=True, kw_only=True)
class DramSpec:
    """Off-chip DRAM accessed ``width_bits`` at a time; per-bit energy of the chosen ``kind``."""

    width_bits: int
    kind: DramKind = DramKind.CACTI_DDR3
    capacity_bits: int | None = None
    banks: int = 1
    ports: int = 1
    technology_nm: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AdcSpec:
    """An ADC of ``bits`` effective bits converting ``rate_hz`` samples per second."""

    bits: int
    rate_hz: float
    technology_nm: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CrossbarSpec:
    """A ``rows`` x ``columns`` resistive crossbar (cells only: drivers and ADCs are separate parts).

    One read step drives ``row_activity`` x ``rows`` rows at ``read_voltage_v`` for
    ``read_time_ns`` and senses every column; cells average ``(g_min_us + g_max_us) / 2``.
    """

    rows: int
    columns: int
    bits_per_cell: int = 1
    technology_nm: float
    read_voltage_v: float = 0.1
    g_min_us: float = 5.0
    g_max_us: float = 50.0
    read_time_ns: float = 10.0
    row_activity: float = 1.0
    cell_area_f2: float = 4.0


ComponentSpec = SramSpec | RegfileSpec | DramSpec | AdcSpec | CrossbarSpec


# ---------------------------------------------------------------------------------------------
# The result


@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentEstimate:
    """Per-action energies, static power and area of one component instance.

    Per-action energies are in pJ per word of ``width_bits`` (memories), per conversion (adc: in
    ``read_pj``) or per read step (crossbar: in ``read_pj``); ``update_pj`` is a read-modify-write
    (read + write). ``leakage_mw`` is static power; ``clock_pj_per_cycle`` is dynamic energy spent
    every clock cycle whether or not the component is accessed (ungated registers), zero otherwise.
    ``inputs`` are the normalised attributes the numbers were computed from, so a stored result
    can be reproduced; ``source`` names the model and its calibration.
    """

    component_class: ComponentClass
    read_pj: float
    write_pj: float
    update_pj: float
    leakage_mw: float
    area_um2: float
    clock_pj_per_cycle: float = 0.0
    backend: Backend = Backend.BUILTIN
    source: str
    inputs: tuple[tuple[str, Any], ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = field(default_factory=tuple)

    def static_pj_per_cycle(self, clock_hz: float) -> float:
        """Static energy per clock cycle at ``clock_hz``: leakage x period + ungated clock energy (pJ)."""
        return leakage_pj_per_cycle(self.leakage_mw, clock_hz) + self.clock_pj_per_cycle

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (enums as their values); :meth:`from_dict` inverts it."""
        return {
            "class": self.component_class.value,
            "backend": self.backend.value,
            "read_pj": self.read_pj,
            "write_pj": self.write_pj,
            "update_pj": self.update_pj,
            "leakage_mw": self.leakage_mw,
            "clock_pj_per_cycle": self.clock_pj_per_cycle,
            "area_um2": self.area_um2,
            "source": self.source,
            "inputs": {key: value for key, value in self.inputs},
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ComponentEstimate:
        """Rebuild an estimate stored with :meth:`to_dict` (e.g. from a result JSON)."""
        return cls(
            component_class=ComponentClass(data["class"]),
            backend=Backend(data["backend"]),
            read_pj=float(data["read_pj"]),
            write_pj=float(data["write_pj"]),
            update_pj=float(data["update_pj"]),
            leakage_mw=float(data["leakage_mw"]),
            clock_pj_per_cycle=float(data["clock_pj_per_cycle"]),
            area_um2=float(data["area_um2"]),
            source=str(data["source"]),
            inputs=tuple(dict(data["inputs"]).items()),
            notes=tuple(str(note) for note in data["notes"]),
        )


def leakage_pj_per_cycle(leakage_mw: float, clock_hz: float) -> float:
    """E_leak = P_leak / f_clk: leakage energy per clock cycle in pJ.

    ``leakage_mw`` P_leak in mW, ``clock_hz`` f_clk in Hz; 1 mW over 2.5 ns (400 MHz) is 2.5 pJ,
    so E [pJ] = P [mW] x 1e9 / f [Hz].
    """
    clock = positive_float("clock_hz", clock_hz)
    return leakage_mw * 1.0e9 / clock
