"""Generated translation tasks for chapters 9–11: exact references, no downloads, any
size.

Two tasks, each a deterministic function of a seed:

- **numbers**: a number written in English words → the same number in French words, by
  `num2words` (*"three hundred and forty-two thousand, one hundred and five"* → *"trois cent
  quarante-deux mille cent cinq"*). The number of digits is drawn uniformly, so sources run
  from 1 word to more than 25; the long ones are the test a fixed-size encoder fails.
- **dates**: a date written out in one of five languages by `babel` (*"mardi 5 mars 2024"*,
  *"Dienstag, 5. März 2024"*) → ISO 8601 (*"2024-03-05"*). The year moves from the end of the
  source to the front of the target: a reordering an alignment has to learn.

Tokens are words, with three rules a reader can predict: text is lower-cased,
punctuation (``, . -``) becomes a token of its own, and every digit is a token (*"2024"*
→ *2 0 2 4*), so the vocabularies stay small and every token appears in training.

The splits hold no pair twice: distinct pairs are drawn, shuffled, and dealt into train,
valid and test, so each split has the same mix of lengths.
"""

from __future__ import annotations

import datetime as _dt
import random
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import torch
from torch import Tensor

from airoad_book.data.corpora import require
from airoad_book.data.vocab import EOS, UNK, Vocab

__all__ = [
    "PAD",
    "BOS",
    "SPECIALS",
    "DATE_LOCALES",
    "Pair",
    "TranslationTask",
    "TranslationBatch",
    "tokenize",
    "number_pair",
    "date_pair",
    "numbers_task",
    "dates_task",
    "translation_task",
    "make_batch",
    "translation_batches",
    "length_buckets",
]

PAD = "<pad>"
BOS = "<bos>"
SPECIALS = (PAD, BOS, EOS, UNK)  # ids 0, 1, 2, 3 in every vocabulary of this module
DATE_LOCALES = ("en", "fr", "de", "es", "it")
_DATE_FORMATS = ("full", "long", "medium")
_FIRST_DATE, _LAST_DATE = _dt.date(1900, 1, 1), _dt.date(2099, 12, 31)


# --8<-- [start:tokenize]
_TOKEN = re.compile(
    r"\d|[^\W\d_]+|[^\w\s]"
)  # one digit | a run of letters | one symbol


def tokenize(text: str) -> tuple[str, ...]:
    """Lower-case word tokens: runs of letters, single digits, single punctuation marks.

    >>> tokenize("Dienstag, 5. März 2024")
    ('dienstag', ',', '5', '.', 'märz', '2', '0', '2', '4')
    """
    return tuple(_TOKEN.findall(text.lower()))


# --8<-- [end:tokenize]


@dataclass(frozen=True)
class Pair:
    """One training example: a source and a target, each a tuple of word tokens."""

    source: tuple[str, ...]
    target: tuple[str, ...]


# --8<-- [start:generators]
@lru_cache(maxsize=2)
def _num2words_converters():
    require("num2words", "num2words", "The numbers task (English and French words)")
    from num2words import CONVERTER_CLASSES

    return CONVERTER_CLASSES["en"], CONVERTER_CLASSES["fr"]


def number_pair(n: int) -> Pair:
    """The number n >= 0 in English words (source) and French words (target)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"expected a whole number >= 0; got {n!r}")
    english, french = _num2words_converters()
    return Pair(tokenize(english.to_cardinal(n)), tokenize(french.to_cardinal(n)))


def date_pair(day: _dt.date, locale: str = "en", style: str = "full") -> Pair:
    """The date written out by babel in `locale` (source) and as ISO YYYY-MM-DD
    (target).

    style is babel's "full" (with the weekday), "long" or "medium" (abbreviated month).
    """
    require("babel", "babel", "The dates task (dates written in five languages)")
    from babel.dates import format_date

    if locale not in DATE_LOCALES:
        raise ValueError(f"locale must be one of {DATE_LOCALES}; got {locale!r}")
    if style not in _DATE_FORMATS:
        raise ValueError(f"style must be one of {_DATE_FORMATS}; got {style!r}")
    return Pair(
        tokenize(format_date(day, format=style, locale=locale)),
        tokenize(day.isoformat()),
    )


# --8<-- [end:generators]


class TranslationTask(NamedTuple):
    """A generated task: disjoint train/valid/test pairs and the vocabularies of each
    side.

    Both vocabularies start with ``<pad> <bos> <eos> <unk>`` (ids 0–3) and are built
    from the training pairs only.
    """

    name: str
    train: list[Pair]
    valid: list[Pair]
    test: list[Pair]
    source_vocab: Vocab
    target_vocab: Vocab

    @property
    def pad_id(self) -> int:
        """The padding id, 0 on both sides."""
        return self.target_vocab.stoi[PAD]

    @property
    def bos_id(self) -> int:
        """The target's begin-of-sequence id: the decoder's first input."""
        return self.target_vocab.stoi[BOS]

    @property
    def eos_id(self) -> int:
        """The target's end-of-sequence id: the decoder stops after producing it."""
        return self.target_vocab.stoi[EOS]

    def describe(self) -> str:
        """One line: the sizes of the splits and vocabularies, and the longest
        source."""
        longest = max(len(p.source) for p in (*self.train, *self.valid, *self.test))
        return (
            f"{self.name}: {len(self.train)}/{len(self.valid)}/{len(self.test)} pairs "
            f"(train/valid/test), vocab {len(self.source_vocab)} -> "
            f"{len(self.target_vocab)}, "
            f"sources up to {longest} tokens"
        )


