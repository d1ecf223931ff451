"""Fig. 6(b) rows from the functional crossbar model (digits SNN, not the paper's VGG16 Tiny-ImageNet).

The paper's claims: non-ideality-aware weight encoding (more high-resistance cells) improves the
non-ideal accuracy by 40.13 %, and BN adaptation leaves a 1.22 % loss against software. Ours come
from :func:`crossbar.experiments.accuracy_sweep` on the shipped digits model at the largest wire
resistance of the sweep; the network is far smaller and more robust than VGG16, so the gaps are
smaller. Nothing is tuned to the paper's numbers.
"""

from __future__ import annotations

from functools import lru_cache

from spikeloop.rows import Row

PAPER_ENCODING_GAIN_PCT = 40.13  # Fig. 6(b): accuracy gained by the non-ideality-aware encoding
PAPER_BN_RESIDUAL_LOSS_PCT = 1.22  # Fig. 6(b): loss vs software left after BN adaptation
COMMAND = "spikeloop accuracy --sweep"


@lru_cache(maxsize=1)
def _sweep() -> dict:
    from crossbar.experiments import accuracy_sweep

    return accuracy_sweep()


def cached_sweep() -> list[dict]:
    """Points for the F6b figure: wire_resistance_ohm, encoding, bn_adapt, crossbar_accuracy (0..1)."""
    out = []
    for r in _sweep()["rows"]:
        for bn, key in ((False, "accuracy"), (True, "accuracy_bn_adapted")):
            out.append({"wire_resistance_ohm": r["wire_ohm"], "encoding": r["encoding"], "bn_adapt": bn,
                        "crossbar_accuracy": r[key]})
    return out


def rows(quiet: bool = True) -> list[Row]:
    """f6b-enc, f6b-bn, the software accuracy and the DT-SNN operating point."""
    sw = _sweep()
    by = {(r["encoding"], r["wire_ohm"]): r for r in sw["rows"]}
    worst = max(r["wire_ohm"] for r in sw["rows"])
    off, hrs = by[("offset", worst)], by[("hrs", worst)]
    mid = sorted({r["wire_ohm"] for r in sw["rows"]})[-2]
    gain = 100 * (hrs["accuracy"] - off["accuracy"])
    gain_mid = 100 * (by[("hrs", mid)]["accuracy"] - by[("offset", mid)]["accuracy"])
    bn_loss = 100 * off["loss_bn_adapted"]
    out = [
        Row(id="f6b-accuracy-software", paper=None, ours=100 * sw["software_accuracy"], unit="%",
            note="shipped digits SNN (2 conv + 1 fc, T=4, 4-bit weights), 360-image test split; the paper's model "
                 "is VGG16 on Tiny-ImageNet", command=COMMAND),
        Row(id="f6b-enc", paper=PAPER_ENCODING_GAIN_PCT, ours=gain, unit="% points",
            note=f"accuracy of hrs minus offset (SpikeSim) encoding at {worst:g} ohm per wire segment "
                 f"({100 * hrs['accuracy']:.2f} vs {100 * off['accuracy']:.2f} %; {gain_mid:.2f} points at {mid:g} "
                 "ohm); the digits network loses far less to IR drop than VGG16 Tiny-ImageNet, so the gap is smaller",
            command=COMMAND),
        Row(id="f6b-bn", paper=PAPER_BN_RESIDUAL_LOSS_PCT, ours=bn_loss, unit="% points",
            note=f"loss vs software after BN adaptation, offset encoding at {worst:g} ohm (before: "
                 f"{100 * off['loss']:.2f}); with hrs + BN adaptation: {100 * hrs['loss_bn_adapted']:.2f}",
            command=COMMAND),
    ]
    dt = [r for r in sw["dt_rows"] if r["threshold"] is not None]
    full = next(r for r in sw["dt_rows"] if r["threshold"] is None)
    ok = [r for r in dt if r["crossbar"]["accuracy"] >= full["crossbar"]["accuracy"] - 1e-12]
    if ok:
        best = min(ok, key=lambda r: r["crossbar"]["mean_timesteps"])
        out.append(Row(
            id="dt-snn-mean-timesteps", paper=2.14, ours=best["crossbar"]["mean_timesteps"], unit="timesteps",
            note=f"DT-SNN on the crossbar chip (hrs, BN adapted): entropy threshold {best['threshold']:g} keeps the "
                 f"full-T accuracy {100 * full['crossbar']['accuracy']:.2f} % at this mean; paper: VGG16 "
                 "Tiny-ImageNet, 2.14 timesteps at similar accuracy", command=COMMAND))
    return out
