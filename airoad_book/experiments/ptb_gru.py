"""Chapter 8's Penn Treebank run with a GRU in place of the LSTM: appendix C's GRU.

No paper reports a GRU at Zaremba et al.'s small setup, so this run is the book's own
question: with everything else held fixed (2 layers of 200 units, windows of 20 steps
over 20 streams, SGD at 1 halved each epoch from the fifth, 13 epochs, clipping at 5, no
dropout), does the GRU's cheaper cell (three weight blocks per layer, not four) lose
anything against the LSTM's 114.5 (the paper) and the book's recorded run? Everything
but the cell is `ptb-lstm`'s.

    uv run airoad-book run ptb-gru --budget full --record
"""

from __future__ import annotations

from dataclasses import replace

from airoad_book.experiments import ptb_lstm
from airoad_book.experiments.budget import config_for
from airoad_book.results import Result

NAME = "ptb-gru"
CHAPTER = 8
SUMMARY = (
    "a 2-layer GRU on word-level Penn Treebank with Zaremba et al.'s small LSTM recipe"
)

CONFIGS = {budget: replace(c, cell="gru") for budget, c in ptb_lstm.CONFIGS.items()}


def verdict(m: dict) -> str:
    """The GRU's test perplexity beside the LSTM's published number."""
    gap = m["test_ppl"] - m["paper_test_ppl"]
    side = "below" if gap < 0 else "above"
    return (
        f"The GRU reaches a test perplexity of {m['test_ppl']:.1f} after "
        f"{m['epochs_done']:.0f} epoch(s) over {m['train_tokens']:,.0f} training "
        "tokens, "
        f"{abs(gap):.1f} {side} the {m['paper_test_ppl']} Zaremba et al. report for "
        "the "
        "LSTM with the same recipe."
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full"."""
    result = ptb_lstm.run_config(
        config_for(CONFIGS, budget), seed=seed, seconds=seconds
    )
    result.text["verdict"] = verdict(result.metrics)
    result.tables["test"].rows[0][0] = "this run (GRU)"
    return result
