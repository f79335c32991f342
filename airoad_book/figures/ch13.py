"""Chapter 13's figures: every language model's validation loss against wall-clock and
against the characters it has read.

Both draw from the `evolution` experiment's `Result`; neither trains. Each model keeps
its colour from `COLORS` (the keys are the experiment's model keys); the Kneser–Ney
model, which is counted rather than trained, is a dashed horizontal line at its
validation loss.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from airoad_book.figures.registry import figure
from airoad_book.figures.style import COLORS, bits_per_char_axis
from airoad_book.results import Result

NEURAL = ("nplm", "rnn", "lstm", "gru", "transformer")
NAMES = {
    "kn": "Kneser–Ney",
    "nplm": "NPLM",
    "rnn": "RNN LM",
    "lstm": "LSTM",
    "gru": "GRU",
    "transformer": "GPT",
}


def _race(result: Result, x_key: str, xlabel: str, log_x: bool) -> Figure:
    """Validation nats per character of the five networks against ``x_key`` of their
    curves, with Kneser–Ney and a uniform guess as horizontal lines, and bits per
    character on the right."""
    curves, m = result.series["curves"], result.metrics
    fig, ax = plt.subplots()
    for key in NEURAL:
        c = curves[key]
        ax.plot(
            c[x_key],
            c["valid_nats"],
            color=COLORS[key],
            marker="o",
            markersize=3,
            label=f"{NAMES[key]} ({int(m[f'{key}_params']):,})",
        )
    ax.axhline(
        result.series["kn"]["valid_nats"],
        color=COLORS["kn"],
        linestyle="--",
        label=f"Kneser–Ney {int(m['kn_order'])}-gram ({int(m['kn_ngrams']):,} n-grams)",
    )
    ax.axhline(
        m["uniform_nats"], color=COLORS["unigram"], linestyle=":", label="uniform guess"
    )
    if log_x:
        ax.set_xscale("log")
    else:
        ax.set_xlim(left=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("validation loss (nats per character)")
    ax.legend(loc="upper right", fontsize=8)
    bits_per_char_axis(ax)
    return fig


@figure(
    "evolution-wallclock",
    experiment="evolution",
    caption="Validation loss on the same Shakespeare characters against training time for the five "
    "networks of the book, each with the same number of parameters (in brackets) and "
    "the same "
    "wall-clock. The Kneser–Ney model is counted, not trained: its loss is the dashed "
    "line.",
    alt="Line chart of validation nats per character against training seconds: one falling line "
    "each for the NPLM, the RNN LM, the LSTM, the GRU and the GPT, a dashed horizontal "
    "line for "
    "Kneser–Ney and a dotted one for a uniform guess.",
)
def evolution_wallclock(result: Result) -> Figure:
    """Validation nats per character against training seconds, all six models."""
    return _race(
        result, "eval_seconds", "training seconds (evaluation excluded)", log_x=False
    )


@figure(
    "evolution-tokens",
    experiment="evolution",
    caption="The same curves against the number of training characters each network has predicted "
    "(a logarithmic axis): what each model makes of the text it has read, whatever it "
    "cost in time. "
    "Kneser–Ney, a dashed line, counted every character of the training text.",
    alt="Line chart of validation nats per character against training characters seen on a "
    "logarithmic axis: one falling line each for the NPLM, the RNN LM, the LSTM, the "
    "GRU and the GPT, "
    "starting and ending at different numbers of characters, with horizontal lines for "
    "Kneser–Ney "
    "and a uniform guess.",
)
def evolution_tokens(result: Result) -> Figure:
    """Validation nats per character against characters seen in training, all six
    models."""
    return _race(
        result, "eval_tokens", "training characters seen (log scale)", log_x=True
    )
