"""Chapter 5: add-one against Kneser–Ney, order by order, on words and on characters.

Each model is fitted at every order on a corpus's training text and scored twice: on
text it has seen (a sample of the training text) and on text it has not (the validation
split). The gap between the two is overfitting made visible. Two corpora:

- **PTB, words**: the Penn Treebank as Mikolov split it, its own 10k vocabulary, orders 1-5;
- **Shakespeare, characters**: `shakespeare("train")` against `shakespeare("valid")` (two
  whole plays held out; the quick budget scores their first 100,000 characters), one
  token per character. A character says less than a word, so a character model needs a
  longer window before it runs out of data: the orders go to 6 at the quick budget
  (about one word of context) and to 10 at the full one.

The "train" score is measured on `train_sample` tokens of the training text, taken as
ten evenly spaced stretches and scored stretch by stretch (see `train_stretches`): a
sample about as large as the validation text estimates it nearly as well as the whole
text, for a fraction of the time. n-gram counting has no randomness, so the seed changes
nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from airoad_book.data import UNK, Vocab, char_tokens, penn_treebank, shakespeare
from airoad_book.experiments.budget import config_for
from airoad_book.metrics import bits
from airoad_book.models.ngram import AddOneLM, KneserNeyLM, NGramLM, count_ngrams
from airoad_book.progress import Progress, progress
from airoad_book.results import Result, Table

NAME = "ngram-baselines"
CHAPTER = 5
SUMMARY = "add-one vs Kneser-Ney by order, train vs valid: word-level PTB and char-level Shakespeare"

MODELS: dict[str, type[NGramLM]] = {
    "add-one": AddOneLM,
    "kn": KneserNeyLM,
}  # key -> class
LABELS = {"add-one": "add-one", "kn": "Kneser–Ney"}


@dataclass(frozen=True)
class Config:
    """What one budget fits: the n-gram orders on words (PTB) and characters
    (Shakespeare), and how many tokens (None: all)."""

    word_orders: tuple[int, ...] = (1, 2, 3, 4, 5)  # n-gram orders fitted on PTB
    char_orders: tuple[int, ...] = (1, 2, 3, 4, 5, 6)  # orders fitted on Shakespeare
    train_sample: int | None = (
        250_000  # tokens of training text scored as "train"; None: all
    )
    max_train_tokens: int | None = (
        None  # fit on only this many tokens (tiny test configs)
    )
    max_valid_tokens: int | None = None  # score only this many validation tokens


CONFIGS = {
    # a few seconds of one core: most of it counting the 4.6M characters once, to order 6
    "quick": Config(train_sample=100_000, max_valid_tokens=100_000),
    # every order to 10 on characters, train perplexity on the whole training text:
    # minutes
    "full": Config(char_orders=tuple(range(1, 11)), train_sample=None),
}


@dataclass(frozen=True)
class Corpus:
    """One corpus as token ids: what a model is fitted on and scored against."""

    key: str  # "ptb" or "shakespeare": the suffix of its metrics
    unit: str  # "word" or "char"
    train: np.ndarray  # (N,) token ids
    valid: np.ndarray  # (M,) token ids
    vocab_size: int  # V


def ptb_corpus(config: Config) -> Corpus:
    """Word-level PTB: the vocabulary of its training split (10,000 words, <unk> and
    <eos> in it)."""
    train, valid = penn_treebank("train"), penn_treebank("valid")
    vocab = Vocab.build(train)
    return _corpus("ptb", "word", vocab, train, valid, config)


def shakespeare_corpus(config: Config) -> Corpus:
    """Char-level Shakespeare: every character of the training split, and <unk> for the
    rest."""
    train, valid = char_tokens(shakespeare("train")), char_tokens(shakespeare("valid"))
    vocab = Vocab.build(train, specials=(UNK,))
    return _corpus("shakespeare", "char", vocab, train, valid, config)


def _corpus(
    key: str,
    unit: str,
    vocab: Vocab,
    train: list[str],
    valid: list[str],
    config: Config,
) -> Corpus:
    train, valid = train[: config.max_train_tokens], valid[: config.max_valid_tokens]
    return Corpus(
        key, unit, vocab.encode(train).numpy(), vocab.encode(valid).numpy(), len(vocab)
    )


def train_stretches(
    x: np.ndarray, size: int | None, pieces: int = 10
) -> list[np.ndarray]:
    """`pieces` evenly spaced stretches of x, `size` tokens in all (the whole of x if
    None).

    Each stretch is scored on its own, so no n-gram straddles two of them.
    """
    if size is None or size >= len(x):
        return [x]
    starts = np.linspace(0, len(x) - size // pieces, pieces).astype(int)  # (pieces,)
    return [x[s : s + size // pieces] for s in starts]


# --8<-- [start:score]
def nats_per_token(model: NGramLM, streams: list[np.ndarray]) -> float:
    """The cross-entropy of the model on the streams, in nats per token: ln of
    perplexity."""
    log_p = np.concatenate([model.token_log_probs(s) for s in streams])  # (T,)
    return float(-log_p.mean())


def sweep(
    corpus: Corpus, orders: tuple[int, ...], train_sample: int | None, bar: Progress
) -> dict:
    """`nats[model][split][i]`: each model fitted at `orders[i]`, scored on train and
    valid (nats per token)."""
    seen = train_stretches(corpus.train, train_sample)  # text the model was fitted on
    nats = {key: {"train": [], "valid": []} for key in MODELS}
    grams = count_ngrams(corpus.train, max(orders), corpus.vocab_size)  # counted once
    for key, model_class in MODELS.items():
        for n in orders:
            model = model_class(n, corpus.vocab_size).fit(corpus.train, grams)
            nats[key]["train"].append(nats_per_token(model, seen))
            nats[key]["valid"].append(nats_per_token(model, [corpus.valid]))
            bar.update()
    return nats


# --8<-- [end:score]


def run_config(config: Config, seed: int = 0) -> Result:
    """Fit both models at every order on both corpora; n-gram counting ignores the
    seed."""
    corpora = [
        (ptb_corpus(config), config.word_orders),
        (shakespeare_corpus(config), config.char_orders),
    ]
    metrics: dict[str, float] = {}
    tables, series, text = {}, {}, {}
    total = sum(len(MODELS) * len(orders) for _, orders in corpora)
    start = time.perf_counter()
    with progress(total=total, desc=NAME) as bar:
        for corpus, orders in corpora:
            nats = sweep(corpus, orders, config.train_sample, bar)
            _report(corpus, orders, nats, metrics, tables, series, text)
            seen = train_stretches(corpus.train, config.train_sample)
            metrics[f"train_scored_tokens_{corpus.key}"] = sum(map(len, seen))
    metrics["fit_and_score_seconds"] = time.perf_counter() - start
    return Result(metrics=metrics, tables=tables, series=series, text=text)


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """`seconds` is ignored: nothing here trains by gradient, and the quick budget is
    seconds."""
    return run_config(config_for(CONFIGS, budget), seed)


# --------------------------------------------------------------------------- reporting


def _best(values: list[float], orders: tuple[int, ...]) -> tuple[int, float]:
    i = int(np.argmin(values))
    return orders[i], values[i]


@dataclass(frozen=True)
class Scale:
    """How a corpus reports cross-entropy: perplexity for words, bits per char for
    characters."""

    unit: str  # "perplexity" or "bits per char"
    short: str  # the unit in metric names: "ppl" or "bpc"
    convert: Callable[[float], float]  # from nats per token to the unit
    to_ppl: Callable[[float], float]  # from the unit to perplexity
    fmt: str  # how the table prints the unit


SCALES = {
    "word": Scale("perplexity", "ppl", lambda v: float(np.exp(v)), lambda p: p, ".1f"),
    "char": Scale("bits per char", "bpc", bits, lambda b: 2.0**b, ".3f"),
}


def _report(corpus, orders, nats, metrics, tables, series, text) -> None:
    """Metrics, a table, the figure's series and a story for one corpus, in its own
    unit."""
    sc = SCALES[corpus.unit]
    score = {m: {s: [sc.convert(v) for v in nats[m][s]] for s in nats[m]} for m in nats}
    for m in MODELS:
        name = m.replace("-", "")  # "addone", "kn"
        for n, tr, va in zip(orders, score[m]["train"], score[m]["valid"]):
            metrics[f"{name}{n}_train_{sc.short}_{corpus.key}"] = tr
            metrics[f"{name}{n}_valid_{sc.short}_{corpus.key}"] = va
        best_n, best = _best(score[m]["valid"], orders)
        metrics[f"{name}_best_order_{corpus.key}"] = best_n
        metrics[f"{name}_best_valid_{sc.short}_{corpus.key}"] = best
        metrics[f"{name}_best_valid_ppl_{corpus.key}"] = sc.to_ppl(best)
    metrics[f"vocab_size_{corpus.key}"] = corpus.vocab_size
    metrics[f"train_tokens_{corpus.key}"] = len(corpus.train)
    metrics[f"valid_tokens_{corpus.key}"] = len(corpus.valid)
    # perplexity tables need no perplexity column; bits-per-char tables get one for
    # Kneser–Ney
    extra = [] if sc.short == "ppl" else ["Kneser–Ney valid perplexity"]
    tables[corpus.key] = Table(
        columns=[
            "order n",
            "add-one train",
            "add-one valid",
            "Kneser–Ney train",
            "Kneser–Ney valid",
            *extra,
        ],
        rows=[
            [
                n,
                *(score[m][s][i] for m in MODELS for s in ("train", "valid")),
                *(sc.to_ppl(score["kn"]["valid"][i]) for _ in extra),
            ]
            for i, n in enumerate(orders)
        ],
        formats=["d", *[sc.fmt] * 4, *[".2f"] * len(extra)],
    )
    series[corpus.key] = {
        "orders": list(orders),
        "unit": sc.unit,
        "vocab_size": corpus.vocab_size,
        **score,
    }
    text[corpus.key] = _story(orders, score, sc.unit, corpus.vocab_size)


def _story(orders, score, unit: str, V: int) -> str:
    """A few sentences, written from the numbers, on what each model does as n grows.

    `unit` is "perplexity" (compared as ratios) or "bits per char" (compared as
    differences).
    """
    ppl = unit == "perplexity"

    def say(x: float) -> str:
        return f"perplexity {x:.1f}" if ppl else f"{x:.3f} bits per char"

    def change(a: float, b: float) -> str:  # how much lower b is than a
        return f"{100 * (1 - b / a):.1f}%" if ppl else f"{a - b:.3f} bits"

    parts = []
    a_best_n, a_best = _best(score["add-one"]["valid"], orders)
    a_train = score["add-one"]["train"]
    if a_best_n == orders[-1]:
        parts.append(
            f"Add-one improves on validation text all the way to order {a_best_n} "
            f"({say(a_best)})."
        )
    else:
        where = (
            "at order 1, before it uses any context"
            if a_best_n == 1
            else f"at order {a_best_n}"
        )
        after = score["add-one"]["valid"][orders.index(a_best_n) :]
        every = "every" if all(b > a for a, b in zip(after, after[1:])) else "a"
        parts.append(
            f"Add-one does best on validation text {where} ({say(a_best)}); {every} "
            f"longer "
            f"context makes it worse, to {say(after[-1])} at order {orders[-1]}."
        )
    rises = [orders[i] for i in range(1, len(orders)) if a_train[i] > a_train[i - 1]]
    if rises:
        parts.append(
            f"Even on its own training text it gets worse from order {rises[0]} on: "
            f"the "
            f"V = {V:,} imaginary counts it adds to every context outweigh the real "
            f"ones."
        )
    k_best_n, k_best = _best(score["kn"]["valid"], orders)
    k_train, k_valid = score["kn"]["train"], score["kn"]["valid"]
    parts.append(f"Kneser–Ney is best at order {k_best_n} ({say(k_best)}).")
    if len(orders) >= 2 and k_valid[-1] <= k_valid[-2]:
        parts.append(
            f"From order {orders[-2]} to {orders[-1]} its validation score improves by "
            f"{change(k_valid[-2], k_valid[-1])} while its training score improves by "
            f"{change(k_train[-2], k_train[-1])}: the longer contexts mostly memorise "
            f"the "
            "training text."
        )
    elif len(orders) >= 2:
        i = orders.index(k_best_n)
        parts.append(
            f"Past that order its validation score gets worse while its training score "
            f"improves by another {change(k_train[i], k_train[-1])}: the longer "
            f"contexts "
            "only memorise the training text."
        )
    return " ".join(parts)


__all__ = [
    "CONFIGS",
    "CHAPTER",
    "Config",
    "Corpus",
    "NAME",
    "SUMMARY",
    "run",
    "run_config",
    "nats_per_token",
    "sweep",
    "train_stretches",
]
