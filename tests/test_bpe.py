"""BPE (Sennrich et al. 2016): a known answer worked by hand, the round trip, and
HuggingFace `tokenizers`' BPE trainer as the reference on the same text."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from airoad_book.data.bpe import BPE, EOW, detokenize, learn_bpe, pretokenize
from airoad_book.data.messages import message_pairs

# Sennrich et al.'s Figure 1 vocabulary: low ×5, lower ×2, newest ×6, widest ×3
TOY = ["low"] * 5 + ["lower"] * 2 + ["newest"] * 6 + ["widest"] * 3


def test_merges_on_the_paper_s_toy_vocabulary_worked_by_hand():
    # counts: (e,s) 9 = (s,t</w>) 9 -> tie, (e,s) sorts first; then (es,t</w>) 9;
    # (l,o) 7; then (e,w) 6 = (n,e) 6 = (w,est</w>) 6 -> (e,w) sorts first; then
    # (ew,est</w>) 6 = (n,ew) 6 -> (ew,est</w>); (n,ewest</w>) 6; (lo,w</w>) 5
    assert learn_bpe(TOY, 7) == [
        ("e", "s"),
        ("es", "t</w>"),
        ("l", "o"),
        ("e", "w"),
        ("ew", "est</w>"),
        ("n", "ewest</w>"),
        ("lo", "w</w>"),
    ]


def test_encoding_replays_the_merges_and_splits_unseen_words_into_known_pieces():
    bpe = BPE(learn_bpe(TOY, 7))
    assert bpe.encode_word("lowest") == ("lo", "w", "est</w>")
    assert bpe.encode_word("low") == ("low</w>",)
    assert bpe.encode_word("xyz") == ("x", "y", "z</w>")  # nothing learned: characters


def test_learning_stops_when_no_pair_is_left_and_rejects_a_bad_count():
    assert learn_bpe(["ab"], 10) == [("a", "b</w>")]
    with pytest.raises(ValueError, match="num_merges"):
        learn_bpe(TOY, -1)


def test_pretokenize_and_detokenize_round_trip_every_message():
    for english, french in message_pairs():
        for text in (english, french):
            assert detokenize(pretokenize(text)) == text


def test_pieces_decode_back_to_the_text():
    pairs = message_pairs()[:400]
    bpe = BPE.learn(
        (t for pair in pairs for side in pair for t in pretokenize(side)), 300
    )
    for english, french in pairs[:100]:
        assert bpe.decode(bpe.encode(french)) == french
        assert all(p.endswith(EOW) for p in bpe.encode(english)[-1:])


def _hf_merges(words: list[str], num_merges: int) -> list[tuple[str, str]]:
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import models, pre_tokenizers, trainers

    tok = tokenizers.Tokenizer(models.BPE(end_of_word_suffix=EOW))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    # tokenizers sizes by vocabulary, counting the bare and the marked alphabet: ask for
    # every merge and keep the first num_merges
    trainer = trainers.BpeTrainer(
        vocab_size=1_000_000,
        min_frequency=0,
        end_of_word_suffix=EOW,
        show_progress=False,
    )
    tok.train_from_iterator(
        [" ".join(words[i : i + 500]) for i in range(0, len(words), 500)], trainer
    )
    merges = json.loads(tok.to_str())["model"]["merges"]
    return [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in merges][
        :num_merges
    ]


def _replay(words: list[str], merges: list[tuple[str, str]]) -> list[tuple[int, int]]:
    """Apply `merges` in order; before each, (count of that pair, count of the most
    frequent)."""
    freq = Counter(words)
    vocab = {w: [*w[:-1], w[-1] + EOW] for w in freq}
    out = []
    for a, b in merges:
        stats: Counter = Counter()
        for w, symbols in vocab.items():
            for pair in zip(symbols, symbols[1:]):
                stats[pair] += freq[w]
        out.append((stats[(a, b)], max(stats.values())))
        for w, symbols in vocab.items():
            new, k = [], 0
            while k < len(symbols):
                if k + 1 < len(symbols) and (symbols[k], symbols[k + 1]) == (a, b):
                    new.append(a + b)
                    k += 2
                else:
                    new.append(symbols[k])
                    k += 1
            vocab[w] = new
    return out


def test_same_merges_as_huggingface_tokenizers_on_a_corpus_without_ties():
    words = ["aab"] * 7 + ["abc"] * 4 + ["bcd"] * 2 + ["cd"]
    ours = learn_bpe(words, 5)
    assert ours == _hf_merges(words, 5)


def test_same_merges_as_huggingface_tokenizers_on_real_text_up_to_the_order_of_ties():
    # Both pick the most frequent pair; among pairs of equal count we take the first as
    # strings, tokenizers the one with the smallest internal ids (which follow its hash
    # order). So the two lists agree merge for merge up to the first tie, and after it
    # each
    # is still a most-frequent merge at every step; a different tie order can change
    # what
    # is merged later (('a','ti') before ('ti','on') leaves 'on' free to join 's</w>').
    pairs = message_pairs()[:600]
    words = [t for pair in pairs for side in pair for t in pretokenize(side)]
    ours, theirs = learn_bpe(words, 150), _hf_merges(words, 150)
    assert len(ours) == len(theirs) == 150
    for merges in (ours, theirs):
        assert all(count == best for count, best in _replay(words, merges))
    counts = [count for count, _ in _replay(words, ours)]
    first_tie = next(i for i in range(1, 150) if counts[i] == counts[i - 1])
    assert first_tie > 10
    assert ours[: first_tie - 1] == theirs[: first_tie - 1]
    assert len(set(ours) & set(theirs)) >= 0.9 * 150
