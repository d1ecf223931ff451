"""Optional backend: the ``hwcomponents`` plug-in library (Accelergy project; PyPI hwcomponents,
hwcomponents-cacti, -adc, -neurosim, -library). It needs Python >= 3.12 and, for memories, a CACTI
executable compiled by hand (docs/components.md, "The hwcomponents backend").

Only its public query functions are called (``get_action_cost``, ``get_area``,
``get_leak_power``); their SI results (J, m^2, W) are converted to pJ, um^2 and mW.
"""

from __future__ import annotations

import importlib
from typing import Any

from costmodel.components.builtin import spec_inputs
from costmodel.components.model import (
    AdcSpec,
    Backend,
    ComponentClass,
    ComponentEstimate,
    ComponentInputError,
    ComponentSpec,
    DramKind,
    DramSpec,
    SramSpec,
)

INSTALL_HINT = (
    "needs Python >= 3.12 with `pip install hwcomponents hwcomponents-cacti hwcomponents-adc` "
    "and CACTI compiled by hand (docs/components.md)"
)


class BackendUnavailableError(RuntimeError):
    """The requested backend cannot run here (not installed, wrong Python, or no model for the class)."""


def hwcomponents_available() -> bool:
    """True when ``import hwcomponents`` works in this interpreter."""
    try:
        importlib.import_module("hwcomponents")
    except ImportError:
        return False
    return True


def _query(spec: ComponentSpec) -> tuple[str, dict[str, Any], tuple[str, str]]:
    """hwcomponents' component name, attributes and (read-like, write-like) action names for ``spec``."""
    tech_node_m = spec.technology_nm * 1.0e-9
    if isinstance(spec, SramSpec):
        attributes = {
            "tech_node": tech_node_m,
            "width": spec.width_bits,
            "size": spec.capacity_bits,
            "n_rw_ports": spec.ports,
            "n_banks": spec.banks,
        }
        return "sram", attributes, ("read", "write")
    if isinstance(spec, DramSpec) and spec.kind is DramKind.LPDDR4:
        return "lpddr4", {"width": spec.width_bits}, ("read", "write")
    if isinstance(spec, AdcSpec):
        attributes = {"n_bits": spec.bits, "tech_node": tech_node_m, "throughput": spec.rate_hz}
        return "adc", attributes, ("convert", "")
    detail = f" kind {spec.kind.value}" if isinstance(spec, DramSpec) else ""
    raise BackendUnavailableError(
        f"backend hwcomponents: no model mapped for this component{detail}; use backend builtin"
    )


def estimate_hwcomponents(spec: ComponentSpec) -> ComponentEstimate:
    """Estimate ``spec`` with hwcomponents, or raise :class:`BackendUnavailableError` saying why not."""
    try:
        hwc: Any = importlib.import_module("hwcomponents")
    except ImportError as exc:
        raise BackendUnavailableError(f"backend hwcomponents is not importable ({exc}); {INSTALL_HINT}") from None
    name, attributes, (read_action, write_action) = _query(spec)
    try:
        read_j = float(hwc.get_action_cost(name, attributes, read_action, {}).energy)
        write_j = float(hwc.get_action_cost(name, attributes, write_action, {}).energy) if write_action else 0.0
        area_m2 = float(hwc.get_area(name, attributes))
        leak_w = float(hwc.get_leak_power(name, attributes))
    except (AssertionError, ValueError, FileNotFoundError, RuntimeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BackendUnavailableError(f"backend hwcomponents failed for {name}: {first_line}") from None
    version = getattr(hwc, "__version__", "unknown")
    kind = (
        ComponentClass.SRAM
        if isinstance(spec, SramSpec)
        else (ComponentClass.ADC if isinstance(spec, AdcSpec) else ComponentClass.DRAM)
    )
    macros = spec.macros if isinstance(spec, SramSpec) else 1
    read_pj = read_j * 1.0e12
    write_pj = write_j * 1.0e12
    return ComponentEstimate(
        component_class=kind,
        read_pj=read_pj,
        write_pj=write_pj,
        update_pj=read_pj + write_pj,
        leakage_mw=leak_w * 1.0e3 * macros,
        area_um2=area_m2 * 1.0e12 * macros,
        backend=Backend.HWCOMPONENTS,
        source=f"hwcomponents {version}: component {name}",
        inputs=spec_inputs(spec),
        notes=(f"hwcomponents attributes: {attributes}",),
    )


def require_known_backend(value: object) -> Backend:
    """The :class:`Backend` spelled ``value``, or an error naming ``backend``."""
    if isinstance(value, Backend):
        return value
    try:
        return Backend(str(value))
    except ValueError:
        names = ", ".join(member.value for member in Backend)
        raise ComponentInputError("backend", f"expected one of {names}, got {value!r}") from None
