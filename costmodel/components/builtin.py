"""The built-in estimator: one function per component class, spec in, :class:`ComponentEstimate` out."""

from __future__ import annotations

from dataclasses import fields
from enum import Enum
from typing import Any

from costmodel.components import analog, memory
from costmodel.components.model import (
    AdcSpec,
    Backend,
    ComponentClass,
    ComponentEstimate,
    ComponentSpec,
    CrossbarSpec,
    DramSpec,
    RegfileSpec,
    SramSpec,
)

#: Version of the built-in models; bumped whenever a constant or an equation changes, and stored
#: in every estimate's ``source`` so a result JSON says which calibration produced it.
MODEL_VERSION = "1"


def spec_inputs(spec: ComponentSpec) -> tuple[tuple[str, Any], ...]:
    """The spec's attributes as JSON-ready (name, value) pairs, enums as their values."""
    pairs: list[tuple[str, Any]] = []
    for item in fields(spec):
        value = getattr(spec, item.name)
        pairs.append((item.name, value.value if isinstance(value, Enum) else value))
    return tuple(pairs)


def estimate_sram(spec: SramSpec) -> ComponentEstimate:
    """CACTI-fitted power laws in capacity, width, banks and ports, scaled to the node."""
    args = (spec.capacity_bits, spec.width_bits, spec.banks, spec.ports, spec.technology_nm)
    read = memory.sram_read_pj(*args)
    write = memory.sram_write_pj(*args)
    return ComponentEstimate(
        component_class=ComponentClass.SRAM,
        read_pj=read,
        write_pj=write,
        update_pj=read + write,
        leakage_mw=memory.sram_leakage_mw(*args) * spec.macros,
        area_um2=memory.sram_area_um2(*args) * spec.macros,
        source=f"spikeloop builtin v{MODEL_VERSION}: sram power law fitted to a CACTI 7 sweep (32 nm, itrs-lop)",
        inputs=spec_inputs(spec),
        notes=("per access of one macro; leakage and area of all macros",),
    )


def estimate_regfile(spec: RegfileSpec) -> ComponentEstimate:
    """Flip-flop register file: area, leakage and clock energy per bit; access energy linear in depth."""
    depth = memory.regfile_depth_words(spec.capacity_bits, spec.width_bits, spec.banks)
    read = memory.regfile_access_pj(
        spec.width_bits,
        depth,
        memory.REGFILE_READ_PJ_PER_BIT,
        memory.REGFILE_READ_PJ_PER_BIT_PER_WORD,
        spec.technology_nm,
    )
    write = memory.regfile_access_pj(
        spec.width_bits,
        depth,
        memory.REGFILE_WRITE_PJ_PER_BIT,
        memory.REGFILE_WRITE_PJ_PER_BIT_PER_WORD,
        spec.technology_nm,
    )
    clock = 0.0 if spec.clock_gated else memory.regfile_clock_pj_per_cycle(spec.capacity_bits, spec.technology_nm)
    return ComponentEstimate(
        component_class=ComponentClass.REGFILE,
        read_pj=read,
        write_pj=write,
        update_pj=read + write,
        leakage_mw=memory.regfile_leakage_mw(spec.capacity_bits, spec.technology_nm),
        area_um2=memory.regfile_area_um2(spec.capacity_bits, spec.technology_nm),
        clock_pj_per_cycle=clock,
        source=(
            f"spikeloop builtin v{MODEL_VERSION}: regfile per-bit constants of SATA's 28 nm synthesis table, "
            "access energy fitted to Accelergy's 32 nm register-file table"
        ),
        inputs=spec_inputs(spec),
        notes=(
            "ungated: every bit clocks every cycle" if not spec.clock_gated else "clock-gated: energy per access only",
        ),
    )


def estimate_dram(spec: DramSpec) -> ComponentEstimate:
    """Per-bit energy of the DRAM kind; off-chip, so no leakage or area on the accelerator."""
    access = memory.dram_access_pj(spec.width_bits, spec.kind)
    return ComponentEstimate(
        component_class=ComponentClass.DRAM,
        read_pj=access,
        write_pj=access,
        update_pj=2.0 * access,
        leakage_mw=0.0,
        area_um2=0.0,
        source=f"spikeloop builtin v{MODEL_VERSION}: dram {spec.kind.value} energy per bit",
        inputs=spec_inputs(spec),
        notes=(
            "off-chip: leakage, refresh and area not charged to the accelerator",
            "technology_nm, capacity_bits, banks and ports do not change the per-bit energy",
        ),
    )


def estimate_adc(spec: AdcSpec) -> ComponentEstimate:
    """Survey-fitted energy per conversion and area; no static power (the survey's P / f_s is all of it)."""
    conversion = analog.adc_conversion_pj(spec.bits, spec.rate_hz, spec.technology_nm)
    return ComponentEstimate(
        component_class=ComponentClass.ADC,
        read_pj=conversion,
        write_pj=0.0,
        update_pj=0.0,
        leakage_mw=0.0,
        area_um2=analog.adc_area_um2(spec.bits, spec.rate_hz, spec.technology_nm),
        source=(
            f"spikeloop builtin v{MODEL_VERSION}: adc Walden/Schreier figures of merit fitted to Murmann's "
            "ADC Performance Survey 1997-2023 (22-90 nm designs)"
        ),
        inputs=spec_inputs(spec),
        notes=(
            "read_pj is one conversion",
            f"continuous conversion at rate_hz draws {analog.adc_power_mw(conversion, spec.rate_hz):.4g} mW",
            "survey designs are stand-alone converters: column ADCs of IMC macros are often larger in energy "
            "and smaller in area",
        ),
    )


def estimate_crossbar(spec: CrossbarSpec) -> ComponentEstimate:
    """4F^2-cell area and the V^2 G t Joule energy of one read step; cells only."""
    conductance = analog.crossbar_mean_conductance_us(spec.g_min_us, spec.g_max_us)
    read = analog.crossbar_read_pj(
        spec.rows, spec.columns, spec.row_activity, spec.read_voltage_v, conductance, spec.read_time_ns
    )
    return ComponentEstimate(
        component_class=ComponentClass.CROSSBAR,
        read_pj=read,
        write_pj=0.0,
        update_pj=0.0,
        leakage_mw=0.0,
        area_um2=analog.crossbar_area_um2(spec.rows, spec.columns, spec.cell_area_f2, spec.technology_nm),
        source=f"spikeloop builtin v{MODEL_VERSION}: crossbar cell area a F^2 and Joule energy V^2 G t",
        inputs=spec_inputs(spec),
        notes=(
            "read_pj is one read step: the driven rows x all columns",
            "cells only: row drivers, sample-and-hold, column muxes and ADCs are separate components",
            "programming (write) energy not modelled: weights are stationary",
        ),
    )


def estimate_builtin(spec: ComponentSpec) -> ComponentEstimate:
    """Dispatch a validated spec to its class's built-in estimator."""
    if isinstance(spec, SramSpec):
        return estimate_sram(spec)
    if isinstance(spec, RegfileSpec):
        return estimate_regfile(spec)
    if isinstance(spec, DramSpec):
        return estimate_dram(spec)
    if isinstance(spec, AdcSpec):
        return estimate_adc(spec)
    return estimate_crossbar(spec)


__all__ = ["MODEL_VERSION", "Backend", "estimate_builtin", "spec_inputs"]
