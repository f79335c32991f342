"""Chapter 7's experiment: the RNN LM against the NPLM and Kneser–Ney, alone and mixed.

Mikolov et al. (2010),
<https://www.isca-archive.org/interspeech_2010/mikolov10_interspeech.html>, claim that a
recurrent network beats a Kneser–Ney 5-gram on perplexity, and that mixing the two
(linear interpolation, token by token) beats both. On Mikolov's split of the Penn
Treebank the same group later reported a test perplexity of 124.7 for one RNN LM against
141.2 for KN5 (Mikolov et al. 2011, "Empirical evaluation and combination of advanced
language modeling techniques", Interspeech). This experiment:

1. on the word-level Penn Treebank (10k vocabulary built from train, as in chapters
5–6):
   fits KN5; trains chapter 6's NPLM and the RNN LM on the *same number of predicted
   tokens* (steps × tokens per step; `--seconds` caps each network's wall-clock) with
   the book's one loop (`airoad_book.train.fit`); scores the test tokens under all
   three; mixes each network with KN, λ chosen on valid (`choose_lambda` of chapter 6);
2. on character-level Shakespeare: the same RNN against a Kneser–Ney character model,
and
   their mixture, in bits per character.

The RNN trains with truncated backpropagation through time: `batchify` cuts the text
into B contiguous streams, `bptt_batches` walks them in windows of T tokens, and a small
stateful loss (`CarriedStateLoss` of `airoad_book.experiments.recurrent_training`, which
chapter 8 shares) carries the state from one window to the next, detached, so the
gradient stops at the window's edge while the state does not. Evaluation carries the
state through the whole validation or test stream, one stream, no resets.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from airoad_book.data import (
    EOS,
    UNK,
    Vocab,
    batchify,
    char_tokens,
    penn_treebank,
    shakespeare,
)
from airoad_book.device import device, seed_everything
from airoad_book.experiments.bengio_vs_ngram import Config as NPLMExperimentConfig
from airoad_book.experiments.bengio_vs_ngram import (
    Corpus,
    binned,
    choose_lambda,
    mix_log_probs,
    nplm_log_probs,
    perplexity,
    train_nplm,
)
from airoad_book.experiments.budget import config_for
from airoad_book.experiments.recurrent_training import CarriedStateLoss, endless_bptt
from airoad_book.models.ngram import KneserNeyLM
from airoad_book.models.rnnlm import RNNLM, RNNLMConfig
from airoad_book.results import Result, Table
from airoad_book.train import TrainConfig, fit

NAME = "rnn-lm"
CHAPTER = 7
SUMMARY = "RNN LM vs NPLM vs Kneser-Ney on PTB (same training time) and on Shakespeare chars, and mixtures"

# Published test perplexities on PTB, typed from the papers (not run here).
PUBLISHED = {"kn5": 141.2, "rnn": 124.7}  # Mikolov et al. (2011), Interspeech
EVAL_CHUNK = (
    4096  # tokens scored per call when a stream is evaluated: (1, 4096, V) logits
)


@dataclass(frozen=True)
class Config:
    """One budget's settings; sizes in tokens, steps or seconds as each comment says."""

    kn_order: int = 5  # n of the word-level Kneser–Ney baseline (Mikolov's KN5)
    hidden: int = 100  # H, the RNN's state size
    batch_size: int = 32  # B, parallel streams of truncated BPTT
    bptt: int = 20  # T, tokens per window: how far back the gradient reaches
    lr: float = 3e-3  # Adam's learning rate, both networks
    clip_norm: float | None = 1.0  # gradient clipping of the RNN (global L2 norm)
    schedule: str = "constant"  # learning-rate schedule of TrainConfig
    max_steps: int = 1_000_000  # optimizer steps of the RNN LM (and of the NPLM)
    nplm_steps: int | None = None  # optimizer steps of the NPLM; None: max_steps
    train_seconds: float | None = (
        None  # cap on the training wall-clock of EACH word-level network (s)
    )
    eval_every: int = 100  # steps between points of the validation curves
    patience: int | None = None  # early stopping, in evaluations without improvement
    curve_tokens: int | None = 5_000  # valid tokens the curves score; None: all
    nplm_context: int = 4  # n - 1 of the NPLM (chapter 6's shapes: n=5, m=30, h=100)
    nplm_embed: int = 30  # m
    nplm_hidden: int = 100  # h
    nplm_batch: int = 256  # windows per NPLM step
    train_tokens: int | None = None  # use only the first N PTB train tokens; None: all
    valid_tokens: int | None = 20_000  # valid tokens λ is chosen on; None: all
    test_tokens: int | None = None  # test tokens scored; None: all
    lambda_grid: int = 101  # λ = 0, 0.01, ..., 1
    char_order: int = 5  # n of the character Kneser–Ney model
    char_hidden: int = 200  # H of the character RNN
    char_batch: int = 32  # B for characters
    char_bptt: int = 50  # T for characters
    char_optimizer: str = (
        "sgd"  # plain SGD, as the paper; with Adam the character RNN's W grew fast
    )
    char_lr: float = 1.0  # its learning rate (the loss is a mean over B x T characters)
    char_steps: int = 1_000_000  # optimizer steps for characters
    char_seconds: float | None = None  # cap on the character RNN's wall-clock (s)
    char_train_tokens: int | None = (
        1_000_000  # Shakespeare train characters used; None: all 4.6M
    )
    char_eval_tokens: int | None = (
        100_000  # valid and test characters scored; None: all
    )
    curve_points: int = (
        200  # at most this many points of a (binned) training-loss curve
    )


