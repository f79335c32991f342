"""Chapter 13's experiment: every language model of the book on one corpus, one budget.

Six models read character-level Shakespeare (`shakespeare("train")`, the character
vocabulary of chapters 8 and 12) and are scored on the same characters of
`shakespeare("valid")`:

- ``kn``: chapter 5's interpolated modified Kneser–Ney n-gram model (`KneserNeyLM`), fitted
  by counting; it has no parameter budget, so its table size (the n-grams it stores) is
  reported as it is;
- ``nplm``: chapter 6's neural probabilistic language model (Bengio et al. 2003) over a
  window of characters;
- ``rnn``: chapter 7's RNN LM (Mikolov et al. 2010), with chapter 7's plain SGD;
- ``lstm`` and ``gru``: chapter 8's `RecurrentLM`, with chapter 8's Adam;
- ``transformer``: chapter 12's decoder-only `GPT`, with chapter 12's AdamW.

The five networks get one parameter budget (each model's width is chosen to land nearest
to it: `build_models`) and one training wall-clock (`train_timed`: each keeps its
chapter's optimizer, peak learning rate and batching; all share one warm-up + cosine
schedule timed to end when the time does, planned from a few probe steps, as chapter 12
did). Evaluation time is excluded from the clock. Every model scores exactly the same
validation characters (`aligned_valid`), each with its own chapter's scoring: the n-gram
and the NPLM with their windows, the recurrent models carrying the state through one
stream, the GPT with windows sliding by half a context.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor, nn

from airoad_book.cost import parameter_count
from airoad_book.data import (
    Vocab,
    batchify,
    char_tokens,
    context_windows,
    lm_windows,
    random_batches,
    shakespeare,
)
from airoad_book.device import seed_everything
from airoad_book.experiments.bengio_vs_ngram import lm_loss, nplm_log_probs
from airoad_book.experiments.budget import config_for
from airoad_book.experiments.gpt_shakespeare import (
    evaluate_windows,
    gpt_loss,
    seconds_per_step,
)
from airoad_book.experiments.recurrent_training import (
    CarriedStateLoss,
    endless_bptt,
    evaluate_streams,
)
from airoad_book.experiments.rnn_lm import rnn_log_probs
from airoad_book.metrics import bits
from airoad_book.models.bengio import NPLM, NPLMConfig
from airoad_book.models.bengio import paper_parameter_count as nplm_parameter_count
from airoad_book.models.gpt import GPT, GPTConfig
from airoad_book.models.lstm import RecurrentLM, hidden_for_parameters
from airoad_book.models.ngram import KneserNeyLM
from airoad_book.models.rnnlm import RNNLM, RNNLMConfig
from airoad_book.models.rnnlm import paper_parameter_count as rnn_parameter_count
from airoad_book.results import Result, Table
from airoad_book.train import History, TimedReplan, TrainConfig, fit

NAME = "evolution"
CHAPTER = 13
SUMMARY = "KN, NPLM, RNN, LSTM, GRU and a GPT on character-level Shakespeare at one parameter budget and one wall-clock"

MODELS = (
    "kn",
    "nplm",
    "rnn",
    "lstm",
    "gru",
    "transformer",
)  # the table's rows, in the book's order
NEURAL = MODELS[1:]
# key -> (name, paper, year)
PAPERS: dict[str, tuple[str, str, int]] = {
    "kn": ("Kneser–Ney n-gram", "Kneser & Ney; Chen & Goodman", 1995),
    "nplm": ("NPLM", "Bengio et al.", 2003),
    "rnn": (
        "RNN LM",
        "Mikolov et al.",
        2010,
    ),  # against backoff models; against the NPLM: 2011
    "lstm": ("LSTM", "Hochreiter & Schmidhuber; Graves", 1997),
    "gru": ("GRU", "Cho et al.; Chung et al.", 2014),
    "transformer": (
        "Transformer decoder (GPT)",
        "Vaswani et al.; Radford et al.",
        2017,
    ),
}
TIE = 0.02  # nats/char: a smaller gap is a tie, not a win
COMPARABLE = (
    0.05  # nats/char: two models this close count as "comparable" (GRU against LSTM)
)


@dataclass(frozen=True)
class Config:
    """One budget's settings. The models' shapes are the same at every budget: only time
    and the validation characters change."""

    params: int = (
        200_000  # the parameter budget of every network (each within ±10% of it)
    )
    seconds: float = 2.5  # training wall-clock of each network (s), evaluation excluded
    train_chars: int | None = (
        None  # the first N characters of the training split; None: all
    )
    curve_chars: int = 4_096  # validation characters the curve's evaluations score
    valid_chars: int | None = (
        4_096  # characters the final losses score; None: the whole split
    )
    eval_points: int = 5  # validation evaluations along each run
    kn_order: int = (
        6  # n of the Kneser–Ney model (chapter 5: about one word of context)
    )
    warmup: float = (
        0.05  # share of the planned steps spent warming up (at least one step)
    )
    clip_norm: float = 1.0  # global gradient-norm clip, every network
    probe_steps: int = (
        5  # timed steps (after one warm-up step) that plan the step budget
    )
    overplan: float = (
        1.15  # plan this many times the steps the probe says fit, so that a probe
    )
    # that ran slow (a busy machine) does not end a run early; the clock cuts the last
    # ones
    # (after ~87% of the plan), where the cosine has come ~95% of the way down to its
    # floor
    max_steps: int = 200_000  # a step cap as well
    nplm_context: int = 16  # n - 1: characters the NPLM sees (about three words)
    nplm_embed: int = 16  # m, the NPLM's character vectors
    nplm_batch: int = 256  # windows per NPLM step (chapter 6's)
    nplm_lr: float = 3e-3  # Adam (chapter 6's)
    rnn_batch: int = 32  # streams of the RNN LM (chapter 7's characters)
    rnn_bptt: int = 50  # its truncation window (chapter 7's characters)
    rnn_lr: float = 1.0  # plain SGD (chapter 7's characters)
    recurrent_embed: int = 32  # E of the LSTM and GRU (chapter 8's)
    recurrent_batch: int = 32  # their streams (chapter 8's)
    recurrent_bptt: int = 64  # their truncation window (chapter 8's)
    recurrent_lr: float = 5e-3  # Adam (chapter 8's)
    recurrent_layers: int = 1  # stacked layers of the LSTM and GRU (chapter 8's: one)
    context: int = 128  # T of the GPT (chapter 12's)
    num_heads: int = (
        4  # H of the GPT (chapter 12's); its width C is chosen for the budget
    )
    num_layers: int = 4  # L of the GPT (chapter 12's)
    gpt_batch: int = 16  # blocks per GPT step (chapter 12's)
    gpt_lr: float = 5e-3  # AdamW (chapter 12's)
    eval_chunk: int = 4_096  # characters a recurrent model reads per call when scoring

    def __post_init__(self) -> None:
        if self.params < 1_000:
            raise ValueError(
                f"Config.params must be at least 1,000 parameters; got {self.params}"
            )
        if self.seconds <= 0:
            raise ValueError(f"Config.seconds must be positive; got {self.seconds}")


CONFIGS = {
    # 2.5 s of training for each network; KN and the curves on 4,096 characters of valid;
    # the first million characters of train: the networks read far fewer in 2.5 s, and
    # counting all 4.6 million for the n-gram costs more than the networks' training
    "quick": Config(train_chars=1_000_000),
    # a minute each, the final losses on the whole validation split
    "full": Config(
        seconds=60.0, curve_chars=16_384, valid_chars=None, eval_points=12, kn_order=7
    ),
}


# --------------------------------------------------------------------------- one budget


def closest(count: Callable[[int], int], target: int, candidates) -> int:
    """The candidate width whose parameter count ``count(width)`` is nearest to
    ``target``."""
    return min(candidates, key=lambda w: abs(count(w) - target))


# --8<-- [start:budget]
def build_model(key: str, vocab_size: int, config: Config) -> nn.Module:
    """Network ``key`` at its chapter's shape, with the one width that it leaves free
    chosen so that its parameter count lands nearest to ``config.params``."""
    c, V, target = config, vocab_size, config.params

    def nplm(h: int) -> NPLMConfig:  # chapter 6: widen the hidden layer h
        return NPLMConfig(
            vocab_size=V,
            context=c.nplm_context,
            embed_dim=c.nplm_embed,
            hidden=h,
            direct=False,
        )

    def gpt(d: int) -> GPTConfig:  # chapter 12: widen the residual stream C
        return GPTConfig(
            vocab_size=V,
            context=c.context,
            d_model=d,
            num_heads=c.num_heads,
            num_layers=c.num_layers,
        )

    if key == "nplm":
        return NPLM(
            nplm(
                closest(lambda h: nplm_parameter_count(nplm(h)), target, range(1, 8192))
            )
        )
    if key == "rnn":
        return RNNLM(
            RNNLMConfig(
                V,
                closest(
                    lambda h: rnn_parameter_count(RNNLMConfig(V, h)),
                    target,
                    range(1, 4096),
                ),
            )
        )
    if key in ("lstm", "gru"):  # chapter 8: widen the state H, the embedding stays E
        H = hidden_for_parameters(
            key,
            target,
            c.recurrent_embed,
            V,
            layers=c.recurrent_layers,
            fixed=V * c.recurrent_embed,
        )
        return RecurrentLM(key, V, c.recurrent_embed, H, layers=c.recurrent_layers)
    if key == "transformer":
        return GPT(
            gpt(
                closest(
                    lambda d: parameter_count(gpt(d)),
                    target,
                    range(c.num_heads, 1025, c.num_heads),
                )
            )
        )
    raise ValueError(f"unknown model {key!r}; expected one of: {', '.join(NEURAL)}")


def build_models(vocab_size: int, config: Config) -> dict[str, nn.Module]:
    """The five networks, each at its chapter's shape, sized by `build_model`."""
    return {key: build_model(key, vocab_size, config) for key in NEURAL}


