"""spikeloop's arch, layer and mapping written as files timeloop-model v3.0.3 accepts unedited.

* ``arch.yaml``: the tree format (``version: 0.3``): one ``subtree`` per level whose parent fans out (named
  ``<level>_array[0..n-1]``), every level a storage component with ``word-bits`` (the widest element it stores),
  ``block-size``, ``memory_width``, ``memory_depth``, bandwidths and ``meshX``; the compute unit an ``intmac``.
* ``ERT.yaml``: per level the energy of one vector access (``block-size`` elements): ``read``, ``write`` (a fill)
  and ``random_update`` (Timeloop v3.0.3 looks that name up before ``write`` for an update); the compute unit's
  ``compute`` (a MAC for multi-bit inputs, else an accumulate).
* ``problem.yaml``: the conv shape inline with hyphenated keys (``data-spaces``, ``read-write``) and ``M`` for
  output channels; the layer's bounds and stride. Timeloop has no timestep dim: a layer with T = 1 is written
  without it, T > 1 is refused.
* ``mapping.yaml``: per level a ``temporal`` directive (every dim's factor, ``permutation`` innermost first, each
  dim once), a ``spatial`` directive where the level fans out (X dims first, ``split`` = their number) and a
  ``bypass`` directive (``keep`` / ``bypass`` of Weights, Inputs, Outputs).

What Timeloop cannot express is refused or noted in the files' header: T > 1, pool and add layers, two loops of
one dim at one level that another loop separates, one dim on both mesh axes of a level; the membrane U, output
spikes S, LIF updates, static power and network link energies are not written (Timeloop has no such terms).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from costmodel.arch import Arch
from costmodel.mapping import LevelMapping, Mapping
from costmodel.types import Action, Axis, Dim, Granularity, LayerKind, Tensor
from costmodel.workload import Layer

TL_DIM = {Dim.R: "R", Dim.S: "S", Dim.P: "P", Dim.Q: "Q", Dim.C: "C", Dim.K: "M", Dim.N: "N"}
TL_ORDER = (Dim.R, Dim.S, Dim.P, Dim.Q, Dim.C, Dim.K, Dim.N)
TL_SPACE = {Tensor.W: "Weights", Tensor.I: "Inputs", Tensor.O: "Outputs"}
FILES = ("arch.yaml", "problem.yaml", "mapping.yaml", "ERT.yaml")


class ExportError(ValueError):
    """A layer or mapping Timeloop cannot express (one line, naming what and why)."""


def _bits(level: Any, layer: Layer, tensor: Tensor) -> int:
    from costmodel.pricing import bits_of

    base = bits_of(layer, tensor)
    return level.stored_bits(tensor, base) if hasattr(level, "stored_bits") else base


def check_exportable(layer: Layer) -> None:
    """Refuse what Timeloop's conv problem cannot state: T > 1 and weightless (pool, add) layers."""
    t = layer.bound(Dim.T)
    if t != 1:
        raise ExportError(
            f"layer {layer.name}: T = {t}: Timeloop's conv problem has no timestep dim; only a layer "
            "with T = 1 can be exported (give -T 1)"
        )
    if layer.kind not in (LayerKind.CONV, LayerKind.LINEAR):
        raise ExportError(
            f"layer {layer.name}: a {layer.kind.value} layer has no weights: Timeloop's conv problem cannot state it"
        )


def timeloop_layer(network: str, layer: str, timesteps: int | None) -> Layer:
    """The layer ``spikeloop map`` would export, checked before its search (:func:`check_exportable`): a network
    whose T is not 1 is refused unless ``-T 1`` folds it in."""
    from costmodel.network import load_network

    la = load_network(network, timesteps=timesteps).layer(layer)
    check_exportable(la)
    return la


def _word_bits(arch: Arch, layer: Layer, li: int) -> int:
    """The element width Timeloop stores at level ``li``: the widest of the W, I, O it may keep there."""
    lv = arch.levels[li]
    widths = [_bits(lv, layer, t) for t in TL_SPACE if t in lv.keeps]
    return max(widths) if widths else 1


