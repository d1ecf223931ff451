"""YAML loading helpers shared by every spec loader: strict keys and errors that name the path.

Every error is a :class:`SpecError` whose message is one line:
``archspecs/sata.yaml: levels[2].capacity_bits: expected a positive integer, got -5``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import yaml

E = TypeVar("E", bound=Enum)


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e9`` and ``1.0e-3`` as floats (YAML 1.1 wants ``1.0e+9``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$|^[-+]?\.[0-9_]+[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


class SpecError(ValueError):
    """A spec file (arch, network, mapping, grid) is malformed. The message names file and key."""


def load_yaml(path: str | Path) -> Any:
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise SpecError(f"{p}: cannot read: {exc.strerror}") from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"{p}:{where}: malformed YAML: {problem}") from None


class Node:
    """A YAML mapping with its file and key path, for strict reading and one-line errors."""

    __slots__ = ("_data", "_used", "file", "path")

    def __init__(self, data: Any, file: str, path: str = "") -> None:
        self.file = file
        self.path = path
        if not isinstance(data, Mapping):
            raise SpecError(f"{self.where()}: expected a mapping, got {type(data).__name__}")
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

    def int(self, key: str, default: Any = ..., *, minimum: int | None = 1) -> int:
        v = self.raw(key, default)
        if minimum == 1:
            what = "a positive integer"
        else:
            what = f"an integer >= {minimum}" if minimum is not None else "an integer"
        if isinstance(v, bool) or not isinstance(v, int) or (minimum is not None and v < minimum):
            raise self.error(key, f"expected {what}, got {v!r}")
        return v

    def float(
        self, key: str, default: Any = ..., *, minimum: float | None = 0.0, maximum: float | None = None
    ) -> float:
        v = self.raw(key, default)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.error(key, f"expected a number, got {v!r}")
        if minimum is not None and v < minimum:
            raise self.error(key, f"expected a number >= {minimum}, got {v!r}")
        if maximum is not None and v > maximum:
            raise self.error(key, f"expected a number <= {maximum}, got {v!r}")
        return float(v)

    def str(self, key: str, default: Any = ...) -> str:
        v = self.raw(key, default)
        if not isinstance(v, str):
            raise self.error(key, f"expected a string, got {v!r}")
        return v

    def bool(self, key: str, default: Any = ...) -> bool:
        v = self.raw(key, default)
        if not isinstance(v, bool):
            raise self.error(key, f"expected true or false, got {v!r}")
        return v

    def enum(self, key: str, cls: type[E], default: Any = ...) -> E:
        v = self.raw(key, default)
        if isinstance(v, cls):
            return v
        try:
            return cls(v)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in cls)
            raise self.error(key, f"expected one of {allowed}, got {v!r}") from None

    def enum_list(self, key: str, cls: type[E], default: Any = ...) -> tuple[E, ...]:
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

    def done(self, allowed_extra: Iterable[str] = ()) -> None:
        """Reject keys that were never read: unknown keys are errors, never ignored."""
        extra = set(self._data) - self._used - set(allowed_extra)
        if extra:
            first, *rest = sorted(extra)
            also = f" (also unknown: {', '.join(rest)})" if rest else ""
            raise self.error(first, f"unknown key{also}")
