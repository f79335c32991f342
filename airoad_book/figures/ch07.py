"""Chapter 7's figures: the RNN LM against the NPLM and Kneser–Ney, and its gradients.

Every function draws from an experiment's `Result` (see `airoad_book.experiments`); none
trains. Colours come from `COLORS` and `SEQUENCE`.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from airoad_book.figures.registry import figure
from airoad_book.figures.style import COLORS, SEQUENCE
from airoad_book.results import Result


@figure(
    "rnn-gradient-norms",
    experiment="rnn-gradients",
    caption="How much of the gradient reaches the state k steps back, ‖∂L/∂s(T−k)‖ for the loss of "
    "the last step, in Elman networks whose recurrent matrix W has spectral radius ρ "
    "(geometric "
    "mean over random networks; computed by BPTT by hand in NumPy). The vertical axis "
    "is logarithmic.",
    alt="Line chart on a logarithmic scale of gradient norm against steps back, one line per spectral "
    "radius: lines for radii below about 1 fall steeply towards zero, lines for radii "
    "well above 1 rise.",
)
def gradient_norms(result: Result) -> Figure:
    """‖∂L/∂s(T−k)‖ against k, one line per spectral radius, from an rnn-gradients
    Result."""
    norms = result.series["norms"]
    fig, ax = plt.subplots()
    for color, (rho, values) in zip(SEQUENCE, norms.items()):
        ax.plot(range(len(values)), values, color=color, label=f"ρ = {rho}")
    ax.set_yscale("log")
    ax.set_xlabel("k, steps back from the loss")
    ax.set_ylabel("‖∂L/∂s(T−k)‖")
    ax.set_xlim(left=0)
    ax.legend(loc="lower left", ncol=2)
    return fig


@figure(
    "rnn-learning-curves",
    experiment="rnn-lm",
    caption="The RNN LM and the NPLM on the Penn Treebank, each given the same training wall-clock: "
    "validation loss (on the first tokens of valid, the RNN's state carried through "
    "them) against "
    "the training tokens each has read, beside the Kneser–Ney 5-gram's loss on the "
    "same tokens.",
    alt="Line chart of validation cross-entropy against training tokens for the RNN LM and the NPLM, "
    "both falling from ln 10000 towards the dashed Kneser-Ney line.",
)
def learning_curves(result: Result) -> Figure:
    """Validation (and faint training) loss in nats per word against tokens read, from
    an rnn-lm Result."""
    curves = result.series["curves"]
    fig, ax = plt.subplots()
    for net, label in (("nplm", "NPLM"), ("rnn", "RNN LM")):
        c = curves[net]
        tokens = [s * c["tokens_per_step"] for s in c["eval_step"]]
        ax.plot(
            tokens,
            c["valid_loss"],
            color=COLORS[net],
            marker="o",
            markersize=3,
            label=f"{label}, valid ({c['seconds']:.1f} s of training)",
        )
        ax.plot(
            [s * c["tokens_per_step"] for s in c["step"]],
            c["train_loss"],
            color=COLORS[net],
            alpha=0.35,
            linewidth=1.0,
        )
    ax.axhline(
        result.series["kn_valid_loss"],
        color=COLORS["kn"],
        linestyle="--",
        label="Kneser–Ney 5-gram, valid",
    )
    ax.set_xlabel("training tokens read (faint: training loss, binned)")
    ax.set_ylabel("cross-entropy (nats per word)")
    ax.set_xlim(left=0)
    ax.legend(loc="upper right")
    low, high = ax.get_ylim()
    right = ax.secondary_yaxis("right", functions=(lambda x: x, lambda x: x))
    ticks = [
        t
        for t in (100, 200, 500, 1000, 2000, 5000, 10000)
        if low <= math.log(t) <= high
    ]
    right.set_yticks([math.log(t) for t in ticks], labels=[f"{t:,}" for t in ticks])
    right.set_ylabel("perplexity")
    return fig


@figure(
    "rnn-clipping",
    experiment="rnn-lm",
    caption="The global norm of the RNN LM's gradient at every training step on the Penn Treebank, "
    "before clipping, and the threshold it was clipped to.",
    alt="Scatter of gradient norm against training step on a logarithmic axis, with a horizontal line "
    "at the clipping threshold; the points above the line are the steps that clipping "
    "shortened.",
)
def clipping(result: Result) -> Figure:
    """The RNN LM's gradient norm at every step before clipping, and the threshold, from
    an rnn-lm Result."""
    g = result.series["curves"]["rnn"]["grad_norm"]
    clip = result.series["clip_norm"]
    fig, ax = plt.subplots()
    ax.scatter(
        range(1, len(g) + 1),
        g,
        s=6,
        color=COLORS["rnn"],
        label="gradient norm before clipping",
    )
    if clip is not None:
        ax.axhline(
            clip,
            color=COLORS["valid"],
            linestyle="--",
            label=f"clipping threshold {clip:g}",
        )
    ax.set_yscale("log")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("‖∇L‖ (all parameters)")
    ax.legend(loc="upper right")
    return fig


@figure(
    "rnn-mixture",
    experiment="rnn-lm",
    caption="Validation perplexity of the mixture λ p_net + (1 − λ) p_KN for every λ, with the RNN LM "
    "and with the NPLM as the network. λ = 0 is the Kneser–Ney model alone.",
    alt="Two curves of validation perplexity against the mixing weight lambda, one for the RNN LM and "
    "one for the NPLM mixed with Kneser-Ney, each with a minimum marked.",
)
def mixture(result: Result) -> Figure:
    """Validation perplexity of each network's mixture with KN against λ, from an rnn-lm
    Result."""
    lam = result.series["lambda"]
    m = result.metrics
    fig, ax = plt.subplots()
    top = m["kn_valid_ppl"] * 1.15
    for net, label in (("rnn", "RNN LM + KN"), ("nplm", "NPLM + KN")):
        curve = lam[net]
        best = min(range(len(curve)), key=curve.__getitem__)
        ax.plot(lam["lambda"], curve, color=COLORS[net], label=label)
        ax.scatter(
            [lam["lambda"][best]], [curve[best]], color=COLORS[net], zorder=3, s=40
        )
    low = min(min(lam["rnn"]), min(lam["nplm"]))
    ax.set_ylim(low - 0.1 * (top - low), top)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("λ, the weight of the network")
    ax.set_ylabel("validation perplexity")
    ax.legend(loc="upper left")
    return fig
