"""Functional accuracy model: SNN inference through simulated non-ideal RRAM crossbars."""
