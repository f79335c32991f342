"""Chapter 1's figures: XOR's decision regions, the MNIST MLP's confusions and mistakes,
activation and gradient scales per layer, regularization curves, optimizer curves.

Every function draws from an experiment's `Result`; none trains.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from airoad_book.figures.registry import figure
from airoad_book.figures.style import CMAP, CMAP_DIVERGING, COLORS, SEQUENCE
from airoad_book.results import Result

XOR_POINTS = ((0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 0))  # x1, x2, label


@figure(
    "xor-boundary",
    experiment="xor",
    caption="XOR after training: circles are class 1, crosses class 0. Shading is the model's "
    "probability of class 1; the line is where it is 0.5. Left: a linear model, whose "
    "best is "
    "50/50 everywhere. Right: two layers with a tanh hidden layer, which bends the "
    "boundary "
    "around the two classes.",
    alt="Two square panels over the unit square. The left one, a linear model, is uniformly "
    "shaded at probability one half. The right one shows a band of class 1 running "
    "diagonally "
    "between (0,1) and (1,0), with (0,0) and (1,1) outside it.",
)
def xor_boundary(result: Result) -> Figure:
    """Decision regions of the linear and the two-layer model over the XOR square."""
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.8), sharey=True)
    for ax, name in zip(axes, ("linear", "two-layer")):
        s = result.series[name]
        axis = np.array(s["axis"])
        p1 = np.array(s["p1"])  # (G, G)
        image = ax.imshow(
            p1,
            origin="lower",
            extent=(axis[0], axis[-1], axis[0], axis[-1]),
            cmap=CMAP_DIVERGING,
            vmin=0,
            vmax=1,
            alpha=0.8,
        )
        if (
            p1.min() < 0.45 and p1.max() > 0.55
        ):  # a boundary, not rounding noise around 0.5
            ax.contour(
                axis, axis, p1, levels=[0.5], colors=COLORS["train"], linewidths=1.5
            )
        for x1, x2, label in XOR_POINTS:
            ax.scatter(
                [x1],
                [x2],
                s=90,
                marker="o" if label else "X",
                color=SEQUENCE[label],
                edgecolors="white",
                linewidths=1,
                zorder=3,
            )
        acc = result.metrics[f"{name.replace('-', '_')}_acc"]
        ax.set_title(f"{name}: accuracy {acc:.0%}", fontsize=10)
        ax.set_xlabel("$x_1$")
        ax.grid(False)
    axes[0].set_ylabel("$x_2$")
    fig.colorbar(image, ax=list(axes), label="P(class 1)", shrink=0.85)
    return fig


@figure(
    "mnist-confusion",
    experiment="mlp-numpy-mnist",
    caption="The confusion matrix of the NumPy MLP on the 1,000 held-out MNIST digits: row = the "
    "true digit, column = the network's answer. The diagonal is right; everything else "
    "is a "
    "mistake, counted.",
    alt="A 10 by 10 grid of counts, bright along the diagonal; the few off-diagonal counts show "
    "which digits the network confuses, such as 9 read as 7 or 4.",
)
def mnist_confusion(result: Result) -> Figure:
    """The 10 x 10 confusion matrix of the held-out digits, counts on a log colour
    scale."""
    cm = np.array(result.series["confusion"])  # (10, 10)
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    shown = np.log1p(cm)  # a log scale so single mistakes still show beside 100 hits
    ax.imshow(shown, cmap=CMAP)
    for i in range(10):
        for j in range(10):
            if cm[i, j]:
                light = shown[i, j] < 0.6 * shown.max()
                ax.text(
                    j,
                    i,
                    str(cm[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if light else "black",
                )
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.grid(False)
    return fig


@figure(
    "mnist-mistakes",
    experiment="mlp-numpy-mnist",
    caption="Some of the held-out digits the NumPy MLP got wrong, each titled with its true label, "
    "the network's answer and the probability the network gave that answer.",
    alt="A grid of small grey handwritten digits, each titled like '9 → 7 (0.81)': true label, "
    "predicted label, confidence.",
)
def mnist_mistakes(result: Result) -> Figure:
    """A grid of misclassified held-out digits, titled true → predicted
    (probability)."""
    m = result.series["mistakes"]
    n = len(m["images"])
    cols = 8
    rows = max(1, -(-n // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.0, rows * 1.25))
    for k, ax in enumerate(np.atleast_1d(axes).ravel()):
        ax.axis("off")
        if k < n:
            ax.imshow(np.array(m["images"][k]), cmap="gray_r", vmin=0, vmax=1)
            ax.set_title(
                f"{m['true'][k]} → {m['pred'][k]} ({m['p_pred'][k]:.2f})", fontsize=7
            )
    return fig


@figure(
    "mnist-curve",
    experiment="mlp-numpy-mnist",
    caption="The NumPy MLP learning MNIST: mean training loss of each epoch, and the loss on the "
    "1,000 held-out digits after it.",
    alt="Line chart of cross-entropy against epoch: the training loss falls steadily, the held-out "
    "loss falls and then flattens above it.",
)
def mnist_curve(result: Result) -> Figure:
    """Training and held-out loss (nats) per epoch."""
    c = result.series["curve"]
    fig, ax = plt.subplots()
    ax.plot(
        c["epoch"],
        c["train_loss"],
        color=COLORS["train"],
        marker="o",
        markersize=4,
        label="train",
    )
    ax.plot(
        c["epoch"],
        c["test_loss"],
        color=COLORS["test"],
        marker="o",
        markersize=4,
        label="held-out test",
    )
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy (nats)")
    ax.legend()
    return fig


@figure(
    "init-stats",
    experiment="init-stats",
    caption="One batch of MNIST through a deep MLP, before any training. Left: the standard "
    "deviation of each hidden layer's activations. Right: the standard deviation of "
    "each weight "
    "matrix's gradient. Top: tanh; bottom: ReLU. A log scale: each grid line is a "
    "factor of ten.",
    alt="Four log-scale line charts. With the naive initialization the activations fall by about "
    "ten times per layer and the gradients sit near 1e-11; Xavier keeps tanh's lines "
    "flat and He "
    "keeps ReLU's lines flat, while Xavier under ReLU slowly sinks.",
)
def init_stats(result: Result) -> Figure:
    """Activation and weight-gradient standard deviation per layer, per
    initialization."""
    fig, axes = plt.subplots(2, 2, figsize=(8.4, 5.6), sharex="col")
    for r, act in enumerate(("tanh", "relu")):
        for c, (key, label) in enumerate(
            (("act_std", "activation std"), ("grad_std", "gradient std of W"))
        ):
            ax = axes[r, c]
            for color, init in zip(SEQUENCE, ("naive", "xavier", "he")):
                values = result.series[f"{act}/{init}"][key]
                ax.plot(
                    range(1, len(values) + 1),
                    values,
                    color=color,
                    marker="o",
                    markersize=3,
                    label=init,
                )
            ax.set_yscale("log")
            ax.set_ylabel(f"{act}: {label}", fontsize=9)
    axes[1, 0].set_xlabel("hidden layer")
    axes[1, 1].set_xlabel("weight matrix (the last one feeds the output)")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig


@figure(
    "regularization-curves",
    experiment="regularization",
    caption="The same MLP trained on 500 MNIST digits four ways. Dashed: the training "
    "objective, averaged over each epoch's minibatches as it was minimised (for L2 it "
    "includes the penalty, for dropout it is measured with dropout on); solid: the "
    "cross-entropy on 500 other digits, dropout off. Early stopping's run ends where "
    "the "
    "validation loss stopped improving; its weights are those of the best epoch (the "
    "dot).",
    alt="Line chart of loss against epoch for four methods. Training losses fall towards zero; "
    "the unregularized validation loss turns upward after a few epochs, the L2 and "
    "dropout "
    "validation losses stay lower, and the early-stopping run ends early.",
)
def regularization_curves(result: Result) -> Figure:
    """Train (dashed) and validation (solid) loss per epoch for each regularizer."""
    fig, ax = plt.subplots(figsize=(7.0, 4.0))
    for color, method in zip(SEQUENCE, ("none", "L2", "dropout", "early stopping")):
        s = result.series[method]
        epochs = range(1, len(s["train_loss"]) + 1)
        ax.plot(epochs, s["valid_loss"], color=color, label=f"{method}, valid")
        ax.plot(epochs, s["train_loss"], color=color, linestyle="--", linewidth=1.0)
        if method == "early stopping":
            best = s["best_epoch"]
            ax.plot([best], [s["valid_loss"][best - 1]], "o", color=color, markersize=7)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (nats, log scale)")
    ax.legend(fontsize=8)
    return fig


@figure(
    "optimizer-curves",
    experiment="optimizers",
    caption="The same MLP on MNIST from the same start and the same minibatches, trained by four "
    "optimizers: the training loss, averaged over bins of steps.",
    alt="Line chart of training loss against step for SGD, momentum, momentum with a tenth of the "
    "step size, and Adam; momentum and Adam fall fastest.",
)
def optimizer_curves(result: Result) -> Figure:
    """Binned training loss (nats) per step for each optimizer."""
    fig, ax = plt.subplots()
    labels = [k for k in result.series if k != "config"]
    for color, label in zip(SEQUENCE, labels):
        s = result.series[label]
        ax.plot(s["step"], s["loss"], color=color, label=label)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss (nats)")
    ax.set_ylim(bottom=0)
    ax.legend()
    return fig
