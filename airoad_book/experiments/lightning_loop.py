"""Appendix E's experiment: one model, two loops — the book's `fit` and Lightning's.

Chapter 8's character LSTM (`RecurrentLM("lstm", ...)`) on the book's Shakespeare
split is trained twice from the same seed: by `airoad_book.train.fit`, and by a
Lightning ``Trainer`` running `airoad_book.lightning_loop.LitCharLM`. Both read the same
truncated-BPTT windows in the same order with a carried state, use the book's Adam and
schedule, and clip the global gradient norm at the same value. The experiment measures
how far apart the two loss curves and the two sets of final weights end up, and checks
what Lightning adds: torchmetrics' perplexity against the book's own, the CSV log, and
the checkpoint of the best weights, loaded back with ``weights_only=True``.
"""

from __future__ import annotations

import csv
import math
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from airoad_book.data import Vocab, batchify, char_tokens, shakespeare
from airoad_book.device import seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.experiments.recurrent_training import (
    CarriedStateLoss,
    endless_bptt,
    evaluate_streams,
)
from airoad_book.metrics import perplexity
from airoad_book.models.lstm import RecurrentLM
from airoad_book.results import Result, Table
from airoad_book.train import TrainConfig, fit

NAME = "lightning-loop"
CHAPTER = "E"
SUMMARY = "chapter 8's char LSTM trained by the book's fit and by a Lightning Trainer: the curves agree"


TOLERANCE = 1e-5  # nats: the most the two loss curves may differ at any step


@dataclass(frozen=True)
class Config:
    """The model, the data and the loop both trainers run."""

    train_chars: int = 60_000  # the first N characters of the training split
    valid_chars: int = 8_000  # the first N characters of the validation split
    embed_dim: int = 32  # E
    hidden: int = 64  # H, the LSTM's hidden units
    batch_size: int = 16  # parallel streams B
    bptt: int = 32  # T: steps per window
    lr: float = 5e-3  # Adam's learning rate (chapter 8's)
    clip_norm: float = 1.0  # global gradient-norm clip (chapter 8's)
    max_steps: int = 90  # optimizer steps, the same for both loops
    eval_every: int = 30  # steps between validations


CONFIGS = {
    "quick": Config(),
    "full": Config(train_chars=600_000, hidden=128, max_steps=1500, eval_every=250),
}


def train_config(c: Config) -> TrainConfig:
    """The one TrainConfig both loops follow (the final weights are kept, not the best:
    Lightning's loop does not restore the best ones either)."""
    return TrainConfig(
        max_steps=c.max_steps,
        lr=c.lr,
        clip_norm=c.clip_norm,
        eval_every=c.eval_every,
        restore_best=False,
    )


def read_csv_losses(path: Path) -> list[float]:
    """The ``train_loss`` column of Lightning's metrics.csv, in step order."""
    with path.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("train_loss")]
    return [float(r["train_loss"]) for r in sorted(rows, key=lambda r: int(r["step"]))]


