"""Chapters 9–11 on real translations: English → French interface messages.

The numbers task of chapters 9–11 is saturated: every model ends near 100 BLEU. The
messages of `airoad_book.data.messages` are human translations of real user-interface
text, with rare words and free word order, and leave room between models. This module
holds what the three experiments on them share, and chapter 11's experiment, which
trains on the catalogues of all four packages (Plone, Django, Wagtail, Sphinx):

1. chapter 10's attention RNN (`AttentionSeq2Seq`) and the Transformer train on BPE
   pieces (Sennrich et al. 2016) for the same number of optimizer steps on the same
   batches (so the same passes over the data), sized to about the same number of
   parameters; pairs of similar length share a batch (`length_pool`), and each model
   keeps the weights of its best validation BLEU (`select`; chapters 9 and 10's runs
   keep those of the lowest validation loss);
2. the Transformer also trains on whole words, the same steps: the rare-word problem;
3. each translates the test messages greedily; the pieces are joined back into text
   and sacrebleu scores it (corpus BLEU, detokenized, its default 13a tokenization), with
   95% intervals from sacrebleu's paired bootstrap (1,000 resamples);
4. equal wall-clock comes from the same runs: the measured seconds of each step give
   each model's validation loss at the seconds the faster one needed for all its steps.

The race is at equal steps, not equal seconds, so that its verdict does not depend on
how loaded the machine is; the seconds are measured and reported beside it.

Chapter 9's `messages-reversal` and chapter 10's `messages-length` import from here.
"""

from __future__ import annotations

import math
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from torch import nn

from airoad_book.data.messages import SOURCES, MessagesTask, messages_task
from airoad_book.device import device, seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.experiments.translation_training import (
    train_translator,
    translate,
    valid_evaluator,
)
from airoad_book.models.attention import AttentionConfig, AttentionSeq2Seq
from airoad_book.models.seq2seq import Seq2Seq, Seq2SeqConfig
from airoad_book.models.transformer import Transformer, TransformerConfig
from airoad_book.results import Result, Table
from airoad_book.train import TrainConfig

NAME = "real-translation"
CHAPTER = 11
SUMMARY = (
    "Transformer vs attention RNN on real English→French messages (BPE), equal steps "
    "and parameters, and equal seconds; BLEU with bootstrap intervals; BPE vs words"
)

MODELS = ("transformer", "attn_rnn", "transformer_words")
LABELS = {
    "transformer": "Transformer, BPE pieces",
    "attn_rnn": "attention RNN, BPE pieces",
    "transformer_words": "Transformer, whole words",
    "seq2seq": "encoder–decoder, BPE pieces",
    "attention": "attention RNN, BPE pieces",
}
EDGES = (1, 4, 8, 12, 20, 41)  # source-length buckets, in English words
SELECT = ("loss", "bleu")  # what picks the weights a model keeps


@dataclass(frozen=True)
class Config:
    """One budget of chapter 11's experiment; sizes are counts of units, steps are
    optimizer steps of batch_size pairs for each model."""

    merges: int = (
        1000  # BPE merges, learned on the training English and French together
    )
    # the packages whose catalogues make the pairs: all four (Plone, Django, Wagtail,
    # Sphinx), about 5,400 training pairs
    sources: tuple[str, ...] = tuple(SOURCES)
    steps: int = 8  # optimizer steps of each model
    batch_size: int = 64  # pairs per step
    length_pool: int = 20  # batches per pool sorted by length (0: random batches)
    clip_norm: float = 1.0
    eval_every: int = 25  # steps between evaluations on the validation messages
    select: str = "bleu"  # keep the weights of the best validation "bleu" or "loss"
    # the Transformer
    d_model: int = 64
    num_heads: int = 4
    d_ff: int = 256
    layers: int = 2  # encoder and decoder each
    dropout: float = 0.1
    label_smoothing: float = 0.1
    lr: float = 5e-3  # peak, after warm-up, then inverse square root
    warmup_steps: int = 200
    # the attention RNN: its state size is chosen to match the Transformer's parameters
    embed_dim: int = 64
    rnn_lr: float = 3e-3
    max_output: int | None = (
        40  # cap on a translation's pieces (None: longest target + 10)
    )
    bootstrap: int = (
        200  # resamples of sacrebleu's paired bootstrap (the full run: 1,000)
    )
    workers: int = 1  # processes training the models at once (1: one after another)


