"""Chapter 9's figures: reversing the source, and BLEU against source length.

Every function draws from an experiment's `Result` (see `airoad_book.experiments`); none
trains. Colours come from `COLORS` (the LSTM's) and `SEQUENCE`.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from airoad_book.figures.registry import figure
from airoad_book.figures.style import COLORS, SEQUENCE
from airoad_book.results import Result

ORDERS = {
    "forward": ("source as written", SEQUENCE[0], "o"),
    "reversed": ("source reversed", COLORS["lstm"], "s"),
}


def _length_axis(ax, rows: list[list]) -> list[int]:
    """x positions for length buckets (label, pairs, BLEU), labelled with the bucket and
    its size."""
    xs = list(range(len(rows)))
    ax.set_xticks(xs, labels=[f"{label}\n({n} pairs)" for label, n, _ in rows])
    ax.set_xlabel("source length (tokens)")
    return xs


@figure(
    "reverse-source-curves",
    experiment="reverse-source",
    caption="The same LSTM encoder–decoder trained twice with the same seed, batches and steps: "
    "on the numbers task as written and with every source reversed. Left: validation "
    "loss "
    "during training. Right: test BLEU (greedy decoding) by source length.",
    alt="Two panels. Left: validation loss in nats per target token against training step for the "
    "forward and the reversed source; the reversed curve falls faster and ends lower. "
    "Right: test "
    "BLEU against source-length bucket for both; the reversed model scores higher in "
    "every bucket "
    "and both fall as sources get longer.",
)
def reverse_source_curves(result: Result) -> Figure:
    """Validation loss against step (left) and BLEU by source length (right), per source
    order."""
    s = result.series
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.8))
    for order, (label, color, marker) in ORDERS.items():
        c = s["curves"][order]
        left.plot(
            c["step"], c["loss"], color=color, marker=marker, markersize=3, label=label
        )
        rows = s["lengths"][order]
        xs = _length_axis(right, rows)
        right.plot(xs, [r[2] for r in rows], color=color, marker=marker, label=label)
    left.set_xlabel("training step")
    left.set_ylabel("validation loss (nats per target token)")
    left.set_ylim(bottom=0)
    left.legend(loc="upper right")
    right.set_ylabel("test BLEU (greedy)")
    right.set_ylim(0, 100)
    right.legend(loc="lower left")
    fig.tight_layout()
    return fig


@figure(
    "seq2seq-bleu-by-length",
    experiment="seq2seq-numbers",
    caption="The fixed-vector bottleneck: test BLEU of the encoder–decoder (reversed source, greedy "
    "decoding) in buckets of source length. Every source, short or long, is squeezed "
    "into the same "
    "fixed vector before the decoder writes a word.",
    alt="Line chart of test BLEU against source-length bucket, from 4–7 tokens to 16–19 tokens: "
    "BLEU is highest on the short sources and falls as the sources get longer.",
)
def seq2seq_bleu_by_length(result: Result) -> Figure:
    """Test BLEU (greedy) in each source-length bucket, the number of pairs under
    each."""
    rows = [r for r in result.series["lengths"] if r[1] > 0 and math.isfinite(r[2])]
    fig, ax = plt.subplots()
    xs = _length_axis(ax, rows)
    ax.plot(
        xs,
        [r[2] for r in rows],
        color=COLORS["lstm"],
        marker="s",
        label="LSTM encoder–decoder",
    )
    ax.axhline(
        result.metrics["bleu_greedy"],
        color=COLORS["unigram"],
        linestyle="--",
        label="whole test set",
    )
    ax.set_ylabel("test BLEU (greedy)")
    ax.set_ylim(0, 100)
    ax.legend(loc="lower left")
    return fig
