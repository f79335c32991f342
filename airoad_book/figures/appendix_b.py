"""Appendix B's figures: one process against DDP, step by step; the all-reduce against
its size.

Every function draws from the `scaling-out` experiment's `Result`; none trains. Colours
come from `SEQUENCE`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from airoad_book.figures.registry import figure
from airoad_book.figures.style import SEQUENCE
from airoad_book.results import Result


@figure(
    "ddp-same-loss",
    experiment="scaling-out",
    caption="Training loss at each step of chapter 12's GPT trained by one process, and by two "
    "processes under DistributedDataParallel that each read half of the same global "
    "batches. The "
    "two runs are the same run: the points sit on the line.",
    alt="Line chart of training loss in nats per character against the optimizer step, falling "
    "steadily: a line for one process and markers for the two-process run lying on it.",
)
def same_loss(result: Result) -> Figure:
    """Per-step training loss, one process (line) and the data-parallel run
    (markers)."""
    s, m = result.series, result.metrics
    steps = range(1, len(s["loss_1"]) + 1)
    fig, ax = plt.subplots()
    ax.plot(steps, s["loss_1"], color=SEQUENCE[0], label="1 process")
    ax.plot(
        steps,
        s["loss_2"],
        color=SEQUENCE[1],
        linestyle="none",
        marker="o",
        markersize=4,
        label=f"{int(m['world_size'])} processes, DDP (largest gap {m['loss_max_diff']:.0e})",
    )
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss (nats per character)")
    ax.legend(loc="upper right")
    return fig


@figure(
    "ddp-allreduce",
    experiment="scaling-out",
    caption="Seconds one all-reduce takes between the processes over gloo on this machine, against the "
    "size of the tensor (fastest of a few), and the ring all-reduce's napkin formula "
    "fitted to the "
    "smallest and the largest size. The dotted line marks the size of the GPT's "
    "gradient.",
    alt="Log-log chart of all-reduce time in milliseconds against megabytes: measured points that stay "
    "flat at a latency floor for small tensors and then rise in proportion to the "
    "size, with the "
    "formula's curve through them and a vertical line at the gradient's size.",
)
def allreduce(result: Result) -> Figure:
    """All-reduce milliseconds against MiB, measured and napkin, log-log."""
    a, m = result.series["allreduce"], result.metrics
    mib = [4 * n / 2**20 for n in a["floats"]]
    fig, ax = plt.subplots()
    ax.plot(
        mib,
        [1e3 * t for t in a["napkin"]],
        color=SEQUENCE[1],
        label="napkin: 2(p−1) latencies + 2(p−1)/p × bytes / bandwidth",
    )
    ax.plot(
        mib,
        [1e3 * t for t in a["seconds"]],
        color=SEQUENCE[0],
        linestyle="none",
        marker="o",
        label="measured (gloo, this machine)",
    )
    ax.axvline(
        m["gradient_bytes"] / 2**20,
        color=SEQUENCE[6],
        linestyle=":",
        label=f"the GPT's gradient, {m['gradient_bytes'] / 2**20:.2f} MiB",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tensor size (MiB of fp32)")
    ax.set_ylabel("all-reduce time (ms)")
    ax.legend(loc="upper left")
    return fig


@figure(
    "ddp-throughput",
    experiment="scaling-out",
    caption="Characters trained on per second of training time by one process and by the data-parallel "
    "run, with the threads each process had. The dashed line is perfect scaling on the "
    "threads the "
    "data-parallel run used in all: the single process's rate per thread times those "
    "threads, with "
    "free communication. When both runs have the same threads, as in the build, it is "
    "the first bar.",
    alt="Bar chart of characters per second: one bar for one process and one for the data-parallel "
    "run, with a dashed line at what perfect scaling on the same threads would give.",
)
def throughput(result: Result) -> Figure:
    """Characters per second, one process and the data-parallel run, against perfect
    scaling on the threads used."""
    m = result.metrics
    p, t, tp = int(m["world_size"]), int(m["threads"]), int(m["threads_per_process"])
    labels = [
        f"1 process\n× {t} thread{'s' if t > 1 else ''}",
        f"{p} processes\n× {tp} thread{'s' if tp > 1 else ''}",
    ]
    values = [m["tokens_per_s_1"], m["tokens_per_s_2"]]
    fig, ax = plt.subplots()
    ax.bar(labels, values, color=[SEQUENCE[0], SEQUENCE[1]], width=0.5)
    ideal = (
        values[0] * p * tp / t
    )  # the single process's rate per thread, on all the threads used
    ax.axhline(
        ideal,
        color=SEQUENCE[6],
        linestyle="--",
        label="perfect scaling on the same threads",
    )
    for x, v in enumerate(values):
        ax.annotate(f"{v:,.0f}", (x, v), ha="center", va="bottom")
    ax.set_ylabel("characters trained on per second")
    ax.set_ylim(0, 1.2 * max(ideal, *values))  # room for the legend above the line
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
    ax.legend(loc="upper left")
    return fig
