"""Real human translations for chapters 9–11: English → French messages of four
programs.

Large programs ship their user-interface messages translated, as gettext catalogues
(``LC_MESSAGES/*.po``), inside their Python packages. Four packages of the lock hold
French catalogues written by people:

- **plone.app.locales** 7.0.4 (GPL-2.0), the translations of the Plone content-management
  system: six catalogues, about 3,750 messages;
- **Django** 5.2 (BSD-3-Clause): the framework's own catalogue and those of its contrib apps
  (admin, auth, humanize, …), about 1,800 messages;
- **Wagtail** 8.0 (BSD-3-Clause), a content-management system built on Django: the
  catalogues of its admin and its apps, about 2,100 messages;
- **Sphinx** 9.0 (BSD-2-Clause), the documentation generator: one catalogue, about 870
  messages.

Each entry pairs an English message (``msgid``) with its French translation
(``msgstr``). `read_catalogue` parses a catalogue with `polib`; `clean_pairs` keeps what
a translation model can learn from, and `messages_task` splits the result into train,
valid and test.

Cleaning, in order:

1. drop obsolete, fuzzy (a translator's draft) and untranslated entries;
2. Plone names some messages by a label (``label_title``) and gives the English in a
   ``Default: "Title"`` comment: the comment's text is the source; a label with no default is
   dropped;
3. plural entries contribute both forms (``msgid`` → ``msgstr[0]``, ``msgid_plural`` →
   ``msgstr[1]``);
4. markup and placeholders (``${name}``, ``%(count)s``, ``{0}``, ``<b>``) are replaced
by
   nothing, whitespace is collapsed, and the text is lower-cased;
5. drop pairs with no letters left on a side (placeholder-only), pairs whose French is
the
   English unchanged (names such as *Plone* or *OK*, nothing to translate), and pairs longer
   than `MAX_WORDS` words on a side;
6. deduplicate: the first pair of each English source wins.

Two sources can still share a French translation (*delete* and *remove* → *supprimer*).
`split_pairs` deals such pairs into the same split, as one group, so no English and no
French sentence is shared by train and test.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import NamedTuple

from airoad_book.data.bpe import BPE, detokenize, pretokenize
from airoad_book.data.translation import SPECIALS, Pair, TranslationTask
from airoad_book.data.vocab import Vocab

__all__ = [
    "MAX_WORDS",
    "SOURCES",
    "FIRST_SOURCES",
    "Message",
    "catalogue_paths",
    "read_catalogue",
    "clean_text",
    "clean_pairs",
    "message_pairs",
    "split_pairs",
    "UNITS",
    "MessagesTask",
    "messages_task",
]

MAX_WORDS = 40  # longest message kept, in words (split on spaces), on either side

# package -> (licence, globs of its French catalogues, relative to the package's folder)
SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "plone.app.locales": ("GPL-2.0", ("locales/fr/LC_MESSAGES/*.po",)),
    "django": (
        "BSD-3-Clause",
        ("conf/locale/fr/LC_MESSAGES/*.po", "contrib/*/locale/fr/LC_MESSAGES/*.po"),
    ),
    "wagtail": (
        "BSD-3-Clause",
        (
            "locale/fr/LC_MESSAGES/*.po",
            "*/locale/fr/LC_MESSAGES/*.po",
            "contrib/*/locale/fr/LC_MESSAGES/*.po",
        ),
    ),
    "sphinx": ("BSD-2-Clause", ("locale/fr/LC_MESSAGES/*.po",)),
}
# the two packages of chapters 9 and 10's recorded runs; chapter 11 adds the others
FIRST_SOURCES = ("plone.app.locales", "django")


@dataclass(frozen=True)
class Message:
    """One translated message as the catalogue holds it, before cleaning."""

    source: str  # English
    target: str  # French
    catalogue: str  # "package:file", for the data table


def catalogue_paths(package: str) -> list[Path]:
    """The French catalogues that `package` (a key of SOURCES) ships, in a stable
    order."""
    if package not in SOURCES:
        raise ValueError(
            f"unknown package {package!r}; expected one of {sorted(SOURCES)}"
        )
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{package} is not installed: `uv sync` installs it")
    root = Path(next(iter(spec.submodule_search_locations)))
    paths = sorted({p for pattern in SOURCES[package][1] for p in root.glob(pattern)})
    if not paths:
        raise FileNotFoundError(f"no French catalogue under {root}")
    return paths


# --8<-- [start:read]
_DEFAULT = re.compile(r'^Default:\s*"(.*)"\s*$', re.S)
_LABEL = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")  # label_title, help_x_y


def read_catalogue(path: str | Path, name: str | None = None) -> list[Message]:
    """The translated entries of one .po catalogue (steps 1–3 of the module's cleaning).

    Obsolete, fuzzy and untranslated entries are left out; a Plone label's English comes
    from its ``Default:`` comment; a plural entry gives its singular forms.
    """
    import polib

    entries = polib.pofile(str(path), wrapwidth=0)
    name = name or Path(path).name
    out = []
    for entry in entries:
        if entry.obsolete or "fuzzy" in entry.flags or not entry.msgid:
            continue
        target = entry.msgstr or entry.msgstr_plural.get(0, "")
        if not target.strip():
            continue  # untranslated
        source = entry.msgid
        default = _DEFAULT.match((entry.comment or "").strip())
        if default:
            source = default.group(1).replace('\\"', '"')
        elif _LABEL.match(source):
            continue  # a label with no English text
        out.append(Message(source, target, name))
        plural = entry.msgstr_plural.get(1, "")
        if entry.msgid_plural and plural.strip() and not default:
            out.append(Message(entry.msgid_plural, plural, name))
    return out


# --8<-- [end:read]


# --8<-- [start:clean]
_MARKUP = re.compile(
    r"\$\{[^}]*\}"  # ${name}
    r"|%\([^)]*\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]"  # %(count)s, %(size).1f
    r"|%[-#0 +]*\d*(?:\.\d+)?[sdifr]"  # %s, %d
    r"|\{[^{}]*\}"  # {0}, {name}
    r"|</?[a-zA-Z][^>]*>"  # <b>, </a>, <br/>
    r"|&[a-z]+;"  # &nbsp;
    r"|\$[a-z]\b"  # Plone's $d, $h
)
_SPACE = re.compile(r"\s+")
_LETTER = re.compile(r"[^\W\d_]")


def clean_text(text: str) -> str:
    """Markup and placeholders removed, whitespace collapsed, lower-cased (step 4).

    >>> clean_text("Delete  %(name)s?<br/>")
    'delete ?'
    """
    return (
        _SPACE.sub(" ", _MARKUP.sub(" ", text.replace("\u00a0", " "))).strip().lower()
    )


def clean_pairs(messages: Iterable[Message]) -> list[tuple[str, str]]:
    """Cleaned (English, French) pairs, one per English source, in catalogue order
    (4–6)."""
    seen_source: set[str] = set()
    pairs = []
    for m in messages:
        source, target = clean_text(m.source), clean_text(m.target)
        if not _LETTER.search(source) or not _LETTER.search(target):
            continue  # placeholder-only
        if source == target:
            continue  # copied, not translated
        if max(len(source.split()), len(target.split())) > MAX_WORDS:
            continue
        if source in seen_source:
            continue
        seen_source.add(source)
        pairs.append((source, target))
    return pairs


# --8<-- [end:clean]


def _messages(packages: tuple[str, ...]) -> Iterator[Message]:
    for package in packages:
        for path in catalogue_paths(package):
            yield from read_catalogue(path, f"{package}:{path.name}")


def _check_sources(sources: tuple[str, ...]) -> tuple[str, ...]:
    sources = tuple(sources)
    if not sources or len(set(sources)) != len(sources):
        raise ValueError(
            f"sources must name packages of SOURCES once each; got {sources!r}"
        )
    for package in sources:
        if package not in SOURCES:
            raise ValueError(
                f"unknown package {package!r}; expected one of {sorted(SOURCES)}"
            )
    return sources


@lru_cache(maxsize=4)
def message_pairs(
    sources: tuple[str, ...] = tuple(SOURCES),
) -> tuple[tuple[str, str], ...]:
    """Every cleaned pair of the `sources` packages (by default all four, Plone's
    first), as (English, French) strings; a source given twice keeps its first
    package's translation."""
    return tuple(clean_pairs(_messages(_check_sources(sources))))


# --8<-- [start:split]
def split_pairs(
    pairs: Iterable[tuple[str, str]], n_valid: int, n_test: int, *, seed: int = 0
) -> tuple[list, list, list]:
    """Deal `pairs` into (train, valid, test) so that no sentence is in two splits.

    Pairs that share a French sentence form a group, and a group goes whole into one
    split; the groups are shuffled with `seed`, test is filled to at least n_test pairs,
    then valid to n_valid, and train takes the rest. A source given twice is a
    ValueError.
    """
    pairs = list(pairs)
    if len({s for s, _ in pairs}) != len(pairs):
        raise ValueError("expected pairs with no repeated source (see clean_pairs)")
    for name, n in (("n_valid", n_valid), ("n_test", n_test)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"{name} must be an int >= 1; got {n!r}")
    if n_valid + n_test >= len(pairs):
        raise ValueError(
            f"asked for {n_valid} + {n_test} held-out pairs of only {len(pairs)} pairs"
        )
    groups: dict[str, list[tuple[str, str]]] = {}
    for pair in pairs:
        groups.setdefault(pair[1], []).append(pair)
    order = list(groups.values())
    random.Random(f"messages-{seed}").shuffle(order)
    test: list = []
    valid: list = []
    train: list = []
    for group in order:
        (
            test if len(test) < n_test else valid if len(valid) < n_valid else train
        ).extend(group)
    return train, valid, test


# --8<-- [end:split]


class MessagesTask(NamedTuple):
    """The messages as a `TranslationTask` of tokens, with what BLEU on text needs.

    ``task``'s pairs hold BPE pieces (unit "bpe") or whole pretokenized words (unit
    "word", words unseen in training read as ``<unk>``); ``texts`` holds the (English,
    French) strings of train, valid and test, in the same order as the task's pairs;
    ``bpe`` is the learned `BPE` (None for words).
    """

    task: TranslationTask
    texts: dict[str, list[tuple[str, str]]]
    bpe: BPE | None
    unit: str

    def detokenize(self, tokens: Iterable[str]) -> str:
        """Text from target tokens (pieces or words): what sacrebleu scores."""
        return detokenize(tokens)


UNITS = ("bpe", "word")


@lru_cache(maxsize=8)
def messages_task(
    unit: str = "bpe",
    *,
    merges: int = 1000,
    n_valid: int = 150,
    n_test: int = 500,
    seed: int = 0,
    sources: tuple[str, ...] = tuple(SOURCES),
) -> MessagesTask:
    """English → French messages of the `sources` packages, split by `split_pairs`, as
    BPE pieces or whole words.

    The BPE is learned jointly on the training English and French (`merges` merges), as
    Sennrich et al. did for related languages; vocabularies come from the training
    pairs.
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}; got {unit!r}")
    pairs = message_pairs(_check_sources(sources))
    train, valid, test = split_pairs(pairs, n_valid, n_test, seed=seed)
    bpe = None
    if unit == "bpe":
        words = (t for pair in train for side in pair for t in pretokenize(side))
        bpe = BPE.learn(words, merges)
        cut = bpe.encode
    else:
        cut = pretokenize
    splits = [
        [Pair(tuple(cut(s)), tuple(cut(t))) for s, t in part]
        for part in (train, valid, test)
    ]
    source = Vocab.build((t for p in splits[0] for t in p.source), specials=SPECIALS)
    target = Vocab.build((t for p in splits[0] for t in p.target), specials=SPECIALS)
    task = TranslationTask(f"messages-{unit}", *splits, source, target)
    return MessagesTask(task, {"train": train, "valid": valid, "test": test}, bpe, unit)
