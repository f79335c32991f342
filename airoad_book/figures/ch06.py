"""Chapter 6's figures: the NPLM against Kneser–Ney on the Penn Treebank, and its word
vectors.

Every function draws from an experiment's `Result` (see `airoad_book.experiments`); none
trains. Colours come from `COLORS`; text and background colours come from the theme the
build applies, so each figure works in the light and the dark variant.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from airoad_book.figures.registry import figure
from airoad_book.figures.style import COLORS, SEQUENCE
from airoad_book.results import Result

# one colour per word group of the embedding figure, taken from the book's palette
GROUP_COLORS = SEQUENCE[:5]


def _perplexity_axis(ax) -> None:
    """A right-hand axis that reads the same curve in perplexity, e^loss."""
    right = ax.secondary_yaxis("right", functions=(lambda x: x, lambda x: x))
    low, high = ax.get_ylim()
    ticks = [
        t
        for t in (20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
        if low <= math.log(t) <= high
    ]
    right.set_yticks([math.log(t) for t in ticks], labels=[f"{t:,}" for t in ticks])
    right.set_ylabel("perplexity")


@figure(
    "bengio-learning-curves",
    experiment="bengio-vs-ngram",
    caption="The NPLM learning on the Penn Treebank: training loss (averaged over bins of steps) "
    "and validation loss (on the first tokens of valid), against the Kneser–Ney "
    "model's "
    "loss on the same validation tokens.",
    alt="Line chart of cross-entropy against training step: the NPLM's training and validation "
    "losses fall from ln 10000 towards the dashed line of the Kneser-Ney model.",
)
def learning_curves(result: Result) -> Figure:
    """The NPLM's training and validation cross-entropy (nats per word) against step,
    with Kneser–Ney's."""
    c = result.series["curve"]
    order = int(result.metrics["kn_order"])
    fig, ax = plt.subplots()
    ax.plot(
        c["step"], c["train_loss"], color=COLORS["train"], label="NPLM, train (binned)"
    )
    ax.plot(
        c["eval_step"],
        c["valid_loss"],
        color=COLORS["valid"],
        marker="o",
        markersize=4,
        label=f"NPLM, valid (first {c['valid_tokens']:,} tokens)",
    )
    ax.axhline(
        c["kn_valid_loss"],
        color=COLORS["kn"],
        linestyle="--",
        label=f"Kneser–Ney {order}-gram, same valid tokens",
    )
    ax.set_xlabel(f"optimizer step ({c['batch_size']} windows each)")
    ax.set_ylabel("cross-entropy (nats per word)")
    ax.set_xlim(left=0)
    ax.legend(loc="upper right")
    _perplexity_axis(ax)
    return fig


@figure(
    "bengio-mixture",
    experiment="bengio-vs-ngram",
    caption="Validation perplexity of the mixture λ p_NPLM + (1 − λ) p_KN for every λ on the grid. "
    "λ = 0 is the Kneser–Ney model alone, λ = 1 the NPLM alone; the dot marks the λ "
    "the "
    "experiment keeps.",
    alt="A curve of validation perplexity against the mixing weight lambda, from the Kneser-Ney "
    "model at lambda 0 to the NPLM at lambda 1, with its minimum marked.",
)
def mixture(result: Result) -> Figure:
    """Validation perplexity of the NPLM/Kneser–Ney mixture against its weight λ, the
    chosen λ marked."""
    lam = result.series["lambda"]
    m = result.metrics
    kn, nplm, best = m["kn_valid_ppl"], m["nplm_valid_ppl"], m["mix_valid_ppl"]
    # zoom on the dip: the worse model may lie far above it, and then is written, not
    # drawn
    top = min(max(kn, nplm) * 1.05, min(kn, nplm) * 1.25)
    fig, ax = plt.subplots()
    ax.plot(lam["lambda"], lam["valid_ppl"], color=COLORS["mix"], label="mixture")
    for x, y, key, label in (
        (0.0, kn, "kn", f"Kneser–Ney {int(m['kn_order'])}-gram alone"),
        (1.0, nplm, "nplm", "NPLM alone"),
    ):
        if y <= top:
            ax.scatter([x], [y], color=COLORS[key], zorder=3, label=f"{label}: {y:.1f}")
        else:
            ax.annotate(
                f"{label}: {y:.1f} ↑",
                (x, top),
                xytext=(0, -4),
                textcoords="offset points",
                ha="right" if x else "left",
                va="top",
                color=COLORS[key],
                fontsize=9,
            )
    ax.scatter(
        [m["mix_lambda"]],
        [best],
        color=COLORS["mix"],
        zorder=3,
        s=60,
        label=f"chosen: λ = {m['mix_lambda']:.2f}, {best:.1f}",
    )
    ax.set_ylim(best - 0.1 * (top - best), top)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("λ, the weight of the NPLM")
    ax.set_ylabel("validation perplexity")
    ax.legend(loc="lower right" if m["mix_lambda"] < 0.5 else "lower left")
    return fig