def _check_sizes(n_train: int, n_valid: int, n_test: int) -> None:
    for name, n in (("n_train", n_train), ("n_valid", n_valid), ("n_test", n_test)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"{name} must be an int >= 1; got {n!r}")


# --8<-- [start:splits]
def _split_distinct(
    draw: Iterator[Pair],
    n_train: int,
    n_valid: int,
    n_test: int,
    *,
    rng: random.Random,
    limit: int,
) -> tuple[list[Pair], list[Pair], list[Pair]]:
    """Take distinct pairs from `draw` (by source), shuffle them, deal them into three
    splits.

    No source appears in two splits (or twice in one). The shuffle comes after the
    duplicates are gone: short sources are few (there are only 90 two-digit numbers), so
    the first draws hold most of them, and dealing in draw order would give the first
    split more short sources than the others.
    """
    seen: set[tuple[str, ...]] = set()
    pairs: list[Pair] = []
    need = n_train + n_valid + n_test
    for _ in range(limit):
        pair = next(draw)
        if pair.source not in seen:
            seen.add(pair.source)
            pairs.append(pair)
            if len(pairs) == need:
                break
    else:
        raise ValueError(
            f"could draw only {len(pairs)} distinct pairs of the {need} asked for"
        )
    rng.shuffle(pairs)
    return pairs[n_test + n_valid :], pairs[n_test : n_test + n_valid], pairs[:n_test]


# --8<-- [end:splits]


def _vocabs(train: Sequence[Pair]) -> tuple[Vocab, Vocab]:
    source = Vocab.build((t for p in train for t in p.source), specials=SPECIALS)
    target = Vocab.build((t for p in train for t in p.target), specials=SPECIALS)
    return source, target


@lru_cache(maxsize=8)
def numbers_task(
    *,
    n_train: int = 8000,
    n_valid: int = 500,
    n_test: int = 1000,
    max_digits: int = 12,
    seed: int = 0,
) -> TranslationTask:
    """English number words → French number words, digits drawn uniformly in
    1..max_digits.

    With max_digits=12 English sources run from 1 to about 28 tokens, French targets to
    about 45. Generating takes about 0.3 ms a pair (num2words); the result is cached per
    argument set, so two experiments in one process share it.
    """
    _check_sizes(n_train, n_valid, n_test)
    if (
        isinstance(max_digits, bool)
        or not isinstance(max_digits, int)
        or not 1 <= max_digits <= 15
    ):
        raise ValueError(f"max_digits must be an int in 1..15; got {max_digits!r}")
    rng = random.Random(f"numbers-{seed}")

    def draw() -> Iterator[Pair]:
        while True:
            digits = rng.randint(1, max_digits)
            low = 0 if digits == 1 else 10 ** (digits - 1)
            yield number_pair(rng.randrange(low, 10**digits))

    need = n_train + n_valid + n_test
    splits = _split_distinct(draw(), n_train, n_valid, n_test, rng=rng, limit=20 * need)
    return TranslationTask("numbers", *splits, *_vocabs(splits[0]))


@lru_cache(maxsize=8)
def dates_task(
    *,
    n_train: int = 8000,
    n_valid: int = 500,
    n_test: int = 1000,
    locales: tuple[str, ...] = DATE_LOCALES,
    seed: int = 0,
) -> TranslationTask:
    """Dates written out in `locales` (1900–2099, three babel styles) → ISO
    YYYY-MM-DD."""
    _check_sizes(n_train, n_valid, n_test)
    locales = tuple(locales)
    if not locales or any(loc not in DATE_LOCALES for loc in locales):
        raise ValueError(
            f"locales must be a non-empty subset of {DATE_LOCALES}; got {locales!r}"
        )
    rng = random.Random(f"dates-{seed}")
    span = (_LAST_DATE - _FIRST_DATE).days

    def draw() -> Iterator[Pair]:
        while True:
            day = _FIRST_DATE + _dt.timedelta(days=rng.randint(0, span))
            yield date_pair(day, rng.choice(locales), rng.choice(_DATE_FORMATS))

    need = n_train + n_valid + n_test
    splits = _split_distinct(draw(), n_train, n_valid, n_test, rng=rng, limit=20 * need)
    return TranslationTask("dates", *splits, *_vocabs(splits[0]))


