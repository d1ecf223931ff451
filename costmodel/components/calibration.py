"""Calibration points of the built-in models: reference values with their public sources, the
estimate for each, and the error bound docs/components.md states (tests check every point).

``python -m costmodel.components.calibration`` prints the tables of docs/components.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from costmodel.components import estimate
from costmodel.components.calibration_data import CACTI_RUNS
from costmodel.components.model import ComponentEstimate


class Quantity(StrEnum):
    """Which number of an estimate a calibration point checks."""

    READ_PJ = "read_pj"
    WRITE_PJ = "write_pj"
    LEAKAGE_MW = "leakage_mw"
    AREA_UM2 = "area_um2"
    CLOCK_PJ_PER_CYCLE = "clock_pj_per_cycle"


@dataclass(frozen=True, slots=True, kw_only=True)
class CalibrationPoint:
    """A published reference value of one quantity of one component, and the stated error bound."""

    name: str
    source: str
    attributes: Mapping[str, Any]
    quantity: Quantity
    reference: float
    bound_pct: float  # |estimate / reference - 1| <= bound_pct / 100 (stated in docs/components.md)


def value(result: ComponentEstimate, quantity: Quantity) -> float:
    """The number of ``result`` that ``quantity`` names."""
    return float(getattr(result, quantity.value))


def estimate_of(point: CalibrationPoint) -> float:
    """The built-in model's value for the point."""
    return value(estimate(point.attributes), point.quantity)


def error_pct(point: CalibrationPoint) -> float:
    """100 (estimate / reference - 1): signed relative error in percent."""
    return 100.0 * (estimate_of(point) / point.reference - 1.0)


# ---------------------------------------------------------------------------------------------
# SRAM

SATA = "SATA_Sim CACTI-7 run (RuokaiYin/SATA_Sim, cacti/sram-config), 28 nm"
CACTI_SWEEP = "CACTI 7 run, costmodel/components/calibration_data.py"

#: Stated bounds of the SRAM fit over every CACTI run in the calibrated domain (all nodes), percent.
SRAM_BOUND_PCT: dict[Quantity, float] = {
    Quantity.READ_PJ: 85.0,
    Quantity.WRITE_PJ: 65.0,
    Quantity.LEAKAGE_MW: 70.0,
    Quantity.AREA_UM2: 60.0,
}
#: Tighter bounds stated for SATA's two published CACTI buffers at 28 nm, percent.
SATA_BOUND_PCT = 30.0


def _sram_attributes(capacity_bits: int, width_bits: int, banks: int, ports: int, node_nm: float) -> dict[str, Any]:
    return {
        "class": "sram",
        "capacity_bits": capacity_bits,
        "width_bits": width_bits,
        "banks": banks,
        "ports": ports,
        "technology_nm": node_nm,
    }


def sata_sram_points() -> tuple[CalibrationPoint, ...]:
    """SATA's GLBs: 32 KB and 144 KB, 2 banks, 32-B words, 1 read + 1 write port, 28 nm, itrs-lop.

    SATA's tool reports the leakage of one bank (6.259 / 24.909 mW); the whole buffer leaks twice that.
    """
    table = (
        ("SATA GLB-ifmap/ofmap 32 KB", 262144, 11.0295, 12.772, 2 * 6.25862, 411.099 * 300.5),
        ("SATA GLB-weight 144 KB", 1179648, 28.6315, 28.2197, 2 * 24.9086, 902.4 * 582.666),
    )
    points = []
    for name, capacity, read, write, leak, area in table:
        attributes = _sram_attributes(capacity, 256, 2, 2, 28.0)
        for quantity, reference in (
            (Quantity.READ_PJ, read),
            (Quantity.WRITE_PJ, write),
            (Quantity.LEAKAGE_MW, leak),
            (Quantity.AREA_UM2, area),
        ):
            points.append(
                CalibrationPoint(
                    name=name,
                    source=SATA,
                    attributes=attributes,
                    quantity=quantity,
                    reference=reference,
                    bound_pct=SATA_BOUND_PCT,
                )
            )
    return tuple(points)


def cacti_sweep_points() -> Iterator[CalibrationPoint]:
    """Every CACTI 7 run of the sweep, four quantities each."""
    for capacity, width, banks, ports, node, read, write, leak, area in CACTI_RUNS:
        attributes = _sram_attributes(capacity, width, banks, ports, node)
        name = f"{capacity // 8192} KiB x{width} b, {banks} bank(s), {ports} port(s), {node:g} nm"
        for quantity, reference in (
            (Quantity.READ_PJ, read),
            (Quantity.WRITE_PJ, write),
            (Quantity.LEAKAGE_MW, leak),
            (Quantity.AREA_UM2, area),
        ):
            yield CalibrationPoint(
                name=name,
                source=CACTI_SWEEP,
                attributes=attributes,
                quantity=quantity,
                reference=reference,
                bound_pct=SRAM_BOUND_PCT[quantity],
            )


