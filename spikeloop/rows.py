"""The row of a paper-reproduction table: our number beside the paper's, with the reason they differ."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def uses_paper_numbers(reason: str) -> Callable[[F], F]:
    """Mark a function that computes with a number of the paper, saying why (``reason``).

    The paper's numbers are printed beside ours (``Row.paper``) and never enter a computation of ``ours``, with
    two labelled exceptions, each in a function carrying this mark: sensitivity rows evaluated at a setting the
    paper states (their ids end in ``-paper`` and their notes say so), and notes that state what a paper value
    implies. ``tests/test_paper_constants.py`` reads the experiments' source and refuses a paper constant anywhere
    else (outside ``paper=`` and these functions, or arguments of calls to them).
    """

    def mark(fn: F) -> F:
        fn.uses_paper_numbers = reason  # type: ignore[attr-defined]
        return fn

    return mark


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One reproduced figure. ``paper`` is None where the paper gives no number (our-only rows).

    ``ratio`` = ours / paper. ``note`` is one line: what the model did and why it differs.
    ``command`` reproduces the row from the shell.
    """

    id: str
    paper: float | None
    ours: float
    unit: str
    note: str = ""
    command: str = ""
    parts: tuple[tuple[str, float], ...] = ()  # optional breakdown for plots, e.g. (("compute", x), ("memory", y))

    @property
    def ratio(self) -> float | None:
        if self.paper in (None, 0):
            return None
        return self.ours / self.paper

    @property
    def ci95(self) -> tuple[float, float] | None:
        """The 95 % interval of ``ours`` (``parts`` keys ``ci95_low`` / ``ci95_high``), or None."""
        p = dict(self.parts)
        if "ci95_low" in p and "ci95_high" in p:
            return p["ci95_low"], p["ci95_high"]
        return None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ratio"] = self.ratio
        d["parts"] = dict(self.parts)
        return d
