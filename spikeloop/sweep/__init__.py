"""Design-space sweeps: a grid of points, each evaluated as an independent task.

The package, by concern:

* :mod:`~spikeloop.sweep.grid` (with :mod:`~spikeloop.sweep.overrides`): the grid file, read, validated and
  expanded into :class:`Task` s. Each task carries the *data* of its arch (overrides applied) and network,
  so a worker on another machine needs the ``spikeloop`` package but none of the user's files;
* :mod:`~spikeloop.sweep.execute`: :func:`evaluate_point`, a pure top-level function (picklable by
  reference) that never raises: a point that cannot be evaluated, or whose numbers are not finite, comes
  back as a ``failed`` record with its error; :func:`run_sweep` pushes the tasks through any
  :class:`concurrent.futures.Executor` (a local process pool, or a Dask ``Client.get_executor()``) and
  appends one JSON line per point as it finishes, flushed at once;
* :mod:`~spikeloop.sweep.workers`: the local process pool, whose workers end when the sweep process does;
* :mod:`~spikeloop.sweep.results`: the JSON-lines results file, repaired and locked;
* :mod:`~spikeloop.sweep.pareto`: Pareto fronts over chosen axes (energy, latency, area, EDP) per group (by
  default per workload: network and T; ``group=("network",)`` makes T a design axis), as tables and plots whose
  points are numbered and labelled by the parameters that vary (arch, overrides, dataflow, T).

Resume: every point has a stable key, a hash of its parameters *and* of its arch and network data
(so editing an arch file reruns its points instead of keeping stale numbers). A rerun skips keys
already in the output file; a truncated last line (a sweep killed mid-write) is dropped and its
point rerun; duplicate or corrupt lines are removed, so after a rerun every point is in the file
exactly once.

Grid YAML (keys other than ``archs`` and ``networks`` optional)::

    archs:                                  # shipped names or YAML files (relative to the grid file)
      - generic3
      - arch: my_arch.yaml
        overrides: {compute.lif_sharing: [1, 4]}        # only for this arch
    overrides:                              # for every arch: dotted path into the arch YAML -> values
      levels[GLB].capacity_bits: [524288, 1048576]      # a level by name (or index: levels[1])
      levels[GLB].fanout: [{x: 4, y: 4}, {x: 8, y: 8}]  # a whole sub-mapping is one value
    linked:                                 # groups of paths whose i-th values are set together (one axis each)
      - levels[RF].capacity_bits: [2048, 4096]
        levels[RF].area_um2: [900.0, 1700.0]
        levels[RF].energy_pj: [{read: 0.5, write: 0.6, update: 1.1}, {read: 0.7, write: 0.8, update: 1.5}]
    networks: [vgg5-cifar10]                # shipped names or YAML files
    T: [1, 4]                               # default: each network file's own T
    dataflows: [os, ws, time-batched, best] # default [os]; best = mappers.search.best_mapping_fn
    objectives: [energy, edp]               # mapper objectives of `best` points; default [energy]

Points are the product archs x axes x networks x T x dataflows (x objectives for ``best``), where each
``overrides`` path is an axis of its own and each ``linked`` group is one axis whose steps set all its paths
(an ``archs`` mapping entry may also give its own ``linked`` groups). A record's ``overrides`` lists every path
with its value. An override path must exist in the arch data, except that its last key may be new where
the arch loader checks keys strictly (top level, ``levels[...]``, ``compute``); every override value
is validated by building the arch at load time, and errors name the grid key. Grid, arch and network
files are read by :func:`costmodel.specio.load_yaml`, which refuses alias bombs, so the copies of arch
data made per point never expand one.
"""

from __future__ import annotations

from spikeloop.sweep.execute import SweepSummary, evaluate_point, probe_worker, run_sweep
from spikeloop.sweep.grid import Grid, Point, Task, data_digest, load_grid, point_key
from spikeloop.sweep.overrides import resolve_override
from spikeloop.sweep.pareto import (
    DEFAULT_AXES,
    DEFAULT_GROUP,
    PARETO_METRICS,
    GroupBy,
    Metric,
    ParetoGroup,
    RecordError,
    pareto_fronts,
    pareto_mask,
    parse_axes,
    parse_group,
    plot_pareto,
    point_label,
    read_front_records,
    render_pareto,
)
from spikeloop.sweep.results import read_records
from spikeloop.sweep.workers import local_executor

__all__ = [
    "Grid",
    "Point",
    "Task",
    "SweepSummary",
    "ParetoGroup",
    "RecordError",
    "PARETO_METRICS",
    "DEFAULT_AXES",
    "DEFAULT_GROUP",
    "Metric",
    "GroupBy",
    "parse_axes",
    "parse_group",
    "point_label",
    "load_grid",
    "evaluate_point",
    "run_sweep",
    "read_records",
    "read_front_records",
    "point_key",
    "data_digest",
    "resolve_override",
    "pareto_mask",
    "pareto_fronts",
    "render_pareto",
    "plot_pareto",
    "probe_worker",
    "local_executor",
]
