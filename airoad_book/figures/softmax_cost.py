"""The softmax's cost: milliseconds per output-layer step against |V| (log-log), and
speed against test perplexity on Penn Treebank.

Both draw from the `softmax-cost` experiment's quick `Result`. When a full run is
committed (``series["recorded"]``), they lead with it: its sweep reaches |V| = 100,000
and its models trained longer. Before that, the build's own short run stands alone.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from airoad_book.figures.registry import figure
from airoad_book.figures.style import SEQUENCE
from airoad_book.results import Result

METHODS = ("full", "class", "hs", "nce", "sampled")
NAMES = {
    "full": "full softmax",
    "class": "class-based",
    "hs": "hierarchical (Huffman)",
    "nce": "NCE",
    "sampled": "sampled softmax",
}
MARKERS = {"full": "o", "class": "s", "hs": "^", "nce": "v", "sampled": "D"}


def _main(result: Result) -> tuple[dict, dict, str]:
    """Series, metrics and a label of the run the figure leads with."""
    recorded = result.series.get("recorded")
    if recorded:
        return recorded["series"], recorded["metrics"], "committed full run"
    return result.series, result.metrics, "this build's quick run"


@figure(
    "softmax-cost-vocab",
    experiment="softmax-cost",
    caption=(
        "One training step of the output layer alone (loss, backward, SGD update) for "
        "400 predicted words, against the vocabulary size, both axes logarithmic. A "
        "line of slope 1 is a cost proportional to |V|; a flat line does not grow "
        "with |V|."
    ),
    alt=(
        "Log-log plot of milliseconds per step against vocabulary size for five "
        "output layers: the full softmax rises in proportion to the vocabulary, the "
        "hierarchical, NCE and sampled softmax stay nearly flat, the class-based "
        "softmax lies between"
    ),
)
def softmax_cost_vocab(result: Result) -> Figure:
    """ms per step against |V| for each output layer, with each line's fitted slope."""
    series, _, label = _main(result)
    sweep = series["sweep"]
    fig, ax = plt.subplots()
    for i, m in enumerate(METHODS):
        ax.plot(
            sweep["vocab"],
            sweep["ms"][m],
            marker=MARKERS[m],
            markersize=5,
            color=SEQUENCE[i % len(SEQUENCE)],
            label=f"{NAMES[m]} (slope {sweep['slope'][m]:.2f})",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("vocabulary size |V|")
    ax.set_ylabel("ms per output-layer step")
    ax.set_title(f"The cost of the output layer ({label})", fontsize=10)
    ax.legend(fontsize=8)
    return fig


@figure(
    "softmax-cost-ptb",
    experiment="softmax-cost",
    caption=(
        "The same recurrent language model on Penn Treebank (|V| = 10,000), trained "
        "with each output layer: speed-up of a whole training step over the full "
        "softmax (left) and test perplexity from exact, normalised probabilities "
        "(right; lower is better)."
    ),
    alt=(
        "Two bar charts over the five output layers: the speed-up of a training step "
        "over the full softmax, and the test perplexity on Penn Treebank"
    ),
)
def softmax_cost_ptb(result: Result) -> Figure:
    """Speed-up and test perplexity per output layer, side by side."""
    _, metrics, label = _main(result)
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.2, 3.4))
    names = [NAMES[m].replace(" (Huffman)", "\n(Huffman)") for m in METHODS]
    colors = [SEQUENCE[i % len(SEQUENCE)] for i in range(len(METHODS))]
    speed = [metrics[f"{m}_speedup"] for m in METHODS]
    ppl = [metrics[f"{m}_test_ppl"] for m in METHODS]
    left.barh(names, speed, color=colors)
    left.set_xlabel("speed-up of a training step (×)")
    left.invert_yaxis()
    right.barh(names, ppl, color=colors)
    right.set_xlabel("test perplexity")
    right.invert_yaxis()
    right.set_yticklabels([])
    for ax, values, fmt in ((left, speed, "{:.1f}×"), (right, ppl, "{:.0f}")):
        for y, v in enumerate(values):
            ax.text(v, y, " " + fmt.format(v), va="center", fontsize=8)
        ax.set_xlim(0, max(values) * 1.25)
        ax.grid(axis="y", visible=False)
    fig.suptitle(f"Penn Treebank, one body, five output layers ({label})", fontsize=10)
    return fig
