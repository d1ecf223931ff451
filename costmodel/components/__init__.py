"""Component estimation: per-action energy, leakage and area of memories, ADCs and crossbars from
their attributes (capacity, word width, banks, ports, technology node, ...) instead of fixed numbers.

The interface a spec loader calls::

    from costmodel.components import ComponentInputError, estimate

    block = with_level_defaults(level_yaml["estimate"], capacity_bits=level_yaml["capacity_bits"],
                                word_bits=level_yaml["word_bits"], technology_nm=arch_yaml.get("technology_nm"))
    try:
        est = estimate(block)                             # {"class": "sram", "capacity_bits": ..., ...}
    except ComponentInputError as err:                   # one line, starts with the attribute name
        raise SpecError(f"{path}: levels[{i}].estimate.{err}") from None
    energy_pj = {"read": est.read_pj, "write": est.write_pj, "update": est.update_pj}
    static_pj_per_cycle = est.static_pj_per_cycle(arch_clock_hz)
    area_um2 = est.area_um2
    result_json["estimates"][level_name] = est.to_dict()  # reproducible: inputs, numbers, model version

``estimate(..., backend="hwcomponents")`` asks the optional hwcomponents library instead and raises
:class:`BackendUnavailableError` when it cannot. Equations, calibration points and fit errors:
docs/components.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from costmodel.components.builtin import MODEL_VERSION, estimate_builtin
from costmodel.components.hwc import (
    BackendUnavailableError,
    estimate_hwcomponents,
    hwcomponents_available,
    require_known_backend,
)
from costmodel.components.model import (
    TECHNOLOGY_RANGE_NM,
    AdcSpec,
    Backend,
    ComponentClass,
    ComponentEstimate,
    ComponentInputError,
    ComponentSpec,
    CrossbarSpec,
    DramKind,
    DramSpec,
    RegfileSpec,
    SramSpec,
    leakage_pj_per_cycle,
)
from costmodel.components.spec import parse_spec, with_level_defaults


def estimate(
    attributes: Mapping[str, Any] | ComponentSpec, *, backend: Backend | str = Backend.BUILTIN
) -> ComponentEstimate:
    """Per-action energies, leakage and area of one component.

    ``attributes``: an ``estimate:`` mapping (validated by :func:`parse_spec`) or an already built
    spec. ``backend``: ``"builtin"`` (default, always available) or ``"hwcomponents"``.
    Raises :class:`ComponentInputError` for bad attributes and :class:`BackendUnavailableError`
    when the requested backend cannot run here.
    """
    chosen = require_known_backend(backend)
    spec = (
        attributes
        if isinstance(attributes, SramSpec | RegfileSpec | DramSpec | AdcSpec | CrossbarSpec)
        else (parse_spec(attributes))
    )
    if chosen is Backend.HWCOMPONENTS:
        return estimate_hwcomponents(spec)
    return estimate_builtin(spec)


__all__ = [
    "MODEL_VERSION",
    "TECHNOLOGY_RANGE_NM",
    "AdcSpec",
    "Backend",
    "BackendUnavailableError",
    "ComponentClass",
    "ComponentEstimate",
    "ComponentInputError",
    "ComponentSpec",
    "CrossbarSpec",
    "DramKind",
    "DramSpec",
    "RegfileSpec",
    "SramSpec",
    "estimate",
    "hwcomponents_available",
    "leakage_pj_per_cycle",
    "parse_spec",
    "with_level_defaults",
]
