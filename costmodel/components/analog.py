"""Built-in estimators of the analog parts of an in-memory-compute tile: ADCs and RRAM crossbars.

ADC: energy per conversion from the two figures of merit of B. Murmann's ADC Performance Survey
(1997-2023), fitted to its converters at 22-90 nm; area from a log-linear regression on the same
designs. Crossbar: cell area 4F^2 per cell and the Joule energy V^2 G t of the driven cells.
docs/components.md gives the fits, their errors and the comparison with SpikeSim's constants.
"""

from __future__ import annotations

import math

from costmodel.components.technology import node_factor

# ---------------------------------------------------------------------------------------------
# ADC

#: Reference node of the ADC fit, nm.
ADC_REFERENCE_NM = 65.0
#: Walden figure of merit at low sample rate, fJ per conversion step (fit to the survey).
ADC_WALDEN_FOM_FJ = 8.99
#: Schreier figure of merit of the thermal-noise limit, dB (fit to the survey).
ADC_SCHREIER_FOM_DB = 176.07
#: Sample rate above which energy per conversion grows linearly with rate, Hz (fit to the survey).
ADC_CORNER_RATE_HZ = 1.418e8
#: Exponent of energy per conversion in the feature size (fit to the survey).
ADC_ENERGY_NODE_EXPONENT = 1.590
#: log10 area = a0 + a1 ENOB + a2 log10(f / 100 MHz) + a3 log10(F / 65 nm), um^2 (fit to the survey).
ADC_AREA_LOG10_UM2 = (4.6486, 0.04514, 0.19222, 1.77887)


def adc_sndr_db(bits: float) -> float:
    """SNDR = 6.02 N + 1.76 dB: the signal-to-noise-and-distortion ratio of an ideal N-bit quantiser."""
    return 6.02 * bits + 1.76


def adc_walden_pj(bits: float) -> float:
    """E_W = FOM_W 2^N: the technology-limited energy per conversion at low rate, pJ (FOM_W in fJ/step)."""
    return ADC_WALDEN_FOM_FJ * 1.0e-3 * 2.0**bits


def adc_schreier_pj(bits: float) -> float:
    """E_S = P / f_s = 1/2 10^((SNDR - FOM_S) / 10) J: the thermal-noise-limited energy per conversion, pJ.

    From FOM_S = SNDR + 10 log10((f_s / 2) / P), with the Nyquist bandwidth f_s / 2.
    """
    return 0.5 * 10.0 ** ((adc_sndr_db(bits) - ADC_SCHREIER_FOM_DB) / 10.0) * 1.0e12


def adc_rate_penalty(rate_hz: float) -> float:
    """s_f = 1 + f_s / f_c: energy per conversion grows linearly with f_s above the corner f_c."""
    return 1.0 + rate_hz / ADC_CORNER_RATE_HZ


def adc_conversion_pj(bits: int, rate_hz: float, technology_nm: float) -> float:
    """E_conv = (E_W + E_S)(1 + f_s / f_c)(F / 65 nm)^gamma, pJ per conversion of an N-bit ADC at f_s."""
    scale = node_factor(ADC_REFERENCE_NM, technology_nm, ADC_ENERGY_NODE_EXPONENT)
    return (adc_walden_pj(bits) + adc_schreier_pj(bits)) * adc_rate_penalty(rate_hz) * scale


def adc_area_um2(bits: int, rate_hz: float, technology_nm: float) -> float:
    """A = 10^(a0 + a1 N + a2 log10(f_s / 100 MHz) + a3 log10(F / 65 nm)), um^2."""
    a0, a1, a2, a3 = ADC_AREA_LOG10_UM2
    exponent = a0 + a1 * bits + a2 * math.log10(rate_hz / 1.0e8) + a3 * math.log10(technology_nm / ADC_REFERENCE_NM)
    return float(10.0**exponent)


def adc_power_mw(conversion_pj: float, rate_hz: float) -> float:
    """P = E_conv f_s: the ADC's power when it converts continuously at f_s, mW."""
    return conversion_pj * 1.0e-12 * rate_hz * 1.0e3


# ---------------------------------------------------------------------------------------------
# Crossbar


def crossbar_area_um2(rows: int, columns: int, cell_area_f2: float, technology_nm: float) -> float:
    """A = R C a_cell F^2, um^2: R x C cells of a_cell F^2 each (4F^2: a minimal cross-point cell)."""
    feature_um = technology_nm * 1.0e-3
    return rows * columns * cell_area_f2 * feature_um**2


def crossbar_mean_conductance_us(g_min_us: float, g_max_us: float) -> float:
    """G_avg = (G_min + G_max) / 2, uS: the mean of uniformly used conductance levels."""
    return 0.5 * (g_min_us + g_max_us)


def crossbar_read_pj(
    rows: int, columns: int, row_activity: float, read_voltage_v: float, conductance_us: float, read_time_ns: float
) -> float:
    """E_read = (a R) C V^2 G t, pJ per read step: Joule energy of every driven cell.

    R rows of which a fraction a is driven at V volts, C columns sensed at virtual ground, mean
    cell conductance G (uS), pulse length t (ns). Drivers, sample-and-hold and ADCs are not included.
    """
    joules = row_activity * rows * columns * read_voltage_v**2 * conductance_us * 1.0e-6 * read_time_ns * 1.0e-9
    return joules * 1.0e12
