"""The component-estimation layer (costmodel.components): hand-computed cases, the issue's
acceptance (capacity doubling, 28 -> 65 nm), monotonicity, calibration points, bad inputs, the
optional hwcomponents backend and the estimate: YAML variants."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from costmodel.components import (
    Backend,
    BackendUnavailableError,
    ComponentClass,
    ComponentEstimate,
    ComponentInputError,
    analog,
    estimate,
    hwcomponents_available,
    leakage_pj_per_cycle,
    memory,
    parse_spec,
    technology,
    with_level_defaults,
)
from costmodel.components.calibration import all_points, error_pct
from costmodel.components.calibration_data import CACTI_RUNS

REPO = Path(__file__).resolve().parents[1]
VARIANTS = REPO / "archspecs" / "variants"


def sram(**overrides: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "class": "sram",
        "capacity_bits": 262144,
        "width_bits": 256,
        "banks": 2,
        "ports": 2,
        "technology_nm": 28,
    }
    attributes.update(overrides)
    return attributes


# ---------------------------------------------------------------------------------------------
# Hand-computed cases


def test_leakage_per_cycle_is_power_times_period() -> None:
    # SATA's 144 KB GLB: 24.909 mW over a 2.5 ns cycle is 62.2725 pJ (its shipped spec value)
    assert leakage_pj_per_cycle(24.909, 4.0e8) == pytest.approx(62.2725)
    est = estimate(
        {"class": "regfile", "capacity_bits": 72, "width_bits": 8, "clock_gated": False, "technology_nm": 28}
    )
    assert est.static_pj_per_cycle(4.0e8) == pytest.approx(est.leakage_mw * 2.5 + est.clock_pj_per_cycle)


def test_sram_power_law_at_its_reference_point_is_the_coefficient() -> None:
    # C = 1 Mib, w = 64 b, 1 bank, 1 port, 32 nm: every factor is 1
    est = estimate(sram(capacity_bits=2**20, width_bits=64, banks=1, ports=1, technology_nm=32))
    assert est.read_pj == pytest.approx(memory.SRAM_READ_PJ.coefficient)
    assert est.write_pj == pytest.approx(memory.SRAM_WRITE_PJ.coefficient)
    assert est.leakage_mw == pytest.approx(memory.SRAM_LEAKAGE_MW.coefficient)
    assert est.area_um2 == pytest.approx(memory.SRAM_AREA_UM2.coefficient)
    assert est.update_pj == pytest.approx(est.read_pj + est.write_pj)


def test_sram_macros_multiply_leakage_and_area_only() -> None:
    one, two = estimate(sram()), estimate(sram(macros=2))
    assert two.read_pj == one.read_pj and two.write_pj == one.write_pj
    assert two.leakage_mw == pytest.approx(2 * one.leakage_mw)
    assert two.area_um2 == pytest.approx(2 * one.area_um2)


def test_regfile_by_hand() -> None:
    # 9-byte SPAD at 28 nm: 72 bits x 4.294 um^2, 72 x 2.506 nW, 72 x 0.003922 pJ per cycle when ungated
    est = estimate(
        {"class": "regfile", "capacity_bits": 72, "width_bits": 8, "clock_gated": False, "technology_nm": 28}
    )
    assert est.area_um2 == pytest.approx(72 * 4.294)
    assert est.leakage_mw == pytest.approx(72 * 2.506e-6)
    assert est.clock_pj_per_cycle == pytest.approx(72 * 0.003922)
    # 16-bit words, depth 16, 32 nm: read = 16 (0.005476 + 0.0006175 x 16) pJ
    est32 = estimate({"class": "regfile", "capacity_bits": 256, "width_bits": 16, "technology_nm": 32})
    assert est32.read_pj == pytest.approx(16 * (0.005476 + 0.0006175 * 16))
    assert est32.clock_pj_per_cycle == 0.0  # clock-gated by default


def test_dram_by_hand() -> None:
    est = estimate({"class": "dram", "width_bits": 1024, "technology_nm": 32})
    assert est.read_pj == pytest.approx(468.76) and est.write_pj == pytest.approx(468.76)
    assert est.update_pj == pytest.approx(937.52)
    assert est.leakage_mw == 0.0 and est.area_um2 == 0.0
    assert estimate({"class": "dram", "kind": "lpddr4", "width_bits": 64, "technology_nm": 45}).read_pj == 512.0


def test_crossbar_by_hand() -> None:
    # 64 x 64 cells, 0.1 V, G = (5 + 50) / 2 = 27.5 uS, 10 ns: 4096 x 0.01 x 27.5e-6 x 1e-8 J = 11.264 pJ
    est = estimate({"class": "crossbar", "rows": 64, "columns": 64, "bits_per_cell": 4, "technology_nm": 40})
    assert est.read_pj == pytest.approx(11.264)
    assert est.area_um2 == pytest.approx(26.2144)  # 64^2 x 4 x (0.04 um)^2, SpikeSim's constant
    half = estimate({"class": "crossbar", "rows": 64, "columns": 64, "row_activity": 0.5, "technology_nm": 40})
    assert half.read_pj == pytest.approx(11.264 / 2)


def test_adc_figures_of_merit_by_hand() -> None:
    assert analog.adc_sndr_db(4) == pytest.approx(25.84)
    assert analog.adc_walden_pj(4) == pytest.approx(8.99e-3 * 16)
    # at FOM_S, SNDR equal to FOM_S gives P / f_s = 1/2 J: check the 10-dB-per-decade slope instead
    assert analog.adc_schreier_pj(12) / analog.adc_schreier_pj(11) == pytest.approx(10**0.602)
    assert analog.adc_rate_penalty(analog.ADC_CORNER_RATE_HZ) == pytest.approx(2.0)
    expected = (analog.adc_walden_pj(6) + analog.adc_schreier_pj(6)) * (1 + 1.0e6 / analog.ADC_CORNER_RATE_HZ)
    est = estimate({"class": "adc", "bits": 6, "rate_hz": 1.0e6, "technology_nm": 65})
    assert est.read_pj == pytest.approx(expected)


def test_node_table_interpolates_in_log_log() -> None:
    table = technology.SRAM_AREA_NODE
    for node, factor in zip(table.nodes_nm, table.factors, strict=True):
        assert technology.table_factor(table, node) == pytest.approx(factor)
    middle = math.sqrt(32.0 * 45.0)  # geometric midpoint: geometric mean of the two factors
    assert technology.table_factor(table, middle) == pytest.approx(math.sqrt(1.0 * table.factors[2]))


# ---------------------------------------------------------------------------------------------
# Acceptance of issue 18


def _cacti_doubling_ratios(column: int) -> list[float]:
    runs = {row[:5]: row[5:] for row in CACTI_RUNS}
    return [
        runs[(2 * key[0], *key[1:])][column] / values[column]
        for key, values in runs.items()
        if key[4] == 32.0 and (2 * key[0], *key[1:]) in runs
    ]


@pytest.mark.parametrize(
    ("quantity", "column", "documented"),
    [("read_pj", 0, 1.4715), ("write_pj", 1, 1.4489), ("leakage_mw", 2, 1.9165), ("area_um2", 3, 1.9265)],
)
def test_doubling_sram_capacity_raises_cost_within_the_fit(quantity: str, column: int, documented: float) -> None:
    small, large = estimate(sram()), estimate(sram(capacity_bits=2 * 262144))
    ratio = getattr(large, quantity) / getattr(small, quantity)
    assert ratio == pytest.approx(documented, rel=1e-3)  # the factor docs/components.md states
    assert ratio > 1.0
    observed = sorted(_cacti_doubling_ratios(column))  # what CACTI does when capacity doubles
    deciles = statistics.quantiles(observed, n=10)
    assert deciles[0] <= ratio <= deciles[-1], (ratio, deciles[0], deciles[-1])


@pytest.mark.parametrize(
    ("quantity", "documented"),
    [("read_pj", 4.836), ("write_pj", 4.836), ("leakage_mw", 0.2217), ("area_um2", 5.028)],
)
def test_28_to_65_nm_scales_as_documented(quantity: str, documented: float) -> None:
    at28, at65 = estimate(sram(technology_nm=28)), estimate(sram(technology_nm=65))
    assert getattr(at65, quantity) / getattr(at28, quantity) == pytest.approx(documented, rel=1e-3)


def test_28_to_65_nm_regfile_uses_the_same_tables() -> None:
    spec = {"class": "regfile", "capacity_bits": 72, "width_bits": 8, "clock_gated": False}
    at28, at65 = estimate({**spec, "technology_nm": 28}), estimate({**spec, "technology_nm": 65})
    assert at65.area_um2 / at28.area_um2 == pytest.approx(5.028, rel=1e-3)
    assert at65.clock_pj_per_cycle / at28.clock_pj_per_cycle == pytest.approx(4.836, rel=1e-3)


# ---------------------------------------------------------------------------------------------
# Monotonicity (documented in docs/components.md)

NODES = st.sampled_from([22, 28, 32, 40, 45, 55, 65, 90])


def _sram_or_none(capacity: int, width: int, banks: int, ports: int, node: int) -> ComponentEstimate | None:
    try:
        return estimate(sram(capacity_bits=capacity, width_bits=width, banks=banks, ports=ports, technology_nm=node))
    except ComponentInputError:
        return None


def _no_less(a: ComponentEstimate, b: ComponentEstimate) -> bool:
    """Every cost of b is >= the same cost of a."""
    return all(
        getattr(b, name) >= getattr(a, name) * (1 - 1e-12)
        for name in ("read_pj", "write_pj", "update_pj", "leakage_mw", "area_um2")
    )


@settings(max_examples=60, deadline=None)
@given(
    capacity=st.integers(2**14, 2**23),
    grow=st.integers(1, 2**22),
    width=st.sampled_from([8, 16, 32, 64, 128, 256, 512]),
    banks=st.integers(1, 4),
    ports=st.integers(1, 2),
    node=NODES,
)
def test_sram_cost_never_falls_with_capacity(
    capacity: int, grow: int, width: int, banks: int, ports: int, node: int
) -> None:
    small, large = (
        _sram_or_none(capacity, width, banks, ports, node),
        _sram_or_none(capacity + grow, width, banks, ports, node),
    )
    assume(small is not None and large is not None)
    assert small is not None and large is not None
    assert _no_less(small, large)


@settings(max_examples=60, deadline=None)
@given(
    capacity=st.integers(2**14, 2**23),
    width=st.integers(8, 256),
    wider=st.integers(1, 256),
    banks=st.integers(1, 4),
    more_banks=st.integers(0, 3),
    ports=st.integers(1, 2),
    more_ports=st.integers(0, 1),
    node=NODES,
)
def test_sram_cost_never_falls_with_width_banks_ports(
    capacity: int, width: int, wider: int, banks: int, more_banks: int, ports: int, more_ports: int, node: int
) -> None:
    base = _sram_or_none(capacity, width, banks, ports, node)
    bigger = _sram_or_none(
        capacity, min(width + wider, 512), min(banks + more_banks, 4), min(ports + more_ports, 2), node
    )
    assume(base is not None and bigger is not None)
    assert base is not None and bigger is not None
    assert _no_less(base, bigger)


@settings(max_examples=60, deadline=None)
@given(width=st.integers(1, 64), depth=st.integers(1, 128), extra=st.integers(1, 128), node=NODES)
def test_regfile_cost_never_falls_with_capacity(width: int, depth: int, extra: int, node: int) -> None:
    def rf(words: int) -> ComponentEstimate | None:
        try:
            return estimate(
                {
                    "class": "regfile",
                    "capacity_bits": width * words,
                    "width_bits": width,
                    "clock_gated": False,
                    "technology_nm": node,
                }
            )
        except ComponentInputError:
            return None

    small, large = rf(depth), rf(depth + extra)
    assume(small is not None and large is not None)
    assert small is not None and large is not None
    assert _no_less(small, large) and large.clock_pj_per_cycle >= small.clock_pj_per_cycle


@settings(max_examples=60, deadline=None)
@given(
    bits=st.integers(3, 14),
    more_bits=st.integers(0, 11),
    rate=st.floats(1.0e3, 1.0e10),
    faster=st.floats(1.0, 1.0e7),
    node=NODES,
)
def test_adc_cost_never_falls_with_bits_or_rate(
    bits: int, more_bits: int, rate: float, faster: float, node: int
) -> None:
    base = estimate({"class": "adc", "bits": bits, "rate_hz": rate, "technology_nm": node})
    bigger = estimate(
        {
            "class": "adc",
            "bits": min(bits + more_bits, 14),
            "rate_hz": min(rate * faster, 1.0e10),
            "technology_nm": node,
        }
    )
    assert bigger.read_pj >= base.read_pj and bigger.area_um2 >= base.area_um2


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 512), columns=st.integers(1, 512), more=st.integers(0, 512), node=NODES)
def test_crossbar_cost_grows_with_its_sides(rows: int, columns: int, more: int, node: int) -> None:
    base = estimate({"class": "crossbar", "rows": rows, "columns": columns, "technology_nm": node})
    taller = estimate({"class": "crossbar", "rows": rows + more, "columns": columns, "technology_nm": node})
    wider = estimate({"class": "crossbar", "rows": rows, "columns": columns + more, "technology_nm": node})
    for other in (taller, wider):
        assert other.read_pj >= base.read_pj and other.area_um2 >= base.area_um2


def test_sram_energy_and_area_grow_with_node() -> None:
    # documented: energy and area grow monotonically from 22 to 90 nm; leakage does not (ITRS-LOP devices)
    costs = [estimate(sram(technology_nm=node)) for node in (22, 28, 32, 45, 65, 90)]
    for small, large in zip(costs, costs[1:], strict=False):
        assert large.read_pj > small.read_pj and large.area_um2 > small.area_um2
    leakage = [c.leakage_mw for c in costs]
    assert min(leakage) == leakage[3]  # lowest at 45 nm


# ---------------------------------------------------------------------------------------------
# Calibration points


@pytest.mark.parametrize("point", all_points(), ids=lambda p: f"{p.name}/{p.quantity.value}")
def test_calibration_point_within_stated_error(point: Any) -> None:
    assert abs(error_pct(point)) <= point.bound_pct


def test_calibration_covers_every_class() -> None:
    classes = {parse_spec(point.attributes).__class__.__name__ for point in all_points()}
    assert classes == {"SramSpec", "RegfileSpec", "DramSpec", "AdcSpec", "CrossbarSpec"}


# ---------------------------------------------------------------------------------------------
# Bad inputs: one line, starting with the attribute, naming the value


@pytest.mark.parametrize(
    ("attributes", "attribute", "shown"),
    [
        ({"class": "sram2", "capacity_bits": 8192}, "class", "'sram2'"),
        ({"capacity_bits": 8192}, "class", "missing"),
        (sram(capacity_bits=0), "capacity_bits", "0"),
        (sram(capacity_bits=-5), "capacity_bits", "-5"),
        (sram(capacity_bits=float("nan")), "capacity_bits", "nan"),
        (sram(capacity_bits=float("inf")), "capacity_bits", "inf"),
        (sram(capacity_bits="lots"), "capacity_bits", "'lots'"),
        (sram(capacity_bits=True), "capacity_bits", "True"),
        (sram(capacity_bits=2**30), "capacity_bits", str(2**30)),
        (sram(capacity_bits=16384, width_bits=512, banks=2), "capacity_bits", "16384"),
        (sram(width_bits=64.5), "width_bits", "64.5"),
        (sram(width_bits=4), "width_bits", "4"),
        (sram(banks=0), "banks", "0"),
        (sram(ports=3), "ports", "3"),
        (sram(technology_nm=130), "technology_nm", "130"),
        (sram(technology_nm=7), "technology_nm", "7"),
        (sram(technology_nm=float("nan")), "technology_nm", "nan"),
        (sram(colour="red"), "colour", "unknown attribute"),
        ({"class": "sram", "width_bits": 64, "technology_nm": 28}, "capacity_bits", "missing"),
        ({"class": "regfile", "capacity_bits": 72, "width_bits": 8, "ports": 2, "technology_nm": 28}, "ports", "2"),
        (
            {"class": "regfile", "capacity_bits": 72, "width_bits": 8, "clock_gated": "no", "technology_nm": 28},
            "clock_gated",
            "'no'",
        ),
        ({"class": "regfile", "capacity_bits": 65536, "width_bits": 8, "technology_nm": 28}, "capacity_bits", "65536"),
        ({"class": "dram", "width_bits": 64, "kind": "ddr9", "technology_nm": 28}, "kind", "'ddr9'"),
        ({"class": "adc", "bits": 2, "rate_hz": 1e8, "technology_nm": 28}, "bits", "2"),
        ({"class": "adc", "bits": 6, "rate_hz": float("inf"), "technology_nm": 28}, "rate_hz", "inf"),
        ({"class": "adc", "bits": 6, "rate_hz": 1e12, "technology_nm": 28}, "rate_hz", "1e+12"),
        ({"class": "crossbar", "rows": 64, "columns": 0, "technology_nm": 40}, "columns", "0"),
        ({"class": "crossbar", "rows": 64, "columns": 64, "g_min_us": 60, "technology_nm": 40}, "g_max_us", "50"),
        (
            {"class": "crossbar", "rows": 64, "columns": 64, "row_activity": 1.5, "technology_nm": 40},
            "row_activity",
            "1.5",
        ),
    ],
)
def test_bad_input_names_the_attribute(attributes: dict[str, Any], attribute: str, shown: str) -> None:
    with pytest.raises(ComponentInputError) as info:
        estimate(attributes)
    error: ComponentInputError = info.value
    message = str(error)
    assert error.attribute == attribute
    assert isinstance(error, ValueError)  # the loader catches ValueError
    assert "\n" not in message
    assert message.startswith(f"{attribute}: "), message
    assert shown in message, message


def test_unknown_backend_names_backend() -> None:
    with pytest.raises(ComponentInputError, match=r"^backend: .*'cacti9'"):
        estimate(sram(), backend="cacti9")


# ---------------------------------------------------------------------------------------------
# Results are reproducible values


def test_estimate_round_trips_through_json() -> None:
    for attributes in (
        sram(),
        {"class": "regfile", "capacity_bits": 72, "width_bits": 8, "technology_nm": 28},
        {"class": "dram", "kind": "lpddr4", "width_bits": 64, "technology_nm": 32},
        {"class": "adc", "bits": 4, "rate_hz": 7.7e7, "technology_nm": 65},
        {"class": "crossbar", "rows": 64, "columns": 64, "technology_nm": 65},
    ):
        est = estimate(attributes)
        stored = json.loads(json.dumps(est.to_dict()))
        assert ComponentEstimate.from_dict(stored) == est
        assert stored["class"] == attributes["class"] and stored["backend"] == "builtin"
        again = estimate({"class": stored["class"], **stored["inputs"]})  # the stored inputs reproduce it
        assert again == est


def test_estimate_is_frozen_and_deterministic() -> None:
    est = estimate(sram())
    with pytest.raises(AttributeError):
        est.read_pj = 0.0  # type: ignore[misc]
    assert estimate(sram()) == est
    assert est.component_class is ComponentClass.SRAM


# ---------------------------------------------------------------------------------------------
# Optional hwcomponents backend: exercised where installed, never a failure where not


@pytest.mark.skipif(hwcomponents_available(), reason="hwcomponents is installed here")
def test_hwcomponents_absent_is_a_clear_error() -> None:
    with pytest.raises(BackendUnavailableError, match="Python >= 3.12"):
        estimate(sram(), backend="hwcomponents")


@pytest.mark.skipif(not hwcomponents_available(), reason="hwcomponents not installed (needs Python >= 3.12)")
def test_hwcomponents_backend_estimates_an_sram() -> None:
    try:
        est = estimate(sram(ports=1), backend=Backend.HWCOMPONENTS)
    except BackendUnavailableError as exc:  # e.g. its CACTI executable was not compiled
        pytest.skip(str(exc))
    assert est.backend is Backend.HWCOMPONENTS
    assert est.read_pj > 0 and est.write_pj > 0 and est.area_um2 > 0
    with pytest.raises(BackendUnavailableError):
        estimate({"class": "crossbar", "rows": 64, "columns": 64, "technology_nm": 65}, backend="hwcomponents")


# ---------------------------------------------------------------------------------------------
# The estimate: YAML variant and its example grid (through the arch loader: tests/test_estimated_levels.py)


def test_sata_estimate_variant_blocks_all_estimate() -> None:
    data = yaml.safe_load((VARIANTS / "sata-estimate.yaml").read_text())
    blocks = {
        level["name"]: with_level_defaults(
            level["estimate"],
            capacity_bits=level["capacity_bits"],
            word_bits=level["word_bits"],
            technology_nm=data["technology_nm"],
        )
        for level in data["levels"]
        if "estimate" in level
    }
    assert set(blocks) == {"DRAM", "GLB-W", "GLB-A", "SPAD-A", "SPAD-W"}
    for name, block in blocks.items():
        est = estimate(block)
        assert est.area_um2 >= 0 and est.read_pj > 0, name
    for level in data["levels"]:
        if "estimate" in level:  # the estimate replaces the numbers it produces
            assert not {"energy_pj", "static_pj_per_cycle", "area_um2"} & set(level), level["name"]


def test_sata_estimate_grid_sweeps_buffer_array_and_t() -> None:
    grid = yaml.safe_load((REPO / "archspecs" / "grids" / "sata-estimate.yaml").read_text())
    assert grid["archs"] == ["../variants/sata-estimate.yaml"]
    capacities = grid["overrides"]["levels[GLB-W].capacity_bits"]
    assert len(capacities) >= 2 and len(grid["overrides"]["levels[GLB-A].fanout"]) >= 2 and len(grid["T"]) >= 2
    arch = yaml.safe_load((VARIANTS / "sata-estimate.yaml").read_text())
    glb = next(level for level in arch["levels"] if level["name"] == "GLB-W")
    areas = [
        estimate(
            with_level_defaults(
                glb["estimate"], capacity_bits=c, word_bits=glb["word_bits"], technology_nm=arch["technology_nm"]
            )
        ).area_um2
        for c in capacities
    ]
    assert areas == sorted(areas) and len(set(areas)) == len(areas)  # area grows with the swept capacity


def test_variants_stay_out_of_the_shipped_arch_glob() -> None:
    shipped = {path.name for path in (REPO / "archspecs").glob("*.yaml")}
    assert "sata-estimate.yaml" not in shipped
