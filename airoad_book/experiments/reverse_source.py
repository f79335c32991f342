"""Chapter 9's test of Sutskever's trick: feed the source sentence backwards.

Sutskever, Vinyals and Le (2014, <https://arxiv.org/abs/1409.3215>, section 3.3) found
that reversing the words of the source (but not of the target) took their LSTM's test
perplexity from 5.8 to 4.7 and its BLEU from 25.9 to 30.6 on WMT'14 English→French.
Their explanation: reversed, the first source words sit right next to the first target
words they translate, so the "minimal time lag" between them is short and gradients
connect them easily, although the average distance is unchanged.

Here the same encoder–decoder (the `seq2seq-numbers` config) is trained twice on the
numbers task, with the same seed, steps and batches, once with each source order, and
the two are compared on validation loss (curves), test BLEU and BLEU by source length.
"""

from __future__ import annotations

import math
from dataclasses import asdict

from airoad_book.experiments.budget import config_for
from airoad_book.experiments.seq2seq_numbers import (
    CONFIGS as NUMBERS_CONFIGS,
)
from airoad_book.experiments.seq2seq_numbers import (
    Config,
    numbers_for,
    train_numbers_model,
)
from airoad_book.experiments.translation_training import (
    bleu_by_buckets,
    translate,
    validation_loss,
)
from airoad_book.metrics import bleu
from airoad_book.results import Result, Table

NAME = "reverse-source"
CHAPTER = 9
SUMMARY = "Sutskever's trick: the same encoder-decoder trained on forward and on reversed sources"

CONFIGS: dict[str, Config] = dict(
    NUMBERS_CONFIGS
)  # the very models seq2seq-numbers trains

PAPER = {
    "bleu_forward": 25.9,
    "bleu_reversed": 30.6,
    "ppl_forward": 5.8,
    "ppl_reversed": 4.7,
}


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train with each source order (same seed and budget); compare loss and BLEU."""
    c = config
    task = numbers_for(c)
    refs = [p.target for p in task.test]
    metrics: dict[str, float] = {}
    curves: dict[str, dict] = {}
    lengths: dict[str, list] = {}
    for order, reverse in (("forward", False), ("reversed", True)):
        model, history = train_numbers_model(c, seed, seconds, reverse_source=reverse)
        hyps = translate(model, task, task.test, reverse_source=reverse)
        loss = validation_loss(model, task, reverse_source=reverse)
        metrics |= {
            f"valid_loss_{order}": loss,
            f"valid_ppl_{order}": math.exp(loss),
            f"bleu_{order}": bleu(hyps, refs),
            f"exact_{order}": sum(h == r for h, r in zip(hyps, refs)) / len(refs),
            f"train_seconds_{order}": history.seconds,
            f"train_steps_{order}": history.steps_done,
        }
        curves[order] = {"step": history.eval_step, "loss": history.eval_loss}
        lengths[order] = [
            list(row) for row in bleu_by_buckets(hyps, task.test, c.length_edges)
        ]
    metrics = {k: float(v) for k, v in metrics.items()}
    table = Table(
        columns=[
            "source order",
            "valid loss (nats/token)",
            "valid perplexity (ours)",
            "test BLEU",
            "exactly right",
            "paper: test perplexity (WMT'14)",
            "paper: BLEU",
        ],
        rows=[
            [
                "as written",
                metrics["valid_loss_forward"],
                metrics["valid_ppl_forward"],
                metrics["bleu_forward"],
                metrics["exact_forward"],
                PAPER["ppl_forward"],
                PAPER["bleu_forward"],
            ],
            [
                "reversed",
                metrics["valid_loss_reversed"],
                metrics["valid_ppl_reversed"],
                metrics["bleu_reversed"],
                metrics["exact_reversed"],
                PAPER["ppl_reversed"],
                PAPER["bleu_reversed"],
            ],
        ],
        formats=["", ".3f", ".2f", ".1f", ".1%", ".1f", ".1f"],
    )
    by_len = Table(
        columns=["source tokens", "test pairs", "BLEU, as written", "BLEU, reversed"],
        rows=[
            [f[0], f[1], f[2], r[2]]
            for f, r in zip(lengths["forward"], lengths["reversed"])
        ],
        formats=["", "d", ".1f", ".1f"],
    )
    series = {"curves": curves, "lengths": lengths, "paper": PAPER, "config": asdict(c)}
    return Result(
        metrics=metrics,
        tables={"orders": table, "lengths": by_len},
        series=series,
        text={"verdict": verdict(metrics)},
    )


def verdict(m: dict) -> str:
    """Sentences from the numbers: did reversing the source help, as Sutskever et al.
    found?"""
    lf, lr = m["valid_loss_forward"], m["valid_loss_reversed"]
    bf, br = m["bleu_forward"], m["bleu_reversed"]
    head = (
        f"Reversing the source took the validation loss from {lf:.3f} to {lr:.3f} nats "
        f"per "
        f"token (perplexity {math.exp(lf):.2f} → {math.exp(lr):.2f}) and test BLEU "
        f"from "
        f"{bf:.1f} to {br:.1f}, with the same seed, batches and "
        f"{int(m['train_steps_forward'])} steps."
    )
    better_loss, better_bleu = lr < 0.95 * lf, br > bf + 1.0
    if better_loss and better_bleu:
        tail = (
            "Sutskever et al.'s claim holds here: on WMT'14 they saw perplexity 5.8 → "
            "4.7 and "
            "BLEU 25.9 → 30.6, and the reversed model is ahead on both counts at toy "
            "scale too."
        )
    elif better_loss or better_bleu:
        tail = (
            "The claim holds only in part here: the reversed model is ahead on "
            f"{'the loss' if better_loss else 'BLEU'} but not clearly on "
            f"{'BLEU' if better_loss else 'the loss'}."
        )
    else:
        tail = "The claim does not hold at this budget: reversing the source did not clearly help."
    return f"{head} {tail}"


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full"."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
