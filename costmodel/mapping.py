"""Mapping values: a loop nest per architecture level, and ``Invalid``.

A :class:`Mapping` has one :class:`LevelMapping` per arch level, outermost first. Each holds
temporal loops (outer to inner) and spatial loops (which distribute the level's tile over the
instances of the next level, or over compute units below the innermost level), and the set of
tensors that bypass the level. Loops with bound 1 may be omitted.

The nest, flattened outer to inner, is::

    level 0 temporal loops, level 0 spatial loops, level 1 temporal loops, ..., compute

Level ``l`` holds the tile spanned by its own loops and everything inside them.

A mapping file (YAML) lists the levels by name::

    mapping:
      - level: DRAM
        temporal: [[K, 2], [T, 4]]         # outer to inner
      - level: GLB
        temporal: [[C, 8]]
        spatial: [[K, 16, x], [P, 8, y]]
        bypass: [U]
      - level: PE
        temporal: [[R, 3], [S, 3]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from costmodel.specio import Node, SpecError, load_yaml
from costmodel.types import DIMS, Axis, Dim, Tensor


@dataclass(frozen=True, slots=True)
class Loop:
    """One loop: ``bound`` iterations of ``dim``; spatial loops run on axis ``axis`` of the level's fanout."""

    dim: Dim
    bound: int
    spatial: bool = False
    axis: Axis = Axis.X

    def __post_init__(self) -> None:
        if not isinstance(self.dim, Dim):
            raise TypeError(f"loop: dim must be a Dim, got {self.dim!r}")
        if isinstance(self.bound, bool) or not isinstance(self.bound, int) or self.bound < 1:
            raise ValueError(f"loop {self.dim.value}: bound must be a positive integer, got {self.bound!r}")
        if not isinstance(self.axis, Axis):
            object.__setattr__(self, "axis", Axis(self.axis))


@dataclass(frozen=True, slots=True, kw_only=True)
class LevelMapping:
    temporal: tuple[Loop, ...] = ()
    spatial: tuple[Loop, ...] = ()
    bypass: frozenset[Tensor] = frozenset()

    def factor(self, dim: Dim, *, spatial: bool) -> int:
        loops = self.spatial if spatial else self.temporal
        return math.prod(lp.bound for lp in loops if lp.dim is dim)


@dataclass(frozen=True, slots=True, kw_only=True)
class Mapping:
    levels: tuple[LevelMapping, ...]

    def factor(self, dim: Dim) -> int:
        """Product of every loop bound of ``dim`` (must equal the layer's bound)."""
        return math.prod(lv.factor(dim, spatial=s) for lv in self.levels for s in (False, True))

    def loops(self) -> list[tuple[int, Loop]]:
        """The flattened nest, outer to inner, as (level index, loop)."""
        out: list[tuple[int, Loop]] = []
        for i, lv in enumerate(self.levels):
            out.extend((i, lp) for lp in lv.temporal)
            out.extend((i, lp) for lp in lv.spatial)
        return out

    def t_position(self) -> str:
        """Where T sits, for reports: e.g. ``DRAM temporal #1 of 3`` (``none`` if T = 1)."""
        for i, lv in enumerate(self.levels):
            for j, lp in enumerate(lv.temporal):
                if lp.dim is Dim.T and lp.bound > 1:
                    return f"level {i} temporal, position {j + 1} of {len(lv.temporal)}"
            for lp in lv.spatial:
                if lp.dim is Dim.T and lp.bound > 1:
                    return f"level {i} spatial"
        return "none (T = 1)"


class InvalidKind(StrEnum):
    """Why a mapping is invalid: its factors, a fanout, a bypass choice, a capacity, or anything else."""

    FACTORS = "factors"
    FANOUT = "fanout"
    BYPASS = "bypass"
    CAPACITY = "capacity"
    RESIDENT = "resident"
    UNSUPPORTED = "unsupported"  # the arch cannot run the layer at all (e.g. multi-bit inputs on AC-only PEs)
    OTHER = "invalid"


@dataclass(frozen=True, slots=True, kw_only=True)
class Invalid:
    """Why a mapping cannot run: a value, not an exception. ``level`` names the arch level, ``key`` the arch
    spec key that refuses it when it is not a level's (e.g. ``compute.mac_pj``)."""

    reason: str
    level: str = ""
    tensor: Tensor | None = None
    kind: InvalidKind = InvalidKind.OTHER
    key: str = ""

    def __str__(self) -> str:
        parts = [p for p in (self.level, self.tensor.value if self.tensor else "") if p]
        return f"{'/'.join(parts)}: {self.reason}" if parts else self.reason

    def __bool__(self) -> bool:  # an Invalid is never a usable result
        return False


