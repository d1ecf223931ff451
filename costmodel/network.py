"""Network workloads: the strict YAML loader that turns ``archspecs/networks/*.yaml`` into a
:class:`~costmodel.workload.Network`.

Schema
======

Top level::

    name: vgg9-cifar10            # required
    dataset: cifar10              # optional text
    source: "..."                 # optional text: where the architecture and densities come from
    timesteps: 4                  # required: T of every layer (load_network(timesteps=...) overrides)
    batch: 1                      # optional, default 1: N of every layer
    chain: true                   # optional, default true (see "Unchained lists" below)
    input: {channels: 3, height: 32, width: 32}    # required when chain is true
    defaults:                     # required, every key below required
      weight_bits: 8
      psum_bits: 16
      membrane_bits: 16
      spike_density: 0.15         # or spike_density_per_t: [T values] (exactly one of the two)
      weight_density: 1.0
      neuron: {leak: 0.99, threshold: 1.0, reset: soft}     # leak 1 = IF; reset soft|hard;
                                  # or neuron: relu | none (a non-spiking layer: no membrane, no LIF)
      input_bits: 1               # optional, default 1 (spikes); e.g. 8 for a direct-coded first layer
      output_bits: 8              # optional: 1 for spiking layers (the default); required when non-spiking
    layers: [...]                 # required, non-empty

Every layer has ``name`` (unique, not ``input``) and ``kind`` (conv, linear, pool, add), plus the
keys of its kind. Any of the ``defaults`` keys may be given on a layer to override the default
for that layer (a layer ``neuron:`` overrides only the neuron fields it names); pool and add
layers have no weights and take no ``weight_bits``/``weight_density``.

=======  =======================================================================================
kind     keys (``[]`` = optional, with its default)
=======  =======================================================================================
conv     out_channels, kernel (int or [rows, cols]), [stride: 1], [padding: 0],
         [input: previous layer], [in_channels], [in_size]
linear   out_features, [input: previous layer], [in_features]
pool     pool (avg|max), kernel (int, [rows, cols] or ``global`` = the whole map),
         [stride: kernel], [padding: 0], [input: previous layer], [in_channels], [in_size]
add      inputs (list of two or more earlier layers)
=======  =======================================================================================

Shape inference (chain: true). A layer reads the output of the previous layer unless ``input:``
names an earlier layer (or ``input``, the network input). Output sides of conv and pool layers
are ``P = floor((H + 2*padding - R) / stride) + 1`` (likewise Q from W and S); a linear layer
flattens its C x H x W input into ``C*H*W`` features and outputs ``out_features`` x 1 x 1; an add
layer needs inputs of one shape and outputs that shape. ``in_channels``, ``in_size`` (square
side) and ``in_features`` are checks: a value that disagrees with the inferred one is an error
naming the layer and both numbers.

Unchained lists (chain: false), for published layer tables that do not chain (SATA's Table II
workloads: implicit pooling, ad hoc FC sizes). There is no top-level ``input`` and no ``input:``
or ``inputs:`` on layers: each conv, pool or add layer states ``in_channels`` and ``in_size``,
each linear layer ``in_features``; nothing is checked between layers.

Loop bounds (T, N, K, C, P, Q, R, S), see :class:`~costmodel.workload.Layer`:

* conv: (T, N, out_channels, C, P, Q, R, S), ``in_h``/``in_w`` = the input map sides;
* linear: (T, N, out_features, in_features, 1, 1, 1, 1), ``in_h = in_w = 1`` (flattened input);
* pool: depthwise, (T, N, C, C, P, Q, R, S) with R x S the window;
* add: elementwise, (T, N, C, C, P, Q, 1, 1) with P x Q the map.

Timesteps override: ``load_network(name, timesteps=t)`` with ``t`` different from the file's
``timesteps`` returns ``network.with_timesteps(t)``: per-timestep densities are replaced by their
mean (the loader stores that mean as ``spike_density``).

Every error is a one-line :class:`~costmodel.specio.SpecError` naming the file and the key path,
e.g. ``archspecs/networks/vgg9-cifar10.yaml: layers[3].kernal: unknown key``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import archspecs
from costmodel.specio import Node, SpecError, load_yaml
from costmodel.types import Activation, LayerKind, PoolKind
from costmodel.workload import Layer, Network, Neuron, Reset

INPUT = "input"  # the name by which layers refer to the network input

__all__ = ["load_network", "network_from_data"]


# ---------------------------------------------------------------------------------------- values
@dataclass(frozen=True, slots=True)
class _Shape:
    """A C x H x W activation map."""

    channels: int
    height: int
    width: int

    @property
    def features(self) -> int:
        return self.channels * self.height * self.width

    def __str__(self) -> str:
        return f"{self.channels}x{self.height}x{self.width}"


@dataclass(frozen=True, slots=True)
class _Attrs:
    """Per-layer attributes that ``defaults`` provides and a layer may override."""

    weight_bits: int
    psum_bits: int
    membrane_bits: int
    spike_density: float
    spike_density_per_t: tuple[float, ...] | None
    weight_density: float
    neuron: Neuron
    activation: Activation
    input_bits: int
    output_bits: int | None  # None: not given (spiking layers output 1-bit spikes)


@dataclass(frozen=True, slots=True)
class _Built:
    layer: Layer
    out: _Shape


# ---------------------------------------------------------------------------------------- public
def load_network(name_or_path: str | Path, *, timesteps: int | None = None) -> Network:
    """Load a shipped network by name (``vgg9-cifar10``) or a network YAML file by path.

    ``timesteps`` overrides the file's T (see the module docstring). Raises :class:`SpecError`.
    """
    try:
        path = archspecs.network_path(str(name_or_path))
    except FileNotFoundError as exc:
        raise SpecError(str(exc)) from None
    file = _display_name(path)
    if timesteps is not None and (isinstance(timesteps, bool) or not isinstance(timesteps, int) or timesteps < 1):
        raise SpecError(f"{file}: timesteps argument: expected a positive integer, got {timesteps!r}")
    net = network_from_data(load_yaml(path), file)
    if timesteps is not None and timesteps != net.timesteps:
        return net.with_timesteps(timesteps)
    return net


def network_from_data(data: Any, file: str) -> Network:
    """Build a network from parsed YAML ``data``; ``file`` names the source in error messages."""
    root = Node(data, file)
    name = root.str("name")
    dataset = root.str("dataset", "")
    source = root.str("source", "")
    t = root.int("timesteps")
    batch = root.int("batch", 1)
    chain = root.bool("chain", True)

    defaults_node = root.child("defaults")
    assert defaults_node is not None
    defaults = _read_attrs(defaults_node, None, t, weights=True)
    defaults_node.done()

    shapes: dict[str, _Shape] = {}
    if chain:
        input_node = root.child("input")
        assert input_node is not None
        shapes[INPUT] = _read_input(input_node)
    elif root.has("input"):
        raise root.error("input", "not allowed with chain: false (each layer states its input shape)")

    layer_nodes = root.children("layers")
    if not layer_nodes:
        raise root.error("layers", "expected at least one layer")
    layers: list[Layer] = []
    previous = INPUT
    for node in layer_nodes:
        built = _read_layer(node, defaults, t, batch, shapes, previous, chain=chain)
        layers.append(built.layer)
        shapes[built.layer.name] = built.out
        previous = built.layer.name
    root.done()

    try:
        return Network(name=name, layers=tuple(layers), timesteps=t, dataset=dataset, source=source, file=file)
    except ValueError as exc:
        raise SpecError(f"{file}: {exc}") from None


# ---------------------------------------------------------------------------------------- parts
def _display_name(path: Path) -> str:
    """The path relative to the repository (``archspecs/networks/x.yaml``) when shipped."""
    try:
        return str(path.resolve().relative_to(archspecs.ROOT.parent))
    except ValueError:
        return str(path)


def _read_input(node: Node) -> _Shape:
    shape = _Shape(node.int("channels"), node.int("height"), node.int("width"))
    node.done()
    return shape


def _read_neuron(node: Node, base: Neuron | None) -> Neuron:
    def pick(key: str, read: Any) -> Any:
        if node.has(key) or base is None:
            return read(key)
        return getattr(base, key)

    leak = pick("leak", lambda k: node.float(k, minimum=0.0, maximum=1.0))
    if leak == 0.0:
        raise node.error("leak", "expected 0 < leak <= 1, got 0")
    threshold = pick("threshold", lambda k: node.float(k, minimum=0.0))
    if threshold == 0.0:
        raise node.error("threshold", "expected a number > 0, got 0")
    reset = pick("reset", lambda k: node.enum(k, Reset))
    node.done()
    return Neuron(leak=leak, threshold=threshold, reset=reset)


def _read_densities(node: Node, base: _Attrs | None, t: int) -> tuple[float, tuple[float, ...] | None]:
    """``spike_density`` or ``spike_density_per_t`` (exactly one per level); inherited if absent."""
    has_mean, has_per_t = node.has("spike_density"), node.has("spike_density_per_t")
    if has_mean and has_per_t:
        raise node.error("spike_density_per_t", "give either spike_density or spike_density_per_t, not both")
    if has_per_t:
        values = node.raw("spike_density_per_t")
        if not isinstance(values, list) or len(values) != t:
            n = len(values) if isinstance(values, list) else values
            raise node.error("spike_density_per_t", f"expected a list of timesteps = {t} numbers, got {n!r}")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= v <= 1.0:
                raise node.error("spike_density_per_t", f"expected numbers in [0, 1], got {v!r}")
        per_t = tuple(float(v) for v in values)
        return sum(per_t) / len(per_t), per_t
    if has_mean or base is None:
        return node.float("spike_density", minimum=0.0, maximum=1.0), None
    return base.spike_density, base.spike_density_per_t


def _read_attrs(node: Node, base: _Attrs | None, t: int, *, weights: bool) -> _Attrs:
    """Attributes of ``node`` (the defaults when ``base`` is None, else a layer over ``base``)."""

    def pick_int(key: str) -> int:  # bit widths: 1 to 64 bits per element
        if node.has(key) or base is None:
            return node.int(key, maximum=64)
        return getattr(base, key)

    def pick_fraction(key: str) -> float:
        if node.has(key) or base is None:
            return node.float(key, minimum=0.0, maximum=1.0)
        return getattr(base, key)

    density, per_t = _read_densities(node, base, t)
    if node.has("neuron") and isinstance(node.raw("neuron"), str):
        activation = node.enum("neuron", Activation)
        if activation is Activation.LIF:
            raise node.error(
                "neuron",
                "a LIF neuron is a mapping {leak, threshold, reset}; a string names a "
                "non-spiking activation: relu or none",
            )
        neuron = Neuron() if base is None else base.neuron
    elif node.has("neuron") or base is None:
        neuron_node = node.child("neuron")
        assert neuron_node is not None
        neuron = _read_neuron(
            neuron_node, None if base is None or base.activation is not Activation.LIF else base.neuron
        )
        activation = Activation.LIF
    else:
        neuron, activation = base.neuron, base.activation
    if node.has("output_bits"):
        output_bits: int | None = node.int("output_bits", maximum=64)
    else:
        output_bits = None if base is None else base.output_bits
    if weights:
        weight_bits, weight_density = pick_int("weight_bits"), pick_fraction("weight_density")
    else:
        assert base is not None
        weight_bits, weight_density = base.weight_bits, base.weight_density
    return _Attrs(
        weight_bits=weight_bits,
        psum_bits=pick_int("psum_bits"),
        membrane_bits=pick_int("membrane_bits"),
        spike_density=density,
        spike_density_per_t=per_t,
        weight_density=weight_density,
        neuron=neuron,
        activation=activation,
        input_bits=node.int("input_bits", maximum=64)
        if node.has("input_bits")
        else (1 if base is None else base.input_bits),
        output_bits=output_bits,
    )


def _kernel(node: Node) -> tuple[int, int]:
    v = node.raw("kernel")
    if isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        r, s = v
    elif isinstance(v, int) and not isinstance(v, bool):
        r = s = v
    else:
        r = s = 0
    if r < 1 or s < 1:
        raise node.error("kernel", f"expected a positive integer or [rows, cols], got {v!r}")
    return r, s


def _side(node: Node, name: str, size: int, kernel: int, stride: int, padding: int, what: str) -> int:
    """Output side floor((size + 2*padding - kernel) / stride) + 1, which must be >= 1."""
    if size + 2 * padding < kernel:
        raise node.error("kernel", f"layer {name!r}: {what} {kernel} exceed the padded input side {size} + 2*{padding}")
    return (size + 2 * padding - kernel) // stride + 1


def _source(node: Node, shapes: dict[str, _Shape], previous: str, name: str) -> _Shape:
    """The input shape of a chained layer: ``input:`` or the previous layer's output."""
    src = node.str("input", previous)
    if src not in shapes:
        earlier = ", ".join(shapes)
        raise node.error("input", f"layer {name!r}: no earlier layer named {src!r} (earlier: {earlier})")
    return shapes[src]


