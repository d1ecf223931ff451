"""Domain enums shared by every layer of spikeloop: loop dimensions, tensors, actions.

Strings never stand in for these. YAML spells them by their ``value`` (``"K"``, ``"W"``,
``"read"``) and the loaders convert once, at load time.
"""

from __future__ import annotations

from enum import StrEnum


class Dim(StrEnum):
    """Loop dimensions of an SNN layer."""

    T = "T"  # timesteps
    N = "N"  # batch
    K = "K"  # output channels
    C = "C"  # input channels
    P = "P"  # output rows
    Q = "Q"  # output columns
    R = "R"  # filter rows
    S = "S"  # filter columns


DIMS: tuple[Dim, ...] = tuple(Dim)


class Tensor(StrEnum):
    """Data spaces of an SNN layer.

    W weights [K,C,R,S]; I input spikes [T,N,C,H,W]; O partial sums [T,N,K,P,Q] reduced over
    C,R,S; U membrane potential [N,K,P,Q] read-modify-written once per timestep (T is its
    reduction loop); S output spikes [T,N,K,P,Q], written once by the LIF unit.
    """

    W = "W"
    I = "I"  # noqa: E741 - the tensor is called I in every paper of the field
    O = "O"  # noqa: E741
    U = "U"
    S = "S"


TENSORS: tuple[Tensor, ...] = tuple(Tensor)

#: Dims each tensor's index depends on. I depends on P,R (rows h = p*stride + r) and Q,S.
RELEVANT: dict[Tensor, frozenset[Dim]] = {
    Tensor.W: frozenset({Dim.K, Dim.C, Dim.R, Dim.S}),
    Tensor.I: frozenset({Dim.T, Dim.N, Dim.C, Dim.P, Dim.Q, Dim.R, Dim.S}),
    Tensor.O: frozenset({Dim.T, Dim.N, Dim.K, Dim.P, Dim.Q}),
    Tensor.U: frozenset({Dim.N, Dim.K, Dim.P, Dim.Q}),
    Tensor.S: frozenset({Dim.T, Dim.N, Dim.K, Dim.P, Dim.Q}),
}

#: Dims of the operation space a tensor is accessed in. W, I, O are touched by every
#: accumulation (all eight dims); U and S by the LIF update, which runs once per
#: (t, n, k, p, q) after the C,R,S reduction is complete, so C,R,S are not part of its space.
OP_SPACE: dict[Tensor, frozenset[Dim]] = {
    Tensor.W: frozenset(DIMS),
    Tensor.I: frozenset(DIMS),
    Tensor.O: frozenset(DIMS),
    Tensor.U: frozenset({Dim.T, Dim.N, Dim.K, Dim.P, Dim.Q}),
    Tensor.S: frozenset({Dim.T, Dim.N, Dim.K, Dim.P, Dim.Q}),
}

#: Tensors that are read-modify-written (partial results): their first residency in a level
#: starts from zero (no fill) and their last residency is not written back.
ACCUMULATED: frozenset[Tensor] = frozenset({Tensor.O, Tensor.U})

#: Tensors that only flow outward: written by the LIF unit, written back up to the top level.
WRITE_ONLY: frozenset[Tensor] = frozenset({Tensor.S})


class Action(StrEnum):
    """Storage and compute actions that an energy table prices."""

    READ = "read"  # a word leaves the level (to a child, to its parent, or to compute)
    WRITE = "write"  # a word is written: a fill from the parent, or an output spike (S) written
    UPDATE = "update"  # read-modify-write of a partial result (O psum, U membrane)
    TRANSFER = "transfer"  # a word crosses a level's fanout network (NoC, H-tree, systolic links)
    AC = "ac"  # one accumulate (spike x weight, zero spikes skipped)
    MAC = "mac"  # one multiply-accumulate (multi-bit input x weight, zero inputs skipped)
    LIF = "lif"  # one membrane update: leak, integrate, compare, fire, reset
    ACTIVATION = "activation"  # one output of a non-spiking layer: ReLU / requantisation of a finished sum
    STATIC = "static"  # leakage or ungated (every-cycle) clocking


class Granularity(StrEnum):
    """How a level counts storage accesses: ``packed`` words (elements x bits / word bits) or one access per
    ``element`` whatever its width."""

    PACKED = "packed"
    ELEMENT = "element"


class LayerKind(StrEnum):
    CONV = "conv"
    LINEAR = "linear"
    POOL = "pool"
    ADD = "add"


class Activation(StrEnum):
    """What a layer's neurons do with a finished sum: ``lif`` (spiking: membrane U, 1-bit spikes S), ``relu`` or
    ``none`` (non-spiking: no membrane, no LIF; S holds multi-bit activations)."""

    LIF = "lif"
    RELU = "relu"
    NONE = "none"


class PoolKind(StrEnum):
    AVG = "avg"
    MAX = "max"


class Axis(StrEnum):
    """The two axes of a fanout mesh (a level's instances of the next level, or compute units)."""

    X = "x"
    Y = "y"


AXES: tuple[Axis, ...] = tuple(Axis)


class Activity(StrEnum):
    """How a crossbar's column periphery is charged: every PE cycle in full (``dense``, the public SpikeSim
    script) or only where a spike arrives (``event``: a crossbar is read only when one of its rows spikes)."""

    DENSE = "dense"
    EVENT = "event"


class Latency(StrEnum):
    """How layer latencies make a network's: one layer after another (``sequential``), layers and timesteps
    pipelined (``pipelined``: fill + (T - 1) x the slowest layer's timestep), or the public SpikeSim script's
    formula (``per-output-neuron``: one PE cycle per output neuron per timestep, layers overlapped)."""

    SEQUENTIAL = "sequential"
    PIPELINED = "pipelined"
    PER_OUTPUT_NEURON = "per-output-neuron"


class Sizing(StrEnum):
    """How a network's chip area is counted: one chip whose levels every layer reuses (``fixed``), or every
    layer's weights resident at once (``resident``: each layer occupies the instances its mapping uses, as on an
    in-memory-compute chip)."""

    FIXED = "fixed"
    RESIDENT = "resident"


class Packing(StrEnum):
    """How resident layers fill tiles: a tile holds one layer's PEs (``per-layer``) or consecutive layers' PEs
    share tiles (``contiguous``, the public SpikeSim script)."""

    PER_LAYER = "per-layer"
    CONTIGUOUS = "contiguous"


class OutputSize(StrEnum):
    """The output map a conv layer is charged for: its own (``conv``), or the pooled map when a pool layer
    follows (``post-pool``: the public SpikeSim script's layer lists)."""

    CONV = "conv"
    POST_POOL = "post-pool"
