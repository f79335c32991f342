"""Settings for the tests under `tests/`.

`uv run pytest` runs one xdist worker per core (`-n auto`). Each worker's torch would
start one intra-op thread per core as well, so two workers on two cores run four busy
threads that spin-wait on each other: the small models of the tests then cost several
times their CPU seconds. A worker keeps to one thread; `-n 0` keeps torch's default.
Processes the tests start (the CLI, builds, notebooks) choose their own threads.
"""

import os

import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
