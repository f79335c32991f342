"""Chapter 9's experiment on real translations: reversing the source, and the rare-word
problem.

Sutskever et al. (2014), <https://arxiv.org/abs/1409.3215>, fed the encoder each source
sentence backwards and saw WMT'14 BLEU rise from 25.9 to 30.6. `reverse-source` tests
that on the numbers task; this experiment trains the same encoder–decoder (one GRU layer
each side) on the English → French messages of `airoad_book.data.messages`, in BPE
pieces, with each source order, for the same number of steps on the same batches, and
scores the detokenized test translations with sacrebleu and its paired-bootstrap 95%
intervals.

It also counts the rare-word problem that Sutskever et al. met with a fixed vocabulary
of 80,000 French words (every other word became UNK): how many test words are unseen in
training, and what BPE makes of them (Sennrich et al. 2016).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from airoad_book.data.messages import SOURCES, messages_task
from airoad_book.device import seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.experiments.real_translation import (
    bleu_intervals,
    encoder_decoder_for,
    headroom,
    rare_words,
    rnn_tc,
    tied,
    train_and_translate,
    train_models,
)
from airoad_book.results import Result, Table

NAME = "messages-reversal"
CHAPTER = 9
SUMMARY = "Sutskever's reversal on real English→French messages (BPE), and the rare-word problem"

PAPER = {"bleu_forward": 25.9, "bleu_reversed": 30.6}


@dataclass(frozen=True)
class Config:
    """One budget; steps are optimizer steps of batch_size pairs, for each source
    order."""

    merges: int = 1000  # BPE merges
    # the packages whose catalogues make the pairs: all four, as in chapter 11
    sources: tuple[str, ...] = tuple(SOURCES)
    steps: int = 12
    batch_size: int = 64
    length_pool: int = 20  # batches per pool sorted by length (0: random batches)
    embed_dim: int = 64
    hidden_dim: int = 128  # the GRU state: the fixed vector the decoder starts from
    lr: float = 3e-3  # Adam, constant
    clip_norm: float = 1.0
    eval_every: int = 6
    max_output: int | None = (
        40  # cap on a translation's pieces (None: longest target + 10)
    )
    bootstrap: int = 200  # resamples of the paired bootstrap (the full run: 1,000)
    select: str = "bleu"  # keep the weights of the best validation "bleu" or "loss"
    workers: int = 1  # processes training the two orders at once


CONFIGS = {
    # two models of 8 steps each (a few seconds on a 2-core CPU): too short to
    # translate
    # (an untrained model never stops, so its translations are cut at 12 pieces)
    "quick": Config(steps=8, eval_every=4, max_output=12),
    # chapter 11's recipe: 2,400 steps each (about 28 passes over the 5,416 training
    # pairs), the weights of the best validation BLEU, the two orders at once
    "full": Config(
        steps=2400, eval_every=200, bootstrap=1000, max_output=None, workers=2
    ),
}


ORDERS = ("forward", "reversed")


def _train_one(order: str, c: Config, seed: int, seconds: float | None) -> dict:
    """Train and score the encoder–decoder on one source order."""
    bpe = messages_task("bpe", merges=c.merges, sources=c.sources)
    seed_everything(seed)
    model = encoder_decoder_for(bpe, c.hidden_dim, c.embed_dim)
    return train_and_translate(
        model,
        bpe,
        rnn_tc(c.lr, c.clip_norm, c.eval_every, seconds, c.steps),
        batch_size=c.batch_size,
        seed=seed,
        desc=f"source {order}",
        reverse_source=order == "reversed",
        max_output=c.max_output,
        length_pool=c.length_pool,
        select=c.select,
    )


def run_config(c: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train the encoder–decoder on each source order; BLEU with intervals; rare-word
    counts."""
    bpe = messages_task("bpe", merges=c.merges, sources=c.sources)
    words = messages_task("word", sources=c.sources)
    references = [t for _, t in bpe.texts["test"]]
    runs = train_models(_train_one, ORDERS, (c, seed, seconds), workers=c.workers)
    intervals = bleu_intervals(
        {k: r["hypotheses"] for k, r in runs.items()}, references, n_samples=c.bootstrap
    )
    metrics: dict[str, float] = {}
    for order, r in runs.items():
        score, lo, hi = intervals[order]
        metrics |= {
            f"bleu_{order}": score,
            f"bleu_{order}_lo": lo,
            f"bleu_{order}_hi": hi,
            f"valid_loss_{order}": r["valid_loss"],
            f"steps_{order}": r["steps"],
            f"params_{order}": r["params"],
        }
    metrics |= rare_words(words, bpe)
    metrics |= {
        "test_pairs": len(references),
        "n_train": len(bpe.task.train),
        "merges": c.merges,
        "tied": float(tied(intervals["forward"], intervals["reversed"])),
        "source_vocab_bpe": len(bpe.task.source_vocab),
        "source_vocab_words": len(words.task.source_vocab),
        "target_vocab_words": len(words.task.target_vocab),
    }
    metrics = {k: float(v) for k, v in metrics.items()}
    orders = Table(
        columns=[
            "source order",
            "valid loss (nats/piece)",
            "test BLEU",
            "95% interval",
            "paper: BLEU",
        ],
        rows=[
            [
                label,
                metrics[f"valid_loss_{o}"],
                intervals[o][0],
                f"{intervals[o][1]:.1f}–{intervals[o][2]:.1f}",
                PAPER[f"bleu_{o}"],
            ]
            for label, o in (("as written", "forward"), ("reversed", "reversed"))
        ],
        formats=["", ".3f", ".1f", "", ".1f"],
    )
    rare = Table(
        columns=["", "whole words", "BPE pieces"],
        rows=[
            [
                "English vocabulary (training)",
                len(words.task.source_vocab),
                len(bpe.task.source_vocab),
            ],
            [
                "French vocabulary (training)",
                len(words.task.target_vocab),
                len(bpe.task.target_vocab),
            ],
            [
                "test English tokens unseen in training",
                f"{metrics['oov_source']:.1%}",
                f"{metrics['bpe_unk_source']:.1%}",
            ],
            [
                "test French tokens unseen in training",
                f"{metrics['oov_target']:.1%}",
                "0.0%" if metrics["bpe_unk_source"] == 0 else "see text",
            ],
            [
                "French words seen once in training",
                int(metrics["target_singletons"]),
                "–",
            ],
        ],
        formats=["", "", ""],
    )
    series = {
        "curves": {k: r["curve"] for k, r in runs.items()},
        "intervals": {k: list(v) for k, v in intervals.items()},
        "config": asdict(c),
    }
    return Result(
        metrics=metrics,
        tables={"orders": orders, "rare": rare},
        series=series,
        text={
            "verdict": verdict(metrics),
            "headroom": headroom(
                {
                    "source as written": metrics["bleu_forward"],
                    "source reversed": metrics["bleu_reversed"],
                }
            ),
        },
    )


def verdict(m: dict) -> str:
    """Did reversing help on real messages, beyond the bootstrap intervals?"""
    f, r = m["bleu_forward"], m["bleu_reversed"]
    head = (
        f"After {int(m['steps_forward'])} steps each, the encoder–decoder scores "
        f"{f:.1f} BLEU "
        f"({m['bleu_forward_lo']:.1f}–{m['bleu_forward_hi']:.1f}) on sources as "
        f"written and "
        f"{r:.1f} ({m['bleu_reversed_lo']:.1f}–{m['bleu_reversed_hi']:.1f}) on "
        f"reversed "
        f"sources, over {int(m['test_pairs'])} test messages."
    )
    if m["tied"]:
        tail = (
            "The intervals overlap: the two orders are tied, and this run does not "
            "reproduce "
            "Sutskever et al.'s gain (25.9 → 30.6)."
        )
    elif r > f:
        tail = "Reversing helps beyond the intervals, as Sutskever et al. found (25.9 → 30.6)."
    else:
        tail = "The order as written wins beyond the intervals: the opposite of Sutskever et al."
    return f"{head} {tail}"


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full"."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
