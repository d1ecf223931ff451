"""Fig. 6(b) rows from the functional crossbar model, on a network that fills its crossbars.

The paper's claims: non-ideality-aware weight encoding (more high-resistance cells) improves the non-ideal accuracy
by 40.13 %, and BN adaptation leaves a 1.22 % loss against software (VGG16, Tiny-ImageNet). Ours come from
:func:`crossbar.f6b.f6b_study`: the shipped digits MLP 64-128-128-10 (most cells of its 64x64 crossbars hold a
weight) swept to 10 ohm per wire segment, every encoding with and without BN adaptation, over 3 chips (mean and
95 % Student-t interval), plus the measured reason why a network's size matters (cell fill, fraction of the ideal
column current the crossbars keep), also for the small digits CNN. The paper's numbers only appear as
``Row.paper``; nothing is tuned to them.

Effective conductances are cached on disk (:func:`crossbar.circuit.default_cache_dir`), so a second report costs
only the inference (a few seconds); the first one also solves 266 crossbars.
"""

from __future__ import annotations

from functools import lru_cache

from spikeloop.rows import Row

PAPER_ENCODING_GAIN_PCT = 40.13  # Fig. 6(b): accuracy gained by the non-ideality-aware encoding
PAPER_BN_RESIDUAL_LOSS_PCT = 1.22  # Fig. 6(b): loss vs software left after BN adaptation
PAPER_DT_MEAN_TIMESTEPS = 2.14  # Fig. 4(a) text: DT-SNN average timesteps (VGG16 Tiny-ImageNet)
PAPER = {
    "f6b-enc": PAPER_ENCODING_GAIN_PCT,
    "f6b-bn": PAPER_BN_RESIDUAL_LOSS_PCT,
    "dt-snn-mean-timesteps": PAPER_DT_MEAN_TIMESTEPS,
}
MODEL = "crossbar/data/digits_mlp.npz"


def _command(chips: int, wires: tuple[float, ...]) -> str:
    return f"spikeloop accuracy --model {MODEL} --sweep --wires {','.join(f'{w:g}' for w in wires)} --chips {chips}"


@lru_cache(maxsize=1)
def _study():  # noqa: ANN202 - a crossbar.f6b.F6bStudy
    from crossbar.circuit import GeffCache, default_cache_dir
    from crossbar.f6b import f6b_study

    return f6b_study(cache=GeffCache(default_cache_dir(), threads=2))


def cached_sweep() -> list[dict]:
    """Points for the F6b figure: wire_resistance_ohm, encoding, bn_adapt, crossbar_accuracy (mean over chips,
    0..1), crossbar_accuracy_low / _high (its 95 % interval, None for one chip), chips, software_accuracy."""
    st = _study()
    sw = st.sweep["software_accuracy"]
    out = []
    for r in st.sweep["rows"]:
        for bn, key in ((False, "accuracy"), (True, "accuracy_bn_adapted")):
            ci = r[f"{key}_interval"]
            out.append(
                {
                    "wire_resistance_ohm": r["wire_ohm"],
                    "encoding": r["encoding"],
                    "bn_adapt": bn,
                    "crossbar_accuracy": r[key],
                    "crossbar_accuracy_low": ci["low"],
                    "crossbar_accuracy_high": ci["high"],
                    "chips": ci["chips"],
                    "software_accuracy": sw,
                    "network": "digits MLP 64-128-128-10",
                }
            )
    return out


def rows(quiet: bool = True) -> list[Row]:
    """f6b-accuracy-software, f6b-enc (10 ohm), f6b-enc-5ohm, f6b-bn, f6b-cell-fill, the current ratios and the
    DT-SNN operating point, each with its 95 % interval over chips (in ``parts``) where it has one."""
    st = _study()
    wires = tuple(r["wire_ohm"] for r in st.sweep["rows"] if r["encoding"] == st.sweep["rows"][0]["encoding"])
    command = _command(int(st.sweep["chips"]), wires)
    out = []
    for m in st.measurements:
        parts: tuple[tuple[str, float], ...] = ()
        if m.interval is not None and m.interval.low is not None and m.interval.high is not None:
            parts = (("ci95_low", m.interval.low), ("ci95_high", m.interval.high))
        cmd = command
        if m.id == "f6b-cell-fill" or m.id.startswith("f6b-current-ratio"):
            cmd = f"{command} (and spikeloop accuracy --sweep for the digits CNN)"
        out.append(
            Row(id=m.id, paper=PAPER.get(m.id), ours=m.value, unit=m.unit, note=m.note, command=cmd, parts=parts)
        )
    return out
