"""Known answers for the unit conversions of chapter 5, and accuracy."""

import math

import pytest
import torch

from airoad_book.metrics import (
    LN2,
    accuracy,
    bits,
    bits_per_char,
    nats_from_bits,
    nats_from_perplexity,
    perplexity,
    perplexity_from_bits,
)


@pytest.mark.parametrize("vocab", [2, 27, 10_000])
def test_uniform_guess_over_v_tokens_has_perplexity_v(vocab):
    probs = torch.full((vocab,), 1.0 / vocab)
    nats = -(probs * probs.log()).sum().item()  # entropy of the uniform distribution
    assert perplexity(nats) == pytest.approx(vocab, rel=1e-5)
    assert bits(nats) == pytest.approx(math.log2(vocab), rel=1e-5)


def test_perplexity_of_cross_entropy_matches_torch_for_uniform_logits():
    vocab = 50
    logits = torch.zeros(8, vocab)
    nats = torch.nn.functional.cross_entropy(logits, torch.arange(8)).item()
    assert perplexity(nats) == pytest.approx(vocab)


def test_one_bit_is_ln2_nats():
    assert nats_from_bits(1.0) == pytest.approx(math.log(2.0))
    assert bits(LN2) == pytest.approx(1.0)


def test_bits_and_nats_are_inverse_conversions():
    for nats in [0.0, 0.5, 1.0, 4.6]:
        assert nats_from_bits(bits(nats)) == pytest.approx(nats)


def test_perplexity_is_the_same_in_bits_and_nats():
    nats = 4.2
    assert perplexity_from_bits(bits(nats)) == pytest.approx(perplexity(nats))
    assert perplexity_from_bits(1.0) == pytest.approx(2.0)


def test_nats_from_perplexity_inverts_perplexity():
    assert nats_from_perplexity(perplexity(3.3)) == pytest.approx(3.3)
    assert nats_from_perplexity(1.0) == 0.0


def test_nats_from_perplexity_rejects_non_positive():
    with pytest.raises(ValueError, match="perplexity must be positive; got 0"):
        nats_from_perplexity(0)


def test_bits_per_char_of_a_char_model_is_bits_per_token():
    assert bits_per_char(LN2) == pytest.approx(1.0)


def test_bits_per_char_spreads_a_word_loss_over_its_characters():
    # a 5-character word (4 letters + space) costing 10 bits is 2 bits per character
    assert bits_per_char(nats_from_bits(10.0), chars_per_token=5.0) == pytest.approx(2.0)


def test_bits_per_char_rejects_non_positive_chars_per_token():
    with pytest.raises(ValueError, match="chars_per_token must be positive; got 0"):
        bits_per_char(1.0, chars_per_token=0)


def test_accuracy_counts_argmax_hits():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 1.0], [5.0, 0.0, 0.0]])
    targets = torch.tensor([0, 1, 0, 2])
    assert accuracy(logits, targets) == 0.5


def test_accuracy_works_over_batch_and_time():
    logits = torch.randn(4, 7, 11)  # (B, T, V)
    assert accuracy(logits, logits.argmax(-1)) == 1.0


def test_accuracy_leaves_out_ignored_targets():
    logits = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    targets = torch.tensor([0, 1, -100])
    assert accuracy(logits, targets, ignore_index=-100) == 0.5


def test_accuracy_rejects_mismatched_shapes_naming_both():
    with pytest.raises(ValueError, match=r"targets of shape \(4,\).*got targets of shape \(5,\)"):
        accuracy(torch.zeros(4, 3), torch.zeros(5, dtype=torch.long))


def test_accuracy_with_everything_ignored_is_an_error():
    with pytest.raises(ValueError, match="at least one target"):
        accuracy(torch.zeros(2, 3), torch.full((2,), -1), ignore_index=-1)
