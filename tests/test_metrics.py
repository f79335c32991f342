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
    assert bits_per_char(nats_from_bits(10.0), chars_per_token=5.0) == pytest.approx(
        2.0
    )


def test_bits_per_char_rejects_non_positive_chars_per_token():
    with pytest.raises(ValueError, match="chars_per_token must be positive; got 0"):
        bits_per_char(1.0, chars_per_token=0)


def test_accuracy_counts_argmax_hits():
    logits = torch.tensor(
        [[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 1.0], [5.0, 0.0, 0.0]]
    )
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
    with pytest.raises(
        ValueError, match=r"targets of shape \(4,\).*got targets of shape \(5,\)"
    ):
        accuracy(torch.zeros(4, 3), torch.zeros(5, dtype=torch.long))


def test_accuracy_with_everything_ignored_is_an_error():
    with pytest.raises(ValueError, match="at least one target"):
        accuracy(torch.zeros(2, 3), torch.full((2,), -1), ignore_index=-1)


# --------------------------------------------------------------------------- BLEU


def _random_corpus(seed: int, n: int, vocab: int = 6, max_len: int = 12):
    import random

    rng = random.Random(seed)
    words = [f"w{i}" for i in range(vocab)]

    def sentence():
        return [rng.choice(words) for _ in range(rng.randint(0, max_len))]

    refs = [sentence() or ["w0"] for _ in range(n)]
    # hypotheses: mostly edits of the reference, sometimes unrelated, sometimes empty
    hyps = []
    for ref in refs:
        kind = rng.random()
        if kind < 0.6:
            hyp = [w if rng.random() < 0.7 else rng.choice(words) for w in ref]
            hyp = hyp[: rng.randint(0, len(hyp))] if rng.random() < 0.3 else hyp
        elif kind < 0.9:
            hyp = sentence()
        else:
            hyp = []
        hyps.append(hyp)
    return hyps, refs


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("n", [1, 3, 40])
def test_bleu_equals_sacrebleu_corpus_bleu(seed, n):
    import sacrebleu

    from airoad_book.metrics import bleu_score

    hyps, refs = _random_corpus(seed, n)
    ours = bleu_score(hyps, refs)
    theirs = sacrebleu.corpus_bleu(
        [" ".join(h) for h in hyps], [[" ".join(r) for r in refs]], tokenize="none"
    )
    assert ours.score == pytest.approx(theirs.score, abs=1e-9)
    assert ours.precisions == pytest.approx(tuple(theirs.precisions), abs=1e-9)
    assert ours.brevity_penalty == pytest.approx(theirs.bp, abs=1e-12)
    assert (ours.hyp_len, ours.ref_len) == (theirs.sys_len, theirs.ref_len)


def test_bleu_known_answers():
    from airoad_book.metrics import bleu, bleu_score

    ref = "the cat sat on the mat".split()
    assert bleu([ref], [ref]) == pytest.approx(100.0)
    assert bleu([["dog"]], [ref]) == 0.0
    # clipping: "the the the ..." gets credit for "the" only twice (it occurs twice in
    # ref)
    score = bleu_score([["the"] * 6], [ref], max_n=1)
    assert score.precisions[0] == pytest.approx(100 * 2 / 6)
    # a correct prefix of half the length: precisions 100, BP = exp(1 - 6/3)
    half = bleu_score([ref[:3]], [ref], max_n=2)
    assert half.brevity_penalty == pytest.approx(math.exp(-1.0))
    assert half.score == pytest.approx(100 * math.exp(-1.0))


def test_bleu_needs_one_reference_per_hypothesis():
    from airoad_book.metrics import bleu

    with pytest.raises(ValueError, match="one reference per hypothesis"):
        bleu([["a"]], [])
