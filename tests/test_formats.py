"""docs/formats.md against the loaders and writers, so the documentation cannot drift.

For every spec format (arch, network, mapping, constraints, grid) the test runs the real loader over the doc's
example blocks and the shipped files while recording every key the loader reads (``costmodel.specio.Node``:
``raw``, which every typed accessor uses and which marks a key as accepted, and ``has``), then compares that set
with the key table of the format's section, both ways:

* a key the loader reads that the table lacks fails, naming the key: whoever teaches a loader a new key (an
  arch's crossbar section, per-tensor widths, ``estimate:`` blocks) documents it in the same change;
* a documented key that no loader reads (and no writer writes) fails too.

Accounting profiles (``profiles.<name>``) share one schema (``costmodel.accounting.Accounting``): every option
must have a row whether or not an example sets it, and the attributes of a level's ``estimate:`` block (read by
``costmodel.components``, not through the Node) are compared with the component specs' fields.

Result JSON (evaluate, map, compare, sweep records, reproduce rows) is produced by the real commands on small
inputs and compared the same way. Every example block of a spec section loads with the real loader.

Key-table conventions (stated at the top of docs/formats.md): a key is a dotted path with ``[]`` for list
entries; a row whose type starts with ``map`` or says ``as in`` another table is opaque (its inside is not listed).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import re
import tempfile
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import pytest

import archspecs
from costmodel import specio
from costmodel.specio import load_yaml

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "formats.md"
TEXT = DOC.read_text()


# ================================================================================== reading the doc
def section(title: str) -> str:
    """The text of ``## title`` up to the next ``## `` heading."""
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", TEXT, flags=re.M | re.S)
    assert m, f"docs/formats.md has no section '## {title}'"
    return m.group(1)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def key_rows(text: str, first: str = "key") -> dict[str, dict[str, str]]:
    """Rows of every table whose first column is ``first`` (``key``), by key (backticks removed)."""
    rows: dict[str, dict[str, str]] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith(f"| {first} |"):
            continue
        head = _cells(line)
        for row in lines[i + 2 :]:
            if not row.startswith("|"):
                break
            cells = dict(zip(head, _cells(row), strict=False))
            key = cells[first].strip("`")
            assert key not in rows, f"docs/formats.md: key {key} is in the table twice"
            rows[key] = cells
    return rows


def blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.M | re.S)


def parse_yaml(text: str) -> Any:  # noqa: ANN401
    """A YAML block read by the project's reader (``1.0e9`` is a number, as in a user's file)."""
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "block.yaml"
        f.write_text(text)
        return load_yaml(f)


def _opaque(rows: dict[str, dict[str, str]]) -> set[str]:
    return {k for k, r in rows.items() if re.match(r"map\b", r.get("type", "")) or "as in" in r.get("type", "")}


def _inside(key: str, parents: set[str]) -> bool:
    return any(key.startswith(p + ".") or key.startswith(p + "[]") for p in parents)


def compare(title: str, read: set[str], *, also_known: Collection[str] = (), free: Collection[str] = ()) -> None:
    """``read`` (keys a loader read or a writer wrote) against the key table of section ``title``, both ways."""
    rows = key_rows(section(title))
    assert rows, f"docs/formats.md section '{title}' has no key table"
    parents = _opaque(rows) | set(free)
    read = {k for k in read if not _inside(k, parents)}
    missing = sorted(read - rows.keys())
    assert not missing, (
        f"docs/formats.md, section '{title}': no row for {', '.join(missing)}, which the code reads or writes: "
        "add each to the key table (type, unit, default, meaning)"
    )
    stale = sorted(rows.keys() - read - set(also_known))
    assert not stale, (
        f"docs/formats.md, section '{title}': documents {', '.join(stale)}, which nothing reads or writes: "
        "remove the rows or fix the names"
    )


# ================================================================================== recording a loader
@dataclasses.dataclass
class Reads:
    """Keys a loader read: ``read`` (accepted, via raw), ``mentioned`` (via has), free-form maps, layer kinds."""

    read: set[str] = dataclasses.field(default_factory=set)
    mentioned: set[str] = dataclasses.field(default_factory=set)
    free: set[str] = dataclasses.field(default_factory=set)
    kinds: dict[str, set[str]] = dataclasses.field(default_factory=dict)


def _norm(path: str) -> str:
    return re.sub(r"\[[^\]]*\]", "[]", path)


