"""Chapter 12's experiment: a small GPT against chapter 8's LSTM on Shakespeare, and
what it costs.

Both language models read the book's Shakespeare split one character at a time (the
character vocabulary of chapter 8, built from the training text), have the same number
of parameters (the LSTM's hidden size is chosen to match the GPT's count, with
`hidden_for_parameters`) and get the same training wall-clock. Each learns with AdamW
(at its own peak rate), a short linear warm-up and a cosine decay to a tenth of it,
timed to end when the time does: a few probe steps measure the seconds per step first,
and the step budget follows from them.

- The GPT trains on random blocks of ``context`` characters (every position predicts its
  successor); the LSTM on chapter 8's carried-state truncated BPTT.
- Validation loss is in nats per character on the validation split (Othello and A
  Midsummer Night's Dream, never seen in training). The GPT reads it in windows of its
  context sliding by half a context, and scores only the second half of each window (all
  of the first), so every character is predicted from at least half a context of text;
  the LSTM carries its state through the whole split.
- What the GPT's training cost is counted with `airoad_book.cost` (Kaplan et al.'s FLOPs
  per token times the tokens trained on) and divided by the training seconds: the achieved
  FLOP/s, set against `matmul_peak_gflops` measured in the same run.
- The trained GPT writes samples with greedy decoding, temperature, top-k and nucleus
  sampling, and generates a context's worth of text with and without its KV cache, timed
  step by step (the same tokens both ways).

``seconds`` (the CLI's ``--seconds``) sets the training wall-clock of each model; given
a budget longer than the config's, the run is a benchmark: the final validation loss is
then measured on the whole validation split.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from airoad_book.cost import matmul_peak_gflops, training_flops_per_token
from airoad_book.data import (
    Vocab,
    batchify,
    char_tokens,
    lm_windows,
    random_batches,
    shakespeare,
)
from airoad_book.decode import generate
from airoad_book.device import seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.experiments.recurrent_training import (
    CarriedStateLoss,
    endless_bptt,
    evaluate_streams,
)
from airoad_book.metrics import bits
from airoad_book.models.gpt import GPT, CachedStep, GPTConfig, RecomputeStep
from airoad_book.models.lstm import RecurrentLM, hidden_for_parameters
from airoad_book.results import Result, Table
from airoad_book.train import (
    History,
    TimedReplan,
    TrainConfig,
    fit,
    make_optimizer,
    make_schedule,
    train_step,
)

NAME = "gpt-shakespeare"
CHAPTER = 12
SUMMARY = "a small GPT vs chapter 8's LSTM on character-level Shakespeare at equal parameters and wall-clock; sampling, KV cache, FLOPs"

# (name on the page, keyword arguments of decode.generate)
STRATEGIES: tuple[tuple[str, dict], ...] = (
    ("greedy (top-k = 1)", {"top_k": 1}),
    ("temperature 1.0", {"temperature": 1.0}),
    ("temperature 0.7", {"temperature": 0.7}),
    ("top-k = 5", {"top_k": 5}),
    ("nucleus, top-p = 0.9", {"top_p": 0.9}),
)


@dataclass(frozen=True)
class Config:
    """One budget's settings. The model's shape is the same at every budget: only time
    changes."""

    train_chars: int | None = (
        None  # the first N characters of the training split; None: all
    )
    valid_chars: int | None = (
        4_096  # characters of valid the curve's evaluations read; None: all
    )
    context: int = 128  # T, characters the GPT sees (its blocks and its position table)
    d_model: int = 128  # C
    num_heads: int = 4  # H (head size D = 32)
    num_layers: int = 4  # L
    batch_size: int = (
        16  # GPT blocks per step: 16 × 128 = 2,048 tokens, the rows of every matmul
    )
    lr: float = (
        5e-3  # the GPT's peak learning rate (AdamW); 3e-3 leaves the first plateau
    )
    # sooner in a few seconds, but ends two minutes 0.06 nats/char worse
    lstm_lr: float = 5e-3  # the LSTM's peak learning rate (chapter 8's)
    warmup: float = 0.05  # share of the steps spent warming up (at least one step)
    clip_norm: float = 1.0  # global gradient-norm clip
    seconds: float = 6.0  # training wall-clock of each model (s), evaluation excluded
    max_steps: int = 200_000  # a step cap as well
    eval_points: int = 8  # validation evaluations along each run
    lstm_embed: int = 32  # the LSTM's E (chapter 8's)
    lstm_batch: int = 32  # the LSTM's parallel streams (chapter 8's)
    lstm_bptt: int = 64  # the LSTM's truncation window (chapter 8's)
    probe_steps: int = 3  # timed steps (after one warm-up step) that set the first plan
    replan_at: tuple[float, ...] = (
        0.1,
        0.4,
        0.7,
    )  # shares of the time: re-plan the steps
    prompt: str = "OTHELLO.\n"  # what every sample starts from
    sample_chars: int = 200  # characters per sample
    kv_repeats: int = (
        3  # timed generations each way; the fastest step at each position counts
    )
    peak_size: int = 1024  # the square matmul that measures the peak
    peak_repeats: int = 10
    score_all_valid: bool = (
        False  # final losses on the whole valid split (else the curve's part)
    )


CONFIGS = {
    # the training is wall-clock by design (the race is the chapter's subject); the
    # curves score 4,096 validation characters (the evaluations are off the clock)
    "quick": Config(),
    "full": Config(
        seconds=120.0, valid_chars=16_384, eval_points=24, score_all_valid=True
    ),
}


# --------------------------------------------------------------------------- data


def load_data(config: Config) -> tuple[Vocab, Tensor, Tensor]:
    """The vocabulary (characters of the training text) and the two splits as id streams
    (N,)."""
    train_text = shakespeare("train")[: config.train_chars]
    vocab = Vocab.build(char_tokens(train_text))
    valid_text = shakespeare("valid")
    return (
        vocab,
        vocab.encode(char_tokens(train_text)),
        vocab.encode(char_tokens(valid_text)),
    )


# --8<-- [start:evaluate]
@torch.no_grad()
def evaluate_windows(model: GPT, ids: Tensor, batch: int = 64) -> float:
    """Mean cross-entropy in nats per token of a GPT over a stream of ids (N,).

    Windows of T = context ids slide by T/2; the first window scores all its positions,
    each later one only its second half, so every token but the first T/2 is predicted
    from at least T/2 tokens of context (non-overlapping blocks would give the first
    token of each block none at all). A tail shorter than T/2 is left out.
    """
    T = model.config.context
    s = max(1, T // 2)
    if len(ids) < T + 1:
        raise ValueError(
            f"need at least context + 1 = {T + 1} ids to evaluate; got {len(ids)}"
        )
    ids = ids.to(next(model.parameters()).device)  # scored where the model lives
    x = ids[:-1].unfold(0, T, s)  # (N_w, T) windows starting at 0, s, 2s, …
    y = ids[1:].unfold(0, T, s)  # (N_w, T) their targets
    weight = torch.zeros(x.shape, device=x.device)  # (N_w, T) which predictions count
    weight[:, T - s :] = 1.0
    weight[0] = 1.0
    total = 0.0
    for i in range(0, len(x), batch):
        logits = model(x[i : i + batch])  # (b, T, V)
        nll = F.cross_entropy(
            logits.transpose(1, 2), y[i : i + batch], reduction="none"
        )  # (b, T)
        total += (nll * weight[i : i + batch]).sum().item()
    return total / weight.sum().item()


# --8<-- [end:evaluate]


def gpt_loss(model: nn.Module, batch: tuple[Tensor, Tensor]) -> Tensor:
    """Mean cross-entropy (nats per token) of next-token logits for a batch x, y of (B,
    T) ids."""
    x, y = batch
    logits = model(x)  # (B, T, V)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


# --------------------------------------------------------------------------- training


def seconds_per_step(model: nn.Module, batches, loss_fn, probe_steps: int = 3) -> float:
    """Seconds one AdamW step of ``model`` takes: the median of ``probe_steps`` timed
    steps of a copy of it (after one warm-up step, not counted), on batches drawn from
    ``batches``.

    Each probe step is a whole `train_step`, gradient clipping and schedule included, as
    the training loop runs it. The model itself is left untouched; chapter 13 uses the
    same probe for every model.
    """
    if probe_steps < 1:
        raise ValueError(f"probe_steps must be >= 1; got {probe_steps}")
    probe = copy.deepcopy(model).train()
    config = TrainConfig(
        max_steps=probe_steps + 1, lr=1e-9, optimizer="adamw", clip_norm=1.0
    )
    optimizer = make_optimizer(probe, config)
    schedule = make_schedule(optimizer, config)
    times = []
    for _ in range(probe_steps + 1):
        batch = next(batches)
        started = time.perf_counter()
        train_step(probe, batch, loss_fn, optimizer, schedule, config)
        times.append(time.perf_counter() - started)
    return sorted(times[1:])[len(times[1:]) // 2]  # the median of the timed steps


# --8<-- [start:planner]
def train_for(
    model: nn.Module,
    batches,
    loss_fn,
    evaluate,
    seconds: float,
    lr: float,
    config: Config,
    desc: str,
    probe_batches=None,
) -> tuple[History, int, int]:
    """Train with AdamW, warm-up and cosine decay timed to end after ``seconds`` of
    training.

    A probe of a few steps plans the run (warm-up, evaluations, a first step budget);
    at a tenth of the time and twice more, `TimedReplan` re-plans the budget from the
    run's own steps.
    Returns the History, the steps the schedule was finally planned for, and the probe's
    first plan.
    """
    per_step = seconds_per_step(
        model, probe_batches or batches, loss_fn, config.probe_steps
    )
    steps = max(2, min(config.max_steps, int(seconds / per_step)))  # the probe's plan
    train = TrainConfig(
        max_steps=steps,
        max_seconds=seconds,
        lr=lr,
        optimizer="adamw",
        warmup_steps=max(1, round(config.warmup * steps)),
        schedule="cosine",
        min_lr=lr / 10,
        clip_norm=config.clip_norm,
        eval_every=max(1, steps // config.eval_points),
        restore_best=False,
    )
    replan = TimedReplan(seconds, at=config.replan_at, cap=config.max_steps)
    history = fit(
        model, batches, loss_fn, train, evaluate=evaluate, desc=desc, replan=replan
    )
    return history, replan.planned or steps, steps


# --8<-- [end:planner]


def gpt_config(vocab_size: int, config: Config) -> GPTConfig:
    """The GPT's shape for this experiment."""
    return GPTConfig(
        vocab_size=vocab_size,
        context=config.context,
        d_model=config.d_model,
        num_heads=config.num_heads,
        num_layers=config.num_layers,
    )


