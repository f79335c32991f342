"""The data layer: corpora from installed packages, vocabularies, language-model
batching, and generated translation tasks.

Everything here runs offline: the corpora ship inside Python packages (see `corpora`).
"""

from airoad_book.data import (
    batching,
    corpora,
    translation,
    vocab,
)  # each module lists its public names
from airoad_book.data.batching import (
    batchify,
    bptt_batches,
    context_windows,
    lm_windows,
    random_batches,
)
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
from airoad_book.data.translation import (
    BOS,
    DATE_LOCALES,
    PAD,
    SPECIALS,
    Pair,
    TranslationBatch,
    TranslationTask,
    date_pair,
    dates_task,
    length_buckets,
    make_batch,
    number_pair,
    numbers_task,
    tokenize,
    translation_batches,
    translation_task,
)
from airoad_book.data.vocab import EOS, UNK, Vocab, char_tokens, word_tokens

__all__ = [*corpora.__all__, *vocab.__all__, *batching.__all__, *translation.__all__]