CONFIGS = {
    # three models of 6 steps each: a smoke test, far too short to translate (an
    # untrained model never stops, so its translations are cut at 12 pieces)
    "quick": Config(steps=6, eval_every=6, max_output=12),
    # 2,400 steps each (about 28 passes over the 5,400 training pairs), the three at
    # once
    "full": Config(
        steps=2400, eval_every=200, bootstrap=1000, max_output=None, workers=3
    ),
}


# --8<-- [start:score]
def sacre_bleu(hypotheses: list[str], references: list[str]) -> float:
    """Corpus BLEU (0–100) of detokenized text, by sacrebleu with its defaults (13a)."""
    from sacrebleu.metrics import BLEU

    return BLEU().corpus_score(hypotheses, [references]).score


def bleu_intervals(
    systems: dict[str, list[str]], references: list[str], *, n_samples: int = 1000
) -> dict[str, tuple[float, float, float]]:
    """Each system's corpus BLEU and the ends of its 95% interval, by sacrebleu's paired
    bootstrap.

    sacrebleu resamples the test sentences `n_samples` times (the same resamples for
    every system: paired) and gives each system's mean and the half-width of its 95%
    interval. Returns name -> (BLEU, low, high).
    """
    from sacrebleu.metrics import BLEU
    from sacrebleu.significance import PairedTest

    named = list(systems.items())
    if len(named) == 1:  # PairedTest wants a baseline and one system at least
        named.append(("copy", named[0][1]))
    test = PairedTest(
        named,
        {"BLEU": BLEU()},
        references=[references],
        test_type="bs",
        n_samples=n_samples,
    )
    _, scores = test()
    out = {}
    for (name, _), result in zip(named, scores["BLEU"]):
        if name in systems:
            out[name] = (
                result.score,
                float(result.mean - result.ci),
                float(result.mean + result.ci),
            )
    return out


HEADROOM = (15.0, 75.0)  # the band of BLEU in which this task can tell models apart


def headroom(scores: dict[str, float]) -> str:
    """Whether the best of `scores` (label -> BLEU) lies in the `HEADROOM` band, and
    what that means for reading the differences between them."""
    label, best = max(scores.items(), key=lambda kv: kv[1])
    lo, hi = HEADROOM
    if best < lo:
        return (
            f"The best score here, {best:.1f} BLEU ({label}), is below {lo:.0f}, the "
            f"score from which this task was meant to separate models: the models are "
            f"still learning which pieces exist and in what order, so the direction of "
            f"a difference and whether the intervals overlap can be read, but not its "
            f"size."
        )
    if best > hi:
        return (
            f"The best score here, {best:.1f} BLEU ({label}), is above {hi:.0f}: near "
            f"the ceiling, where the task no longer separates models."
        )
    return (
        f"The best score here, {best:.1f} BLEU ({label}), lies between {lo:.0f} and "
        f"{hi:.0f}: the task leaves room above and below it, so a gap of a few points "
        f"between models, beyond the intervals, is a measured difference, not the "
        f"noise of a saturated task or of models that have not learned yet."
    )