def matched_lstm(vocab_size: int, target: int, config: Config) -> RecurrentLM:
    """Chapter 8's one-layer LSTM language model with about ``target`` parameters."""
    H = hidden_for_parameters(
        "lstm",
        target,
        config.lstm_embed,
        vocab_size,
        fixed=vocab_size * config.lstm_embed,
    )
    return RecurrentLM("lstm", vocab_size, config.lstm_embed, H)


def _curve(history: History) -> dict:
    """Validation loss against training step and (estimated) training seconds."""
    per_step = history.seconds / max(history.steps_done, 1)
    return {
        "eval_step": history.eval_step,
        "valid_nats": history.eval_loss,
        "eval_seconds": [s * per_step for s in history.eval_step],
    }


# --------------------------------------------------------------------------- sampling
# and the cache


class _TimedStep:
    """Wraps a step_fn and records the seconds of each call."""

    def __init__(self, step) -> None:
        self.step, self.times = step, []

    def __call__(self, ids: Tensor) -> Tensor:
        started = time.perf_counter()
        out = self.step(ids)
        self.times.append(time.perf_counter() - started)
        return out


def kv_cache_timing(model: GPT, prompt: list[int], repeats: int) -> dict:
    """Greedy generation up to the full context, with and without the cache, timed per
    step.

    Returns per-position seconds (the fastest of ``repeats`` runs at each position), the
    tokens/s of each way and whether the two produced the same tokens.
    """
    model.eval()
    steps = model.config.context - len(prompt)
    out = {}
    for name, make in (("recompute", RecomputeStep), ("cached", CachedStep)):
        runs = []
        for _ in range(repeats):
            timed = _TimedStep(make(model))
            tokens = generate(timed, prompt, steps, top_k=1)
            runs.append(timed.times)
        per_step = [min(ts) for ts in zip(*runs)]
        out[name] = {
            "tokens": tokens,
            "seconds": per_step,
            "tokens_per_s": steps / sum(per_step),
        }
    out["position"] = list(range(len(prompt), len(prompt) + steps))
    out["same_tokens"] = out["recompute"]["tokens"] == out["cached"]["tokens"]
    return out


