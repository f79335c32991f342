"""Chapter 8's long-lag test: remember the first symbol of a sequence through T steps of
noise.

Each sequence starts with one of `signals` symbols; the other T - 1 positions are drawn
at random from `noise` other symbols. The network reads the whole sequence and must say,
at the end, which symbol came first: the answer sits exactly T steps back, and chance is
1 / `signals`. A vanilla tanh RNN, an LSTM and a GRU with (nearly) the same number of
parameters are trained on fresh random sequences for each lag, and scored on held-out
ones. This is the kind of task Hochreiter & Schmidhuber (1997) built to show that the
LSTM bridges lags a plain RNN cannot.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from airoad_book.device import seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.models.lstm import (
    KINDS,
    SequenceClassifier,
    chrono_init_,
    hidden_for_parameters,
)
from airoad_book.results import Result, Table
from airoad_book.train import TrainConfig, fit

NAME = "long-lag"
CHAPTER = 8
SUMMARY = "remember the first symbol through T steps of noise: RNN vs LSTM vs GRU at equal parameters"


@dataclass(frozen=True)
class Config:
    """One budget's settings."""

    lags: tuple[int, ...] = (
        10,
        30,
        100,
    )  # T: sequence lengths (the first symbol is T steps back)
    signals: int = 4  # symbols to remember (chance accuracy = 1 / signals)
    noise: int = 4  # distractor symbols that fill the rest of the sequence
    embed_dim: int = 8  # E
    lstm_hidden: int = (
        16  # the LSTM's H; the RNN's and GRU's are chosen to match its count
    )
    batch_size: int = 128  # sequences per step
    lr: float = 3e-2  # Adam's learning rate
    clip_norm: float = 1.0  # global gradient-norm clip
    max_steps: int = 250  # optimizer steps per model and lag (fewer once solved)
    solved_loss: float = (
        0.02  # stop once the mean training loss of the last 10 steps is below
    )
    max_seconds: float | None = None  # cap per model and lag (s); the CLI's --seconds
    chrono: bool = (
        True  # chrono initialisation of the gate biases (Tallec & Ollivier 2018)
    )
    test_size: int = 1000  # held-out sequences per lag


CONFIGS = {
    # the RNN never solves T = 100 and uses every step; the LSTM needs about 180 there
    "quick": Config(max_steps=200),
    "full": Config(lags=(10, 30, 100, 200, 400), max_steps=2000),
}


