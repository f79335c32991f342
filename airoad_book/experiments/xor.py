"""Chapter 1's first experiment: a hidden layer solves XOR, where a linear model cannot.

XOR is the four points (0,0), (0,1), (1,0), (1,1) labelled 0, 1, 1, 0. No straight line
separates the ones from the zeros (Minsky & Papert 1969), so a model with no hidden
layer gets at most three of the four right. Rumelhart, Hinton & Williams (1986) showed a
network with a hidden layer learning it by backpropagation. This experiment trains both,
a linear softmax model (sizes 2 → 2) and a two-layer tanh network (2 → hidden → 2), with
full-batch gradient descent, and records their decision regions on a grid for the
figure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from airoad_book.experiments.budget import config_for
from airoad_book.results import Result, Table
from airoad_book.scratch.mlp import MLP, evaluate, fit
from airoad_book.scratch.optim import SGD

NAME = "xor"
CHAPTER = 1
SUMMARY = "XOR: a two-layer NumPy net solves it, a linear model cannot (Rumelhart et al. 1986)"

X_XOR = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])  # (4, 2)
Y_XOR = np.array([0, 1, 1, 0])  # (4,)


@dataclass(frozen=True)
class Config:
    """Sizes and the plain gradient-descent schedule (full batch: all four points per
    step)."""

    hidden: int = 4  # tanh units of the two-layer net
    lr: float = 0.5  # SGD's step size
    steps: int = 1000  # full-batch steps
    grid: int = 81  # points per side of the decision-region grid over [-0.5, 1.5]²


CONFIGS = {"quick": Config(), "full": Config(steps=5000, grid=161)}


def region(model: MLP, points: int) -> dict:
    """P(class 1) on a points × points grid over [-0.5, 1.5]², for the figure."""
    axis = np.linspace(-0.5, 1.5, points)  # (G,)
    gx, gy = np.meshgrid(axis, axis)  # (G, G) each
    logits = model.forward(np.stack([gx.ravel(), gy.ravel()], axis=1))  # (G², 2)
    p1 = 1.0 / (1.0 + np.exp(logits[:, 0] - logits[:, 1]))  # softmax of two classes
    return {"axis": axis.tolist(), "p1": p1.reshape(points, points).tolist()}


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train the linear and the two-layer model on XOR; return accuracies, curves and
    regions."""
    models = {
        "linear": MLP((2, 2), init="xavier", seed=seed),
        "two-layer": MLP(
            (2, config.hidden, 2), activation="tanh", init="xavier", seed=seed
        ),
    }
    metrics, series, rows = {}, {"config": asdict(config)}, []
    for name, model in models.items():
        history = fit(
            model,
            SGD(config.lr),
            X_XOR,
            Y_XOR,
            epochs=config.steps,
            batch_size=4,
            seed=seed,
        )
        loss, acc = evaluate(model, X_XOR, Y_XOR)
        key = name.replace("-", "_")
        metrics[f"{key}_acc"], metrics[f"{key}_loss"] = acc, loss
        series[name] = {"loss": history.train_loss, **region(model, config.grid)}
        rows.append([name, int(sum(p.size for p in model.params())), loss, acc])
    metrics["steps"] = config.steps
    return Result(
        metrics=metrics,
        tables={
            "xor": Table(
                ["model", "parameters", "final loss (nats)", "accuracy"],
                rows,
                ["", "d", ".3f", ".0%"],
            )
        },
        series=series,
        text={"verdict": verdict(metrics)},
    )


def verdict(m: dict) -> str:
    """Whether the hidden layer made the difference, from the two accuracies."""
    two, lin = m["two_layer_acc"], m["linear_acc"]
    if two == 1.0 and lin < 1.0:
        return (
            f"The two-layer net classifies all four points after {int(m['steps'])} "
            f"steps "
            f"(loss {m['two_layer_loss']:.3f} nats); the linear model gets {lin:.0%} "
            f"and "
            f"its loss stays near ln 2 = 0.693 ({m['linear_loss']:.3f}): no line "
            f"separates XOR."
        )
    return (
        f"The two-layer net reached {two:.0%} accuracy and the linear model {lin:.0%}; "
        "in this run the hidden layer did not solve XOR (try another seed or more "
        "steps)."
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The quick or full budget of `run_config`."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