def translation_task(name: str, **kwargs) -> TranslationTask:
    """The task called `name` ("numbers" or "dates"), with that generator's keyword
    arguments."""
    tasks = {"numbers": numbers_task, "dates": dates_task}
    if name not in tasks:
        raise ValueError(
            f"unknown translation task {name!r}; expected one of {sorted(tasks)}"
        )
    return tasks[name](**kwargs)


# --8<-- [start:batch]
class TranslationBatch(NamedTuple):
    """A padded batch. src (B, S) and its true lengths (B,); tgt_in and tgt_out (B, T).

    tgt_in is ``<bos> y1 ... yn`` and tgt_out is ``y1 ... yn <eos>``: at step t the
    decoder reads tgt_in[:, t] and is scored on tgt_out[:, t] (teacher forcing). Padding
    is id 0 and sits on the right of every row.
    """

    src: Tensor
    src_lengths: Tensor
    tgt_in: Tensor
    tgt_out: Tensor


def _pad(rows: list[list[int]]) -> Tensor:
    out = torch.zeros(
        len(rows), max(len(r) for r in rows), dtype=torch.long
    )  # <pad> = 0
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out


def make_batch(
    pairs: Sequence[Pair], task: TranslationTask, *, reverse_source: bool = False
) -> TranslationBatch:
    """Encode and pad `pairs`. reverse_source=True feeds each source backwards
    (Sutskever)."""
    if not pairs:
        raise ValueError("make_batch needs at least one pair; got none")
    sv, tv = task.source_vocab, task.target_vocab
    sources = [
        sv.encode(p.source[::-1] if reverse_source else p.source).tolist()
        for p in pairs
    ]
    if any(not s for s in sources):
        raise ValueError("every source needs at least one token; got an empty source")
    targets = [tv.encode(p.target).tolist() for p in pairs]
    return TranslationBatch(
        src=_pad(sources),  # (B, S)
        src_lengths=torch.tensor([len(s) for s in sources]),  # (B,)
        tgt_in=_pad([[task.bos_id, *t] for t in targets]),  # (B, T)
        tgt_out=_pad([[*t, task.eos_id] for t in targets]),  # (B, T)
    )


# --8<-- [end:batch]


def translation_batches(
    pairs: Sequence[Pair],
    task: TranslationTask,
    batch_size: int,
    *,
    shuffle: bool = True,
    epochs: int | None = None,
    reverse_source: bool = False,
    seed: int = 0,
    length_pool: int = 0,
) -> Iterator[TranslationBatch]:
    """Batches of `pairs`, reshuffled every epoch; endless when epochs is None (for
    `fit`).

    length_pool > 0 groups pairs of similar length, as Vaswani et al. (2017) batched
    "by approximate sequence length": each epoch's shuffled order is cut into pools of
    `length_pool` batches, each pool is sorted by (target, source) length and cut into
    batches, and the batches are shuffled. A batch then pads to a length near its own
    pairs' rather than to the longest of 64 random ones. 0 keeps plain shuffled batches.
    """
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be an int >= 1; got {batch_size!r}")
    if isinstance(length_pool, bool) or not isinstance(length_pool, int):
        raise ValueError(f"length_pool must be an int >= 0; got {length_pool!r}")
    if length_pool < 0:
        raise ValueError(f"length_pool must be an int >= 0; got {length_pool!r}")
    order = list(range(len(pairs)))
    rng = random.Random(seed)
    epoch = 0
    while epochs is None or epoch < epochs:
        if shuffle:
            rng.shuffle(order)
        cuts = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        if length_pool:
            cuts = []
            size = length_pool * batch_size
            for lo in range(0, len(order), size):
                pool = sorted(
                    order[lo : lo + size],
                    key=lambda i: (len(pairs[i].target), len(pairs[i].source)),
                )
                cuts += [
                    pool[i : i + batch_size] for i in range(0, len(pool), batch_size)
                ]
            if shuffle:
                rng.shuffle(cuts)
        for cut in cuts:
            chosen = [pairs[i] for i in cut]
            yield make_batch(chosen, task, reverse_source=reverse_source)
        epoch += 1


def length_buckets(
    pairs: Iterable[Pair], edges: Sequence[int]
) -> list[tuple[str, list[int]]]:
    """Group pair indices by source length: one (label, indices) per bucket.

    edges [1, 10, 20, 30] give the buckets 1–9, 10–19 and 20–29 tokens; a pair outside
    every bucket is left out. Empty buckets are kept, with no indices.
    """
    edges = list(edges)
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(
            f"edges must be at least two increasing lengths; got {edges!r}"
        )
    buckets: list[tuple[str, list[int]]] = [
        (f"{lo}–{hi - 1}", []) for lo, hi in zip(edges, edges[1:])
    ]
    for i, pair in enumerate(pairs):
        n = len(pair.source)
        for k, (lo, hi) in enumerate(zip(edges, edges[1:])):
            if lo <= n < hi:
                buckets[k][1].append(i)
                break
    return buckets