def run_config(config: Config, seed: int = 0) -> Result:
    """Train the LSTM with both loops and compare everything they produce."""
    from airoad_book.lightning_loop import LitCharLM, make_trainer, quiet, window_loader

    c, tc = config, train_config(config)
    train_text = shakespeare("train")[: c.train_chars]
    vocab = Vocab.build(char_tokens(train_text))
    train = batchify(vocab.encode(char_tokens(train_text)), c.batch_size)  # (B, L)
    valid_text = shakespeare("valid")[: c.valid_chars]
    valid = batchify(vocab.encode(char_tokens(valid_text)), c.batch_size)  # (B, L')
    windows = (train.shape[1] - 1 + c.bptt - 1) // c.bptt
    if c.max_steps > windows:
        raise ValueError(
            f"max_steps={c.max_steps} is more than one pass ({windows} windows): "
            "raise train_chars"
        )

    def build() -> RecurrentLM:
        seed_everything(seed)
        return RecurrentLM("lstm", len(vocab), c.embed_dim, c.hidden)

    book_model, lit_model = build(), build()
    same_init = all(
        torch.equal(a, b)
        for a, b in zip(
            book_model.state_dict().values(), lit_model.state_dict().values()
        )
    )

    # --8<-- [start:book]
    loss = CarriedStateLoss()
    started = time.perf_counter()
    history = fit(
        book_model,
        endless_bptt(train, c.bptt, loss),
        loss,
        tc,
        evaluate=lambda m: evaluate_streams(m, valid, c.bptt),
        desc="book's fit",
    )
    book_seconds = time.perf_counter() - started
    # --8<-- [end:book]

    with tempfile.TemporaryDirectory(prefix="lightning-") as root:
        # --8<-- [start:lightning]
        lit = LitCharLM(lit_model, tc)
        started = time.perf_counter()
        with quiet():
            trainer = make_trainer(tc, root)
            trainer.fit(lit, window_loader(train, c.bptt), window_loader(valid, c.bptt))
        lit_seconds = time.perf_counter() - started
        # --8<-- [end:lightning]
        csv_losses = read_csv_losses(Path(trainer.logger.log_dir) / "metrics.csv")
        best_path = Path(trainer.checkpoint_callback.best_model_path)
        saved = torch.load(best_path, map_location="cpu", weights_only=True)
        restored = RecurrentLM("lstm", len(vocab), c.embed_dim, c.hidden)
        restored.load_state_dict(
            {k.removeprefix("model."): v for k, v in saved["state_dict"].items()}
        )
        best_ckpt_nats = evaluate_streams(restored, valid, c.bptt)

    diffs = [abs(a - b) for a, b in zip(history.train_loss, lit.losses)]
    weight_diff = max(
        (a - b).abs().max().item()
        for a, b in zip(
            book_model.state_dict().values(), lit_model.state_dict().values()
        )
    )
    book_nats = evaluate_streams(book_model, valid, c.bptt)
    lit_nats = evaluate_streams(lit_model, valid, c.bptt)
    ppl_book = perplexity(lit_nats)  # the book's metric, on the Lightning-trained model
    ppl_tm = math.exp(lit.val_losses[-1])  # torchmetrics', at the last validation
    metrics = {
        "max_loss_diff": max(diffs),
        "steps_book": float(history.steps_done),
        "steps_lightning": float(len(lit.losses)),
        "same_init": float(same_init),
        "max_weight_diff": weight_diff,
        "valid_nats_book": book_nats,
        "valid_nats_lightning": lit_nats,
        "first_loss": history.train_loss[0],
        "last_loss": history.train_loss[-1],
        "ppl_book": ppl_book,
        "ppl_torchmetrics": ppl_tm,
        "ppl_rel_diff": abs(ppl_tm - ppl_book) / ppl_book,
        "csv_rows": float(len(csv_losses)),
        "csv_max_diff": max(abs(a - b) for a, b in zip(csv_losses, lit.losses)),
        "best_ckpt_nats": best_ckpt_nats,
        "best_val_nats": min(lit.val_losses),
        "book_seconds": book_seconds,
        "lightning_seconds": lit_seconds,
        "validations_book": float(len(history.eval_loss)),
        "validations_lightning": float(len(lit.val_losses)),
    }
    every = max(1, c.max_steps // 6)
    rows = [
        [s + 1, history.train_loss[s], lit.losses[s], diffs[s]]
        for s in range(0, len(diffs), every)
    ]
    rows.append([len(diffs), history.train_loss[-1], lit.losses[-1], diffs[-1]])
    table = Table(
        columns=["step", "fit loss (nats)", "Lightning loss (nats)", "difference"],
        rows=rows,
        formats=["d", ".6f", ".6f", ".1e"],
    )
    return Result(
        metrics=metrics,
        tables={"curves": table},
        series={
            "book_loss": history.train_loss,
            "lightning_loss": lit.losses,
            "book_valid": history.eval_loss,
            "lightning_valid": lit.val_losses,
            "config": asdict(c),
        },
        text={"verdict": verdict(metrics)},
    )


def verdict(m: dict) -> str:
    """One sentence from the numbers: do the two loops agree?"""
    steps = int(m["steps_book"])
    same_steps = m["steps_book"] == m["steps_lightning"]
    if m["max_loss_diff"] == 0.0 and m["max_weight_diff"] == 0.0 and same_steps:
        return (
            f"Over {steps} steps the two loss curves are equal bit for bit, and so are "
            "the final weights: the two loops make exactly the same updates."
        )
    if m["max_loss_diff"] <= TOLERANCE and same_steps:
        return (
            f"Over {steps} steps the two loss curves differ by at most "
            f"{m['max_loss_diff']:.1e} nats, and the final weights by "
            f"{m['max_weight_diff']:.1e}: the same updates, up to float32 rounding."
        )
    return (
        f"The two loops do not agree: after {steps} steps of fit and "
        f"{int(m['steps_lightning'])} of Lightning the losses differ by up to "
        f"{m['max_loss_diff']:.3g} nats."
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full" (``seconds`` is unused: both loops
    run the same number of steps)."""
    return run_config(config_for(CONFIGS, budget), seed=seed)
