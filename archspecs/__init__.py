"""Shipped data: architecture specs (``*.yaml``) and network workloads (``networks/*.yaml``).

Data only. This module just finds files; loading and validation live in ``costmodel``.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent


def _names(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.yaml"))


def arch_names() -> list[str]:
    return _names(ROOT)


def network_names() -> list[str]:
    return _names(ROOT / "networks")


def _find(name_or_path: str, folder: Path, what: str, names: list[str]) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return p
    cand = folder / f"{name_or_path}.yaml"
    if cand.exists():
        return cand
    raise FileNotFoundError(f"unknown {what} {name_or_path!r}: not a file, and not one of {', '.join(names)}")


def arch_path(name_or_path: str) -> Path:
    """Path of a shipped arch spec by name (``sata``) or of a user's YAML file."""
    return _find(name_or_path, ROOT, "architecture", arch_names())


def network_path(name_or_path: str) -> Path:
    """Path of a shipped network by name (``vgg9-cifar10``) or of a user's YAML file."""
    return _find(name_or_path, ROOT / "networks", "network", network_names())