def tied(a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
    """Two (BLEU, low, high) are tied when their intervals overlap."""
    return a[1] <= b[2] and b[1] <= a[2]


# --8<-- [end:score]


def transformer_for(m: MessagesTask, c: Config) -> Transformer:
    """The Transformer sized by `c` for `m`'s vocabularies."""
    t = m.task
    longest = max(max(len(p.source), len(p.target)) for p in t.train + t.valid + t.test)
    return Transformer(
        TransformerConfig(
            len(t.source_vocab),
            len(t.target_vocab),
            d_model=c.d_model,
            num_heads=c.num_heads,
            d_ff=c.d_ff,
            encoder_layers=c.layers,
            decoder_layers=c.layers,
            dropout=c.dropout,
            max_len=2 * longest + 16,
        )
    )


def attention_for(m: MessagesTask, hidden: int, embed_dim: int) -> AttentionSeq2Seq:
    """Chapter 10's attention RNN with annotations and decoder state of `hidden`
    units."""
    t = m.task
    return AttentionSeq2Seq(
        AttentionConfig(
            len(t.source_vocab),
            len(t.target_vocab),
            embed_dim=embed_dim,
            hidden_dim=hidden,
            align_dim=hidden // 2,
            maxout_dim=hidden // 2,
        )
    )


def matched_attention(m: MessagesTask, params: int, embed_dim: int) -> AttentionSeq2Seq:
    """The attention RNN whose parameter count is nearest `params` (even state
    sizes)."""
    best = min(
        range(16, 513, 8),
        key=lambda h: abs(attention_for(m, h, embed_dim).num_parameters - params),
    )
    return attention_for(m, best, embed_dim)


def encoder_decoder_for(m: MessagesTask, hidden: int, embed_dim: int) -> Seq2Seq:
    """Chapter 9's encoder–decoder (one GRU layer each side) for `m`'s vocabularies."""
    t = m.task
    return Seq2Seq(
        Seq2SeqConfig(
            len(t.source_vocab),
            len(t.target_vocab),
            embed_dim=embed_dim,
            hidden_dim=hidden,
        )
    )


def train_and_translate(
    model: nn.Module,
    m: MessagesTask,
    tc: TrainConfig,
    *,
    batch_size: int,
    seed: int,
    desc: str,
    reverse_source: bool = False,
    label_smoothing: float = 0.0,
    max_output: int | None = None,
    length_pool: int = 0,
    select: str = "loss",
) -> dict:
    """Train on m's training pairs, translate its test sources, return text and counts.

    A translation stops at <eos> or after max_output pieces (None: the longest training
    target + 10); the quick budgets cap it, since a barely trained model rarely stops.
    length_pool > 0 batches pairs of similar length together. The weights kept are
    those of the lowest validation loss (select "loss") or of the highest validation
    BLEU, the greedy translations of the validation messages scored by sacrebleu
    (select "bleu"); every evaluation records both when select is "bleu".
    """
    if select not in SELECT:
        raise ValueError(f"select must be one of {SELECT}; got {select!r}")
    seed_everything(seed)
    model.to(device())
    longest = max(len(p.target) for p in m.task.train)
    limit = max_output or longest + 10
    losses: list[float] = []
    bleus: list[float] = []
    evaluate = None
    if select == "bleu":
        valid_loss = valid_evaluator(m.task, reverse_source=reverse_source)
        references = [t for _, t in m.texts["valid"]]

        def evaluate(model_: nn.Module) -> float:
            losses.append(valid_loss(model_))
            outputs = translate(
                model_,
                m.task,
                m.task.valid,
                reverse_source=reverse_source,
                max_len=limit,
            )
            bleus.append(sacre_bleu([m.detokenize(o) for o in outputs], references))
            return -bleus[-1]  # fit keeps the lowest

    history = train_translator(
        model,
        m.task,
        tc,
        batch_size=batch_size,
        seed=seed,
        desc=desc,
        reverse_source=reverse_source,
        label_smoothing=label_smoothing,
        length_pool=length_pool,
        evaluate=evaluate,
    )
    outputs = translate(
        model, m.task, m.task.test, reverse_source=reverse_source, max_len=limit
    )
    if select == "loss":
        losses = history.eval_loss
        best_loss = history.best_eval_loss if losses else math.nan
    else:  # the kept weights' validation loss: that of the best BLEU
        bleus = [-x for x in history.eval_loss]  # whole even across a resumed run
        # a run resumed from a checkpoint recorded its earlier losses in another process
        losses = [math.nan] * (len(bleus) - len(losses)) + losses
        best_loss = losses[history.eval_step.index(history.best_step)]
    curve = {
        "step": history.eval_step,
        "loss": losses,
        "seconds": history.eval_seconds_at,
    }
    if select == "bleu":
        curve["bleu"] = bleus
    return {
        "hypotheses": [m.detokenize(o) for o in outputs],
        "steps": history.steps_done,
        "seconds": history.seconds,
        "params": model.num_parameters,
        "valid_loss": best_loss,  # the kept weights'
        "valid_bleu": max(bleus) if bleus else math.nan,
        "best_step": history.best_step or history.steps_done,
        "curve": curve,
    }


def bleu_by_length(
    hypotheses: list[str], m: MessagesTask, edges=EDGES
) -> list[tuple[str, int, float]]:
    """sacrebleu BLEU per bucket of English source length in words: (label, pairs,
    BLEU)."""
    rows = []
    test = m.texts["test"]
    for lo, hi in zip(edges, edges[1:]):
        chosen = [i for i, (s, _) in enumerate(test) if lo <= len(s.split()) < hi]
        label = f"{lo}–{hi - 1}"
        if not chosen:
            rows.append((label, 0, math.nan))
            continue
        rows.append(
            (
                label,
                len(chosen),
                sacre_bleu(
                    [hypotheses[i] for i in chosen], [test[i][1] for i in chosen]
                ),
            )
        )
    return rows


def rare_words(m_words: MessagesTask, m_bpe: MessagesTask) -> dict[str, float]:
    """How often test words are unseen in training, and what BPE makes of them."""
    seen = set(t for p in m_words.task.train for t in p.source + p.target)
    src = [t for p in m_words.task.test for t in p.source]
    tgt = [t for p in m_words.task.test for t in p.target]
    counts: dict[str, int] = {}
    for p in m_words.task.train:
        for t in p.target:
            counts[t] = counts.get(t, 0) + 1
    once = sum(1 for n in counts.values() if n == 1)
    pieces = sum(len(p.source) for p in m_bpe.task.test) / max(1, len(src))
    return {
        "oov_source": sum(t not in seen for t in src) / len(src),
        "oov_target": sum(t not in seen for t in tgt) / len(tgt),
        "target_types": len(counts),
        "target_singletons": once,
        "pieces_per_word": pieces,
        "bpe_unk_source": sum(
            t not in m_bpe.task.source_vocab.stoi
            for p in m_bpe.task.test
            for t in p.source
        )
        / max(1, len(src)),
    }


def equal_seconds(transformer: dict, rnn: dict) -> dict[str, float]:
    """Both models at equal training wall-clock, read off their validation curves.

    Each curve holds the training seconds and validation loss of every evaluation. The
    race stops at the seconds the faster model needed for all its steps; each model is
    scored by its lowest validation loss at or before that time (NaN if it had not yet
    been evaluated), with the steps it had done by then.
    """
    end = min(transformer["seconds"][-1], rnn["seconds"][-1])
    out: dict[str, float] = {"equal_seconds": end}
    for key, curve in (("transformer", transformer), ("attn_rnn", rnn)):
        seen = [
            (loss, step)
            for loss, step, t in zip(curve["loss"], curve["step"], curve["seconds"])
            if t <= end * 1.0001
        ]
        loss, _ = min(seen) if seen else (math.nan, 0)
        out[f"equal_seconds_loss_{key}"] = loss
        out[f"equal_seconds_steps_{key}"] = max((st for _, st in seen), default=0)
    return out


def transformer_tc(c: Config, seconds: float | None = None) -> TrainConfig:
    """The Transformer's training: Adam, warm-up then inverse square root, for c.steps
    (or `seconds`, whichever ends first); the weights of the lowest validation loss are
    kept."""
    return TrainConfig(
        max_steps=c.steps,
        max_seconds=seconds,
        lr=c.lr,
        clip_norm=c.clip_norm,
        warmup_steps=min(c.warmup_steps, c.steps),
        schedule="inverse_sqrt",
        eval_every=c.eval_every,
        restore_best=True,
    )


def rnn_tc(
    lr: float,
    clip: float,
    eval_every: int,
    seconds: float | None = None,
    steps: int = 1_000_000,
) -> TrainConfig:
    """An RNN's training: Adam at a constant `lr`, for `steps` or `seconds`, whichever
    ends first; the weights of the lowest validation loss are kept."""
    return TrainConfig(
        max_steps=steps,
        max_seconds=seconds,
        lr=lr,
        clip_norm=clip,
        eval_every=eval_every,
        restore_best=True,
    )


def _train_one(key: str, c: Config, seed: int, seconds: float | None) -> dict:
    """Build, train and score one of the `MODELS` (a process of its own when
    c.workers > 1)."""
    bpe = messages_task("bpe", merges=c.merges, sources=c.sources)
    m = messages_task("word", sources=c.sources) if key == "transformer_words" else bpe
    seed_everything(seed)
    if key == "attn_rnn":
        params = transformer_for(bpe, c).num_parameters
        model, tc = (
            matched_attention(bpe, params, c.embed_dim),
            rnn_tc(c.rnn_lr, c.clip_norm, c.eval_every, seconds, c.steps),
        )
    else:
        model, tc = transformer_for(m, c), transformer_tc(c, seconds)
    return train_and_translate(
        model,
        m,
        tc,
        batch_size=c.batch_size,
        seed=seed,
        desc=LABELS[key],
        label_smoothing=0.0 if key == "attn_rnn" else c.label_smoothing,
        max_output=c.max_output,
        length_pool=c.length_pool,
        select=c.select,
    )


def train_models(
    train_one: Callable[..., dict], keys: Sequence[str], args: tuple, workers: int = 1
) -> dict[str, dict]:
    """{key: train_one(key, *args)} for each key. With workers > 1 the models train at
    once, each in a spawned process of one torch thread (train_one must then be a
    module-level function); the seconds each measures include the others' share of
    the machine.

    Inside a run session (`airoad-book run`), each worker checkpoints its own training
    in a folder of the run's (`airoad_book.session.worker_plan`), so `--resume` takes
    every model up where it stopped. On Ctrl-C the workers save and the parent waits
    for them (at most `STOP_WAIT_S`) before it stops; a process pool of
    `concurrent.futures` hands an interrupted or dead worker back as an error, so the
    run never hangs on one.
    """
    if workers <= 1:
        return {key: train_one(key, *args) for key in keys}
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, wait

    from airoad_book.session import WorkerInterrupted, worker_plan

    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn")
    )
    futures = {
        pool.submit(_one_thread, (worker_plan(key), train_one, key, *args)): key
        for key in keys
    }
    try:
        try:
            return {key: future.result() for future, key in futures.items()}
        except WorkerInterrupted as error:  # one worker was stopped: stop the others
            for process in list(pool._processes.values()):
                if process.is_alive():
                    os.kill(process.pid, signal.SIGINT)
            wait(futures, timeout=STOP_WAIT_S)
            raise KeyboardInterrupt(str(error)) from None
        except KeyboardInterrupt:  # Ctrl-C: the workers had it too, and are saving
            wait(futures, timeout=STOP_WAIT_S)
            raise
    finally:
        _stop(pool)


