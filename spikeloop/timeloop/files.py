"""Timeloop's input files read into typed values: the architecture tree, the problem, the mapping, ERT and ART.

``timeloop-model`` merges every file it is given into one document and looks up its top-level keys
(``architecture``, ``problem``, ``mapping``, ``ERT``, ``ART``); :func:`read_inputs` does the same, so the files may
come in any order and one file may hold several keys. What is read (Timeloop v3.0.3's own parser decides what a
key means; docs/timeloop.md lists every key and its public source):

* ``architecture``: the tree format (``version: 0.2 | 0.3 | 0.4``; ``subtree`` / ``local`` with ``name[a..b]``
  instance ranges, ``meshX`` / ``meshY``), the same tree flattened (``local`` with dotted names, as the
  front-end ``timeloopfe`` writes it) and timeloopfe's ``nodes`` list (``!Container`` with ``spatial: {meshX,
  meshY}``, ``!Component``, ``!Parallel``). Storage classes (``DRAM``, ``SRAM``, ``regfile``, ``smartbuffer``,
  ``storage``) and compute classes (``mac``, ``intmac``, ``fpmac``, ``compute``) are recognised by substring, as
  Timeloop does; other classes (wires, adders) are not part of the loop nest and are skipped.
* ``problem``: a convolution: the default ``cnn-layer`` shape (dims ``R S P Q C K N``), a named shape, or an
  inline ``shape`` whose data spaces are ``Weights [C, M|K, R, S]``, ``Inputs [N, C, R+P, S+Q]`` and
  ``Outputs [N, M|K, Q, P]`` (read-write); hyphenated (``data-spaces``, ``read-write``) or underscore keys.
* ``mapping``: ``temporal`` / ``spatial`` directives (``factors``, ``permutation`` inner to outer, ``split``),
  ``bypass`` / ``datatype`` directives (``keep``, ``bypass``).
* ``ERT``: per-component action energies (versions 0.2 to 0.4); ``ART``: per-component areas.

Every refusal is a :class:`~costmodel.specio.SpecError` naming the file and the key path: unknown keys where they
change the result (mapping directives, problem instance), and features the engine does not model (sparse
densities, residual factors, dilation, user networks, skews) instead of silently pricing something else.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from costmodel.specio import SpecError, read_text_file

# ------------------------------------------------------------------------------------------------ YAML
STORAGE_CLASSES = ("DRAM", "SRAM", "regfile", "smartbuffer", "storage")
COMPUTE_CLASSES = ("mac", "intmac", "fpmac", "compute")
NETWORK_CLASSES = ("XY_NoC", "Legacy", "ReductionTree", "SimpleMulticast")
TOP_KEYS_USED = ("architecture", "problem", "mapping", "ERT", "ART")
#: Top-level keys Timeloop's front-end writes that do not change what timeloop-model computes for a mapping.
TOP_KEYS_IGNORED = (
    "architecture_constraints",
    "mapspace_constraints",
    "mapspace",
    "mapper",
    "model",
    "compound_components",
    "components",
    "variables",
    "globals",
    "ERT_summary",
    "ART_summary",
    "dumped_by_timeloop_front_end",
    "version",
    "constraints",
    "layer_name",
)
#: Top-level keys that change timeloop-model's result in ways spikeloop does not model.
TOP_KEYS_REFUSED = {"sparse_optimizations": "sparse optimizations (gating, skipping, compression)"}


class Tagged(dict):
    """A YAML mapping written with a tag (timeloopfe's ``!Component``, ``!Container``, ``!Parallel``)."""

    tag: str = ""


class _TaggedList(list):
    tag: str = ""


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps timeloopfe's tags, reads ``1e-9`` as a float and refuses duplicate keys."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:
                    continue
                if first is not key_node:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key {key} (first at line {first.start_mark.line + 1})",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep=deep)


def _tagged(loader: _Loader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: Any = Tagged(loader.construct_mapping(node, deep=True))
    elif isinstance(node, yaml.SequenceNode):
        out = _TaggedList(loader.construct_sequence(node, deep=True))
    elif isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    else:  # pragma: no cover - PyYAML has no other node kind
        return None
    out.tag = suffix
    return out


_Loader.add_multi_constructor("!", _tagged)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$|^[-+]?\.[0-9_]+[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def load_timeloop_yaml(path: str | Path) -> Any:
    """One YAML document of a Timeloop file (timeloopfe tags kept); errors are one-line SpecErrors."""
    text = read_text_file(path, what="Timeloop YAML file")
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"{path}:{where}: malformed YAML: {problem}") from None
    except RecursionError:
        raise SpecError(f"{path}: nested too deeply") from None


def norm(key: Any) -> Any:
    """Timeloop spells keys with hyphens or underscores (``word-bits``, ``data_spaces``): one spelling."""
    return key.replace("-", "_") if isinstance(key, str) else key


class TNode:
    """A mapping of a Timeloop file with its file and key path; keys looked up in either spelling."""

    __slots__ = ("data", "file", "path", "spelled")

    def __init__(self, data: Any, file: str, path: str) -> None:
        if not isinstance(data, dict):
            raise SpecError(f"{file}: {path}: expected a mapping, got {_shown(data)}")
        self.file, self.path = file, path
        self.data: dict[Any, Any] = {}
        self.spelled: dict[Any, Any] = {}
        for k, v in data.items():
            n = norm(k)
            if n in self.data:
                raise SpecError(f"{file}: {path}.{k}: given twice ({self.spelled[n]} and {k})")
            self.data[n], self.spelled[n] = v, k

    def where(self, key: str | None = None) -> str:
        if key is None:
            return f"{self.file}: {self.path}"
        return f"{self.file}: {self.path}.{self.spelled.get(norm(key), key)}"

    def error(self, key: str | None, msg: str) -> SpecError:
        return SpecError(f"{self.where(key)}: {msg}")

    def has(self, key: str) -> bool:
        return norm(key) in self.data

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(norm(key), default)

    def first(self, *keys: str) -> tuple[str | None, Any]:
        """The first of ``keys`` present (Timeloop's alternatives, e.g. ``depth`` / ``memory_depth``)."""
        for k in keys:
            if norm(k) in self.data:
                return k, self.data[norm(k)]
        return None, None

    def child(self, key: str) -> TNode:
        return TNode(self.data[norm(key)], self.file, f"{self.path}.{self.spelled[norm(key)]}")

    def int(self, key: str, value: Any, *, minimum: int = 1) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            if isinstance(value, float) and value.is_integer() and value >= minimum:
                return int(value)
            raise self.error(key, f"expected an integer >= {minimum}, got {_shown(value)}")
        return value

    def number(self, key: str, value: Any, *, minimum: float = 0.0) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < minimum:
            raise self.error(key, f"expected a number >= {minimum}, got {_shown(value)}")
        return float(value)

    def unknown(self, allowed: tuple[str, ...], what: str) -> None:
        """Refuse a key outside ``allowed`` (compared in one spelling)."""
        extra = [self.spelled[k] for k in self.data if k not in {norm(a) for a in allowed}]
        if extra:
            raise self.error(str(extra[0]), f"unknown key in {what} (known: {', '.join(allowed)})")


def _shown(v: Any) -> str:
    return (
        f"the string {v!r}" if isinstance(v, str) else repr(v) if not isinstance(v, dict | list) else type(v).__name__
    )


# ------------------------------------------------------------------------------------------------ the merged inputs
@dataclass(frozen=True, slots=True)
class Inputs:
    """The top-level keys of every given file, each with the file it came from."""

    sections: dict[str, tuple[Any, str]]
    notes: tuple[str, ...] = ()

    def section(self, key: str) -> tuple[Any, str] | None:
        return self.sections.get(key)


def read_inputs(paths: Sequence[str | Path]) -> Inputs:
    """Merge Timeloop files as timeloop-model does (top-level keys of every file); a key given twice, a missing
    file or a file that is not a mapping is a one-line error naming the file."""
    sections: dict[str, tuple[Any, str]] = {}
    notes: list[str] = []
    for p in paths:
        data = load_timeloop_yaml(p)
        file = str(p)
        if not isinstance(data, dict):
            raise SpecError(
                f"{file}: expected a mapping of top-level keys (architecture, problem, mapping, ERT, "
                f"ART), got {_shown(data)}"
            )
        for key, value in data.items():
            if key in sections:
                raise SpecError(f"{file}: {key}: also given in {sections[key][1]}")
            if key in TOP_KEYS_REFUSED:
                raise SpecError(
                    f"{file}: {key}: {TOP_KEYS_REFUSED[key]} are not supported by spikeloop's Timeloop reader"
                )
            if key in TOP_KEYS_USED:
                sections[key] = (value, file)
            elif key in TOP_KEYS_IGNORED:
                if key == "architecture_constraints":
                    notes.append(f"{file}: architecture_constraints ignored (the mapping is evaluated as given)")
            else:
                known = ", ".join(TOP_KEYS_USED)
                raise SpecError(f"{file}: {key}: unknown top-level key (known: {known})")
    for key in ("architecture", "problem", "mapping"):
        if key not in sections:
            raise SpecError(f"{', '.join(str(p) for p in paths)}: no file has the top-level key {key}:")
    return Inputs(sections=sections, notes=tuple(notes))


# ------------------------------------------------------------------------------------------------ architecture
@dataclass(frozen=True, slots=True, kw_only=True)
class Storage:
    """One Timeloop storage level (outer levels first in :class:`TLArch`). Widths in bits, sizes in elements."""

    name: str
    cls: str
    instances: int
    mesh_x: int
    mesh_y: int
    word_bits: int  # bits per element (``word-bits`` / ``datawidth``; Timeloop's default 16)
    block_size: int  # elements per vector access
    cluster_size: int
    size_elements: int | None  # None: unbounded
    multiple_buffering: float
    read_elements_per_cycle: float | None  # per instance (Timeloop's read_bandwidth, in words)
    write_elements_per_cycle: float | None
    shared_elements_per_cycle: float | None
    vector_access_pj: float | None  # pJ per vector access given in the attributes
    where: str  # file and key path, for messages

    @property
    def effective_size_elements(self) -> int | None:
        return None if self.size_elements is None else int(self.size_elements // self.multiple_buffering)


@dataclass(frozen=True, slots=True, kw_only=True)
class Arithmetic:
    name: str
    cls: str
    instances: int
    mesh_x: int
    mesh_y: int
    where: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TLArch:
    storage: tuple[Storage, ...]  # outermost first
    arithmetic: Arithmetic
    file: str
    skipped: tuple[str, ...] = ()  # components of classes outside the loop nest (wires, adders)

    def names(self) -> list[str]:
        return [s.name for s in self.storage]

    def index(self, name: str) -> int:
        return self.names().index(name)


_RANGE = re.compile(r"^(?P<name>[^\[\]]*)(\[(?P<lo>\d+)\.\.(?P<hi>\d+)\])?$")


def split_name(name: Any, where: str) -> tuple[str, int]:
    """``PE[0..167]`` -> (``PE``, 168); ``DRAM[1..1]`` -> (``DRAM``, 1); ``glb`` -> (``glb``, 1)."""
    if not isinstance(name, str) or not name:
        raise SpecError(f"{where}: expected a component name, got {_shown(name)}")
    m = _RANGE.match(name.strip())
    if m is None:
        raise SpecError(f"{where}: {name!r}: expected NAME or NAME[a..b]")
    if m.group("lo") is None:
        return m.group("name"), 1
    lo, hi = int(m.group("lo")), int(m.group("hi"))
    if hi < lo:
        raise SpecError(f"{where}: {name!r}: empty instance range")
    return m.group("name"), hi - lo + 1


def _is(cls: str, classes: tuple[str, ...]) -> bool:
    return any(c in cls for c in classes)


#: Attribute keys that change timeloop-model's counts in ways spikeloop does not model.
_UNSUPPORTED_ATTRS = {
    "metadata_storage_width": "compressed metadata",
    "metadata_storage_depth": "compressed metadata",
    "metadata_datawidth": "compressed metadata",
    "metadata_word_bits": "compressed metadata",
    "metadata_block_size": "compressed metadata",
    "compression_supported": "compression",
    "decompression_supported": "compression",
    "concordant_compressed_tile_traversal": "compressed tile traversal",
    "network_read": "user-defined networks",
    "network_fill": "user-defined networks",
    "network_drain": "user-defined networks",
    "network_update": "user-defined networks",
    "min_utilization": "a minimum-utilisation constraint (a mapper setting)",
    "allow_overbooking": "overbooking",
}


def _attributes(node: TNode) -> TNode:
    return (
        node.child("attributes")
        if node.has("attributes") and node.get("attributes") is not None
        else TNode({}, node.file, f"{node.path}.attributes")
    )


def _storage(node: TNode, name: str, cls: str, instances: int, inherited: dict[str, Any]) -> Storage:
    a = _attributes(node)
    for key, what in _UNSUPPORTED_ATTRS.items():
        v = a.get(key)
        if a.has(key) and v not in (None, False, 0):
            raise a.error(key, f"{what} is not supported by spikeloop's Timeloop reader")
    if a.has("bandwidth"):
        raise a.error(
            "bandwidth",
            "deprecated in Timeloop (read as read = write = bandwidth / 2): give read_bandwidth and write_bandwidth",
        )
    wkey, word = a.first("word_bits", "word_width", "datawidth")
    word_bits = 16 if wkey is None else a.int(wkey, word)
    bkey, block = a.first("block_size", "n_words")
    block_size = 1 if bkey is None else a.int(bkey, block)
    ckey, cluster = a.first("cluster_size")
    cluster_size = 1 if ckey is None else a.int(ckey, cluster)
    wdkey, width = a.first("width", "memory_width", "data_storage_width")
    if wdkey is not None:
        width = a.int(wdkey, width)
        if width % (word_bits * block_size):
            raise a.error(
                wdkey, f"width {width} is not a multiple of word bits x block size ({word_bits} x {block_size})"
            )
        if bkey is not None and ckey is not None:
            if block_size * word_bits * cluster_size != width:
                raise a.error(wdkey, "block size x word bits x cluster size != width")
        elif ckey is not None:
            block_size = width // cluster_size // word_bits
        elif bkey is not None:
            cluster_size = width // (word_bits * block_size)
        else:
            block_size, cluster_size = width // word_bits, 1
    if cluster_size != 1:
        raise a.error(
            ckey or wdkey, "clustered storage (cluster_size > 1) is not supported by spikeloop's Timeloop reader"
        )
    size: int | None = None
    skey, raw = a.first("entries")
    if skey is not None:
        size = a.int(skey, raw, minimum=0)
    else:
        skey, raw = a.first("depth", "memory_depth", "data_storage_depth")
        if skey is not None:
            size = a.int(skey, raw, minimum=0) * block_size
        else:
            skey, raw = a.first("sizeKB")
            if skey is not None:
                size = a.int(skey, raw, minimum=0) * 1024 * 8 // word_bits
    if size == 0:
        size = None if "DRAM" in cls else 0
    mb_key, mb = a.first("multiple_buffering")
    multiple_buffering = 1.0 if mb_key is None else a.number(mb_key, mb, minimum=1.0)

    def bw(key: str) -> float | None:
        k, v = a.first(key)
        return None if k is None else a.number(k, v)

    ikey, inst = a.first("instances")
    if ikey is not None:
        instances = a.int(ikey, inst)
    mesh_x, mesh_y = _mesh(a, instances, inherited)
    vkey, vae = a.first("vector_access_energy")
    return Storage(
        name=name,
        cls=cls,
        instances=instances,
        mesh_x=mesh_x,
        mesh_y=mesh_y,
        word_bits=word_bits,
        block_size=block_size,
        cluster_size=cluster_size,
        size_elements=size,
        multiple_buffering=multiple_buffering,
        read_elements_per_cycle=bw("read_bandwidth"),
        write_elements_per_cycle=bw("write_bandwidth"),
        shared_elements_per_cycle=bw("shared_bandwidth"),
        vector_access_pj=None if vkey is None else a.number(vkey, vae),
        where=node.where(),
    )


def _mesh(a: TNode, instances: int, inherited: dict[str, Any]) -> tuple[int, int]:
    """meshX / meshY as Timeloop completes them: both given; one given (the other = instances / it); none
    (all instances along X)."""
    xk, x = a.first("meshX")
    yk, y = a.first("meshY")
    if xk is None and "meshX" in inherited:
        xk, x = "meshX", inherited["meshX"]
    if yk is None and "meshY" in inherited:
        yk, y = "meshY", inherited["meshY"]
    if xk is not None:
        x = a.int(xk, x)
        if yk is not None:
            y = a.int(yk, y)
            if x * y != instances:
                raise a.error(xk, f"meshX x meshY = {x} x {y} != {instances} instances")
            return x, y
        if instances % x:
            raise a.error(xk, f"{instances} instances do not divide into meshX = {x}")
        return x, instances // x
    if yk is not None:
        y = a.int(yk, y)
        if instances % y:
            raise a.error(yk, f"{instances} instances do not divide into meshY = {y}")
        return instances // y, y
    return instances, 1


def _arithmetic(node: TNode, name: str, cls: str, instances: int, inherited: dict[str, Any]) -> Arithmetic:
    a = _attributes(node)
    ikey, inst = a.first("instances")
    if ikey is not None:
        instances = a.int(ikey, inst)
    mx, my = _mesh(a, instances, inherited)
    return Arithmetic(name=name, cls=cls, instances=instances, mesh_x=mx, mesh_y=my, where=node.where())


class _ArchBuilder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.storage: list[Storage] = []
        self.arith: list[Arithmetic] = []
        self.skipped: list[str] = []

    def component(self, node: TNode, name: str, instances: int, inherited: dict[str, Any] | None = None) -> None:
        cls = node.get("class")
        if not isinstance(cls, str):
            raise node.error("class", f"expected a component class, got {_shown(cls)}")
        if node.get("enabled", True) is False:
            return
        inh = inherited or {}
        if _is(cls, STORAGE_CLASSES):
            self.storage.append(_storage(node, name, cls, instances, inh))
        elif _is(cls, COMPUTE_CLASSES):
            self.arith.append(_arithmetic(node, name, cls, instances, inh))
        elif _is(cls, NETWORK_CLASSES):
            raise node.error(
                "class",
                f"user-defined network {cls!r} is not supported by spikeloop's Timeloop "
                "reader (the storage levels' inferred networks are)",
            )
        else:
            self.skipped.append(f"{name} ({cls})")

    def done(self, where: str) -> TLArch:
        if not self.storage:
            raise SpecError(f"{where}: no storage level (classes containing {', '.join(STORAGE_CLASSES)})")
        if len(self.arith) != 1:
            raise SpecError(
                f"{where}: expected one compute component (class containing "
                f"{', '.join(COMPUTE_CLASSES)}), got {len(self.arith)}"
            )
        names = [s.name for s in self.storage]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise SpecError(f"{where}: storage level name {dup[0]!r} used twice")
        return TLArch(
            storage=tuple(self.storage), arithmetic=self.arith[0], file=self.file, skipped=tuple(self.skipped)
        )


def _tree(b: _ArchBuilder, node: TNode, mult: int) -> None:
    """Timeloop's tree walk: each ``subtree`` (one per level) multiplies the instances by its name's range; its
    ``local`` components are outer to inner in list order, and deeper subtrees are inner."""
    while node.has("subtree"):
        subs = node.get("subtree")
        if not isinstance(subs, list) or len(subs) != 1:
            raise node.error("subtree", "expected a list of exactly one subtree (Timeloop supports one per level)")
        sub_name = subs[0].get("name") if isinstance(subs[0], dict) else None
        node = TNode(subs[0], node.file, f"{node.path}.{sub_name if isinstance(sub_name, str) else 'subtree[0]'}")
        _, n = split_name(node.get("name"), node.where("name"))
        mult *= n
        if node.has("local"):
            local = node.get("local")
            if not isinstance(local, list):
                raise node.error("local", "expected a list of components")
            for i, item in enumerate(local):
                c = TNode(item, node.file, f"{node.path}.local[{i}]")
                name, k = split_name(c.get("name"), c.where("name"))
                c.path = f"{node.path}.{name}"
                b.component(c, name, mult * k)


def _flat(b: _ArchBuilder, node: TNode) -> None:
    """The tree flattened (``local`` with dotted names ``system.PE[1..168].spad`` as the front-end writes):
    the instance count is the range of the last part (the front-end writes each component's total)."""
    local = node.get("local")
    if not isinstance(local, list):
        raise node.error("local", "expected a list of components")
    for i, item in enumerate(local):
        c = TNode(item, node.file, f"{node.path}.local[{i}]")
        full = c.get("name")
        last = re.split(r"\.(?![^\[]*\])", full)[-1] if isinstance(full, str) else full  # dots outside [a..b]
        name, k = split_name(last, c.where("name"))
        c.path = f"{node.path}.{name}"
        a = _attributes(c)
        n = a.get("n_instances")
        b.component(c, name, n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else k)


def _nodes(b: _ArchBuilder, items: Any, node: TNode, key: str, mult: int, mesh: tuple[int, int]) -> None:
    """timeloopfe's ``nodes`` list: a ``!Container`` with ``spatial: {meshX, meshY}`` multiplies the instances
    below it and adds an ``inter_<name>_spatial`` dummy storage level whose fanout is that mesh; ``!Component``
    is a level or the compute unit; ``!Parallel`` / ``!Hierarchical`` group nodes."""
    if not isinstance(items, list):
        raise node.error(key, "expected a list of nodes")
    for i, item in enumerate(items):
        c = TNode(item, node.file, f"{node.path}.{key}[{i}]")
        tag = getattr(item, "tag", "") or ("Component" if c.has("class") else "Container")
        if tag in ("Parallel", "Hierarchical", "Pipelined"):
            _nodes(b, c.get("nodes", []), c, "nodes", mult, mesh)
            continue
        name, _ = split_name(c.get("name"), c.where("name"))
        c.path = f"{node.path}.{name}"
        sp = c.child("spatial") if c.has("spatial") and c.get("spatial") else None
        mx = my = 1
        if sp is not None:
            sp.unknown(("meshX", "meshY", "get_fanout", "fanout_x", "fanout_y"), "spatial")
            mx = sp.int("meshX", sp.get("meshX", 1))
            my = sp.int("meshY", sp.get("meshY", 1))
        if tag == "Container":
            if mx * my > 1:
                dummy = TNode(
                    {
                        "name": f"inter_{name}_spatial",
                        "class": "dummy_storage",
                        "attributes": {"width": 1, "depth": 1, "datawidth": 1},
                    },
                    c.file,
                    c.path,
                )
                b.component(dummy, f"inter_{name}_spatial", mult, {"meshX": mesh[0], "meshY": mesh[1]})
                mult, mesh = mult * mx * my, (mesh[0] * mx, mesh[1] * my)
            continue
        if tag != "Component":
            raise c.error(None, f"unknown node tag !{tag} (known: !Component, !Container, !Parallel, !Hierarchical)")
        if mx * my > 1:
            raise c.error(
                "spatial",
                "a component with its own spatial fanout is not supported: put it in a "
                "!Container with spatial: {meshX, meshY}",
            )
        b.component(c, name, mult, {"meshX": mesh[0], "meshY": mesh[1]})


def parse_arch(data: Any, file: str) -> TLArch:
    """The storage levels (outer to inner) and compute unit of an ``architecture`` section."""
    node = TNode(data, file, "architecture")
    b = _ArchBuilder(file)
    if node.has("subtree"):
        _tree(b, node, 1)
    elif node.has("nodes"):
        _nodes(b, node.get("nodes"), node, "nodes", 1, (1, 1))
    elif node.has("local"):
        _flat(b, node)
    elif node.has("storage") or node.has("arithmetic"):
        raise node.error(
            "storage", "the ISPASS-2019 list format is not supported; use the tree format (subtree / local)"
        )
    else:
        raise node.error(None, "expected subtree (Timeloop's tree), local (flattened) or nodes (timeloopfe)")
    return b.done(node.where())


# ------------------------------------------------------------------------------------------------ ERT / ART
def parse_ert(data: Any, file: str, key: str = "ERT") -> dict[str, dict[str, float]]:
    """Component name (the last dotted part, ranges dropped, as Timeloop matches it) -> action -> energy (pJ,
    the largest over an action's argument variants, as Timeloop takes it). ``key`` ``ART``: -> {"area": um^2}."""
    node = TNode(data, file, key)
    tables = node.get("tables")
    out: dict[str, dict[str, float]] = {}
    if key == "ART":
        if not isinstance(tables, list):
            raise node.error("tables", "expected a list of {name, area}")
        for i, t in enumerate(tables):
            tn = TNode(t, file, f"{key}.tables[{i}]")
            out[_component(tn.get("name"), tn.where("name"))] = {"area": tn.number("area", tn.get("area"))}
        return out
    if isinstance(tables, dict):  # version 0.2: {name: {action: [{arguments, energy}] | {energy}}}
        for name, actions in tables.items():
            where = f"{file}: {key}.tables.{name}"
            if not isinstance(actions, dict):
                raise SpecError(f"{where}: expected a mapping of actions")
            out[_component(name, where)] = {a: _energy(v, f"{where}.{a}") for a, v in actions.items()}
        return out
    if not isinstance(tables, list):
        raise node.error("tables", "expected a list of {name, actions} (ERT 0.3 / 0.4) or a mapping (0.2)")
    for i, t in enumerate(tables):
        tn = TNode(t, file, f"{key}.tables[{i}]")
        acts = tn.get("actions")
        if not isinstance(acts, list):
            raise tn.error("actions", "expected a list of {name, arguments, energy}")
        entry: dict[str, float] = {}
        for j, act in enumerate(acts):
            an = TNode(act, file, f"{tn.path}.actions[{j}]")
            name = an.get("name")
            if not isinstance(name, str):
                raise an.error("name", f"expected an action name, got {_shown(name)}")
            e = an.number("energy", an.get("energy"))
            entry[name] = max(entry.get(name, 0.0), e)
        out[_component(tn.get("name"), tn.where("name"))] = entry
    return out


def _component(name: Any, where: str) -> str:
    if not isinstance(name, str):
        raise SpecError(f"{where}: expected a component name, got {_shown(name)}")
    last = re.sub(r"\[\d+\.\.\d+\]", "", name).rsplit(".", 1)[-1]
    return last


def _energy(v: Any, where: str) -> float:
    items = v if isinstance(v, list) else [v]
    best = 0.0
    for it in items:
        if not isinstance(it, dict) or "energy" not in it:
            raise SpecError(f"{where}: expected {{energy: pJ}} entries")
        e = it["energy"]
        if isinstance(e, bool) or not isinstance(e, int | float) or e < 0:
            raise SpecError(f"{where}.energy: expected a number >= 0, got {_shown(e)}")
        best = max(best, float(e))
    return best


# ------------------------------------------------------------------------------------------------ problem
#: Our roles of the convolution's dims, by Timeloop's names (``M`` in the exercises' shape, ``K`` in cnn-layer).
CONV_DIMS = ("R", "S", "P", "Q", "C", "K", "N")
_INSTANCE_KEYS = ("Wstride", "Hstride", "Wdilation", "Hdilation", "Hpad", "Wpad", "H", "W", "densities")


@dataclass(frozen=True, slots=True, kw_only=True)
class TLProblem:
    """A convolution: bounds by role (``R S P Q C K N``), the name Timeloop uses for each role, the stride."""

    bounds: dict[str, int]
    names: dict[str, str]  # role -> Timeloop dim name (K -> "M" in most shapes)
    stride: int
    file: str
    notes: tuple[str, ...] = ()

    def role_of(self, tl_name: str) -> str | None:
        for role, n in self.names.items():
            if n == tl_name:
                return role
        return None

    @property
    def macs(self) -> int:
        return math.prod(self.bounds.values())


def _projection_dims(p: Any, where: str) -> list[list[str]]:
    """A data space's projection as a list of terms per rank: [[C], [M], ...] or [[R, Wdilation], [P, Wstride]]
    reduced to the dims in each rank (coefficients dropped)."""
    if not isinstance(p, list):
        raise SpecError(f"{where}: expected a list")
    out: list[list[str]] = []
    for rank in p:
        if isinstance(rank, str):
            out.append([rank])
            continue
        if not isinstance(rank, list):
            raise SpecError(f"{where}: expected a list of terms per rank, got {_shown(rank)}")
        dims = []
        for term in rank:
            if isinstance(term, list) and term and isinstance(term[0], str):
                dims.append(term[0])
            elif isinstance(term, str):
                dims.append(term)
            else:
                raise SpecError(f"{where}: expected [dim] or [dim, coefficient] terms, got {_shown(term)}")
        out.append(dims)
    return out


def _shape_roles(shape: TNode) -> dict[str, str]:
    """Role -> dim name for an inline shape, checked to be a convolution (Weights [C,K,R,S], Inputs [N, C,
    R+P, S+Q], Outputs [N, K, P, Q] read-write)."""
    dims = shape.get("dimensions")
    if not isinstance(dims, list) or not all(isinstance(d, str) for d in dims):
        raise shape.error("dimensions", "expected a list of one-letter dim names")
    spaces = shape.get("data_spaces")
    if not isinstance(spaces, list):
        raise shape.error("data_spaces", "expected a list of data spaces")
    got: dict[str, tuple[list[list[str]], bool]] = {}
    for i, ds in enumerate(spaces):
        dn = TNode(ds, shape.file, f"{shape.path}.{shape.spelled[norm('data_spaces')]}[{i}]")
        dn.unknown(("name", "projection", "read_write"), "a data space")
        name = dn.get("name")
        got[name] = (_projection_dims(dn.get("projection"), dn.where("projection")), bool(dn.get("read_write")))
    if set(got) != {"Weights", "Inputs", "Outputs"}:
        raise shape.error(
            "data_spaces",
            f"expected the data spaces Weights, Inputs, Outputs (a convolution), got {', '.join(map(str, got))}",
        )
    w, i_, o = got["Weights"][0], got["Inputs"][0], got["Outputs"][0]
    ok = (
        len(w) == 4
        and all(len(r) == 1 for r in w)
        and len(i_) == 4
        and len(i_[0]) == 1
        and len(i_[1]) == 1
        and len(i_[2]) == 2
        and len(i_[3]) == 2
        and len(o) == 4
        and all(len(r) == 1 for r in o)
        and got["Outputs"][1]
        and not got["Weights"][1]
        and not got["Inputs"][1]
    )
    if not ok:
        raise shape.error(
            "data_spaces",
            "not a convolution shape: expected Weights [C, M, R, S], Inputs [N, C, "
            "R*d + P*s, S*d + Q*s], Outputs [N, M, Q, P] read-write",
        )
    n, c = i_[0][0], i_[1][0]
    r, p = i_[2]
    s, q = i_[3]
    k = next((x[0] for x in w if x[0] not in (c, r, s)), "")
    roles = {"R": r, "S": s, "P": p, "Q": q, "C": c, "K": k, "N": n}
    weights_ok = sorted(x[0] for x in w) == sorted([c, k, r, s])
    outputs_ok = sorted(x[0] for x in o) == sorted([n, k, p, q])
    if (
        not k
        or not weights_ok
        or not outputs_ok
        or len(set(roles.values())) != 7
        or sorted(dims) != sorted(roles.values())
    ):
        raise shape.error(
            "data_spaces",
            "not a convolution shape: the dims of Weights, Inputs and Outputs do not make R, S, P, Q, C, M, N",
        )
    return roles


def parse_problem(data: Any, file: str) -> TLProblem:
    node = TNode(data, file, "problem")
    node.unknown(("shape", "instance", "version", "densities") + CONV_DIMS + ("M",) + _INSTANCE_KEYS, "problem")
    shape = node.get("shape")
    if shape is None or isinstance(shape, str):
        if shape is not None and shape.lower() not in ("cnn-layer", "cnn_layer"):
            raise node.error(
                "shape", f"unknown named shape {shape!r}: give the shape inline (only cnn-layer is built in)"
            )
        roles = {d: d for d in CONV_DIMS}
    else:
        roles = _shape_roles(node.child("shape"))
    inst = node.child("instance") if node.has("instance") else node
    allowed = tuple(roles.values()) + _INSTANCE_KEYS
    for k in inst.data:
        if k in ("shape", "instance", "version"):
            continue
        if k not in allowed:
            raise inst.error(
                str(inst.spelled[k]),
                f"unknown key in the problem instance (dims {' '.join(roles.values())}; {', '.join(_INSTANCE_KEYS)})",
            )
    bounds = {}
    for role, name in roles.items():
        if not inst.has(name):
            raise inst.error(name, f"required dim {name} is missing")
        bounds[role] = inst.int(name, inst.get(name))
    stride = {k: inst.int(k, inst.get(k, 1)) for k in ("Wstride", "Hstride")}
    if stride["Wstride"] != stride["Hstride"]:
        raise inst.error(
            "Hstride",
            f"different strides along the two axes ({stride['Wstride']} and {stride['Hstride']}) are not supported",
        )
    for k in ("Wdilation", "Hdilation"):
        if inst.int(k, inst.get(k, 1)) != 1:
            raise inst.error(k, "dilation is not supported")
    notes = []
    for k in ("Hpad", "Wpad"):
        if inst.has(k) and inst.get(k):
            notes.append(
                f"{file}: problem.{k} ignored: Timeloop's conv has implicit padding (the input is "
                "(P - 1) x stride + R by (Q - 1) x stride + S)"
            )
    dens = inst.get("densities") if inst.has("densities") else node.get("densities")
    if isinstance(dens, dict):
        for ds, v in dens.items():
            d = v.get("density", 1.0) if isinstance(v, dict) else v
            if d != 1.0 and d != 1:
                raise SpecError(f"{file}: problem.densities.{ds}: sparse workloads (density {d}) are not supported")
    return TLProblem(bounds=bounds, names=roles, stride=stride["Wstride"], file=file, notes=tuple(notes))


# ------------------------------------------------------------------------------------------------ mapping
DATA_SPACES = ("Weights", "Inputs", "Outputs")


@dataclass(frozen=True, slots=True, kw_only=True)
class LevelLoops:
    """One storage level's loops by role: temporal outer to inner, spatial (role, bound, axis x|y) outer to
    inner; ``keep`` / ``bypass``: data spaces the mapping names (others are Timeloop's default)."""

    temporal: tuple[tuple[str, int], ...] = ()
    spatial: tuple[tuple[str, int, str], ...] = ()
    keep: frozenset[str] = frozenset()
    bypass: frozenset[str] = frozenset()
    has_temporal: bool = False
    has_spatial: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TLMapping:
    levels: dict[str, LevelLoops] = field(default_factory=dict)
    file: str = ""
    notes: tuple[str, ...] = ()


_FACTOR = re.compile(r"([A-Za-z]+)\s*=*\s*([0-9]+)(,([0-9]+))?")
_DIRECTIVE_KEYS = {
    "temporal": ("target", "type", "factors", "permutation"),
    "spatial": ("target", "type", "factors", "permutation", "split"),
    "bypass": ("target", "type", "keep", "bypass"),
    "datatype": ("target", "type", "keep", "bypass"),
}
_DIRECTIVE_UNSUPPORTED = (
    "no_link_transfer",
    "no_multicast_no_reduction",
    "no_temporal_reuse",
    "skew",
    "confidence_threshold",
    "max_factors",
    "min_factors",
    "residual",
)


def _factors(dn: TNode, problem: TLProblem) -> dict[str, int]:
    raw = dn.get("factors")
    if isinstance(raw, list):
        raw = " ".join(str(x) for x in raw)
    if not isinstance(raw, str):
        raise dn.error("factors", f"expected a string such as 'C=2 M=4' (or a list of 'C=2'), got {_shown(raw)}")
    text = raw.split("#", 1)[0]
    out: dict[str, int] = {}
    rest = text
    for m in _FACTOR.finditer(text):
        name, end = m.group(1), int(m.group(2))
        role = problem.role_of(name)
        if role is None:
            raise dn.error(
                "factors", f"dimension {name} is not a dim of the problem ({' '.join(problem.names.values())})"
            )
        if m.group(4) is not None and int(m.group(4)) != end:
            raise dn.error("factors", f"{m.group(0)}: residual (imperfect) factors are not supported")
        out[role] = problem.bounds[role] if end == 0 else end
        rest = rest.replace(m.group(0), " ", 1)
    if rest.replace(",", " ").strip():
        raise dn.error("factors", f"cannot read {rest.strip()!r} (expected DIM=N entries)")
    return out


def _permutation(dn: TNode, problem: TLProblem) -> list[str]:
    raw = dn.get("permutation", "")
    if isinstance(raw, list):
        raw = "".join(str(x) for x in raw)
    if not isinstance(raw, str):
        raise dn.error("permutation", f"expected a string of dim letters (inner to outer), got {_shown(raw)}")
    out = []
    for ch in raw.replace(",", " ").split():
        for c in ch:
            role = problem.role_of(c)
            if role is None:
                raise dn.error("permutation", f"dimension {c} is not a dim of the problem")
            if role in out:
                raise dn.error("permutation", f"dimension {c} appears twice in {raw!r}")
            out.append(role)
    return out


def _space_list(dn: TNode, key: str) -> frozenset[str]:
    v = dn.get(key, [])
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list):
        raise dn.error(key, f"expected a list of data spaces, got {_shown(v)}")
    for s in v:
        if s not in DATA_SPACES:
            raise dn.error(key, f"unknown data space {s!r} (expected {', '.join(DATA_SPACES)})")
    return frozenset(v)


def parse_mapping(data: Any, file: str, arch: TLArch, problem: TLProblem) -> TLMapping:
    """Loops per storage level by role. Timeloop's rules: a level without a directive has factor 1 everywhere;
    dims missing from a permutation go outside the given ones (in the shape's dim order); spatial loops at
    positions below ``split`` of the permutation run along X, the rest along Y (``split`` absent: all X)."""
    if isinstance(data, dict) and "mapping" in data and len(data) == 1:
        data = data["mapping"]
    if not isinstance(data, list):
        raise SpecError(f"{file}: mapping: expected a list of directives (target, type, ...)")
    names = arch.names()
    acc: dict[str, dict[str, Any]] = {n: {} for n in names}
    order = list(problem.names)  # roles in the shape's order
    for i, d in enumerate(data):
        dn = TNode(d, file, f"mapping[{i}]")
        kind = dn.get("type")
        if kind not in _DIRECTIVE_KEYS:
            raise dn.error("type", f"expected temporal, spatial, bypass or datatype, got {_shown(kind)}")
        for k in _DIRECTIVE_UNSUPPORTED:
            if dn.has(k):
                raise dn.error(k, "not supported by spikeloop's Timeloop reader")
        dn.unknown(_DIRECTIVE_KEYS[kind], f"a {kind} directive")
        target = dn.get("target")
        if isinstance(target, int) and not isinstance(target, bool):
            if not 0 <= target < len(names):
                raise dn.error("target", f"storage level id {target} out of range 0..{len(names) - 1}")
            target = names[len(names) - 1 - target]  # Timeloop numbers storage levels from the innermost
        if target not in names:
            raise dn.error("target", f"no storage level {target!r} (levels: {', '.join(names)})")
        slot = acc[target]
        if kind in ("bypass", "datatype"):
            keep, byp = _space_list(dn, "keep"), _space_list(dn, "bypass")
            both = keep & byp
            if both:
                raise dn.error("keep", f"{sorted(both)[0]} is both kept and bypassed")
            slot["keep"] = slot.get("keep", frozenset()) | keep
            slot["bypass"] = slot.get("bypass", frozenset()) | byp
            continue
        if kind in slot:
            raise dn.error("type", f"a second {kind} directive for {target}")
        factors = _factors(dn, problem) if dn.has("factors") else {}
        perm = _permutation(dn, problem)
        perm += [r for r in order if r not in perm]  # Timeloop pads outside the given dims
        if kind == "temporal":
            slot["temporal"] = tuple((r, factors[r]) for r in reversed(perm) if factors.get(r, 1) > 1)
        else:
            split = dn.int("split", dn.get("split", len(order)), minimum=0)
            idx = {r: j for j, r in enumerate(perm)}
            loops = [(r, factors[r], "x" if idx[r] < split else "y") for r in reversed(perm) if factors.get(r, 1) > 1]
            slot["spatial"] = tuple(loops)
    levels = {
        n: LevelLoops(
            temporal=v.get("temporal", ()),
            spatial=v.get("spatial", ()),
            keep=v.get("keep", frozenset()),
            bypass=v.get("bypass", frozenset()),
            has_temporal="temporal" in v,
            has_spatial="spatial" in v,
        )
        for n, v in acc.items()
    }
    prod = {r: 1 for r in problem.bounds}
    for lv in levels.values():
        for r, b in lv.temporal:
            prod[r] *= b
        for r, b, _ in lv.spatial:
            prod[r] *= b
    for r, b in problem.bounds.items():
        if prod[r] != b:
            raise SpecError(
                f"{file}: mapping: the factors of {problem.names[r]} multiply to {prod[r]}, the "
                f"problem's {problem.names[r]} is {b}"
            )
    return TLMapping(levels=levels, file=file)
