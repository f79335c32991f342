"""Chapter 10's figures: BLEU against source length (Bahdanau et al.'s Figure 2), and
alignments.

Every function draws from an experiment's `Result` (see `airoad_book.experiments`); none
trains. Colours come from `COLORS`; the heatmaps use `CMAP`.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from airoad_book.figures.registry import figure
from airoad_book.figures.style import CMAP, COLORS
from airoad_book.results import Result

LABELS = {"encdec": "encoder–decoder", "attn": "attention"}
COLOR_KEYS = {
    "encdec": "gru",
    "attn": "attention",
}  # chapter 9's encoder–decoder here is a GRU
MARKERS = {"encdec": "o", "attn": "s"}


@figure(
    "attention-bleu-by-length",
    experiment="seq2seq-length",
    caption="Bahdanau et al.'s Figure 2 at toy scale: test BLEU of greedy translations of English number "
    "words into French, by the length of the source in words, for chapter 9's "
    "encoder–decoder and the "
    "attention model trained with the same steps, batches and optimizer. Each point's "
    "label is the number "
    "of test pairs in its bucket.",
    alt="Line chart of BLEU against source-length bucket: the attention model's line stays near the top "
    "for every length, the encoder–decoder's line runs far below it and is lowest for "
    "the long sources.",
)
def bleu_by_length(result: Result) -> Figure:
    """BLEU per source-length bucket, one line per model, from a seq2seq-length
    Result."""
    lines = {
        key: (
            f"{LABELS[key]} ({int(result.metrics[f'params_{key}']):,} parameters)",
            COLORS[COLOR_KEYS[key]],
            MARKERS[key],
        )
        for key in ("encdec", "attn")
    }
    return bleu_by_length_chart(result.series["buckets"], lines)


def bleu_by_length_chart(
    buckets: dict, lines: dict[str, tuple[str, str, str]]
) -> Figure:
    """Test BLEU against source-length bucket, one line per model (chapters 10 and 11).

    buckets: a Result's "buckets" series — "labels" and "counts" per bucket, and each
    model's BLEU per bucket (0–100, NaN for an empty bucket) under its key. lines: key
    -> (legend label, colour, marker), in drawing order. Empty buckets are left out;
    each point is labelled with its bucket's number of test pairs.
    """
    keep = [i for i, n in enumerate(buckets["counts"]) if n > 0]
    x = list(range(len(keep)))
    fig, ax = plt.subplots()
    for key, (label, color, marker) in lines.items():
        ax.plot(
            x, [buckets[key][i] for i in keep], color=color, marker=marker, label=label
        )
    for xi, i in zip(x, keep):
        top = max(
            (buckets[key][i] for key in lines if not math.isnan(buckets[key][i])),
            default=0.0,
        )
        ax.annotate(
            f"n={buckets['counts'][i]}",
            (xi, top),
            textcoords="offset points",
            xytext=(0, 6),
            ha="center",
            fontsize=8,
        )
    ax.set_xticks(x, labels=[buckets["labels"][i] for i in keep])
    ax.set_ylim(0, 110)
    ax.set_xlabel("source length (English words)")
    ax.set_ylabel("test BLEU")
    ax.legend(loc="lower left")
    return fig


@figure(
    "attention-learning-curves",
    experiment="seq2seq-length",
    caption="Validation loss during training on the numbers task, in nats per target word, for the two "
    "models of the length experiment: the same batches in the same order, step for "
    "step.",
    alt="Line chart of validation loss against training step: the attention model's loss falls close to "
    "zero while the encoder–decoder's stays well above it.",
)
def learning_curves(result: Result) -> Figure:
    """Validation loss against step, one line per model, from a seq2seq-length
    Result."""
    curves = result.series["curves"]
    fig, ax = plt.subplots()
    for key in ("encdec", "attn"):
        c = curves[key]
        ax.plot(
            c["step"],
            c["valid_loss"],
            color=COLORS[COLOR_KEYS[key]],
            marker=MARKERS[key],
            label=LABELS[key],
        )
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("validation loss (nats per target word)")
    ax.legend(loc="lower left")
    return fig


def _heatmap(ax, example: dict) -> object:
    alpha = np.asarray(example["alpha"])  # (T + 1, S)
    image = ax.imshow(
        alpha, cmap=CMAP, vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest"
    )
    ax.set_xticks(
        range(len(example["source"])),
        labels=example["source"],
        rotation=60,
        ha="right",
        fontsize=8,
    )
    ax.set_yticks(
        range(alpha.shape[0]), labels=[*example["output"], "<eos>"], fontsize=8
    )
    ax.tick_params(length=0)
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    right = tuple(example["output"]) == tuple(example["reference"])
    ax.set_title(
        "correct" if right else "reference: " + "".join(example["reference"]),
        fontsize=8,
    )
    return image


@figure(
    "attention-alignments",
    experiment="attention-alignments",
    caption="Where the attention model looked: the weights α_ij for four test dates, one row per word "
    "the model wrote (the last row: where it looked before stopping), one column per "
    "source word; brighter is more weight, and each "
    "row sums to one. The model's own greedy output is on the vertical axis.",
    alt="Four heatmaps of attention weights, source words across and ISO date tokens down: the rows "
    "for the four year digits are bright over the year at the end of the source, the "
    "month rows over "
    "the month name and the day rows over the day number, so the bright cells jump "
    "from the end of the "
    "source back towards its start instead of running down a diagonal.",
)
def alignments(result: Result) -> Figure:
    """A grid of attention heatmaps for the drawn test dates, from an
    attention-alignments Result."""
    examples = result.series["alignments"]["examples"]
    cols = 2
    rows = math.ceil(len(examples) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(7.5, 3.4 * rows))
    axes = np.atleast_1d(axes).ravel()
    image = None
    for ax, example in zip(axes, examples):
        image = _heatmap(ax, example)
    for ax in axes[len(examples) :]:
        ax.set_axis_off()
    fig.tight_layout()
    if image is not None:
        fig.colorbar(image, ax=list(axes), shrink=0.6, label="α (attention weight)")
    return fig
