"""The one progress helper: library code never prints, it reports progress here.

A module-level mode decides what progress looks like:

- ``"off"`` (the default): a cheap no-op. The book build uses it and prints its own line per
  figure.
- ``"bar"``: a tqdm bar on stderr, so stdout stays clean for ``airoad-book run --json``. The
  CLI turns it on.

The environment variable ``AIROAD_PROGRESS=bar|off`` sets the mode until ``set_progress`` is
called.

```python
from airoad_book.progress import progress

with progress(total=3, desc="demo") as bar:
    for step in range(3):
        bar.set_postfix(loss=1.0 / (step + 1))
        bar.update()
```
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from tqdm import tqdm

PROGRESS_ENV = "AIROAD_PROGRESS"
MODES = ("bar", "off")

_mode: str | None = None  # None: follow $AIROAD_PROGRESS (default "off")


class Progress(Protocol):
    """What ``progress()`` yields."""

    def update(self, n: int = 1) -> None:
        """Advance the bar by `n` steps."""

    def set_postfix(self, **metrics: Any) -> None:
        """Show `metrics` (name: value) after the bar."""


def _check_mode(mode: str, source: str) -> str:
    if mode not in MODES:
        choices = ", ".join(repr(m) for m in MODES)
        raise ValueError(f"{source} must be one of {choices}; got {mode!r}")
    return mode


def get_progress() -> str:
    """The current mode: ``"bar"`` or ``"off"``."""
    if _mode is not None:
        return _mode
    return _check_mode(os.environ.get(PROGRESS_ENV, "off"), f"${PROGRESS_ENV}")


def set_progress(mode: str) -> str:
    """Switch progress reporting to ``mode`` (``"bar"`` or ``"off"``); return the previous mode."""
    global _mode
    previous = get_progress()
    _mode = _check_mode(mode, "progress mode")
    return previous


class _Silent:
    """The "off" mode: every call does nothing."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **metrics: Any) -> None:
        pass


class _Bar:
    """The "bar" mode: a thin wrapper over a tqdm bar on stderr."""

    def __init__(self, bar: tqdm) -> None:
        self._bar = bar

    def update(self, n: int = 1) -> None:
        self._bar.update(n)

    def set_postfix(self, **metrics: Any) -> None:
        # refresh=False: the next update() redraws, rate-limited by tqdm
        self._bar.set_postfix(ordered_dict=metrics, refresh=False)


@contextmanager
def progress(total: int | None, desc: str) -> Iterator[Progress]:
    """Report progress over ``total`` units (None when unknown), labelled ``desc``."""
    if get_progress() == "off":
        yield _Silent()
        return
    bar = tqdm(total=total, desc=desc, file=sys.stderr, dynamic_ncols=True)
    try:
        yield _Bar(bar)
    finally:
        bar.close()
