"""Device parameters and crossbar geometry, read strictly from the ``device:`` block of an arch spec.

The block lives in ``archspecs/spikeflow.yaml`` (every key required, unknown keys are errors that name the
YAML path). :class:`DeviceSpec` holds it in SI units; :class:`CrossbarSettings` (in :mod:`crossbar.mapping`)
is built from it with per-experiment overrides.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from costmodel.arch import device_from_node
from costmodel.specio import Node, SpecError, load_yaml

DEFAULT_ARCH = Path(__file__).resolve().parent.parent / "archspecs" / "spikeflow.yaml"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceSpec:
    """RRAM crossbar device and geometry (SI units).

    rows, columns      cells per column and per row of one crossbar
    g_min_s, g_max_s   lowest / highest programmable conductance [S]
    bits_per_cell      levels per cell are 2**bits_per_cell
    weight_bits        signed weight precision b (integer weights in [-(2^(b-1)-1), 2^(b-1)-1])
    read_voltage_v     voltage V_r on the row of an active input [V]
    r_row_ohm          wire resistance per cell segment of a row (word line) [ohm]
    r_col_ohm          wire resistance per cell segment of a column (bit line) [ohm]
    variation_sigma    relative programming variation (drawn once per chip)
    read_noise_sigma   relative per-cell read noise (drawn every read)
    adc_bits           ADC resolution [bits]
    adc_percentile     calibration percentile of ideal column currents that sets the ADC full scale [%]
    """

    rows: int
    columns: int
    g_min_s: float
    g_max_s: float
    bits_per_cell: int
    weight_bits: int
    read_voltage_v: float
    r_row_ohm: float
    r_col_ohm: float
    variation_sigma: float
    read_noise_sigma: float
    adc_bits: int
    adc_percentile: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.g_min_s < self.g_max_s:
            raise ValueError(f"device.cell: expected 0 <= g_min < g_max, got {self.g_min_s} and {self.g_max_s}")
        if self.weight_bits < 2:
            raise ValueError(f"device.weight_bits: expected >= 2 (sign and magnitude), got {self.weight_bits}")


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
    d = device_from_node(dev)  # the arch loader's reader: one set of limits for the block
    spec = DeviceSpec(**{f: getattr(d, f) for f in DeviceSpec.__dataclass_fields__})
    return spec
