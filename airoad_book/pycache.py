"""Compiled bytecode for the processes a build or a test run starts, kept in `.cache/`.

Some machines and containers set `PYTHONDONTWRITEBYTECODE=1`, so Python never writes a
`.pyc` file: every new interpreter compiles torch, NumPy and matplotlib from source
again, about 3 s of CPU each time on a 2-core machine. A clean build starts dozens of
them (experiment workers, lab kernels, the figure build).

`keep_bytecode` leaves the installed packages alone and gives those processes a private
bytecode folder instead, `.cache/pycache/` (Python's `PYTHONPYCACHEPREFIX`): the first
process compiles a module once and the others read it. Python checks each file against
its source, as it always does, so an edited module is compiled again. Set
`AIROAD_PYCACHE=off` to keep Python's setting as it is.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV = "AIROAD_PYCACHE"  # "off": leave PYTHONDONTWRITEBYTECODE as it is
FOLDER = "pycache"  # under the cache folder


def keep_bytecode(cache_dir: Path) -> Path | None:
    """Write and read bytecode under `cache_dir/pycache` from now on, in this process and
    in every process it starts, when Python was told not to write any; return that
    folder, or None when nothing changed.

    Nothing changes when bytecode is written anyway (Python's own `__pycache__`
    folders serve), when `PYTHONPYCACHEPREFIX` is already set (the user chose a
    folder), or when `$AIROAD_PYCACHE` is `off`.
    """
    setting = os.environ.get(ENV, "").strip().lower()
    if setting not in ("", "on", "off"):
        raise ValueError(f"${ENV} must be 'on' or 'off', got {setting!r}")
    told_not_to = sys.dont_write_bytecode or bool(
        os.environ.get("PYTHONDONTWRITEBYTECODE")
    )
    if setting == "off" or not told_not_to or os.environ.get("PYTHONPYCACHEPREFIX"):
        return None
    folder = Path(cache_dir).resolve() / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(folder)
    sys.pycache_prefix = str(folder)  # imports from here on, in this process
    sys.dont_write_bytecode = False
    return folder


__all__ = ["keep_bytecode"]
