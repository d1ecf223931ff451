"""Component estimation: per-action energy, leakage and area of memories, ADCs and crossbars from
their attributes (capacity, word width, banks, ports, technology node, ...) instead of fixed numbers.

The interface the arch loader calls (costmodel.arch, a level with an ``estimate:`` block)::

    from costmodel.components import LevelEstimateError, estimate_level

    try:
        est = estimate_level(level_yaml["estimate"], level_path="levels[1]", capacity_bits=level_yaml["capacity_bits"],
                             word_bits=level_yaml["word_bits"], technology_nm=arch_yaml.get("technology_nm"))
    except LevelEstimateError as err:                    # one line, starts with the key path the value was written at
        raise SpecError(f"{path}: {err}") from None
    energy_pj = {"read": est.read_pj, "write": est.write_pj, "update": est.update_pj}
    static_pj_per_cycle = est.static_pj_per_cycle(arch_clock_hz)
    area_um2 = est.area_um2

and a result stores ``level_estimates(arch)`` (per estimated level: the numbers, the inputs, the model version),
so a run is reproducible. ``estimate(attributes)`` prices one component from its attributes alone.

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
from costmodel.components.level import LevelEstimateError, estimate_level, level_estimates
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
    "LevelEstimateError",
    "CrossbarSpec",
    "DramKind",
    "DramSpec",
    "RegfileSpec",
    "SramSpec",
    "estimate",
    "estimate_level",
    "level_estimates",
    "hwcomponents_available",
    "leakage_pj_per_cycle",
    "parse_spec",
    "with_level_defaults",
]
