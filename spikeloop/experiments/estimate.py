"""Table II "Est. Energy" rows: the paper's E_est = MACs x T x (1 - sparsity) x E_AC.

E_AC and the adder/multiplier energies come from ``archspecs/sata.yaml`` (``profiles: estimate:``).
The per-work inputs below are what the public script (SATA_Sim ``related-work-estimate.py``)
counts; they are NOT the Table II workloads' plain MAC counts with their 1 - sigma densities,
which do not reproduce the column (the ``-workload`` rows show what those give):

* S-BP, BNTT: VGG9 list 64-64-M-128-128-M-256-256-256-M on 32 x 32 ('same' 3x3 convs), then FC
  8192 -> 1024 and 1024 -> 512; sparsity 0.90 (S-BP) and 0.91 (BNTT; Table II prints 90.5 %).
* Direct, TSSL: 128-256-M-512-M-1024-M-512 on 32 x 32, same FCs; sparsity 0.90 and 0.901.
* LTH: the SATA workload (``lth``) counted as the public SATA_Sim counts MACs (padding-1 output sides,
  an FC layer as K x C, the count its FC fix introduced; the older tool's 1 x 1 FC input read as a 3 x 3
  output, x 9, gives 0.7 % more than the script prints), x T x (1 - 0.98), 0.98 being LTH's weight
  sparsity used as spike sparsity.
* TDBN: the op counts the TDBN paper reports (1.8e9 additions, 3.4e7 multiplications, already over
  all timesteps and spikes), priced at one 8-bit adder and one 8-bit multiplier op.

The paper's numbers (``PAPER_NJ``) are printed beside ours only.
"""

from __future__ import annotations

from dataclasses import dataclass

from costmodel import scalesim
from costmodel.arch import Arch, load_arch
from costmodel.estimate import (
    conv_stack_macs,
    e_ac_from_arch,
    estimate_profile,
    estimated_energy_pj,
    op_energy_pj,
    reported_ops_energy_pj,
)
from costmodel.network import load_network
from spikeloop.rows import Row

COMMAND = "spikeloop reproduce estimate"

VGG9 = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M")
CIFARNET = (128, 256, "M", 512, "M", 1024, "M", 512)
SCRIPT_FC = ((512 * 4 * 4, 1024), (1024, 512))  # the script's FC input: 512 x 4 x 4, whatever the last conv width

#: Table II, Est. Energy column (nJ): printed beside ours only.
PAPER_NJ = {"SBP": 11.7e4, "BNTT": 4.2e4, "Direct": 11.7e4, "TSSL": 5.8e4, "LTH": 2.7e4, "TDBN": 13.3e4}
#: the SATA workload file of each work (for the plain-count comparison rows)
NETWORK = {"SBP": "sbp", "BNTT": "bntt", "Direct": "direct", "TSSL": "tssl", "LTH": "lth", "TDBN": "tdbn"}


@dataclass(frozen=True, slots=True)
class ListInputs:
    """A work estimated from a conv list: MACs per timestep from :func:`conv_stack_macs`."""

    config: tuple[int | str, ...]
    timesteps: int
    sparsity: float
    sparsity_note: str


LIST_WORKS: dict[str, ListInputs] = {
    "SBP": ListInputs(VGG9, 50, 0.90, "sparsity 0.90 (Table II footnote: 90 % assumed)"),
    "BNTT": ListInputs(VGG9, 20, 0.91, "sparsity 0.91 as the script (Table II prints 90.5 %)"),
    "Direct": ListInputs(CIFARNET, 10, 0.90, "sparsity 0.90 (Table II footnote: 90 % assumed)"),
    "TSSL": ListInputs(CIFARNET, 5, 0.901, "sparsity 0.901 (Table II column)"),
}
LTH_WEIGHT_SPARSITY_NOTE = "x T x (1 - 0.98): LTH's weight sparsity as spike sparsity (lth.yaml density 0.02)"
TDBN_REPORTED_ADDS = 1.8e9  # from the TDBN paper, as used by the public script
TDBN_REPORTED_MULS = 3.4e7


