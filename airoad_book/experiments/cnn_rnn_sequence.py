"""Chapter 4's second experiment: a CNN and a GRU read a row of digits and add them up.

A convolutional net answers one question about one image. Put three digit images side by
side and ask two things: what number is written (one digit per image), and what the
digits sum to (one answer for the whole row). The first is three independent image
problems; the second needs memory — something must carry a running total from image to
image. The model (`airoad_book.models.cnn.DigitReader`) gives each image to the same
convolutional encoder and lets a GRU (chapter 8) read the encodings left to right. The
digit head reads the GRU's state at every position and names the digit just seen; the
sum head reads the same states and names the sum so far, so the state must carry a
running total.

The rows are built from the same fixed split as `cnn-digits`: training rows are drawn at
random from the 4,000 training images at every step (so there are far more distinct rows
than images), and a fixed set of test rows from the 1,000 held-out ones.

The run asks whether the GRU's single state learns to add, by setting its sum against
the arithmetic sum of the digits the model itself read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from airoad_book.data import digits
from airoad_book.device import device, seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.models.cnn import DigitReader, DigitReaderConfig, num_parameters
from airoad_book.results import Result, Table
from airoad_book.train import TrainConfig, fit

NAME = "cnn-rnn-sequence"
CHAPTER = 4
SUMMARY = (
    "a conv encoder and a GRU read rows of 3 MNIST digits: the number, and its sum"
)

EVAL_BATCH = 250  # test rows scored at once


@dataclass(frozen=True)
class Config:
    """One budget's settings."""

    length: int = 3  # digits per row
    channels: tuple[int, int] = (8, 16)  # the encoder's conv filters
    features: int = 32  # encoder output per image
    hidden: int = 128  # GRU state size
    batch_size: int = 32  # rows per step
    lr: float = 1e-2  # Adam's peak learning rate
    max_steps: int = 200  # optimizer steps
    max_seconds: float | None = None  # cap on training wall-clock (s)
    eval_every: int = 50  # steps between points of the test curve
    test_rows: int = 1000  # fixed rows of held-out digits
    train_images: int | None = None  # use only the first N training images; None: all
    examples: int = 6  # test rows the figure shows


CONFIGS = {
    # what the book's build runs: a few seconds of training
    "quick": Config(),
    "full": Config(max_steps=3000, eval_every=250),
}


# --8<-- [start:rows]
def make_rows(
    n_images: int, rows: int, length: int, generator: torch.Generator
) -> torch.Tensor:
    """``rows`` rows of ``length`` image indices drawn uniformly (with replacement) from
    ``n_images``: (rows, length) ints."""
    return torch.randint(n_images, (rows, length), generator=generator)


