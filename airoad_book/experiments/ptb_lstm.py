"""Chapter 8's Penn Treebank run: a two-layer LSTM language model, Zaremba et al.'s
small setup.

Wojciech Zaremba, Ilya Sutskever and Oriol Vinyals (2014), *Recurrent Neural Network
Regularization*, <https://arxiv.org/abs/1409.2329>. Their non-regularized ("small")
LSTM: 2 layers of 200 units, weights uniform in [-0.1, 0.1], windows of 20 steps over 20
parallel streams with the state carried from window to window, plain SGD at a learning
rate of 1, halved after each epoch from the fifth on, 13 epochs, gradients clipped to a
norm of 5, and no dropout. It reached a test perplexity of 114.5 (their table 1).

The `full` budget is that setup, for the CLI (an hour or more on a 2-core CPU):
`airoad-book run ptb-lstm --budget full`. The `quick` budget is a tiny model on a slice
of the training text, seconds long: it shows the pipeline, not the paper's number.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from airoad_book.data import Vocab, batchify, penn_treebank
from airoad_book.device import device, seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.experiments.recurrent_training import (
    CarriedStateLoss,
    endless_bptt,
    evaluate_streams,
)
from airoad_book.models.lstm import RecurrentLM
from airoad_book.results import Result, Table
from airoad_book.train import TrainConfig, fit

NAME = "ptb-lstm"
CHAPTER = 8
SUMMARY = "a 2-layer LSTM on word-level Penn Treebank; full budget = Zaremba et al. 2014's small config"

PAPER_TEST_PPL = 114.5  # Zaremba et al. (2014), table 1, non-regularized LSTM


@dataclass(frozen=True)
class Config:
    """One budget's settings; the defaults are Zaremba et al.'s small configuration."""

    cell: str = "lstm"  # the recurrent layer: "lstm" (the paper's), or "gru" (ptb-gru)
    hidden: int = 200  # units per layer (and word-vector length)
    layers: int = 2
    bptt: int = 20  # unroll: steps per window
    batch_size: int = 20  # parallel streams
    lr: float = 1.0  # SGD's learning rate for the first epochs
    decay_after: int = 4  # epochs at the full rate; then it is halved after every epoch
    decay: float = 0.5
    epochs: int = 13
    clip_norm: float = 5.0  # on the gradient of the loss summed over the window's steps
    init_range: float = 0.1  # weights uniform in [-init_range, init_range]
    dropout: float = 0.0  # Zaremba's dropout on the non-recurrent connections; 0: none
    train_tokens: int | None = None  # the first N training tokens; None: all 929,589
    eval_tokens: int | None = None  # the first N valid/test tokens; None: all
    max_seconds: float | None = (
        None  # cap on the whole training wall-clock (s); the CLI's --seconds
    )


CONFIGS = {
    "quick": Config(
        hidden=32,
        layers=2,
        epochs=2,
        decay_after=1,
        train_tokens=16_000,
        eval_tokens=6_000,
    ),
    "full": Config(),
}


def learning_rate(epoch: int, config: Config) -> float:
    """SGD's learning rate in epoch `epoch` (counted from 1): lr, then halved each epoch
    after `decay_after`. Zaremba's small config: 1, 1, 1, 1, 0.5, 0.25, ..."""
    return config.lr * config.decay ** max(0, epoch - config.decay_after)


def size_of(config: Config, vocab_size: int) -> int:
    """Parameters of an LSTM shaped by ``config``, with torch's two biases per gate."""
    return RecurrentLM(
        "lstm", vocab_size, config.hidden, config.hidden, layers=config.layers
    ).num_parameters


