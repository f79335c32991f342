"""Chapter 10's experiment on real translations: BLEU against source length (Bahdanau's
Figure 2).

Bahdanau et al. (2015), <https://arxiv.org/abs/1409.0473>, Figure 2: the BLEU of an
encoder–decoder falls as sentences grow longer, and the attention model's holds up.
`seq2seq-length` tests it on the numbers task; this experiment trains chapter 9's
encoder–decoder and chapter 10's attention RNN on the English → French messages of
`airoad_book.data.messages`, in BPE pieces, for the same steps on the same batches, and
scores the detokenized test translations with sacrebleu, overall (with paired-bootstrap
95% intervals) and per bucket of English source length in words.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from airoad_book.data.messages import SOURCES, messages_task
from airoad_book.device import seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.experiments.real_translation import (
    attention_for,
    bleu_by_length,
    bleu_intervals,
    encoder_decoder_for,
    headroom,
    rnn_tc,
    tied,
    train_and_translate,
    train_models,
)
from airoad_book.results import Result, Table

NAME = "messages-length"
CHAPTER = 10
SUMMARY = "Encoder-decoder vs attention on real English→French messages: BLEU by source length"

MODELS = ("seq2seq", "attention")
LABELS = {
    "seq2seq": "encoder–decoder (chapter 9)",
    "attention": "attention RNN (chapter 10)",
}


@dataclass(frozen=True)
class Config:
    """One budget; steps are optimizer steps of batch_size pairs, for each model."""

    merges: int = 1000
    # the packages whose catalogues make the pairs: all four, as in chapter 11
    sources: tuple[str, ...] = tuple(SOURCES)
    steps: int = 12
    batch_size: int = 64
    length_pool: int = 20  # batches per pool sorted by length (0: random batches)
    embed_dim: int = 64
    hidden_dim: int = (
        128  # both models' recurrent state (the attention RNN: both directions)
    )
    lr: float = 3e-3
    clip_norm: float = 1.0
    eval_every: int = 6
    max_output: int | None = (
        40  # cap on a translation's pieces (None: longest target + 10)
    )
    bootstrap: int = 200  # resamples of the paired bootstrap (the full run: 1,000)
    select: str = "bleu"  # keep the weights of the best validation "bleu" or "loss"
    workers: int = 1  # processes training the two models at once


CONFIGS = {
    # two models of 8 steps each: too short to translate
    # (an untrained model never stops, so its translations are cut at 12 pieces)
    "quick": Config(steps=8, eval_every=4, max_output=12),
    # chapter 11's recipe: 2,400 steps each (about 28 passes over the 5,416 training
    # pairs), the weights of the best validation BLEU, the two models at once
    "full": Config(
        steps=2400, eval_every=200, bootstrap=1000, max_output=None, workers=2
    ),
}


def _train_one(key: str, c: Config, seed: int, seconds: float | None) -> dict:
    """Train and score one of the `MODELS`."""
    bpe = messages_task("bpe", merges=c.merges, sources=c.sources)
    build = attention_for if key == "attention" else encoder_decoder_for
    seed_everything(seed)
    return train_and_translate(
        build(bpe, c.hidden_dim, c.embed_dim),
        bpe,
        rnn_tc(c.lr, c.clip_norm, c.eval_every, seconds, c.steps),
        batch_size=c.batch_size,
        seed=seed,
        desc=LABELS[key],
        max_output=c.max_output,
        length_pool=c.length_pool,
        select=c.select,
    )


def run_config(c: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train both models for the same steps; BLEU overall with intervals, and by
    length."""
    bpe = messages_task("bpe", merges=c.merges, sources=c.sources)
    references = [t for _, t in bpe.texts["test"]]
    runs = train_models(_train_one, MODELS, (c, seed, seconds), workers=c.workers)
    intervals = bleu_intervals(
        {k: r["hypotheses"] for k, r in runs.items()}, references, n_samples=c.bootstrap
    )
    lengths = {k: bleu_by_length(r["hypotheses"], bpe) for k, r in runs.items()}
    metrics: dict[str, float] = {}
    for key, r in runs.items():
        score, lo, hi = intervals[key]
        longest = [row for row in lengths[key] if row[1] > 0][-1]
        metrics |= {
            f"bleu_{key}": score,
            f"bleu_{key}_lo": lo,
            f"bleu_{key}_hi": hi,
            f"bleu_long_{key}": longest[2],
            f"valid_loss_{key}": r["valid_loss"],
            f"steps_{key}": r["steps"],
            f"params_{key}": r["params"],
        }
    metrics |= {
        "test_pairs": len(references),
        "n_train": len(bpe.task.train),
        "tied": float(tied(intervals["seq2seq"], intervals["attention"])),
    }
    metrics = {k: float(v) for k, v in metrics.items()}
    models = Table(
        columns=[
            "model",
            "parameters",
            "valid loss (nats/piece)",
            "test BLEU",
            "95% interval",
        ],
        rows=[
            [
                LABELS[k],
                runs[k]["params"],
                runs[k]["valid_loss"],
                intervals[k][0],
                f"{intervals[k][1]:.1f}–{intervals[k][2]:.1f}",
            ]
            for k in MODELS
        ],
        formats=["", ",d", ".3f", ".1f", ""],
    )
    buckets = Table(
        columns=[
            "source words",
            "test pairs",
            "BLEU, encoder–decoder",
            "BLEU, attention",
        ],
        rows=[
            [s[0], s[1], s[2], a[2]]
            for s, a in zip(lengths["seq2seq"], lengths["attention"])
        ],
        formats=["", "d", ".1f", ".1f"],
    )
    series = {
        "buckets": {
            "labels": [row[0] for row in lengths["seq2seq"]],
            "counts": [row[1] for row in lengths["seq2seq"]],
            **{k: [row[2] for row in v] for k, v in lengths.items()},
        },
        "curves": {k: r["curve"] for k, r in runs.items()},
        "intervals": {k: list(v) for k, v in intervals.items()},
        "config": asdict(c),
    }
    return Result(
        metrics=metrics,
        tables={"models": models, "buckets": buckets},
        series=series,
        text={
            "verdict": verdict(metrics, lengths),
            "headroom": headroom({LABELS[k]: metrics[f"bleu_{k}"] for k in MODELS}),
        },
    )