# ------------------------------------------------------------------------------------- YAML I/O
def _loops(node: Node, key: str, *, spatial: bool) -> tuple[Loop, ...]:
    v = node.raw(key, [])
    if not isinstance(v, list):
        raise node.error(key, f"expected a list of [dim, bound{', axis' if spatial else ''}], got {v!r}")
    out = []
    for i, item in enumerate(v):
        where = f"{key}[{i}]"
        n = 3 if spatial else 2
        if not isinstance(item, list) or len(item) not in ((2, 3) if spatial else (2,)):
            raise node.error(where, f"expected [dim, bound{', axis' if spatial else ''}], got {item!r}")
        try:
            dim = Dim(item[0])
        except ValueError:
            raise node.error(where, f"unknown dim {item[0]!r} (expected one of {' '.join(DIMS)})") from None
        bound = item[1]
        if isinstance(bound, bool) or not isinstance(bound, int) or bound < 1:
            raise node.error(where, f"bound must be a positive integer, got {bound!r}")
        axis = item[2] if spatial and len(item) == n else "x"
        if axis not in ("x", "y"):
            raise node.error(where, f"axis must be x or y, got {axis!r}")
        out.append(Loop(dim, bound, spatial, Axis(axis)))
    return tuple(out)


def mapping_from_dict(data: Any, level_names: list[str], file: str = "<mapping>", path: str = "") -> Mapping:
    """Parse a mapping; level names must match the arch's, in order. ``path``: where the mapping sits in the
    file (e.g. ``layers[3]``), for error messages."""
    root = Node(data, file, path)
    nodes = root.children("mapping")
    root.done(allowed_extra=[k for k in root.keys() if k != "mapping"] if path else ())  # noqa: SIM118
    if [n.raw("level", None) for n in nodes] != level_names:
        got = [n.raw("level", None) for n in nodes]
        raise SpecError(f"{root.where('mapping')}: levels must be {level_names} in that order, got {got}")
    levels = []
    for n in nodes:
        n.str("level")
        levels.append(
            LevelMapping(
                temporal=_loops(n, "temporal", spatial=False),
                spatial=_loops(n, "spatial", spatial=True),
                bypass=frozenset(n.enum_list("bypass", Tensor, [])),
            )
        )
        n.done()
    return Mapping(levels=tuple(levels))


def load_mapping(path: str | Path, level_names: list[str]) -> Mapping:
    return mapping_from_dict(load_yaml(path), level_names, str(path))


def layer_mappings_from_dict(
    data: Any, level_names: list[str], file: str = "<mappings>"
) -> Mapping | dict[str, Mapping]:
    """A mapping file: one ``mapping:`` for every weight layer, or the result of ``evaluate --json`` / a file
    with ``layers: [{name: ..., mapping: [...]}, ...]`` giving each layer its own (layers whose mapping is null,
    such as pool layers, are skipped). Errors name the file and the key path (``layers[3].mapping``)."""
    root = Node(data, file)
    if root.has("mapping"):
        return mapping_from_dict(data, level_names, file)
    if not root.has("layers"):
        raise root.error("mapping", "required key is missing (a mapping file has mapping: or layers:)")
    out: dict[str, Mapping] = {}
    items = root.raw("layers")
    for n, item in zip(root.children("layers"), items, strict=True):
        name = n.str("name")
        if name in out:
            raise n.error("name", f"duplicate layer {name!r}")
        if n.raw("mapping", None) is not None:
            out[name] = mapping_from_dict(item, level_names, file, n.path)
    return out


def load_layer_mappings(path: str | Path, level_names: list[str]) -> Mapping | dict[str, Mapping]:
    """:func:`layer_mappings_from_dict` of a YAML or JSON file."""
    return layer_mappings_from_dict(load_yaml(path), level_names, str(path))


def mapping_to_dict(mapping: Mapping, level_names: list[str]) -> dict[str, Any]:
    out = []
    for name, lv in zip(level_names, mapping.levels, strict=True):
        d: dict[str, Any] = {"level": name}
        if lv.temporal:
            d["temporal"] = [[lp.dim.value, lp.bound] for lp in lv.temporal]
        if lv.spatial:
            d["spatial"] = [[lp.dim.value, lp.bound, lp.axis.value] for lp in lv.spatial]
        if lv.bypass:
            d["bypass"] = sorted(t.value for t in lv.bypass)
        out.append(d)
    return {"mapping": out}


def dump_mapping(mapping: Mapping, level_names: list[str]) -> str:
    return yaml.safe_dump(mapping_to_dict(mapping, level_names), sort_keys=False, default_flow_style=None)
