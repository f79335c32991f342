"""Chapter 8's figures: long lags, the character-level race, and what the LSTM's cells
track.

Every function draws from an experiment's `Result` (see `airoad_book.experiments`); none
trains. Colours come from `COLORS` (one per model of the book) and `CMAP_DIVERGING`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colormaps
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from airoad_book.figures.registry import figure
from airoad_book.figures.style import CMAP_DIVERGING, COLORS, bits_per_char_axis
from airoad_book.results import Result

LABELS = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU"}
MARKERS = {"rnn": "o", "lstm": "s", "gru": "^"}


@figure(
    "long-lag-accuracy",
    experiment="long-lag",
    caption="Remember the first symbol: held-out accuracy against the lag T for a tanh RNN, an LSTM "
    "and a GRU with the same number of parameters. The dashed line is chance.",
    alt="Line chart of accuracy against lag T on a logarithmic axis: the LSTM and GRU lines stay "
    "near 100% out to the longest lag while the tanh RNN line falls towards the dashed "
    "chance line.",
)
def long_lag_accuracy(result: Result) -> Figure:
    """Accuracy (%) against the lag T, one line per model, and chance."""
    s = result.series
    fig, ax = plt.subplots()
    for kind in ("rnn", "lstm", "gru"):
        ax.plot(
            s["lags"],
            [100 * a for a in s["accuracy"][kind]],
            color=COLORS[kind],
            marker=MARKERS[kind],
            label=f"{LABELS[kind]} ({int(result.metrics[f'{kind}_params']):,} parameters)",
        )
    ax.axhline(
        100 * s["chance"], color=COLORS["unigram"], linestyle="--", label="chance"
    )
    ax.set_xscale("log")
    ax.set_xticks(s["lags"], labels=[str(t) for t in s["lags"]])
    ax.minorticks_off()
    ax.set_ylim(0, 105)
    ax.set_xlabel("lag T (steps between the symbol and the question)")
    ax.set_ylabel("held-out accuracy (%)")
    ax.legend(loc="lower left")
    return fig


@figure(
    "char-lm-curves",
    experiment="char-lm-shakespeare",
    caption="Validation loss on Shakespeare during training, against training time, for three models "
    "of the same size given the same number of steps (the same wall-clock at the full "
    "budget). The right axis reads the same loss in bits per character.",
    alt="Line chart of validation nats per character against training seconds for the tanh RNN, "
    "LSTM and GRU, each falling from the uniform level.",
)
def char_lm_curves(result: Result) -> Figure:
    """Validation nats (and bits) per character against training seconds, one line per
    model."""
    curves = result.series["curves"]
    fig, ax = plt.subplots()
    for kind in ("rnn", "lstm", "gru"):
        c = curves[kind]
        ax.plot(
            c["eval_seconds"],
            c["valid_nats"],
            color=COLORS[kind],
            marker=MARKERS[kind],
            markersize=3,
            label=LABELS[kind],
        )
    ax.set_xlabel("training seconds (steps × the run's mean step time)")
    ax.set_ylabel("validation nats per character")
    bits_per_char_axis(ax)
    ax.set_xlim(left=0)
    ax.legend(loc="upper right")
    return fig


def _text_strip(
    ax, text: str, values: list[float], title: str, columns: int = 60
) -> None:
    """Draw `text` as a grid of characters, each on a cell coloured by its value in [-1,
    1]."""
    cmap = colormaps[CMAP_DIVERGING]
    x = y = 0
    cells, colors = [], []  # one collection of cells draws much faster than patches
    for ch, v in zip(text, values):
        cells.append(Rectangle((x, -y - 1), 1, 1))
        colors.append(cmap(0.5 + 0.5 * max(-1.0, min(1.0, v))))
        shown = "↵" if ch == "\n" else ch
        ax.text(
            x + 0.5,
            -y - 0.5,
            shown,
            ha="center",
            va="center",
            fontsize=6.5,
            family="monospace",
            color="white" if abs(v) > 0.55 else "black",
        )  # readable on the dark ends of the map
        x += 1
        if ch == "\n" or x >= columns:
            x, y = 0, y + 1
    ax.add_collection(PatchCollection(cells, facecolors=colors, linewidths=0))
    ax.set_xlim(0, columns)
    ax.set_ylim(-y - 1, 0)
    ax.set_title(title, fontsize=9, loc="left")
    ax.set_axis_off()


@figure(
    "lstm-cell-trace",
    experiment="char-lm-shakespeare",
    caption="Inside the trained LSTM: a passage of the validation text, each character on the colour "
    "of one cell unit's value c_t after reading it, centred on the unit's median over "
    "the passage and "
    "scaled to its largest excursion (orange below, purple above). "
    "Top: the unit whose cell value correlates best with the position in the line; "
    "bottom: "
    "the one that correlates best with being inside a [stage direction]. Values come "
    "from the "
    "hand-written LSTMCell loaded with the trained torch weights.",
    alt="Two blocks of Shakespeare text where each character's background is coloured by one LSTM "
    "cell unit's value, showing how the unit changes along lines and inside bracketed "
    "stage directions.",
)
def lstm_cell_trace(result: Result) -> Figure:
    """The passage twice, each character on the colour of one unit's tanh(c_t)."""
    trace = result.series["trace"]
    features = list(trace["features"].items())
    lines = trace["text"].count("\n") + len(trace["text"]) // 60 + 1
    fig, axes = plt.subplots(
        len(features), 1, figsize=(9.0, 0.16 * lines * len(features) + 0.8)
    )
    for ax, (name, f) in zip(np.atleast_1d(axes), features):
        c = np.asarray(f["c"])
        centred = c - np.median(
            c
        )  # the unit's excursions from its usual value over the passage
        _text_strip(
            ax,
            trace["text"],
            (centred / (np.abs(centred).max() + 1e-12)).tolist(),
            f"unit {f['unit']}: correlation {f['r']:+.2f} with {name}",
        )
    fig.tight_layout()
    return fig


@figure(
    "ptb-lstm-curve",
    experiment="ptb-lstm",
    caption="The quick Penn Treebank run, epoch by epoch: training and validation perplexity, and the "
    "learning rate of Zaremba et al.'s schedule. The dashed line is the paper's test "
    "perplexity.",
    alt="Line chart of perplexity against epoch on a logarithmic axis, training and validation, with "
    "the paper's test perplexity of 114.5 as a dashed line far below.",
)
def ptb_curve(result: Result) -> Figure:
    """Train and valid perplexity per epoch against the paper's test perplexity."""
    c = result.series["curve"]
    fig, ax = plt.subplots()
    ax.plot(
        c["epoch"],
        c["train_ppl"],
        color=COLORS["train"],
        marker="o",
        label="train (mean over the epoch)",
    )
    ax.plot(
        c["epoch"],
        c["valid_ppl"],
        color=COLORS["valid"],
        marker="o",
        label="valid (end of epoch)",
    )
    ax.axhline(
        result.metrics["paper_test_ppl"],
        color=COLORS["lstm"],
        linestyle="--",
        label="Zaremba et al. 2014, small, test",
    )
    ax.set_yscale("log")
    ax.set_xticks(c["epoch"])
    ax.set_xlabel("epoch")
    ax.set_ylabel("perplexity")
    ax.legend(loc="upper right")
    return fig
