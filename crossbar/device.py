"""Device parameters and crossbar geometry, read strictly from the ``device:`` block of an arch spec.

The block lives in ``archspecs/spikeflow.yaml`` (every key required, unknown keys are errors that name the
YAML path). :class:`DeviceSpec` holds it in SI units; :class:`CrossbarSettings` (in :mod:`crossbar.mapping`)
is built from it with per-experiment overrides.
"""

from __future__ import annotations

from pathlib import Path

from costmodel.arch import Device, device_from_node
from costmodel.specio import Node, SpecError, load_yaml

DEFAULT_ARCH = Path(__file__).resolve().parent.parent / "archspecs" / "spikeflow.yaml"


#: The device block as the cost model reads it (one type, one reader: :func:`costmodel.arch.device_from_node`).
DeviceSpec = Device


def _required(node: Node, key: str) -> Node:
    """A required mapping under ``node`` (the loader raises a one-line error naming the key when it is absent)."""
    child = node.child(key)
    if child is None:
        raise node.error(key, "required key is missing")
    return child


def load_device(path: str | Path = DEFAULT_ARCH) -> DeviceSpec:
    """Read the ``device:`` block of an arch spec YAML; errors are one line naming file and key."""
    data = load_yaml(path)
    root = Node(data, str(path))
    if not isinstance(data, dict) or not root.has("device"):
        raise SpecError(
            f"{path}: device: required key is missing (arch {Path(path).stem!r} has no device: block, "
            "which the crossbar accuracy model needs; archspecs/spikeflow.yaml has one)"
        )
    dev = _required(root, "device")
    spec = device_from_node(dev)  # the arch loader's reader: one set of limits for the block
    return spec
