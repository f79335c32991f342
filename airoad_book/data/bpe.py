"""Byte-pair encoding (Sennrich, Haddow and Birch 2016), learned and applied from the
algorithm.

Sennrich et al., *Neural Machine Translation of Rare Words with Subword Units* (ACL
2016, <https://arxiv.org/abs/1508.07909>), split rare words into pieces that a fixed
vocabulary does hold. Learning (their Algorithm 1): start from characters, the last
character of each word marked with ``</w>``; count every pair of adjacent symbols,
weighted by the word's frequency; merge the most frequent pair into one new symbol
everywhere; repeat for a chosen number of merges. Encoding a word replays the merges in
the order they were learned. A word never seen in training still splits into known
pieces, down to single characters.

Text is first cut into tokens by `pretokenize`: runs of letters or digits and single
punctuation marks, each token that follows a space carrying the mark ``▁`` (as
SentencePiece writes it), so `detokenize` restores the text exactly.

Ties between pairs of equal count are broken towards the pair that sorts first as a pair
of strings. (HuggingFace `tokenizers` breaks them by its internal symbol ids; the tests
compare both on the same text.)
"""

from __future__ import annotations

import heapq
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

__all__ = ["SPACE", "EOW", "pretokenize", "detokenize", "learn_bpe", "BPE"]

SPACE = "▁"  # marks a token that follows a space
EOW = "</w>"  # marks the last symbol of a word (Sennrich et al.'s end-of-word symbol)

_TOKEN = re.compile(r"\S+")
_PIECE = re.compile(r"\w+|[^\w\s]")


# --8<-- [start:pretokenize]
def pretokenize(text: str) -> list[str]:
    """Words and single punctuation marks; a token that follows a space starts with ▁.

    >>> pretokenize("l'action de log.")
    ['▁l', "'", 'action', '▁de', '▁log', '.']
    """
    tokens = []
    for chunk in _TOKEN.findall(text):
        pieces = _PIECE.findall(chunk)
        tokens += [SPACE + pieces[0], *pieces[1:]]
    return tokens


def detokenize(tokens: Iterable[str]) -> str:
    """The text back from tokens or BPE pieces: `pretokenize`'s inverse.

    >>> detokenize(['▁l', "'", 'act', 'ion</w>', '▁de</w>'])
    "l'action de"
    """
    return "".join(tokens).replace(EOW, "").replace(SPACE, " ").strip()


# --8<-- [end:pretokenize]


# --8<-- [start:learn]
def _symbols(word: str) -> tuple[str, ...]:
    return (*word[:-1], word[-1] + EOW)


def learn_bpe(words: Iterable[str], num_merges: int) -> list[tuple[str, str]]:
    """Learn up to `num_merges` merges from a corpus of words (tokens, repeats counted).

    Returns the merges in the order learned: each a pair of symbols to join. Learning
    stops early when no pair of symbols is left to merge.
    """
    if (
        isinstance(num_merges, bool)
        or not isinstance(num_merges, int)
        or num_merges < 0
    ):
        raise ValueError(f"num_merges must be an int >= 0; got {num_merges!r}")
    freq = Counter(w for w in words if w)
    vocab = [list(_symbols(w)) for w in freq]  # each word as its current symbols
    counts = list(freq.values())
    stats: Counter[tuple[str, str]] = Counter()  # pair -> weighted count
    where: defaultdict[tuple[str, str], set[int]] = defaultdict(
        set
    )  # pair -> word indices
    for i, symbols in enumerate(vocab):
        for pair in zip(symbols, symbols[1:]):
            stats[pair] += counts[i]
            where[pair].add(i)
    # a heap of (-count, pair): the most frequent pair on top, ties to the first in
    # order;
    # an entry whose count is out of date is skipped when it comes up
    heap = [(-n, pair) for pair, n in stats.items()]
    heapq.heapify(heap)
    merges = []
    while len(merges) < num_merges and heap:
        negative, best = heapq.heappop(heap)
        if stats.get(best, 0) != -negative or -negative <= 0:
            continue  # stale
        merges.append(best)
        joined = best[0] + best[1]
        touched: set[tuple[str, str]] = set()
        for i in list(where[best]):
            old = vocab[i]
            for pair in zip(old, old[1:]):  # take the word's pairs out of the counts
                stats[pair] -= counts[i]
            new, k = [], 0
            while k < len(old):  # merge every occurrence, left to right
                if k + 1 < len(old) and (old[k], old[k + 1]) == best:
                    new.append(joined)
                    k += 2
                else:
                    new.append(old[k])
                    k += 1
            vocab[i] = new
            for pair in zip(new, new[1:]):  # and the new pairs in
                stats[pair] += counts[i]
                where[pair].add(i)
            touched.update(zip(old, old[1:]), zip(new, new[1:]))
        for pair in touched:
            if stats[pair] > 0:
                heapq.heappush(heap, (-stats[pair], pair))
        touched.clear()
        del stats[best], where[best]
    return merges


# --8<-- [end:learn]


# --8<-- [start:encode]
class BPE:
    """Learned merges applied to new text: `encode` a sentence into pieces, `decode`
    back.

    >>> bpe = BPE.learn(["▁low", "▁lower", "▁lowest", "▁low"], num_merges=4)
    >>> bpe.encode("lowish")
    ['▁low', 'i', 's', 'h</w>']
    """

    def __init__(self, merges: Sequence[tuple[str, str]]):
        self.merges = [tuple(m) for m in merges]
        self.ranks = {pair: r for r, pair in enumerate(self.merges)}
        self._cache: dict[str, tuple[str, ...]] = {}

    @classmethod
    def learn(cls, words: Iterable[str], num_merges: int) -> BPE:
        """`learn_bpe` on tokens; for sentences, pass ``t for s in text for t in
        pretokenize(s)``."""
        return cls(learn_bpe(words, num_merges))

    def encode_word(self, word: str) -> tuple[str, ...]:
        """One token's pieces: merge the adjacent pair learned earliest, until none
        applies."""
        if not word:
            raise ValueError("expected a non-empty word")
        if word in self._cache:
            return self._cache[word]
        symbols = list(_symbols(word))
        while len(symbols) > 1:
            pairs = [
                (self.ranks.get(p, len(self.ranks)), k)
                for k, p in enumerate(zip(symbols, symbols[1:]))
            ]
            rank, k = min(pairs)
            if rank == len(self.ranks):
                break
            symbols[k : k + 2] = [symbols[k] + symbols[k + 1]]
        self._cache[word] = tuple(symbols)
        return self._cache[word]

    def encode(self, text: str) -> list[str]:
        """The pieces of a sentence: `pretokenize`, then `encode_word` on each token."""
        return [
            piece for token in pretokenize(text) for piece in self.encode_word(token)
        ]

    def decode(self, pieces: Iterable[str]) -> str:
        """The text of pieces (`detokenize`)."""
        return detokenize(pieces)


# --8<-- [end:encode]
