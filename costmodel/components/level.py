"""A storage level priced by its ``estimate:`` block: the loader's one call, and the numbers a run stores.

:func:`estimate_level` is what the arch loader calls for a level with an ``estimate:`` block. It fills the
attributes the block leaves out from the level and the arch (:func:`with_level_defaults`), checks that what the
block states about the memory agrees with the level the loop nest sees, estimates, and turns every failure into a
:class:`LevelEstimateError` whose message starts with the YAML key path *where the bad value was written*:

* a value the block gives: ``levels[1].estimate.capacity_bits: expected a positive integer, got 0``;
* a value taken from the level or the arch: ``levels[1].capacity_bits: ...`` or ``technology_nm: ...``, with
  ``(levels[1].estimate takes its capacity_bits from here)`` appended, so a user fixes the key they wrote.

Agreement rules (a disagreement would price one memory and map onto another, the misleading sweep of issue 18):
a memory block's ``width_bits`` equals the level's ``word_bits`` (energies are per level word), and an sram or
regfile block's ``capacity_bits`` x ``macros`` equals the level's ``capacity_bits`` when both are given.

:func:`level_estimates` is what a result stores per estimated level (``estimates`` in ``spikeloop evaluate
--json`` and in sweep records; ``spikeloop explain`` prints it): the estimate's own record
(:meth:`ComponentEstimate.to_dict`: class, backend, per-action pJ, leakage, area, source, inputs) plus the
level's ``static_pj_per_cycle`` at the arch clock and its ``instances``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from costmodel.components.model import ComponentClass, ComponentEstimate, ComponentInputError
from costmodel.components.spec import with_level_defaults

if TYPE_CHECKING:
    from costmodel.arch import Arch

_MEMORIES = (ComponentClass.SRAM.value, ComponentClass.REGFILE.value, ComponentClass.DRAM.value)


class LevelEstimateError(ValueError):
    """A bad ``estimate:`` block of one level; ``str(err)`` is one line starting with the YAML key path."""

    def __init__(self, key_path: str, message: str) -> None:
        super().__init__(f"{key_path}: {message}")
        self.key_path = key_path


def _rule(err: ComponentInputError) -> str:
    """The message of ``err`` without its leading ``"<attribute>: "``."""
    text = str(err)
    prefix = f"{err.attribute}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def _source(block: Mapping[str, Any], attribute: str, level_path: str) -> tuple[str, str]:
    """Where ``attribute`` of the filled block was written: ``(key path, note)``."""
    own = f"{level_path}.estimate.{attribute}"
    if attribute in block:
        return own, ""
    taken = f" ({level_path}.estimate takes its {attribute} from here)"
    if attribute == "capacity_bits" and block.get("class") in _MEMORIES[:2]:
        macros = block.get("macros", 1)
        per = f", divided by its {macros} macros" if block.get("class") == "sram" and macros != 1 else ""
        return f"{level_path}.capacity_bits", taken[:-1] + per + ")"
    if attribute == "width_bits" and block.get("class") in _MEMORIES:
        return f"{level_path}.word_bits", taken
    if attribute == "technology_nm":
        return "technology_nm", taken
    return own, ""


def _agree(
    block: Mapping[str, Any], filled: Mapping[str, Any], level_path: str, *, capacity_bits: int | None, word_bits: int
) -> None:
    kind = filled.get("class")
    width = filled.get("width_bits")
    if kind in _MEMORIES and "width_bits" in block and width != word_bits:
        raise LevelEstimateError(
            f"{level_path}.estimate.width_bits",
            f"{width!r} differs from the level's word_bits {word_bits} (energies are per level word: leave "
            "width_bits out to take word_bits, or change both together)",
        )
    if kind in _MEMORIES[:2] and "capacity_bits" in block and capacity_bits is not None:
        macros = filled.get("macros", 1) if kind == ComponentClass.SRAM.value else 1
        given = filled.get("capacity_bits")
        if (
            isinstance(given, int)
            and not isinstance(given, bool)
            and isinstance(macros, int)
            and not isinstance(macros, bool)
            and given * macros != capacity_bits
        ):
            times = f" x {macros} macros" if macros != 1 else ""
            raise LevelEstimateError(
                f"{level_path}.estimate.capacity_bits",
                f"{given}{times} differs from the level's capacity_bits {capacity_bits} (the estimate would price "
                "another memory than the one the mapping fills: leave capacity_bits out to take the level's, or "
                "sweep both together with a linked override)",
            )


def estimate_level(
    block: Mapping[str, Any],
    *,
    level_path: str,
    capacity_bits: int | None,
    word_bits: int,
    technology_nm: float | None,
) -> ComponentEstimate:
    """The estimate of a level's ``estimate:`` block (``level_path``: its YAML key path, e.g. ``levels[1]``).

    Raises :class:`LevelEstimateError` naming the key the bad value was written at.
    """
    from costmodel.components import estimate

    if not isinstance(block, Mapping):
        raise LevelEstimateError(f"{level_path}.estimate", f"expected a mapping, got {block!r}")
    filled = with_level_defaults(block, capacity_bits=capacity_bits, word_bits=word_bits, technology_nm=technology_nm)
    try:
        est = estimate(filled)
    except ComponentInputError as err:
        where, note = _source(block, err.attribute, level_path)
        raise LevelEstimateError(where, _rule(err) + note) from None
    _agree(block, filled, level_path, capacity_bits=capacity_bits, word_bits=word_bits)
    return est


def level_estimates(arch: Arch) -> dict[str, dict[str, Any]]:
    """Per estimated level (by name, outermost first): the estimate's record plus the level's
    ``static_pj_per_cycle`` (pJ per cycle per instance at the arch clock) and ``instances``. Empty when no level
    is estimated. JSON-ready; ``estimate({"class": d["class"], **d["inputs"]})`` recomputes an entry."""
    out: dict[str, dict[str, Any]] = {}
    for i, level in enumerate(arch.levels):
        if level.estimate:
            record = dict(level.estimate)
            record["static_pj_per_cycle"] = level.static_pj_per_cycle
            record["instances"] = arch.instances(i)
            out[level.name] = record
    return out
