"""Chapter 9's encoder–decoder on the numbers task: beam size, and the fixed-vector
bottleneck.

One `Seq2Seq` (an LSTM encoder, a fixed vector, an LSTM decoder) learns to write English
number words in French (*"five hundred and thirty - two thousand , ..."* → *"cinq cent
trente - deux mille ..."*), with the source reversed as Sutskever et al. (2014) advise.
It is scored on the test set with corpus BLEU:

- by **beam size** (1 = greedy, 2, 4, 8), with the decoding time per sentence, as the
  paper's table of beam sizes;
- by **source length**, in buckets of four tokens: if everything the decoder knows must pass
  through one vector of H numbers, long sources should come out worse than short ones.

`train_numbers_model` is shared with the `reverse-source` experiment; one process that
runs both trains each model once.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace

from airoad_book.data import length_buckets, numbers_task
from airoad_book.data.translation import TranslationTask
from airoad_book.device import seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.experiments.translation_training import (
    bleu_by_buckets,
    train_translator,
    translate,
    validation_loss,
)
from airoad_book.metrics import bleu
from airoad_book.models.seq2seq import Seq2Seq, Seq2SeqConfig
from airoad_book.results import Result, Table
from airoad_book.train import History, TrainConfig

NAME = "seq2seq-numbers"
CHAPTER = 9
SUMMARY = "an encoder-decoder writes English number words in French: BLEU by beam size and by source length"


@dataclass(frozen=True)
class Config:
    """One budget's settings (shared with `reverse-source`)."""

    n_train: int = 2500  # training pairs of the numbers task
    n_valid: int = 200  # validation pairs (the loss curves)
    n_test: int = 200  # test pairs (BLEU)
    max_digits: int = 8  # numbers up to 10^8 - 1: sources of 1 to 19 tokens
    cell: str = "lstm"  # "gru" or "lstm" (Sutskever et al. used the LSTM)
    embed_dim: int = 32  # E, on both sides
    hidden_dim: int = (
        64  # H: the fixed vector c is H numbers per layer (2H for the LSTM: h and c)
    )
    num_layers: int = 1  # stacked layers in the encoder and in the decoder
    batch_size: int = 64  # pairs per step
    lr: float = 1e-2  # Adam's learning rate
    clip_norm: float = 1.0  # global gradient-norm clip
    max_steps: int = 100  # optimizer steps per model
    max_seconds: float | None = (
        None  # cap on each model's training (s); the CLI's --seconds
    )
    eval_every: int = 20  # steps between validation losses
    reverse_source: bool = True  # feed the source backwards (Sutskever et al. 2014)
    beam_sizes: tuple[int, ...] = (1, 2, 4, 8)
    alpha: float = 0.6  # GNMT length penalty exponent for beams > 1
    length_edges: tuple[int, ...] = (
        4,
        8,
        12,
        16,
        20,
    )  # source-length buckets [4, 8), [8, 12), ...


CONFIGS = {
    # sized by steps and pairs: both source orders (reverse-source) and the beams here
    # take a few seconds of one core
    "quick": Config(),
    "full": Config(
        n_train=20000,
        n_valid=500,
        n_test=1000,
        max_digits=12,
        embed_dim=64,
        hidden_dim=256,
        lr=3e-3,
        max_steps=6000,
        eval_every=250,
        length_edges=(4, 8, 12, 16, 20, 24, 30),
    ),
}


def numbers_for(config: Config) -> TranslationTask:
    """The numbers task of `config` (cached by `numbers_task`, so experiments share
    it)."""
    return numbers_task(
        n_train=config.n_train,
        n_valid=config.n_valid,
        n_test=config.n_test,
        max_digits=config.max_digits,
    )


_TRAINED: dict[tuple, tuple[Seq2Seq, History]] = {}


