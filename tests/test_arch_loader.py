"""The arch loader rejects bad input with a one-line SpecError naming the file and the key path."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

import archspecs
from costmodel.arch import load_arch
from costmodel.specio import SpecError
from costmodel.types import Tensor

GENERIC3: dict[str, Any] = yaml.safe_load(archspecs.arch_path("generic3").read_text())


def _write(tmp_path: Path, data: Any, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def _error(path: Path) -> str:
    with pytest.raises(SpecError) as info:
        load_arch(path)
    msg = str(info.value)
    assert "\n" not in msg, msg
    assert msg.startswith(str(path)), msg  # the file comes first
    return msg


def test_generic3_loads(tmp_path: Path) -> None:
    arch = load_arch("generic3")
    assert [lv.name for lv in arch.levels] == ["DRAM", "GLB", "RF"]
    assert arch.levels[1].capacity_bits == 1048576
    assert arch.levels[2].keeps == frozenset({Tensor.W, Tensor.I, Tensor.O, Tensor.U})
    assert arch.pes == 16
    # a faithful copy written elsewhere loads to the same values (the helper below is sound)
    again = load_arch(_write(tmp_path, GENERIC3, "ok.yaml"))
    assert again.levels == arch.levels and again.compute == arch.compute


@pytest.mark.parametrize(
    "text",
    [
        "name: x\nlevels: [\n",  # unclosed flow sequence
        "name: x\n  levels: - a\n",  # bad indentation
        "name: [x\nclock_hz: 1\n",
    ],
)
def test_malformed_yaml(tmp_path: Path, text: str) -> None:
    msg = _error(_write(tmp_path, text))
    assert "malformed YAML" in msg
    assert "line " in msg  # where in the file


def _mutated(edit: Any) -> dict[str, Any]:
    data = copy.deepcopy(GENERIC3)
    edit(data)
    return data


CASES = [
    # (what, edit, key path that must be named, words the message must contain)
    ("unknown level key", lambda d: d["levels"][1].update(colour="red"), "levels[1].colour", ["unknown key"]),
    ("unknown top-level key", lambda d: d.update(levelz=[]), "levelz", ["unknown key"]),
    ("unknown compute key", lambda d: d["compute"].update(mac_pJ=1.0), "compute.mac_pJ", ["unknown key"]),
    ("bad mac price", lambda d: d["compute"].update(mac_pj="serial"), "compute.mac_pj", ["bit-serial"]),
    ("unknown fanout key", lambda d: d["levels"][1]["fanout"].update(z=2), "levels[1].fanout.z", ["unknown key"]),
    ("negative capacity", lambda d: d["levels"][2].update(capacity_bits=-5), "levels[2].capacity_bits", ["-5"]),
    ("zero capacity", lambda d: d["levels"][1].update(capacity_bits=0), "levels[1].capacity_bits", ["0"]),
    ("negative word size", lambda d: d["levels"][0].update(word_bits=-64), "levels[0].word_bits", ["-64"]),
    ("negative fanout", lambda d: d["levels"][1]["fanout"].update(x=-4), "levels[1].fanout.x", ["-4"]),
    (
        "negative bandwidth",
        lambda d: d["levels"][1].update(read_bandwidth_bits_per_cycle=-1),
        "levels[1].read_bandwidth_bits_per_cycle",
        ["-1"],
    ),
    ("negative energy", lambda d: d["levels"][0]["energy_pj"].update(read=-1.0), "levels[0].energy_pj.read", ["-1.0"]),
    ("negative area", lambda d: d["levels"][1].update(area_um2=-3.0), "levels[1].area_um2", ["-3.0"]),
    ("unknown tensor", lambda d: d["levels"][2].update(keeps=["W", "X"]), "levels[2].keeps", ["'X'"]),
    (
        "unknown action",
        lambda d: d["levels"][0]["energy_pj"].update(erase=1.0),
        "levels[0].energy_pj.erase",
        ["unknown key"],
    ),
    ("missing key", lambda d: d["levels"][1].pop("word_bits"), "levels[1].word_bits", ["missing"]),
    ("string for a number", lambda d: d["levels"][1].update(word_bits="32"), "levels[1].word_bits", ["'32'"]),
    (
        "bad granularity",
        lambda d: d["levels"][1].update(access_granularity="byte"),
        "levels[1].access_granularity",
        ["byte"],
    ),
    ("duplicate level name", lambda d: d["levels"][2].update(name="GLB"), "levels[2].name", ["GLB"]),
    (
        "capacity of a bypassed tensor",
        lambda d: d["levels"][2].update(tensor_capacity_bits={"S": 8}),
        "levels[2].tensor_capacity_bits.S",
        ["not in keeps"],
    ),
    ("zero clock", lambda d: d.update(clock_hz=0), "clock_hz", ["0"]),
    ("levels not a list", lambda d: d.update(levels={"DRAM": 1}), "levels", ["list"]),
]


@pytest.mark.parametrize(("what", "edit", "key", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_value_names_file_and_key(tmp_path: Path, what: str, edit: Any, key: str, words: list[str]) -> None:
    path = _write(tmp_path, _mutated(edit))
    msg = _error(path)
    assert f"{path}: {key}:" in msg, msg
    for w in words:
        assert w in msg, msg


def test_outermost_level_must_keep_every_tensor(tmp_path: Path) -> None:
    path = _write(tmp_path, _mutated(lambda d: d["levels"][0].update(keeps=["W", "I", "O", "S"])))
    msg = _error(path)
    assert "DRAM" in msg and "U" in msg and "outermost" in msg


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    missing.mkdir()  # a directory with a .yaml name: found, but cannot be read as a file
    msg = _error(missing)
    assert "cannot read" in msg


@pytest.mark.parametrize(
    ("what", "edit", "key", "words"),
    [
        ("resident sizing on a digital arch", lambda d: d.update(sizing="resident"), "sizing", ["crossbar"]),
        (
            "SpikeSim latency on a digital arch",
            lambda d: d.update(latency="per-output-neuron"),
            "latency",
            ["crossbar"],
        ),
        (
            "profile latency on a digital arch",
            lambda d: d.update(profiles={"p": {"latency": "per-output-neuron"}}),
            "profiles.p.latency",
            ["crossbar"],
        ),
        (
            "profile dataflow typo",
            lambda d: d.update(profiles={"p": {"dataflow": "wss"}}),
            "profiles.p.dataflow",
            ["expected one of os, ws, time-batched, scalesim, best"],
        ),
        (
            "crossbar dataflow on a digital arch",
            lambda d: d.update(profiles={"p": {"dataflow": "packed"}}),
            "profiles.p.dataflow",
            ["digital arch"],
        ),
    ],
)
def test_options_that_need_a_crossbar_are_refused_at_load(
    tmp_path: Path, what: str, edit: Any, key: str, words: list[str]
) -> None:
    path = _write(tmp_path, _mutated(edit))
    msg = _error(path)
    assert f": {key}: " in msg and all(w in msg for w in words), (what, msg)
