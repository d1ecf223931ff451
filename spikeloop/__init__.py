"""spikeloop: the application layer (CLI, reports, experiments) over costmodel, mappers and crossbar."""

__version__ = "0.1.0"