def train_numbers_model(
    config: Config,
    seed: int = 0,
    seconds: float | None = None,
    *,
    reverse_source: bool | None = None,
) -> tuple[Seq2Seq, History]:
    """Train one `Seq2Seq` on the numbers task; (model in eval mode, its training
    History).

    reverse_source overrides the config's. The same arguments in one process return the
    same trained model (experiments that share a model train it once).
    """
    c = (
        config
        if reverse_source is None
        else replace(config, reverse_source=reverse_source)
    )
    cap = min((s for s in (c.max_seconds, seconds) if s is not None), default=None)
    key = (
        c.n_train,
        c.n_valid,
        c.n_test,
        c.max_digits,
        c.cell,
        c.embed_dim,
        c.hidden_dim,
        c.num_layers,
        c.batch_size,
        c.lr,
        c.clip_norm,
        c.max_steps,
        cap,
        c.eval_every,
        c.reverse_source,
        seed,
    )
    if key not in _TRAINED:
        task = numbers_for(c)
        seed_everything(seed)
        model = Seq2Seq(
            Seq2SeqConfig(
                len(task.source_vocab),
                len(task.target_vocab),
                embed_dim=c.embed_dim,
                hidden_dim=c.hidden_dim,
                num_layers=c.num_layers,
                cell=c.cell,
            )
        )
        train = TrainConfig(
            max_steps=c.max_steps,
            max_seconds=cap,
            lr=c.lr,
            clip_norm=c.clip_norm,
            eval_every=c.eval_every,
            restore_best=False,
        )
        history = train_translator(
            model,
            task,
            train,
            batch_size=c.batch_size,
            reverse_source=c.reverse_source,
            seed=seed,
            desc="reversed" if c.reverse_source else "forward",
        )
        _TRAINED[key] = (model.eval(), history)
    return _TRAINED[key]


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train one model, then decode the test set with every beam size and score it."""
    c = config
    task = numbers_for(c)
    model, history = train_numbers_model(c, seed, seconds)
    refs = [p.target for p in task.test]
    beams: list[list] = []
    outputs = {}
    for k in c.beam_sizes:
        seconds_per_pass = []
        for _ in range(
            3
        ):  # the fastest of three passes: one pass is at the mercy of the machine
            start = time.perf_counter()
            hyps = translate(
                model,
                task,
                task.test,
                beam_size=k,
                reverse_source=c.reverse_source,
                **({"alpha": c.alpha} if k > 1 else {}),
            )
            seconds_per_pass.append(time.perf_counter() - start)
        ms = 1000 * min(seconds_per_pass) / len(task.test)
        outputs[k] = hyps
        exact = sum(h == r for h, r in zip(hyps, refs)) / len(refs)
        beams.append([k, bleu(hyps, refs), exact, ms])
    greedy = outputs[c.beam_sizes[0]]
    lengths = bleu_by_buckets(greedy, task.test, c.length_edges)
    scored = [row for row in lengths if row[1] > 0]
    short_n = sum(len(p.source) < c.length_edges[0] for p in task.test)
    train_short = sum(len(p.source) < c.length_edges[0] for p in task.train)

    metrics = {"bleu_greedy" if k == 1 else f"bleu_beam{k}": b for k, b, _, _ in beams}
    metrics |= {
        "exact_greedy" if k == 1 else f"exact_beam{k}": e for k, _, e, _ in beams
    }
    metrics |= {
        "ms_per_sentence_greedy" if k == 1 else f"ms_per_sentence_beam{k}": ms
        for k, _, _, ms in beams
    }
    metrics |= {
        "bleu_short": scored[0][2],
        "bleu_long": scored[-1][2],
        "valid_loss": validation_loss(model, task, reverse_source=c.reverse_source),
        "parameters": model.num_parameters,
        "hidden_dim": c.hidden_dim,
        "train_steps": history.steps_done,
        "train_seconds": history.seconds,
        "test_short_sources": short_n,
        "train_short_sources": train_short,
    }
    metrics = {k: float(v) for k, v in metrics.items()}
    firsts = [
        indices[0]
        for _, indices in length_buckets(task.test, c.length_edges)
        if indices
    ]
    examples = [
        [
            " ".join(task.test[i].source),
            " ".join(task.test[i].target),
            " ".join(greedy[i]),
            "yes" if greedy[i] == task.test[i].target else "no",
        ]
        for i in firsts
    ]
    tables = {
        "beams": Table(
            columns=["beam size", "BLEU", "exactly right", "ms per sentence"],
            rows=[
                [("1 (greedy)" if k == 1 else str(k)), b, e, ms]
                for k, b, e, ms in beams
            ],
            formats=["", ".1f", ".1%", ".2f"],
        ),
        "lengths": Table(
            columns=["source tokens", "test pairs", "BLEU (greedy)"],
            rows=[list(row) for row in lengths],
            formats=["", "d", ".1f"],
        ),
        "examples": Table(
            columns=[
                "source (English)",
                "reference (French)",
                "model (greedy)",
                "right?",
            ],
            rows=examples,
        ),
    }
    series = {
        "lengths": [list(row) for row in lengths],
        "beams": beams,
        "eval_step": history.eval_step,
        "eval_loss": history.eval_loss,
        "examples": examples,
        "task": task.describe(),
        "config": asdict(c),
    }
    return Result(
        metrics=metrics,
        tables=tables,
        series=series,
        text={
            "verdict": verdict(metrics, lengths, c),
            "task": task.describe(),
            "short": short_sources(short_n, train_short, c.length_edges[0]),
        },
    )


def short_sources(test_n: int, train_n: int, shortest: int) -> str:
    """A sentence on the test sources below the first length bucket, and why they are
    left out."""
    if test_n == 0:
        return f"Every test source has at least {shortest} tokens."
    return (
        f"The {test_n} test sources shorter than {shortest} tokens ({train_n} in "
        f"training) are "
        f"left out of the buckets: there are few distinct ones (the numbers below 100, "
        f"and round "
        f"ones like *seven hundred*), too few for a bucket's BLEU to mean much."
    )


def verdict(m: dict, lengths: list[tuple[str, int, float]], config: Config) -> str:
    """Sentences from the numbers: does BLEU fall with source length, does the beam
    help."""
    scored = [row for row in lengths if row[1] > 0 and math.isfinite(row[2])]
    (first, _, b_first), (last, _, b_last) = scored[0], scored[-1]
    peak = max(scored, key=lambda row: row[2])
    best = "" if peak[0] == first else f", {peak[2]:.1f} at best ({peak[0]} tokens),"
    head = (
        f"With greedy decoding BLEU is {b_first:.1f} on sources of {first} "
        f"tokens{best} "
        f"and {b_last:.1f} on the longest, {last} tokens."
    )
    size = config.hidden_dim * config.num_layers * (2 if config.cell == "lstm" else 1)
    if peak[2] - b_last >= 10:
        tail = (
            f"The longest sources lose {peak[2] - b_last:.0f} BLEU points against the "
            f"best bucket, "
            f"as expected if everything about the source has to pass through the "
            f"{size} numbers "
            "of the fixed vector."
        )
    elif peak[2] - b_last >= 3:
        tail = "BLEU falls with length, but only a little at this size."
    else:
        tail = "BLEU does not fall with length here: at this size the bottleneck does not show."
    bleu_at = {
        k: m["bleu_greedy" if k == 1 else f"bleu_beam{k}"] for k in config.beam_sizes
    }
    best_k = max(bleu_at, key=bleu_at.get)
    gain = bleu_at[best_k] - bleu_at[1]
    if best_k == 1 or gain <= 0.05:
        beam = "No beam size beats greedy decoding here."
    else:
        beam = f"The best beam size is {best_k}, {gain:.1f} BLEU above greedy decoding"
        if best_k == 2:
            beam += ": as Sutskever et al. found, a beam of 2 gives most of what beam search can."
        elif 2 in bleu_at and bleu_at[2] - bleu_at[1] >= 0.5 * gain:
            beam += (
                f"; a beam of 2 already gains {bleu_at[2] - bleu_at[1]:.1f} of it, "
                f"most of it, "
                "as Sutskever et al. found."
            )
        else:
            beam += "; a beam of 2 does not give most of that gain, unlike in Sutskever et al."
        larger = [k for k in config.beam_sizes if k > best_k]
        if larger and bleu_at[larger[-1]] < bleu_at[best_k] - 0.05:
            beam += (
                f" Wider beams do worse again (beam {larger[-1]}: "
                f"{bleu_at[larger[-1]]:.1f}): "
                "a wider search is not a better translator, as Koehn and Knowles "
                "(2017) found on "
                "real data."
            )
    return f"{head} {tail} {beam}"


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full"."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