STOP_WAIT_S = 120.0  # how long stopped workers get to finish their step and save


def _stop(pool) -> None:
    """Shut `pool` down without waiting: cancel what has not started and end the
    workers still running (a worker that does not stop must not hang the run)."""
    pool.shutdown(wait=False, cancel_futures=True)
    for process in list((pool._processes or {}).values()):
        if process.is_alive():
            process.terminate()


def _one_thread(job: tuple) -> dict:
    import torch

    from airoad_book.session import worker_session

    torch.set_num_threads(1)
    plan, train_one, *args = job
    with worker_session(plan):
        return train_one(*args)


def run_config(c: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train the three models for the same steps; score BLEU with intervals; the
    tables. `seconds` caps each model's training (a shorter run, not the recipe).

    With c.workers > 1 the models train at once, each in a process of one thread; the
    seconds each measures then include the others' share of the machine.
    """
    bpe = messages_task("bpe", merges=c.merges, sources=c.sources)
    words = messages_task("word", sources=c.sources)
    references = [t for _, t in bpe.texts["test"]]
    runs = train_models(_train_one, MODELS, (c, seed, seconds), workers=c.workers)
    intervals = bleu_intervals(
        {k: r["hypotheses"] for k, r in runs.items()}, references, n_samples=c.bootstrap
    )
    metrics: dict[str, float] = {}
    for key, r in runs.items():
        score, lo, hi = intervals[key]
        metrics |= {
            f"bleu_{key}": score,
            f"bleu_{key}_lo": lo,
            f"bleu_{key}_hi": hi,
            f"params_{key}": r["params"],
            f"steps_{key}": r["steps"],
            f"best_step_{key}": r["best_step"],
            f"train_seconds_{key}": r["seconds"],
            f"seconds_per_step_{key}": r["seconds"] / max(1, r["steps"]),
            f"valid_loss_{key}": r["valid_loss"],
            f"valid_bleu_{key}": r["valid_bleu"],
        }
    metrics |= rare_words(words, bpe)
    metrics |= equal_seconds(runs["transformer"]["curve"], runs["attn_rnn"]["curve"])
    metrics |= {
        "test_pairs": len(references),
        "n_train": len(bpe.task.train),
        "steps_budget": c.steps,
        "epochs": c.steps * c.batch_size / len(bpe.task.train),
        "merges": c.merges,
        "source_vocab_bpe": len(bpe.task.source_vocab),
        "target_vocab_bpe": len(bpe.task.target_vocab),
        "source_vocab_words": len(words.task.source_vocab),
        "target_vocab_words": len(words.task.target_vocab),
        "tied_transformer_attn_rnn": float(
            tied(intervals["transformer"], intervals["attn_rnn"])
        ),
        "tied_transformer_words": float(
            tied(intervals["transformer"], intervals["transformer_words"])
        ),
    }
    metrics = {k: float(v) for k, v in metrics.items()}
    models_table = Table(
        columns=[
            "model",
            "parameters",
            "training steps",
            "seconds",
            "valid loss (nats/token)",
            "test BLEU",
            "95% interval",
        ],
        rows=[
            [
                LABELS[k],
                runs[k]["params"],
                runs[k]["steps"],
                runs[k]["seconds"],
                runs[k]["valid_loss"],
                intervals[k][0],
                f"{intervals[k][1]:.1f}–{intervals[k][2]:.1f}",
            ]
            for k in MODELS
        ],
        formats=["", ",d", "d", ".0f", ".3f", ".1f", ""],
    )
    lengths = {
        k: bleu_by_length(runs[k]["hypotheses"], bpe)
        for k in ("transformer", "attn_rnn")
    }
    buckets_table = Table(
        columns=[
            "source words",
            "test pairs",
            "BLEU, Transformer",
            "BLEU, attention RNN",
        ],
        rows=[
            [t[0], t[1], t[2], a[2]]
            for t, a in zip(lengths["transformer"], lengths["attn_rnn"])
        ],
        formats=["", "d", ".1f", ".1f"],
    )
    shown = [
        i for i, (s, _) in enumerate(bpe.texts["test"]) if 5 <= len(s.split()) <= 12
    ][:4]
    examples = Table(
        columns=["English", "reference", "Transformer, BPE", "Transformer, words"],
        rows=[
            [
                bpe.texts["test"][i][0],
                references[i],
                runs["transformer"]["hypotheses"][i],
                runs["transformer_words"]["hypotheses"][i],
            ]
            for i in shown
        ],
        formats=["", "", "", ""],
    )
    series = {
        "curves": {k: r["curve"] for k, r in runs.items()},
        "buckets": {
            "labels": [row[0] for row in lengths["transformer"]],
            "counts": [row[1] for row in lengths["transformer"]],
            **{k: [row[2] for row in v] for k, v in lengths.items()},
        },
        "intervals": {k: list(v) for k, v in intervals.items()},
        "config": asdict(c),
    }
    return Result(
        metrics=metrics,
        tables={"models": models_table, "buckets": buckets_table, "examples": examples},
        series=series,
        text={
            "verdict": verdict(metrics),
            "words": words_sentence(metrics),
            "headroom": headroom({LABELS[k]: metrics[f"bleu_{k}"] for k in MODELS}),
        },
    )


def verdict(m: dict) -> str:
    """The Transformer against the attention RNN, from the numbers and their
    intervals."""
    t, a = m["bleu_transformer"], m["bleu_attn_rnn"]
    head = (
        f"With {int(m['steps_budget']):,} steps each (about {m['epochs']:.0f} passes "
        f"over the training pairs) and about the same parameters "
        f"({int(m['params_transformer']):,} and {int(m['params_attn_rnn']):,}), the "
        f"Transformer scores {t:.1f} BLEU (95% interval {m['bleu_transformer_lo']:.1f}–"
        f"{m['bleu_transformer_hi']:.1f}) and the attention RNN {a:.1f} "
        f"({m['bleu_attn_rnn_lo']:.1f}–{m['bleu_attn_rnn_hi']:.1f}) on "
        f"{int(m['test_pairs'])} test messages."
    )
    if m["tied_transformer_attn_rnn"]:
        tail = (
            "The intervals overlap: the two are tied at equal steps, and this run cannot "
            "say that either translates better."
        )
    elif t > a:
        tail = (
            "The intervals do not overlap: the Transformer translates better for the "
            "same training steps."
        )
    else:
        tail = (
            "The intervals do not overlap, and the recurrent model is ahead for the same "
            "training steps."
        )
    return f"{head} {tail} {seconds_sentence(m)}"


def seconds_sentence(m: dict) -> str:
    """The same race at equal wall-clock, from the measured seconds per step."""
    ts, rs = m["seconds_per_step_transformer"], m["seconds_per_step_attn_rnn"]
    lt, lr = m["equal_seconds_loss_transformer"], m["equal_seconds_loss_attn_rnn"]
    faster = "Transformer" if ts < rs else "attention RNN"
    ahead = (
        "the Transformer's is lower"
        if lt < lr
        else "the attention RNN's is lower"
        if lr < lt
        else "they are equal"
    )
    ratio = max(ts, rs) / min(ts, rs)
    speed = (
        "the two take about as long per step"
        if ratio < 1.1
        else f"the {faster} is {ratio:.1f} times faster per step"
    )
    return (
        f"A step took {ts:.2f} s for the Transformer and {rs:.2f} s for the attention "
        f"RNN on this machine, so {speed}. Stopped at equal wall-clock, {m['equal_seconds']:.0f} s of "
        f"training, the Transformer had done "
        f"{int(m['equal_seconds_steps_transformer']):,} steps and the attention RNN "
        f"{int(m['equal_seconds_steps_attn_rnn']):,}; their best validation losses by "
        f"then are {lt:.3f} and {lr:.3f} nats per piece: {ahead}."
    )


def words_sentence(m: dict) -> str:
    """BPE pieces against whole words, from the numbers."""
    t, w = m["bleu_transformer"], m["bleu_transformer_words"]
    verdict_ = (
        "tied: the intervals overlap"
        if m["tied_transformer_words"]
        else "pieces ahead, beyond the intervals"
        if t > w
        else "words ahead, beyond the intervals"
    )
    return (
        f"On whole words, {m['oov_source']:.1%} of the test's English tokens and "
        f"{m['oov_target']:.1%} of its French ones never occur in training, and each "
        f"reads as `<unk>`; with {int(m['merges'])} BPE merges every word splits into "
        f"known pieces ({m['pieces_per_word']:.2f} pieces per English token). The same "
        f"Transformer, the same steps: {t:.1f} BLEU on pieces ({m['bleu_transformer_lo']:.1f}–"
        f"{m['bleu_transformer_hi']:.1f}), {w:.1f} on words "
        f"({m['bleu_transformer_words_lo']:.1f}–{m['bleu_transformer_words_hi']:.1f}): "
        f"{verdict_}."
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """Run the experiment at `budget` (`quick` or `full`) with `seed`."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
