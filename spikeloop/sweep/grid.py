"""The grid file: read, validate and expand into independent :class:`Task` s (schema in :mod:`spikeloop.sweep`)."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import archspecs
from costmodel.arch import Arch, arch_from_dict
from costmodel.network import network_from_data
from costmodel.specio import Node, SpecError, load_yaml
from mappers.dataflows import CROSSBAR_FLOWS, DATAFLOWS, flow_names
from spikeloop.sweep.overrides import Setter, resolve_override

BEST = "best"
DEFAULT = "default"  # a point on an arch none of the grid's dataflows apply to: the arch's default dataflow
OBJECTIVES = ("energy", "edp")


@dataclass(frozen=True, slots=True, kw_only=True)
class Point:
    """The parameters of one sweep point, as the grid names them."""

    arch: str
    overrides: tuple[tuple[str, Any], ...]  # canonical override path -> value, in grid order
    network: str
    T: int
    dataflow: str
    objective: str | None  # mapper objective; None for the fixed heuristic dataflows

    def params(self) -> dict[str, Any]:
        return {
            "arch": self.arch,
            "overrides": dict(self.overrides),
            "network": self.network,
            "T": self.T,
            "dataflow": self.dataflow,
            "objective": self.objective,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """One independent unit of work: a point and the data needed to evaluate it anywhere."""

    key: str
    point: Point
    arch_data: Any
    arch_file: str
    network_data: Any
    network_file: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Grid:
    file: str
    tasks: tuple[Task, ...]


@dataclass(frozen=True, slots=True)
class _Net:
    entry: str  # as the grid names it
    data: Any
    file: str  # as errors show it
    digest: str
    timesteps: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Axis:
    """One design axis of a grid: a single override path, or a linked group of paths whose values move together.

    ``paths``: ``(path as written, its grid key path for errors)``; ``steps``: the axis's values, one tuple per
    step with one value per path (a single override has one-element steps). ``where``: the axis's grid key path
    (``FILE: overrides.levels[GLB].capacity_bits`` or ``FILE: linked[0]``)."""

    where: str
    paths: tuple[tuple[str, str], ...]
    steps: tuple[tuple[Any, ...], ...]

    @property
    def linked(self) -> bool:
        return len(self.paths) > 1


# ---------------------------------------------------------------------------------------- point keys
def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def data_digest(data: Any) -> str:
    """SHA-256 of parsed YAML data in canonical JSON form (key order and formatting do not matter)."""
    return hashlib.sha256(canonical(data).encode()).hexdigest()


def point_key(point: Point, arch_digest: str, network_digest: str) -> str:
    """Stable key of a point: a hash of its parameters and of the digests of its arch and network data."""
    blob = canonical({"params": point.params(), "arch": arch_digest, "network": network_digest})
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------- grid keys
def _resolve_file(entry: str, grid_dir: Path, finder: Callable[[str], Path]) -> Path:
    if entry.endswith((".yaml", ".yml")):
        for cand in (grid_dir / entry, Path(entry)):
            if cand.is_file():
                return cand
    return finder(entry)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(archspecs.ROOT.parent))
    except ValueError:
        return str(path)


def _no_duplicates(node: Node, key: str, values: list[Any]) -> None:
    seen: set[str] = set()
    for v in values:
        c = canonical(v)
        if c in seen:
            raise node.error(key, f"value {v!r} is listed twice")
        seen.add(c)


def _str_list(node: Node, key: str, default: Any = ...) -> list[str]:
    v = node.raw(key, default)
    if not isinstance(v, list) or not v or not all(isinstance(x, str) and x for x in v):
        raise node.error(key, f"expected a non-empty list of names, got {v!r}")
    _no_duplicates(node, key, v)
    return v


def _choices(node: Node, key: str, default: list[str], allowed: tuple[str, ...], what: str) -> list[str]:
    values = _str_list(node, key, default)
    for v in values:
        if v not in allowed:
            raise node.error(key, f"unknown {what} {v!r}; expected one of {', '.join(allowed)}")
    return values


def _timesteps(root: Node) -> list[int] | None:
    t_raw = root.raw("T", None)
    if t_raw is None:
        return None
    if (
        not isinstance(t_raw, list)
        or not t_raw
        or not all(isinstance(t, int) and not isinstance(t, bool) and t >= 1 for t in t_raw)
    ):
        raise root.error("T", f"expected a non-empty list of positive integers, got {t_raw!r}")
    _no_duplicates(root, "T", t_raw)
    return t_raw


def _read_overrides(node: Node, key: str) -> list[Axis]:
    """``overrides:``: path -> values, each path an axis of its own."""
    ov = node.child(key, None)
    if ov is None:
        return []
    out = []
    for path in ov.keys():  # noqa: SIM118 - Node has keys() but no __iter__
        values = ov.raw(path)
        if not isinstance(values, list) or not values:
            raise ov.error(path, f"expected a non-empty list of values, got {values!r}")
        _no_duplicates(ov, path, values)
        out.append(Axis(where=ov.where(path), paths=((path, ov.where(path)),), steps=tuple((v,) for v in values)))
    ov.done()
    return out


def _read_linked(node: Node, key: str) -> list[Axis]:
    """``linked:``: a list of groups, each a mapping path -> values of one length; the i-th values of every path
    of a group are set together, so a group is one axis of the product (a capacity with its area and energies)."""
    if not node.has(key):
        return []
    raw = node.raw(key)
    if not isinstance(raw, list) or not raw:
        raise node.error(key, f"expected a non-empty list of groups (each a mapping path -> values), got {raw!r}")
    out = []
    for group in node.children(key):
        paths = group.keys()
        if len(paths) < 2:
            raise SpecError(
                f"{group.where()}: a linked group needs at least two paths (one path alone goes under "
                f"overrides), got {len(paths)}"
            )
        columns: list[list[Any]] = []
        for path in paths:
            values = group.raw(path)
            if not isinstance(values, list) or not values:
                raise group.error(path, f"expected a non-empty list of values, got {values!r}")
            if columns and len(values) != len(columns[0]):
                count = f"{len(values)} value{'' if len(values) == 1 else 's'}"
                raise group.error(
                    path,
                    f"{count}, but {paths[0]} has {len(columns[0])}: the paths of a linked group "
                    "take one value each per step",
                )
            columns.append(values)
        steps = tuple(zip(*columns, strict=True))
        first: dict[str, int] = {}
        for i, step in enumerate(steps):
            c = canonical(list(step))
            if c in first:
                raise SpecError(f"{group.where()}: step {i} ({_step_text(paths, step)}) repeats step {first[c]}")
            first[c] = i
        group.done()
        out.append(Axis(where=group.where(), paths=tuple((p, group.where(p)) for p in paths), steps=steps))
    return out


def _step_text(paths: list[str] | tuple[str, ...], step: tuple[Any, ...]) -> str:
    return ", ".join(f"{p} = {canonical(v)}" for p, v in zip(paths, step, strict=True))


# ---------------------------------------------------------------------------------------- archs
def _validate_arch(data: Any, file: str) -> Arch:
    """Build the arch (every section is typed and checked by the loader) or raise SpecError."""
    return arch_from_dict(data, file)


def _resolve_axes(base: Any, arch_file: str, axes: list[Axis]) -> list[tuple[tuple[tuple[str, Setter], ...], Axis]]:
    """Each axis's paths checked against the arch, and each of its steps validated on its own (so a bad value is
    blamed on its own grid key): ``(canonical path and setter per path, axis)`` per axis."""
    resolved = []
    seen: dict[str, str] = {}
    for axis in axes:
        setters = []
        for path, where in axis.paths:
            try:
                canon, setter = resolve_override(base, path)
            except ValueError as exc:
                raise SpecError(f"{where}: {exc} ({arch_file})") from None
            if canon in seen:
                raise SpecError(f"{where}: the same arch key as {seen[canon]}")
            seen[canon] = where
            setters.append((canon, setter))
        for i, step in enumerate(axis.steps):
            data = copy.deepcopy(base)
            for (_, setter), value in zip(setters, step, strict=True):
                setter(data, value)
            try:
                _validate_arch(data, arch_file)
            except SpecError as exc:
                what = (
                    f"step {i} ({_step_text([c for c, _ in setters], step)})" if axis.linked else f"value {step[0]!r}"
                )
                raise SpecError(f"{axis.where}: {what}: {exc}") from None
        resolved.append((tuple(setters), axis))
    return resolved


def _arch_combos(base: Any, arch_file: str, axes: list[Axis]) -> Iterator[tuple[tuple[tuple[str, Any], ...], Any]]:
    """Every combination of the axes' steps, validated: ``(canonical (path, value) pairs, arch data)``."""
    resolved = _resolve_axes(base, arch_file, axes)
    for combo in itertools.product(*(axis.steps for _, axis in resolved)):
        data = copy.deepcopy(base)
        pairs: list[tuple[str, Any]] = []
        for (setters, _), step in zip(resolved, combo, strict=True):
            for (canon, setter), value in zip(setters, step, strict=True):
                setter(data, value)
                pairs.append((canon, value))
        try:
            _validate_arch(data, arch_file)
        except SpecError as exc:
            raise SpecError(f"{arch_file} with overrides {dict(pairs)}: {exc}") from None
        yield tuple(pairs), data


