"""YAML loading helpers shared by every spec loader: strict keys and errors that name the path.

Every error is a :class:`SpecError` whose message is one line:
``archspecs/sata.yaml: levels[2].capacity_bits: expected a positive integer, got -5``.

What :func:`load_yaml` refuses, before or while parsing, always naming the file (and the line where
there is one):

* anything but a regular file (a directory, ``/dev/zero``, a pipe), and files over
  :data:`MAX_FILE_BYTES` (1 MiB); the file is read with that cap, so an endless file cannot be read whole;
* binary files (a NUL byte) and text that is not UTF-8;
* mappings with a duplicate key (``my.yaml:12: duplicate key clock_hz (first at line 4)``): YAML would
  silently keep the last value;
* nesting deeper than :data:`MAX_DEPTH` levels (no ``RecursionError``, with or without aliases);
* anchors and aliases are allowed, but the document with every alias expanded may have at most
  :data:`MAX_NODES` nodes, and an alias may not refer to a node that contains it. An "alias bomb"
  (a few lines whose aliases expand to billions of nodes) is refused instead of being handed to code
  that copies or serializes the data.

:class:`Node` reads numbers strictly: ``Node.float`` and ``Node.int`` refuse booleans, numbers given
as strings (``"1e9"``), NaN and infinities, and values beyond :data:`MAX_FLOAT` / :data:`MAX_INT`,
and check a documented range in the same call.
"""

from __future__ import annotations

import builtins
import math
import os
import re
import stat
from collections.abc import Iterable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import yaml

E = TypeVar("E", bound=Enum)

#: Largest spec file read, in bytes. Larger files (and endless ones such as ``/dev/zero``) are refused.
#: Specs are written by hand (the largest shipped one is 11 KB); PyYAML parses about 70 KB/s on one
#: loaded core, so this bounds parsing to seconds.
MAX_FILE_BYTES = 1024 * 1024
#: Deepest nesting of mappings and sequences (aliases expanded). Shipped specs nest at most 5 deep.
MAX_DEPTH = 64
#: Most nodes a document may have with every alias expanded (an alias bomb has billions).
MAX_NODES = 200_000
#: Largest magnitude :meth:`Node.float` accepts: a larger per-action energy or clock would overflow
#: the products of the cost model to infinity.
MAX_FLOAT = 1e30
#: Largest magnitude :meth:`Node.int` accepts: integers beyond 2**53 are not exact as floats.
MAX_INT = 2**53


class SpecError(ValueError):
    """A spec file (arch, network, mapping, grid) is malformed. The message names file and key."""


class _Refused(yaml.YAMLError):
    """A document :func:`load_yaml` refuses (duplicate key, too deep, alias bomb), at a line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _line(node_or_event: Any) -> int:
    mark = getattr(node_or_event, "start_mark", None)
    return mark.line + 1 if mark is not None else 0


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e9`` and ``1.0e-3`` as floats (YAML 1.1 wants ``1.0e+9``), bounds the
    nesting depth while composing and rejects duplicate mapping keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(_line(self.peek_event()), f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *base` keys may be overridden by the mapping's own keys
                key = self.construct_object(key_node, deep=True)
                try:
                    seen = first.setdefault(key, key_node)
                except TypeError:  # unhashable: the base constructor says so
                    continue
                if seen is not key_node:
                    raise _Refused(_line(key_node), f"duplicate key {key} (first at line {_line(seen)})")
        return super().construct_mapping(node, deep=deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$|^[-+]?\.[0-9_]+[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a node graph whose expansion (every alias copied out) is cyclic, deeper than
    :data:`MAX_DEPTH` or larger than :data:`MAX_NODES`. Iterative, one visit per distinct node."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            kids = _children(node)
            size[key] = min(MAX_NODES + 1, 1 + sum(size[id(k)] for k in kids))
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            open_.discard(key)
            if size[key] > MAX_NODES:
                raise _Refused(_line(node), f"aliases expand to more than {MAX_NODES:,} nodes (an alias bomb?)")
            if depth[key] > MAX_DEPTH:
                raise _Refused(_line(node), f"nested deeper than {MAX_DEPTH} levels once aliases are expanded")
            continue
        if key in size:
            continue
        if key in open_:
            raise _Refused(_line(node), "an alias refers to a node that contains it (recursive data)")
        open_.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in _children(node) if id(k) not in size)


def read_text_file(path: str | Path, *, limit: int = MAX_FILE_BYTES, what: str = "spec file") -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes, or a one-line :class:`SpecError`.

    Never reads more than ``limit + 1`` bytes and never blocks on a pipe: devices (``/dev/zero``),
    FIFOs and sockets are refused before reading.
    """
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise SpecError(f"{p}: cannot read: {exc.strerror}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
        os.close(fd)
        if stat.S_ISDIR(st.st_mode):
            raise SpecError(f"{p}: cannot read: a directory, not a {what}")
        if not stat.S_ISREG(st.st_mode):
            raise SpecError(f"{p}: cannot read: not a regular file (a device, pipe or socket), not a {what}")
        raise SpecError(f"{p}: {st.st_size:,} bytes; a {what} may have at most {limit:,} bytes")
    with os.fdopen(fd, "rb") as fh:
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise SpecError(f"{p}: cannot read: {exc.strerror}") from None
    if len(data) > limit:
        raise SpecError(f"{p}: more than {limit:,} bytes; a {what} may have at most {limit:,} bytes")
    nul = data.find(b"\0")
    if nul >= 0:
        raise SpecError(f"{p}: a binary file (NUL byte at offset {nul}), expected a {what} (UTF-8 text)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"{p}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}), expected a {what}"
        ) from None


