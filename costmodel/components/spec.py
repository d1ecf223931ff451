"""Strict parsing of an ``estimate:`` mapping into a typed spec (costmodel.components.model).

Rules: ``class`` is required and names a :class:`ComponentClass`; every other key must be an
attribute of that class (unknown keys are errors, no synonyms); numbers are finite, integers are
integral, and each model's calibrated range is enforced. Every failure is a one-line
:class:`ComponentInputError` naming the attribute and the offending value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from costmodel.components.model import (
    AdcSpec,
    ComponentClass,
    ComponentInputError,
    ComponentSpec,
    CrossbarSpec,
    DramKind,
    DramSpec,
    RegfileSpec,
    SramSpec,
    positive_float,
    positive_int,
    technology_nm,
    within,
)

#: Calibrated ranges (inclusive) of the built-in models; docs/components.md says where they come from.
SRAM_CAPACITY_BITS_RANGE = (2**14, 2**23)  # 2 KiB - 1 MiB per macro (the CACTI sweep)
SRAM_WIDTH_BITS_RANGE = (8, 512)
SRAM_BANKS_RANGE = (1, 4)
SRAM_PORTS_RANGE = (1, 2)
SRAM_MIN_WORDS_PER_BANK = 128
REGFILE_CAPACITY_BITS_RANGE = (4, 8192)
REGFILE_WIDTH_BITS_RANGE = (1, 64)
REGFILE_MAX_WORDS_PER_BANK = 256
DRAM_WIDTH_BITS_RANGE = (8, 4096)
ADC_BITS_RANGE = (3, 14)  # effective bits covered by the survey's 22-90 nm converters
ADC_RATE_HZ_RANGE = (1.0e3, 1.0e10)
CROSSBAR_SIDE_RANGE = (1, 1024)
CROSSBAR_BITS_PER_CELL_RANGE = (1, 8)

_ATTRIBUTES: dict[ComponentClass, tuple[frozenset[str], frozenset[str]]] = {
    # class: (required, optional)
    ComponentClass.SRAM: (
        frozenset({"capacity_bits", "width_bits", "technology_nm"}),
        frozenset({"banks", "ports", "macros"}),
    ),
    ComponentClass.REGFILE: (
        frozenset({"capacity_bits", "width_bits", "technology_nm"}),
        frozenset({"banks", "ports", "clock_gated"}),
    ),
    ComponentClass.DRAM: (
        frozenset({"width_bits", "technology_nm"}),
        frozenset({"kind", "capacity_bits", "banks", "ports"}),
    ),
    ComponentClass.ADC: (frozenset({"bits", "rate_hz", "technology_nm"}), frozenset()),
    ComponentClass.CROSSBAR: (
        frozenset({"rows", "columns", "technology_nm"}),
        frozenset(
            {
                "bits_per_cell",
                "read_voltage_v",
                "g_min_us",
                "g_max_us",
                "read_time_ns",
                "row_activity",
                "cell_area_f2",
            }
        ),
    ),
}


def component_class(value: object) -> ComponentClass:
    """The :class:`ComponentClass` spelled ``value`` (its YAML value), or an error naming ``class``."""
    names = ", ".join(member.value for member in ComponentClass)
    if isinstance(value, ComponentClass):
        return value
    if not isinstance(value, str):
        raise ComponentInputError("class", f"expected one of {names}, got {value!r}")
    try:
        return ComponentClass(value)
    except ValueError:
        raise ComponentInputError("class", f"unknown component class, expected one of {names}, got {value!r}") from None


def parse_spec(attributes: Mapping[str, Any]) -> ComponentSpec:
    """A validated spec from an ``estimate:`` mapping (``{"class": "sram", "capacity_bits": ...}``)."""
    if not isinstance(attributes, Mapping):
        raise ComponentInputError("estimate", f"expected a mapping of attributes, got {type(attributes).__name__}")
    if "class" not in attributes:
        raise ComponentInputError("class", "missing (one of sram, regfile, dram, adc, crossbar)")
    kind = component_class(attributes["class"])
    required, optional = _ATTRIBUTES[kind]
    given = {key: value for key, value in attributes.items() if key != "class"}
    for key in given:
        if not isinstance(key, str) or key not in required | optional:
            allowed = ", ".join(sorted(required | optional))
            raise ComponentInputError(str(key), f"unknown attribute of class {kind.value} (expected {allowed})")
    for key in sorted(required):
        if key not in given:
            raise ComponentInputError(key, f"missing (required for class {kind.value})")
    if kind is ComponentClass.SRAM:
        return _sram(given)
    if kind is ComponentClass.REGFILE:
        return _regfile(given)
    if kind is ComponentClass.DRAM:
        return _dram(given)
    if kind is ComponentClass.ADC:
        return _adc(given)
    return _crossbar(given)


def _ranged_int(attribute: str, value: object, bounds: tuple[int, int], hint: str = "") -> int:
    return within(attribute, positive_int(attribute, value), bounds[0], bounds[1], hint)


def _sram(given: Mapping[str, Any]) -> SramSpec:
    capacity = _ranged_int("capacity_bits", given["capacity_bits"], SRAM_CAPACITY_BITS_RANGE, "bits per macro")
    width = _ranged_int("width_bits", given["width_bits"], SRAM_WIDTH_BITS_RANGE)
    banks = _ranged_int("banks", given.get("banks", 1), SRAM_BANKS_RANGE)
    ports = _ranged_int("ports", given.get("ports", 1), SRAM_PORTS_RANGE, "1: read-write, 2: read + write")
    macros = positive_int("macros", given.get("macros", 1))
    node = technology_nm(given["technology_nm"])
    words = capacity // (width * banks)
    if words < SRAM_MIN_WORDS_PER_BANK:
        raise ComponentInputError(
            "capacity_bits",
            f"{words} words of {width} bits per bank is below the sram model's calibrated "
            f"{SRAM_MIN_WORDS_PER_BANK} (use class regfile for small arrays), got {capacity}",
        )
    return SramSpec(
        capacity_bits=capacity, width_bits=width, banks=banks, ports=ports, macros=macros, technology_nm=node
    )


def _regfile(given: Mapping[str, Any]) -> RegfileSpec:
    capacity = _ranged_int("capacity_bits", given["capacity_bits"], REGFILE_CAPACITY_BITS_RANGE)
    width = _ranged_int("width_bits", given["width_bits"], REGFILE_WIDTH_BITS_RANGE)
    banks = positive_int("banks", given.get("banks", 1))
    ports = within("ports", positive_int("ports", given.get("ports", 1)), 1, 1, "one port: no multi-port data")
    gated = given.get("clock_gated", True)
    if not isinstance(gated, bool):
        raise ComponentInputError("clock_gated", f"expected true or false, got {gated!r}")
    node = technology_nm(given["technology_nm"])
    if width * banks > capacity:
        raise ComponentInputError(
            "width_bits", f"{banks} bank(s) of {width}-bit words exceed capacity_bits {capacity}, got {width}"
        )
    depth = capacity / (width * banks)
    if depth > REGFILE_MAX_WORDS_PER_BANK:
        raise ComponentInputError(
            "capacity_bits",
            f"{depth:g} words per bank is above the regfile model's calibrated {REGFILE_MAX_WORDS_PER_BANK} "
            f"(use class sram), got {capacity}",
        )
    return RegfileSpec(
        capacity_bits=capacity, width_bits=width, banks=banks, ports=ports, clock_gated=gated, technology_nm=node
    )


def _dram(given: Mapping[str, Any]) -> DramSpec:
    width = _ranged_int("width_bits", given["width_bits"], DRAM_WIDTH_BITS_RANGE)
    raw_kind = given.get("kind", DramKind.CACTI_DDR3.value)
    try:
        kind = DramKind(raw_kind)
    except ValueError:
        names = ", ".join(member.value for member in DramKind)
        raise ComponentInputError("kind", f"expected one of {names}, got {raw_kind!r}") from None
    capacity = given.get("capacity_bits")
    return DramSpec(
        width_bits=width,
        kind=kind,
        capacity_bits=None if capacity is None else positive_int("capacity_bits", capacity),
        banks=positive_int("banks", given.get("banks", 1)),
        ports=positive_int("ports", given.get("ports", 1)),
        technology_nm=technology_nm(given["technology_nm"]),
    )


def _adc(given: Mapping[str, Any]) -> AdcSpec:
    bits = _ranged_int("bits", given["bits"], ADC_BITS_RANGE, "effective bits")
    rate = positive_float("rate_hz", given["rate_hz"])
    low, high = ADC_RATE_HZ_RANGE
    if not low <= rate <= high:
        raise ComponentInputError("rate_hz", f"outside the calibrated range {low:g}-{high:g} Hz, got {rate:g}")
    return AdcSpec(bits=bits, rate_hz=rate, technology_nm=technology_nm(given["technology_nm"]))


def _crossbar(given: Mapping[str, Any]) -> CrossbarSpec:
    g_min = positive_float("g_min_us", given.get("g_min_us", 5.0))
    g_max = positive_float("g_max_us", given.get("g_max_us", 50.0))
    if g_max < g_min:
        raise ComponentInputError("g_max_us", f"expected >= g_min_us ({g_min:g}), got {g_max:g}")
    cell = positive_float("cell_area_f2", given.get("cell_area_f2", 4.0))
    if cell < 4.0:
        raise ComponentInputError("cell_area_f2", f"expected >= 4 (the smallest cross-point cell), got {cell:g}")
    return CrossbarSpec(
        rows=_ranged_int("rows", given["rows"], CROSSBAR_SIDE_RANGE),
        columns=_ranged_int("columns", given["columns"], CROSSBAR_SIDE_RANGE),
        bits_per_cell=_ranged_int("bits_per_cell", given.get("bits_per_cell", 1), CROSSBAR_BITS_PER_CELL_RANGE),
        technology_nm=technology_nm(given["technology_nm"]),
        read_voltage_v=positive_float("read_voltage_v", given.get("read_voltage_v", 0.1), maximum=2.0),
        g_min_us=g_min,
        g_max_us=g_max,
        read_time_ns=positive_float("read_time_ns", given.get("read_time_ns", 10.0)),
        row_activity=positive_float("row_activity", given.get("row_activity", 1.0), maximum=1.0, allow_zero=True),
        cell_area_f2=cell,
    )


def with_level_defaults(
    block: Mapping[str, Any],
    *,
    capacity_bits: int | None = None,
    word_bits: int | None = None,
    technology_nm: float | None = None,
) -> dict[str, Any]:
    """The ``estimate:`` block of a level with the attributes it leaves out taken from the level.

    The loader's contract (docs/components.md, "YAML"): an sram or regfile block without
    ``capacity_bits`` takes the level's ``capacity_bits`` (divided by ``macros`` for an sram), a
    memory block without ``width_bits`` takes the level's ``word_bits``, and any block without
    ``technology_nm`` takes the arch's. So a sweep over ``levels[X].capacity_bits`` moves the
    estimate with it. Explicit block values win; nothing is validated here (:func:`parse_spec` does).
    """
    filled = dict(block)
    kind = filled.get("class")
    memories = (ComponentClass.SRAM.value, ComponentClass.REGFILE.value)
    if kind in memories and "capacity_bits" not in filled and capacity_bits is not None:
        macros = filled.get("macros", 1) if kind == ComponentClass.SRAM.value else 1
        whole = isinstance(macros, int) and not isinstance(macros, bool) and macros > 0
        filled["capacity_bits"] = capacity_bits // macros if whole else capacity_bits
    if kind in (*memories, ComponentClass.DRAM.value) and "width_bits" not in filled and word_bits is not None:
        filled["width_bits"] = word_bits
    if "technology_nm" not in filled and technology_nm is not None:
        filled["technology_nm"] = technology_nm
    return filled
