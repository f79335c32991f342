"""A bidirectional encoder against a one-directional one, under the same attention
decoder.

Bahdanau et al. (2015), <https://arxiv.org/abs/1409.0473>, section 3.2, read the source
both ways so that each annotation h_j = [→h_j; ←h_j] summarises the words before *and*
after word j. Chapter 10's `AttentionSeq2Seq` is built that way. This experiment trains
it twice on the numbers task (English number words -> French number words), with the
same sizes, data, batches and steps: once with Bahdanau's bidirectional GRU encoder
(two directions of H/2 units) and once with one forward GRU of H units, whose
annotation at word j has read only x_1 … x_j. Both annotations are H long, so the
decoder and the attention are the same; the one-directional encoder has more
parameters (one H × H recurrence instead of two (H/2) × (H/2) ones).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from airoad_book.data import numbers_task
from airoad_book.device import device, seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.experiments.translation_training import (
    bleu_by_buckets,
    train_translator,
    translate,
)
from airoad_book.metrics import bleu
from airoad_book.models.attention import ENCODERS, AttentionConfig, AttentionSeq2Seq
from airoad_book.results import Result, Table
from airoad_book.train import TrainConfig

NAME = "encoder-direction"
CHAPTER = "8a"
SUMMARY = (
    "Bahdanau's bidirectional encoder against a one-directional one, same attention "
    "decoder, on the numbers task"
)

LABELS = {"bi": "bidirectional (Bahdanau)", "uni": "one-directional"}


@dataclass(frozen=True)
class Config:
    """One budget's settings. Sizes are counts of pairs, words, units or steps."""

    max_digits: int = 12  # numbers of 1 to 12 digits: sources of 1 to ~30 words
    n_train: int = 2000  # training pairs
    n_test: int = 100  # test pairs translated and scored
    edges: tuple[int, ...] = (1, 10, 20, 40)  # source-length buckets, in words
    embed_dim: int = 32  # m
    hidden_dim: int = 64  # annotation size H, both encoders
    align_dim: int = 32  # n' of the alignment model
    maxout_dim: int = 32  # l of the maxout layer
    batch_size: int = 32  # pairs per step
    lr: float = 1e-2  # Adam's learning rate
    max_steps: int = 60  # optimizer steps, both models
    max_seconds: float | None = None  # cap on each model's training wall-clock (s)
    clip_norm: float = 1.0


CONFIGS = {
    # sized by steps and pairs: 60 steps of 32 pairs per model
    "quick": Config(),
    # longer, and longer numbers
    "full": Config(
        max_digits=15,
        n_train=8000,
        n_test=1000,
        batch_size=64,
        max_steps=2000,
        lr=3e-3,
    ),
}


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train the attention model with each encoder; compare BLEU, exact match, and
    BLEU by source length."""
    c = config
    task = numbers_task(
        n_train=c.n_train, n_valid=200, n_test=c.n_test, max_digits=c.max_digits
    )
    cap = min((s for s in (c.max_seconds, seconds) if s is not None), default=None)
    references = [p.target for p in task.test]
    max_target = max(len(p.target) for p in task.train)
    metrics, buckets, curves = {}, {}, {}
    for encoder in ENCODERS:
        seed_everything(seed)  # the same batches, in the same order, for both
        model = AttentionSeq2Seq(
            AttentionConfig(
                len(task.source_vocab),
                len(task.target_vocab),
                embed_dim=c.embed_dim,
                hidden_dim=c.hidden_dim,
                align_dim=c.align_dim,
                maxout_dim=c.maxout_dim,
                encoder=encoder,
            )
        ).to(device())
        history = train_translator(
            model,
            task,
            TrainConfig(
                max_steps=c.max_steps,
                max_seconds=cap,
                lr=c.lr,
                clip_norm=c.clip_norm,
                eval_every=max(1, c.max_steps // 2),
            ),
            batch_size=c.batch_size,
            seed=seed,
            desc=LABELS[encoder],
        )
        outputs = translate(model, task, task.test, max_len=max_target + 10)
        buckets[encoder] = bleu_by_buckets(outputs, task.test, c.edges)
        metrics |= {
            f"bleu_{encoder}": bleu(outputs, references),
            f"exact_{encoder}": sum(tuple(o) == r for o, r in zip(outputs, references))
            / len(references),
            f"params_{encoder}": model.num_parameters,
            f"valid_loss_{encoder}": history.eval_loss[-1],
        }
        curves[encoder] = {"step": history.eval_step, "valid_loss": history.eval_loss}
    metrics |= {"train_steps": c.max_steps, "test_pairs": len(task.test)}
    table = Table(
        columns=[
            "encoder",
            "parameters",
            "valid loss (nats/token)",
            "test BLEU",
            "exact match (%)",
        ],
        rows=[
            [
                LABELS[e],
                metrics[f"params_{e}"],
                metrics[f"valid_loss_{e}"],
                metrics[f"bleu_{e}"],
                100 * metrics[f"exact_{e}"],
            ]
            for e in ENCODERS
        ],
        formats=["", ",d", ".3f", ".1f", ".1f"],
    )
    by_length = Table(
        columns=["source words", "test pairs", "BLEU, bidirectional", "BLEU, forward"],
        rows=[
            [b[0], b[1], b[2], u[2]]
            for b, u in zip(buckets["bi"], buckets["uni"])
            if b[1] > 0
        ],
        formats=["", "d", ".1f", ".1f"],
    )
    return Result(
        metrics=metrics,
        tables={"encoders": table, "by_length": by_length},
        series={"curves": curves, "config": asdict(c)},
        text={"verdict": verdict(metrics, c)},
    )


def verdict(m: dict, config: Config) -> str:
    """Which encoder did better here, from the numbers."""
    gap = m["bleu_bi"] - m["bleu_uni"]
    head = (
        f"After {config.max_steps} steps the bidirectional encoder reaches a test BLEU "
        f"of {m['bleu_bi']:.1f} ({100 * m['exact_bi']:.0f}% exact) and the "
        f"one-directional one {m['bleu_uni']:.1f} ({100 * m['exact_uni']:.0f}% exact), "
        f"with {m['params_uni'] - m['params_bi']:,.0f} more parameters"
    )
    if abs(gap) < 1.0:
        return f"{head}: within a BLEU point, no difference at this size."
    better = "bidirectional" if gap > 0 else "one-directional"
    return f"{head}: the {better} encoder is ahead by {abs(gap):.1f} BLEU."


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full"; `seconds` caps each model's
    training."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