@contextlib.contextmanager
def recording(file: str | None = None) -> Iterator[Reads]:
    """Record the keys read by every Node (or only by those of ``file``) while the block runs."""
    reads = Reads()
    node = specio.Node
    raw, has, keys = node.raw, node.has, node.keys

    def full(self: specio.Node, key: str) -> str:
        base = _norm(self.path)
        return f"{base}.{key}" if base else key

    def mine(self: specio.Node) -> bool:
        return file is None or self.file == file

    def rec_raw(self: specio.Node, key: str, default: Any = ...) -> Any:  # noqa: ANN401
        if not mine(self):
            return raw(self, key, default)
        k = full(self, key)
        reads.read.add(k)
        kind = self._data.get("kind") if _norm(self.path) == "layers[]" else None
        if isinstance(kind, str):
            reads.kinds.setdefault(k, set()).add(kind)
        return raw(self, key, default)

    def rec_has(self: specio.Node, key: str) -> bool:
        if mine(self):
            reads.mentioned.add(full(self, key))
        return has(self, key)

    def rec_keys(self: specio.Node) -> list[str]:
        if mine(self):
            reads.free.add(_norm(self.path))
        return keys(self)

    node.raw, node.has, node.keys = rec_raw, rec_has, rec_keys  # type: ignore[method-assign]
    try:
        yield reads
    finally:
        node.raw, node.has, node.keys = raw, has, keys  # type: ignore[method-assign]


def test_recording_sees_a_new_key_and_the_comparison_names_it() -> None:
    """The mechanism can fail: a key a loader reads but the doc lacks is reported by name, and vice versa."""
    with recording() as reads:
        n = specio.Node({"a": 1}, "f.yaml")
        n.int("a")
        n.float("brand_new_key_pj", 0.0)
    assert reads.read == {"a", "brand_new_key_pj"}
    with pytest.raises(AssertionError, match=r"no row for brand_new_key_pj, which the code reads"):
        compare("Mapping YAML", {"mapping", "brand_new_key_pj"}, also_known=key_rows(section("Mapping YAML")).keys())
    with pytest.raises(AssertionError, match=r"documents mapping\[\]\.bypass, which nothing reads"):
        compare("Mapping YAML", set(key_rows(section("Mapping YAML"))) - {"mapping[].bypass"})


# ================================================================================== arch
def _arch_examples() -> list[dict[str, Any]]:
    """The arch section's YAML blocks: whole archs (with ``name``) as they are, fragments merged into the first."""
    found = [parse_yaml(b) for b in blocks(section("Arch YAML"), "yaml")]
    whole = [d for d in found if "name" in d]
    assert whole, "the Arch YAML section has no whole example"
    out = list(whole)
    for frag in (d for d in found if "name" not in d):
        merged = copy.deepcopy(whole[0])
        merged.update(frag)
        out.append(merged)
    return out


def _load_arch_everywhere(data: Any, path: Path) -> Any:  # noqa: ANN401
    """Load an arch, and its ``device:`` block with the crossbar accuracy model's own reader too."""
    from costmodel.arch import arch_from_dict

    arch = arch_from_dict(data, str(path))
    if isinstance(data, dict) and "device" in data:
        from crossbar.device import load_device

        load_device(path)
    return arch


def _generic_profile(key: str) -> str:
    """``profiles.<any name>...`` as the key table writes it: every profile has the same schema."""
    return re.sub(r"^profiles\.[^.]+", "profiles.<name>", key)


def _profile_options() -> set[str]:
    """Every option of an accounting profile, set by an example or not."""
    from costmodel.accounting import Accounting

    return {f"profiles.<name>.{f.name}" for f in dataclasses.fields(Accounting) if f.name != "name"}


