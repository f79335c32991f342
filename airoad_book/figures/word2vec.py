"""The word-vector chapter's figures: chosen words on two principal axes (skip-gram
beside the NPLM), and the ladders.

Both draw from the `word2vec` experiment's quick `Result`, which carries the committed
full run in ``series["recorded"]``; before one is committed they draw the quick run.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from airoad_book.figures.palette import SEQUENCE
from airoad_book.figures.registry import figure
from airoad_book.results import Result


def _main(result: Result) -> dict:
    return result.series.get("recorded") or result.series


def _scatter(ax: plt.Axes, groups: dict, title: str) -> None:
    for color, (group, pts) in zip(SEQUENCE, groups.items()):
        ax.scatter(pts["x"], pts["y"], color=color, s=18, label=group)
        for w, x, y in zip(pts["words"], pts["x"], pts["y"]):
            ax.annotate(
                w,
                (x, y),
                fontsize=7,
                color=color,
                xytext=(2, 2),
                textcoords="offset points",
            )
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


@figure(
    "word2vec-projection",
    experiment="word2vec",
    caption=(
        "Five groups of words on the top two principal axes of the 1,000 most frequent "
        "words' vectors: skip-gram's (left) and, where the full run is committed, the "
        "NPLM's input vectors trained on the same text (right). A group that gathers "
        "in one place shares a direction in the vector space."
    ),
    alt=(
        "Scatter plots of days, months, amounts, countries and modal verbs, each "
        "group in its own colour, on two principal axes of the word vectors"
    ),
)
def projection(result: Result) -> Figure:
    """Skip-gram's projection, and the NPLM's beside it when the run has one."""
    main = _main(result)
    panels = [("skip-gram (negative sampling)", main["projection"])]
    if main.get("projection_nplm"):
        panels.append(("NPLM (chapter 6), input vectors C", main["projection_nplm"]))
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4.2 * len(panels), 4.0), squeeze=False
    )
    for ax, (title, groups) in zip(axes[0], panels):
        _scatter(ax, groups, title)
    axes[0][-1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


@figure(
    "word2vec-ladder",
    experiment="word2vec",
    caption=(
        "Analogy accuracy (on the covered questions) and WordSim-353 ρ of skip-gram "
        "on the Penn Treebank: against the vector length d on all the text; against "
        "the number of training tokens at the full run's d; and, where the run has "
        "one, against the number of passes over all the text."
    ),
    alt=(
        "Line plots: analogy accuracy and WordSim-353 Spearman correlation "
        "against vector dimension, against training tokens and against passes"
    ),
)
def ladder(result: Result) -> Figure:
    """The dimension, data and passes ladders side by side."""
    rungs = _main(result)["ladder"]
    panels = [("dim", "vector length d"), ("share", "training tokens")]
    if rungs.get("passes"):
        panels.append(("passes", "passes over the text"))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4))
    xkey = {"dim": "dim", "share": "tokens", "passes": "epochs"}
    for ax, (key, xlabel) in zip(axes, panels):
        pts = rungs.get(key) or []
        x = [p[xkey[key]] for p in pts]
        ax.plot(
            x,
            [p["analogy_acc"] for p in pts],
            marker="o",
            color=SEQUENCE[0],
            label="analogy accuracy",
        )
        ax.plot(
            x,
            [p["spearman_wordsim"] for p in pts],
            marker="s",
            color=SEQUENCE[1],
            label="WordSim-353 ρ",
        )
        ax.set_xscale("log")
        if key != "share" and x:
            ax.set_xticks(x, [str(d) for d in x])  # the rungs, not powers of ten
            ax.minorticks_off()
        ax.set_xlabel(xlabel)
        if not pts:
            ax.text(
                0.5, 0.5, "no ladder in this run", ha="center", transform=ax.transAxes
            )
    axes[0].set_ylabel("score")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig
