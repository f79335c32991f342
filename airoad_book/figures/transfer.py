"""Part III's residual-network figures: target accuracy against the number of labels
for the four ways to transfer, and the training loss of plain and residual conv nets.

The transfer figure draws from the `transfer-learning` experiment's quick `Result`,
which carries the committed full run in ``series["recorded"]``: the full run's curves
are drawn as lines with filled points, the build's own short run as hollow points.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter, ScalarFormatter

from airoad_book.figures.palette import BLUE, COLORS, GREEN, GREY, RED, YELLOW
from airoad_book.figures.registry import figure
from airoad_book.results import Result

STRATEGY_NAMES = {
    "scratch": "from scratch",
    "probe": "linear probe (frozen backbone)",
    "finetune": "fine-tune everything",
    "gradual": "gradual unfreezing",
}
STRATEGY_COLORS = {"scratch": GREY, "probe": BLUE, "finetune": RED, "gradual": GREEN}


@figure(
    "transfer-curve",
    experiment="transfer-learning",
    caption="Accuracy on the held-out digits 5–9 against the number of labelled "
    "target images (log scale), for a ResNet pretrained on digits 0–4 and then "
    "trained four ways with the same steps. Lines with filled points: the committed "
    "full run (a deeper net, more budgets, each point the mean of its draws of "
    "labels); hollow points: the short run this build made. Chance is 20%.",
    alt="Line chart of target accuracy against the number of labelled target "
    "digits on a logarithmic axis, one line each for training from scratch, a "
    "linear probe, fine-tuning everything and gradual unfreezing; every line rises "
    "with more labels.",
)
def transfer_curve(result: Result) -> Figure:
    """Accuracy against target labels for the four strategies."""
    recorded = result.series.get("recorded")
    fig, ax = plt.subplots()
    for k, name in STRATEGY_NAMES.items():
        color = STRATEGY_COLORS[k]
        if recorded:
            s = recorded["series"]
            ax.plot(
                s["labels"],
                s["accuracy"][k],
                color=color,
                marker="o",
                markersize=4,
                label=name,
            )
        ax.plot(
            result.series["labels"],
            result.series["accuracy"][k],
            color=color,
            marker="o",
            markersize=5,
            markerfacecolor="none",
            linestyle="none" if recorded else ":",
            label=None if recorded else name,
        )
    ax.axhline(0.2, color=YELLOW, linewidth=1, linestyle="--", label="chance")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.set_xlabel("labelled target images (5 classes, log scale)")
    ax.set_ylabel("accuracy on the held-out digits 5–9")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right", fontsize=8)
    return fig


@figure(
    "residual-conv-loss",
    experiment="residual-conv",
    caption="Training loss of every step (a moving average over 10 steps) for a "
    "shallow and a deep convolutional net, each plain and residual, trained with "
    "the same SGD steps on the same batches of MNIST digits.",
    alt="Line chart of training loss against step for four nets: the shallow plain "
    "and shallow residual nets and the deep residual net fall quickly, while the "
    "deep plain net stays higher.",
)
def residual_conv_loss(result: Result) -> Figure:
    """Smoothed training-loss curves of the four nets."""
    curves = result.series["curves"]
    fig, ax = plt.subplots()
    width = 10
    for key, loss in curves.items():
        kind, depth = key.split("_")
        smooth = np.convolve(loss, np.ones(width) / width, mode="valid")
        layers = int(result.metrics[f"{key}_layers"])
        ax.plot(
            np.arange(width, len(loss) + 1),
            smooth,
            color=COLORS[kind],
            linestyle="-" if depth == "deep" else "--",
            label=f"{kind}, {layers} layers",
        )
    ax.set_xlabel("SGD step")
    ax.set_ylabel("training loss (nats, 10-step average)")
    ax.legend(loc="upper right", fontsize=8)
    return fig