# --8<-- [end:budget]


def shape_label(key: str, model: nn.Module) -> str:
    """The model's name with the widths that set its size, e.g. ``LSTM (E=32,
    H=190)``."""
    name = PAPERS[key][0]
    if key == "nplm":
        k = model.config
        return f"{name} (n={k.context + 1}, m={k.embed_dim}, h={k.hidden})"
    if key == "rnn":
        return f"{name} (H={model.config.hidden})"
    if key in ("lstm", "gru"):
        return f"{name} (E={model.embed.embedding_dim}, H={model.rnn.hidden_size})"
    k = model.config
    return f"GPT (L={k.num_layers}, C={k.d_model}, H={k.num_heads}, T={k.context})"


# --------------------------------------------------------------------------- one
# wall-clock


@dataclass(frozen=True)
class Recipe:
    """How one network trains: its chapter's optimizer, peak learning rate and
    batches."""

    optimizer: str  # "sgd", "adam" or "adamw" (TrainConfig's names)
    lr: float  # the peak learning rate
    tokens_per_step: int  # characters one step predicts (the batch's targets)


@dataclass
class Contestant:
    """A network ready to race: its batches (and a second, independent stream of them
    for the timing probe), its loss, its recipe and its chapter's way of scoring a
    validation stream."""

    model: nn.Module
    batches: Iterator
    probe_batches: Iterator
    loss_fn: Callable
    recipe: Recipe
    score: Callable[
        [nn.Module, Tensor], float
    ]  # (model, ids (N+1,)) -> nats/char over ids[1:]


