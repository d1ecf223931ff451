"""Exhaustive search: every legal mapping of the mapspace, evaluated in vectorised batches.

The ground truth on small spaces. Factorizations are walked in chunks of the cartesian product
of the per-dim choices (fanout filter first), then per bypass choice the capacity pre-check, then
rows are grouped by which temporal loops are live (bound > 1) at the order levels, and every
distinct-cost order class of those live loops (dominated classes pruned, see
:func:`mappers.mapspace.order_classes`) is evaluated with ``costmodel.evaluate.evaluate_batch``.
"""

from __future__ import annotations

import numpy as np

from mappers.mapspace import MapSpace, iter_order_combos
from mappers.search import Deadline, Method, Objective, SearchResult, Status, TopK, evaluate_open, finish, progress


def exhaustive_search(
    space: MapSpace,
    obj: Objective,
    *,
    time_limit_s: float | None = None,
    top_k: int = 5,
    quiet: bool = True,
    chunk: int = 1 << 15,
    prune: bool = True,
) -> SearchResult:
    """Evaluate every legal mapping; OPTIMAL when the walk completes, FEASIBLE (best so far) when
    interrupted (Ctrl-C) or out of time."""
    return exhaustive_searches(
        space, (obj,), time_limit_s=time_limit_s, top_k=top_k, quiet=quiet, chunk=chunk, prune=prune
    )[obj]


def exhaustive_searches(
    space: MapSpace,
    objectives: tuple[Objective, ...],
    *,
    time_limit_s: float | None = None,
    top_k: int = 5,
    quiet: bool = True,
    chunk: int = 1 << 15,
    prune: bool = True,
) -> dict[Objective, SearchResult]:
    """One walk of the mapspace, the best mappings for each objective (each mapping evaluated once)."""
    clock = Deadline(time_limit_s)
    total = space.n_factorizations_product()
    bar = progress(total, "exhaustive", quiet)
    tops = {o: TopK(top_k) for o in objectives}
    evaluated = 0
    interrupted = timed_out = False

    class _OutOfTime(Exception):
        pass

    try:
        for start in range(0, total, chunk):
            flat = np.arange(start, min(total, start + chunk), dtype=np.int64)
            rows = space.factor_rows(flat)
            rows = rows[space.fanout_ok(rows)]
            codes = space.live_codes(rows)
            for bypass in space.bypass_options:
                ok = space.precheck(rows, bypass)
                if not ok.any():
                    continue
                r_ok, c_ok = rows[ok], codes[ok]
                for code in np.unique(c_ok):
                    sub = r_ok[c_ok == code]
                    live = space.live_dims(sub[0])
                    for orders in iter_order_combos(space, live, prune=prune):
                        evaluated += evaluate_open(space, tops, sub, orders, bypass)
                        if clock.expired():
                            raise _OutOfTime
            bar.update(len(flat))
    except _OutOfTime:
        timed_out = True
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    status = Status.FEASIBLE if (interrupted or timed_out) else Status.OPTIMAL
    out = {}
    for obj, top in tops.items():
        best = top.items()[0][0] if top.items() else None
        out[obj] = finish(
            method=Method.EXHAUSTIVE,
            space=space,
            obj=obj,
            top=top,
            evaluated=evaluated,
            clock=clock,
            status=status,
            bound=best if status is Status.OPTIMAL else None,
            interrupted=interrupted,
            timed_out=timed_out,
        )
    return out
