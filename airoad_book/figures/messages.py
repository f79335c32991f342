"""Figures of chapters 9–11 on real translations (the Plone and Django messages).

Every function draws from an experiment's `Result` (see `airoad_book.experiments`); none
trains. The build draws them from the quick runs, a few steps each, a smoke test of the
pipeline; the pages read BLEU from the committed full runs.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from airoad_book.figures.registry import figure
from airoad_book.figures.style import COLORS, SEQUENCE
from airoad_book.results import Result

STYLES = {
    "forward": ("source as written", SEQUENCE[0], "o"),
    "reversed": ("source reversed", COLORS["lstm"], "s"),
    "seq2seq": ("encoder–decoder", SEQUENCE[0], "o"),
    "attention": ("attention RNN", COLORS["attention"], "s"),
    "transformer": ("Transformer, BPE", COLORS["transformer"], "D"),
    "attn_rnn": ("attention RNN, BPE", COLORS["attention"], "s"),
    "transformer_words": ("Transformer, words", SEQUENCE[2], "^"),
}


def _curves(ax, curves: dict, keys) -> None:
    for key in keys:
        label, color, marker = STYLES[key]
        c = curves[key]
        ax.plot(
            c["step"], c["loss"], color=color, marker=marker, markersize=3, label=label
        )
    ax.set_xlabel("training step")
    ax.set_ylabel("validation loss (nats per BPE piece)")
    ax.legend(loc="upper right")


def _intervals(ax, intervals: dict, keys) -> None:
    for x, key in enumerate(keys):
        label, color, marker = STYLES[key]
        score, lo, hi = intervals[key]
        ax.errorbar(
            [x],
            [score],
            yerr=[[score - lo], [hi - score]],
            color=color,
            marker=marker,
            capsize=5,
            linestyle="none",
        )
    ax.set_xticks(range(len(keys)), labels=[STYLES[k][0] for k in keys])
    ax.set_xlim(-0.5, len(keys) - 0.5)
    ax.set_ylabel("test BLEU, 95% interval")
    ax.set_ylim(bottom=0)


@figure(
    "messages-reversal-curves",
    experiment="messages-reversal",
    caption="Chapter 9's encoder–decoder on real English → French messages in BPE pieces, trained "
    "twice with the same seed and batches: sources as written and reversed. Left: "
    "validation "
    "loss. Right: test BLEU (sacrebleu) with its paired-bootstrap 95% interval. The "
    "build's "
    "quick run trains for a few steps only; the full run's numbers are in the table "
    "below.",
    alt="Two panels. Left: validation loss in nats per piece against training step for the "
    "forward and the reversed source, both falling. Right: two points with error bars, "
    "the "
    "test BLEU of each source order.",
)
def reversal_curves(result: Result) -> Figure:
    """Loss against step and BLEU with intervals, per source order."""
    s = result.series
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.6))
    _curves(left, s["curves"], ("forward", "reversed"))
    _intervals(right, s["intervals"], ("forward", "reversed"))
    fig.tight_layout()
    return fig


@figure(
    "messages-length-curves",
    experiment="messages-length",
    caption="The encoder–decoder and the attention RNN on real messages, the same steps and "
    "batches. Left: validation loss. Right: test BLEU by English source length in "
    "words "
    "(Bahdanau et al.'s Figure 2 on this task). The build's quick run trains for a few "
    "steps "
    "only; the full run's numbers are in the table below.",
    alt="Two panels. Left: validation loss against training step for the encoder–decoder and "
    "the attention RNN. Right: test BLEU of each model per bucket of source length in "
    "words.",
)
def length_curves(result: Result) -> Figure:
    """Loss against step, and BLEU per source-length bucket, for both models."""
    s = result.series
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.6))
    _curves(left, s["curves"], ("seq2seq", "attention"))
    b = s["buckets"]
    xs = list(range(len(b["labels"])))
    for key in ("seq2seq", "attention"):
        label, color, marker = STYLES[key]
        ys = [
            y if y is not None and not math.isnan(y) else float("nan") for y in b[key]
        ]
        right.plot(xs, ys, color=color, marker=marker, label=label)
    right.set_xticks(
        xs, labels=[f"{lab}\n({n})" for lab, n in zip(b["labels"], b["counts"])]
    )
    right.set_xlabel("English source length in words (test pairs)")
    right.set_ylabel("test BLEU (greedy)")
    right.set_ylim(bottom=0)
    right.legend(loc="upper right")
    fig.tight_layout()
    return fig


@figure(
    "real-translation-race",
    experiment="real-translation",
    caption="The Transformer and the attention RNN on real messages, each trained for the same "
    "steps with about the same parameters, and the same Transformer on whole words. "
    "Left: validation loss of the two BPE models (the word model's loss is per word, so "
    "not on this scale). Right: test BLEU with its paired-bootstrap 95% interval. The "
    "build's quick run trains for a few steps, a smoke test; the full run's numbers are "
    "in the table below.",
    alt="Two panels. Left: validation loss in nats per piece against training step for the "
    "Transformer and the attention RNN. Right: three points with error bars, the test "
    "BLEU of "
    "the Transformer on pieces, the attention RNN on pieces and the Transformer on "
    "words.",
)
def race(result: Result) -> Figure:
    """Loss against step of the BPE models, and every model's BLEU with its interval."""
    s = result.series
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    _curves(left, s["curves"], ("transformer", "attn_rnn"))
    _intervals(right, s["intervals"], ("transformer", "attn_rnn", "transformer_words"))
    fig.tight_layout()
    return fig
