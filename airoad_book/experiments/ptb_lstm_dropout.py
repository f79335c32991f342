"""Chapter 8's regularised Penn Treebank run: Zaremba et al.'s medium LSTM, with
dropout.

Wojciech Zaremba, Ilya Sutskever and Oriol Vinyals (2014), *Recurrent Neural Network
Regularization*, <https://arxiv.org/abs/1409.2329>. Their medium setup: 2 layers of
650 units, weights uniform in [-0.05, 0.05], dropout of 0.5 on the non-recurrent
connections only (the word vectors going in, between the layers, and before the
softmax; never on the state carried from step to step), windows of 35 steps over 20
streams, plain SGD at a learning rate of 1 for 6 epochs and then divided by 1.2 after
each epoch, 39 epochs, gradients clipped to a norm of 5. It reached a test perplexity
of 82.7 (valid 86.2, their table 1), against 114.5 for the small network without
dropout.

The `full` budget is that setup, for the CLI: about 20 million parameters and 39
epochs, days on a 2-core CPU, minutes on a GPU:

    uv run airoad-book run ptb-lstm-dropout --budget full --record

Everything but the numbers above is `ptb-lstm`'s. The `quick` budget is a tiny model
on a slice of the training text, seconds long: it shows the pipeline, not the paper's
number.
"""

from __future__ import annotations

from dataclasses import replace

from airoad_book.experiments import ptb_lstm
from airoad_book.experiments.budget import config_for
from airoad_book.results import Result

NAME = "ptb-lstm-dropout"
CHAPTER = 8
SUMMARY = (
    "Zaremba et al. 2014's medium LSTM on word-level Penn Treebank: 2 × 650 units "
    "with dropout 0.5"
)

PAPER_VALID_PPL = 86.2  # Zaremba et al. (2014), table 1, medium regularized LSTM
PAPER_TEST_PPL = 82.7

MEDIUM = replace(
    ptb_lstm.Config(),
    hidden=650,
    bptt=35,
    init_range=0.05,
    dropout=0.5,
    epochs=39,
    decay_after=6,
    decay=1 / 1.2,
)

CONFIGS = {
    "quick": replace(ptb_lstm.CONFIGS["quick"], dropout=0.5, bptt=35),
    "full": MEDIUM,
}


def verdict(m: dict) -> str:
    """This run's test perplexity beside the paper's medium and small numbers."""
    gap = m["test_ppl"] - PAPER_TEST_PPL
    side = "below" if gap < 0 else "above"
    return (
        f"With dropout, the 2 × {m['hidden']:.0f} LSTM reaches a test perplexity of "
        f"{m['test_ppl']:.1f} (valid {m['valid_ppl']:.1f}) after "
        f"{m['epochs_done']:.0f} epoch(s) over {m['train_tokens']:,.0f} training "
        f"tokens, {abs(gap):.1f} {side} the {PAPER_TEST_PPL} Zaremba et al. report "
        f"for their medium network."
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full"."""
    config = config_for(CONFIGS, budget)
    result = ptb_lstm.run_config(config, seed=seed, seconds=seconds)
    result.metrics["hidden"] = float(config.hidden)
    result.metrics["dropout"] = float(config.dropout)
    result.metrics["paper_test_ppl"] = PAPER_TEST_PPL
    result.metrics["paper_valid_ppl"] = PAPER_VALID_PPL
    result.text["verdict"] = verdict(result.metrics)
    table = result.tables["test"]
    table.rows[0][0] = f"this run (dropout {config.dropout})"
    table.rows[1] = [
        "Zaremba et al. 2014, medium, regularized",
        "2 × 650",
        ptb_lstm.size_of(MEDIUM, 10_000),
        929_589,
        39,
        PAPER_VALID_PPL,
        PAPER_TEST_PPL,
    ]
    return result
