"""Technology-node scaling of energy, leakage and area inside the calibrated 22-90 nm range.

Rule: a quantity X (per-access energy, leakage power or area) measured at node F_from is moved
to node F_to by

    X(F_to) = X(F_from) * s_X(F_to) / s_X(F_from),

where s_X is a table of factors at CACTI 7's five native ITRS nodes (22, 32, 45, 65, 90 nm),
interpolated linearly in log(s) against log(F) between them. The memory table is measured: the
same SRAM organisations run through CACTI 7 at every node (itrs-lop cells and periphery), the
factor is the geometric mean of X(node) / X(32 nm) over them (docs/components.md, "Technology
scaling", gives the runs, the spread and the check at 28 nm). Area follows F^2 within 11 %;
energy follows C V^2 (C ~ F, the ITRS low-operating-power Vdd 0.9 V at 90 nm, 0.6 V at 32 and
22 nm) within 14 % from 22 to 65 nm and is 33 % above it at 90 nm; leakage follows no power law:
the ITRS low-operating-power devices change threshold voltage from node to node, and leakage is
lowest at 45 nm and 26x higher at 22 nm.
Outside 22-90 nm nothing is extrapolated (costmodel.components.model.technology_nm rejects it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeTable:
    """Factors s_X(F) of one quantity at the tabulated nodes (dimensionless, 1 at the reference)."""

    nodes_nm: tuple[float, ...]
    factors: tuple[float, ...]


#: The five native nodes of CACTI 7's technology tables, nm.
CACTI_NODES_NM: tuple[float, ...] = (22.0, 32.0, 45.0, 65.0, 90.0)

#: SRAM (and register-file) node factors relative to 32 nm, measured with CACTI 7 (itrs-lop).
SRAM_ENERGY_NODE = NodeTable(nodes_nm=CACTI_NODES_NM, factors=(0.6308, 1.0, 2.078, 4.104, 8.423))
SRAM_LEAKAGE_NODE = NodeTable(nodes_nm=CACTI_NODES_NM, factors=(3.280, 1.0, 0.1245, 0.3385, 2.567))
SRAM_AREA_NODE = NodeTable(nodes_nm=CACTI_NODES_NM, factors=(0.4756, 1.0, 1.871, 3.858, 7.073))


def table_factor(table: NodeTable, node_nm: float) -> float:
    """s(F): the table's factor at F, linear in log s vs log F between the two neighbouring nodes.

    ``node_nm`` F in nm must lie within the table (22-90 nm; validated by the caller).
    """
    nodes, factors = table.nodes_nm, table.factors
    if not nodes[0] <= node_nm <= nodes[-1]:
        raise ValueError(f"technology_nm: outside the tabulated range {nodes[0]:g}-{nodes[-1]:g} nm, got {node_nm:g}")
    for index in range(len(nodes) - 1):
        low, high = nodes[index], nodes[index + 1]
        if node_nm <= high:
            weight = math.log(node_nm / low) / math.log(high / low)
            return math.exp((1.0 - weight) * math.log(factors[index]) + weight * math.log(factors[index + 1]))
    return factors[-1]


def table_scale(table: NodeTable, from_nm: float, to_nm: float) -> float:
    """s(F_to) / s(F_from): the factor a quantity is multiplied by when moved from F_from to F_to."""
    return table_factor(table, to_nm) / table_factor(table, from_nm)


def node_factor(from_nm: float, to_nm: float, gamma: float) -> float:
    """(F_to / F_from) ** gamma: power-law node scaling (used where a survey fit gives one exponent)."""
    return float((to_nm / from_nm) ** gamma)
