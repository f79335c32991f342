"""Chapter 1: three ways to keep an MLP from memorising its training set.

A network with 100,000 weights and 500 training images can learn the images by heart:
the training loss goes to zero while the loss on images it has not seen turns back up.
This experiment trains the same NumPy MLP on the first 500 MNIST training images four
ways and watches a validation set of 500 other training images:

- no regularization;
- an L2 penalty (λ/2) Σ‖W‖² on the weights ("weight decay");
- dropout (Srivastava et al. 2014, <https://jmlr.org/papers/v15/srivastava14a.html>);
- early stopping: no penalty, but keep the weights of the epoch with the lowest validation
  loss and stop when it has not improved for a few epochs.

Each is then measured on the 1,000 held-out test digits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from airoad_book.experiments.budget import config_for
from airoad_book.experiments.mlp_numpy_mnist import flat_digits, make_optimizer
from airoad_book.results import Result, Table
from airoad_book.scratch.mlp import MLP, evaluate, fit

NAME = "regularization"
CHAPTER = 1
SUMMARY = "L2, dropout and early stopping on 1,000 MNIST digits: train/valid curves and test accuracy"
METHODS = ("none", "L2", "dropout", "early stopping")


@dataclass(frozen=True)
class Config:
    """The small training set, the network and each method's one knob."""

    train_images: int = 500  # the first N training images: few, so the net can overfit
    valid_images: int = 500  # the next N training images, for the validation curve
    hidden: int = 128  # ReLU units
    optimizer: str = (
        "momentum"  # plain L2 is weight decay under (momentum) SGD, not under Adam
    )
    lr: float = 0.02
    epochs: int = 30  # passes over the small training set
    batch_size: int = 25
    l2: float = 3e-3  # λ of the L2 penalty
    dropout: float = 0.5  # probability of zeroing a hidden unit
    patience: int = 3  # epochs without a new best validation loss before early stopping


CONFIGS = {
    "quick": Config(),
    "full": Config(
        train_images=2000, valid_images=1000, hidden=256, epochs=60, patience=5
    ),
}


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train once per method from the same initial weights; curves, test accuracy,
    verdict."""
    n, v = config.train_images, config.valid_images
    x_all, y_all, x_test, y_test = flat_digits("mnist", n + v)
    x, y, x_valid, y_valid = x_all[:n], y_all[:n], x_all[n:], y_all[n:]
    settings = {
        "none": {},
        "L2": {"l2": config.l2},
        "dropout": {},
        "early stopping": {"patience": config.patience},
    }
    series, metrics, rows = {"config": asdict(config)}, {}, []
    for method, extra in settings.items():
        model = MLP(
            (x.shape[1], config.hidden, 10),
            init="he",
            seed=seed,
            dropout=config.dropout if method == "dropout" else 0.0,
        )
        history = fit(
            model,
            make_optimizer(config.optimizer, config.lr),
            x,
            y,
            epochs=config.epochs,
            batch_size=config.batch_size,
            seed=seed,
            x_valid=x_valid,
            y_valid=y_valid,
            **extra,
        )
        train_loss, train_acc = evaluate(model, x, y)
        test_loss, test_acc = evaluate(model, x_test, y_test)
        key = method.replace(" ", "_").lower()
        metrics[f"{key}_test_acc"], metrics[f"{key}_test_loss"] = test_acc, test_loss
        metrics[f"{key}_last_valid_loss"] = history.valid_loss[-1]
        metrics[f"{key}_best_valid_loss"] = min(history.valid_loss)
        series[method] = {
            "train_loss": history.train_loss,
            "valid_loss": history.valid_loss,
            "best_epoch": history.best_epoch,
        }
        epochs_run = len(history.train_loss)
        rows.append(
            [
                method,
                epochs_run,
                history.best_epoch,
                train_acc,
                min(history.valid_loss),
                history.valid_loss[-1],
                test_acc,
            ]
        )
    metrics["early_stopping_epochs"] = len(series["early stopping"]["train_loss"])
    table = Table(
        [
            "method",
            "epochs run",
            "best valid epoch",
            "train acc",
            "best valid loss",
            "last valid loss",
            "test acc",
        ],
        rows,
        ["", "d", "d", ".1%", ".3f", ".3f", ".1%"],
    )
    return Result(
        metrics=metrics,
        tables={"test": table},
        series=series,
        text={"verdict": verdict(metrics)},
    )


def verdict(m: dict) -> str:
    """What each method did to the validation loss and the test accuracy, from the
    numbers."""
    base, base_best, base_last = (
        m["none_test_acc"],
        m["none_best_valid_loss"],
        m["none_last_valid_loss"],
    )
    parts = []
    for method in ("L2", "dropout"):
        key = method.lower()
        acc, last = m[f"{key}_test_acc"], m[f"{key}_last_valid_loss"]
        parts.append(
            f"with {method} it ends at {last:.3f} and the test accuracy is {acc:.1%}"
        )
    stop = m["early_stopping_test_acc"]
    return (
        f"Without regularization the validation loss bottoms out at {base_best:.3f} "
        f"and climbs back "
        f"to {base_last:.3f} by the last epoch, while the test accuracy ends at "
        f"{base:.1%}; " + "; ".join(parts) + ". "
        f"Early stopping ended training after {int(m['early_stopping_epochs'])} epochs "
        f"with the best "
        f"epoch's weights, {stop:.1%} on test. "
        + (
            "Here the regularizers mostly hold the loss down, and change the accuracy "
            "by a point or two."
            if max(
                abs(m[f"{k}_test_acc"] - base)
                for k in ("l2", "dropout", "early_stopping")
            )
            <= 0.02
            else "Here they change the test accuracy by more than two points."
        )
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The quick or full budget of `run_config`."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
