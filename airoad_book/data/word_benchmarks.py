"""The standard word-vector test sets, read from the copies inside the gensim wheel.

gensim ships three classic sets in ``gensim/test/test_data/`` (no download):

- ``questions-words.txt``: Mikolov et al. (2013a)'s 19,544 analogy questions
  "a is to b as c is to d", in 14 sections (8,869 semantic, 10,675 syntactic);
- ``wordsim353.tsv``: WordSim-353 (Finkelstein et al. 2002), 353 word pairs rated for
  relatedness 0–10 by people;
- ``simlex999.txt``: SimLex-999 (Hill et al. 2015), 999 pairs rated for similarity
  proper (not mere relatedness) 0–10.

Words are lower-cased on reading, as the Penn Treebank is.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from airoad_book.data.corpora import _package_dir

__all__ = ["WORD_PAIR_SETS", "Analogy", "word_pairs", "analogy_questions"]

_GENSIM = ("gensim", "gensim>=4.3", "The word-vector test sets")
WORD_PAIR_SETS = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
_ANALOGIES = "questions-words.txt"


def _test_data(name: str) -> Path:
    path = _package_dir(*_GENSIM) / "test" / "test_data" / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{name} is not in the installed gensim ({path}); gensim 4.x ships it"
        )
    return path


@functools.lru_cache(maxsize=4)
def word_pairs(name: str = "wordsim353") -> tuple[tuple[str, str, float], ...]:
    """The (word, word, human score) triples of a similarity set, lower-cased.

    `name` is ``"wordsim353"`` or ``"simlex999"``.
    """
    if name not in WORD_PAIR_SETS:
        raise ValueError(
            f"name must be one of {', '.join(map(repr, WORD_PAIR_SETS))}; got {name!r}"
        )
    rows = []
    for line in _test_data(WORD_PAIR_SETS[name]).read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        a, b, score = line.split("\t")[:3]
        rows.append((a.lower(), b.lower(), float(score)))
    return tuple(rows)


@dataclass(frozen=True)
class Analogy:
    """One question, a : b :: c : d, and the section of the file it comes from."""

    section: str
    a: str
    b: str
    c: str
    d: str

    @property
    def semantic(self) -> bool:
        """Mikolov's split: the five sections not named ``gram…`` are semantic."""
        return not self.section.startswith("gram")


@functools.lru_cache(maxsize=1)
def analogy_questions() -> tuple[Analogy, ...]:
    """Mikolov et al.'s analogy questions, lower-cased, in the file's order."""
    questions, section = [], ""
    for line in _test_data(_ANALOGIES).read_text("utf-8").splitlines():
        if line.startswith(":"):
            section = line[1:].strip()
        elif line.strip():
            a, b, c, d = line.lower().split()
            questions.append(Analogy(section, a, b, c, d))
    return tuple(questions)