def contestant(
    key: str,
    model: nn.Module,
    train: Tensor,
    eos: int,
    config: Config,
    generator: torch.Generator,
    probe_generator: torch.Generator,
) -> Contestant:
    """Batches, loss, recipe and scoring of network ``key`` from its own chapter, on the
    training ids ``train`` (N,); ``eos`` starts the NPLM's padding and the RNN LM's
    stream."""
    c = config
    if key == "nplm":
        X, Y = context_windows(train, c.nplm_context)  # (N, n-1), (N,)
        return Contestant(
            model,
            random_batches(X, Y, batch_size=c.nplm_batch, generator=generator),
            random_batches(X, Y, batch_size=c.nplm_batch, generator=probe_generator),
            lm_loss,
            Recipe("adam", c.nplm_lr, c.nplm_batch),
            lambda m, v: -float(np.mean(nplm_log_probs(m, v, eos)[1:])),
        )
    if key == "rnn":
        streams = batchify(train, c.rnn_batch)  # (B, L)
        loss = CarriedStateLoss()
        return Contestant(
            model,
            endless_bptt(streams, c.rnn_bptt, loss),
            endless_bptt(streams, c.rnn_bptt, CarriedStateLoss()),
            loss,
            Recipe("sgd", c.rnn_lr, c.rnn_batch * c.rnn_bptt),
            lambda m, v: -float(np.mean(rnn_log_probs(m, v, eos)[1:])),
        )
    if key in ("lstm", "gru"):
        streams = batchify(train, c.recurrent_batch)  # (B, L)
        loss = CarriedStateLoss()
        return Contestant(
            model,
            endless_bptt(streams, c.recurrent_bptt, loss),
            endless_bptt(streams, c.recurrent_bptt, CarriedStateLoss()),
            loss,
            Recipe("adam", c.recurrent_lr, c.recurrent_batch * c.recurrent_bptt),
            lambda m, v: evaluate_streams(m, v[None], c.eval_chunk),
        )  # one stream (1, N+1)
    if key == "transformer":
        blocks = lm_windows(
            train, c.context
        )  # (N', T) inputs and targets, non-overlapping
        return Contestant(
            model,
            random_batches(*blocks, batch_size=c.gpt_batch, generator=generator),
            random_batches(*blocks, batch_size=c.gpt_batch, generator=probe_generator),
            gpt_loss,
            Recipe("adamw", c.gpt_lr, c.gpt_batch * c.context),
            lambda m, v: evaluate_windows(m, v),
        )
    raise ValueError(f"unknown model {key!r}; expected one of: {', '.join(NEURAL)}")


