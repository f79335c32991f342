"""Chapter 6's experiment with Bengio et al.'s own recipe: SGD and weight decay.

`bengio-vs-ngram` trains the NPLM with Adam and no regulariser, a modern recipe that
reaches a good model in a quarter of an hour on a CPU. Bengio et al. (2003),
<https://www.jmlr.org/papers/v3/bengio03a.html>, trained theirs by stochastic gradient
ascent, one example per update, with a learning rate of 10⁻³ decreased as
ε_t = ε_0 / (1 + r t), r = 10⁻⁸, and a weight-decay penalty of 10⁻⁴ on the weights and
on the word vectors C, not on the biases (section 4). This experiment is that recipe at
the book's shapes, so that chapter 6 can say what departing from it costs:

- plain SGD (no momentum) with weight decay 10⁻⁴ on the matrices only (`make_optimizer`
  leaves vectors such as biases out of the decay);
- minibatches of 128 windows instead of single examples, with the learning rate scaled
  by the batch size (128 × 10⁻³): the mean gradient of a batch, times 128 ε, moves the
  weights as far as 128 single-example steps of ε would, to first order;
- a constant learning rate: over this run's 10⁶ or so examples, r = 10⁻⁸ lowers
  ε by about 1%, so the paper's decay is left out;
- early stopping on the whole validation set, as in `bengio-vs-ngram`'s full budget.

Everything else (data, Kneser–Ney baseline, mixture, scoring) is `bengio-vs-ngram`'s.
"""

from __future__ import annotations

from dataclasses import replace

from airoad_book.experiments.bengio_vs_ngram import CONFIGS as ADAM_CONFIGS
from airoad_book.experiments.bengio_vs_ngram import Config, run_config
from airoad_book.experiments.budget import config_for
from airoad_book.results import Result

NAME = "bengio-paper-recipe"
CHAPTER = 6
SUMMARY = (
    "the NPLM on the Penn Treebank with the paper's recipe: SGD and weight decay 1e-4"
)

PAPER_LR = 1e-3  # ε_0, the paper's learning rate for one example per update
PAPER_DECAY = 1e-4  # the paper's weight-decay penalty
BATCH = 128  # windows per update, as in bengio-vs-ngram's full budget


def paper_recipe(config: Config, batch_size: int = BATCH) -> Config:
    """``config`` trained the paper's way: SGD, 10⁻³ per example, weight decay 10⁻⁴."""
    return replace(
        config,
        optimizer="sgd",
        batch_size=batch_size,
        lr=PAPER_LR * batch_size,
        weight_decay=PAPER_DECAY,
        schedule="constant",
    )


CONFIGS = {
    # the quick budget's shapes and steps, trained the paper's way (~12 s on 2 cores)
    "quick": paper_recipe(ADAM_CONFIGS["quick"]),
    # up to 10 epochs with early stopping, like bengio-vs-ngram's full budget
    "full": paper_recipe(ADAM_CONFIGS["full"]),
}


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """Run `budget` (`quick` or `full`) with `seed`, training at most `seconds` (s)."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
