"""Timeloop interop: read Timeloop v3 / timeloopfe files into spikeloop's values and price them with the engine
under the ``timeloop`` accounting profile (:mod:`.convert`), and write spikeloop's arch, layer and mapping as
files timeloop-model accepts (:mod:`.export`). docs/timeloop.md maps Timeloop's terms to spikeloop's."""

from spikeloop.timeloop.convert import (
    PROFILE,
    PROFILE_OPTIONS,
    Case,
    LevelResult,
    Result,
    load_case,
    result_of,
    run_model,
    timeloop_accounting,
)
from spikeloop.timeloop.export import (
    ExportError,
    check_exportable,
    timeloop_files,
    timeloop_layer,
    timeloop_warnings,
    write_timeloop,
)

__all__ = [
    "PROFILE",
    "PROFILE_OPTIONS",
    "Case",
    "ExportError",
    "LevelResult",
    "Result",
    "check_exportable",
    "load_case",
    "result_of",
    "run_model",
    "timeloop_accounting",
    "timeloop_files",
    "timeloop_layer",
    "timeloop_warnings",
    "write_timeloop",
]
