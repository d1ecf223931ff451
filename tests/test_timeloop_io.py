"""The Timeloop reader and writer: every spelling timeloop-model accepts reads the same, every bad input exits 2 with
one line naming the file and the key, and what spikeloop writes reads back to the same counts (and, checked with a
real timeloop-model v3.0.3 build when the files were written, loads there unedited)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from costmodel.mapping import LevelMapping, Loop, Mapping
from costmodel.types import Axis, Dim
from spikeloop.cli import main
from spikeloop.timeloop import ExportError, load_case, run_model, timeloop_files, write_timeloop

DATA = Path(__file__).parent / "data" / "timeloop" / "eyeriss_like"
NAMES = ("arch.yaml", "problem.yaml", "mapping.yaml", "ERT.yaml")


def files(**replace: str) -> list[str]:
    return [replace.get(n, str(DATA / n)) for n in NAMES]


@pytest.fixture(scope="module")
def base():  # noqa: ANN201
    return run_model(files())


def counts(result) -> list:  # noqa: ANN001
    return [(lv.name, lv.counts) for lv in result.levels]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


def edited(tmp_path: Path, name: str, old: str, new: str, count: int = 1) -> list[str]:
    text = (DATA / name).read_text()
    assert old in text, old
    p = tmp_path / name
    p.write_text(text.replace(old, new, count))
    return files(**{name: str(p)})


# ------------------------------------------------------------------------------------------------ reading
def test_files_in_any_order_and_one_combined_file(tmp_path: Path, base) -> None:  # noqa: ANN001
    _, r = run_model(list(reversed(files())))
    assert counts(r) == counts(base[1])
    merged = {}
    for n in NAMES:
        merged.update(yaml.safe_load((DATA / n).read_text()))
    one = tmp_path / "all.yaml"
    one.write_text(yaml.safe_dump(merged))
    assert counts(run_model([str(one)])[1]) == counts(base[1])


def test_timeloopfe_nodes_form_reads_the_same(base) -> None:  # noqa: ANN001
    case, r = run_model(files(**{"arch.yaml": str(DATA / "arch_timeloopfe.yaml")}))
    assert case.tl_arch.names() == base[0].tl_arch.names()
    assert counts(r) == counts(base[1]) and r.total_energy_pj == base[1].total_energy_pj


def test_underscore_keys_and_one_based_ranges(tmp_path: Path, base) -> None:  # noqa: ANN001
    arch = (DATA / "arch.yaml").read_text().replace("word-bits", "word_bits").replace("block-size", "block_size")
    arch = arch.replace("PE_column[0..13]", "PE_column[1..14]").replace("PE[0..11]", "PE[1..12]")
    prob = (DATA / "problem.yaml").read_text().replace("data-spaces", "data_spaces").replace("read-write", "read_write")
    (tmp_path / "arch.yaml").write_text(arch)
    (tmp_path / "problem.yaml").write_text(prob)
    r = run_model(files(**{"arch.yaml": str(tmp_path / "arch.yaml"), "problem.yaml": str(tmp_path / "problem.yaml")}))
    assert counts(r[1]) == counts(base[1])


def test_flattened_form(tmp_path: Path, base) -> None:  # noqa: ANN001
    """The tree flattened with dotted names and total instance ranges, as timeloopfe writes it."""
    case = base[0]
    local = []
    for s in case.tl_arch.storage:
        attrs = {"datawidth": s.word_bits, "width": s.word_bits * s.block_size, "meshX": s.mesh_x}
        if s.size_elements is not None:
            attrs["depth"] = s.size_elements // s.block_size
        if s.read_elements_per_cycle:
            attrs.update(read_bandwidth=s.read_elements_per_cycle, write_bandwidth=s.write_elements_per_cycle)
        local.append({"name": f"system_top_level.{s.name}[1..{s.instances}]", "class": s.cls, "attributes": attrs})
    local.append({"name": "system_top_level.mac[1..168]", "class": "intmac", "attributes": {"meshX": 14}})
    p = tmp_path / "flat.yaml"
    p.write_text(yaml.safe_dump({"architecture": {"version": 0.4, "local": local}}))
    assert counts(run_model(files(**{"arch.yaml": str(p)}))[1]) == counts(base[1])


def test_converted_values(base) -> None:  # noqa: ANN001
    case = base[0]
    a = case.arch
    assert [lv.name for lv in a.levels] == [
        "DRAM",
        "shared_glb",
        "inter_PE_column_spatial",
        "inter_PE_spatial",
        "ifmap_spad",
        "weights_spad",
        "psum_spad",
    ]
    assert [(lv.fanout.x, lv.fanout.y) for lv in a.levels] == [(1, 1), (1, 1), (14, 1), (1, 12), (1, 1), (1, 1), (1, 1)]
    assert a.pes == 168 and a.default_profile == "timeloop"
    assert case.layer.bounds == (1, 1, 64, 64, 32, 32, 3, 3) and not case.layer.spiking
    glb = case.mapping.levels[1]
    assert [(lp.dim, lp.bound) for lp in glb.temporal] == [(Dim.C, 8), (Dim.P, 16), (Dim.Q, 16)]
    pe = case.mapping.levels[3]
    assert {(lp.dim, lp.bound, lp.axis) for lp in pe.spatial} == {
        (Dim.S, 3, Axis.Y),
        (Dim.C, 2, Axis.Y),
        (Dim.K, 2, Axis.Y),
    }
    assert a.levels[4].energy_pj[0][1] == pytest.approx(0.202442 / 2)  # per 8-bit element of a 16-bit vector


def test_cli_prints_timeloop_terms_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    j = tmp_path / "r.json"
    rc, out, err = run(["timeloop-model", *files(), "--json", str(j)], capsys)
    assert rc == 0, err
    assert re.search(r"\| weights_spad +\| 168 +\| Weights +\| 37,748,736 +\| 147,456 ", out)
    assert "cycles 393,216; utilization 0.57" in out
    d = __import__("json").loads(j.read_text())
    assert d["macs"] == 37_748_736 and d["levels"][0]["counts"]["Weights"]["reads"] == 147_456
    assert d["problem"]["M"] == 64


# ------------------------------------------------------------------------------------------------ refusals
BAD = [
    (
        "mapping.yaml",
        "type: temporal, factors: R=1 S=1 P=1 Q=1 C=1 M=4 N=1",
        "type: temporal, factors: R=1 S=1 P=1 Q=1 C=1 M=4 N=1, skew: 1",
        r"mapping\[13\]\.skew: not supported",
    ),
    (
        "mapping.yaml",
        "permutation: MRSPQCN}",
        "permutation: MRSPQCNM}",
        r"mapping\[13\]\.permutation: dimension M "
        "appears twice",
    ),
    (
        "mapping.yaml",
        "factors: R=1 S=1 P=1 Q=1 C=1 M=4 N=1,",
        "factors: 'R=1 S=1 P=1 Q=1 C=1 M=4,3 N=1',",
        r"mapping\[13\]\.factors: M=4,3: residual \(imperfect\) factors are not supported",
    ),
    (
        "mapping.yaml",
        "M=4 N=1, permutation: MRSPQCN",
        "M=2 N=1, permutation: MRSPQCN",
        r"mapping\.yaml: mapping: the factors of M multiply to 32, the problem's M is 64",
    ),
    (
        "mapping.yaml",
        "target: psum_spad, type: temporal",
        "target: psum, type: temporal",
        r"mapping\[13\]\.target: no storage level 'psum'",
    ),
    ("mapping.yaml", "type: bypass, keep: [Outputs]", "type: bypass, keep: [Psums]", r"unknown data space 'Psums'"),
    (
        "mapping.yaml",
        "{target: psum_spad, type: temporal,",
        "{target: psum_spad, type: temporal, foo: 1,",
        r"mapping\[13\]\.foo: unknown key in a temporal directive",
    ),
    (
        "problem.yaml",
        "Wdilation: 1, Hdilation: 1}",
        "Wdilation: 2, Hdilation: 1}",
        r"problem\.instance\.Wdilation: dilation is not supported",
    ),
    ("problem.yaml", "N: 1,", "N: 1, Z: 3,", r"problem\.instance\.Z: unknown key"),
    ("problem.yaml", "Wstride: 1, Hstride: 1", "Wstride: 1, Hstride: 2", r"Hstride: different strides"),
    ("problem.yaml", "C: 64, ", "", r"problem\.instance\.C: required dim C is missing"),
    (
        "problem.yaml",
        "projection: [[[C]], [[M]], [[R]], [[S]]]",
        "projection: [[[C]], [[M]], [[R]], [[P]]]",
        r"not a convolution shape",
    ),
    ("arch.yaml", "read_bandwidth: 16", "bandwidth: 16", r"shared_glb.*bandwidth: deprecated"),
    (
        "arch.yaml",
        "memory_depth: 16384",
        "memory_depth: 16384\n                metadata_storage_width: 8",
        r"metadata_storage_width: compressed metadata is not supported",
    ),
    ("arch.yaml", "meshX: 14}", "meshX: 5}", r"14 instances do not divide into meshX = 5"),
    ("arch.yaml", "class: intmac", "class: adder", r"expected one compute component"),
    (
        "ERT.yaml",
        "- name: system.eyeriss.PE_column[0..13].PE[0..11].weights_spad",
        "- name: system.eyeriss.PE_column[0..13].PE[0..11].weights_spadX",
        r"ERT.tables: no entry for weights_spad",
    ),
    (
        "ERT.yaml",
        "{name: read, arguments: null, energy: 0.2513}",
        "{name: reed, arguments: null, energy: 0.2513}",
        r"ERT.tables: the entry for psum_spad has no random_read / read action",
    ),
    (
        "ERT.yaml",
        "{name: compute, arguments: null, energy: 0.207692}",
        "{name: leak, arguments: null, energy: 0.1}",
        r"ERT.tables: no entry with a compute action",
    ),
]


@pytest.mark.parametrize(("name", "old", "new", "expect"), BAD, ids=[b[3][:40] for b in BAD])
def test_bad_input_exits_2_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, old: str, new: str, expect: str
) -> None:
    args = edited(tmp_path, name, old, new)
    rc, _, err = run(["timeloop-model", *args], capsys)
    assert rc == 2
    assert len(err.strip().splitlines()) == 1, err
    assert str(tmp_path / name) in err or name in err, err
    assert re.search(expect, err), err


@pytest.mark.parametrize(
    ("extra", "expect"),
    [
        ("sparse_optimizations: {targets: []}\n", r"sparse_optimizations: sparse optimizations .* not supported"),
        ("colour: blue\n", r"colour: unknown top-level key"),
        ("problem: {}\n", r"problem: also given in"),
    ],
)
def test_bad_top_level_key(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, expect: str) -> None:
    p = tmp_path / "extra.yaml"
    p.write_text(extra)
    rc, _, err = run(["timeloop-model", *files(), str(p)], capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and re.search(expect, err), err


def test_missing_file_and_missing_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(["timeloop-model", *files(**{"ERT.yaml": str(tmp_path / "nope.yaml")})], capsys)
    assert rc == 2 and "nope.yaml" in err and len(err.strip().splitlines()) == 1
    rc, _, err = run(["timeloop-model", str(DATA / "arch.yaml"), str(DATA / "ERT.yaml")], capsys)
    assert rc == 2 and "no file has the top-level key problem" in err


def test_sparse_density_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = edited(tmp_path, "problem.yaml", "Hdilation: 1}", "Hdilation: 1, densities: {Weights: 0.5}}")
    rc, _, err = run(["timeloop-model", *args], capsys)
    assert rc == 2 and "densities.Weights: sparse workloads" in err


def test_mapping_that_overflows_a_buffer_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = edited(tmp_path, "arch.yaml", "memory_depth: 16\n", "memory_depth: 1\n")
    rc, _, err = run(["timeloop-model", *args], capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "mapping.yaml: mapping: not valid on this architecture: psum_spad: kept tiles need 64 bits" in err


# ------------------------------------------------------------------------------------------------ writing
def test_export_reads_back_to_the_same_counts(tmp_path: Path, base) -> None:  # noqa: ANN001
    case, r = base
    paths = write_timeloop(tmp_path / "tl", case.arch, case.layer, case.mapping)
    assert [p.name for p in paths] == list(NAMES)
    case2, r2 = run_model([str(p) for p in paths])
    assert counts(r2) == counts(r) and r2.total_energy_pj == pytest.approx(r.total_energy_pj)
    m = yaml.safe_load((tmp_path / "tl" / "mapping.yaml").read_text())["mapping"]
    for d in m:
        if "permutation" in d:
            assert sorted(d["permutation"]) == sorted("RSPQCMN"), d  # every dim exactly once
    spatial = {d["target"] for d in m if d["type"] == "spatial"}
    assert spatial == {"inter_PE_column_spatial", "inter_PE_spatial"}  # on the levels that fan out


def test_export_splits_a_2d_fanout_into_a_dummy_level(tmp_path: Path) -> None:
    """generic3's GLB fans out 4 x 4: Timeloop gets GLB (X) and GLB_y (Y), so a dim may be spread on both."""
    from costmodel.arch import load_arch
    from costmodel.evaluate import evaluate
    from costmodel.workload import conv_layer

    arch = load_arch("generic3")
    layer = conv_layer("c", K=8, C=8, P=4, R=3)
    g = arch.level_index("GLB")
    levels = [LevelMapping() for _ in arch.levels]
    levels[0] = LevelMapping(temporal=(Loop(Dim.K, 8), Loop(Dim.P, 4), Loop(Dim.Q, 4), Loop(Dim.R, 3), Loop(Dim.S, 3)))
    levels[g] = LevelMapping(spatial=(Loop(Dim.C, 2, True, Axis.X), Loop(Dim.C, 4, True, Axis.Y)))
    mapping = Mapping(levels=tuple(levels))
    assert evaluate(arch, layer, mapping)
    text = timeloop_files(arch, layer, mapping)
    a = yaml.safe_load(text["arch.yaml"])
    m = yaml.safe_load(text["mapping.yaml"])["mapping"]
    sp = {d["target"]: d for d in m if d["type"] == "spatial"}
    assert sp["GLB"]["factors"].split()[4] == "C=2" and sp["GLB"]["split"] == 7
    assert sp["GLB_y"]["factors"].split()[4] == "C=4" and sp["GLB_y"]["split"] == 0
    assert "GLB_y_array[0..3]" in str(a)