def test_arch_examples_load_and_every_arch_key_is_documented(tmp_path: Path) -> None:
    examples = _arch_examples()
    with recording() as reads:
        for i, data in enumerate(examples):
            f = tmp_path / f"example{i}.yaml"
            f.write_text(json.dumps(data))  # JSON is YAML
            _load_arch_everywhere(load_yaml(f), f)  # the project's YAML reader, as a user's file is read
        for name in archspecs.arch_names():
            path = archspecs.arch_path(name)
            _load_arch_everywhere(load_yaml(path), path)
        for path in sorted((archspecs.ROOT / "variants").glob("*.yaml")):
            data = load_yaml(path)
            if isinstance(data, dict) and "levels" in data:  # arch variants (not the grids beside them)
                _load_arch_everywhere(data, path)
    read = {_generic_profile(k) for k in reads.read} | _profile_options()
    seen = {
        "levels[].word_bits",
        "compute.ac_pj",
        "crossbar.energy_pj.read_step",
        "device.adc.bits",
        "levels[].estimate",
        "flops_estimate.clock_hz",
        "profiles.<name>.activity",
    }
    assert seen <= read, f"the recorder did not see {sorted(seen - read)}"
    # profiles is a map of names, but every profile has one schema: its keys are compared too
    compare(
        "Arch YAML", read, also_known={_generic_profile(k) for k in reads.mentioned}, free=reads.free - {"profiles"}
    )


def test_estimate_attributes_are_documented() -> None:
    """The ``estimate:`` attribute table lists every attribute of every component class, with its classes."""
    from costmodel import components
    from costmodel.components import ComponentClass

    specs = {c.value: getattr(components, f"{c.value.capitalize()}Spec") for c in ComponentClass}
    want: dict[str, set[str]] = {"class": set(specs)}
    for cls, spec in specs.items():
        for f in dataclasses.fields(spec):
            want.setdefault(f.name, set()).add(cls)
    rows = key_rows(section("Arch YAML"), "attribute")
    got = {k: set(specs) if r["classes"] == "all" else {c.strip(" `") for c in r["classes"].split(",")}
           for k, r in rows.items()}  # fmt: skip
    assert got == want


def test_arch_compat_and_estimate_examples_load() -> None:
    """The fragments load: the SATA tool's profile and ``flops_estimate`` are sata.yaml's, the SpikeSim profile is
    spikeflow.yaml's, and a level with an ``estimate:`` block is priced by the component estimators."""
    from costmodel.arch import arch_from_dict, load_arch
    from costmodel.estimate import e_ac_from_arch
    from costmodel.types import Action, Granularity

    examples = _arch_examples()
    merged = [d for d in examples if "sata-compat" in (d.get("profiles") or {})]
    assert merged, "the Arch YAML section has no sata-compat example"
    arch = arch_from_dict(merged[0], "example")
    sata = load_arch("sata")
    tool = arch.profile("sata-compat")
    assert tool.access_granularity is Granularity.ELEMENT and tool.scalesim_memory
    assert tool == sata.profile("sata-compat"), "the doc's sata-compat profile differs from archspecs/sata.yaml's"
    assert arch.flops_estimate == sata.flops_estimate
    assert e_ac_from_arch(arch) == pytest.approx(0.1175, rel=1e-3)  # SATA's E_AC at 250 MHz

    imc = [d for d in examples if "crossbar" in d]
    assert imc, "the Arch YAML section has no crossbar example"
    xb = arch_from_dict(imc[0], "example")
    assert xb.crossbar is not None and xb.device is not None
    assert xb.profile("spikesim-compat") == load_arch("spikeflow").profile("spikesim-compat")

    est = [d for d in examples if any(isinstance(lv, dict) and "estimate" in lv for lv in d.get("levels", []))]
    assert est, "the Arch YAML section has no estimate: example"
    levels = arch_from_dict(est[0], "example").levels
    assert all(dict(lv.estimate) and lv.energy(Action.READ) > 0 for lv in levels)


# ================================================================================== network
def test_network_examples_load_and_every_network_key_is_documented() -> None:
    from costmodel.network import network_from_data

    examples = [parse_yaml(b) for b in blocks(section("Network YAML"), "yaml")]
    assert len(examples) >= 2
    with recording() as reads:
        nets = [network_from_data(d, f"example{i}") for i, d in enumerate(examples)]
        for name in archspecs.network_names():
            network_from_data(load_yaml(archspecs.network_path(name)), name)
    kinds = {layer.kind.value for net in nets for layer in net.layers}
    assert kinds == {"conv", "linear", "pool", "add"}, f"the examples should show every layer kind, got {kinds}"
    compare("Network YAML", reads.read, also_known=reads.mentioned, free=reads.free)
    rows = key_rows(section("Network YAML"))
    for key, seen in sorted(reads.kinds.items()):
        listed = rows[key]["kinds"]
        if listed == "all":
            continue
        allowed = {k.strip() for k in listed.split(",")}
        assert seen <= allowed, f"docs/formats.md, Network YAML: {key} is read for {sorted(seen - allowed)} layers too"