def _check(node: Node, key: str, name: str, stated: int, inferred: int, what: str) -> None:
    if stated != inferred:
        raise node.error(key, f"layer {name!r}: {key} = {stated} but its input has {inferred} {what}")


def _map_input(node: Node, shapes: dict[str, _Shape] | None, previous: str, name: str) -> _Shape:
    """Input map of a conv or pool layer: inferred and checked (chained) or stated (unchained)."""
    if shapes is None:
        size = node.int("in_size")
        return _Shape(node.int("in_channels"), size, size)
    shape = _source(node, shapes, previous, name)
    if node.has("in_channels"):
        _check(node, "in_channels", name, node.int("in_channels"), shape.channels, "channels")
    if node.has("in_size"):
        size = node.int("in_size")
        if (size, size) != (shape.height, shape.width):
            raise node.error(
                "in_size", f"layer {name!r}: in_size = {size} but its input map is {shape.height}x{shape.width}"
            )
    return shape


@dataclass(frozen=True, slots=True)
class _Geometry:
    """A layer's loop bounds, window and input sides, read from its kind's keys."""

    bounds: tuple[int, ...]
    stride: int
    padding: int
    in_h: int
    in_w: int
    out: _Shape
    pool: PoolKind | None = None


def _conv_geometry(node: Node, src: _Shape, name: str, t: int, batch: int) -> _Geometry:
    r, s = _kernel(node)
    stride, padding = node.int("stride", 1), node.int("padding", 0, minimum=0)
    p = _side(node, name, src.height, r, stride, padding, "kernel rows")
    q = _side(node, name, src.width, s, stride, padding, "kernel cols")
    k = node.int("out_channels")
    return _Geometry((t, batch, k, src.channels, p, q, r, s), stride, padding, src.height, src.width, _Shape(k, p, q))