# --8<-- [start:task]
def first_symbol_batch(
    batch: int, lag: int, signals: int, noise: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """`batch` sequences of length `lag`: x (B, T) ids, y (B,) the first symbol, in [0,
    signals).

    Position 0 holds the answer; positions 1..T-1 hold noise ids in [signals, signals +
    noise).
    """
    if lag < 1 or signals < 2 or noise < 1:
        raise ValueError(
            f"need lag >= 1, signals >= 2, noise >= 1; got {lag}, {signals}, {noise}"
        )
    x = torch.randint(
        signals, signals + noise, (batch, lag), generator=generator
    )  # (B, T)
    y = torch.randint(0, signals, (batch,), generator=generator)  # (B,)
    x[:, 0] = y
    return x, y


# --8<-- [end:task]


class _UntilSolved:
    """Endless training batches that stop once the recent training loss is below a
    threshold."""

    def __init__(self, config: Config, lag: int, generator: torch.Generator) -> None:
        self.config, self.lag, self.generator = config, lag, generator
        self.losses: list[float] = []

    def loss(self, model, batch) -> torch.Tensor:
        x, y = batch
        loss = F.cross_entropy(model(x), y)
        self.losses.append(loss.item())
        return loss

    def __iter__(self):
        c = self.config
        while not (
            len(self.losses) >= 10 and sum(self.losses[-10:]) / 10 < c.solved_loss
        ):
            yield first_symbol_batch(
                c.batch_size, self.lag, c.signals, c.noise, self.generator
            )


def build_models(config: Config) -> dict[str, SequenceClassifier]:
    """One classifier per kind, hidden sizes chosen so the counts match the LSTM's."""
    c = config
    V = c.signals + c.noise
    embed = V * c.embed_dim
    lstm = SequenceClassifier("lstm", V, c.embed_dim, c.lstm_hidden, c.signals)
    models = {}
    for kind in KINDS:
        H = hidden_for_parameters(
            kind, lstm.num_parameters, c.embed_dim, c.signals, fixed=embed
        )
        models[kind] = SequenceClassifier(kind, V, c.embed_dim, H, c.signals)
    return models


def accuracy(model: SequenceClassifier, x: torch.Tensor, y: torch.Tensor) -> float:
    """The fraction of sequences x (N, T) whose first symbol y (N,) the model names."""
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(-1) == y).float().mean().item()


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train each kind at each lag on fresh sequences; held-out accuracy against the
    lag."""
    c = config
    cap = min((s for s in (c.max_seconds, seconds) if s is not None), default=None)
    acc: dict[str, list[float]] = {k: [] for k in KINDS}
    steps: dict[str, list[int]] = {k: [] for k in KINDS}
    params: dict[str, int] = {}
    hidden: dict[str, int] = {}
    train_seconds = 0.0
    for lag in c.lags:
        test = first_symbol_batch(
            c.test_size,
            lag,
            c.signals,
            c.noise,
            torch.Generator().manual_seed(10_000 + lag),
        )
        for kind in KINDS:
            gen = seed_everything(seed)
            model = build_models(c)[kind]
            if c.chrono and kind != "rnn":
                chrono_init_(model.rnn, max(3, lag), generator=gen)
            stream = _UntilSolved(c, lag, gen)
            history = fit(
                model,
                stream,
                stream.loss,
                TrainConfig(
                    max_steps=c.max_steps,
                    max_seconds=cap,
                    lr=c.lr,
                    clip_norm=c.clip_norm,
                    eval_every=c.max_steps,
                ),
                desc=f"{kind} lag {lag}",
            )
            acc[kind].append(accuracy(model, *test))
            steps[kind].append(history.steps_done)
            params[kind], hidden[kind] = model.num_parameters, model.rnn.hidden_size
            train_seconds += history.seconds

    longest = c.lags[-1]
    metrics = {f"{k}_acc_longest": acc[k][-1] for k in KINDS}
    metrics |= {f"{k}_params": params[k] for k in KINDS}
    metrics |= {
        "longest_lag": longest,
        "chance": 1 / c.signals,
        "train_seconds": train_seconds,
    }
    metrics = {k: float(v) for k, v in metrics.items()}
    table = Table(
        columns=["model", "hidden units", "parameters"]
        + [f"accuracy, T = {t}" for t in c.lags]
        + ["steps used, longest T"],
        rows=[
            [label, hidden[k], params[k], *acc[k], steps[k][-1]]
            for k, label in (("rnn", "tanh RNN"), ("lstm", "LSTM"), ("gru", "GRU"))
        ],
        formats=["", "d", ",d"] + [".1%"] * len(c.lags) + ["d"],
    )
    series = {
        "lags": list(c.lags),
        "accuracy": acc,
        "steps": steps,
        "chance": 1 / c.signals,
        "config": asdict(c),
    }
    return Result(
        metrics=metrics,
        tables={"accuracy": table},
        series=series,
        text={"verdict": verdict(metrics, c)},
    )


def verdict(m: dict, config: Config) -> str:
    """One or two sentences from the numbers: who bridges the longest lag."""
    T, chance = int(m["longest_lag"]), m["chance"]
    rnn, lstm, gru = m["rnn_acc_longest"], m["lstm_acc_longest"], m["gru_acc_longest"]
    head = (
        f"At the longest lag, T = {T}, the LSTM names the first symbol in {lstm:.1%} "
        f"of held-out "
        f"sequences, the GRU in {gru:.1%} and the tanh RNN in {rnn:.1%} (chance is "
        f"{chance:.0%})."
    )
    gated = min(lstm, gru)
    if gated - rnn >= 0.3:
        tail = "The claim holds here: both gated networks bridge a lag the plain RNN does not."
    elif max(lstm, gru) - rnn >= 0.3:
        tail = "The claim holds for one of the two gated networks only."
    else:
        tail = "The claim does not hold at this budget: the gated networks are not far ahead of the RNN."
    return f"{head} {tail}"


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full"."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
