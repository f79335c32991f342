"""Chapter 5's figures: n-gram models by order, on words and on characters. Nothing
trains here."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, NullFormatter, ScalarFormatter

from airoad_book.figures.registry import figure
from airoad_book.figures.style import COLORS
from airoad_book.results import Result

MODELS = {"add-one": "add-one", "kn": "Kneser–Ney"}  # series key -> legend label
SPLITS = {
    "train": ("--", "o", "training text"),
    "valid": ("-", "s", "validation text"),
}  # style


def _orders_plot(series: dict, ylabel: str, log_y: bool) -> Figure:
    """One line per model and split against the order n; the best validation order
    circled."""
    fig, ax = plt.subplots()
    neutral = plt.rcParams[
        "axes.labelcolor"
    ]  # the theme's ink: keys for line styles, not models
    orders = series["orders"]
    for model in MODELS:
        for split, (style, marker, _) in SPLITS.items():
            ax.plot(
                orders,
                series[model][split],
                linestyle=style,
                marker=marker,
                markersize=4,
                color=COLORS[model],
            )
        valid = series[model]["valid"]
        i = min(
            range(len(valid)), key=valid.__getitem__
        )  # the order that generalises best
        ax.plot(
            orders[i],
            valid[i],
            marker="o",
            markersize=12,
            markerfacecolor="none",
            markeredgecolor=COLORS[model],
            linestyle="none",
        )
    if log_y:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("order n (the model sees the n − 1 tokens before)")
    ax.set_ylabel(ylabel)
    handles = [
        Line2D([], [], color=COLORS[m], label=label) for m, label in MODELS.items()
    ]
    handles += [
        Line2D(
            [],
            [],
            color=neutral,
            linestyle=style,
            marker=marker,
            markersize=4,
            label=label,
        )
        for style, marker, label in SPLITS.values()
    ]
    handles.append(
        Line2D(
            [],
            [],
            color=neutral,
            marker="o",
            markersize=10,
            markerfacecolor="none",
            linestyle="none",
            label="best on validation",
        )
    )
    ax.legend(handles=handles, fontsize=8, ncol=2, handlelength=3)
    return fig


@figure(
    "ngram-orders",
    experiment="ngram-baselines",
    caption="Word-level Penn Treebank: perplexity against the order n, on the training text (dashed) "
    "and on held-out validation text (solid), log scale. Lower is better; the circle "
    "marks "
    "each model's best order on validation text.",
    alt="Line chart of perplexity, log scale, against n-gram order on the word-level Penn Treebank: "
    "add-one and Kneser-Ney, each on training and on validation text.",
)
def ngram_orders(result: Result) -> Figure:
    """Perplexity against n-gram order on word-level Penn Treebank, train and validation
    (log scale)."""
    fig = _orders_plot(result.series["ptb"], "perplexity (log scale)", log_y=True)
    fig.axes[0].set_title("Penn Treebank, words", fontsize=10)
    return fig


@figure(
    "ngram-orders-chars",
    experiment="ngram-baselines",
    caption="Character-level Shakespeare: bits per character against the order n, on the training "
    "text (dashed) and on two held-out plays (solid). Lower is better; the circle "
    "marks "
    "each model's best order on the held-out plays.",
    alt="Line chart of bits per character against n-gram order on character-level Shakespeare: "
    "add-one and Kneser-Ney, each on training text and on two held-out plays.",
)
def ngram_orders_chars(result: Result) -> Figure:
    """Bits per character against n-gram order on character-level Shakespeare, train and
    held-out plays."""
    fig = _orders_plot(result.series["shakespeare"], "bits per character", log_y=False)
    fig.axes[0].set_title("Shakespeare, characters", fontsize=10)
    return fig