def _linear_geometry(
    node: Node, shapes: dict[str, _Shape] | None, previous: str, name: str, t: int, batch: int
) -> _Geometry:
    if shapes is None:
        c = node.int("in_features")
    else:
        c = _source(node, shapes, previous, name).features
        if node.has("in_features"):
            _check(node, "in_features", name, node.int("in_features"), c, "features (C*H*W)")
    k = node.int("out_features")
    return _Geometry((t, batch, k, c, 1, 1, 1, 1), 1, 0, 1, 1, _Shape(k, 1, 1))


def _pool_geometry(node: Node, src: _Shape, name: str, t: int, batch: int) -> _Geometry:
    pool = node.enum("pool", PoolKind)
    stride, padding = 1, 0
    if node.raw("kernel") == "global":
        r, s = src.height, src.width
        for key in ("stride", "padding"):
            if node.has(key):
                raise node.error(key, "not allowed with kernel: global")
    else:
        r, s = _kernel(node)
        if not node.has("stride") and r != s:
            raise node.error("stride", "required for a non-square pool kernel")
        stride, padding = node.int("stride", r), node.int("padding", 0, minimum=0)
    p = _side(node, name, src.height, r, stride, padding, "window rows")
    q = _side(node, name, src.width, s, stride, padding, "window cols")
    return _Geometry(
        (t, batch, src.channels, src.channels, p, q, r, s),
        stride,
        padding,
        src.height,
        src.width,
        _Shape(src.channels, p, q),
        pool,
    )


