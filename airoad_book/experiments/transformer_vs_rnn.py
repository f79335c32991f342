"""Chapter 11's experiment: the Transformer against chapter 10's attention RNN, at equal
training time.

Vaswani et al. (2017), <https://arxiv.org/abs/1706.03762>, claim that dropping
recurrence buys quality per unit of training compute: their Table 2 sets the BLEU of
each model against its training cost in FLOPs, and the Transformer beats every recurrent
and convolutional model at a fraction of the cost. On one machine, compute is
wall-clock. This experiment gives both models the same seconds on the numbers task of
chapter 10's `seq2seq-length` (English number words → French number words, up to 15
digits):

1. chapter 10's attention model (`AttentionSeq2Seq`, additive score, its
`seq2seq-length`
   sizes and optimizer) and the Transformer (`airoad_book.models.transformer`, with the
   paper's label smoothing and warm-up / inverse-square-root schedule) each train on the
   same batches for the same training wall-clock; the validation loss is recorded against
   training seconds;
2. both translate the test set greedily; BLEU overall and per bucket of source length;
3. throughput: target tokens trained per second of training; 4. the trained
Transformer's attention weights on a few test sentences, every head of its
   encoder self-attention and its decoder's cross-attention, are kept for the maps;
5. optionally (the full budget) Transformer variants without label smoothing, without
   the schedule, with pre-LN, with the paper's dropout: what each piece of the recipe does here.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace

import torch
from torch import Tensor, nn

from airoad_book.data import (
    Pair,
    TranslationTask,
    make_batch,
    numbers_task,
    translation_batches,
)
from airoad_book.data.translation import TranslationBatch
from airoad_book.device import device, seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.experiments.translation_training import (
    bleu_by_buckets,
    target_tokens,
    teacher_forcing_loss,
    translate,
    valid_evaluator,
)
from airoad_book.metrics import bleu
from airoad_book.models.attention import AttentionConfig, AttentionSeq2Seq
from airoad_book.models.transformer import Transformer, TransformerConfig
from airoad_book.results import Result, Table
from airoad_book.train import History, TrainConfig, fit

NAME = "transformer-vs-rnn"
CHAPTER = 11
SUMMARY = "Transformer vs chapter 10's attention RNN at equal training seconds: BLEU, BLEU by length, tokens/s"

MODELS = ("transformer", "attn_rnn")
LABELS = {
    "transformer": "Transformer (this chapter)",
    "attn_rnn": "attention RNN (chapter 10)",
}
# Transformer variants of the recipe, each one change from the config (the full budget
# trains them)
VARIANTS = {
    "no_smoothing": ("no label smoothing", dict(label_smoothing=0.0)),
    "constant_lr": ("constant learning rate after warm-up", dict(schedule="constant")),
    "pre_ln": ("pre-LN instead of post-LN", dict(norm="pre")),
    "dropout": ("the paper's dropout, 0.1", dict(dropout=0.1)),
    "four_heads": ("4 heads of d_k = 8 instead of 2 of 16", dict(num_heads=4)),
}


@dataclass(frozen=True)
class Config:
    """One budget's settings. Sizes are counts of pairs, words, units or steps as each
    comment says."""

    # numbers of 1 to 15 digits: English sources of 1 to ~38 words (as seq2seq-length)
    max_digits: int = 15
    # seq2seq-length's pairs, so that one process makes the task once
    n_train: int = 2500  # training pairs
    n_test: int = 200  # test pairs translated and scored
    edges: tuple[int, ...] = (1, 8, 16, 24, 32, 40)  # source-length buckets, in words
    seconds: float = 7.0  # training wall-clock of each model (s), evaluation excluded
    batch_size: int = 64  # pairs per step, both models
    clip_norm: float = 1.0  # global gradient-norm clipping, both models
    eval_every: int = 20  # steps between validation losses
    # chapter 10's attention RNN, with seq2seq-length's sizes and optimizer
    embed_dim: int = 32  # m
    attn_hidden: int = 64  # annotation and decoder state
    align_dim: int = 32  # n'
    maxout_dim: int = 32  # l
    rnn_lr: float = 1e-2  # Adam, constant
    # the Transformer
    d_model: int = 32
    # d_k = 16; four heads of 8 learn and run slower at this width (the "four_heads"
    # variant)
    num_heads: int = 2
    d_ff: int = 128
    layers: int = 2  # N, encoder and decoder each
    # P_drop; the paper's 0.1 only slows a run of seconds (the "dropout" variant)
    dropout: float = 0.0
    norm: str = "post"
    label_smoothing: float = 0.1  # ε_ls
    lr: float = 1e-2  # Adam's peak learning rate, reached at the end of warm-up
    warmup_steps: int = 50
    schedule: str = "inverse_sqrt"  # after warm-up: lr * sqrt(warmup / step)
    variants: tuple[
        str, ...
    ] = ()  # keys of VARIANTS: Transformers trained too, one change each
    maps: int = 2  # test sentences whose attention weights are kept


CONFIGS = {
    # seven seconds of training per model on a 2-core CPU
    "quick": Config(),
    # three times the seconds, twice the test set, and the variants of the recipe
    "full": Config(seconds=20.0, n_train=4000, n_test=1000, variants=tuple(VARIANTS)),
}


def build_models(task: TranslationTask, config: Config) -> dict[str, nn.Module]:
    """The two models of the comparison, sized by `config`, for `task`'s
    vocabularies."""
    K_x, K_y = len(task.source_vocab), len(task.target_vocab)
    return {
        "transformer": build_transformer(task, config),
        "attn_rnn": AttentionSeq2Seq(
            AttentionConfig(
                K_x,
                K_y,
                embed_dim=config.embed_dim,
                hidden_dim=config.attn_hidden,
                align_dim=config.align_dim,
                maxout_dim=config.maxout_dim,
            )
        ),
    }


def build_transformer(task: TranslationTask, config: Config) -> Transformer:
    """The Transformer sized by `config` for `task`'s vocabularies (long enough for its
    longest pair)."""
    longest = max(len(p.source) for p in task.train + task.valid + task.test)
    longest = max(
        longest, max(len(p.target) for p in task.train + task.valid + task.test)
    )
    return Transformer(
        TransformerConfig(
            len(task.source_vocab),
            len(task.target_vocab),
            d_model=config.d_model,
            num_heads=config.num_heads,
            d_ff=config.d_ff,
            encoder_layers=config.layers,
            decoder_layers=config.layers,
            dropout=config.dropout,
            max_len=2 * longest + 16,
            norm=config.norm,
        )
    )


def train_config(config: Config, key: str, seconds: float) -> TrainConfig:
    """How `key`'s model trains: the Transformer with its schedule, the RNN as in
    chapter 10."""
    if key == "attn_rnn":
        return TrainConfig(
            max_steps=1_000_000,
            max_seconds=seconds,
            lr=config.rnn_lr,
            clip_norm=config.clip_norm,
            eval_every=config.eval_every,
            restore_best=False,
        )
    return TrainConfig(
        max_steps=1_000_000,
        max_seconds=seconds,
        lr=config.lr,
        clip_norm=config.clip_norm,
        warmup_steps=config.warmup_steps,
        schedule=config.schedule,
        eval_every=config.eval_every,
        restore_best=False,
    )


def train_timed(
    model: nn.Module,
    task: TranslationTask,
    tc: TrainConfig,
    *,
    batch_size: int,
    label_smoothing: float,
    seed: int,
    desc: str,
) -> tuple[History, dict]:
    """Train like `train_translator`, and also record when each validation loss was
    taken.

    Returns the History and a dict: ``seconds`` (training seconds at each evaluation,
    the time spent evaluating left out), ``valid_loss`` (nats per target token,
    unsmoothed) and ``tokens``, the target tokens trained on.
    """
    batches = translation_batches(task.train, task, batch_size, seed=seed)
    valid_loss = valid_evaluator(task)
    log = {"seconds": [], "valid_loss": [], "tokens": 0}
    clock = {"start": None, "evaluating": 0.0}

    def loss_fn(m: nn.Module, batch: TranslationBatch) -> Tensor:
        if (
            clock["start"] is None
        ):  # the clock starts with the first step, as fit's does
            clock["start"] = time.perf_counter()
        log["tokens"] += target_tokens(batch)
        return teacher_forcing_loss(m, batch, label_smoothing)

    def evaluate(m: nn.Module) -> float:
        begun = time.perf_counter()
        loss = valid_loss(m)
        log["seconds"].append(begun - clock["start"] - clock["evaluating"])
        log["valid_loss"].append(loss)
        clock["evaluating"] += time.perf_counter() - begun
        return loss

    history = fit(model, batches, loss_fn, tc, evaluate=evaluate, desc=desc)
    return history, log


@torch.no_grad()
def attention_examples(
    model: Transformer,
    task: TranslationTask,
    pairs: list[Pair],
    outputs: list[tuple[str, ...]],
) -> list[dict]:
    """Every head's weights of the last encoder layer and the last cross-attention, for
    `pairs`.

    The decoder reads ``<bos>`` + the model's own output, which reproduces its greedy
    decode, so cross-attention row i is where it looked to write output word i (the
    last: <eos>).
    """
    forced = [Pair(p.source, o) for p, o in zip(pairs, outputs)]
    batch = make_batch(forced, task)
    was_training = model.training
    model.eval()
    maps = model.attention_maps(batch.src, batch.src_lengths, batch.tgt_in)
    model.train(was_training)
    examples = []
    for b, (p, o) in enumerate(zip(pairs, outputs)):
        S, T = len(p.source), len(o) + 1
        examples.append(
            {
                "source": list(p.source),
                "output": list(o),
                "reference": list(p.target),
                "encoder": maps["encoder"][-1][b, :, :S, :S]
                .cpu()
                .tolist(),  # (h, S, S)
                "cross": maps["cross"][-1][b, :, :T, :S].cpu().tolist(),
            }
        )  # (h, T, S)
    return examples


def pick_examples(
    pairs: list[Pair], count: int, lo: int = 6, hi: int = 12
) -> list[int]:
    """Indices of `count` test pairs with sources of lo to hi words and different first
    words."""
    chosen, firsts = [], set()
    for i, pair in enumerate(pairs):
        if lo <= len(pair.source) <= hi and pair.source[0] not in firsts:
            chosen.append(i)
            firsts.add(pair.source[0])
        if len(chosen) == count:
            break
    return chosen


def _train_and_score(
    model: nn.Module,
    task: TranslationTask,
    config: Config,
    tc: TrainConfig,
    label_smoothing: float,
    seed: int,
    desc: str,
) -> dict:
    seed_everything(seed)  # the same batches, in the same order, for every model
    model.to(device())
    history, log = train_timed(
        model,
        task,
        tc,
        batch_size=config.batch_size,
        label_smoothing=label_smoothing,
        seed=seed,
        desc=desc,
    )
    max_target = max(len(p.target) for p in task.train)
    outputs = translate(model, task, task.test, max_len=max_target + 10)
    references = [p.target for p in task.test]
    return {
        "history": history,
        "log": log,
        "outputs": outputs,
        "bleu": bleu(outputs, references),
        "exact": sum(tuple(o) == r for o, r in zip(outputs, references))
        / len(references),
        "buckets": bleu_by_buckets(outputs, task.test, config.edges),
        "tokens_per_s": log["tokens"] / max(history.seconds, 1e-9),
        "steps": history.steps_done,
        "seconds": history.seconds,
        "valid_loss": log["valid_loss"][-1],
        "params": model.num_parameters,
    }


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train both models for the same seconds, translate the test set, score, and keep
    attention maps."""
    task = numbers_task(
        n_train=config.n_train,
        n_valid=200,
        n_test=config.n_test,
        max_digits=config.max_digits,
    )
    budget = min(config.seconds, seconds) if seconds is not None else config.seconds
    seed_everything(seed)
    models = build_models(task, config)
    runs = {}
    for key, model in models.items():
        smoothing = config.label_smoothing if key == "transformer" else 0.0
        runs[key] = _train_and_score(
            model,
            task,
            config,
            train_config(config, key, budget),
            smoothing,
            seed,
            LABELS[key],
        )
    variants = {}
    for name in config.variants:
        c = replace(config, **VARIANTS[name][1])
        seed_everything(seed)
        variants[name] = _train_and_score(
            build_transformer(task, c),
            task,
            c,
            train_config(c, "transformer", budget),
            c.label_smoothing,
            seed,
            VARIANTS[name][0],
        )
    transformer = models["transformer"]
    shown = pick_examples(task.test, config.maps)
    maps = attention_examples(
        transformer,
        task,
        [task.test[i] for i in shown],
        [runs["transformer"]["outputs"][i] for i in shown],
    )

    metrics = {}
    for key, r in runs.items():
        longest = [row for row in r["buckets"] if row[1] > 0][-1]
        metrics |= {
            f"bleu_{key}": r["bleu"],
            f"exact_{key}": r["exact"],
            f"bleu_long_{key}": longest[2],
            f"tokens_per_s_{key}": r["tokens_per_s"],
            f"params_{key}": r["params"],
            f"steps_{key}": r["steps"],
            f"train_seconds_{key}": r["seconds"],
            f"valid_loss_{key}": r["valid_loss"],
        }
    for name, r in variants.items():
        metrics |= {
            f"bleu_{name}": r["bleu"],
            f"exact_{name}": r["exact"],
            f"valid_loss_{name}": r["valid_loss"],
        }
    counts = [row[1] for row in runs["transformer"]["buckets"]]
    metrics |= same_steps(runs["transformer"]["history"], runs["attn_rnn"]["history"])
    metrics |= {
        "seconds_budget": budget,
        "label_smoothing": config.label_smoothing,
        "test_pairs": len(task.test),
        "n_train": len(task.train),
        "longest_source": max(len(p.source) for p in task.test),
        "speedup": metrics["tokens_per_s_transformer"]
        / metrics["tokens_per_s_attn_rnn"],
    }

    labels = [row[0] for row in runs["transformer"]["buckets"]]
    buckets_table = Table(
        columns=[
            "source words",
            "test pairs",
            "BLEU, Transformer",
            "BLEU, attention RNN",
        ],
        rows=[
            [lab, n, t[2], a[2]]
            for lab, n, t, a in zip(
                labels,
                counts,
                runs["transformer"]["buckets"],
                runs["attn_rnn"]["buckets"],
            )
        ]
        + [
            [
                "all",
                len(task.test),
                metrics["bleu_transformer"],
                metrics["bleu_attn_rnn"],
            ]
        ],
        formats=["", "d", ".1f", ".1f"],
    )
    models_table = Table(
        columns=[
            "model",
            "parameters",
            "training steps",
            "target tokens / s",
            "valid loss (nats/token)",
            "test BLEU",
            "exact (%)",
        ],
        rows=[
            [
                LABELS[k],
                runs[k]["params"],
                runs[k]["steps"],
                runs[k]["tokens_per_s"],
                runs[k]["valid_loss"],
                runs[k]["bleu"],
                100 * runs[k]["exact"],
            ]
            for k in MODELS
        ],
        formats=["", ",d", "d", ",.0f", ".3f", ".1f", ".1f"],
    )
    tables = {"buckets": buckets_table, "models": models_table}
    if variants:
        tables["variants"] = Table(
            columns=[
                "Transformer",
                "valid loss (nats/token)",
                "test BLEU",
                "exact (%)",
            ],
            rows=[
                [
                    "the paper's recipe (above)",
                    runs["transformer"]["valid_loss"],
                    runs["transformer"]["bleu"],
                    100 * runs["transformer"]["exact"],
                ]
            ]
            + [
                [VARIANTS[n][0], r["valid_loss"], r["bleu"], 100 * r["exact"]]
                for n, r in variants.items()
            ],
            formats=["", ".3f", ".1f", ".1f"],
        )
    series = {
        "curves": {
            k: {
                "seconds": r["log"]["seconds"],
                "valid_loss": r["log"]["valid_loss"],
                "step": r["history"].eval_step,
            }
            for k, r in runs.items()
        },
        "buckets": {
            "labels": labels,
            "counts": counts,
            **{k: [row[2] for row in r["buckets"]] for k, r in runs.items()},
        },
        "maps": maps,
        "lr": runs["transformer"]["history"].lr,
        "config": asdict(config),
    }
    text = {"verdict": verdict(metrics), "budget": budget_sentence(metrics, config)}
    if variants:
        text["variants"] = variants_sentence(metrics, config)
    return Result(metrics=metrics, tables=tables, series=series, text=text)


