"""The one progress helper: library code never prints, it reports progress here.

A module-level mode decides what progress looks like:

- ``"off"`` (the default): a cheap no-op. The book build uses it and prints its own line per
  figure.
- ``"bar"``: a tqdm bar on stderr, so stdout stays clean for ``airoad-book run --json``. The
  CLI turns it on. When stderr is not a terminal (CI, a pipe, a log file) the bar becomes
  a plain line every ``LINE_EVERY`` seconds and one at the end, not thousands of
  carriage-return redraws.

The environment variable ``AIROAD_PROGRESS=bar|off`` sets the mode until
``set_progress`` is called.

A training loop whose budget is a time cap (``max_seconds``) rather than a number of
steps passes it, and the training seconds done with each update: the bar then
re-estimates its total, the steps the time left allows at the rate so far, so its ETA is
the time left and not that of a million steps. ``initial`` starts the bar at the steps a
resumed run has done.

```python
from airoad_book.progress import progress

with progress(total=3, desc="demo") as bar:
    for step in range(3):
        bar.set_postfix(loss=1.0 / (step + 1))
        bar.update()
```
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from tqdm import tqdm

PROGRESS_ENV = "AIROAD_PROGRESS"
MODES = ("bar", "off")
LINE_EVERY = 5.0  # seconds between two progress lines when stderr is not a terminal

_mode: str | None = None  # None: follow $AIROAD_PROGRESS (default "off")


class Progress(Protocol):
    """What ``progress()`` yields."""

    def update(self, n: int = 1, seconds: float | None = None) -> None:
        """Advance the bar by `n` steps; `seconds`: the training time so far (s), for
        the ETA."""

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
    """Switch progress reporting to ``mode`` (``"bar"`` or ``"off"``); return the
    previous mode."""
    global _mode
    previous = get_progress()
    _mode = _check_mode(mode, "progress mode")
    return previous


def estimated_total(
    steps_done: int, seconds: float, max_steps: int, max_seconds: float | None
) -> int:
    """The steps a run will have made when its budget runs out, from its rate so far.

    `seconds` is the training time (s) of the `steps_done` steps. With no time cap, or
    before any time has passed, it is `max_steps`; else the steps the time left allows
    at the mean rate so far, never more than `max_steps` nor fewer than `steps_done`.
    """
    if max_seconds is None or steps_done <= 0 or seconds <= 0:
        return max_steps
    left = max(0.0, max_seconds - seconds)
    return int(min(max_steps, steps_done + math.ceil(left * steps_done / seconds)))


class _Silent:
    """The "off" mode: every call does nothing."""

    def update(self, n: int = 1, seconds: float | None = None) -> None:
        pass

    def set_postfix(self, **metrics: Any) -> None:
        pass


class _Bar:
    """The "bar" mode: a thin wrapper over a tqdm bar on stderr."""

    def __init__(
        self, bar: tqdm, max_steps: int | None, max_seconds: float | None
    ) -> None:
        self._bar = bar
        self._max_steps, self._max_seconds = max_steps, max_seconds

    @property
    def total(self) -> int | None:
        """The bar's current total: `max_steps`, or fewer when the time cap will stop
        the run first."""
        return self._bar.total

    def update(self, n: int = 1, seconds: float | None = None) -> None:
        if (
            seconds is not None
            and self._max_seconds is not None
            and self._max_steps is not None
        ):
            self._bar.total = estimated_total(
                self._bar.n + n, seconds, self._max_steps, self._max_seconds
            )
        self._bar.update(n)

    def set_postfix(self, **metrics: Any) -> None:
        # refresh=False: the next update() redraws, rate-limited by tqdm
        self._bar.set_postfix(ordered_dict=metrics, refresh=False)


class _Lines:
    """The "bar" mode off a terminal: one plain line every `every` seconds, and one at
    the end."""

    def __init__(
        self,
        total: int | None,
        desc: str,
        initial: int,
        max_seconds: float | None,
        stream=None,
        every: float = LINE_EVERY,
        clock=time.monotonic,
    ) -> None:
        self.total, self.n, self.desc = total, initial, desc
        self._max_steps, self._max_seconds = total, max_seconds
        self._stream = stream if stream is not None else sys.stderr
        self._every, self._clock = every, clock
        self._start = self._last = clock()
        self._initial = initial
        self._postfix: dict[str, Any] = {}

    def update(self, n: int = 1, seconds: float | None = None) -> None:
        self.n += n
        if (
            seconds is not None
            and self._max_seconds is not None
            and self._max_steps is not None
        ):
            self.total = estimated_total(
                self.n, seconds, self._max_steps, self._max_seconds
            )
        if self._clock() - self._last >= self._every:
            self.write()

    def set_postfix(self, **metrics: Any) -> None:
        self._postfix = metrics

    def write(self) -> None:
        """Print the current line: steps, rate, time left, the latest metrics."""
        now = self._clock()
        self._last = now
        elapsed = now - self._start
        rate = (self.n - self._initial) / elapsed if elapsed > 0 else 0.0
        steps = f"{self.n}/{self.total}" if self.total else f"{self.n}"
        parts = [
            f"{self.desc}: {steps} steps",
            f"{elapsed:.0f} s",
            f"{rate:.3g} steps/s",
        ]
        if self.total and rate > 0:
            parts.append(f"about {max(0.0, (self.total - self.n) / rate):.0f} s left")
        for name, value in self._postfix.items():
            parts.append(
                f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
            )
        print(", ".join(parts), file=self._stream, flush=True)


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


@contextmanager
def progress(
    total: int | None, desc: str, *, initial: int = 0, max_seconds: float | None = None
) -> Iterator[Progress]:
    """Report progress over ``total`` units (None when unknown), labelled ``desc``.

    ``initial``: units already done (a resumed run's steps). ``max_seconds``: the time
    cap (s) that may stop the run before ``total``; then ``update(seconds=...)``
    re-estimates the total from the rate so far.
    """
    if get_progress() == "off":
        yield _Silent()
        return
    if not _is_terminal(sys.stderr):
        lines = _Lines(total, desc, initial, max_seconds)
        try:
            yield lines
        finally:
            lines.write()
        return
    bar = tqdm(
        total=total, desc=desc, file=sys.stderr, dynamic_ncols=True, initial=initial
    )
    try:
        yield _Bar(bar, total, max_seconds)
    finally:
        bar.close()
