"""A tiny end-to-end configuration whose every number is derived by hand (the model: README, "The model in one page").

Arch (2 levels, built here from a dict):
    DRAM keeps W I O U S, 16-bit words, read 10 / write 20 / update 30 pJ per word,
         read bandwidth 8 bits/cycle, link 0.125 pJ/bit, fanout 2 (x)
    RF   keeps W O U, 1024 bits, 16-bit words, read 1 / write 2 / update 3 pJ per word,
         0.5 pJ/cycle static and 100 um^2 per instance, fanout 1
    compute: ac 0.25 pJ, lif 0.5 pJ, 10 um^2 per PE, 5 um^2 per LIF unit (1 per PE)
Layer: T=2 N=1 K=2 C=2 P=2 Q=1 R=1 S=1, stride 1, 8-bit weights, 16-bit psums and membranes,
       input spike density 0.5.
Mapping (outer to inner):
    DRAM temporal [T 2, C 2], spatial [K 2 x]
    RF   temporal [P 2]

MACs = 2*2*2*2 = 16; LIF updates = T*N*K*P*Q = 8; 2 PEs (one RF each), 2 LIF units.

Element counts:
* W  RF tile K*C*R*S at RF = 1. Above the RF: T (irrelevant) wraps C (relevant): 2*2 = 4
     residencies per RF, 2 RFs (K spatial, relevant to W: no multicast): RF writes 8, DRAM reads 8.
     Compute reads W from the RF: 16 (no irrelevant spatial loop below the RF).
* I  only in DRAM: compute reads 16 MACs / 2 (K spatial is irrelevant to I: multicast) = 8.
* O  RF tile P = 2. Above the RF: T relevant, C irrelevant and innermost: 2 residencies of 2
     distinct tiles -> no spill. Compute updates 16; the LIF reads the 8 finished sums.
* U  projected nest [T 2 | K 2 spatial | P 2]: T is irrelevant with nothing relevant inside it:
     1 residency -> no spill. LIF updates 8 in the RF.
* S  only in DRAM: 8 spikes written by the LIF.

Words (elements * bits / 16) and energy:
    DRAM W read  8*8/16 = 4    * 10 = 40        RF W write 8*8/16  = 4  * 2 = 8
    DRAM I read  8*1/16 = 0.5  * 10 = 5         RF W read  16*8/16 = 8  * 1 = 8
    DRAM S write 8*1/16 = 0.5  * 20 = 10        RF O update 16          * 3 = 48
                                                RF O read  8            * 1 = 8
                                                RF U update 8           * 3 = 24
    compute: 16 * 0.5 = 8 accumulations * 0.25 = 2; LIF 8 * 0.5 = 4
    DRAM links (elements crossing its fanout * bits * 0.125):
        W 8*8 = 64 bits -> 8; I 8*1 = 8 bits -> 1; S 8*1 = 8 bits -> 1
Cycles: compute = DRAM iterations 4 * RF iterations 2 = 8; LIF 8 / 2 units = 4;
        DRAM reads (4 + 0.5) words * 16 bits = 72 bits / 8 bits per cycle = 9  -> 9 cycles.
Static: RF 9 cycles * 0.5 pJ * 2 instances = 9.
Total: 55 (DRAM) + 96 (RF) + 6 (compute) + 10 (links) + 9 (static) = 176 pJ.
Area: 2 RFs * 100 + 2 PEs * 10 + 2 LIF units * 5 = 230 um^2.
"""

from __future__ import annotations

import pytest

from costmodel.arch import Arch, arch_from_dict
from costmodel.cost import Cost, Key
from costmodel.evaluate import evaluate
from costmodel.mapping import LevelMapping, Loop, Mapping
from costmodel.types import Action, Dim, Tensor
from costmodel.workload import Layer, conv_layer

R, W, U, X, ST = Action.READ, Action.WRITE, Action.UPDATE, Action.TRANSFER, Action.STATIC

ARCH = {
    "name": "tiny2",
    "clock_hz": 1.0e9,
    "levels": [
        {
            "name": "DRAM",
            "keeps": ["W", "I", "O", "U", "S"],
            "capacity_bits": None,
            "word_bits": 16,
            "read_bandwidth_bits_per_cycle": 8,
            "energy_pj": {"read": 10.0, "write": 20.0, "update": 30.0},
            "link_pj_per_bit": 0.125,
            "fanout": {"x": 2, "y": 1},
        },
        {
            "name": "RF",
            "keeps": ["W", "O", "U"],
            "capacity_bits": 1024,
            "word_bits": 16,
            "energy_pj": {"read": 1.0, "write": 2.0, "update": 3.0},
            "static_pj_per_cycle": 0.5,
            "area_um2": 100.0,
        },
    ],
    "compute": {"ac_pj": 0.25, "lif_pj": 0.5, "area_um2": 10.0, "lif_area_um2": 5.0},
}