# --8<-- [start:harness]
def train_timed(
    entry: Contestant,
    evaluate: Callable[[nn.Module], float],
    seconds: float,
    config: Config,
    desc: str,
) -> History:
    """Train ``entry.model`` for ``seconds`` of wall-clock (evaluation excluded).

    A few probe steps on a copy of the model measure the seconds per step; the step
    budget follows (``config.overplan`` times what the probe says fits), and with it one
    schedule for every network: a linear warm-up over the first ``config.warmup`` of the
    steps, then a cosine decay to a tenth of the chapter's peak rate; ``max_seconds``
    ends the run when the time is spent. ``evaluate`` runs about ``config.eval_points``
    times along the way and once at the end.
    """
    per_step = seconds_per_step(
        entry.model, entry.probe_batches, entry.loss_fn, config.probe_steps
    )
    steps = max(2, min(config.max_steps, int(config.overplan * seconds / per_step)))
    return train_steps(entry, steps, config, desc, evaluate=evaluate, seconds=seconds)


# --8<-- [end:harness]


def train_steps(
    entry: Contestant,
    steps: int,
    config: Config,
    desc: str,
    evaluate: Callable[[nn.Module], float] | None = None,
    seconds: float | None = None,
    lr_scale: float = 1.0,
) -> History:
    """Train ``entry.model`` for ``steps`` optimizer steps (and at most ``seconds``, if
    given) on the one schedule of `train_timed`: a linear warm-up, then a cosine decay
    to a tenth of the peak rate, the recipe's ``lr`` times ``lr_scale``."""
    c, lr = config, entry.recipe.lr * lr_scale
    if steps < 1:
        raise ValueError(f"steps must be at least 1; got {steps}")
    train = TrainConfig(
        max_steps=steps,
        max_seconds=seconds,
        lr=lr,
        optimizer=entry.recipe.optimizer,
        warmup_steps=max(1, round(c.warmup * steps)),
        schedule="cosine",
        min_lr=lr / 10,
        clip_norm=c.clip_norm,
        eval_every=max(1, steps // c.eval_points),
        restore_best=False,
    )
    # a timed run re-plans its step budget from its own steps (engine's TimedReplan)
    replan = None if seconds is None else TimedReplan(seconds, cap=c.max_steps)
    return fit(
        entry.model,
        entry.batches,
        entry.loss_fn,
        train,
        evaluate=evaluate,
        desc=desc,
        replan=replan,
    )


# --8<-- [start:valid]
def aligned_valid(ids: Tensor, chars: int | None, context: int) -> Tensor:
    """The first ``chars`` + 1 ids of a validation stream (N,), cut so that every model
    scores exactly the same characters, the last N' of them (every one after the first).

    The GPT reads windows of T = ``context`` ids that slide by T/2 and leaves out a tail
    shorter than T/2 (`evaluate_windows`), so the number of scored characters is cut to
    T + k·T/2; the n-gram, the NPLM and the recurrent models score them all anyway.
    Returns (N' + 1,) ids.
    """
    s = max(1, context // 2)
    n = len(ids) - 1 if chars is None else min(chars, len(ids) - 1)
    if n < context:
        raise ValueError(
            f"need at least context + 1 = {context + 1} validation ids; got {n + 1}"
        )
    return ids[: context + (n - context) // s * s + 1]


# --8<-- [end:valid]


def kn_nats(model: KneserNeyLM, ids: Tensor) -> float:
    """Mean nats per character of a fitted n-gram model over ids[1:] of a stream
    (N+1,)."""
    return -float(np.mean(model.token_log_probs(ids.numpy())[1:]))


# --------------------------------------------------------------------------- the run


def load_data(config: Config) -> tuple[Vocab, Tensor, Tensor]:
    """The character vocabulary of the training text (chapters 8 and 12) and both splits
    as ids (N,)."""
    train_text = shakespeare("train")[: config.train_chars]
    vocab = Vocab.build(char_tokens(train_text))
    return (
        vocab,
        vocab.encode(char_tokens(train_text)),
        vocab.encode(char_tokens(shakespeare("valid"))),
    )


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Fit the n-gram, train the five networks for the same time, score all six
    alike."""
    c = config
    budget = c.seconds if seconds is None else seconds
    vocab, train, valid = load_data(c)
    V = len(vocab)
    curve_ids = aligned_valid(valid, c.curve_chars, c.context)
    final_ids = aligned_valid(valid, c.valid_chars, c.context)
    final_is_curve = len(final_ids) == len(curve_ids)
    rows: dict[str, dict] = {}

    started = time.perf_counter()
    kn = KneserNeyLM(c.kn_order, V).fit(train.numpy())
    kn_seconds = time.perf_counter() - started
    rows["kn"] = {
        "label": f"{PAPERS['kn'][0]} (n={c.kn_order})",
        "params": kn.num_ngrams,
        "seconds": kn_seconds,
        "tokens": len(train),
        "val": kn_nats(kn, final_ids),
        "curve_val": kn_nats(kn, curve_ids),
    }

    curves = {}
    for key in NEURAL:
        gen = seed_everything(seed)
        model = build_models(V, c)[key]
        entry = contestant(
            key,
            model,
            train,
            vocab.eos_id,
            c,
            gen,
            torch.Generator().manual_seed(seed + 1),
        )
        history = train_timed(
            entry,
            lambda m, e=entry: e.score(m, curve_ids),
            budget,
            c,
            f"{key} on Shakespeare",
        )
        model.eval()
        val = history.eval_loss[-1] if final_is_curve else entry.score(model, final_ids)
        per = entry.recipe.tokens_per_step
        rows[key] = {
            "label": shape_label(key, model),
            "params": model.num_parameters,
            "seconds": history.seconds,
            "tokens": history.steps_done * per,
            "val": val,
            "steps": history.steps_done,
        }
        curves[key] = {
            "eval_seconds": history.eval_seconds_at,
            "eval_tokens": [s * per for s in history.eval_step],
            "valid_nats": history.eval_loss,
        }

    metrics: dict[str, float] = {}
    for key, r in rows.items():
        metrics |= {
            f"{key}_val_loss": r["val"],
            f"{key}_bits_per_char": bits(r["val"]),
            f"{key}_params": r["params"],
            f"{key}_seconds": r["seconds"],
            f"{key}_tokens_per_s": r["tokens"] / r["seconds"],
            f"{key}_tokens": r["tokens"],
        }
        if "steps" in r:
            metrics[f"{key}_steps"] = r["steps"]
    metrics |= {
        "kn_order": c.kn_order,
        "kn_ngrams": kn.num_ngrams,
        "params_budget": c.params,
        "seconds_budget": budget,
        "vocab_size": V,
        "uniform_nats": float(np.log(V)),
        "train_chars": len(train),
        "valid_chars_scored": len(final_ids) - 1,
        "curve_chars_scored": len(curve_ids) - 1,
        "tie_nats": TIE,
        "comparable_nats": COMPARABLE,
        "max_params_deviation": max(
            abs(rows[k]["params"] / c.params - 1) for k in NEURAL
        ),
    }
    metrics = {k: float(v) for k, v in metrics.items()}

    table = Table(
        columns=[
            "model",
            "paper",
            "year",
            "parameters",
            "seconds",
            "characters / s",
            "characters seen",
            "valid nats/char",
            "valid bits/char",
        ],
        rows=[
            [
                rows[k]["label"],
                PAPERS[k][1],
                PAPERS[k][2],
                f"{rows[k]['params']:,} n-grams"
                if k == "kn"
                else f"{rows[k]['params']:,}",
                rows[k]["seconds"],
                metrics[f"{k}_tokens_per_s"],
                rows[k]["tokens"],
                rows[k]["val"],
                bits(rows[k]["val"]),
            ]
            for k in MODELS
        ],
        formats=["", "", "d", "", ".1f", ",.0f", ",d", ".3f", ".3f"],
    )
    series = {
        "curves": curves,
        "kn": {
            "valid_nats": rows["kn"]["curve_val"],
            "seconds": kn_seconds,
            "tokens": len(train),
        },
        "labels": {k: rows[k]["label"] for k in MODELS},
        "config": asdict(c),
    }
    text = {
        "ranking": ranking_sentence(metrics),
        "budget": budget_sentence(metrics),
        "whole": whole_sentence(metrics),
        **{name: fn(metrics) for name, fn in CLAIMS.items()},
    }
    return Result(
        metrics=metrics,
        tables={"race": table, "claims": claims_table(metrics)},
        series=series,
        text=text,
    )


# --------------------------------------------------------------------------- the
# claims, from the numbers


def _loss(m: dict, key: str) -> str:
    return f"{m[f'{key}_val_loss']:.3f}"


def beats(m: dict, a: str, b: str) -> bool:
    """Whether model ``a`` is ahead of model ``b`` by more than a tie (TIE
    nats/char)."""
    return m[f"{b}_val_loss"] - m[f"{a}_val_loss"] > m.get("tie_nats", TIE)


def bengio_claim(m: dict) -> str:
    """Bengio et al. (2003): the NPLM beats the best smoothed n-gram model."""
    head = f"The NPLM reaches {_loss(m, 'nplm')} nats per character against {_loss(m, 'kn')} for Kneser–Ney"
    if beats(m, "nplm", "kn"):
        return head + ": it beats the n-gram model, as Bengio et al. found."
    return head + (
        ": it does not beat the n-gram model here, so Bengio et al.'s claim did not "
        "hold "
        "at this budget."
    )


def mikolov_claim(m: dict) -> str:
    """Mikolov et al. (2010): the RNN LM beats the backoff n-gram models; Mikolov et al.
    (2011, *Empirical evaluation and combination of advanced language modeling
    techniques*): it also beats the feed-forward NPLM."""
    head = (
        f"The RNN LM reaches {_loss(m, 'rnn')}, against {_loss(m, 'kn')} (Kneser–Ney) "
        f"and "
        f"{_loss(m, 'nplm')} (NPLM)"
    )
    won = [
        name
        for key, name in (("kn", "Kneser–Ney"), ("nplm", "the NPLM"))
        if beats(m, "rnn", key)
    ]
    if len(won) == 2:
        return (
            head
            + ": it beats both, as Mikolov et al. found (2010 against the n-gram, 2011 the NPLM)."
        )
    if won:
        return (
            head + f": it beats {won[0]} only, so Mikolov et al.'s claim held in part."
        )
    return (
        head
        + ": it beats neither, so Mikolov et al.'s claim did not hold at this budget."
    )


def lstm_claim(m: dict) -> str:
    """Hochreiter & Schmidhuber (1997), Graves (2013): the gated LSTM beats the plain
    RNN."""
    head = f"The LSTM reaches {_loss(m, 'lstm')} against the RNN LM's {_loss(m, 'rnn')}"
    if beats(m, "lstm", "rnn"):
        return head + ": the gates pay for themselves, as the LSTM papers claim."
    if beats(m, "rnn", "lstm"):
        return (
            head
            + ": the plain RNN is ahead, so the LSTM's advantage did not show at this budget."
        )
    return head + f": within {m.get('tie_nats', TIE):.2f} nats, a tie at this budget."


def gru_claim(m: dict) -> str:
    """Chung et al. (2014): the GRU is comparable to the LSTM (no worse than it by more
    than COMPARABLE nats/char; they found it ahead on some of their tasks)."""
    gap = m["gru_val_loss"] - m["lstm_val_loss"]
    head = f"The GRU reaches {_loss(m, 'gru')} against the LSTM's {_loss(m, 'lstm')}"
    limit = m.get("comparable_nats", COMPARABLE)
    if abs(gap) <= limit:
        return (
            head
            + f": within {limit:.2f} nats per character, comparable, as Chung et al. found."
        )
    if gap < 0:
        return head + (
            f": the GRU is ahead by {-gap:.3f} nats per character, at least "
            f"comparable, as "
            "Chung et al. found (the GRU was ahead on some of their tasks too)."
        )
    return head + (
        f": the LSTM is ahead by {gap:.3f} nats per character, more than the "
        f"{limit:.2f} we "
        "call comparable, so Chung et al.'s finding did not hold at this budget."
    )


def transformer_claim(m: dict) -> str:
    """Vaswani et al. (2017): the Transformer trains faster, in parallel over positions.
    Radford et al. (2018) found that a Transformer decoder transfers better than an LSTM
    of its size (their ablation); the narrower question here is the loss per
    character."""
    ratio = m["transformer_tokens_per_s"] / m["lstm_tokens_per_s"]
    speed = (
        f"The GPT trains on {m['transformer_tokens_per_s']:,.0f} characters per second "
        f"against the "
        f"LSTM's {m['lstm_tokens_per_s']:,.0f}: "
    )
    speed += (
        f"{ratio:.1f} times as fast."
        if ratio > 1
        else f"{ratio:.2f} times the LSTM's speed, so at this width and on this CPU it is not the faster reader."
    )
    recurrent = min(("rnn", "lstm", "gru"), key=lambda k: m[f"{k}_val_loss"])
    name = PAPERS[recurrent][0]
    head = (
        f" It reaches {_loss(m, 'transformer')} nats per character against the best "
        f"recurrent "
        f"model's {_loss(m, recurrent)} ({name})"
    )
    if beats(m, "transformer", recurrent):
        tail = head + (
            ": the Transformer decoder is the better language model here, in line with "
            "Radford et al.'s finding that it beats an LSTM of its size."
        )
    else:
        tail = head + (
            ": at this scale the Transformer decoder is not the better language model, "
            "so Radford et al.'s Transformer-over-LSTM finding did not carry over here."
        )
    return speed + tail


CLAIMS: dict[str, Callable[[dict], str]] = {
    "bengio": bengio_claim,
    "mikolov": mikolov_claim,
    "lstm": lstm_claim,
    "gru": gru_claim,
    "transformer": transformer_claim,
}


def claims_table(m: dict) -> Table:
    """One row per paper's claim: what it said, the two numbers that test it, whether it
    held."""

    def held(ok: bool) -> str:
        return "yes" if ok else "no"

    recurrent = min(("rnn", "lstm", "gru"), key=lambda k: m[f"{k}_val_loss"])
    rows = [
        [
            "Bengio et al. 2003",
            "the NPLM beats the n-gram",
            f"{_loss(m, 'nplm')} vs {_loss(m, 'kn')}",
            held(beats(m, "nplm", "kn")),
        ],
        [
            "Mikolov et al. 2010; 2011",
            "the RNN LM beats the n-gram (2010) and the NPLM (2011)",
            f"{_loss(m, 'rnn')} vs {_loss(m, 'kn')}, {_loss(m, 'nplm')}",
            held(beats(m, "rnn", "kn") and beats(m, "rnn", "nplm")),
        ],
        [
            "Hochreiter & Schmidhuber 1997; Graves 2013",
            "the LSTM beats the plain RNN",
            f"{_loss(m, 'lstm')} vs {_loss(m, 'rnn')}",
            held(beats(m, "lstm", "rnn")),
        ],
        [
            "Chung et al. 2014",
            "the GRU is comparable to the LSTM (or better)",
            f"{_loss(m, 'gru')} vs {_loss(m, 'lstm')}",
            held(
                m["gru_val_loss"] - m["lstm_val_loss"]
                <= m.get("comparable_nats", COMPARABLE)
            ),
        ],
        [
            "Vaswani et al. 2017",
            "the Transformer trains faster per second",
            f"{m['transformer_tokens_per_s']:,.0f} vs {m['lstm_tokens_per_s']:,.0f} "
            f"characters/s",
            held(m["transformer_tokens_per_s"] > m["lstm_tokens_per_s"]),
        ],
        [
            "Radford et al. 2018",
            "a Transformer decoder beats a recurrent model of its size (GPT-1 measured "
            "transfer against "
            "an LSTM; here, loss)",
            f"{_loss(m, 'transformer')} vs {_loss(m, recurrent)} "
            f"({PAPERS[recurrent][0]})",
            held(beats(m, "transformer", recurrent)),
        ],
    ]
    for row, anchor in zip(rows, REGIMES, strict=True):
        row.append(f"[chapter 14](14-scaling.md#{anchor})")
    return Table(
        columns=[
            "paper",
            "claim",
            "valid nats/char (or characters/s)",
            "held here",
            "across scale",
        ],
        rows=rows,
    )


# the section of chapter 14 that reads each row of `claims_table` along the compute
# ladder
REGIMES = ("bengio", "mikolov", "lstm", "gru", "vaswani", "radford")


def rerender(recorded: dict) -> dict:
    """A recorded result (a ``--record`` file's dict) with its claims table and claim
    sentences written again from its own metrics by this module's code: wording changes,
    never numbers. Marks what it rewrote under ``"rerendered"``."""
    m = recorded["metrics"]
    out = dict(recorded)
    out["tables"] = {**recorded["tables"], "claims": asdict(claims_table(m))}
    out["text"] = {
        **recorded["text"],
        **{name: fn(m) for name, fn in CLAIMS.items()},
        "whole": whole_sentence(m),
    }
    out["rerendered"] = (
        "tables.claims and the claim sentences, from the recorded metrics"
    )
    return out


def whole_sentence(m: dict) -> str:
    """The table taken whole: do the counts or a network lead, and how the networks
    order."""
    nets = sorted(NEURAL, key=lambda k: m[f"{k}_val_loss"])
    best = nets[0]
    if beats(m, "kn", best):
        head = (
            f"The oldest model in the table is the hardest to beat: Kneser–Ney's "
            f"counts are "
            f"{m[f'{best}_val_loss'] - m['kn_val_loss']:.3f} nats per character ahead "
            f"of the best "
            f"network, the {PAPERS[best][0]}."
        )
    elif beats(m, best, "kn"):
        head = (
            f"The {PAPERS[best][0]} is the best model in the table, "
            f"{m['kn_val_loss'] - m[f'{best}_val_loss']:.3f} nats per character ahead "
            f"of Kneser–Ney."
        )
    else:
        head = f"The best network, the {PAPERS[best][0]}, and Kneser–Ney are tied."
    gated = beats(m, "lstm", "rnn") and beats(m, "gru", "rnn")
    tail = (
        " Among the networks, both gated recurrent models are ahead of the plain RNN"
        if gated
        else " Among the networks, the gates do not set the LSTM and the GRU clear of the plain RNN"
    )
    tail += (
        ", and the Transformer decoder is the best of them."
        if best == "transformer"
        else f", and the Transformer decoder is not the best of them (it ranks {nets.index('transformer') + 1} "
        f"of {len(nets)})."
    )
    return head + tail


def ranking_sentence(m: dict) -> str:
    """The six models from best to worst, in nats per character."""
    order = sorted(MODELS, key=lambda k: m[f"{k}_val_loss"])
    listed = ", ".join(f"{PAPERS[k][0]} {m[f'{k}_val_loss']:.3f}" for k in order)
    out = (
        f"From best to worst, in nats per character on the same "
        f"{m['valid_chars_scored']:,.0f} "
        f"validation characters: {listed} (a uniform guess costs "
        f"{m['uniform_nats']:.2f})."
    )
    worse = [PAPERS[k][0] for k in order if m[f"{k}_val_loss"] > m["uniform_nats"]]
    if worse:
        out += (
            f" {' and '.join(worse)} {'scores' if len(worse) == 1 else 'score'} worse "
            f"than the uniform "
            "guess: confident, and wrong on this text."
        )
    return out


def budget_sentence(m: dict) -> str:
    """What the budget amounted to for the networks: parameters, seconds, characters
    read."""
    seen = {k: m[f"{k}_tokens"] for k in NEURAL}
    most, least = max(seen, key=seen.get), min(seen, key=seen.get)
    return (
        f"Every network has {m['params_budget']:,.0f} parameters to within "
        f"{100 * m['max_params_deviation']:.1f}% and trained for "
        f"{m['seconds_budget']:g} s; in that "
        f"time the {PAPERS[most][0]} read the most characters ({seen[most]:,.0f}) and "
        f"the "
        f"{PAPERS[least][0]} the fewest ({seen[least]:,.0f}). Kneser–Ney counted all "
        f"{m['kn_tokens']:,.0f} training characters in {m['kn_seconds']:.1f} s and "
        f"stores "
        f"{m['kn_ngrams']:,.0f} n-grams."
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full"; ``seconds`` sets each network's
    training time (s)."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