# ---------------------------------------------------------------------------------------------
# Register files

SATA_HW = "SATA hw_kernels.py synthesis table (RuokaiYin/SATA_Sim, inference-energy-cal), 400 MHz"
ACCELERGY_RF = (
    "Accelergy 32 nm register-file energies of the eyeriss_like architecture "
    "(Accelergy-Project/timeloop-accelergy-exercises), as priced by timeloop-model v3.0.3"
)
REGFILE_CELL_BOUND_PCT = 3.0
REGFILE_ACCESS_BOUND_PCT = 3.0


def regfile_points() -> tuple[CalibrationPoint, ...]:
    """Per-bit area, leakage and ungated clock energy (SATA, 28 nm) and access energy (Accelergy, 32 nm)."""
    points: list[CalibrationPoint] = []
    # (name, bits, dynamic power mW at 400 MHz, leakage uW, area um^2)
    for name, bits, power_mw, leak_uw, area in (
        ("register 4 b", 4, 0.00637, 0.010, 17.5),
        ("register 8 b", 8, 0.01249, 0.020, 34.3),
        ("register 16 b", 16, 0.02511, 0.040, 68.0),
        ("register file 9 B", 72, 0.1124, 0.181, 308.0),
        ("register file 8 B", 64, 0.0999, 0.161, 274.0),
    ):
        attributes = {
            "class": "regfile",
            "capacity_bits": bits,
            "width_bits": 4 if bits == 4 else 8,
            "clock_gated": False,
            "technology_nm": 28.0,
        }
        for quantity, reference in (
            (Quantity.AREA_UM2, area),
            (Quantity.LEAKAGE_MW, leak_uw * 1.0e-3),
            (Quantity.CLOCK_PJ_PER_CYCLE, power_mw * 2.5),  # mW x 2.5 ns = pJ per cycle
        ):
            points.append(
                CalibrationPoint(
                    name=name,
                    source=SATA_HW,
                    attributes=attributes,
                    quantity=quantity,
                    reference=reference,
                    bound_pct=REGFILE_CELL_BOUND_PCT,
                )
            )
    for name, depth, read, write in (
        ("ifmap_spad 12 x 16 b", 12, 0.2024, 0.1767),
        ("psum_spad 16 x 16 b", 16, 0.2513, 0.2191),
        ("weights_spad 192 x 16 b", 192, 1.9766, 1.8817),
    ):
        attributes = {"class": "regfile", "capacity_bits": depth * 16, "width_bits": 16, "technology_nm": 32.0}
        for quantity, reference in ((Quantity.READ_PJ, read), (Quantity.WRITE_PJ, write)):
            points.append(
                CalibrationPoint(
                    name=name,
                    source=ACCELERGY_RF,
                    attributes=attributes,
                    quantity=quantity,
                    reference=reference,
                    bound_pct=REGFILE_ACCESS_BOUND_PCT,
                )
            )
    return tuple(points)


# ---------------------------------------------------------------------------------------------
# DRAM, ADC, crossbar


def dram_points() -> tuple[CalibrationPoint, ...]:
    """The two per-bit DRAM energies are taken as published, so they reproduce exactly."""
    return (
        CalibrationPoint(
            name="DRAM 512 MB, 16 banks, 128-B burst, 32 nm",
            source="SATA_Sim CACTI-7 main-memory run (RuokaiYin/SATA_Sim, cacti/dram-config)",
            attributes={"class": "dram", "kind": "cacti-ddr3", "width_bits": 1024, "technology_nm": 32},
            quantity=Quantity.READ_PJ,
            reference=468.762,
            bound_pct=0.1,
        ),
        CalibrationPoint(
            name="LPDDR4, 64-bit access",
            source="Accelergy LPDDR4 table entry (Accelergy-Project/timeloop-accelergy-exercises, eyeriss_like)",
            attributes={"class": "dram", "kind": "lpddr4", "width_bits": 64, "technology_nm": 32},
            quantity=Quantity.READ_PJ,
            reference=512.0,
            bound_pct=0.1,
        ),
    )


SURVEY = "Murmann, ADC Performance Survey 1997-2023 (github bmurmann/ADC-survey), designs at 22-90 nm"
#: Stated bounds of the ADC fit on the survey's bin medians, percent.
ADC_ENERGY_BOUND_PCT = 110.0
ADC_AREA_BOUND_PCT = 160.0

