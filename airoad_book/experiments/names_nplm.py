"""Chapter 6's small experiment: the NPLM one letter at a time, on first names.

The model of Bengio et al. (2003) does not care what a token is. Here a token is a
letter and a "sentence" is a first name from the 1990 US Census: the model sees the n-1
letters before a position (padded with "." at the start of a name, as in Karpathy's
*makemore*) and predicts the next letter, or "." for the end of the name. It is measured
in nats per character on held-out names against n-gram models of the same letters
(add-one and interpolated modified Kneser–Ney), and then asked to invent new names.

Everything runs in a few seconds: 27 symbols make the softmax cheap.
"""

from __future__ import annotations

import math
import string
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from airoad_book.data import names_split, random_batches
from airoad_book.decode import generate
from airoad_book.device import seed_everything
from airoad_book.experiments.bengio_vs_ngram import (
    choose_lambda,
    lm_loss,
    mix_log_probs,
)
from airoad_book.experiments.budget import config_for
from airoad_book.models.bengio import NPLM, NPLMConfig
from airoad_book.models.ngram import AddOneLM, KneserNeyLM, NGramLM
from airoad_book.results import Result, Table
from airoad_book.train import TrainConfig, evaluate_loss, fit

NAME = "names-nplm"
CHAPTER = 6
SUMMARY = "a character-level NPLM on first names vs add-one and Kneser-Ney n-grams; generated names"

DOT = "."  # starts (as padding) and ends every name
CHARS = DOT + string.ascii_lowercase  # the 27 symbols; "." has id 0
STOI = {c: i for i, c in enumerate(CHARS)}


@dataclass(frozen=True)
class Config:
    """One budget's settings."""

    context: int = 4  # n - 1: letters of history (n = 5, like the KN 5-gram)
    embed_dim: int = 10  # m
    hidden: int = 200  # h
    direct: bool = (
        False  # direct connections W x (off: with them it did worse on valid)
    )
    batch_size: int = 256  # windows per step
    lr: float = 1e-2  # Adam's learning rate (peak)
    max_steps: int = 2000  # optimizer steps
    max_seconds: float | None = (
        None  # cap on training wall-clock (s); the CLI's --seconds
    )
    eval_every: int = 250  # steps between validation evaluations
    weight_decay: float = 0.0  # L2 penalty
    kn_orders: tuple[int, ...] = (3, 4, 5)  # Kneser–Ney baselines
    samples: int = 20  # names to generate
    max_name_length: int = 20  # letters a generated name may have before we cut it
    train_names: int | None = (
        None  # use only the first N training names; None: all (tests)
    )


CONFIGS = {
    # a third of the full run's steps: the verdict is the same, the NPLM a little worse
    "quick": Config(max_steps=700, eval_every=100),
    # 2,000 steps train as long as helps: longer runs (6,000-20,000 steps, with or
    # without weight decay, wider or not) overfit these 4,130 names and score worse on
    # valid. The full budget also draws more names.
    "full": Config(samples=100),
}


def encode(name: str) -> list[int]:
    """The ids of a name's letters; ValueError for anything but a–z."""
    bad = sorted(set(name) - set(string.ascii_lowercase))
    if bad:
        raise ValueError(
            f"names must be lowercase a-z letters; got {name!r} with {bad}"
        )
    return [STOI[c] for c in name]


