"""Built-in memory estimators: on-chip SRAM, flip-flop register files and off-chip DRAM.

Every function is pure: attributes in, numbers out, with units in the names. The constants are
fits to published tool runs and synthesis tables; docs/components.md lists each calibration
point, its source, the reference value, the estimate and the error.
"""

from __future__ import annotations

from dataclasses import dataclass

from costmodel.components.model import DramKind
from costmodel.components.technology import (
    SRAM_AREA_NODE,
    SRAM_ENERGY_NODE,
    SRAM_LEAKAGE_NODE,
    table_scale,
)

# ---------------------------------------------------------------------------------------------
# SRAM: power laws fitted to a CACTI 7 sweep at 32 nm


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerLaw:
    """X = coefficient * (C / 1 Mib)**capacity * (w / 64)**width * B**banks * P**ports at 32 nm."""

    coefficient: float
    capacity: float
    width: float
    banks: float
    ports: float


#: Reference node of the SRAM fit (CACTI 7 native node of the sweep), nm.
SRAM_REFERENCE_NM = 32.0
#: Normalisation of the SRAM fit: capacity 1 Mib (2**20 bits), access width 64 bits.
SRAM_REFERENCE_CAPACITY_BITS = 2**20
SRAM_REFERENCE_WIDTH_BITS = 64

#: Least-squares fits (in log space) to the 216 CACTI 7 runs at 32 nm of calibration_data.py: 2 KiB-1 MiB,
#: 8-512-bit words, 1/2/4 banks, 1 read-write port or 1 read + 1 write port, 32 nm, itrs-lop.
SRAM_READ_PJ = PowerLaw(coefficient=8.793, capacity=0.5573, width=0.5329, banks=0.1966, ports=0.5712)
SRAM_WRITE_PJ = PowerLaw(coefficient=7.420, capacity=0.5350, width=0.6612, banks=0.2556, ports=0.5845)
SRAM_LEAKAGE_MW = PowerLaw(coefficient=15.02, capacity=0.9385, width=0.03801, banks=0.2020, ports=0.3159)
SRAM_AREA_UM2 = PowerLaw(coefficient=2.429e5, capacity=0.9460, width=0.1029, banks=0.1048, ports=0.9940)


def power_law(law: PowerLaw, capacity_bits: float, width_bits: float, banks: float, ports: float) -> float:
    """X = k (C / C_ref)^a_C (w / w_ref)^a_w B^a_B P^a_P at the reference node.

    C ``capacity_bits`` (bits, all banks), w ``width_bits`` (bits per access), B ``banks``,
    P ``ports``; C_ref = 1 Mib, w_ref = 64 bits; k and the exponents a come from ``law``.
    """
    return (
        law.coefficient
        * (capacity_bits / SRAM_REFERENCE_CAPACITY_BITS) ** law.capacity
        * (width_bits / SRAM_REFERENCE_WIDTH_BITS) ** law.width
        * banks**law.banks
        * ports**law.ports
    )


def sram_read_pj(capacity_bits: int, width_bits: int, banks: int, ports: int, technology_nm: float) -> float:
    """E_read [pJ per word of w bits] = power_law(read) * s_E(F) / s_E(32 nm)."""
    scale = table_scale(SRAM_ENERGY_NODE, SRAM_REFERENCE_NM, technology_nm)
    return power_law(SRAM_READ_PJ, capacity_bits, width_bits, banks, ports) * scale


def sram_write_pj(capacity_bits: int, width_bits: int, banks: int, ports: int, technology_nm: float) -> float:
    """E_write [pJ per word of w bits] = power_law(write) * s_E(F) / s_E(32 nm)."""
    scale = table_scale(SRAM_ENERGY_NODE, SRAM_REFERENCE_NM, technology_nm)
    return power_law(SRAM_WRITE_PJ, capacity_bits, width_bits, banks, ports) * scale


def sram_leakage_mw(capacity_bits: int, width_bits: int, banks: int, ports: int, technology_nm: float) -> float:
    """P_leak [mW, all banks] = power_law(leakage) * s_L(F) / s_L(32 nm)."""
    scale = table_scale(SRAM_LEAKAGE_NODE, SRAM_REFERENCE_NM, technology_nm)
    return power_law(SRAM_LEAKAGE_MW, capacity_bits, width_bits, banks, ports) * scale


def sram_area_um2(capacity_bits: int, width_bits: int, banks: int, ports: int, technology_nm: float) -> float:
    """A [um^2, all banks] = power_law(area) * s_A(F) / s_A(32 nm)."""
    scale = table_scale(SRAM_AREA_NODE, SRAM_REFERENCE_NM, technology_nm)
    return power_law(SRAM_AREA_UM2, capacity_bits, width_bits, banks, ports) * scale