#: Survey bins (22-90 nm designs): ENOB range, slow (< 100 MS/s) or fast, count, and the medians
#: (ENOB, rate, node, energy per conversion, area); medians of log values for the last four.
SURVEY_BINS: tuple[tuple[str, int, float, float, float, float, float], ...] = (
    ("ENOB 3-5, >= 100 MS/s", 18, 4.39, 8.66e09, 65, 7.318, 2.121e05),
    ("ENOB 5-7, >= 100 MS/s", 21, 5.85, 2.4e09, 40, 5, 2.5e04),
    ("ENOB 7-9, < 100 MS/s", 14, 8.59, 3.36e06, 65, 2.505, 5.672e04),
    ("ENOB 7-9, >= 100 MS/s", 15, 7.85, 2.6e09, 40, 12, 1.8e05),
    ("ENOB 9-11, < 100 MS/s", 16, 9.8, 8.76e06, 65, 9.425, 4.799e04),
    ("ENOB 9-11, >= 100 MS/s", 22, 9.94, 2.93e08, 28, 14.97, 6.04e04),
    ("ENOB 11-13, < 100 MS/s", 19, 11.62, 2e07, 55, 67.2, 5.3e04),
    ("ENOB 11-13, >= 100 MS/s", 14, 12.13, 2.83e08, 28, 36.04, 3.674e04),
    ("ENOB 13-16, < 100 MS/s", 10, 14.03, 2.83e06, 40, 756.9, 6.719e04),
)


def adc_points() -> tuple[CalibrationPoint, ...]:
    """One energy and one area point per survey bin, at the bin's median ENOB (rounded), rate and node."""
    points: list[CalibrationPoint] = []
    for name, _count, enob, rate_hz, node_nm, energy_pj, area_um2 in SURVEY_BINS:
        attributes = {"class": "adc", "bits": round(enob), "rate_hz": rate_hz, "technology_nm": node_nm}
        points.append(
            CalibrationPoint(
                name=name,
                source=SURVEY,
                attributes=attributes,
                quantity=Quantity.READ_PJ,
                reference=energy_pj,
                bound_pct=ADC_ENERGY_BOUND_PCT,
            )
        )
        points.append(
            CalibrationPoint(
                name=name,
                source=SURVEY,
                attributes=attributes,
                quantity=Quantity.AREA_UM2,
                reference=area_um2,
                bound_pct=ADC_AREA_BOUND_PCT,
            )
        )
    return tuple(points)


def crossbar_points() -> tuple[CalibrationPoint, ...]:
    """SpikeSim's 64 x 64 RRAM crossbar area, 64^2 x 4F^2 with F = 40 nm (its ELA constant)."""
    return (
        CalibrationPoint(
            name="SpikeSim 64 x 64 RRAM crossbar",
            source="SpikeSim ELA constant xbar_ar (Intelligent-Computing-Lab-Yale/SpikeSim)",
            attributes={"class": "crossbar", "rows": 64, "columns": 64, "bits_per_cell": 4, "technology_nm": 40},
            quantity=Quantity.AREA_UM2,
            reference=26.2144,
            bound_pct=0.1,
        ),
    )


def all_points() -> tuple[CalibrationPoint, ...]:
    """Every calibration point of every class."""
    return (
        sata_sram_points()
        + tuple(cacti_sweep_points())
        + regfile_points()
        + dram_points()
        + adc_points()
        + crossbar_points()
    )


def summary(points: tuple[CalibrationPoint, ...]) -> dict[Quantity, tuple[int, float, float]]:
    """Per quantity: (count, max |error| %, rms error %)."""
    grouped: dict[Quantity, list[float]] = {}
    for point in points:
        grouped.setdefault(point.quantity, []).append(error_pct(point))
    return {
        quantity: (len(errors), max(abs(e) for e in errors), math.sqrt(sum(e * e for e in errors) / len(errors)))
        for quantity, errors in grouped.items()
    }


#: Short tags of the sources, as docs/components.md cites them.
SOURCE_TAGS: dict[str, str] = {SATA: "[S1]", CACTI_SWEEP: "[C1]", SATA_HW: "[S2]", ACCELERGY_RF: "[A1]", SURVEY: "[M1]"}


def markdown_rows(points: tuple[CalibrationPoint, ...]) -> list[str]:
    """``| point | quantity | source | reference | estimate | error % |`` rows."""
    return [
        f"| {p.name} | {p.quantity.value} | {SOURCE_TAGS.get(p.source, p.source)} | {p.reference:.4g} | "
        f"{estimate_of(p):.4g} | {error_pct(p):+.1f} |"
        for p in points
    ]


def main() -> None:
    """Print the calibration tables and the sweep summary (the source of docs/components.md's tables)."""
    header = ["| point | quantity | source | reference | estimate | error % |", "|---|---|---|---|---|---|"]
    for title, points in (
        ("SATA SRAM", sata_sram_points()),
        ("register files", regfile_points()),
        ("DRAM", dram_points()),
        ("ADC survey bins", adc_points()),
        ("crossbar", crossbar_points()),
    ):
        print(f"\n### {title}\n")
        print("\n".join(header + markdown_rows(points)))
    sweep = tuple(cacti_sweep_points())
    print("\n### CACTI sweep\n")
    print("| quantity | runs | max abs error % | rms error % |\n|---|---|---|---|")
    for quantity, (count, worst, rms) in summary(sweep).items():
        print(f"| {quantity.value} | {count} | {worst:.1f} | {rms:.1f} |")


if __name__ == "__main__":
    main()