def samples(model: GPT, vocab: Vocab, config: Config, seed: int) -> dict[str, str]:
    """One sample per decoding strategy, each from the same prompt and a generator
    seeded alike."""
    model.eval()
    prompt = vocab.encode(char_tokens(config.prompt)).tolist()
    out = {}
    for name, kwargs in STRATEGIES:
        gen = torch.Generator().manual_seed(seed)
        ids = generate(
            CachedStep(model), prompt, config.sample_chars, generator=gen, **kwargs
        )
        out[name] = "".join(vocab.decode(ids))
    return out


def _cell_text(s: str) -> str:
    """A sample as one Markdown table cell: newlines as ↵, nothing that breaks the
    table; a sample of blanks only (a model that has learned little more than that
    spaces are common) is written as a count of them, which a table cell would otherwise
    show as nothing."""
    if not s.strip():
        return f"␣ × {len(s)} (blanks only)"
    return (
        s.replace("|", "¦").replace("\n", " ↵ ").replace("*", "\\*").replace("_", "\\_")
    )


# --------------------------------------------------------------------------- the run


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train the GPT and the LSTM for the same time; compare; count the GPT's FLOP/s;
    sample."""
    c = config
    budget = c.seconds if seconds is None else seconds
    benchmark = (
        c.score_all_valid or budget > c.seconds
    )  # a longer run: score the whole valid split
    vocab, train, valid = load_data(c)
    V = len(vocab)
    curve_valid = valid[: c.valid_chars]
    peak = matmul_peak_gflops(c.peak_size, c.peak_repeats)

    # the GPT
    gen = seed_everything(seed)
    gcfg = gpt_config(V, c)
    gpt = GPT(gcfg)
    blocks = lm_windows(train, c.context)  # (N, T) each, non-overlapping
    g_batches = random_batches(*blocks, batch_size=c.batch_size, generator=gen)
    g_hist, g_planned, g_probe_plan = train_for(
        gpt,
        g_batches,
        gpt_loss,
        lambda m: evaluate_windows(m, curve_valid),
        budget,
        c.lr,
        c,
        "GPT on Shakespeare",
    )
    gpt.eval()
    g_val = evaluate_windows(gpt, valid) if benchmark else g_hist.eval_loss[-1]
    g_tokens = g_hist.steps_done * c.batch_size * c.context
    flops_token = training_flops_per_token(gcfg)
    achieved = g_tokens * flops_token / g_hist.seconds / 1e9

    # the LSTM, same parameters and time
    seed_everything(seed)
    lstm = matched_lstm(V, gpt.num_parameters, c)
    streams = batchify(train, c.lstm_batch)  # (B, L)
    l_valid = batchify(curve_valid, c.lstm_batch)
    loss = CarriedStateLoss()
    l_hist, l_planned, _ = train_for(
        lstm,
        endless_bptt(streams, c.lstm_bptt, loss),
        loss,
        lambda m: evaluate_streams(m, l_valid, c.lstm_bptt),
        budget,
        c.lstm_lr,
        c,
        "LSTM on Shakespeare",
        probe_batches=endless_bptt(streams, c.lstm_bptt, CarriedStateLoss()),
    )
    lstm.eval()
    l_val = (
        evaluate_streams(lstm, batchify(valid, c.lstm_batch), c.lstm_bptt)
        if benchmark
        else l_hist.eval_loss[-1]
    )
    l_tokens = l_hist.steps_done * c.lstm_batch * c.lstm_bptt

    # sampling and the cache
    text = samples(gpt, vocab, c, seed)
    kv = kv_cache_timing(
        gpt, vocab.encode(char_tokens(c.prompt)).tolist(), c.kv_repeats
    )

    metrics = {
        "val_loss": g_val,
        "val_bpc": bits(g_val),
        "seconds": g_hist.seconds,
        "params": gpt.num_parameters,
        "tokens_per_s": g_tokens / g_hist.seconds,
        "train_tokens": g_tokens,
        "steps": g_hist.steps_done,
        "planned_steps": g_planned,
        "probe_planned_steps": g_probe_plan,
        "lstm_planned_steps": l_planned,
        "flops_per_token": flops_token,
        "train_flops": g_tokens * flops_token,
        "achieved_gflops": achieved,
        "matmul_peak_gflops": peak,
        "peak_share": achieved / peak,
        "lstm_val_loss": l_val,
        "lstm_val_bpc": bits(l_val),
        "lstm_params": lstm.num_parameters,
        "lstm_hidden": lstm.rnn.hidden_size,
        "lstm_seconds": l_hist.seconds,
        "lstm_tokens_per_s": l_tokens / l_hist.seconds,
        "lstm_steps": l_hist.steps_done,
        "lstm_train_tokens": l_tokens,
        "kv_tokens_per_s": kv["cached"]["tokens_per_s"],
        "recompute_tokens_per_s": kv["recompute"]["tokens_per_s"],
        "kv_speedup": kv["cached"]["tokens_per_s"] / kv["recompute"]["tokens_per_s"],
        "kv_same_tokens": float(kv["same_tokens"]),
        "vocab_size": V,
        "uniform_nats": math.log(V),
        "benchmark": float(benchmark),
        "valid_chars_scored": len(valid) if benchmark else len(curve_valid),
    }
    metrics = {k: float(v) for k, v in metrics.items()}
    tables = {
        "race": Table(
            columns=[
                "model",
                "parameters",
                "steps",
                "characters trained on",
                "train seconds",
                "characters / s",
                "valid nats/char",
                "valid bits/char",
            ],
            rows=[
                [
                    f"GPT (L={c.num_layers}, C={c.d_model}, H={c.num_heads}, "
                    f"T={c.context})",
                    gpt.num_parameters,
                    g_hist.steps_done,
                    g_tokens,
                    g_hist.seconds,
                    metrics["tokens_per_s"],
                    g_val,
                    bits(g_val),
                ],
                [
                    f"LSTM (E={c.lstm_embed}, H={lstm.rnn.hidden_size})",
                    lstm.num_parameters,
                    l_hist.steps_done,
                    l_tokens,
                    l_hist.seconds,
                    metrics["lstm_tokens_per_s"],
                    l_val,
                    bits(l_val),
                ],
            ],
            formats=["", ",d", ",d", ",d", ".1f", ",.0f", ".3f", ".3f"],
        ),
        "samples": Table(
            columns=["decoding", f"the GPT, after {c.prompt.strip()!r}"],
            rows=[[name, _cell_text(s)] for name, s in text.items()],
        ),
        "throughput": Table(
            columns=["", "value"],
            rows=[
                ["training FLOPs per token (6N + 6·L·T·C + 6·C·V)", f"{flops_token:,}"],
                ["tokens trained on per second", f"{metrics['tokens_per_s']:,.0f}"],
                [
                    "achieved GFLOP/s (counted FLOPs / training seconds)",
                    f"{achieved:.1f}",
                ],
                ["fp32 matmul peak GFLOP/s, measured in the same run", f"{peak:.1f}"],
                ["fraction of the measured peak", f"{achieved / peak:.0%}"],
            ],
        ),
        "kv": Table(
            columns=["generation", "tokens / s", "tokens equal"],
            rows=[
                [
                    "recomputing the whole window every step",
                    metrics["recompute_tokens_per_s"],
                    "",
                ],
                [
                    "with the KV cache",
                    metrics["kv_tokens_per_s"],
                    "yes" if kv["same_tokens"] else "no",
                ],
            ],
            formats=["", ",.0f", ""],
        ),
    }
    series = {
        "curves": {"gpt": _curve(g_hist), "lstm": _curve(l_hist)},
        "kv": {
            "position": kv["position"],
            "recompute": kv["recompute"]["seconds"],
            "cached": kv["cached"]["seconds"],
        },
        "samples": text,
        "gpt_config": asdict(gcfg),
        "config": asdict(c),
    }
    return Result(
        metrics=metrics,
        tables=tables,
        series=series,
        text={
            "verdict": verdict(metrics),
            "throughput": throughput_sentence(metrics),
            "plan": plan_sentence(metrics),
            "kv": kv_sentence(metrics),
        },
    )


# --------------------------------------------------------------------------- sentences


def verdict(m: dict) -> str:
    """Which model is ahead after the same training time, from the numbers."""
    gap = m["lstm_val_loss"] - m["val_loss"]
    head = (
        f"After {m['seconds']:.0f} s of training for the GPT and "
        f"{m['lstm_seconds']:.0f} s for the LSTM of the same size, the GPT reaches "
        f"{m['val_loss']:.3f} nats per character on the validation split and the "
        f"LSTM {m['lstm_val_loss']:.3f} (a uniform guess costs "
        f"{m['uniform_nats']:.2f})."
    )
    reads = (
        f"in the same time the LSTM read {m['lstm_train_tokens']:,.0f} characters and "
        f"the GPT "
        f"{m['train_tokens']:,.0f}"
    )
    if gap > 0.02:
        tail = (
            f"The Transformer decoder is ahead by {gap:.3f} nats per character "
            f"({reads}): the paper's choice of the Transformer over an LSTM pays off "
            "here."
        )
    elif gap < -0.02:
        tail = (
            f"The LSTM is ahead by {-gap:.3f} nats per character ({reads}): the "
            "paper's choice of the Transformer over an LSTM does not pay off at this "
            "scale."
        )
    else:
        tail = f"The two are within 0.02 nats per character of each other ({reads})."
    return f"{head} {tail}"


def plan_sentence(m: dict) -> str:
    """Whether the GPT's step plan held, from the numbers."""
    steps, planned, probe = m["steps"], m["planned_steps"], m["probe_planned_steps"]
    share = steps / planned
    held = "The plan held" if abs(1 - share) <= 0.05 else "The plan missed by over 5%"
    return (
        f"{held}: the GPT made {steps:,.0f} steps of the {planned:,.0f} its "
        f"schedule was finally planned for ({share:.0%}); the probe alone had "
        f"planned {probe:,.0f}."
    )


def throughput_sentence(m: dict) -> str:
    """The GPT's training speed as a share of the machine's matmul peak."""
    return (
        f"The GPT trained on {m['tokens_per_s']:,.0f} characters per second; at "
        f"{m['flops_per_token'] / 1e6:.2f} MFLOPs per character that is "
        f"{m['achieved_gflops']:.1f} GFLOP/s, {m['peak_share']:.0%} of the "
        f"{m['matmul_peak_gflops']:.1f} GFLOP/s that one large fp32 matmul reaches on "
        f"the "
        "same machine in the same run."
    )


def kv_sentence(m: dict) -> str:
    """What the cache bought, from the numbers."""
    same = "the same tokens" if m["kv_same_tokens"] else "different tokens (a bug)"
    return (
        f"Generating greedily to the end of the context, the cache gives {same} at "
        f"{m['kv_tokens_per_s']:,.0f} tokens per second against "
        f"{m['recompute_tokens_per_s']:,.0f} "
        f"without it: {m['kv_speedup']:.1f} times as fast."
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full"; ``seconds`` sets each model's
    training time (s)."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