# ---------------------------------------------------------------------------------------------
# Register files: flip-flop arrays (SATA's 28 nm synthesis table, Accelergy's 32 nm RF table)

#: Reference node of the register-cell constants below (SATA's synthesis table), nm.
REGFILE_CELL_REFERENCE_NM = 28.0
#: Area per stored bit of a flip-flop register file at 28 nm, um^2 (fit of 5 SATA entries).
REGFILE_AREA_UM2_PER_BIT = 4.294
#: Leakage per stored bit at 28 nm, mW (2.51 nW; fit of 5 SATA entries).
REGFILE_LEAKAGE_MW_PER_BIT = 2.506e-6
#: Clock energy per stored bit per cycle of an ungated register at 28 nm, pJ (fit of 5 SATA entries).
REGFILE_CLOCK_PJ_PER_BIT = 0.003922

#: Reference node of the per-access constants (Accelergy's table), nm.
REGFILE_ACCESS_REFERENCE_NM = 32.0
#: E_read = w (e0 + e1 D) at 32 nm: pJ per bit, and pJ per bit per word of depth D (fit of 3 entries).
REGFILE_READ_PJ_PER_BIT = 0.005476
REGFILE_READ_PJ_PER_BIT_PER_WORD = 0.0006175
REGFILE_WRITE_PJ_PER_BIT = 0.004039
REGFILE_WRITE_PJ_PER_BIT_PER_WORD = 0.0005930


def regfile_depth_words(capacity_bits: int, width_bits: int, banks: int) -> float:
    """D = C / (w B): words per bank (the depth one access selects among)."""
    return capacity_bits / (width_bits * banks)


def regfile_access_pj(
    width_bits: int, depth_words: float, per_bit_pj: float, per_bit_per_word_pj: float, technology_nm: float
) -> float:
    """E = w (e0 + e1 D) s_E(F) / s_E(32 nm): one access of a w-bit word in a D-word register file, pJ.

    e0 [pJ/bit] is the word's own flip-flop and driver energy, e1 [pJ/bit/word] the read multiplexer
    or write-enable fan-out that grows with the depth D.
    """
    scale = table_scale(SRAM_ENERGY_NODE, REGFILE_ACCESS_REFERENCE_NM, technology_nm)
    return width_bits * (per_bit_pj + per_bit_per_word_pj * depth_words) * scale


def regfile_area_um2(capacity_bits: int, technology_nm: float) -> float:
    """A = C a_bit s_A(F) / s_A(28 nm), um^2: every stored bit is one flip-flop with its share of muxing."""
    scale = table_scale(SRAM_AREA_NODE, REGFILE_CELL_REFERENCE_NM, technology_nm)
    return capacity_bits * REGFILE_AREA_UM2_PER_BIT * scale


def regfile_leakage_mw(capacity_bits: int, technology_nm: float) -> float:
    """P_leak = C p_bit s_L(F) / s_L(28 nm), mW."""
    scale = table_scale(SRAM_LEAKAGE_NODE, REGFILE_CELL_REFERENCE_NM, technology_nm)
    return capacity_bits * REGFILE_LEAKAGE_MW_PER_BIT * scale


def regfile_clock_pj_per_cycle(capacity_bits: int, technology_nm: float) -> float:
    """E_clk = C e_clk s_E(F) / s_E(28 nm), pJ per cycle: every bit of an ungated file clocks every cycle."""
    scale = table_scale(SRAM_ENERGY_NODE, REGFILE_CELL_REFERENCE_NM, technology_nm)
    return capacity_bits * REGFILE_CLOCK_PJ_PER_BIT * scale


# ---------------------------------------------------------------------------------------------
# DRAM: published per-bit energies, no node scaling (the DRAM die is not on the accelerator's node)

#: pJ per bit moved, per kind (sources in docs/components.md).
DRAM_PJ_PER_BIT: dict[DramKind, float] = {
    DramKind.CACTI_DDR3: 468.76 / 1024,  # CACTI-7 main memory, 32 nm, 128-B burst: 468.76 pJ
    DramKind.LPDDR4: 512.0 / 64,  # Accelergy LPDDR4 table entry: 512 pJ per 64-bit access
}


def dram_access_pj(width_bits: int, kind: DramKind) -> float:
    """E = w e_bit(kind): one access of w bits, pJ (reads and writes alike)."""
    return width_bits * DRAM_PJ_PER_BIT[kind]