def test_import_nir_network_example_keys_are_network_keys() -> None:
    """The import-nir section's example uses only keys of the network schema."""
    text = blocks(section("Network YAML produced by import-nir"), "yaml")[0]
    data = parse_yaml(text)
    rows = key_rows(section("Network YAML"))
    for key in data:
        assert key in rows, f"import-nir example key {key} is not a Network YAML key"
    for layer in data["layers"]:
        for key in layer:
            assert f"layers[].{key}" in rows, f"import-nir example layer key {key} is not a Network YAML key"


# ================================================================================== mapping, constraints, grid
def test_mapping_example_loads_and_every_mapping_key_is_documented() -> None:
    from costmodel.arch import load_arch
    from costmodel.cost import Cost
    from costmodel.evaluate import evaluate
    from costmodel.mapping import Mapping, layer_mappings_from_dict
    from costmodel.network import load_network

    arch = load_arch("generic3")
    names = [lv.name for lv in arch.levels]
    with recording() as reads:  # the reader of evaluate --mapping: one mapping, or one per layer
        loaded = [layer_mappings_from_dict(parse_yaml(b), names, "example")
                  for b in blocks(section("Mapping YAML"), "yaml")]  # fmt: skip
    maps = [m for m in loaded if isinstance(m, Mapping)]
    per_layer = [m for m in loaded if isinstance(m, dict)]
    assert maps and per_layer and all(per_layer), "the Mapping YAML section needs both forms"
    net = load_network("vgg5-cifar10", timesteps=4)
    layer = net.layer("conv2")
    assert maps[0].factor(layer.bounds_dict().__iter__().__next__()) >= 1
    assert isinstance(evaluate(arch, layer, maps[0]), Cost), "the first mapping example is for conv2"
    for name, m in per_layer[0].items():
        assert isinstance(evaluate(arch, net.layer(name), m), Cost), f"the per-layer example's {name}"
    # a per-layer entry may carry other keys (an evaluate --json layer): they are ignored, its own keys are not
    compare("Mapping YAML", reads.read, also_known=reads.mentioned, free=reads.free - {"layers[]"})


def test_constraints_example_loads_and_every_constraints_key_is_documented(tmp_path: Path) -> None:
    from costmodel.arch import load_arch
    from mappers.mapspace import load_constraints

    arch = load_arch("generic3")
    with recording() as reads:
        for i, b in enumerate(blocks(section("Constraints YAML"), "yaml")):
            f = tmp_path / f"c{i}.yaml"
            f.write_text(b)
            cons = load_constraints(f, arch)
            assert cons.fixed_factors and cons.t_placement is not None
    compare("Constraints YAML", reads.read, also_known=reads.mentioned, free=reads.free)


def test_grid_examples_load_and_every_grid_key_is_documented(tmp_path: Path) -> None:
    from spikeloop.sweep.grid import load_grid

    grids = [archspecs.ROOT / "grids" / "example.yaml"]
    for i, b in enumerate(blocks(section("Sweep grid YAML"), "yaml")):
        grids.append(tmp_path / f"g{i}.yaml")
        grids[-1].write_text(b)
    read: set[str] = set()
    for g in grids:
        with recording(file=str(g)) as reads:  # the grid's own keys, not those of the archs and networks it loads
            assert load_grid(g).tasks
        read |= reads.read | reads.mentioned
        free = reads.free
    compare("Sweep grid YAML", read, free=free)


# ================================================================================== DT-exit JSON, model npz
def test_dt_exit_examples_read(tmp_path: Path) -> None:
    from spikeloop.dtsnn import read_distribution

    found = blocks(section("DT-SNN exit distribution JSON"), "json")
    assert len(found) == 2
    for i, b in enumerate(found):
        f = tmp_path / f"d{i}.json"
        f.write_text(b)
        dist = read_distribution(f)
        assert sum(dist.values()) == pytest.approx(1.0) and min(dist) >= 1
    assert read_distribution(found[0].strip()) == read_distribution(tmp_path / "d0.json")  # inline form


