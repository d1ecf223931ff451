"""Paper-reproduction experiments. Each module exposes ``rows(quiet=True) -> list[Row]``:
``sata`` (SATA 28 nm rows), ``spikesim`` (SpikeFlow 65 nm rows), ``estimate`` (the paper's
FLOPs x T x (1 - sparsity) estimate), ``accuracy`` (crossbar accuracy rows)."""