def _projection_panel(ax, proj: dict, title: str) -> None:
    ax.scatter(
        proj["x"],
        proj["y"],
        s=6,
        color=COLORS["unigram"],
        alpha=0.5,
        linewidths=0,
        label=f"{len(proj['words'])} most frequent words",
    )
    groups = list(zip(GROUP_COLORS, proj["groups"].items()))
    for color, (group, g) in groups:
        ax.scatter(g["x"], g["y"], s=14, color=color, label=group, zorder=3)
    ax.autoscale_view()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    placed: list[tuple[float, float]] = []  # labels so far, in axes fractions
    for color, (_, g) in groups:
        for word, x, y in zip(g["words"], g["x"], g["y"]):
            fx, fy = (x - x0) / (x1 - x0), (y - y0) / (y1 - y0)
            if any(abs(fx - px) < 0.09 and abs(fy - py) < 0.035 for px, py in placed):
                # a crowded cluster: its point is drawn, its label would be unreadable
                continue
            placed.append((fx, fy))
            ax.annotate(
                word,
                (x, y),
                xytext=(2, 2),
                textcoords="offset points",
                fontsize=7,
                color=color,
            )
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


@figure(
    "bengio-embeddings",
    experiment="bengio-vs-ngram",
    caption="Word vectors after training, projected on their two principal axes (fitted on the "
    "1,000 most frequent words). Left: the input feature vectors C(w) of the paper. "
    "Right: "
    "the output vectors, rows of U. Coloured points belong to five groups a reader "
    "would put "
    "together; in a crowded cluster only some are labelled.",
    alt="Two scatter plots of words in two dimensions, input vectors on the left and output "
    "vectors on the right, with days, months, modal verbs, amounts and pronouns "
    "coloured and labelled.",
)
def embeddings(result: Result) -> Figure:
    """The input vectors C(w) and output vectors (rows of U) on their two principal
    axes, word groups labelled."""
    emb = result.series["embedding"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.6, 4.6))
    _projection_panel(left, emb["C"], "input vectors C(w)")
    _projection_panel(right, emb["U"], "output vectors U_w")
    handles, labels = right.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=6, fontsize=8, markerscale=1.5)
    fig.subplots_adjust(bottom=0.12, wspace=0.05)
    return fig


@figure(
    "names-learning-curve",
    experiment="names-nplm",
    caption="The character-level NPLM on first names: training loss (averaged over bins of steps) "
    "and validation loss, against the best Kneser–Ney model's validation loss.",
    alt="Line chart of nats per character against training step for the names model, with the "
    "Kneser-Ney model as a dashed line.",
)
def names_learning_curve(result: Result) -> Figure:
    """The character NPLM on first names: training and validation loss (nats per
    character) against step."""
    c = result.series["curve"]
    m = result.metrics
    size = max(1, len(c["train_loss"]) // 100)
    steps = c["step"][size - 1 :: size]
    train = [
        sum(c["train_loss"][i : i + size]) / size
        for i in range(0, size * len(steps), size)
    ]
    fig, ax = plt.subplots()
    ax.plot(steps, train, color=COLORS["train"], label="NPLM, train (binned)")
    ax.plot(
        c["eval_step"],
        c["valid_loss"],
        color=COLORS["valid"],
        marker="o",
        markersize=4,
        label="NPLM, valid",
    )
    ax.axhline(
        m["kn_valid_nats"],
        color=COLORS["kn"],
        linestyle="--",
        label=f"Kneser–Ney {int(m['kn_order'])}-gram, valid",
    )
    ax.axhline(
        m["mix_valid_nats"], color=COLORS["mix"], linestyle=":", label="mixture, valid"
    )
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy (nats per character)")
    ax.set_xlim(left=0)
    ax.legend(loc="upper right")
    return fig
