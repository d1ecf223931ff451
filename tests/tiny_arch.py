"""A small three-level arch for tests whose search spaces must stay enumerable: DRAM -> GLB (a 4 x 2 array, a
network at 0.05 pJ/bit) -> RF, every tensor kept at DRAM and GLB, the spikes bypassing the RF.
Used by tests/test_spatial_t.py and tests/test_form_agreement.py."""

from __future__ import annotations

from typing import Any


def tiny_arch_dict(name: str, *, glb_capacity_bits: int = 640, rf_capacity_bits: int = 96, **compute: Any) -> dict:
    """The arch as ``arch_from_dict`` takes it; ``compute`` adds to (or overrides) the AC/LIF/static prices."""
    return {
        "name": name,
        "clock_hz": 1.0e9,
        "levels": [
            {
                "name": "DRAM",
                "keeps": ["W", "I", "O", "U", "S"],
                "word_bits": 16,
                "read_bandwidth_bits_per_cycle": 16,
                "write_bandwidth_bits_per_cycle": 16,
                "energy_pj": {"read": 100.0, "write": 120.0, "update": 220.0},
            },
            {
                "name": "GLB",
                "keeps": ["W", "I", "O", "U", "S"],
                "capacity_bits": glb_capacity_bits,
                "word_bits": 16,
                "energy_pj": {"read": 6.0, "write": 7.0, "update": 13.0},
                "static_pj_per_cycle": 0.5,
                "link_pj_per_bit": 0.05,
                "fanout": {"x": 4, "y": 2},
            },
            {
                "name": "RF",
                "keeps": ["W", "I", "O", "U"],
                "capacity_bits": rf_capacity_bits,
                "word_bits": 8,
                "energy_pj": {"read": 0.5, "write": 0.6, "update": 1.1},
                "static_pj_per_cycle": 0.01,
            },
        ],
        "compute": {"ac_pj": 0.03, "lif_pj": 0.08, "static_pj_per_cycle": 0.005, **compute},
    }