def _full_size(vocab_size: int) -> int:
    """Parameters of the full (paper-shaped) small model."""
    return size_of(CONFIGS["full"], vocab_size)


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train epoch by epoch with truncated BPTT; report valid and test perplexity."""
    c = config
    train_words = penn_treebank("train")
    vocab = Vocab.build(train_words)  # the 10,000 words of Mikolov's split
    dev = device()  # the CPU here; a GPU where there is one (AIROAD_DEVICE overrides)
    train = batchify(vocab.encode(train_words[: c.train_tokens]), c.batch_size).to(
        dev
    )  # (B, L)
    valid = batchify(
        vocab.encode(penn_treebank("valid")[: c.eval_tokens]), c.batch_size
    ).to(dev)
    test = batchify(
        vocab.encode(penn_treebank("test")[: c.eval_tokens]), c.batch_size
    ).to(dev)

    seed_everything(seed)
    model = RecurrentLM(
        c.cell, len(vocab), c.hidden, c.hidden, layers=c.layers, dropout=c.dropout
    )
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-c.init_range, c.init_range)
    model.to(dev)
    cap = min((s for s in (c.max_seconds, seconds) if s is not None), default=None)
    loss = CarriedStateLoss(
        sum_over_time=True
    )  # Zaremba's scale: summed over the 20 steps
    steps_per_epoch = math.ceil((train.shape[1] - 1) / c.bptt)
    curve = {"epoch": [], "lr": [], "train_ppl": [], "valid_ppl": []}
    spent = 0.0
    for epoch in range(1, c.epochs + 1):
        lr = learning_rate(epoch, c)
        left = None if cap is None else cap - spent
        if left is not None and left <= 0:
            break
        history = fit(  # one pass; SGD without momentum has no state, so a fresh optimizer per epoch is exact
            model,
            endless_bptt(train, c.bptt, loss, epochs=1),
            loss,
            TrainConfig(
                max_steps=steps_per_epoch,
                max_seconds=left,
                lr=lr,
                optimizer="sgd",
                clip_norm=c.clip_norm,
                eval_every=steps_per_epoch,
                restore_best=False,
            ),
            evaluate=lambda m: evaluate_streams(m, valid, c.bptt),
            desc=f"PTB {c.cell.upper()} epoch {epoch}/{c.epochs}",
        )
        spent += history.seconds
        train_nats = sum(history.train_loss) / len(history.train_loss) / c.bptt
        curve["epoch"].append(epoch)
        curve["lr"].append(lr)
        curve["train_ppl"].append(math.exp(train_nats))
        curve["valid_ppl"].append(math.exp(history.eval_loss[-1]))
    model.eval()
    test_ppl = math.exp(evaluate_streams(model, test, c.bptt))
    metrics = {
        "valid_ppl": curve["valid_ppl"][-1],
        "test_ppl": test_ppl,
        "paper_test_ppl": PAPER_TEST_PPL,
        "epochs_done": len(curve["epoch"]),
        "params": model.num_parameters,
        "train_seconds": spent,
        "train_tokens": train.numel(),
        "eval_tokens": valid.numel(),
    }
    metrics = {k: float(v) for k, v in metrics.items()}
    table = Table(
        columns=[
            "run",
            "layers × units",
            "parameters",
            "training tokens",
            "epochs",
            "valid ppl",
            "test ppl",
        ],
        rows=[
            [
                "this run",
                f"{c.layers} × {c.hidden}",
                model.num_parameters,
                train.numel(),
                len(curve["epoch"]),
                curve["valid_ppl"][-1],
                test_ppl,
            ],
            [
                "Zaremba et al. 2014, small, non-regularized",
                "2 × 200",
                _full_size(len(vocab)),
                929_589,
                13,
                120.7,
                PAPER_TEST_PPL,
            ],
        ],
        formats=["", "", ",d", ",d", "d", ".1f", ".1f"],
    )
    return Result(
        metrics=metrics,
        tables={"test": table},
        series={"curve": curve, "config": asdict(c)},
        text={"verdict": verdict(metrics)},
    )


def verdict(m: dict) -> str:
    """One sentence from the numbers: this run's test perplexity beside the paper's."""
    head = (
        f"This run reaches a test perplexity of {m['test_ppl']:.1f} after "
        f"{m['epochs_done']:.0f} "
        f"epoch(s) over {m['train_tokens']:,.0f} training tokens; Zaremba et al. "
        f"report "
        f"{m['paper_test_ppl']} for the full small configuration."
    )
    if m["test_ppl"] <= m["paper_test_ppl"] * 1.05:
        return f"{head} The paper's number reproduces (within 5%)."
    return f"{head} It does not reach the paper's number at this budget."


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full"."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
