"""Chapter 1: SGD, momentum and Adam on one problem, from the same initial weights.

The problem is the NumPy MLP on the 4,000 MNIST training images; each optimizer starts
from identical weights, sees the same minibatches in the same order, and is given the
same number of steps. Momentum: Polyak (1964); Qian (1999), "On the momentum term in
gradient descent learning algorithms", Neural Networks 12: 145-151. Adam: Kingma & Ba
(2015), <https://arxiv.org/abs/1412.6980>.

SGD and momentum use the same step size η: with μ = 0.9 momentum's steps are then up to
ten times longer once the velocity builds up, which is the point of it. A second
momentum run with η/10 gives it SGD's effective step, to separate "longer steps" from
"smoother steps".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from airoad_book.experiments.budget import config_for
from airoad_book.experiments.mlp_numpy_mnist import flat_digits
from airoad_book.results import Result, Table
from airoad_book.scratch.mlp import MLP, evaluate, fit
from airoad_book.scratch.optim import SGD, Adam, Momentum

NAME = "optimizers"
CHAPTER = 1
SUMMARY = "SGD vs momentum vs Adam training the same NumPy MLP on MNIST: loss per step"


@dataclass(frozen=True)
class Config:
    """The shared problem and each optimizer's step size."""

    hidden: int = 128  # ReLU units
    epochs: int = 2  # passes over the training images, the same for every optimizer
    batch_size: int = 64
    train_images: int | None = None  # None: all 4,000
    sgd_lr: float = 0.05  # η of SGD and of the first momentum run
    mu: float = 0.9  # momentum's μ
    adam_lr: float = 1e-3  # Adam's η, its paper's default
    curve_points: int = (
        50  # the per-step loss is averaged into this many bins for the figure
    )


CONFIGS = {"quick": Config(), "full": Config(epochs=10, hidden=256)}


def optimizers(config: Config) -> dict:
    """The contestants, by label, fresh (no state)."""
    return {
        "SGD": SGD(config.sgd_lr),
        "momentum": Momentum(config.sgd_lr, config.mu),
        "momentum, η/10": Momentum(config.sgd_lr / 10, config.mu),
        "Adam": Adam(config.adam_lr),
    }


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train one MLP per optimizer from the same start on the same batches; loss
    curves."""
    x, y, x_test, y_test = flat_digits("mnist", config.train_images)
    series, metrics, rows = {"config": asdict(config)}, {}, []
    for label, opt in optimizers(config).items():
        model = MLP(
            (x.shape[1], config.hidden, 10), init="he", seed=seed
        )  # same seed: same start
        history = fit(
            model,
            opt,
            x,
            y,
            epochs=config.epochs,
            batch_size=config.batch_size,
            seed=seed,
        )
        losses = np.array(history.step_loss)
        size = max(1, len(losses) // config.curve_points)
        binned = losses[: size * (len(losses) // size)].reshape(-1, size).mean(axis=1)
        series[label] = {
            "step": (np.arange(1, len(binned) + 1) * size).tolist(),
            "loss": binned.tolist(),
        }
        train_loss, _ = evaluate(model, x, y)
        _, test_acc = evaluate(model, x_test, y_test)
        key = label.split(",")[0].lower() + ("_slow" if "/10" in label else "")
        metrics[f"{key}_train_loss"], metrics[f"{key}_test_acc"] = train_loss, test_acc
        rows.append(
            [label, len(losses), float(losses[-size:].mean()), train_loss, test_acc]
        )
    table = Table(
        ["optimizer", "steps", "loss, last bin", "train loss after", "test acc"],
        rows,
        ["", "d", ".3f", ".3f", ".1%"],
    )
    return Result(
        metrics=metrics,
        tables={"optimizers": table},
        series=series,
        text={"verdict": verdict(metrics, config)},
    )


def verdict(m: dict, config: Config) -> str:
    """Which optimizer reached the lowest training loss in the same steps."""
    names = {
        "sgd": "SGD",
        "momentum": "momentum",
        "momentum_slow": "momentum with η/10",
        "adam": "Adam",
    }
    best = min(names, key=lambda k: m[f"{k}_train_loss"])
    listing = ", ".join(f"{names[k]} {m[f'{k}_train_loss']:.3f}" for k in names)
    close = (
        abs(m["momentum_slow_train_loss"] - m["sgd_train_loss"])
        < 0.25 * m["sgd_train_loss"]
    )
    return (
        f"After {config.epochs} epochs the training loss is {listing} (nats); "
        f"{names[best]} is lowest. "
        f"Momentum with η/10 takes steps of the same effective size as SGD and ends at "
        f"{m['momentum_slow_train_loss']:.3f} against SGD's {m['sgd_train_loss']:.3f}: "
        + (
            "on this problem most of momentum's gain is the longer step."
            if close
            else "the smoothing itself changes the result here, not only the longer step."
        )
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The quick or full budget of `run_config`."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
