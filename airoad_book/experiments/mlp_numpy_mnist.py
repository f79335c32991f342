"""Chapter 1's main experiment: the NumPy MLP on 5,000 real MNIST digits.

A network with one hidden layer of ReLU units, every gradient computed by the
hand-written backward passes of `airoad_book.scratch`, trained with minibatch momentum
SGD on the 4,000 training images of `airoad_book.data.digits("mnist")` and measured on
the 1,000 held out (a fixed split). It reports the test accuracy, the confusion matrix
and the misclassified digits the figures show.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from airoad_book.data import digits
from airoad_book.experiments.budget import config_for
from airoad_book.results import Result, Table
from airoad_book.scratch.mlp import MLP, evaluate, fit
from airoad_book.scratch.optim import OPTIMIZERS

NAME = "mlp-numpy-mnist"
CHAPTER = 1
SUMMARY = "A NumPy MLP with hand-written backprop on 5,000 real MNIST digits: test accuracy, confusions"


@dataclass(frozen=True)
class Config:
    """The network, the optimizer and how long it trains."""

    hidden: tuple[int, ...] = (128,)  # widths of the hidden ReLU layers
    optimizer: str = "momentum"  # "sgd" | "momentum" | "adam"
    lr: float = 0.05  # step size η
    epochs: int = 5  # passes over the 4,000 training images
    batch_size: int = 64  # images per step
    train_images: int | None = (
        None  # use only the first N training images (tests); None: all
    )
    mistakes: int = 16  # misclassified test images kept for the figure


CONFIGS = {"quick": Config(), "full": Config(hidden=(256,), epochs=30)}


# --8<-- [start:data]
def flat_digits(source: str = "mnist", train_images: int | None = None):
    """Train and test arrays as rows of pixels, float64: (N, H·W) in [0, 1], labels (N,)
    int."""
    d = digits(source)
    x_train = (
        d.x_train[:train_images].reshape(-1, d.x_train[0].size).astype(np.float64)
    )  # (N, 784)
    x_test = d.x_test.reshape(len(d.x_test), -1).astype(np.float64)  # (1000, 784)
    return x_train, d.y_train[:train_images], x_test, d.y_test


# --8<-- [end:data]


def make_optimizer(name: str, lr: float):
    """One of the scratch optimizers by name, with β's and μ at their usual defaults."""
    if name not in OPTIMIZERS:
        raise ValueError(
            f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {name!r}"
        )
    return OPTIMIZERS[name](lr=lr)


def confusion(y_true: np.ndarray, y_pred: np.ndarray, classes: int = 10) -> np.ndarray:
    """Counts (classes, classes): row = true digit, column = predicted digit."""
    out = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(out, (y_true, y_pred), 1)
    return out


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train the MLP on MNIST and measure it on the 1,000 held-out digits."""
    x_train, y_train, x_test, y_test = flat_digits("mnist", config.train_images)
    model = MLP(
        (x_train.shape[1], *config.hidden, 10), activation="relu", init="he", seed=seed
    )
    history = fit(
        model,
        make_optimizer(config.optimizer, config.lr),
        x_train,
        y_train,
        epochs=config.epochs,
        batch_size=config.batch_size,
        seed=seed,
        x_valid=x_test,
        y_valid=y_test,
    )
    train_loss, train_acc = evaluate(model, x_train, y_train)
    test_loss, test_acc = evaluate(model, x_test, y_test)
    model.train(False)
    logits = model.forward(x_test)  # (1000, 10)
    pred = logits.argmax(axis=1)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)  # (1000, 10) softmax
    wrong = np.flatnonzero(pred != y_test)[: config.mistakes]
    cm = confusion(y_test, pred)
    metrics = {
        "test_acc": test_acc,
        "test_loss": test_loss,
        "train_acc": train_acc,
        "train_loss": train_loss,
        "epochs": config.epochs,
        "errors": int((pred != y_test).sum()),
        "parameters": int(sum(a.size for a in model.params())),
        "train_images": len(x_train),
    }
    per_class = Table(
        ["digit", "test images", "correct", "accuracy", "most often mistaken for"],
        [
            [
                d,
                int(cm[d].sum()),
                int(cm[d, d]),
                float(cm[d, d] / max(cm[d].sum(), 1)),
                _most_confused(cm, d),
            ]
            for d in range(10)
        ],
        ["", "d", "d", ".1%", ""],
    )
    summary = Table(
        ["set", "images", "loss (nats)", "accuracy"],
        [
            ["train", len(x_train), train_loss, train_acc],
            ["test", len(x_test), test_loss, test_acc],
        ],
        ["", "d", ".3f", ".1%"],
    )
    series = {
        "curve": {
            "epoch": list(range(1, len(history.train_loss) + 1)),
            "train_loss": history.train_loss,
            "test_loss": history.valid_loss,
            "test_acc": history.valid_acc,
        },
        "confusion": cm.tolist(),
        "mistakes": {
            "images": [x_test[i].reshape(28, 28).round(3).tolist() for i in wrong],
            "true": y_test[wrong].tolist(),
            "pred": pred[wrong].tolist(),
            "p_pred": [float(p[i, pred[i]]) for i in wrong],
        },
        "config": asdict(config),
        "timing": {"train_seconds": history.seconds},
    }
    return Result(
        metrics=metrics,
        tables={"summary": summary, "per_class": per_class},
        series=series,
        text={
            "verdict": verdict(metrics),
            "budget": budget_sentence(config, history.seconds),
        },
    )


def _most_confused(cm: np.ndarray, d: int) -> str:
    off = cm[d].copy()
    off[d] = 0
    return "—" if off.max() == 0 else f"{int(off.argmax())} ({int(off.max())}×)"


def verdict(m: dict) -> str:
    """The test accuracy beside the training accuracy, in one sentence."""
    acc = m["test_acc"]
    return (
        f"On the 1,000 held-out digits the network is right {acc:.1%} of the time "
        f"({int(m['errors'])} errors); on its own 4,000 training images it reaches "
        f"{m['train_acc']:.1%}."
    )


def budget_sentence(config: Config, seconds: float) -> str:
    """What the training amounted to, for the page."""
    return (
        f"The network trained for {config.epochs} epochs of {config.batch_size}-image "
        f"minibatches "
        f"({config.optimizer}, η = {config.lr}) in {seconds:.1f} s of NumPy."
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The quick or full budget of `run_config`."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