def name_windows(names: list[str], context: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (previous `context` symbols, next symbol) pair of every name, "."-padded.

    "emma" with context 3 gives  ... -> e,  ..e -> m,  .em -> m,  emm -> a,  mma -> .
    """
    X, Y = [], []
    for name in names:
        ids = [0] * context + encode(name) + [0]
        for t in range(context, len(ids)):
            X.append(ids[t - context : t])
            Y.append(ids[t])
    return torch.tensor(X, dtype=torch.long), torch.tensor(
        Y, dtype=torch.long
    )  # (N, k), (N,)


def ngram_log_probs(model: NGramLM, names: list[str]) -> np.ndarray:
    """ln P(symbol | the n-1 before it, within its own name) for every predicted symbol.

    Each name is padded on the left with n-1 dots, so a history never reaches into the
    previous name; the padding itself is not scored. The same symbols as
    `name_windows`'s targets, in the same order.
    """
    k = model.order - 1
    stream, scored = [], []
    for name in names:
        ids = [0] * k + encode(name) + [0]
        stream += ids
        scored += [False] * k + [True] * (len(ids) - k)
    return model.token_log_probs(np.array(stream))[np.array(scored)]


def training_stream(names: list[str]) -> np.ndarray:
    """The training names as one stream for the n-gram models: ".emma.olivia." """
    ids = [0]
    for name in names:
        ids += encode(name) + [0]
    return np.array(ids)


def sample_names(
    model: NPLM, count: int, max_length: int, generator: torch.Generator
) -> list[str]:
    """`count` names drawn letter by letter from the model until it writes "."."""
    k = model.config.context
    out = []
    for _ in range(count):
        ids = generate(
            lambda x: model(x[:, -k:]),
            [0] * k,
            max_length + 1,
            stop_id=0,
            generator=generator,
        )
        out.append("".join(CHARS[i] for i in ids if i != 0))
    return out


def nplm_log_probs(model: NPLM, names: list[str]) -> np.ndarray:
    """ln P_NPLM(symbol | its window) for every predicted symbol, in `name_windows`
    order."""
    X, Y = name_windows(names, model.config.context)
    model.eval()
    with torch.no_grad():
        return -F.cross_entropy(model(X), Y, reduction="none").double().numpy()  # (N,)


def sample_grid(samples: list[str], known: set[str], columns: int = 4) -> Table:
    """The generated names in a few columns; those not in the training list in bold."""
    marked = [s if s in known else f"**{s}**" for s in samples]
    per = math.ceil(len(marked) / columns)
    heads = [
        f"samples {c * per + 1}–{min((c + 1) * per, len(marked))}"
        for c in range(columns)
    ]
    rows = [
        [
            marked[c * per + r] if c * per + r < len(marked) else ""
            for c in range(columns)
        ]
        for r in range(per)
    ]
    return Table(columns=heads, rows=rows)


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Fit the n-gram baselines, train the NPLM, mix, compare nats per char, generate
    names."""
    train = names_split("train")[: config.train_names]
    split = {"valid": names_split("valid"), "test": names_split("test")}
    V = len(CHARS)

    # the baselines: every row is (label, stored numbers, valid log-probs, test
    # log-probs)
    rows = []
    models: list[tuple[str, NGramLM]] = [("add-one bigram", AddOneLM(2, V))]
    models += [(f"Kneser–Ney {n}-gram", KneserNeyLM(n, V)) for n in config.kn_orders]
    for label, lm in models:
        lm.fit(training_stream(train))
        stored = lm.num_ngrams  # distinct 1..n-grams it keeps
        rows.append(
            (label, stored, *(ngram_log_probs(lm, split[s]) for s in ("valid", "test")))
        )
    kn = min(
        (r for r in rows if r[0].startswith("Kneser")), key=lambda r: -r[2].mean()
    )  # best on valid

    gen = seed_everything(seed)
    model = NPLM(
        NPLMConfig(
            vocab_size=V,
            context=config.context,
            embed_dim=config.embed_dim,
            hidden=config.hidden,
            direct=config.direct,
        )
    )
    X, Y = name_windows(train, config.context)
    valid_batches = [name_windows(split["valid"], config.context)]
    cap = min((s for s in (config.max_seconds, seconds) if s is not None), default=None)
    history = fit(
        model,
        random_batches(X, Y, batch_size=min(config.batch_size, len(Y)), generator=gen),
        lm_loss,
        TrainConfig(
            max_steps=config.max_steps,
            max_seconds=cap,
            lr=config.lr,
            schedule="cosine",
            eval_every=min(config.eval_every, config.max_steps),
            weight_decay=config.weight_decay,
        ),
        evaluate=lambda m: evaluate_loss(m, valid_batches, lm_loss),
        desc="NPLM on names",
    )
    nplm = (
        f"NPLM (n={config.context + 1}, m={config.embed_dim}, h={config.hidden})",
        model.num_parameters,
        *(nplm_log_probs(model, split[s]) for s in ("valid", "test")),
    )
    lam, _ = choose_lambda(nplm[2], kn[2], 101)
    mix = (
        f"mixture of the two above, λ = {lam:.2f} on the NPLM",
        nplm[1] + kn[1] + 1,
        *(mix_log_probs(nplm[i], kn[i], lam) for i in (2, 3)),
    )
    rows += [nplm, mix]

    samples = sample_names(model, config.samples, config.max_name_length, gen)
    known = set(train)
    nats = {label: (-v.mean(), -t.mean()) for label, _, v, t in rows}
    metrics = {
        "nplm_test_nats": nats[nplm[0]][1],
        "nplm_valid_nats": nats[nplm[0]][0],
        "nplm_test_ppl": math.exp(nats[nplm[0]][1]),
        "kn_test_nats": nats[kn[0]][1],
        "kn_valid_nats": nats[kn[0]][0],
        "kn_order": int(kn[0].split()[1].split("-")[0]),
        "mix_test_nats": nats[mix[0]][1],
        "mix_valid_nats": nats[mix[0]][0],
        "mix_lambda": lam,
        "addone_test_nats": nats["add-one bigram"][1],
        "uniform_nats": math.log(V),
        "nplm_params": model.num_parameters,
        "train_steps": history.steps_done,
        "novel_fraction": sum(s not in known for s in samples) / len(samples),
        "test_chars": len(nplm[3]),
    }
    metrics = {k: float(v) for k, v in metrics.items()}
    uniform = ["uniform over the 27 symbols", 0, math.log(V), math.log(V), float(V)]
    table = Table(
        columns=[
            "model",
            "parameters",
            "valid nats/char",
            "test nats/char",
            "test perplexity",
        ],
        rows=[uniform]
        + [
            [
                label,
                stored,
                -float(v.mean()),
                -float(t.mean()),
                float(np.exp(-t.mean())),
            ]
            for label, stored, v, t in rows
        ],
        formats=["", ",d", ".3f", ".3f", ".2f"],
    )
    series = {
        "curve": {
            "step": history.step,
            "train_loss": history.train_loss,
            "eval_step": history.eval_step,
            "valid_loss": history.eval_loss,
        },
        "samples": samples,
        "timing": {
            "train_seconds": history.seconds,
            "stop_reason": history.stop_reason,
        },
        "config": asdict(config),
    }
    return Result(
        metrics=metrics,
        tables={"test": table, "samples": sample_grid(samples, known)},
        series=series,
        text={"verdict": verdict(metrics, kn[0])},
    )


def verdict(m: dict, kn_label: str) -> str:
    """Two sentences from the numbers: the NPLM against the best n-gram model, then the
    mix."""
    nplm, kn, mix = m["nplm_test_nats"], m["kn_test_nats"], m["mix_test_nats"]
    head = (
        f"On held-out names the NPLM scores {nplm:.3f} nats per character against "
        f"{kn:.3f} for "
        f"the best n-gram model on valid ({kn_label})"
    )
    gap = 100 * (
        math.exp(abs(nplm - kn)) - 1
    )  # how much higher the loser's perplexity is
    if abs(nplm - kn) < 0.005:
        first = f"{head}: a tie."
    elif nplm < kn:
        first = f"{head}: the n-gram model's perplexity is {gap:.1f}% higher."
    else:
        first = f"{head}: the counts win, the NPLM's perplexity is {gap:.1f}% higher."
    if mix < min(nplm, kn):
        second = (
            f"Mixed (λ = {m['mix_lambda']:.2f}, chosen on valid) they reach {mix:.3f}, "
            "below both: the two models know different things."
        )
    else:
        second = f"Mixing them (λ = {m['mix_lambda']:.2f}, chosen on valid) gives {mix:.3f}, not below both."
    return f"{first} {second}"


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """Run the experiment at `budget` (`quick` or `full`) with `seed`, training for at
    most `seconds` of wall-clock (s; None: no cap)."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
