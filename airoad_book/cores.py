"""One CPU-heavy job per core, across all the processes of a build.

A clean build runs two kinds of heavy jobs at once: experiments, with their figures, in
the figure build's worker pool, and lab notebooks in the lab pool of the MkDocs process.
Each pool has one process per core. Left to themselves, the two pools keep twice as
many busy processes as there are cores, and the kernel's time-slicing between them costs
CPU: on the 2-core machine of the README, a clean build spent 230 CPU s on its
experiments where the same quick runs cost 198 s alone, and 207 s in the labs' kernels
where they cost 160 s alone.

So each such job holds a core while it runs:

    with core(cache_dir / "cores", count=2):
        run_the_experiment()

A core is a lock file, `<folder>/<i>.lock`, held with `fcntl.flock`: whichever process
holds it, in whichever pool, the operating system lets go of it when that process
ends, even when it is killed. A job waits for a free one, polling every 50 ms. On a
system without `fcntl` (Windows) `core` holds nothing.

Experiments go first: a lab (`patient=True`) takes a free core only when no experiment
is waiting for one. While experiments wait they hold a shared lock on
`<folder>/waiting.lock`; a patient job must be able to lock it exclusively. A build
cannot go on before its last experiment lands, while the pages can be rendered
beside the last labs (see `airoad_book.site.labs_last`).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

POLL_S = 0.05  # seconds between two looks for a free core
WAITING = "waiting.lock"  # shared-locked by each impatient job while it waits


@contextlib.contextmanager
def core(folder: Path, count: int, *, patient: bool = False) -> Iterator[int]:
    """Hold one of `count` cores under `folder` for the duration of the block; yield
    its number. Blocks until one is free, and, when `patient`, until no impatient job
    waits for one."""
    if count < 1:
        raise ValueError(f"core count must be a whole number >= 1, got {count!r}")
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield 0
        return
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    queue = os.open(folder / WAITING, os.O_RDWR | os.O_CREAT, 0o644)
    held = None
    try:
        if not patient:
            fcntl.flock(queue, fcntl.LOCK_SH)  # "an experiment is waiting"
        while held is None:
            if not patient or _nobody_waits(fcntl, queue):
                held = _take_one(fcntl, folder, count)
            if held is None:
                time.sleep(POLL_S)
        fcntl.flock(queue, fcntl.LOCK_UN)
        yield held[0]
    finally:  # whatever stops the block, even Ctrl-C right after the core was taken
        os.close(queue)
        if held is not None:
            fcntl.flock(held[1], fcntl.LOCK_UN)
            os.close(held[1])


def _nobody_waits(fcntl, queue: int) -> bool:
    """Whether no impatient job is waiting (the queue lock can be taken alone)."""
    try:
        fcntl.flock(queue, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    fcntl.flock(queue, fcntl.LOCK_UN)
    return True


def _take_one(fcntl, folder: Path, count: int) -> tuple[int, int] | None:
    """Lock the first free core file: its number and descriptor, or None."""
    for number in range(count):
        fd = os.open(folder / f"{number}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BaseException as error:
            os.close(fd)
            if isinstance(error, BlockingIOError):
                continue
            raise
        return number, fd
    return None


__all__ = ["POLL_S", "WAITING", "core"]
