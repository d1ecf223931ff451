"""The physics of spikeloop: workload, architecture and mapping values, closed-form access counts,
energy, latency and area. Imports nothing from mappers, crossbar or spikeloop."""