def verdict(m: dict, lengths: dict) -> str:
    """Does attention hold up on long messages where the encoder–decoder falls?"""
    s, a = m["bleu_seq2seq"], m["bleu_attention"]
    head = (
        f"After {int(m['steps_seq2seq'])} steps each, the encoder–decoder scores "
        f"{s:.1f} BLEU "
        f"({m['bleu_seq2seq_lo']:.1f}–{m['bleu_seq2seq_hi']:.1f}) and the attention "
        f"RNN "
        f"{a:.1f} ({m['bleu_attention_lo']:.1f}–{m['bleu_attention_hi']:.1f})."
    )
    overall = (
        "The intervals overlap: overall the two are tied."
        if m["tied"]
        else "The intervals do not overlap."
    )
    return f"{head} {overall} {length_trend(lengths)}"


HOLDS_UP = 0.5  # share of its best bucket's BLEU a model keeps on the longest messages


def length_trend(lengths: dict) -> str:
    """What the buckets say about Bahdanau et al.'s Figure 2: does the encoder–decoder
    fall on the longest messages while attention holds up (keeps at least HOLDS_UP of
    its best bucket's BLEU)?"""
    rows = {k: [row for row in v if row[1] > 0] for k, v in lengths.items()}
    label = rows["seq2seq"][-1][0]
    ls, la = rows["seq2seq"][-1][2], rows["attention"][-1][2]
    best_s = max(row[2] for row in rows["seq2seq"])
    best_a = max(row[2] for row in rows["attention"])
    said = (
        f"On the longest messages ({label} words) attention scores {la:.1f} against "
        f"{ls:.1f}, where its best bucket scores {best_a:.1f} and the "
        f"encoder–decoder's {best_s:.1f}: "
    )
    if best_a <= 0 or la <= ls + 1:
        return said + "no clear gap on long messages at this budget."
    if la >= HOLDS_UP * best_a and ls < HOLDS_UP * best_s:
        return said + "the shape of Bahdanau et al.'s Figure 2, here too."
    return said + (
        "attention stays ahead, but both fall on long messages, so this run shows the "
        "gap of Bahdanau et al.'s Figure 2 without attention's level curve."
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full"."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
