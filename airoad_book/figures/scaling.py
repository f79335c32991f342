"""Chapter 14's figures: validation loss across a compute ladder (against FLOPs and
against seconds, with the fitted power laws), across a data ladder, and along a context
window.

All draw from the `scaling` experiment's quick `Result`, which carries the committed
full run in ``series["recorded"]``: the long rungs are drawn filled, with their fits,
and the build's own short rungs hollow beside them. Before a full run is committed, the
short rungs and their fits stand alone. Each family keeps its colour from `COLORS`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from airoad_book.figures.registry import figure
from airoad_book.figures.style import COLORS, bits_per_char_axis
from airoad_book.results import Result

FAMILIES = ("kn", "nplm", "rnn", "lstm", "gru", "gpt")
NAMES = {
    "kn": "Kneser–Ney",
    "nplm": "NPLM",
    "rnn": "RNN LM",
    "lstm": "LSTM",
    "gru": "GRU",
    "gpt": "GPT",
}


def _main(result: Result) -> tuple[dict, bool]:
    """The series the figure leads with: the committed full run if there is one."""
    recorded = result.series.get("recorded")
    return (recorded["series"], True) if recorded else (result.series, False)


def _ladder(result: Result, x_key: str, xlabel: str, with_fits: bool) -> Figure:
    main, is_full = _main(result)
    fig, ax = plt.subplots()
    for k in FAMILIES:
        pts = main["points"][k]
        x = [p[x_key] for p in pts]
        y = [p["loss"] for p in pts]
        if k == "kn" and x_key == "seconds":
            continue  # counting has no training seconds on the networks' scale
        ax.plot(
            x,
            y,
            color=COLORS[k],
            marker="o",
            markersize=4,
            linestyle="none" if with_fits else "-",
            label=NAMES[k],
        )
        if with_fits:
            f = main["fits"][k]
            grid = np.geomspace(f["c_min"], f["c_max"], 50)
            ax.plot(
                grid,
                f["a"] * grid ** (-f["alpha"]) + f["floor"],
                color=COLORS[k],
                linewidth=1.2,
                linestyle="--" if k == "kn" else "-",
            )
        if is_full:  # the build's own short rungs, hollow
            q = result.series["points"][k]
            ax.plot(
                [p[x_key] for p in q],
                [p["loss"] for p in q],
                color=COLORS[k],
                marker="o",
                markersize=4,
                markerfacecolor="none",
                linestyle="none",
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(ScalarFormatter())  # 2, 3, 4 rather than 2×10⁰
    ax.yaxis.set_minor_formatter(ScalarFormatter())
    ax.set_xlabel(xlabel)
    ax.set_ylabel("validation loss (nats per character, log scale)")
    ax.legend(loc="upper right", fontsize=8)
    bits_per_char_axis(ax)
    return fig


@figure(
    "scaling-compute",
    experiment="scaling",
    caption="Validation loss against training compute, both axes logarithmic. Filled points: the "
    "committed full run's rungs, each twice the FLOPs of the one before, with each "
    "family's fitted "
    "law L(C) = a·C^(−α) + L∞ (or the plain power law) as a line. Hollow points: the "
    "short rungs "
    "this build ran. Kneser–Ney (dashed) sits at the rung whose characters it counted.",
    alt="Log-log chart of validation nats per character against training FLOPs: six sets of points "
    "with fitted falling lines, one each for Kneser–Ney, the NPLM, the RNN LM, the "
    "LSTM, the GRU "
    "and the GPT, plus hollow points at the low-compute end.",
)
def scaling_compute(result: Result) -> Figure:
    """Loss against training FLOPs with the fitted laws."""
    return _ladder(
        result, "flops", "training compute (FLOPs, log scale)", with_fits=True
    )


@figure(
    "scaling-seconds",
    experiment="scaling",
    caption="The same networks against the training seconds each rung took on this machine "
    "(one thread, shared with other work, so the seconds are inflated and noisy; the "
    "FLOPs are "
    "not). A family to the left of another at the same loss gets there sooner on this "
    "CPU.",
    alt="Log-log chart of validation nats per character against training seconds, one line of "
    "points each for the NPLM, the RNN LM, the LSTM, the GRU and the GPT.",
)
def scaling_seconds(result: Result) -> Figure:
    """Loss against training seconds, the networks only."""
    return _ladder(result, "seconds", "training seconds (log scale)", with_fits=False)


@figure(
    "scaling-data",
    experiment="scaling",
    caption="Validation loss against the share of the training text each model may read, at a fixed "
    "model size and a fixed number of steps per network. A network that reads fewer "
    "characters "
    "than the text holds cycles over it; the n-gram counts all of it.",
    alt="Chart of validation nats per character against the share of training text on a "
    "logarithmic axis: one line each for Kneser–Ney and the five networks.",
)
def scaling_data(result: Result) -> Figure:
    """Loss against the share of the training text."""
    main, _ = _main(result)
    fig, ax = plt.subplots()
    for k in FAMILIES:
        pts = main["data"][k]
        ax.plot(
            [100 * p["share"] for p in pts],
            [p["loss"] for p in pts],
            color=COLORS[k],
            marker="o",
            markersize=4,
            linestyle="--" if k == "kn" else "-",
            label=NAMES[k],
        )
    ax.set_xscale("log")
    ax.set_xlabel("share of the training text (%, log scale)")
    ax.set_ylabel("validation loss (nats per character)")
    ax.legend(loc="upper right", fontsize=8)
    bits_per_char_axis(ax)
    return fig


@figure(
    "scaling-position",
    experiment="scaling",
    caption="Loss at each position of a context window, averaged over validation windows read "
    "from scratch: the top rung's GPT (no earlier context) and its LSTM (a zero "
    "state). "
    "Position 1 has nothing to go on; the curve's fall is what each model makes of the "
    "characters before.",
    alt="Line chart of loss in nats per character against position in the window, from 1 to the "
    "context length, for the GPT and the LSTM: both fall steeply over the first "
    "positions and "
    "then flatten.",
)
def scaling_position(result: Result) -> Figure:
    """Per-position loss of the top rung's GPT and LSTM."""
    main, _ = _main(result)
    fig, ax = plt.subplots()
    for k in ("gpt", "lstm"):
        curve = main["positions"][k]
        ax.plot(np.arange(1, len(curve) + 1), curve, color=COLORS[k], label=NAMES[k])
    ax.set_xscale("log")
    ax.set_xlabel("position in the window (log scale)")
    ax.set_ylabel("loss at that position (nats per character)")
    ax.legend(loc="upper right", fontsize=8)
    bits_per_char_axis(ax)
    return fig
