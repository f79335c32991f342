"""Chapter 3's figures: gradients layer by layer, and plain against residual stacks by
depth.

Every function draws from an experiment's `Result`; none trains. Colours come from
`COLORS` and `SEQUENCE`, so each figure works in the light and the dark variant.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from airoad_book.figures.registry import figure
from airoad_book.figures.style import COLORS, SEQUENCE
from airoad_book.results import Result

ACT_COLORS = dict(zip(("sigmoid", "tanh", "relu"), SEQUENCE[:3]))
NORM_STYLES = {"none": ":", "batch": "-", "layer": "--"}


@figure(
    "gradient-flow-layers",
    experiment="gradient-flow",
    caption="The gradient of each layer's weights, ‖∂L/∂W_l‖, in the deepest plain nets on the 8×8 "
    "digits, from the first layer (left) to the last (right), on a log scale: at "
    "initialisation "
    "(solid) and after the short SGD run (dashed).",
    alt="Log-scale line chart of weight-gradient norm against layer index for sigmoid, tanh and ReLU "
    "nets: the sigmoid line climbs by many orders of magnitude from the first layer to "
    "the last, "
    "tanh and ReLU stay within about one order of magnitude.",
)
def gradient_flow_layers(result: Result) -> Figure:
    """||dL/dW_l|| against layer l for the deepest net of each activation, at init and
    trained."""
    runs = result.series["runs"]
    cfg = result.series["config"]
    depth = max(cfg["depths"])
    fig, ax = plt.subplots()
    for act in cfg["activations"]:
        r = runs[f"{act}-{depth}"]
        layers = list(range(1, depth + 1))
        color = ACT_COLORS.get(act, SEQUENCE[-1])
        ax.plot(
            layers,
            r["init"]["weight_grad"],
            color=color,
            marker="o",
            markersize=3,
            label=f"{act}, at init",
        )
        ax.plot(
            layers,
            r["trained"]["weight_grad"],
            color=color,
            linestyle="--",
            label=f"{act}, after {r['steps']} steps",
        )
    ax.set_yscale("log")
    ax.set_xlabel(f"layer l (1 = nearest the input, {depth} = nearest the output)")
    ax.set_ylabel("‖∂L/∂W_l‖")
    ax.set_xticks(range(1, depth + 1, max(1, depth // 10)))
    ax.legend(loc="lower right", fontsize=8, ncol=2)
    return fig


@figure(
    "gradient-flow-depth",
    experiment="gradient-flow",
    caption="How much of the last layer's gradient reaches the first, ‖∂L/∂W₁‖ / ‖∂L/∂W_L‖, at "
    "initialisation, against the depth L of the plain net (log scale; 1 means it "
    "arrives intact).",
    alt="Log-scale chart of the first-to-last gradient ratio against depth: the sigmoid line falls "
    "steeply with depth, tanh and ReLU stay near one.",
)
def gradient_flow_depth(result: Result) -> Figure:
    """The first-to-last layer gradient ratio at init against depth, one line per
    activation."""
    runs = result.series["runs"]
    cfg = result.series["config"]
    fig, ax = plt.subplots()
    for act in cfg["activations"]:
        ratios = [
            runs[f"{act}-{d}"]["init"]["weight_grad"][0]
            / runs[f"{act}-{d}"]["init"]["weight_grad"][-1]
            for d in cfg["depths"]
        ]
        ax.plot(
            cfg["depths"],
            ratios,
            color=ACT_COLORS.get(act, SEQUENCE[-1]),
            marker="o",
            label=act,
        )
    ax.axhline(1.0, color=COLORS["plain"], linewidth=1, linestyle=":")
    ax.set_yscale("log")
    ax.set_xlabel("depth (hidden layers)")
    ax.set_ylabel("‖∂L/∂W₁‖ / ‖∂L/∂W_L‖ at init")
    ax.set_xticks(cfg["depths"])
    ax.legend(loc="lower left")
    return fig


@figure(
    "residual-vs-plain-depth",
    experiment="residual-vs-plain",
    caption="Plain (grey) and residual (red) ReLU stacks on the 8×8 digits. Left: the gradient's gain "
    "through the stack at initialisation, ‖∂L/∂h₀‖ / ‖∂L/∂h_L‖ (log scale; 1 means "
    "unchanged). "
    "Right: the training loss after the same budget of SGD steps. Line style: the "
    "normalization.",
    alt="Two line charts against depth. Left, log-scale gradient gain at initialisation for plain and "
    "residual nets with no norm, batch norm and layer norm. Right, the training loss "
    "after training, "
    "which rises with depth for the plain nets more than for the residual ones.",
)
def residual_vs_plain_depth(result: Result) -> Figure:
    """Gradient gain at init (left) and training loss after the budget (right) against
    depth."""
    cells = result.series["cells"]
    cfg = result.series["config"]
    depths = cfg["depths"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.6, 3.8))
    for norm in cfg["norms"]:
        for block in ("plain", "residual"):
            row = [cells[f"{norm}-{block}-{d}"] for d in depths]
            style = dict(
                color=COLORS[block],
                linestyle=NORM_STYLES.get(norm, "-"),
                marker="o",
                markersize=3,
            )
            left.plot(
                depths,
                [c["gain"] for c in row],
                **style,
                label=f"{block}, norm: {norm}",
            )
            losses = [c["final_loss"] for c in row]
            right.plot(
                depths, [v if v < 1e300 else float("nan") for v in losses], **style
            )
    left.set_yscale("log")
    left.axhline(1.0, color=COLORS["plain"], linewidth=1, linestyle=":", alpha=0.5)
    left.set_ylabel("‖∂L/∂h₀‖ / ‖∂L/∂h_L‖ at init")
    right.set_yscale("log")
    right.set_ylabel(f"training loss after {cfg['steps']} steps (nats)")
    for ax in (left, right):
        ax.set_xlabel("depth (blocks)")
        ax.set_xticks(depths)
    handles, labels = left.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8)
    fig.subplots_adjust(bottom=0.3, wspace=0.3)
    return fig