EXPECTED_PJ = {
    Key("DRAM", Tensor.W, R): 40.0,
    Key("DRAM", Tensor.I, R): 5.0,
    Key("DRAM", Tensor.S, W): 10.0,
    Key("DRAM", Tensor.W, X): 8.0,
    Key("DRAM", Tensor.I, X): 1.0,
    Key("DRAM", Tensor.S, X): 1.0,
    Key("RF", Tensor.W, W): 8.0,
    Key("RF", Tensor.W, R): 8.0,
    Key("RF", Tensor.O, U): 48.0,
    Key("RF", Tensor.O, R): 8.0,
    Key("RF", Tensor.U, U): 24.0,
    Key("compute", None, Action.AC): 2.0,
    Key("compute", None, Action.LIF): 4.0,
    Key("RF", None, ST): 9.0,
}

EXPECTED_WORDS = {
    Key("DRAM", Tensor.W, R): 4.0,
    Key("DRAM", Tensor.I, R): 0.5,
    Key("DRAM", Tensor.S, W): 0.5,
    Key("RF", Tensor.W, W): 4.0,
    Key("RF", Tensor.W, R): 8.0,
    Key("RF", Tensor.O, U): 16.0,
    Key("RF", Tensor.O, R): 8.0,
    Key("RF", Tensor.U, U): 8.0,
}


@pytest.fixture(scope="module")
def arch() -> Arch:
    return arch_from_dict(ARCH, "tiny2.yaml")


@pytest.fixture(scope="module")
def layer() -> Layer:
    return conv_layer("tiny", T=2, K=2, C=2, P=2, Q=1, R=1, S=1, spike_density=0.5)


MAPPING = Mapping(
    levels=(
        LevelMapping(temporal=(Loop(Dim.T, 2), Loop(Dim.C, 2)), spatial=(Loop(Dim.K, 2, True, "x"),)),
        LevelMapping(temporal=(Loop(Dim.P, 2),)),
    )
)


@pytest.fixture(scope="module")
def cost(arch: Arch, layer: Layer) -> Cost:
    result = evaluate(arch, layer, MAPPING)
    assert isinstance(result, Cost), result
    return result


def test_energy_per_key(cost: Cost) -> None:
    assert cost.energy_pj == pytest.approx(EXPECTED_PJ, abs=1e-12)
    assert set(cost.energy_pj) == set(EXPECTED_PJ)  # nothing else is charged


def test_total_energy(cost: Cost) -> None:
    assert cost.total_energy_pj == pytest.approx(176.0, abs=1e-12)


def test_storage_words(cost: Cost) -> None:
    storage = {k: v for k, v in cost.counts.items() if k.action in (R, W, U) and k.component != "compute"}
    assert storage == pytest.approx(EXPECTED_WORDS, abs=1e-12)
    assert set(storage) == set(EXPECTED_WORDS)


def test_ops_cycles_area(cost: Cost) -> None:
    assert cost.macs == 16
    assert cost.accumulations == 8
    assert cost.lif_ops == 8
    assert cost.cycles == 9  # DRAM read bandwidth bound (compute alone is 8)
    assert cost.pes == 2
    assert cost.area_um2 == pytest.approx(230.0)
    assert cost.utilization == pytest.approx(16 / (9 * 2))


def test_t_inside_changes_the_weight_traffic_by_hand(arch: Arch, layer: Layer) -> None:
    """Swap T and C at DRAM: C outermost, T inner -> the RF W tile is kept across timesteps:
    2 residencies per RF (not 4), so DRAM W reads 2*2*8/16 = 2 words (20 pJ) instead of 4 (40 pJ)."""
    swapped = Mapping(
        levels=(
            LevelMapping(temporal=(Loop(Dim.C, 2), Loop(Dim.T, 2)), spatial=(Loop(Dim.K, 2, True, "x"),)),
            MAPPING.levels[1],
        )
    )
    cost = evaluate(arch, layer, swapped)
    assert isinstance(cost, Cost), cost
    assert cost.counts[Key("DRAM", Tensor.W, R)] == 2.0
    assert cost.energy_pj[Key("DRAM", Tensor.W, R)] == 20.0
    # O: now C (irrelevant) wraps T (relevant): 4 residencies of 2 tiles -> 2 spills of the 2-element
    # RF tile per RF, 2 RFs (K spatial is relevant to O): 8 elements each way.
    # RF: O writes 8 (refills), O reads 8 (writebacks) + 8 (LIF); DRAM: O reads 8, O updates 8.
    assert cost.counts[Key("RF", Tensor.O, W)] == 8.0  # 8 * 16 / 16
    assert cost.counts[Key("RF", Tensor.O, R)] == 16.0
    assert cost.counts[Key("DRAM", Tensor.O, R)] == 8.0
    assert cost.counts[Key("DRAM", Tensor.O, U)] == 8.0
    assert cost.energy_pj[Key("DRAM", Tensor.O, U)] == 8.0 * 30.0
