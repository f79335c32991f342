"""Chapter 8's language-model race: tanh RNN, LSTM and GRU on Shakespeare, one letter at
a time.

The three recurrent layers get the same number of parameters (the hidden sizes are
chosen to match the LSTM's count) and the same training steps (quick budget) or
wall-clock (full budget), and read the same streams with truncated BPTT and a carried state. Validation loss is reported in nats and
bits per character. The trained LSTM then writes text at several temperatures, and its
weights are copied into the hand-written `LSTMCell` to record every gate and cell value
over a passage: which units follow the position in the line, or whether the text is
inside a [stage direction]?
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from airoad_book.data import Vocab, batchify, char_tokens, shakespeare
from airoad_book.decode import generate
from airoad_book.device import seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.experiments.recurrent_training import (
    CarriedStateLoss,
    StatefulStep,
    endless_bptt,
    evaluate_streams,
)
from airoad_book.metrics import bits
from airoad_book.models.lstm import (
    KINDS,
    Recurrence,
    RecurrentLM,
    cell_from_torch,
    hidden_for_parameters,
)
from airoad_book.results import Result, Table
from airoad_book.train import TrainConfig, fit

NAME = "char-lm-shakespeare"
CHAPTER = 8
SUMMARY = "tanh RNN vs LSTM vs GRU on character-level Shakespeare at equal parameters and steps (quick) or wall-clock (full)"

LABELS = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU"}


@dataclass(frozen=True)
class Config:
    """One budget's settings."""

    train_chars: int | None = (
        600_000  # the first N characters of the training split; None: all
    )
    valid_chars: int = 20_000  # the first N characters of the validation split
    embed_dim: int = 32  # E
    lstm_hidden: int = (
        128  # the LSTM's H; the RNN's and GRU's are chosen to match its count
    )
    batch_size: int = 32  # parallel streams B
    bptt: int = 64  # T: steps per window (gradient truncated at window edges)
    lr: float = 5e-3  # Adam's learning rate
    clip_norm: float = 1.0  # global gradient-norm clip
    seconds_each: float | None = (
        None  # training wall-clock per model (s), evaluation excluded; None: no cap
    )
    max_steps: int = 5000  # optimizer steps per model (a cap beside seconds_each)
    eval_every: int = 25  # steps between validation evaluations
    temperatures: tuple[float, ...] = (0.5, 0.8, 1.2)  # sampling temperatures
    sample_chars: int = 240  # characters per sample
    prompt: str = "KING.\n"  # what every sample starts from
    trace_start: int = (
        3000  # where in valid the gate trace starts (Othello, act 1, scene 1)
    )
    trace_chars: int = 4000  # characters of valid the gate trace reads (to rank units)
    show_chars: int = (
        360  # characters of it the figure shows, around its first [stage direction]
    )


CONFIGS = {
    # the same 40 steps for each model (a few seconds of one core in all): the start of
    # training, not its end
    "quick": Config(max_steps=40, eval_every=20, valid_chars=10_000),
    "full": Config(
        train_chars=None,
        valid_chars=250_000,
        lstm_hidden=256,
        seconds_each=600.0,
        max_steps=100_000,
        eval_every=500,
        bptt=100,
        batch_size=64,
    ),
}


def build_models(vocab_size: int, config: Config) -> dict[str, RecurrentLM]:
    """One single-layer `RecurrentLM` per kind, hidden sizes matched to the LSTM's
    count."""
    c = config
    target = RecurrentLM("lstm", vocab_size, c.embed_dim, c.lstm_hidden).num_parameters
    models = {}
    for kind in KINDS:
        H = hidden_for_parameters(
            kind, target, c.embed_dim, vocab_size, fixed=vocab_size * c.embed_dim
        )
        models[kind] = RecurrentLM(kind, vocab_size, c.embed_dim, H)
    return models


def line_position(text: str) -> np.ndarray:
    """For each character, how many characters since the last newline (0 for the
    newline)."""
    out, k = np.zeros(len(text)), 0
    for t, ch in enumerate(text):
        k = 0 if ch == "\n" else k + 1
        out[t] = k
    return out


