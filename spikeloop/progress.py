"""Progress display for long steps: a tqdm bar on stderr, silent with ``quiet``."""

from __future__ import annotations

import sys
from types import TracebackType


class Progress:
    """``with Progress(n, 'what') as bar: bar.step('item')`` shows a bar on stderr."""

    def __init__(self, total: int, desc: str, *, quiet: bool = False) -> None:
        self.total = total
        self.desc = desc
        self.quiet = quiet or not sys.stderr
        self._bar = None

    def __enter__(self) -> Progress:
        if not self.quiet:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, desc=self.desc, file=sys.stderr, leave=False)
        return self

    def step(self, label: str = "") -> None:
        if self._bar is not None:
            if label:
                self._bar.set_postfix_str(label)
            self._bar.update(1)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.close()
