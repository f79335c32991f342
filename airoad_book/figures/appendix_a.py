"""Appendix A's figures: each tool of the training loop on chapter 8's char LSTM.

Every function draws from the `training-toolkit` experiment's `Result`; none trains.
Variants of one section take the book's `SEQUENCE` colours in a fixed order; text and
background colours come from the theme, so each figure works in the light and the dark
variant.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullFormatter

from airoad_book.figures.registry import figure
from airoad_book.figures.style import SEQUENCE
from airoad_book.results import Result

EXPERIMENT = "training-toolkit"
WIDE = (9.0, 3.4)  # two panels side by side


def _val_panel(ax, runs: list[dict], title: str = "validation loss") -> None:
    """Each run's validation loss against step, one colour per run (in the order they
    ran)."""
    for color, c in zip(SEQUENCE, runs):
        ax.plot(
            c["eval_step"],
            c["val_loss"],
            color=color,
            marker="o",
            markersize=3,
            label=c["name"],
        )
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("nats per character")
    ax.set_title(title, fontsize=10)
    ax.set_xlim(left=0)


@figure(
    "toolkit-schedule",
    experiment=EXPERIMENT,
    caption="Three learning-rate schedules at the same high peak rate. Left: the rate each step "
    "used. Right: the validation loss (nats per character on held-out plays).",
    alt="Two line charts. Left: a flat learning rate, a linear warm-up to the same flat rate, and "
    "a warm-up followed by a cosine decay to zero. Right: validation loss against step "
    "for the "
    "three runs; the cosine run ends lowest.",
)
def schedule(result: Result) -> Figure:
    """Learning rate and validation loss against step for constant, warm-up + constant,
    warm-up + cosine."""
    runs = result.series["schedule"]
    fig, (left, right) = plt.subplots(1, 2, figsize=WIDE)
    for color, c in zip(SEQUENCE, runs):
        left.plot(c["step"], c["lr"], color=color, label=c["name"])
    left.set_xlabel("optimizer step")
    left.set_ylabel("learning rate")
    left.set_title("the schedule", fontsize=10)
    left.set_xlim(left=0)
    left.set_ylim(bottom=0)
    left.legend(loc="lower center")
    _val_panel(right, runs)
    return fig


@figure(
    "toolkit-weight-decay",
    experiment=EXPERIMENT,
    caption="The same weight-decay coefficient as Adam's L2 penalty and as AdamW's decoupled "
    "decay, against no decay. Left: the L2 norm of all the weights together. Right: "
    "the "
    "validation loss.",
    alt="Two line charts against step. Left: the weight norm grows without decay, grows less "
    "with AdamW, and collapses towards zero with Adam plus L2. Right: validation loss; "
    "the "
    "Adam plus L2 run stays far above the other two.",
)
def weight_decay(result: Result) -> Figure:
    """Weight norm and validation loss against step for no decay, Adam + L2 and
    AdamW."""
    runs = result.series["decay"]
    fig, (left, right) = plt.subplots(1, 2, figsize=WIDE)
    for color, c in zip(SEQUENCE, runs):
        left.plot(
            c["norm_step"],
            c["weight_norm"],
            color=color,
            marker="o",
            markersize=3,
            label=c["name"],
        )
    left.set_xlabel("optimizer step")
    left.set_ylabel("‖w‖, all weights")
    left.set_title("the weights' norm", fontsize=10)
    left.set_xlim(left=0)
    left.set_ylim(bottom=0)
    left.legend(loc="lower left")
    _val_panel(right, runs)
    return fig


@figure(
    "toolkit-clipping",
    experiment=EXPERIMENT,
    caption="Plain SGD at a high learning rate, without and with clipping the global gradient "
    "norm. Left: the gradient norm at each step, before clipping (log scale); the "
    "dashed line "
    "is the cap. Right: the validation loss (log scale).",
    alt="Two charts. Left: gradient norm against step on a log scale for the two runs, with a "
    "dashed horizontal line at the clipping threshold. Right: validation loss against "
    "step on "
    "a log scale; the unclipped run jumps far higher than the clipped one.",
)
def clipping(result: Result) -> Figure:
    """Gradient norm (before clipping) and validation loss against step, SGD with and
    without clipping."""
    runs = result.series["clipping"]
    cap = result.series["config"]["clip_norm"]
    fig, (left, right) = plt.subplots(1, 2, figsize=WIDE)
    for color, c in zip(SEQUENCE, runs):
        left.plot(
            c["step"], c["grad_norm"], color=color, linewidth=1.0, label=c["name"]
        )
    left.axhline(
        cap, color=SEQUENCE[-1], linestyle="--", linewidth=1.0, label=f"cap = {cap:g}"
    )
    left.set_yscale("log")
    left.set_xlabel("optimizer step")
    left.set_ylabel("global gradient norm")
    left.set_title("the gradient norm, before clipping", fontsize=10)
    left.set_xlim(left=0)
    left.legend(loc="upper right")
    _val_panel(right, runs)
    right.set_yscale("log")
    low, high = right.get_ylim()
    ticks = [
        t
        for t in (2, 2.5, 3, 4, 5, 7, 10, 15, 20, 30, 50, 100, 200)
        if low <= t <= high
    ]
    right.yaxis.set_major_locator(FixedLocator(ticks))
    right.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    right.yaxis.set_minor_formatter(NullFormatter())
    return fig


def _bars(ax, names: list[str], values: list[float], ylabel: str, title: str) -> None:
    bars = ax.bar(range(len(names)), values, color=SEQUENCE[: len(names)])
    ax.bar_label(bars, labels=[f"{v:.1f}" for v in values], fontsize=9)
    ax.set_xticks(range(len(names)), [textwrap.fill(n, 12) for n in names], fontsize=9)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", visible=False)


@figure(
    "toolkit-accumulation",
    experiment=EXPERIMENT,
    caption="Gradient accumulation. Left: training loss against step for one batch of k·B "
    "blocks, k accumulated micro-batches of B holding the same blocks (the two curves "
    "lie on "
    "top of each other), and plain batches of B. Right: milliseconds per optimizer "
    "step.",
    alt="Left: three training-loss curves; the big-batch and accumulated curves coincide, the "
    "small-batch curve is noisier. Right: bar chart of milliseconds per optimizer "
    "step; the "
    "accumulated step costs about as much as the big batch's, several times the small "
    "one's.",
)
def accumulation(result: Result) -> Figure:
    """Training loss against step, and ms per step, for a big batch, accumulated
    micro-batches and small batches."""
    runs = result.series["accumulation"]
    fig, (left, right) = plt.subplots(1, 2, figsize=WIDE)
    styles = ("-", "--", "-")
    for color, style, c in zip(SEQUENCE, styles, runs):
        left.plot(
            c["step"], c["train_loss"], color=color, linestyle=style, label=c["name"]
        )
    left.set_xlabel("optimizer step")
    left.set_ylabel("training loss (nats per character)")
    left.set_title("the same updates", fontsize=10)
    left.legend(loc="upper right")
    _bars(
        right,
        [c["name"] for c in runs],
        [c["ms_per_step"] for c in runs],
        "ms per optimizer step",
        "what a step costs",
    )
    return fig


@figure(
    "toolkit-bf16",
    experiment=EXPERIMENT,
    caption="The same run in float32 and under bfloat16 autocast on the machine that built the "
    "book. Left: training loss against step. Right: the median milliseconds of a "
    "training step, "
    "timed step by step with the two precisions taking turns.",
    alt="Left: two nearly coinciding training-loss curves for float32 and bf16 autocast. Right: "
    "a bar chart of milliseconds per step for the two.",
)
def bf16(result: Result) -> Figure:
    """Training loss against step and ms per step, float32 against bf16 autocast."""
    runs = result.series["bf16"]
    fig, (left, right) = plt.subplots(1, 2, figsize=WIDE)
    for color, style, c in zip(SEQUENCE, ("-", "--"), runs):
        left.plot(
            c["step"], c["train_loss"], color=color, linestyle=style, label=c["name"]
        )
    left.set_xlabel("optimizer step")
    left.set_ylabel("training loss (nats per character)")
    left.set_title("the loss", fontsize=10)
    left.legend(loc="upper right")
    m = result.metrics
    _bars(
        right,
        ["float32", "bf16 autocast"],
        [m["fp32_ms"], m["bf16_ms"]],
        "ms per step (median)",
        f"what a step costs ({result.series['device']})",
    )
    return fig


@figure(
    "toolkit-seeds",
    experiment=EXPERIMENT,
    caption="The base recipe under different seeds (initial weights and batch order), and seed 0 "
    "again under torch.use_deterministic_algorithms(True), drawn dashed over it. "
    "Right: the "
    "second half of training, zoomed in.",
    alt="Two charts of validation loss against step for a few seeds, the right one zoomed on the "
    "second half: the seeds end close together but not identical, and the dashed "
    "repeat of "
    "seed 0 lies exactly on seed 0's curve.",
)
def seeds(result: Result) -> Figure:
    """Validation loss against step for each seed, with the deterministic repeat of the
    first; zoomed on the end."""
    runs = result.series["seeds"]
    repeat = result.series["repeat"]
    fig, axes = plt.subplots(1, 2, figsize=WIDE)
    for ax, title in zip(axes, ("validation loss", "the second half, zoomed")):
        _val_panel(ax, runs, title=title)
        ax.plot(
            repeat["eval_step"],
            repeat["val_loss"],
            color=SEQUENCE[-1],
            linestyle="--",
            label=repeat["name"],
        )
    half = max(repeat["eval_step"]) / 2
    late = [v for c in runs for s, v in zip(c["eval_step"], c["val_loss"]) if s >= half]
    pad = 0.1 * (max(late) - min(late)) + 1e-3
    axes[1].set_xlim(half, max(repeat["eval_step"]) * 1.02)
    axes[1].set_ylim(min(late) - pad, max(late) + pad)
    axes[0].legend(loc="upper right")
    return fig