def test_export_refuses_t_above_1_and_weightless_layers(tmp_path: Path) -> None:
    from costmodel.arch import load_arch
    from costmodel.workload import conv_layer

    arch = load_arch("generic3")
    mapping = Mapping(levels=tuple(LevelMapping() for _ in arch.levels))
    with pytest.raises(ExportError, match=r"T = 4: Timeloop's conv problem has no timestep dim"):
        write_timeloop(tmp_path / "x", arch, conv_layer("c", T=4, K=1, C=1, P=1, R=1), mapping)
    assert not (tmp_path / "x").exists()  # nothing written


def test_export_refuses_separated_loops_of_one_dim(tmp_path: Path) -> None:
    from costmodel.arch import load_arch
    from costmodel.workload import conv_layer

    arch = load_arch("generic3")
    levels = [LevelMapping() for _ in arch.levels]
    levels[0] = LevelMapping(temporal=(Loop(Dim.K, 2), Loop(Dim.C, 2), Loop(Dim.K, 2)))
    with pytest.raises(ExportError, match="two temporal loops of K with another loop between"):
        timeloop_files(arch, conv_layer("c", K=4, C=2, P=1, R=1), Mapping(levels=tuple(levels)))


def test_map_refuses_timeloop_export_of_t_above_1_before_searching(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = run(
        [
            "map",
            "--arch",
            "generic3",
            "--network",
            "vgg9-cifar10",
            "--layer",
            "conv2",
            "--export-timeloop",
            str(tmp_path / "tl"),
        ],
        capsys,
    )
    assert rc == 2 and "T = 4" in err and "give -T 1" in err and len(err.strip().splitlines()) == 1


def test_load_case_notes_ignored_constraints(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("architecture_constraints: {targets: []}\n")
    case = load_case([*files(), str(p)])
    assert any("architecture_constraints ignored" in n for n in case.notes)


def test_export_warns_where_timeloop_will_find_the_tiles_too_large(tmp_path: Path) -> None:
    """1-bit input spikes beside 16-bit partial sums fit generic3's GLB in bits, but Timeloop stores every data
    space there at 16 bits: 86,784 elements > 65,536 (timeloop-model v3.0.3 says the same of such a mapping:
    "mapped tile size ... exceeds buffer capacity 65536")."""
    from costmodel.arch import load_arch
    from costmodel.evaluate import evaluate
    from costmodel.workload import conv_layer
    from spikeloop.timeloop import timeloop_warnings

    arch = load_arch("generic3")
    layer = conv_layer("c", K=8, C=64, P=32, R=3)
    levels = [LevelMapping() for _ in arch.levels]
    levels[arch.level_index("GLB")] = LevelMapping(
        temporal=(Loop(Dim.K, 8), Loop(Dim.C, 64), Loop(Dim.P, 32), Loop(Dim.Q, 32), Loop(Dim.R, 3), Loop(Dim.S, 3))
    )
    mapping = Mapping(levels=tuple(levels))
    assert evaluate(arch, layer, mapping)
    (w,) = timeloop_warnings(arch, layer, mapping)
    assert "level GLB" in w and "(86,784 elements) exceed its 65,536 elements" in w
    assert "WARNING: level GLB" in timeloop_files(arch, layer, mapping)["mapping.yaml"]


def test_art_areas_and_targets_by_id(tmp_path: Path, base) -> None:  # noqa: ANN001
    """ART areas become level and compute areas; a directive's target may be Timeloop's storage-level id
    (0 = innermost: psum_spad)."""
    art = tmp_path / "ART.yaml"
    art.write_text(
        "ART:\n  version: 0.3\n  tables:\n    - {name: system.eyeriss.shared_glb, area: 2000.5}\n"
        "    - {name: 'system.eyeriss.PE_column[0..13].PE[0..11].mac', area: 300.0}\n"
    )
    case, _ = run_model([*files(), str(art)])
    assert case.arch.levels[1].area_um2 == 2000.5 and case.arch.compute.area_um2 == 300.0
    args = edited(tmp_path, "mapping.yaml", "{target: psum_spad, type: temporal", "{target: 0, type: temporal")
    assert counts(run_model(args)[1]) == counts(base[1])


def test_map_writes_a_timeloop_mapping_and_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, folder = tmp_path / "m.yaml", tmp_path / "tl"
    rc, _, err = run(
        [
            "map",
            "--arch",
            "generic3",
            "--network",
            "vgg9-cifar10",
            "--layer",
            "fc1",
            "-T",
            "1",
            "--method",
            "random",
            "--time-limit",
            "1",
            "--quiet",
            "--format",
            "timeloop",
            "--out",
            str(out),
            "--export-timeloop",
            str(folder),
        ],
        capsys,
    )
    assert rc == 0, err
    assert out.read_text() == (folder / "mapping.yaml").read_text()
    if "note: level" in err:  # Timeloop's one width per level makes a tile too large: said on stderr and in the file
        assert "WARNING: level" in out.read_text()
    else:
        _, r = run_model([str(folder / n) for n in NAMES])
        assert r.macs == 4096 * 1024
    m = yaml.safe_load(out.read_text())["mapping"]
    assert all(sorted(d["permutation"]) == sorted("RSPQCMN") for d in m if "permutation" in d)
