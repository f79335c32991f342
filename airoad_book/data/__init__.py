"""The data layer: corpora from installed packages, vocabularies, and language-model batching.

Everything here runs offline: the corpora ship inside Python packages (see `corpora`).
"""

from airoad_book.data.batching import batchify, bptt_batches, context_windows, lm_windows, random_batches
from airoad_book.data.corpora import (
    DIGIT_SOURCES,
    SHAKESPEARE_SPLITS,
    Digits,
    MissingDataPackage,
    digits,
    names,
    names_split,
    penn_treebank,
    shakespeare,
    shakespeare_works,
)
from airoad_book.data.vocab import EOS, UNK, Vocab, char_tokens, word_tokens

__all__ = [
    # corpora
    "MissingDataPackage",
    "SHAKESPEARE_SPLITS",
    "shakespeare_works",
    "shakespeare",
    "penn_treebank",
    "names",
    "names_split",
    "Digits",
    "DIGIT_SOURCES",
    "digits",
    # vocabularies and tokenizers
    "Vocab",
    "UNK",
    "EOS",
    "char_tokens",
    "word_tokens",
    # batching
    "context_windows",
    "lm_windows",
    "batchify",
    "bptt_batches",
    "random_batches",
]