def load_yaml(path: str | Path) -> Any:
    """Parse one YAML document from a file; refusals and syntax errors are one-line :class:`SpecError` s."""
    p = Path(path)
    text = read_text_file(p, what="YAML file")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return loader.construct_document(node)
    except _Refused as exc:
        raise SpecError(f"{p}:{exc.line}: {exc.message}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"{p}:{where}: malformed YAML: {problem}") from None
    except RecursionError:  # a safety net: MAX_DEPTH keeps PyYAML well inside the interpreter's limit
        raise SpecError(f"{p}: nested too deeply") from None
    finally:
        loader.dispose()


def _number_error(
    value: Any,
    *,
    integer: bool,
    minimum: float | None,
    maximum: float | None,
    strict_minimum: bool,
    strict_maximum: bool,
    multiple_of: int | None,
) -> str | None:
    """Why ``value`` is not an acceptable number, or None when it is."""
    kind = "an integer" if integer else "a number"
    if integer and minimum == 1 and not strict_minimum:
        kind = "a positive integer"
    if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
        shown = f"the string {value!r}" if isinstance(value, str) else repr(value)
        return f"expected {kind}, got {shown}"
    if not math.isfinite(value):
        return f"expected a finite number, got {value!r}"
    bound = MAX_INT if integer else MAX_FLOAT
    if abs(value) > bound:
        return f"expected {kind} of magnitude at most {bound:.3g}, got {value!r}"
    if minimum is not None and (value <= minimum if strict_minimum else value < minimum):
        if integer and minimum == 1 and not strict_minimum:
            return f"expected a positive integer, got {value!r}"
        return f"expected {kind} {'>' if strict_minimum else '>='} {minimum}, got {value!r}"
    if maximum is not None and (value >= maximum if strict_maximum else value > maximum):
        return f"expected {kind} {'<' if strict_maximum else '<='} {maximum}, got {value!r}"
    if multiple_of is not None and value % multiple_of:
        return f"expected a multiple of {multiple_of}, got {value!r}"
    return None


def check_float(
    value: Any,
    where: str,
    *,
    minimum: float | None = 0.0,
    maximum: float | None = None,
    strict_minimum: bool = False,
    strict_maximum: bool = False,
) -> float:
    """``value`` as a finite float within the bounds, or a :class:`SpecError` ``"{where}: expected ..."``.

    For loaders that hold a raw value (a list entry, a value computed from two keys) rather than a key.
    """
    why = _number_error(
        value,
        integer=False,
        minimum=minimum,
        maximum=maximum,
        strict_minimum=strict_minimum,
        strict_maximum=strict_maximum,
        multiple_of=None,
    )
    if why:
        raise SpecError(f"{where}: {why}")
    return float(value)


def check_int(
    value: Any, where: str, *, minimum: int | None = 1, maximum: int | None = None, multiple_of: int | None = None
) -> int:
    """``value`` as an integer within the bounds (and a multiple of ``multiple_of``), or a :class:`SpecError`."""
    why = _number_error(
        value,
        integer=True,
        minimum=minimum,
        maximum=maximum,
        strict_minimum=False,
        strict_maximum=False,
        multiple_of=multiple_of,
    )
    if why:
        raise SpecError(f"{where}: {why}")
    return int(value)


class Node:
    """A YAML mapping with its file and key path, for strict reading and one-line errors."""

    __slots__ = ("_data", "_used", "file", "path")

    def __init__(self, data: Any, file: str, path: str = "") -> None:
        self.file = file
        self.path = path
        if not isinstance(data, Mapping):
            raise SpecError(f"{self.where()}: expected a mapping, got {type(data).__name__}")
        for k in data:
            if not isinstance(k, str):
                hint = " (YAML reads yes/no/on/off as booleans: quote the key)" if isinstance(k, bool) else ""
                raise SpecError(f"{self.where()}: expected names as keys, got the key {k!r}{hint}")
        self._data = dict(data)
        self._used: set[str] = set()

    # ---------------------------------------------------------------- positions
    def where(self, key: str | None = None) -> str:
        p = self.path if key is None else (f"{self.path}.{key}" if self.path else key)
        return f"{self.file}: {p}" if p else self.file

    def error(self, key: str | None, msg: str) -> SpecError:
        return SpecError(f"{self.where(key)}: {msg}")

    # ---------------------------------------------------------------- access
    def has(self, key: str) -> bool:
        return key in self._data

    def keys(self) -> list[str]:
        return list(self._data)

    def raw(self, key: str, default: Any = ...) -> Any:
        if key not in self._data:
            if default is ...:
                raise self.error(key, "required key is missing")
            return default
        self._used.add(key)
        return self._data[key]

    def child(self, key: str, default: Any = ...) -> Node | None:
        v = self.raw(key, default)
        if v is None and default is None:
            return None
        return Node(v, self.file, f"{self.path}.{key}" if self.path else key)

    def children(self, key: str) -> list[Node]:
        v = self.raw(key)
        if not isinstance(v, list):
            raise self.error(key, f"expected a list, got {type(v).__name__}")
        base = f"{self.path}.{key}" if self.path else key
        return [Node(item, self.file, f"{base}[{i}]") for i, item in enumerate(v)]

    def int(
        self,
        key: builtins.str,
        default: Any = ...,
        *,
        minimum: builtins.int | None = 1,
        maximum: builtins.int | None = None,
        multiple_of: builtins.int | None = None,
    ) -> builtins.int:
        """An integer (not a bool, a float or a string) in ``[minimum, maximum]``, a multiple of ``multiple_of``
        if given, and of magnitude at most :data:`MAX_INT`."""
        return check_int(
            self.raw(key, default), self.where(key), minimum=minimum, maximum=maximum, multiple_of=multiple_of
        )

    def float(
        self,
        key: builtins.str,
        default: Any = ...,
        *,
        minimum: builtins.float | None = 0.0,
        maximum: builtins.float | None = None,
        strict_minimum: bool = False,
        strict_maximum: bool = False,
    ) -> builtins.float:
        """A finite number (int or float; not a bool or a string) within the bounds (``strict_*``: excluded)
        and of magnitude at most :data:`MAX_FLOAT`."""
        return check_float(
            self.raw(key, default),
            self.where(key),
            minimum=minimum,
            maximum=maximum,
            strict_minimum=strict_minimum,
            strict_maximum=strict_maximum,
        )

    def optional_int(
        self,
        key: builtins.str,
        *,
        minimum: builtins.int | None = 1,
        maximum: builtins.int | None = None,
        multiple_of: builtins.int | None = None,
    ) -> builtins.int | None:
        """Like :meth:`int`, but a missing key or ``null`` gives None (errors say "... or null")."""
        v = self.raw(key, None)
        if v is None:
            return None
        try:
            return self.int(key, minimum=minimum, maximum=maximum, multiple_of=multiple_of)
        except SpecError as exc:
            raise SpecError(str(exc).replace(", got ", " or null, got ", 1)) from None

    def optional_float(
        self,
        key: builtins.str,
        *,
        minimum: builtins.float | None = 0.0,
        maximum: builtins.float | None = None,
        strict_minimum: bool = False,
        strict_maximum: bool = False,
    ) -> builtins.float | None:
        """Like :meth:`float`, but a missing key or ``null`` gives None."""
        v = self.raw(key, None)
        if v is None:
            return None
        try:
            return self.float(
                key, minimum=minimum, maximum=maximum, strict_minimum=strict_minimum, strict_maximum=strict_maximum
            )
        except SpecError as exc:
            raise SpecError(str(exc).replace(", got ", " or null, got ", 1)) from None

    def str(self, key: builtins.str, default: Any = ...) -> builtins.str:
        v = self.raw(key, default)
        if not isinstance(v, str):
            raise self.error(key, f"expected a string, got {v!r}")
        return v

    def bool(self, key: builtins.str, default: Any = ...) -> builtins.bool:
        v = self.raw(key, default)
        if not isinstance(v, bool):
            raise self.error(key, f"expected true or false, got {v!r}")
        return v

    def enum(self, key: builtins.str, cls: type[E], default: Any = ...) -> E:
        v = self.raw(key, default)
        if isinstance(v, cls):
            return v
        try:
            return cls(v)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in cls)
            raise self.error(key, f"expected one of {allowed}, got {v!r}") from None

    def enum_list(self, key: builtins.str, cls: type[E], default: Any = ...) -> tuple[E, ...]:
        v = self.raw(key, default)
        if not isinstance(v, list | tuple):
            raise self.error(key, f"expected a list, got {v!r}")
        out = []
        for item in v:
            try:
                out.append(item if isinstance(item, cls) else cls(item))
            except ValueError:
                allowed = ", ".join(str(m.value) for m in cls)
                raise self.error(key, f"expected entries from {allowed}, got {item!r}") from None
        return tuple(out)

    def done(self, allowed_extra: Iterable[builtins.str] = ()) -> None:
        """Reject keys that were never read: unknown keys are errors, never ignored."""
        extra = set(self._data) - self._used - set(allowed_extra)
        if extra:
            first, *rest = sorted(extra, key=str)
            also = f" (also unknown: {', '.join(rest)})" if rest else ""
            raise self.error(first, f"unknown key{also}")
