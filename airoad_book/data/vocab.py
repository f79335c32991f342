"""Vocabularies and tokenizers: the bridge from text to the integer ids a model eats.

A `Vocab` maps tokens to ids and back. The tokenizers are deliberately simple and
documented rule by rule, so a reader can predict every token they produce.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["Vocab", "char_tokens", "word_tokens", "UNK", "EOS"]

UNK = "<unk>"
EOS = "<eos>"


class Vocab:
    """A two-way map between tokens and integer ids; unknown tokens map to ``<unk>``.

    `itos` ("int to string") lists the tokens in id order; it must contain ``"<unk>"``
    and no token twice.
    """

    def __init__(self, itos: Sequence[str]):
        itos = list(itos)
        if UNK not in itos:
            raise ValueError(
                f"a Vocab needs the token {UNK!r} in itos; got {len(itos)} tokens "
                f"without it"
            )
        duplicates = sorted(t for t, n in Counter(itos).items() if n > 1)
        if duplicates:
            raise ValueError(
                f"itos must list each token once; got duplicates {duplicates[:10]}"
            )
        self.itos: list[str] = itos
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(itos)}
        self.unk_id: int = self.stoi[UNK]
        self.eos_id: int | None = self.stoi.get(EOS)

    @classmethod
    def build(
        cls,
        tokens: Iterable[str],
        *,
        min_count: int = 1,
        max_size: int | None = None,
        specials: Sequence[str] = (UNK, EOS),
    ) -> Vocab:
        """Count `tokens` and keep the frequent ones: specials first, then by count.

        Ties in count are broken by the token itself, so the same text always gives the
        same ids. `max_size` caps the whole vocabulary, specials included; tokens seen
        fewer than `min_count` times are left out (they will encode as ``<unk>``).
        """
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1; got {min_count}")
        if max_size is not None and max_size < len(specials):
            raise ValueError(
                f"max_size must leave room for the {len(specials)} specials; got "
                f"{max_size}"
            )
        counts = Counter(tokens)
        for special in specials:
            counts.pop(special, None)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        kept = [t for t, n in ranked if n >= min_count]
        if max_size is not None:
            kept = kept[: max_size - len(specials)]
        return cls([*specials, *kept])

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, first={self.itos[:5]})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.itos == other.itos

    def encode(self, tokens: Iterable[str]) -> torch.Tensor:
        """The ids of `tokens` as a 1-D int64 tensor; unknown tokens become `unk_id`."""
        get, unk = self.stoi.get, self.unk_id
        ids = np.fromiter((get(t, unk) for t in tokens), dtype=np.int64)  # (N,)
        return torch.from_numpy(ids)

    def decode(self, ids: torch.Tensor | Iterable[int]) -> list[str]:
        """The tokens of a 1-D sequence of ids (a tensor or a list of ints)."""
        if isinstance(ids, torch.Tensor):
            if ids.dim() != 1:
                raise ValueError(
                    f"decode expects 1-D ids; got a tensor of shape {tuple(ids.shape)}"
                )
            ids = ids.tolist()
        ids = list(ids)
        bad = [i for i in ids if not 0 <= i < len(self.itos)]
        if bad:
            raise ValueError(f"ids must lie in [0, {len(self.itos)}); got {bad[:10]}")
        return [self.itos[i] for i in ids]

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-able description of the vocabulary, for checkpoints."""
        return {"itos": list(self.itos)}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Vocab:
        """Rebuild a Vocab saved by `to_dict`."""
        if "itos" not in state:
            raise ValueError(
                f"expected a dict with the key 'itos' (from Vocab.to_dict); got keys "
                f"{sorted(state)}"
            )
        return cls(state["itos"])


def char_tokens(text: str) -> list[str]:
    """One token per character of `text`; newlines stay as ``"\\n"`` tokens."""
    return list(text)


# a word: letters or digits, with apostrophes kept only *inside* it (o'er, 'tis -> '
# tis);
# anything else that is not whitespace is a token of one character.
_WORD_OR_PUNCT = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[^\w\s]|_")


def word_tokens(text: str) -> list[str]:
    """Word-level tokens of Shakespeare-like text, one rule at a time.

    - the text is lowercased;
    - a word is a run of letters or digits; an apostrophe *between* two such runs stays
      inside the word (``o'er``, ``kill'd``), one at either end is punctuation
      (``'tis`` -> ``'``, ``tis``);
    - every other non-space character is a token of its own (``,`` ``.`` ``-`` ``-``);
    - every non-empty line ends with ``"<eos>"``; empty (or all-space) lines give nothing.
    """
    tokens: list[str] = []
    for line in text.lower().split("\n"):
        words = _WORD_OR_PUNCT.findall(line)
        if words:
            tokens.extend(words)
            tokens.append(EOS)
    return tokens