def same_steps(transformer: History, rnn: History) -> dict[str, float]:
    """Both models' validation losses at the last step at which both were evaluated:
    step for step."""
    common = set(transformer.eval_step) & set(
        rnn.eval_step
    )  # every eval_every steps, so the early ones
    step = max(common) if common else min(transformer.eval_step[-1], rnn.eval_step[-1])

    def at(h: History) -> float:
        before = [i for i, s in enumerate(h.eval_step) if s <= step]
        return h.eval_loss[before[-1] if before else 0]

    return {
        "same_step": step,
        "same_step_loss_transformer": at(transformer),
        "same_step_loss_attn_rnn": at(rnn),
    }


def verdict(m: dict) -> str:
    """Whether the Transformer gave more quality for the same training time here, and
    why, from the numbers."""
    t, a = m["bleu_transformer"], m["bleu_attn_rnn"]
    speed = m["speedup"]
    pace = (
        f"The Transformer trained on {speed:.1f} times as many target tokens per second"
        if speed >= 1.05
        else f"The Transformer trained on {1 / speed:.1f} times fewer target tokens per second"
        if speed <= 0.95
        else "Both trained on about as many target tokens per second"
    )
    parts = [
        f"{pace} ({m['tokens_per_s_transformer']:,.0f} against "
        f"{m['tokens_per_s_attn_rnn']:,.0f}), and after "
        f"{m['seconds_budget']:.0f} s of training each it scores {t:.1f} BLEU against "
        f"the attention RNN's {a:.1f}."
    ]
    if t > a + 2:
        parts.append(
            "Vaswani et al.'s claim — more quality for the same training compute — "
            "held here."
        )
    elif t >= a - 2 and abs(m["exact_transformer"] - m["exact_attn_rnn"]) <= 0.03:
        parts.append(
            "At equal training time the two are level: Vaswani et al.'s claim of more "
            "quality for the "
            "same compute did not show at this scale."
        )
    elif t >= a - 2:
        et, ea = m["exact_transformer"], m["exact_attn_rnn"]
        leader, other = (
            ("Transformer", "attention RNN")
            if et > ea
            else ("attention RNN", "Transformer")
        )
        claim = (
            "on that measure Vaswani et al.'s claim of more quality for the same "
            "compute held"
            if et > ea
            else "Vaswani et al.'s claim of more quality for the same compute did not hold at this scale"
        )
        parts.append(
            f"In BLEU the two are within two points, near the task's ceiling, but the "
            f"{leader} wrote "
            f"{max(et, ea):.1%} of the test numbers exactly right against the "
            f"{other}'s "
            f"{min(et, ea):.1%}: {claim}."
        )
    else:
        parts.append(
            "Vaswani et al.'s claim — more quality for the same training compute — did "
            "not hold at this "
            "scale: the recurrent model learned more per second."
        )
    lt, la = m["same_step_loss_transformer"], m["same_step_loss_attn_rnn"]
    step = int(m["same_step"])
    if la < lt:
        caveat = (
            " (label smoothing keeps the Transformer's loss above what its "
            "translations are worth, so the loss "
            "overstates the gap)"
            if m.get("label_smoothing", 0) > 0
            else ""
        )
        parts.append(
            f"Step for step the recurrent model learned faster: after {step} steps its "
            f"validation loss was "
            f"{la:.3f} nats per word against the Transformer's {lt:.3f}{caveat}."
        )
    else:
        parts.append(
            f"Step for step the Transformer learned as fast or faster: after {step} "
            f"steps its validation "
            f"loss was {lt:.3f} nats per word against the attention RNN's {la:.3f}."
        )
    if speed < 2:
        parts.append(
            f"And a Transformer step was only {speed:.1f} times as fast per token: its "
            f"advantage is "
            "parallelism across the positions of a sentence, which a CPU of a core or "
            "two has "
            "little of to offer."
        )
    return " ".join(parts)


def budget_sentence(m: dict, config: Config) -> str:
    """What each model's training amounted to, for the page."""
    return (
        f"Each model trained for {m['seconds_budget']:.0f} s on batches of "
        f"{config.batch_size} pairs from the "
        f"same {int(m['n_train']):,} training pairs: the Transformer "
        f"({int(m['params_transformer']):,} parameters) "
        f"took {int(m['steps_transformer'])} steps, the attention RNN "
        f"({int(m['params_attn_rnn']):,} parameters) "
        f"{int(m['steps_attn_rnn'])}."
    )


def variants_sentence(m: dict, config: Config) -> str:
    """What removing each piece of the recipe did to the Transformer's BLEU, from the
    numbers."""
    base = m["bleu_transformer"]
    parts = []
    for name in config.variants:
        delta = m[f"bleu_{name}"] - base
        parts.append(
            f"{VARIANTS[name][0]}: {m[f'bleu_{name}']:.1f} BLEU ({delta:+.1f})"
        )
    return f"Against the recipe's {base:.1f} BLEU — " + "; ".join(parts) + "."


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """Run the experiment at `budget` (`quick` or `full`) with `seed`, training each
    model for at most `seconds` (s; None: the budget's)."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
