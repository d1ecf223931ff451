"""Paper-reproduction experiments. Each module exposes ``rows(quiet=True) -> list[Row]``:
``sata`` (SATA 28 nm rows), ``spikesim`` (SpikeFlow 65 nm rows), ``estimate`` (the paper's
FLOPs x T x (1 - sparsity) estimate), ``accuracy`` (crossbar accuracy rows).

A module may also expose ``start() -> handle`` and ``finish(handle) -> list[Row]`` (``sata`` does: its work runs
in worker processes): ``spikeloop reproduce`` then starts it first, runs the other experiments meanwhile, and
collects it last; ``rows()`` is ``finish(start())``."""
