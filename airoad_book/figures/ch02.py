"""Chapter 2's figure: the NumPy and the torch MLP's loss curves, and their difference.

Draws from the `autograd-bridge` experiment's `Result`; trains nothing.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from airoad_book.figures.registry import figure
from airoad_book.figures.style import COLORS
from airoad_book.results import Result


@figure(
    "bridge-curves",
    experiment="autograd-bridge",
    caption="Top: the training loss of each step, for the NumPy MLP with hand-written backward "
    "passes and for the torch MLP with autograd, from the same weights on the same "
    "batches in "
    "float64. Bottom: the absolute difference between the two, on a log scale (steps "
    "where it "
    "is exactly zero are not drawn).",
    alt="Two stacked charts. The top shows two loss curves that lie exactly on top of each "
    "other. The bottom shows their difference as scattered points near 1e-16, the "
    "rounding "
    "error of float64.",
)
def bridge_curves(result: Result) -> Figure:
    """The two loss curves per step, and their absolute difference on a log scale."""
    c = result.series["curve"]
    steps = np.arange(1, len(c["numpy"]) + 1)
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(6.4, 4.8), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
    )
    top.plot(
        steps, c["numpy"], color=COLORS["numpy"], linewidth=3.0, label="NumPy, by hand"
    )
    top.plot(
        steps,
        c["torch"],
        color=COLORS["torch"],
        linewidth=1.2,
        linestyle="--",
        label="torch, autograd",
    )
    top.set_ylabel("loss (nats)")
    top.legend()
    diff = np.array(c["diff"])
    nonzero = diff > 0
    bottom.scatter(steps[nonzero], diff[nonzero], s=6, color=COLORS["mlp"])
    bottom.set_yscale("log")
    bottom.set_ylim(1e-18, max(1e-12, 10 * float(diff.max())))
    bottom.set_ylabel("|difference|")
    bottom.set_xlabel("optimizer step")
    return fig
