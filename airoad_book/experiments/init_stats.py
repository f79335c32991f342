"""Chapter 1: how the scale of the initial weights decides whether a deep net can learn
at all.

Glorot & Bengio (2010), "Understanding the difficulty of training deep feedforward
neural networks", AISTATS, <https://proceedings.mlr.press/v9/glorot10a.html>, chose the
variance of each layer's weights so that activations and back-propagated gradients keep
their scale from layer to layer: Var(W) = 2 / (n_in + n_out). He et al. (2015), "Delving
deep into rectifiers", ICCV, <https://arxiv.org/abs/1502.01852>, redid the argument for
ReLU, which zeroes half its inputs: Var(W) = 2 / n_in.

This experiment builds a deep, narrow MLP three times — naive (σ = 0.01), Xavier and He
initialization — for tanh and for ReLU, pushes one batch of MNIST digits through it,
backpropagates the loss once, and records per layer the standard deviation of the
activations and of the weight gradients. Nothing is trained.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from airoad_book.experiments.budget import config_for
from airoad_book.experiments.mlp_numpy_mnist import flat_digits
from airoad_book.results import Result, Table
from airoad_book.scratch.layers import INITS, Dense
from airoad_book.scratch.mlp import MLP

NAME = "init-stats"
CHAPTER = 1
SUMMARY = "Naive vs Xavier vs He initialization: activation and gradient scale per layer of a deep MLP"
ACTS = ("tanh", "relu")


@dataclass(frozen=True)
class Config:
    """The deep net's shape and the batch it sees."""

    depth: int = 10  # hidden layers
    width: int = 256  # units per hidden layer
    batch: int = 500  # MNIST training images in the one batch


CONFIGS = {"quick": Config(), "full": Config(depth=20, batch=2000)}


# --8<-- [start:stats]
def layer_stats(model: MLP, x: np.ndarray, y: np.ndarray) -> dict[str, list[float]]:
    """One forward and one backward pass; per hidden layer, std of activations and of
    dL/dW.

    ``x`` (B, D), ``y`` (B,). Returns lists of length depth (activations after each
    hidden layer's nonlinearity) and depth + 1 (gradients of every weight matrix, input
    to output).
    """
    h, act_std = x, []
    for layer in model.layers:
        h = layer.forward(h)
        if not isinstance(layer, Dense):  # after each nonlinearity
            act_std.append(float(h.std()))
    model.loss_fn.forward(h, y)
    model.backward()
    grad_std = [float(d.grads["W"].std()) for d in model.dense_layers()]
    return {"act_std": act_std, "grad_std": grad_std}
    # --8<-- [end:stats]


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Stats of one batch for every (activation, initialization) pair."""
    x, y, _, _ = flat_digits("mnist", config.batch)
    sizes = (x.shape[1], *([config.width] * config.depth), 10)
    series, metrics, rows = {"config": asdict(config)}, {}, []
    for act in ACTS:
        for init in INITS:
            stats = layer_stats(MLP(sizes, activation=act, init=init, seed=seed), x, y)
            series[f"{act}/{init}"] = stats
            a, g = stats["act_std"], stats["grad_std"]
            key = f"{act}_{init}"
            metrics[f"{key}_last_act_std"] = a[-1]
            metrics[f"{key}_first_grad_std"] = g[0]
            rows.append([act, init, a[0], a[-1], g[0], g[-2]])
    table = Table(
        [
            "activation",
            "init",
            "act std, layer 1",
            f"act std, layer {config.depth}",
            "grad std, W of layer 1",
            f"grad std, W of layer {config.depth}",
        ],
        rows,
        ["", "", ".2e", ".2e", ".2e", ".2e"],
    )
    return Result(
        metrics=metrics,
        tables={"stats": table},
        series=series,
        text={"verdict": verdict(metrics, config.depth)},
    )


def verdict(m: dict, depth: int) -> str:
    """What happened to the signal under each scheme, from the activation and gradient
    scales."""
    naive = max(m["tanh_naive_last_act_std"], m["relu_naive_last_act_std"])
    naive_g = max(m["tanh_naive_first_grad_std"], m["relu_naive_first_grad_std"])
    return (
        f"With the naive σ = 0.01 the activations of layer {depth} have a standard "
        f"deviation of "
        f"at most {naive:.1e}: the signal is gone before the output, and the gradient "
        f"of the first "
        f"layer's weights is at most {naive_g:.1e}, against "
        f"{m['tanh_xavier_first_grad_std']:.1e} "
        f"for tanh with Xavier and {m['relu_he_first_grad_std']:.1e} for ReLU with He. "
        f"Xavier keeps tanh's layer-{depth} activations at "
        f"{m['tanh_xavier_last_act_std']:.2f} and "
        f"He keeps ReLU's at {m['relu_he_last_act_std']:.2f}; Xavier under ReLU lets "
        f"them shrink to "
        f"{m['relu_xavier_last_act_std']:.3f}: ReLU zeroes half of each layer's input, "
        f"the loss "
        "He's factor of 2 makes up for."
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The quick or full budget of `run_config`."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