def _block(arch: Arch, layer: Layer, li: int) -> tuple[int, int]:
    """(word bits, block size): a vector access is one of our words."""
    wb = _word_bits(arch, layer, li)
    return wb, max(1, arch.levels[li].word_bits // wb)


def _entries(arch: Arch) -> list[tuple[int, str, int, int]]:
    """Timeloop's storage levels, outer first, as (our level index or -1 for a dummy, name, fanout to the next,
    meshX factor to the next). A level whose fanout is a 2-D mesh becomes two Timeloop levels: the level fanning
    out along X and a dummy ``<name>_y`` (keeps nothing) fanning out along Y, as Timeloop's own archs do
    (eyeriss_like's PE columns and PEs), so each carries one spatial loop per dim."""
    out = []
    for i, lv in enumerate(arch.levels):
        fo = lv.fanout
        if fo.x > 1 and fo.y > 1:
            out.append((i, lv.name, fo.x, fo.x))
            out.append((-1, f"{lv.name}_y", fo.y, 1))
        else:
            out.append((i, lv.name, fo.size, fo.x))
    return out


def arch_dict(arch: Arch, layer: Layer) -> tuple[dict[str, Any], dict[str, Any]]:
    """(architecture, ERT) documents."""
    tables = []
    root: dict[str, Any] = {"name": "system", "local": []}
    node, path = root, "system"
    inst, mesh_x = 1, 1
    entries = _entries(arch)
    for n, (i, name, fan, fx) in enumerate(entries):
        if i < 0:
            attrs: dict[str, Any] = {"word-bits": 1, "block-size": 1, "memory_width": 1, "memory_depth": 1}
            if inst > 1:
                attrs["meshX"] = mesh_x
            node["local"].append({"name": name, "class": "dummy_storage", "attributes": attrs})
        else:
            lv = arch.levels[i]
            wb, block = _block(arch, layer, i)
            attrs = {"word-bits": wb, "block-size": block, "memory_width": wb * block}
            if lv.capacity_bits is not None:
                attrs["memory_depth"] = max(1, lv.capacity_bits // (wb * block))
            for key, bw in (
                ("read_bandwidth", lv.read_bandwidth_bits_per_cycle),
                ("write_bandwidth", lv.write_bandwidth_bits_per_cycle),
            ):
                if bw is not None:
                    attrs[key] = bw / wb
            if inst > 1:
                attrs["meshX"] = mesh_x
            cls = "DRAM" if i == 0 and lv.capacity_bits is None else "SRAM"
            node["local"].append({"name": name, "class": cls, "attributes": attrs})
            per = block if lv.access_granularity is Granularity.ELEMENT else 1
            tables.append(
                {
                    "name": f"{path}.{name}",
                    "actions": [
                        {"name": "read", "arguments": None, "energy": lv.energy(Action.READ) * per},
                        {"name": "write", "arguments": None, "energy": lv.energy(Action.WRITE) * per},
                        {"name": "random_update", "arguments": None, "energy": lv.energy(Action.UPDATE) * per},
                    ],
                }
            )
        if fan > 1:
            nxt = entries[n + 1][1] if n + 1 < len(entries) else "mac"
            child = {"name": f"{nxt}_array[0..{fan - 1}]", "local": []}
            node["subtree"] = [child]
            node, path = child, f"{path}.{nxt}_array[0..{fan - 1}]"
            inst, mesh_x = inst * fan, mesh_x * fx
    from costmodel.pricing import bits_of

    c = arch.compute
    mac_pj = getattr(c, "mac_pj", None)
    pj = mac_pj if (mac_pj is not None and getattr(layer, "input_bits", 1) > 1) else c.ac_pj
    mac_attrs: dict[str, Any] = {"datawidth": bits_of(layer, Tensor.W)}
    if inst > 1:
        mac_attrs["meshX"] = mesh_x
    node["local"].append({"name": "mac", "class": "intmac", "attributes": mac_attrs})
    tables.append({"name": f"{path}.mac", "actions": [{"name": "compute", "arguments": None, "energy": pj}]})
    return ({"architecture": {"version": 0.3, "subtree": [root]}}, {"ERT": {"version": 0.3, "tables": tables}})


def problem_dict(layer: Layer) -> dict[str, Any]:
    check_exportable(layer)
    shape = {
        "name": "CNN-Layer",
        "dimensions": [TL_DIM[d] for d in TL_ORDER],
        "coefficients": [{"name": n, "default": 1} for n in ("Wstride", "Hstride", "Wdilation", "Hdilation")],
        "data-spaces": [
            {"name": "Weights", "projection": [[["C"]], [["M"]], [["R"]], [["S"]]]},
            {
                "name": "Inputs",
                "projection": [
                    [["N"]],
                    [["C"]],
                    [["R", "Wdilation"], ["P", "Wstride"]],
                    [["S", "Hdilation"], ["Q", "Hstride"]],
                ],
            },
            {"name": "Outputs", "projection": [[["N"]], [["M"]], [["Q"]], [["P"]]], "read-write": True},
        ],
    }
    inst = {TL_DIM[d]: layer.bound(d) for d in TL_ORDER}
    inst.update({"Wstride": layer.stride, "Hstride": layer.stride, "Wdilation": 1, "Hdilation": 1})
    return {"problem": {"shape": shape, "instance": inst}}


def _temporal(name: str, lm: LevelMapping) -> tuple[dict[Dim, int], list[Dim]]:
    """Factor per dim and the order outer to inner; adjacent loops of one dim merge, separated ones are refused."""
    factors: dict[Dim, int] = {}
    order: list[Dim] = []
    for lp in lm.temporal:
        if lp.bound == 1:
            continue
        if lp.dim is Dim.T:
            raise ExportError(f"level {name}: a temporal loop over T: Timeloop has no timestep dim")
        if lp.dim in factors:
            if order[-1] is not lp.dim:
                raise ExportError(
                    f"level {name}: two temporal loops of {lp.dim.value} with another loop between "
                    "them: Timeloop allows one loop per dim per level"
                )
            factors[lp.dim] *= lp.bound
            continue
        factors[lp.dim] = lp.bound
        order.append(lp.dim)
    return factors, order


def _spatial(name: str, lm: LevelMapping) -> dict[Axis, dict[Dim, int]]:
    """Spatial factors per axis (loops of one dim on one axis merge; innermost first, as Timeloop lists them)."""
    axes: dict[Axis, dict[Dim, int]] = {Axis.X: {}, Axis.Y: {}}
    for lp in reversed(lm.spatial):
        if lp.bound == 1:
            continue
        if lp.dim is Dim.T:
            raise ExportError(f"level {name}: a spatial loop over T: Timeloop has no timestep dim")
        axes[lp.axis][lp.dim] = axes[lp.axis].get(lp.dim, 1) * lp.bound
    return axes


def _spatial_directive(target: str, factors: dict[Dim, int], split_x: bool) -> dict[str, Any]:
    dims = list(factors)
    rest = [d for d in TL_ORDER if d not in factors]
    return {
        "target": target,
        "type": "spatial",
        "factors": " ".join(f"{TL_DIM[d]}={factors.get(d, 1)}" for d in TL_ORDER),
        "permutation": "".join(TL_DIM[d] for d in dims + rest),
        "split": len(TL_ORDER) if split_x else 0,
    }


def _bypass(target: str, kept: frozenset[Tensor]) -> dict[str, Any]:
    return {
        "target": target,
        "type": "bypass",
        "keep": [TL_SPACE[t] for t in TL_SPACE if t in kept],
        "bypass": [TL_SPACE[t] for t in TL_SPACE if t not in kept],
    }


def _ones(target: str) -> dict[str, Any]:
    return {
        "target": target,
        "type": "temporal",
        "factors": " ".join(f"{TL_DIM[d]}=1" for d in TL_ORDER),
        "permutation": "".join(TL_DIM[d] for d in TL_ORDER),
    }


def mapping_dict(arch: Arch, layer: Layer, mapping: Mapping) -> dict[str, Any]:
    """The mapping's directives for the Timeloop arch of :func:`arch_dict` (a 2-D fanout's Y loops go to its
    ``<level>_y`` dummy level)."""
    check_exportable(layer)
    if len(mapping.levels) != len(arch.levels):
        raise ExportError(f"the mapping has {len(mapping.levels)} levels, arch {arch.name} has {len(arch.levels)}")
    out: list[dict[str, Any]] = []
    for lv, lm in zip(arch.levels, mapping.levels, strict=True):
        factors, order = _temporal(lv.name, lm)
        perm = [TL_DIM[d] for d in reversed(order)] + [TL_DIM[d] for d in TL_ORDER if d not in order]
        out.append(
            {
                "target": lv.name,
                "type": "temporal",
                "factors": " ".join(f"{TL_DIM[d]}={factors.get(d, 1)}" for d in TL_ORDER),
                "permutation": "".join(perm),
            }
        )
        axes = _spatial(lv.name, lm)
        fo = lv.fanout
        if fo.x > 1 and fo.y > 1:
            out.append(_spatial_directive(lv.name, axes[Axis.X], True))
            out.append(_bypass(lv.name, lv.keeps - lm.bypass))
            out += [
                _ones(f"{lv.name}_y"),
                _spatial_directive(f"{lv.name}_y", axes[Axis.Y], False),
                _bypass(f"{lv.name}_y", frozenset()),
            ]
            continue
        if axes[Axis.X] or axes[Axis.Y] or fo.size > 1:
            if axes[Axis.X] and axes[Axis.Y]:
                raise ExportError(f"level {lv.name}: spatial loops on both axes of a 1-D fanout ({fo.x} x {fo.y})")
            out.append(_spatial_directive(lv.name, axes[Axis.X] or axes[Axis.Y], fo.y == 1))
        out.append(_bypass(lv.name, lv.keeps - lm.bypass))
    return {"mapping": out}


def _dump(doc: dict[str, Any], header: str) -> str:
    body = yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=118)
    return "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()) + body


def _header(arch: Arch, layer: Layer, what: str) -> str:
    return (
        f"{what} of layer {layer.name} on arch {arch.name}, written by spikeloop for timeloop-model v3.0.3.\n"
        "Not expressible in Timeloop and left out: the membrane U, output spikes S, LIF updates, static power,\n"
        "network link energies; every data space at a level is stored at the level's word-bits."
    )


def timeloop_warnings(arch: Arch, layer: Layer, mapping: Mapping) -> list[str]:
    """Levels where timeloop-model will find the mapping's tiles too large: it stores every data space at the
    level's one width (the widest kept), so tiles that fit spikeloop's per-tensor widths (1-bit spikes beside
    8-bit weights) may not fit Timeloop's element count."""
    from costmodel.evaluate import check, cost_form, nest_of
    from costmodel.numeric import element_counts

    if check(arch, layer, mapping) is not None:
        return []
    view, factors = nest_of(arch, mapping)
    tiles = element_counts(cost_form(arch, layer, view), factors).tiles
    out = []
    for i, lv in enumerate(arch.levels):
        if lv.capacity_bits is None:
            continue
        wb, block = _block(arch, layer, i)
        cap = max(1, lv.capacity_bits // (wb * block)) * block
        need = sum(float(tiles[(i, t)][0]) for t in TL_SPACE if (i, t) in tiles and t not in mapping.levels[i].bypass)
        if need > cap:
            out.append(
                f"level {lv.name}: timeloop-model stores every data space there at {wb} bits: the mapping's "
                f"tiles ({need:,.0f} elements) exceed its {cap:,} elements and it will reject the mapping"
            )
    return out


def timeloop_files(arch: Arch, layer: Layer, mapping: Mapping) -> dict[str, str]:
    """The text of ``arch.yaml``, ``problem.yaml``, ``mapping.yaml`` and ``ERT.yaml`` (a warning of
    :func:`timeloop_warnings` heads the mapping)."""
    check_exportable(layer)
    a, ert = arch_dict(arch, layer)
    warn = "".join(f"\nWARNING: {w}" for w in timeloop_warnings(arch, layer, mapping))
    return {
        "arch.yaml": _dump(a, _header(arch, layer, "Architecture")),
        "problem.yaml": _dump(problem_dict(layer), _header(arch, layer, "Problem")),
        "mapping.yaml": _dump(
            mapping_dict(arch, layer, mapping),
            _header(arch, layer, "Mapping") + "\nPermutations are Timeloop's: innermost dim first." + warn,
        ),
        "ERT.yaml": _dump(ert, _header(arch, layer, "Energy per vector access (pJ)")),
    }


def write_timeloop(
    target: str | Path, arch: Arch, layer: Layer, mapping: Mapping, *, mapping_only: bool = False
) -> list[Path]:
    """Write the Timeloop files: into the folder ``target`` (created; arch, problem, mapping, ERT), or with
    ``mapping_only`` the mapping alone to the file ``target``. Returns the paths written. Everything is checked
    before anything is written."""
    files = timeloop_files(arch, layer, mapping)
    if mapping_only:
        p = Path(target)
        p.write_text(files["mapping.yaml"])
        return [p]
    d = Path(target)
    if d.exists() and not d.is_dir():
        raise ExportError(f"{d}: exists and is not a folder")
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for name in FILES:
        p = d / name
        p.write_text(files[name])
        out.append(p)
    return out
