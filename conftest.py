"""pytest's settings for the whole checkout (`tests/` and the code blocks of `docs/`).

Where Python is told not to write bytecode (`PYTHONDONTWRITEBYTECODE=1`), the test run and
the processes it starts (the CLI, builds, notebooks) keep theirs under `.cache/pycache/`,
as the build does (`airoad_book.pycache`): torch is compiled once, not once per process.

`uv run pytest` runs one xdist worker per core (`-n auto`). Each worker's torch would
start one intra-op thread per core as well, so two workers on two cores run four busy
threads that spin-wait on each other, and the tests' small models cost several times
their CPU seconds. A worker keeps to one thread, as the build's experiments do; `-n 0`
keeps torch's default. Processes the tests start (the CLI, builds, notebooks) choose
their own threads.
"""

import os
from pathlib import Path

from airoad_book.pycache import keep_bytecode

keep_bytecode(Path(__file__).resolve().parent / ".cache")

if os.environ.get("PYTEST_XDIST_WORKER"):
    import torch

    torch.set_num_threads(1)