CONFIGS = {
    # seconds of one core: each word-level network predicts the same 9,600 training
    # tokens (15 steps of 32 x 20 for the RNN, 150 of 64 windows for the NPLM), scored
    # on the first 10,000 valid and test tokens; 60 steps of the character RNN
    "quick": Config(
        max_steps=15,
        nplm_steps=150,
        nplm_batch=64,
        eval_every=5,
        curve_tokens=2_000,
        valid_tokens=10_000,
        test_tokens=10_000,
        char_steps=60,
        char_eval_tokens=20_000,
    ),
    # published scale: H = 200, up to 20 epochs with a decaying rate and early stopping
    # on all
    # of valid, the whole of Shakespeare; hours on a 2-core CPU, minutes on a GPU
    "full": Config(
        hidden=200,
        lr=1e-3,
        schedule="linear",
        max_steps=20 * 1452,
        train_seconds=None,
        eval_every=1452,
        patience=3,
        curve_tokens=None,
        valid_tokens=None,
        char_hidden=512,
        char_steps=20_000,
        char_seconds=None,
        char_train_tokens=None,
        char_eval_tokens=None,
    ),
}


# --------------------------------------------------------------------------- truncated
# BPTT


# --8<-- [start:scoring]
@torch.no_grad()
def rnn_log_probs(
    model: RNNLM, ids: torch.Tensor, first_id: int, chunk: int = EVAL_CHUNK
) -> np.ndarray:
    """ln P_RNN(w_t | everything before it) for every token of ``ids``: shape (N,).

    One stream, the state carried from its first token to its last. The first input is
    ``first_id`` (``<eos>``: a text starts where a sentence ended), so every token of
    ``ids`` is scored, the same tokens the n-gram model scores.
    """
    was_training = model.training
    model.eval()
    dev = model.W.device
    inputs = torch.cat([torch.tensor([first_id]), ids[:-1]]).to(
        dev
    )  # (N,) w(t): the token before
    state, out = model.init_state(1), []  # (1, H)
    for s in range(0, len(ids), chunk):
        logits, state = model(inputs[s : s + chunk].unsqueeze(0), state)  # (1, c, V)
        target = ids[s : s + chunk].to(dev)  # (c,)
        out.append(-F.cross_entropy(logits[0], target, reduction="none").cpu())
    model.train(was_training)
    return torch.cat(out).double().numpy()  # (N,)


# --8<-- [end:scoring]


def train_rnn(
    model: RNNLM,
    train: torch.Tensor,
    valid: torch.Tensor,
    first_id: int,
    *,
    batch_size: int,
    bptt: int,
    lr: float,
    clip_norm: float | None,
    schedule: str,
    max_steps: int,
    seconds: float | None,
    eval_every: int,
    patience: int | None,
    desc: str,
    optimizer: str = "adam",
):
    """Train ``model`` on the ``train`` stream with truncated BPTT; return its
    History."""
    dev = model.W.device
    config = TrainConfig(
        max_steps=max_steps,
        max_seconds=seconds,
        lr=lr,
        optimizer=optimizer,
        clip_norm=clip_norm,
        schedule=schedule,
        eval_every=min(eval_every, max_steps),
        patience=patience,
    )
    loss = CarriedStateLoss()
    batches = endless_bptt(
        batchify(train.to(dev), batch_size), bptt, loss
    )  # (B, T) windows
    return fit(
        model,
        batches,
        loss,
        config,
        evaluate=lambda m: -float(np.mean(rnn_log_probs(m, valid, first_id))),
        desc=desc,
    )