# ---------------------------------------------------------------------------------------- the grid
def _networks(root: Node, names: list[str], grid_dir: Path, t_values: list[int] | None) -> list[_Net]:
    nets = []
    for i, entry in enumerate(names):
        try:
            npath = _resolve_file(entry, grid_dir, archspecs.network_path)
        except FileNotFoundError as exc:
            raise root.error(f"networks[{i}]", str(exc)) from None
        nfile = _shown(npath)
        ndata = load_yaml(npath)
        net = network_from_data(ndata, nfile)  # validate once here; workers rebuild it from the data
        ts = tuple(t_values) if t_values is not None else (net.timesteps,)
        nets.append(_Net(entry, ndata, nfile, data_digest(ndata), ts))
    return nets


def _arch_entry(root: Node, i: int, entry: Any, grid_dir: Path) -> tuple[str, list[Axis], Path]:
    """An ``archs`` entry: its name, its own axes (overrides and linked groups) and its file."""
    if isinstance(entry, str):
        name, own = entry, []
    else:
        an = Node(entry, root.file, f"archs[{i}]")
        name = an.str("arch")
        own = _read_overrides(an, "overrides") + _read_linked(an, "linked")
        an.done()
    try:
        return name, own, _resolve_file(name, grid_dir, archspecs.arch_path)
    except FileNotFoundError as exc:
        raise root.error(f"archs[{i}]", str(exc)) from None


