"""Random search: the seeded, Timeloop-like sampling baseline.

Each round draws a batch of factorizations uniformly from the cartesian product of the per-dim
choices (illegal ones are dropped by the fanout filter and the capacity check), one bypass choice,
and for every group of rows with the same live loops one random distinct-cost order class per
level; the batch is evaluated through ``costmodel.evaluate.evaluate_batch``.
"""

from __future__ import annotations

import numpy as np

from mappers.mapspace import MapSpace
from mappers.search import Deadline, Method, Objective, SearchResult, Status, TopK, evaluate_group, finish, progress


def random_search(
    space: MapSpace,
    obj: Objective,
    *,
    time_limit_s: float | None = 10.0,
    samples: int | None = None,
    seed: int = 0,
    batch: int = 1024,
    top_k: int = 5,
    quiet: bool = True,
) -> SearchResult:
    """Sample until ``samples`` mappings were drawn or ``time_limit_s`` passed (whichever first)."""
    if time_limit_s is None and samples is None:
        raise ValueError("random search needs a time limit or a sample count")
    rng = np.random.default_rng(seed)
    clock = Deadline(time_limit_s)
    total = space.n_factorizations_product()
    bar = progress(samples, "random", quiet)
    top = TopK(top_k)
    drawn = evaluated = 0
    interrupted = False
    structures: dict = {}
    try:
        while (samples is None or drawn < samples) and not clock.expired():
            n = batch if samples is None else min(batch, samples - drawn)
            flat = rng.integers(0, total, size=n, dtype=np.int64)
            drawn += n
            bar.update(n)
            rows = space.factor_rows(flat)
            rows = rows[space.fanout_ok(rows)]
            bypass = space.bypass_options[int(rng.integers(len(space.bypass_options)))]
            rows = rows[space.precheck(rows, bypass)]
            if not len(rows):
                continue
            codes = space.live_codes(rows)
            for code in np.unique(codes):
                sub = rows[codes == code]
                live = space.live_dims(sub[0])
                orders = {}
                for lv in space.order_levels:
                    classes = space.level_order_classes(lv, live.get(lv, ()), prune=True)
                    orders[lv] = space.full_order(lv, classes[int(rng.integers(len(classes)))])
                evaluated += evaluate_group(space, obj, sub, orders, bypass, structures, top, open_form=True)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    return finish(
        method=Method.RANDOM,
        space=space,
        obj=obj,
        top=top,
        evaluated=evaluated,
        clock=clock,
        status=Status.FEASIBLE,
        interrupted=interrupted,
        timed_out=clock.expired(),
        notes=(f"seed {seed}, {drawn} drawn, {evaluated} legal by fanout and capacity pre-check",),
    )