def in_brackets(text: str) -> np.ndarray:
    """1.0 for characters inside a [stage direction], brackets included; else 0.0."""
    out, inside = np.zeros(len(text)), False
    for t, ch in enumerate(text):
        if ch == "[":
            inside = True
        out[t] = float(inside)
        if ch == "]":
            inside = False
    return out


def _corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each column of a (N, H) with b (N,); 0 where a column is
    flat."""
    a = a - a.mean(0)
    b = b - b.mean()
    denom = np.sqrt((a**2).sum(0) * (b**2).sum()) + 1e-12
    return (a * b[:, None]).sum(0) / denom  # (H,)


def gate_trace(model: RecurrentLM, vocab: Vocab, text: str, show: int) -> dict:
    """Run the hand `LSTMCell`, loaded with the trained weights, over `text`; for two
    features (position in the line, inside brackets) find the unit whose cell value
    follows it best."""
    cell = cell_from_torch(model.rnn)
    ids = vocab.encode(char_tokens(text))[None]  # (1, N)
    with torch.no_grad():
        trace = Recurrence(cell).trace(model.embed(ids))  # each (1, N, H)
    c = trace["c"][0].numpy()  # (N, H)
    first = max(
        0, text.find("[") - show // 3
    )  # show the first stage direction with its context
    first = text.rfind("\n", 0, first) + 1  # from the start of a line
    window = slice(first, first + show)
    out = {"text": text[window], "features": {}}
    for name, feature in (
        ("position in the line", line_position(text)),
        ("inside [brackets]", in_brackets(text)),
    ):
        r = _corr(c, feature)  # (H,)
        unit = int(np.abs(r).argmax())
        out["features"][name] = {
            "unit": unit,
            "r": float(r[unit]),
            "c": c[window, unit].tolist(),
            "f": trace["f"][0, window, unit].tolist(),
        }
    out["mean_f"] = (
        trace["f"][0].mean(0).tolist()
    )  # (H,) each unit's average forget gate
    return out


def sample(
    model: RecurrentLM,
    vocab: Vocab,
    prompt: str,
    chars: int,
    temperature: float,
    generator: torch.Generator,
) -> str:
    """`chars` characters drawn from the model after `prompt`, at `temperature`."""
    model.eval()
    ids = generate(
        StatefulStep(model),
        vocab.encode(char_tokens(prompt)).tolist(),
        chars,
        temperature=temperature,
        generator=generator,
    )
    return "".join(vocab.decode(ids))


def _cell_text(s: str) -> str:
    """A sample as one Markdown table cell: newlines as ↵, nothing that breaks the
    table."""
    return (
        s.replace("|", "¦").replace("\n", " ↵ ").replace("*", "\\*").replace("_", "\\_")
    )


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train the three models for the same steps or time; compare bits per char; trace
    gates."""
    c = config
    train_text = shakespeare("train")[: c.train_chars]
    valid_text = shakespeare("valid")[: c.valid_chars]
    vocab = Vocab.build(char_tokens(train_text))
    train = batchify(vocab.encode(char_tokens(train_text)), c.batch_size)  # (B, L)
    valid = batchify(vocab.encode(char_tokens(valid_text)), c.batch_size)  # (B, L')
    budget = min((s for s in (c.seconds_each, seconds) if s is not None), default=None)

    rows, curves, models = [], {}, {}
    for kind in KINDS:
        gen = seed_everything(seed)
        model = build_models(len(vocab), c)[kind]
        loss = CarriedStateLoss()
        history = fit(
            model,
            endless_bptt(train, c.bptt, loss),
            loss,
            TrainConfig(
                max_steps=c.max_steps,
                max_seconds=budget,
                lr=c.lr,
                clip_norm=c.clip_norm,
                eval_every=c.eval_every,
            ),
            evaluate=lambda m: evaluate_streams(m, valid, c.bptt),
            desc=f"{kind} on Shakespeare",
        )
        per_step = history.seconds / max(history.steps_done, 1)
        curves[kind] = {
            "eval_step": history.eval_step,
            "valid_nats": history.eval_loss,
            "eval_seconds": [s * per_step for s in history.eval_step],
        }
        best = float(history.best_eval_loss)
        rows.append(
            [
                LABELS[kind],
                model.rnn.hidden_size,
                model.num_parameters,
                history.steps_done,
                history.seconds,
                best,
                bits(best),
            ]
        )
        models[kind] = model
        del gen

    best_kind = min(KINDS, key=lambda k: rows[KINDS.index(k)][5])
    gen = torch.Generator().manual_seed(seed)
    samples = {
        t: sample(models["lstm"], vocab, c.prompt, c.sample_chars, t, gen)
        for t in c.temperatures
    }
    trace_text = shakespeare("valid")[c.trace_start : c.trace_start + c.trace_chars]
    trace = gate_trace(models["lstm"], vocab, trace_text, c.show_chars)

    nats = {k: rows[i][5] for i, k in enumerate(KINDS)}
    metrics = {f"{k}_valid_nats": nats[k] for k in KINDS}
    metrics |= {f"{k}_valid_bpc": bits(nats[k]) for k in KINDS}
    metrics |= {f"{k}_params": rows[i][2] for i, k in enumerate(KINDS)}
    metrics |= {f"{k}_steps": rows[i][3] for i, k in enumerate(KINDS)}
    metrics |= {
        "uniform_bpc": math.log2(len(vocab)),
        "vocab_size": len(vocab),
        "seconds_each": budget or 0.0,
        "train_chars": len(train_text),
        "valid_chars": len(valid_text),
    }
    for name, key in (
        ("position in the line", "line"),
        ("inside [brackets]", "bracket"),
    ):
        metrics[f"{key}_unit_r"] = trace["features"][name]["r"]
    metrics = {k: float(v) for k, v in metrics.items()}
    table = Table(
        columns=[
            "model",
            "hidden units",
            "parameters",
            "steps",
            "train seconds",
            "valid nats/char",
            "valid bits/char",
        ],
        rows=rows,
        formats=["", "d", ",d", ",d", ".1f", ".3f", ".3f"],
    )
    sample_table = Table(
        columns=["temperature", f"the LSTM, after {c.prompt.strip()!r}"],
        rows=[[f"{t:g}", _cell_text(s)] for t, s in samples.items()],
    )
    series = {
        "curves": curves,
        "trace": trace,
        "samples": {str(t): s for t, s in samples.items()},
        "config": asdict(c),
    }
    return Result(
        metrics=metrics,
        tables={"valid": table, "samples": sample_table},
        series=series,
        text={"verdict": verdict(metrics, best_kind), "trace": trace_sentence(trace)},
    )