def list_work_nj(inputs: ListInputs, e_ac: float) -> tuple[float, float]:
    """(E_est in nJ, dense MACs per timestep) of a conv-list work."""
    macs = conv_stack_macs(inputs.config, in_channels=3, image_size=32, fc=SCRIPT_FC)
    return estimated_energy_pj(macs, inputs.timesteps, inputs.sparsity, e_ac) * 1e-3, macs


def lth_nj(arch: Arch, e_ac: float) -> tuple[float, float]:
    """(E_est in nJ, non-zero synaptic ops) of LTH: the public SATA_Sim's MAC count of ``lth`` (the sata-compat
    profile's padding, FC layers as K x C) x E_AC."""
    net = load_network("lth")
    tool = arch.profile("sata-compat")
    synops = sum(
        layer.macs * layer.mean_spike_density * scalesim.tool_output_scale(layer, tool.mac_padding or 0, fc_3x3=False)
        for layer in net.layers
        if layer.has_weights
    )
    return synops * e_ac * 1e-3, synops


def tdbn_nj(arch: Arch) -> float:
    """E_est of TDBN from its reported adds and multiplies (nJ)."""
    p = estimate_profile(arch)
    e_add = op_energy_pj(p["adder8_mw"], p["clock_hz"])
    e_mul = op_energy_pj(p["multiplier8_mw"], p["clock_hz"])
    return reported_ops_energy_pj(TDBN_REPORTED_ADDS, TDBN_REPORTED_MULS, e_add, e_mul) * 1e-3


def workload_nj(name: str, e_ac: float) -> tuple[float, float]:
    """Plain count: the SATA workload's dense MACs (as in the network file) x its spike densities x E_AC (nJ)."""
    net = load_network(NETWORK[name])
    accs = sum(layer.macs * layer.mean_spike_density for layer in net.layers if layer.has_weights)
    return accs * e_ac * 1e-3, accs


def rows(quiet: bool = True) -> list[Row]:  # noqa: ARG001 - same signature as every experiment
    arch = load_arch("sata")
    e_ac = e_ac_from_arch(arch)
    out: list[Row] = []
    for name in ("SBP", "BNTT", "Direct", "TSSL", "LTH", "TDBN"):
        if name in LIST_WORKS:
            inp = LIST_WORKS[name]
            nj, macs = list_work_nj(inp, e_ac)
            note = (
                f"script's conv list ({macs / 1e6:.1f} M MACs/timestep, FC 8192-1024-512) x T={inp.timesteps}"
                f" x {inp.sparsity_note} x E_AC {e_ac:.4f} pJ"
            )
        elif name == "LTH":
            nj, synops = lth_nj(arch, e_ac)
            note = (
                f"SATA_Sim's MAC count of lth (padding 1, FC as K x C) = {synops / 1e6:.1f} M, "
                f"{LTH_WEIGHT_SPARSITY_NOTE}"
            )
        else:
            nj = tdbn_nj(arch)
            note = (
                "TDBN paper's own op counts (1.8e9 adds, 3.4e7 mults) x 8-bit adder / multiplier energy at "
                "250 MHz, as the public script (no E_AC, no sparsity)"
            )
        out.append(Row(id=f"table2-est-{name}", paper=PAPER_NJ[name], ours=nj, unit="nJ", note=note, command=COMMAND))
    script = {r.id: r.ours for r in out}
    for name in ("SBP", "BNTT", "Direct", "TSSL", "LTH", "TDBN"):
        nj, accs = workload_nj(name, e_ac)
        vs = script[f"table2-est-{name}"]
        same = abs(nj / vs - 1) < 1e-9
        out.append(
            Row(
                id=f"table2-est-{name}-workload",
                paper=None,
                ours=nj,
                unit="nJ",
                note=f"plain count on archspecs/networks/{NETWORK[name]}.yaml: {accs / 1e6:.1f} M non-zero synops "
                f"(dense MACs x (1 - sigma), padding 1, FC 1x1) x E_AC: "
                + (
                    "the script counts the same for this work"
                    if same
                    else f"x{nj / vs:.2f} the script's count, why the column needs the script's counting"
                ),
                command=COMMAND,
            )
        )
    return out
