"""Chapter 11's figures: positional encodings, the √d_k argument, the schedule, the
race, attention maps.

Every function draws from an experiment's `Result` (see `airoad_book.experiments`); none
trains. Colours come from `COLORS` and `SEQUENCE`; heatmaps use `CMAP` (weights) and
`CMAP_DIVERGING` (signed values).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from airoad_book.figures.ch10 import (
    bleu_by_length_chart,
)  # the same chart as chapter 10's Figure 2
from airoad_book.figures.registry import figure
from airoad_book.figures.style import CMAP, CMAP_DIVERGING, COLORS, SEQUENCE
from airoad_book.results import Result

LABELS = {"transformer": "Transformer", "attn_rnn": "attention RNN (chapter 10)"}
COLOR_KEYS = {"transformer": "transformer", "attn_rnn": "attention"}
MARKERS = {"transformer": "D", "attn_rnn": "s"}


@figure(
    "transformer-positions",
    experiment="attention-scaling",
    caption="The sinusoidal positional encodings PE(pos, 2i) = sin(pos / 10000^(2i/d_model)) and "
    "PE(pos, 2i+1) = cos(…), for d_model = 64. Left: the whole matrix, one row per "
    "position. Right: four "
    "dimensions against the position; each pair of dimensions turns at its own "
    "frequency.",
    alt="Left, a heatmap of positions down and 64 dimensions across: the first columns flicker between "
    "-1 and 1 from one position to the next, and the stripes widen to the right until "
    "the last columns "
    "barely change over 100 positions. Right, four curves: dimension 0 a fast sine "
    "wave, higher dimensions "
    "ever slower waves, the last nearly flat.",
)
def positions(result: Result) -> Figure:
    """The positional-encoding matrix and a few of its dimensions, at the experiment's
    sizes."""
    from airoad_book.models.transformer import sinusoidal_positions

    c = result.series["config"]
    pe = sinusoidal_positions(
        c["pe_length"], c["pe_d_model"]
    ).numpy()  # (length, d_model)
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(9, 3.6), gridspec_kw={"width_ratios": [1, 1.3]}
    )
    image = left.imshow(
        pe, cmap=CMAP_DIVERGING, vmin=-1, vmax=1, aspect="auto", interpolation="nearest"
    )
    left.set_xlabel("dimension")
    left.set_ylabel("position")
    left.grid(False)
    fig.colorbar(image, ax=left, shrink=0.8)
    d = c["pe_d_model"]
    for color, dim in zip(SEQUENCE, (0, 4, 16, d - 2)):
        wavelength = 2 * math.pi * 10000 ** (dim / d)
        right.plot(
            pe[:, dim],
            color=color,
            label=f"dimension {dim} (wavelength {wavelength:,.0f})",
        )
    right.set_xlabel("position")
    right.set_ylabel("PE(pos, dimension)")
    right.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


@figure(
    "attention-scaling",
    experiment="attention-scaling",
    caption="Why attention divides by √d_k, for random queries and keys with unit-variance components and a "
    "softmax over 32 keys. Left: the spread of the scores q·k grows as √d_k, the "
    "scaled scores stay at 1. "
    "Second: the softmax's largest weight (1/32 would be uniform, 1 one-hot). Third: "
    "the median "
    "norm of the softmax's Jacobian, the gradient it lets through to the scores. "
    "Right: the "
    "gradient carried on to the query, ‖∂α/∂q‖, median (solid) and mean (dashed): "
    "unscaled, "
    "the median collapses while the mean grows, a heavy tail.",
    alt="Three line charts against d_k on a log scale. The raw scores' standard deviation climbs steadily "
    "while the scaled scores' stays flat at 1; the raw softmax's largest weight climbs "
    "towards 1 while the "
    "scaled one stays low and flat; the raw softmax's Jacobian norm falls towards 0 at "
    "large d_k while the "
    "scaled one stays flat; the raw gradient with respect to the query has a median "
    "that falls "
    "towards 0 and a mean that rises, while both scaled curves stay flat.",
)
def scaling(result: Result) -> Figure:
    """Score spread, largest weight and Jacobian norm against d_k, raw and scaled."""
    s = result.series
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
    panels = [
        ("std", "std of the scores"),
        ("max", "largest softmax weight"),
        ("jacobian_median", "median ‖∂α/∂e‖"),
        ("dq_median", "‖∂α/∂q‖"),
    ]
    axes[3].plot(s["d_k"], s["dq_mean_raw"], color=SEQUENCE[1], linestyle="--")
    axes[3].plot(s["d_k"], s["dq_mean_scaled"], color=SEQUENCE[0], linestyle="--")
    axes[3].set_yscale("log")
    for ax, (key, label) in zip(axes, panels):
        ax.plot(s["d_k"], s[f"{key}_raw"], color=SEQUENCE[1], marker="o", label="q·k")
        ax.plot(
            s["d_k"],
            s[f"{key}_scaled"],
            color=SEQUENCE[0],
            marker="s",
            label="q·k / √d_k",
        )
        ax.set_xscale("log", base=2)
        ax.set_xlabel("d_k")
        ax.set_ylabel(label)
    axes[0].set_yscale("log", base=2)
    axes[1].axhline(
        1 / result.metrics["n_keys"], color=COLORS["plain"], linestyle=":", linewidth=1
    )
    axes[1].set_ylim(0, 1.05)
    axes[0].legend(loc="upper left")
    fig.tight_layout()
    return fig


@figure(
    "transformer-lr-schedule",
    experiment="transformer-vs-rnn",
    caption="The warm-up then inverse-square-root schedule, lr = d_model^-0.5 · min(step^-0.5, step · warmup^-1.5) "
    "in the paper. Left: the paper's base model (d_model = 512, 4,000 warm-up steps) "
    "over its 100,000 steps. "
    "Right: the learning rate of every step the Transformer took in this chapter's "
    "run.",
    alt="Two line charts of learning rate against step: each rises in a straight line during warm-up to a "
    "peak and then decays slowly as one over the square root of the step.",
)
def lr_schedule(result: Result) -> Figure:
    """The paper's learning-rate schedule and the one this run used (from
    `train.lr_at`)."""
    from airoad_book.train import TrainConfig, lr_at

    paper = TrainConfig(
        max_steps=100_000,
        lr=512**-0.5 * 4000**-0.5,
        warmup_steps=4000,
        schedule="inverse_sqrt",
    )
    steps = np.arange(0, 100_000, 100)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    left.plot(steps, [lr_at(int(s), paper) for s in steps], color=COLORS["transformer"])
    left.set_title("the paper: base model", fontsize=10)
    ours = result.series["lr"]
    right.plot(np.arange(1, len(ours) + 1), ours, color=COLORS["transformer"])
    c = result.series["config"]
    right.axvline(c["warmup_steps"], color=COLORS["plain"], linestyle=":", linewidth=1)
    right.set_title(
        f"this run: {c['warmup_steps']} warm-up steps, peak {c['lr']:g}", fontsize=10
    )
    for ax in (left, right):
        ax.set_xlabel("step")
        ax.set_ylabel("learning rate")
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    fig.tight_layout()
    return fig


@figure(
    "transformer-vs-rnn-curves",
    experiment="transformer-vs-rnn",
    caption="Validation loss (nats per target word, plain cross-entropy for both) against seconds of training "
    "on the numbers task, for the Transformer and chapter 10's attention RNN trained "
    "on the same batches for "
    "the same wall-clock.",
    alt="Line chart of validation loss on a log scale against training seconds: the attention RNN's loss "
    "falls faster and ends lower than the Transformer's.",
)
def curves(result: Result) -> Figure:
    """Validation loss against training seconds, one line per model."""
    fig, ax = plt.subplots()
    for key in ("transformer", "attn_rnn"):
        c = result.series["curves"][key]
        params = int(result.metrics[f"params_{key}"])
        ax.plot(
            c["seconds"],
            c["valid_loss"],
            color=COLORS[COLOR_KEYS[key]],
            marker=MARKERS[key],
            markersize=4,
            label=f"{LABELS[key]} ({params:,} parameters)",
        )
    ax.set_yscale("log")
    ax.set_xlabel("training wall-clock (s)")
    ax.set_ylabel("validation loss (nats per target word)")
    ax.legend(loc="lower left")
    return fig


@figure(
    "transformer-bleu-by-length",
    experiment="transformer-vs-rnn",
    caption="Test BLEU of greedy translations by the length of the English source, for the Transformer and "
    "chapter 10's attention RNN after the same training time. Each point's label is "
    "the number of test "
    "pairs in its bucket.",
    alt="Line chart of BLEU against source-length bucket for the two models, the attention RNN's line near "
    "the top at every length.",
)
def bleu_by_length(result: Result) -> Figure:
    """BLEU per source-length bucket, one line per model."""
    lines = {
        key: (LABELS[key], COLORS[COLOR_KEYS[key]], MARKERS[key])
        for key in ("transformer", "attn_rnn")
    }
    return bleu_by_length_chart(result.series["buckets"], lines)


def _map(
    ax, weights: np.ndarray, rows: list[str], cols: list[str], title: str
) -> object:
    image = ax.imshow(
        weights, cmap=CMAP, vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest"
    )
    ax.set_xticks(range(len(cols)), labels=cols, rotation=70, ha="right", fontsize=7)
    ax.set_yticks(range(len(rows)), labels=rows, fontsize=7)
    ax.tick_params(length=0)
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title, fontsize=8)
    return image


@figure(
    "transformer-attention-maps",
    experiment="transformer-vs-rnn",
    caption="What the trained Transformer's heads read, for two test numbers. In each row, first every head "
    "of the last encoder layer's self-attention (source word down, the source word it "
    "reads across), then "
    "every head of the last decoder layer's cross-attention (the word the model wrote "
    "down, the last row "
    "its <eos>; the source word it reads across). Brighter is more weight; each row "
    "sums to one.",
    alt="A grid of heatmaps, one row per test sentence. The encoder self-attention maps of different heads "
    "look different: one spreads weight over neighbouring words, another concentrates "
    "on a few words. The "
    "cross-attention maps show bright cells that step from the start of the English "
    "source towards its end "
    "as the French output proceeds.",
)
def attention_maps(result: Result) -> Figure:
    """Every head of the last encoder self-attention and the last cross-attention, per
    drawn sentence."""
    examples = result.series["maps"]
    heads = len(examples[0]["encoder"])
    fig, axes = plt.subplots(
        len(examples),
        2 * heads,
        figsize=(2.6 * 2 * heads, 3.4 * len(examples)),
        squeeze=False,
    )
    image = None
    for row, ex in zip(axes, examples):
        src, out = ex["source"], [*ex["output"], "<eos>"]
        for h in range(heads):
            image = _map(
                row[h],
                np.asarray(ex["encoder"][h]),
                src,
                src,
                f"encoder self-attention, head {h + 1}",
            )
            _map(
                row[heads + h],
                np.asarray(ex["cross"][h]),
                out,
                src,
                f"cross-attention, head {h + 1}",
            )
    fig.tight_layout()
    if image is not None:
        fig.colorbar(image, ax=list(axes.ravel()), shrink=0.5, label="attention weight")
    return fig
