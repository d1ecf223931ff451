"""Mapping files: our YAML (reused from :mod:`costmodel.mapping`) and Timeloop's mapping YAML.

Timeloop's format (``mapping:`` list of ``target``/``type`` entries) has, per storage level, one
``temporal`` entry with ``factors`` (every dim, 1 where absent) and ``permutation`` (inner to outer,
Timeloop's convention), one ``spatial`` entry when the level fans out (x dims first in the
permutation, ``split`` = number of x dims), and one ``bypass`` entry listing kept and bypassed
data spaces. Our dims map to Timeloop's problem dims as T->T (an extra dim in the SNN problem
spec), N->N, K->M, C->C, P->P, Q->Q, R->R, S->S, and tensors W/I/O to Weights/Inputs/Outputs
(U and S have no Timeloop data space and are listed under ``snn_extra``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from costmodel.arch import Arch
from costmodel.mapping import Mapping, dump_mapping
from costmodel.types import DIMS, Dim, Tensor

TL_DIM = {Dim.T: "T", Dim.N: "N", Dim.K: "M", Dim.C: "C", Dim.P: "P", Dim.Q: "Q", Dim.R: "R", Dim.S: "S"}
TL_SPACE = {Tensor.W: "Weights", Tensor.I: "Inputs", Tensor.O: "Outputs"}
FORMATS = ("yaml", "timeloop")


def timeloop_dict(arch: Arch, mapping: Mapping) -> dict[str, Any]:
    """The mapping in Timeloop's mapping YAML structure."""
    out: list[dict[str, Any]] = []
    for lv, lm in zip(arch.levels, mapping.levels, strict=True):
        t_factors = {d: lm.factor(d, spatial=False) for d in DIMS}
        order_outer_first = [lp.dim for lp in lm.temporal]
        rest = [d for d in DIMS if d not in order_outer_first]
        perm = "".join(TL_DIM[d] for d in reversed(order_outer_first + rest))  # Timeloop: inner to outer
        out.append(
            {
                "target": lv.name,
                "type": "temporal",
                "factors": " ".join(f"{TL_DIM[d]}={t_factors[d]}" for d in DIMS),
                "permutation": perm,
            }
        )
        if lm.spatial:
            xs = [lp.dim for lp in lm.spatial if lp.axis == "x"]
            ys = [lp.dim for lp in lm.spatial if lp.axis == "y"]
            others = [d for d in DIMS if d not in xs and d not in ys]
            s_factors = {d: lm.factor(d, spatial=True) for d in DIMS}
            out.append(
                {
                    "target": lv.name,
                    "type": "spatial",
                    "factors": " ".join(f"{TL_DIM[d]}={s_factors[d]}" for d in DIMS),
                    "permutation": "".join(TL_DIM[d] for d in xs + ys + others),
                    "split": len(xs),
                }
            )
        kept = lv.keeps - lm.bypass
        entry: dict[str, Any] = {
            "target": lv.name,
            "type": "bypass",
            "keep": [TL_SPACE[t] for t in Tensor if t in TL_SPACE and t in kept],
            "bypass": [TL_SPACE[t] for t in Tensor if t in TL_SPACE and t not in kept],
        }
        extra = sorted(t.value for t in kept if t not in TL_SPACE)
        if extra:
            entry["snn_extra"] = {"keep": extra}
        out.append(entry)
    return {"mapping": out}


def dump(arch: Arch, mapping: Mapping, fmt: str = "yaml") -> str:
    """Text of a mapping file in ``fmt`` (``yaml``: ours, loadable by ``costmodel.mapping.load_mapping``)."""
    if fmt == "yaml":
        return dump_mapping(mapping, [lv.name for lv in arch.levels])
    if fmt == "timeloop":
        return yaml.safe_dump(timeloop_dict(arch, mapping), sort_keys=False, default_flow_style=None)
    raise ValueError(f"unknown mapping format {fmt!r}; expected one of {', '.join(FORMATS)}")


def save(path: str | Path, arch: Arch, mapping: Mapping, fmt: str = "yaml") -> None:
    Path(path).write_text(dump(arch, mapping, fmt))
