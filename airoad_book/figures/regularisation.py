"""Figures of the section on regularising recurrent language models: the over-fitting
curves of an LSTM language model with and without Zaremba et al.'s dropout, and the
variants beside them.

Every function draws from the `rnn-dropout` experiment's `Result`; none trains.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from airoad_book.figures.palette import SEQUENCE
from airoad_book.figures.registry import figure
from airoad_book.results import Result

LABELS = {
    "no_dropout": "no dropout",
    "dropout": "dropout",
    "tied": "dropout + tied",
    "one_layer": "dropout, 1 layer",
    "tied_no_dropout": "tied, no dropout",
}
COLOURS = dict(zip(LABELS, SEQUENCE))


@figure(
    "rnn-dropout-curves",
    experiment="rnn-dropout",
    caption="Over-fitting, epoch by epoch: perplexity on the training text (dashed) "
    "and on the validation text (solid) of the same two-layer LSTM language model, "
    "without dropout and with Zaremba et al.'s dropout on the non-recurrent "
    "connections. Both are scored with dropout off.",
    alt="Two panels of perplexity against epoch. Without dropout the training curve "
    "falls while the validation curve turns up; with dropout the two stay closer and "
    "the validation curve keeps falling.",
)
def rnn_dropout_curves(result: Result) -> Figure:
    """Train (dashed) and valid (solid) perplexity per epoch, one panel per model."""
    curves = result.series["curves"]
    fig, axes = plt.subplots(1, 2, sharey=True, figsize=(8, 3.4))
    for ax, variant in zip(axes, ("no_dropout", "dropout")):
        c = curves[variant]
        colour = COLOURS[variant]
        ax.plot(c["epoch"], c["train_ppl"], "--", color=colour, label="train")
        ax.plot(c["epoch"], c["valid_ppl"], "-o", color=colour, label="valid")
        best = min(range(len(c["epoch"])), key=lambda i: c["valid_ppl"][i])
        ax.plot(
            c["epoch"][best],
            c["valid_ppl"][best],
            "*",
            markersize=13,
            color=colour,
            label=f"best valid, epoch {c['epoch'][best]}",
        )
        ax.set_title(LABELS[variant])
        ax.set_xlabel("epoch")
        ax.legend()
    axes[0].set_ylabel("perplexity (dropout off)")
    return fig


@figure(
    "rnn-dropout-variants",
    experiment="rnn-dropout",
    caption="Validation perplexity per epoch of every variant: no dropout, dropout, "
    "dropout with the embedding tied to the output layer, and dropout with one layer "
    "instead of two.",
    alt="Line chart of validation perplexity against epoch, one line per variant, "
    "each labelled with its parameter count.",
)
def rnn_dropout_variants(result: Result) -> Figure:
    """Valid perplexity per epoch, one line per variant, with its parameter count."""
    fig, ax = plt.subplots()
    for variant, c in result.series["curves"].items():
        params = int(result.metrics[f"params_{variant}"])
        ax.plot(
            c["epoch"],
            c["valid_ppl"],
            "-o",
            color=COLOURS[variant],
            label=f"{LABELS[variant]} ({params:,} parameters)",
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation perplexity")
    ax.legend()
    return fig
