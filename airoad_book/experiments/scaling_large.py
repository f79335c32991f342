"""Chapter 14's compute ladder carried 64 times further, for a machine with a GPU.

The same experiment as `scaling` (the same families, recipes search, data ladder,
position loss, fits and crossings), with thirteen rungs from 8 × 10^8 to 3.3 × 10^12
training FLOPs instead of seven. At 20 characters per parameter the top rung trains
models of about 165,000 parameters on 3.3 million characters, the size of chapter 13's
race. The recipes are searched at rung 6 (the full ladder's top) and the data ladder
runs at rung 8.

On one thread of a 2-core CPU the GPT's top rung alone would take over two hours;
on a GPU the whole run takes minutes:

    uv run airoad-book run scaling-large --budget full --record

The `quick` budget is `scaling`'s, so the CLI and the tests can run it anywhere.
"""

from __future__ import annotations

from dataclasses import replace

from airoad_book.experiments import scaling
from airoad_book.experiments.budget import config_for
from airoad_book.results import Result

NAME = "scaling-large"
CHAPTER = 14
SUMMARY = (
    "chapter 14's ladder carried to 3.3e12 FLOPs (4,096x, 13 rungs), for a machine "
    "with a GPU"
)

CONFIGS = {
    "quick": scaling.CONFIGS["quick"],
    "full": replace(
        scaling.CONFIGS["full"],
        rungs=13,
        search_rung=6,
        data_rung=8,
    ),
}


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full"; its rungs are FLOPs, so ``seconds``
    is ignored."""
    return scaling.run_config(config_for(CONFIGS, budget), seed=seed)
