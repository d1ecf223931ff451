"""spikeloop: what a spiking network costs on hardware.

The application layer (CLI, reports, experiments, sweeps) over the engine (``costmodel``, ``mappers``) and the
crossbar accuracy model (``crossbar``), and the documented Python API (``spikeloop.api``, re-exported here;
guide and examples: ``docs/api.md``)::

    import spikeloop as sl

    result = sl.evaluate("generic3", "vgg5-cifar10", dataflow="time-batched", timesteps=2)
    rows = sl.records(result)          # one flat dict per layer: pandas.DataFrame(rows)

Importing the package is light: the engine is imported by the API functions when they run, and matplotlib and
OR-Tools only by the functions that draw or run CP-SAT.
"""

from spikeloop.api import (
    CROSSBAR_DATAFLOWS,
    DATAFLOWS,
    METHODS,
    OBJECTIVES,
    SweepResult,
    compare_dataflows,
    evaluate,
    evaluate_layer,
    load_arch,
    load_mapping,
    load_mappings,
    load_network,
    load_yaml,
    records,
    search,
    shipped_archs,
    shipped_networks,
    sweep_grid,
    to_dict,
    to_json,
)

__version__ = "0.1.0"

__all__ = [
    "CROSSBAR_DATAFLOWS",
    "DATAFLOWS",
    "METHODS",
    "OBJECTIVES",
    "SweepResult",
    "__version__",
    "compare_dataflows",
    "evaluate",
    "evaluate_layer",
    "load_arch",
    "load_mapping",
    "load_mappings",
    "load_network",
    "load_yaml",
    "records",
    "search",
    "shipped_archs",
    "shipped_networks",
    "sweep_grid",
    "to_dict",
    "to_json",
]
