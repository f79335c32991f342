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
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

POLL_S = 0.05  # seconds between two looks for a free core


@contextlib.contextmanager
def core(folder: Path, count: int) -> Iterator[int]:
    """Hold one of `count` cores under `folder` for the duration of the block; yield
    its number. Blocks until one is free."""
    if count < 1:
        raise ValueError(f"core count must be a whole number >= 1, got {count!r}")
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield 0
        return
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        for number in range(count):
            fd = os.open(folder / f"{number}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                yield number
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
            return
        time.sleep(POLL_S)


__all__ = ["POLL_S", "core"]