def verdict(m: dict, best_kind: str) -> str:
    """Two sentences from the numbers: the ranking, and the gated models against the
    RNN."""
    order = sorted(KINDS, key=lambda k: m[f"{k}_valid_bpc"])
    ranking = ", ".join(f"{LABELS[k]} {m[f'{k}_valid_bpc']:.3f}" for k in order)
    budget = (
        f"{m['seconds_each']:g} s of training"
        if m["seconds_each"] > 0
        else f"{m['lstm_steps']:,.0f} training steps"
    )
    head = (
        f"With {budget} each, validation bits per character are: "
        f"{ranking} (a uniform guess costs {m['uniform_bpc']:.2f})."
    )
    gated = min(m["lstm_valid_bpc"], m["gru_valid_bpc"])
    gap = m["rnn_valid_bpc"] - gated
    if gap > 0.02:
        tail = f"The better gated model is {gap:.3f} bits per character ahead of the tanh RNN."
    elif gap < -0.02:
        tail = (
            f"At this budget the tanh RNN is ahead of both gated models by {-gap:.3f} "
            f"bits per "
            "character: the gates have not paid for themselves yet."
        )
    else:
        tail = (
            "At this budget the three are within 0.02 bits per character of each other."
        )
    return f"{head} {tail}"


def trace_sentence(trace: dict) -> str:
    """Which units the trace found, and how closely they follow their feature."""
    parts = [
        f"unit {f['unit']} follows {name} with a correlation of {f['r']:+.2f}"
        for name, f in trace["features"].items()
    ]
    return "In the LSTM's cell state, " + "; ".join(parts) + "."


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full"."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