def row_batches(
    x: torch.Tensor,
    y: torch.Tensor,
    length: int,
    batch_size: int,
    generator: torch.Generator,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless batches of fresh random rows: images (B, T, 28, 28) and digits (B, T)."""
    while True:
        idx = make_rows(len(x), batch_size, length, generator).to(x.device)  # (B, T)
        yield x[idx], y[idx]  # (B, T, 28, 28), (B, T)


def reader_loss(
    model: DigitReader, batch: tuple[torch.Tensor, torch.Tensor]
) -> torch.Tensor:
    """Cross-entropy of every digit plus cross-entropy of every running sum (nats, both
    means)."""
    x, digits_ = batch  # (B, T, 28, 28), (B, T)
    digit_logits, sum_logits = model(x)  # (B, T, 10), (B, T, 9T + 1)
    running = digits_.cumsum(1)  # (B, T): the sum of the digits up to each position
    return F.cross_entropy(
        digit_logits.flatten(0, 1), digits_.flatten()
    ) + F.cross_entropy(sum_logits.flatten(0, 1), running.flatten())
    # --8<-- [end:rows]


# --8<-- [start:score]
@torch.no_grad()
def score(
    model: DigitReader, x: torch.Tensor, digits_: torch.Tensor
) -> dict[str, float]:
    """Accuracies on rows x (N, T, 28, 28) with digits (N, T): per digit, whole number,
    the sum head's sum, and the sum of the digits the model read (read, then add
    exactly)."""
    was_training = model.training
    model.eval()
    outs = [model(x[s : s + EVAL_BATCH]) for s in range(0, len(x), EVAL_BATCH)]
    model.train(was_training)
    read = torch.cat([d.argmax(-1) for d, _ in outs])  # (N, T): the digits it read
    summed = torch.cat(
        [s[:, -1].argmax(-1) for _, s in outs]
    )  # (N,): the last running sum
    right = read == digits_  # (N, T)
    return {
        "digit_acc": right.float().mean().item(),
        "number_acc": right.all(1).float().mean().item(),
        "sum_acc": (summed == digits_.sum(1)).float().mean().item(),
        "read_add_acc": (read.sum(1) == digits_.sum(1)).float().mean().item(),
        "sum_mae": (summed - digits_.sum(1)).abs().float().mean().item(),
    }
    # --8<-- [end:score]


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train the reader on random training rows; score it on fixed rows of held-out
    digits."""
    d = digits("mnist")
    dev = device()
    n = config.train_images
    x, y = (
        torch.from_numpy(d.x_train[:n]).to(dev),
        torch.from_numpy(d.y_train[:n]).to(dev),
    )
    xt, yt = torch.from_numpy(d.x_test).to(dev), torch.from_numpy(d.y_test).to(dev)
    test_idx = make_rows(
        len(xt), config.test_rows, config.length, torch.Generator().manual_seed(1234)
    ).to(dev)  # fixed, whatever the seed
    x_rows, y_rows = xt[test_idx], yt[test_idx]  # (R, T, 28, 28), (R, T)

    gen = seed_everything(seed)
    model = DigitReader(
        DigitReaderConfig(
            length=config.length,
            channels=config.channels,
            features=config.features,
            hidden=config.hidden,
        )
    ).to(dev)
    cap = min((s for s in (config.max_seconds, seconds) if s is not None), default=None)
    curve: dict[str, list] = {"digit_acc": [], "sum_acc": [], "read_add_acc": []}

    def evaluate(m: DigitReader) -> float:  # records the curve; restore_best is off
        s = score(m, x_rows, y_rows)
        for k in curve:
            curve[k].append(s[k])
        return 1.0 - s["sum_acc"]

    history = fit(
        model,
        row_batches(x, y, config.length, config.batch_size, gen),
        reader_loss,
        TrainConfig(
            max_steps=config.max_steps,
            max_seconds=cap,
            lr=config.lr,
            schedule="cosine",
            eval_every=min(config.eval_every, config.max_steps),
            restore_best=False,
        ),
        evaluate=evaluate,
        desc="CNN+GRU reader",
    )
    curve["step"] = history.eval_step
    s = score(model, x_rows, y_rows)
    metrics = {
        **s,
        "independent_number_acc": s["digit_acc"] ** config.length,
        "chance_sum_acc": chance_sum_acc(config.length),
        "params": num_parameters(model),
        "length": config.length,
        "train_steps": history.steps_done,
        "test_rows": config.test_rows,
    }
    table = Table(
        columns=["what is asked", "answered by", "test accuracy"],
        rows=[
            ["each digit", "digit head, at its position", s["digit_acc"]],
            [
                f"the whole {config.length}-digit number",
                "digit head, all positions right",
                s["number_acc"],
            ],
            ["the sum", "sum head, at the GRU's last state", s["sum_acc"]],
            [
                "the sum",
                "adding the digits it read (exact arithmetic)",
                s["read_add_acc"],
            ],
            ["the sum", "guessing the most common sum", metrics["chance_sum_acc"]],
        ],
        formats=["", "", ".1%"],
    )
    series = {
        "curve": curve,
        "examples": examples(model, x_rows, y_rows, config.examples),
        "config": asdict(config),
        "timing": {"train_seconds": history.seconds},
    }
    return Result(
        metrics=metrics,
        tables={"accuracy": table},
        series=series,
        text={"verdict": verdict(metrics)},
    )


def chance_sum_acc(length: int) -> float:
    """Accuracy of always answering the most likely sum of ``length`` uniform digits."""
    counts = torch.ones(10, dtype=torch.float64)
    for _ in range(
        length - 1
    ):  # the distribution of a sum: repeated convolution with uniform
        counts = torch.nn.functional.conv1d(
            F.pad(counts, (9, 9))[None, None], torch.ones(1, 1, 10, dtype=torch.float64)
        )[0, 0]
    return float(counts.max() / counts.sum())


@torch.no_grad()
def examples(
    model: DigitReader, x: torch.Tensor, digits_: torch.Tensor, count: int
) -> dict:
    """The first ``count`` test rows: images (k, T, 28, 28), true digits, read digits,
    sums."""
    was_training = model.training
    model.eval()
    d, s = model(x[:count])
    model.train(was_training)
    return {
        "images": x[:count].cpu().tolist(),
        "digits": digits_[:count].tolist(),
        "read": d.argmax(-1).tolist(),
        "sum": s[:, -1].argmax(-1).tolist(),
    }


def verdict(m: dict) -> str:
    """What the run says about reading and adding, from the numbers."""
    T = int(m["length"])
    first = (
        f"The reader gets {m['digit_acc']:.1%} of single digits right and "
        f"{m['number_acc']:.1%} of whole "
        f"{T}-digit numbers (if its errors were independent, "
        f"{m['independent_number_acc']:.1%})."
    )
    gap = m["sum_acc"] - m["read_add_acc"]
    if m["sum_acc"] <= m["chance_sum_acc"]:
        second = (
            f"The GRU's sum head is right on only {m['sum_acc']:.1%} of rows, no "
            f"better than guessing the "
            f"most common sum ({m['chance_sum_acc']:.1%}): in this run it has not "
            f"learned to add."
        )
    elif gap >= 0:
        second = (
            f"The GRU's sum head is right on {m['sum_acc']:.1%} of rows, at least as "
            f"often as adding "
            f"the digits it read ({m['read_add_acc']:.1%}): one state vector learned "
            f"to keep the total."
        )
    else:
        second = (
            f"The GRU's sum head is right on {m['sum_acc']:.1%} of rows against "
            f"{m['read_add_acc']:.1%} "
            f"for adding the digits it read, {-100 * gap:.1f} percentage points lower "
            f"(guessing would give "
            f"{m['chance_sum_acc']:.1%}): it learned to add, but a learned running "
            f"total is "
            "less exact than arithmetic on its own readings."
        )
    return f"{first} {second}"


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at a named budget ("quick" or "full")."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