# --------------------------------------------------------------------------- the run


def _cap(*seconds: float | None) -> float | None:
    return min((s for s in seconds if s is not None), default=None)


def _binned(history, points: int) -> tuple[list[int], list[float]]:
    return binned(history.train_loss, history.step, points)


def word_level(config: Config, seed: int, seconds: float | None) -> dict:
    """KN5, the NPLM and the RNN on the Penn Treebank; log-probs, models and
    histories."""
    train = penn_treebank("train")[: config.train_tokens]
    vocab = Vocab.build(train)
    corpus = Corpus(
        vocab,
        vocab.encode(train),
        vocab.encode(penn_treebank("valid")[: config.valid_tokens]),
        vocab.encode(penn_treebank("test")[: config.test_tokens]),
    )
    V, eos = len(vocab), vocab.eos_id
    kn = KneserNeyLM(config.kn_order, V).fit(corpus.train.numpy())
    lp = {
        "kn": {
            s: kn.token_log_probs(getattr(corpus, s).numpy()) for s in ("valid", "test")
        }
    }
    cap = _cap(config.train_seconds, seconds)
    nplm_steps = config.nplm_steps or config.max_steps
    # the NPLM's curve gets its points after as many tokens as the RNN's
    nplm_every = max(1, config.eval_every * nplm_steps // config.max_steps)

    nplm_config = NPLMExperimentConfig(
        kn_order=config.kn_order,
        context=config.nplm_context,
        embed_dim=config.nplm_embed,
        hidden=config.nplm_hidden,
        batch_size=config.nplm_batch,
        lr=config.lr,
        schedule=config.schedule,
        max_steps=nplm_steps,
        max_seconds=cap,
        eval_every=nplm_every,
        patience=config.patience,
        curve_tokens=config.curve_tokens,
    )
    nplm, nplm_history = train_nplm(nplm_config, corpus, seed, None)
    lp["nplm"] = {
        s: nplm_log_probs(nplm, getattr(corpus, s), eos) for s in ("valid", "test")
    }

    seed_everything(seed)
    rnn = RNNLM(RNNLMConfig(vocab_size=V, hidden=config.hidden)).to(device())
    rnn_history = train_rnn(
        rnn,
        corpus.train,
        corpus.valid[: config.curve_tokens],
        eos,
        batch_size=config.batch_size,
        bptt=config.bptt,
        lr=config.lr,
        clip_norm=config.clip_norm,
        schedule=config.schedule,
        max_steps=config.max_steps,
        seconds=cap,
        eval_every=config.eval_every,
        patience=config.patience,
        desc="RNN LM on PTB",
    )
    lp["rnn"] = {
        s: rnn_log_probs(rnn, getattr(corpus, s), eos) for s in ("valid", "test")
    }
    kn_curve = -float(np.mean(lp["kn"]["valid"][: config.curve_tokens]))
    return {
        "corpus": corpus,
        "lp": lp,
        "kn": kn,
        "nplm": nplm,
        "rnn": rnn,
        "history": {"nplm": nplm_history, "rnn": rnn_history},
        "kn_curve": kn_curve,
    }


def char_level(config: Config, seed: int, seconds: float | None) -> dict:
    """A Kneser–Ney character model and the RNN on Shakespeare; log-probs and the
    history."""
    train = char_tokens(shakespeare("train"))[: config.char_train_tokens]
    vocab = Vocab.build(
        train, specials=(UNK, EOS)
    )  # <eos> only starts the first stream
    cut = config.char_eval_tokens
    ids = {
        "train": vocab.encode(train),
        "valid": vocab.encode(char_tokens(shakespeare("valid"))[:cut]),
        "test": vocab.encode(char_tokens(shakespeare("test"))[:cut]),
    }
    kn = KneserNeyLM(config.char_order, len(vocab)).fit(ids["train"].numpy())
    lp = {"kn": {s: kn.token_log_probs(ids[s].numpy()) for s in ("valid", "test")}}
    seed_everything(seed)
    rnn = RNNLM(RNNLMConfig(vocab_size=len(vocab), hidden=config.char_hidden)).to(
        device()
    )
    history = train_rnn(
        rnn,
        ids["train"],
        ids["valid"][: config.curve_tokens],
        vocab.eos_id,
        batch_size=config.char_batch,
        bptt=config.char_bptt,
        lr=config.char_lr,
        optimizer=config.char_optimizer,
        clip_norm=config.clip_norm,
        schedule=config.schedule,
        max_steps=config.char_steps,
        seconds=_cap(config.char_seconds, seconds),
        eval_every=config.eval_every,
        patience=config.patience,
        desc="RNN LM on Shakespeare",
    )
    lp["rnn"] = {s: rnn_log_probs(rnn, ids[s], vocab.eos_id) for s in ("valid", "test")}
    return {
        "lp": lp,
        "rnn": rnn,
        "history": history,
        "vocab": vocab,
        "kn_curve": -float(np.mean(lp["kn"]["valid"][: config.curve_tokens])),
        "train_chars": len(ids["train"]),
    }


def mixtures(lp: dict, points: int, pairs: list[tuple[str, str]]) -> dict:
    """For each (network, n-gram) pair: λ chosen on valid, mixed log-probs on valid and
    test."""
    out = {}
    for net, ngram in pairs:
        lam, curve = choose_lambda(lp[net]["valid"], lp[ngram]["valid"], points)
        out[f"{net}+{ngram}"] = {
            "lambda": lam,
            "curve": curve.tolist(),
            **{
                s: mix_log_probs(lp[net][s], lp[ngram][s], lam)
                for s in ("valid", "test")
            },
        }
    return out


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Fit KN, train the NPLM and the RNN for the same time, mix, score; then
    characters."""
    w = word_level(config, seed, seconds)
    lp, hist = w["lp"], w["history"]
    mix = mixtures(lp, config.lambda_grid, [("rnn", "kn"), ("nplm", "kn")])
    for key, m in mix.items():
        lp[key] = m
    # all three: λ's for the two networks on valid, the rest to KN — a small grid search
    lp["all"] = three_way(lp, config.lambda_grid)
    ppl = {(k, s): perplexity(lp[k][s]) for k in lp for s in ("valid", "test")}

    c = char_level(config, seed, seconds)
    cmix = mixtures(c["lp"], config.lambda_grid, [("rnn", "kn")])["rnn+kn"]
    c["lp"]["mix"] = cmix
    bpc = {
        (k, s): float(-np.mean(c["lp"][k][s]) / math.log(2))
        for k in c["lp"]
        for s in ("valid", "test")
    }

    tokens_per_step = {
        "rnn": config.batch_size * config.bptt,
        "nplm": config.nplm_batch,
    }
    n_train = len(w["corpus"].train)
    metrics = {
        "kn_ppl": ppl["kn", "test"],
        "nplm_ppl": ppl["nplm", "test"],
        "rnn_ppl": ppl["rnn", "test"],
        "rnn_kn_ppl": ppl["rnn+kn", "test"],
        "nplm_kn_ppl": ppl["nplm+kn", "test"],
        "all_ppl": ppl["all", "test"],
        "rnn_kn_lambda": mix["rnn+kn"]["lambda"],
        "nplm_kn_lambda": mix["nplm+kn"]["lambda"],
        "kn_valid_ppl": ppl["kn", "valid"],
        "rnn_valid_ppl": ppl["rnn", "valid"],
        "nplm_valid_ppl": ppl["nplm", "valid"],
        "rnn_kn_valid_ppl": ppl["rnn+kn", "valid"],
        "rnn_params": w["rnn"].num_parameters,
        "nplm_params": w["nplm"].num_parameters,
        "kn_ngrams": w["kn"].num_ngrams,
        "vocab_size": len(w["corpus"].vocab),
        "valid_tokens": len(w["corpus"].valid),
        "test_tokens": len(w["corpus"].test),
        "published_kn5_ppl": PUBLISHED["kn5"],
        "published_rnn_ppl": PUBLISHED["rnn"],
        "char_kn_bpc": bpc["kn", "test"],
        "char_rnn_bpc": bpc["rnn", "test"],
        "char_mix_bpc": bpc["mix", "test"],
        "char_mix_lambda": cmix["lambda"],
        "char_rnn_steps": c["history"].steps_done,
        "char_vocab_size": len(c["vocab"]),
        "char_train_tokens": c["train_chars"],
    }
    for net in ("rnn", "nplm"):
        metrics[f"{net}_steps"] = hist[net].steps_done
        metrics[f"{net}_epochs"] = hist[net].steps_done * tokens_per_step[net] / n_train
    grads = np.array(hist["rnn"].grad_norm, dtype=float)
    metrics["clip_norm"] = config.clip_norm or 0.0  # 0: no clipping
    metrics["rnn_clipped_percent"] = (
        100.0 * float(np.mean(grads > config.clip_norm)) if config.clip_norm else 0.0
    )
    metrics = {k: float(v) for k, v in metrics.items()}

    rnn_label = f"RNN LM (H={config.hidden}, T={config.bptt})"
    nplm_label = f"NPLM (n={config.nplm_context + 1}, m={config.nplm_embed}, h={config.nplm_hidden})"
    rows = [
        (f"Kneser–Ney {config.kn_order}-gram", w["kn"].num_ngrams, "kn"),
        (nplm_label, w["nplm"].num_parameters, "nplm"),
        (rnn_label, w["rnn"].num_parameters, "rnn"),
        (f"NPLM + KN (λ = {mix['nplm+kn']['lambda']:.2f})", None, "nplm+kn"),
        (f"RNN LM + KN (λ = {mix['rnn+kn']['lambda']:.2f})", None, "rnn+kn"),
        (
            f"RNN LM + NPLM + KN (λ = "
            f"{', '.join(f'{x:.2f}' for x in lp['all']['lambdas'])})",
            None,
            "all",
        ),
    ]
    steps = {
        "kn": "—",
        "nplm": f"{hist['nplm'].steps_done:,}",
        "rnn": f"{hist['rnn'].steps_done:,}",
    }
    table = Table(
        columns=["model", "parameters", "training steps", "valid ppl", "test ppl"],
        rows=[
            [
                label,
                "—" if n is None else f"{n:,}",
                steps.get(k, "—"),
                ppl[k, "valid"],
                ppl[k, "test"],
            ]
            for label, n, k in rows
        ],
        formats=["", "", "", ".1f", ".1f"],
    )
    char_table = Table(
        columns=["model", "valid bits/char", "test bits/char"],
        rows=[
            [
                f"Kneser–Ney {config.char_order}-gram on characters",
                bpc["kn", "valid"],
                bpc["kn", "test"],
            ],
            [
                f"RNN LM (H={config.char_hidden}, T={config.char_bptt})",
                bpc["rnn", "valid"],
                bpc["rnn", "test"],
            ],
            [
                f"RNN LM + KN (λ = {cmix['lambda']:.2f})",
                bpc["mix", "valid"],
                bpc["mix", "test"],
            ],
        ],
        formats=["", ".3f", ".3f"],
    )
    curves = {}
    for net in ("nplm", "rnn"):
        h = hist[net]
        s, v = _binned(h, config.curve_points)
        curves[net] = {
            "step": s,
            "train_loss": v,
            "eval_step": h.eval_step,
            "valid_loss": h.eval_loss,
            "tokens_per_step": tokens_per_step[net],
            "grad_norm": h.grad_norm,
            "seconds": h.seconds,
        }
    ch = c["history"]
    s, v = _binned(ch, config.curve_points)
    series = {
        "curves": curves,
        "kn_valid_loss": w["kn_curve"],
        "curve_tokens": len(w["corpus"].valid[: config.curve_tokens]),
        "lambda": {
            "lambda": np.linspace(0, 1, config.lambda_grid).tolist(),
            "rnn": mix["rnn+kn"]["curve"],
            "nplm": mix["nplm+kn"]["curve"],
        },
        "char_curve": {
            "step": s,
            "train_loss": v,
            "eval_step": ch.eval_step,
            "valid_loss": ch.eval_loss,
            "kn_valid_loss": c["kn_curve"],
        },
        "clip_norm": config.clip_norm,
        "config": asdict(config),
    }
    # wall-clock differs from run to run, so it is kept out of the metrics
    series["timing"] = {
        net: {
            "train_seconds": hist[net].seconds,
            "eval_seconds": hist[net].eval_seconds,
            "stop_reason": hist[net].stop_reason,
        }
        for net in ("nplm", "rnn")
    }
    series["timing"]["char_rnn"] = {
        "train_seconds": ch.seconds,
        "stop_reason": ch.stop_reason,
    }
    text = {
        "verdict": verdict(metrics, config),
        "budget": budget_sentence(metrics, config, series["timing"]),
        "chars": char_verdict(metrics, config),
    }
    return Result(
        metrics=metrics,
        tables={"test": table, "chars": char_table},
        series=series,
        text=text,
    )


def three_way(lp: dict, points: int) -> dict:
    """The mixture of RNN, NPLM and KN, weights chosen on valid from a coarse grid."""
    grid = np.linspace(0, 1, min(points, 21))
    best, lams = math.inf, (0.0, 0.0)
    for a in grid:
        for b in grid[grid <= 1 - a + 1e-12]:
            rest = max(0.0, 1 - a - b)
            with np.errstate(divide="ignore"):
                mixed = np.logaddexp.reduce(
                    [
                        np.log(a) + lp["rnn"]["valid"],
                        np.log(b) + lp["nplm"]["valid"],
                        np.log(rest) + lp["kn"]["valid"],
                    ],
                    axis=0,
                )
            p = perplexity(mixed)
            if p < best:
                best, lams = p, (float(a), float(b))
    a, b = lams
    rest = max(0.0, 1 - a - b)
    with np.errstate(divide="ignore"):
        out = {
            s: np.logaddexp.reduce(
                [
                    np.log(a) + lp["rnn"][s],
                    np.log(b) + lp["nplm"][s],
                    np.log(rest) + lp["kn"][s],
                ],
                axis=0,
            )
            for s in ("valid", "test")
        }
    return {**out, "lambdas": [a, b, rest]}


def verdict(m: dict, config: Config) -> str:
    """Whether the paper's claims held in this run, from the numbers."""
    kn, rnn, nplm, mix = m["kn_ppl"], m["rnn_ppl"], m["nplm_ppl"], m["rnn_kn_ppl"]
    order = f"KN{config.kn_order}"
    first = (
        f"After the same number of training tokens, the RNN LM reaches a test "
        f"perplexity of {rnn:.1f}, the NPLM {nplm:.1f}"
    )
    first += (
        ": the recurrent network is ahead." if rnn < nplm else ": the NPLM is ahead."
    )
    if rnn < kn:
        second = f"It beats {order} ({kn:.1f}) alone, as the paper's claim says."
    else:
        second = (
            f"It does not beat {order} ({kn:.1f}) alone after {m['rnn_epochs']:.3f} "
            f"epochs of training, so "
            "the paper's first claim (an RNN LM below KN5) did not hold in this run."
        )
    lam = m["rnn_kn_lambda"]
    if 0 < lam < 1 and mix < min(kn, rnn):
        third = (
            f"Mixed with {order} (λ = {lam:.2f} on the RNN, chosen on valid), the RNN "
            f"LM reaches {mix:.1f}, "
            f"{100 * (kn - mix) / kn:.1f}% below {order}: the mixture claim held."
        )
    else:
        third = f"Mixed with {order} (λ = {lam:.2f}) it reaches {mix:.1f}, not below both: the mixture claim did not hold."
    return f"{first} {second} {third}"


def budget_sentence(m: dict, config: Config, timing: dict) -> str:
    """What each network's training amounted to: the time, the steps, the share of an
    epoch."""
    return (
        f"The RNN LM trained for {int(m['rnn_steps']):,} steps of "
        f"{config.batch_size} × {config.bptt} tokens ({m['rnn_epochs']:.3f} epochs) in "
        f"{timing['rnn']['train_seconds']:.1f} s of wall-clock, the NPLM for "
        f"{int(m['nplm_steps']):,} steps of {config.nplm_batch} windows "
        f"({m['nplm_epochs']:.3f} epochs) in {timing['nplm']['train_seconds']:.1f} s."
    )


def char_verdict(m: dict, config: Config) -> str:
    """The character-level comparison in a sentence or two."""
    kn, rnn, mix = m["char_kn_bpc"], m["char_rnn_bpc"], m["char_mix_bpc"]
    head = (
        f"On Shakespeare's characters the RNN LM ({int(m['char_rnn_steps']):,} steps) "
        f"scores {rnn:.3f} bits "
        f"per character against {kn:.3f} for the Kneser–Ney {config.char_order}-gram"
    )
    head += ": the network wins." if rnn < kn else ": the counts win at this budget."
    tail = f" Mixed (λ = {m['char_mix_lambda']:.2f}) they reach {mix:.3f}" + (
        ", below both." if mix < min(kn, rnn) - 1e-9 else ", not below both."
    )
    return head + tail


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """Run the experiment at budget "quick" or "full"; `seconds` caps each network's
    training."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