def _geometry(
    node: Node, kind: LayerKind, shapes: dict[str, _Shape], previous: str, name: str, t: int, batch: int, *, chain: bool
) -> _Geometry:
    """Bounds and sides of a conv, linear, pool or add layer (see the schema's kind table)."""
    if kind is LayerKind.CONV:
        return _conv_geometry(node, _map_input(node, shapes if chain else None, previous, name), name, t, batch)
    if kind is LayerKind.LINEAR:
        return _linear_geometry(node, shapes if chain else None, previous, name, t, batch)
    if kind is LayerKind.POOL:
        return _pool_geometry(node, _map_input(node, shapes if chain else None, previous, name), name, t, batch)
    if not chain:  # LayerKind.ADD
        size = node.int("in_size")
        src = _Shape(node.int("in_channels"), size, size)
    else:
        src = _add_inputs(node, shapes, name)
    return _Geometry(
        (t, batch, src.channels, src.channels, src.height, src.width, 1, 1), 1, 0, src.height, src.width, src
    )


def _output_bits(node: Node, attrs: _Attrs) -> int:
    """1 for a spiking layer (spikes); a non-spiking layer must state its activations' width."""
    if attrs.activation is Activation.LIF:
        if attrs.output_bits not in (None, 1):
            raise node.error(
                "output_bits",
                f"a spiking layer outputs 1-bit spikes, got {attrs.output_bits} (a "
                "non-spiking layer says neuron: relu or none)",
            )
        return 1
    if attrs.output_bits is None:
        raise node.error(
            "output_bits",
            f"required for a non-spiking layer (neuron: {attrs.activation.value}): the bits of its output activations",
        )
    return attrs.output_bits


