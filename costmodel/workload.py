"""Workload values: one SNN layer and a network of layers.

Frozen, slotted, keyword-only dataclasses, validated on construction (validation only:
nothing is computed and stored). Loaders live in :mod:`costmodel.network`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import StrEnum

from costmodel.types import DIMS, Activation, Dim, LayerKind, PoolKind


class Reset(StrEnum):
    SOFT = "soft"  # subtract the threshold
    HARD = "hard"  # set to the reset potential (0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Neuron:
    """LIF neuron: u <- leak*u + x; spike if u >= threshold; reset. leak = 1 is IF."""

    leak: float = 1.0
    threshold: float = 1.0
    reset: Reset = Reset.SOFT

    def __post_init__(self) -> None:
        if not 0.0 < self.leak <= 1.0:
            raise ValueError(f"neuron.leak: expected 0 < leak <= 1, got {self.leak}")
        if not self.threshold > 0.0:
            raise ValueError(f"neuron.threshold: expected > 0, got {self.threshold}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Layer:
    """One layer as a loop nest over (T, N, K, C, P, Q, R, S).

    ``bounds`` holds the eight loop bounds in :data:`costmodel.types.DIMS` order. Linear layers
    are 1x1 convolutions on a 1x1 map (P = Q = R = S = 1). Pool layers are depthwise (K = C
    channels, each output reads an R x S window of its own channel); add layers are elementwise
    (R = S = 1). ``in_h``/``in_w`` are the input map sides including no padding.

    Densities are fractions in [0, 1]: ``spike_density`` is the input spike rate (fraction of
    ones in ``I``, or of non-zero inputs when they are multi-bit, averaged over T unless
    ``spike_density_per_t`` is given), ``weight_density`` the fraction of non-zero weights.

    Element widths (bits): ``input_bits`` (1: spikes; more: a direct-coded first layer, or a
    non-spiking network's activations), ``weight_bits``, ``psum_bits`` (partial sums O),
    ``membrane_bits`` (U), ``output_bits`` (S: 1 for a spiking layer). ``activation``: ``lif``
    (spiking) or ``relu`` / ``none`` (non-spiking: no membrane U and no LIF updates).
    """

    name: str
    kind: LayerKind
    bounds: tuple[int, ...]
    stride: int = 1
    padding: int = 0
    in_h: int = 1
    in_w: int = 1
    weight_bits: int = 8
    psum_bits: int = 16
    membrane_bits: int = 16
    input_bits: int = 1
    output_bits: int = 1
    activation: Activation = Activation.LIF
    spike_density: float = 1.0
    spike_density_per_t: tuple[float, ...] | None = None
    weight_density: float = 1.0
    neuron: Neuron = field(default_factory=Neuron)
    pool: PoolKind | None = None

    def __post_init__(self) -> None:
        where = f"layer {self.name!r}"
        if len(self.bounds) != len(DIMS):
            raise ValueError(f"{where}: bounds must have {len(DIMS)} entries, got {len(self.bounds)}")
        for d, b in zip(DIMS, self.bounds, strict=True):
            if not isinstance(b, int) or isinstance(b, bool) or b < 1:
                raise ValueError(f"{where}: {d.value} must be a positive integer, got {b!r}")
        for key in ("stride", "weight_bits", "psum_bits", "membrane_bits", "input_bits", "output_bits", "in_h", "in_w"):
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{where}: {key} must be a positive integer, got {v!r}")
        if self.spiking and self.output_bits != 1:
            raise ValueError(
                f"{where}: output_bits must be 1 for a spiking layer (1-bit spikes), got "
                f"{self.output_bits}; a non-spiking layer says neuron: relu or none"
            )
        if self.padding < 0:
            raise ValueError(f"{where}: padding must be >= 0, got {self.padding}")
        for key in ("spike_density", "weight_density"):
            v = getattr(self, key)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{where}: {key} must be in [0, 1], got {v}")
        if self.spike_density_per_t is not None:
            if len(self.spike_density_per_t) != self.bound(Dim.T):
                raise ValueError(
                    f"{where}: spike_density_per_t has {len(self.spike_density_per_t)} entries, T = {self.bound(Dim.T)}"
                )
            if any(not 0.0 <= v <= 1.0 for v in self.spike_density_per_t):
                raise ValueError(f"{where}: spike_density_per_t entries must be in [0, 1]")
        if self.kind is LayerKind.POOL and self.pool is None:
            raise ValueError(f"{where}: a pool layer needs pool: avg|max")

    # ------------------------------------------------------------------ queries (pure)
    def bound(self, dim: Dim) -> int:
        return self.bounds[DIMS.index(dim)]

    def bounds_dict(self) -> dict[Dim, int]:
        return dict(zip(DIMS, self.bounds, strict=True))

    @property
    def spiking(self) -> bool:
        """Whether the layer's neurons are LIF (membrane U, spikes S) rather than ReLU / identity."""
        return self.activation is Activation.LIF

    @property
    def has_weights(self) -> bool:
        return self.kind in (LayerKind.CONV, LayerKind.LINEAR)

    @property
    def macs(self) -> int:
        """Dense accumulates over all T: T*N*K*C*P*Q*R*S for conv/linear; pool and add layers
        are depthwise (K = C channels), so their window operations are T*N*K*P*Q*R*S."""
        if self.kind in (LayerKind.POOL, LayerKind.ADD):
            return math.prod(self.bound(d) for d in DIMS if d is not Dim.C)
        return math.prod(self.bounds)

    @property
    def neurons(self) -> int:
        """Output neurons per timestep: N*K*P*Q."""
        return math.prod(self.bound(d) for d in (Dim.N, Dim.K, Dim.P, Dim.Q))

    @property
    def mean_spike_density(self) -> float:
        if self.spike_density_per_t is None:
            return self.spike_density
        return sum(self.spike_density_per_t) / len(self.spike_density_per_t)

    def with_timesteps(self, t: int) -> Layer:
        """The same layer run for ``t`` timesteps (per-timestep densities dropped)."""
        b = list(self.bounds)
        b[DIMS.index(Dim.T)] = t
        return replace(self, bounds=tuple(b), spike_density_per_t=None)

    def with_spike_density(self, density: float) -> Layer:
        return replace(self, spike_density=density, spike_density_per_t=None)


def conv_layer(
    name: str = "conv",
    *,
    T: int = 1,
    N: int = 1,
    K: int,
    C: int,
    P: int,
    Q: int | None = None,
    R: int = 3,
    S: int | None = None,
    stride: int = 1,
    padding: int = 0,
    **kw: object,
) -> Layer:
    """A conv layer from its loop bounds (the input sides follow from stride and padding)."""
    q = P if Q is None else Q
    s = R if S is None else S
    in_h = (P - 1) * stride + R - 2 * padding
    in_w = (q - 1) * stride + s - 2 * padding
    return Layer(
        name=name,
        kind=LayerKind.CONV if (R, s, P, q) != (1, 1, 1, 1) else LayerKind.LINEAR,
        bounds=(T, N, K, C, P, q, R, s),
        stride=stride,
        padding=padding,
        in_h=max(in_h, 1),
        in_w=max(in_w, 1),
        **kw,  # type: ignore[arg-type]
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Network:
    """A named, ordered list of layers whose shapes chain (checked by the loader)."""

    name: str
    layers: tuple[Layer, ...]
    timesteps: int
    dataset: str = ""
    source: str = ""
    file: str = field(default="", compare=False)  # the file it was loaded from (for error messages), if any

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError(f"network {self.name!r}: no layers")
        names = [layer.name for layer in self.layers]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"network {self.name!r}: duplicate layer names {sorted(dup)}")

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(
            f"network {self.name!r} has no layer {name!r}; layers: {', '.join(layer.name for layer in self.layers)}"
        )

    def with_timesteps(self, t: int) -> Network:
        return replace(self, timesteps=t, layers=tuple(layer.with_timesteps(t) for layer in self.layers))
