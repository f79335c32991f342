"""pytest's settings for the whole checkout (`tests/` and the code blocks of `docs/`).

Where Python is told not to write bytecode (`PYTHONDONTWRITEBYTECODE=1`), the test run and
the processes it starts (the CLI, builds, notebooks) keep theirs under `.cache/pycache/`,
as the build does (`airoad_book.pycache`): torch is compiled once, not once per process.
"""

from pathlib import Path

from airoad_book.pycache import keep_bytecode

keep_bytecode(Path(__file__).resolve().parent / ".cache")