def test_crossbar_model_meta_keys_are_documented() -> None:
    import numpy as np

    example = json.loads(blocks(section("Crossbar model .npz"), "json")[0])
    metas = [example]
    for f in sorted((ROOT / "crossbar" / "data").glob("*.npz")):
        with np.load(f, allow_pickle=False) as z:
            if "__meta__" in z.files:
                metas.append(json.loads(str(z["__meta__"])))
    assert len(metas) >= 2, "no shipped model file"
    written = {k for m in metas for k in m}
    written |= {f"layers[].{k}" for m in metas for entry in m.get("layers", []) for k in entry}
    import inspect

    from crossbar import model_io

    source = inspect.getsource(model_io)
    read = {k for k in ("network", "input_shape", "layers", "timesteps", "neuron", "weight_bits", "bn_eps")
            if f'"{k}"' in source}  # fmt: skip
    assert {"network", "layers"} <= read, "crossbar.model_io no longer reads the documented __meta__ keys"
    compare("Crossbar model .npz", written, also_known=read)
    types = {entry["type"] for m in metas for entry in m.get("layers", [])}
    listed = key_rows(section("Crossbar model .npz"))["layers[].type"]["type"]
    assert all(f"`{t}`" in listed for t in types), f"layer types {types} not all in {listed}"


# ================================================================================== result JSON
def _keys(value: Any, prefix: str = "") -> set[str]:  # noqa: ANN401
    """Dotted keys of a JSON value; list entries as ``[]``."""
    out: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            out.add(key)
            out |= _keys(v, key)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                out |= _keys(item, prefix + "[]")
    return out


def _cli(*argv: str) -> None:
    from spikeloop.cli import main

    assert main(list(argv)) == 0


def test_evaluate_json_keys_are_documented(tmp_path: Path) -> None:
    written: set[str] = set()
    for arch, extra in (("generic3", ["--dt-exit", '{"1": 0.5, "2": 0.5}']), ("spikeflow", ["-T", "1"])):
        out = tmp_path / f"{arch}.json"
        _cli("evaluate", "--arch", arch, "--network", "vgg5-cifar10", *extra, "--json", str(out), "--quiet")
        written |= _keys(json.loads(out.read_text()))
    assert "dt_exit.edp_reduction_x" in written and "area_breakdown_um2.tiles" in written
    assert {"profile", "latency_rule", "layers[].busy_cycles", "layers[].tiles"} <= written
    compare("Result JSON: evaluate --json", written)


def test_map_json_keys_are_documented(tmp_path: Path) -> None:
    out = tmp_path / "map.json"
    _cli("map", "--arch", "generic3", "--network", "vgg5-cifar10", "--layer", "fc2", "-T", "1", "--method",
         "random", "--time-limit", "0.3", "--json", str(out), "--quiet")  # fmt: skip
    compare("Result JSON: map --json", _keys(json.loads(out.read_text())))


def test_compare_json_keys_are_documented(tmp_path: Path) -> None:
    _cli("compare", "--arch", "generic3", "--network", "vgg5-cifar10", "--dataflows", "os,time-batched", "-T", "1",
         "--out", str(tmp_path), "--quiet")  # fmt: skip
    data = json.loads((tmp_path / "compare.json").read_text())
    written = {re.sub(r"^verdicts\[\]\.(os|time-batched)_energy_pj$", "verdicts[].<dataflow>_energy_pj", k)
               for k in _keys(data)}  # fmt: skip
    compare("Result JSON: compare --out", written)


def test_sweep_record_keys_are_documented(tmp_path: Path) -> None:
    from spikeloop.sweep import evaluate_point, load_grid

    grid = tmp_path / "g.yaml"
    grid.write_text(
        "archs: [generic3, spikeflow]\noverrides: {compute.lif_sharing: [2]}\nnetworks: [vgg5-cifar10]\nT: [1]\n"
    )
    tasks = load_grid(grid).tasks
    records = [evaluate_point(t) for t in tasks]
    records.append(evaluate_point(dataclasses.replace(tasks[0], network_data={"name": "broken"})))
    assert [r["status"] for r in records] == ["ok", "ok", "failed"], records[-1]
    compare("Sweep results (JSON lines)", set().union(*(_keys(r) for r in records)))


def test_reproduce_row_keys_are_documented() -> None:
    from spikeloop.rows import Row

    row = Row(id="x", paper=1.0, ours=2.0, unit="nJ", note="n", command="c", parts=(("memory", 1.5),))
    compare("Reproduce rows", _keys(row.to_dict()))
