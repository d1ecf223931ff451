"""Mapping search over the mapspace: exhaustive, random and OR-Tools CP-SAT. Knows no energy formula."""
