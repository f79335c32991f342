"""Claims about the generated translation tasks of chapters 9-11."""

from __future__ import annotations

import datetime as dt

import pytest
import torch

from airoad_book.data import (
    PAD,
    SPECIALS,
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


@pytest.fixture(scope="module")
def numbers():
    return numbers_task(n_train=600, n_valid=100, n_test=200, max_digits=9)


@pytest.fixture(scope="module")
def dates():
    return dates_task(n_train=600, n_valid=100, n_test=200)


def test_tokenize_splits_digits_punctuation_and_lowercases():
    assert tokenize("Dienstag, 5. März 2024") == (
        "dienstag",
        ",",
        "5",
        ".",
        "märz",
        "2",
        "0",
        "2",
        "4",
    )
    assert tokenize("forty-two") == ("forty", "-", "two")


def test_number_pair_is_english_to_french_words():
    pair = number_pair(342_105)
    assert (
        " ".join(pair.source)
        == "three hundred and forty - two thousand , one hundred and five"
    )
    assert " ".join(pair.target) == "trois cent quarante - deux mille cent cinq"
    with pytest.raises(ValueError, match="whole number >= 0"):
        number_pair(-1)


def test_date_pair_targets_iso_and_moves_the_year_to_the_front():
    pair = date_pair(dt.date(2024, 3, 5), "fr", "full")
    assert pair.source == ("mardi", "5", "mars", "2", "0", "2", "4")
    assert "".join(pair.target) == "2024-03-05"
    with pytest.raises(ValueError, match="locale must be one of"):
        date_pair(dt.date(2024, 3, 5), "xx")


@pytest.mark.parametrize("name", ["numbers", "dates"])
def test_splits_hold_no_pair_twice(name, numbers, dates):
    task = {"numbers": numbers, "dates": dates}[name]
    sources = [p.source for split in (task.train, task.valid, task.test) for p in split]
    assert len(sources) == len(set(sources)) == 900
    assert (len(task.train), len(task.valid), len(task.test)) == (600, 100, 200)


def test_tasks_are_deterministic_per_seed():
    a = dates_task(n_train=50, n_valid=5, n_test=5, seed=3)
    b = dates_task(n_train=50, n_valid=5, n_test=5, seed=3)
    c = dates_task(n_train=50, n_valid=5, n_test=5, seed=4)
    assert a.train == b.train and a.train != c.train


def test_vocabularies_start_with_the_four_specials(numbers):
    for vocab in (numbers.source_vocab, numbers.target_vocab):
        assert vocab.itos[:4] == list(SPECIALS)
    assert (numbers.pad_id, numbers.bos_id, numbers.eos_id) == (0, 1, 2)


def test_numbers_test_set_spans_short_to_long_sources(numbers):
    lengths = [len(p.source) for p in numbers.test]
    assert min(lengths) <= 3 and max(lengths) >= 20


def test_make_batch_pads_right_and_shifts_the_target(numbers):
    pairs = numbers.train[:4]
    batch = make_batch(pairs, numbers)
    assert batch.src.shape == (4, max(len(p.source) for p in pairs))
    assert (
        batch.tgt_in.shape
        == batch.tgt_out.shape
        == (4, max(len(p.target) for p in pairs) + 1)
    )
    for i, pair in enumerate(pairs):
        n, m = len(pair.source), len(pair.target)
        assert batch.src_lengths[i] == n
        assert numbers.source_vocab.decode(batch.src[i, :n]) == list(pair.source)
        assert (batch.src[i, n:] == 0).all() and numbers.source_vocab.itos[0] == PAD
        assert (
            batch.tgt_in[i, 0] == numbers.bos_id
            and batch.tgt_out[i, m] == numbers.eos_id
        )
        assert torch.equal(batch.tgt_in[i, 1 : m + 1], batch.tgt_out[i, :m])


def test_reverse_source_reverses_only_the_real_tokens(numbers):
    pairs = numbers.train[:3]
    forward, backward = (
        make_batch(pairs, numbers),
        make_batch(pairs, numbers, reverse_source=True),
    )
    for i, n in enumerate(forward.src_lengths.tolist()):
        assert torch.equal(backward.src[i, :n], forward.src[i, :n].flip(0))
    assert torch.equal(forward.tgt_out, backward.tgt_out)


def test_translation_batches_cover_an_epoch(dates):
    batches = list(translation_batches(dates.valid, dates, 32, epochs=1))
    assert sum(b.src.shape[0] for b in batches) == len(dates.valid)


def test_length_pooled_batches_cover_an_epoch_with_less_padding(dates):
    pairs = dates.train[:640]

    def padding(batches):
        return sum(int((b.src == 0).sum() + (b.tgt_out == 0).sum()) for b in batches)

    plain = list(translation_batches(pairs, dates, 32, epochs=1))
    pooled = list(translation_batches(pairs, dates, 32, epochs=1, length_pool=10))

    def rows(batches):  # every target, padding stripped
        return sorted(
            tuple(t for t in r.tolist() if t) for b in batches for r in b.tgt_out
        )

    assert rows(pooled) == rows(plain)  # the same pairs, each once
    assert sum(b.src.shape[0] for b in pooled) == len(pairs)
    assert padding(pooled) < padding(plain)
    again = list(translation_batches(pairs, dates, 32, epochs=1, length_pool=10))
    assert all(torch.equal(a.src, b.src) for a, b in zip(pooled, again))  # seeded
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="length_pool"):
            next(translation_batches(pairs, dates, 32, length_pool=bad))


def test_length_buckets_group_by_source_length(numbers):
    buckets = length_buckets(numbers.test, [1, 10, 20, 40])
    assert [label for label, _ in buckets] == ["1–9", "10–19", "20–39"]
    for (_, idx), (lo, hi) in zip(buckets, [(1, 10), (10, 20), (20, 40)]):
        assert all(lo <= len(numbers.test[i].source) < hi for i in idx)
    assert sum(len(idx) for _, idx in buckets) == len(numbers.test)


def test_bad_arguments_name_what_was_expected():
    with pytest.raises(ValueError, match="unknown translation task"):
        translation_task("wmt14")
    with pytest.raises(ValueError, match="max_digits must be an int in 1..15"):
        numbers_task(max_digits=40)
    with pytest.raises(ValueError, match="n_train must be an int >= 1"):
        dates_task(n_train=0)
    with pytest.raises(ValueError, match="edges must be at least two increasing"):
        length_buckets([], [5, 5])


def test_splits_have_the_same_mix_of_short_sources():
    task = numbers_task(n_train=3000, n_valid=300, n_test=1000, max_digits=8)

    def short_share(pairs):
        return sum(len(p.source) < 4 for p in pairs) / len(pairs)

    # the short sources are few and drawn first; the shuffle spreads them evenly
    assert abs(short_share(task.test) - short_share(task.train)) < 0.02