def _read_layer(
    node: Node, defaults: _Attrs, t: int, batch: int, shapes: dict[str, _Shape], previous: str, *, chain: bool
) -> _Built:
    """One layer; ``shapes`` maps earlier layer names (and ``input`` if chained) to output shapes."""
    name = node.str("name")
    if not name or name == INPUT:
        raise node.error("name", f"expected a layer name other than {INPUT!r} and '', got {name!r}")
    if name in shapes:
        raise node.error("name", f"duplicate layer name {name!r}")
    kind = node.enum("kind", LayerKind)
    if not chain:
        for key in ("input", "inputs"):
            if node.has(key):
                raise node.error(key, "not allowed with chain: false (state in_channels/in_size or in_features)")
    attrs = _read_attrs(node, defaults, t, weights=kind in (LayerKind.CONV, LayerKind.LINEAR))
    g = _geometry(node, kind, shapes, previous, name, t, batch, chain=chain)
    output_bits = _output_bits(node, attrs)
    node.done()
    try:
        layer = Layer(
            name=name,
            kind=kind,
            bounds=g.bounds,
            stride=g.stride,
            padding=g.padding,
            in_h=g.in_h,
            in_w=g.in_w,
            weight_bits=attrs.weight_bits,
            psum_bits=attrs.psum_bits,
            membrane_bits=attrs.membrane_bits,
            spike_density=attrs.spike_density,
            spike_density_per_t=attrs.spike_density_per_t,
            weight_density=attrs.weight_density,
            neuron=attrs.neuron,
            pool=g.pool,
            activation=attrs.activation,
            input_bits=attrs.input_bits,
            output_bits=output_bits,
        )
    except ValueError as exc:
        raise SpecError(f"{node.where()}: {exc}") from None
    return _Built(layer, g.out)


def _add_inputs(node: Node, shapes: dict[str, _Shape], name: str) -> _Shape:
    """The common shape of an add layer's ``inputs`` (two or more earlier layers)."""
    srcs = node.raw("inputs")
    if not isinstance(srcs, list) or len(srcs) < 2 or not all(isinstance(s, str) for s in srcs):
        raise node.error("inputs", f"expected a list of two or more layer names, got {srcs!r}")
    for src in srcs:
        if src not in shapes:
            earlier = ", ".join(shapes)
            raise node.error("inputs", f"layer {name!r}: no earlier layer named {src!r} (earlier: {earlier})")
    found = [shapes[s] for s in srcs]
    if any(f != found[0] for f in found[1:]):
        listed = ", ".join(f"{s} ({f})" for s, f in zip(srcs, found, strict=True))
        raise node.error("inputs", f"layer {name!r}: shapes differ: {listed}")
    return found[0]