def load_grid(path: str | Path) -> Grid:
    """Read, validate and expand a grid file; errors are :class:`SpecError` naming file and key."""
    path = Path(path)
    root = Node(load_yaml(path), str(path))
    archs_raw = root.raw("archs")
    if not isinstance(archs_raw, list) or not archs_raw:
        raise root.error("archs", f"expected a non-empty list, got {archs_raw!r}")
    global_ov = _read_overrides(root, "overrides") + _read_linked(root, "linked")
    net_names = _str_list(root, "networks")
    t_values = _timesteps(root)
    flows = _choices(root, "dataflows", ["os"], (*DATAFLOWS, *CROSSBAR_FLOWS, BEST), "dataflow")
    objectives = _choices(root, "objectives", ["energy"], OBJECTIVES, "objective")
    nets = _networks(root, net_names, path.parent, t_values)

    tasks: list[Task] = []
    keys: set[str] = set()
    for i, entry in enumerate(archs_raw):
        name, own_ov, apath = _arch_entry(root, i, entry, path.parent)
        afile = _shown(apath)
        base = load_yaml(apath)
        arch = _validate_arch(base, afile)  # the unmodified arch must load too
        # a crossbar arch takes the crossbar dataflows of the grid, a digital arch the digital ones; an arch none
        # of them applies to gets one point with its default dataflow
        names = flow_names(arch.crossbar is not None)
        arch_flows = [f for f in flows if f in names or f == BEST] or [DEFAULT]
        for pairs, adata in _arch_combos(base, afile, global_ov + own_ov):
            adigest = data_digest(adata)
            for net in nets:
                for t, flow in itertools.product(net.timesteps, arch_flows):
                    for obj in objectives if flow == BEST else [None]:
                        pt = Point(arch=name, overrides=pairs, network=net.entry, T=t, dataflow=flow, objective=obj)
                        key = point_key(pt, adigest, net.digest)
                        if key in keys:
                            raise root.error(f"archs[{i}]", f"point {canonical(pt.params())} is in the grid twice")
                        keys.add(key)
                        tasks.append(
                            Task(
                                key=key,
                                point=pt,
                                arch_data=adata,
                                arch_file=afile,
                                network_data=net.data,
                                network_file=net.file,
                            )
                        )
    root.done()
    return Grid(file=str(path), tasks=tuple(tasks))
