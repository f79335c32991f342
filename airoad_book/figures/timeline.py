"""The home page's figure: the book's models on a timeline, each with its recorded
number.

Draws from the `timeline` experiment's `Result` (which reads the committed full-budget
results files); trains nothing. Colours come from `SEQUENCE`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from airoad_book.figures.registry import figure
from airoad_book.figures.style import SEQUENCE
from airoad_book.results import Result


@figure(
    "book-timeline",
    experiment="timeline",
    caption="The book's models in the year of their papers, 2003 to 2018, each labelled with "
    "the number its recorded full-budget run measured (read from the committed results "
    "files, not typed). Perplexities are on the Penn Treebank test set, BLEU on the "
    "book's "
    "numbers-to-words task, bits per character on Shakespeare's validation text. "
    "Hollow "
    "markers: no full run is recorded yet.",
    alt="A timeline from 2003 to 2018 with one row and one marker per model (NPLM 2003, "
    "RNN LM 2010, LSTM and seq2seq 2014, attention 2015, Transformer 2017, GPT 2018), "
    "each "
    "with a label giving the model and its measured number.",
)
def timeline(result: Result) -> Figure:
    """One row per model, its marker at its year; the label beside it."""
    s = result.series["milestones"]
    n = len(s["year"])
    fig, ax = plt.subplots(figsize=(9, 0.55 * n + 1.2))
    for i, (year, model, shown, ok) in enumerate(
        zip(s["year"], s["model"], s["shown"], s["recorded"], strict=True)
    ):
        y = n - 1 - i  # the first model on top
        color = SEQUENCE[i % len(SEQUENCE)]
        ax.plot(
            [year],
            [y],
            marker="o",
            markersize=9,
            color=color,
            markerfacecolor=color if ok else "none",
            zorder=2,
        )
        right = year < 2011  # early models: label to the right; late ones: to the left
        ax.annotate(
            f"{model}: {shown}",
            (year, y),
            xytext=(10 if right else -10, 0),
            textcoords="offset points",
            ha="left" if right else "right",
            va="center",
            fontsize=9,
        )
    ax.set_xlim(2002, 2019)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_yticks([])
    ax.set_xticks(range(2003, 2019, 2))
    ax.set_xlabel("year of the paper")
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig
