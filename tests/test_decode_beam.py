"""Claims about beam search: a known answer where greedy is fooled, beam 1 is greedy, order."""

import math

import pytest
import torch
from torch import nn

from airoad_book.decode import Hypothesis, beam_hypotheses, beam_search, length_penalty

PAD, BOS, EOS, A, B = range(5)


class _Chain(nn.Module):
    """A toy translator whose next-token distribution depends only on the last token.

    From <bos>: a 0.6, b 0.4. After a: <eos> 0.4, a 0.3, b 0.3. After b: <eos> 0.9, a 0.05,
    b 0.05. Greedy takes a then <eos> (p = 0.24); the best sentence is b <eos> (p = 0.36).
    """

    def __init__(self) -> None:
        super().__init__()
        p = torch.full((5, 5), 1e-12)
        p[BOS, [A, B]] = torch.tensor([0.6, 0.4])
        p[A, [EOS, A, B]] = torch.tensor([0.4, 0.3, 0.3])
        p[B, [EOS, A, B]] = torch.tensor([0.9, 0.05, 0.05])
        p[EOS, EOS] = p[PAD, EOS] = 1.0
        self.register_buffer("table", p.log())  # (V, V) log p(next | last)

    def encode(self, src, src_lengths):
        return src.float()  # (B, S): not read

    def init_state(self, memory):
        return torch.full((memory.shape[0],), BOS)  # (B,) the last token

    def step(self, prev, state, memory):
        return self.table[prev], prev  # (B, V), (B,)


def test_beam_two_finds_the_sentence_greedy_misses():
    src, lengths = torch.ones(1, 1, dtype=torch.long), torch.ones(1, dtype=torch.long)
    model = _Chain()
    assert beam_search(model, src, lengths, beam_size=1, bos_id=BOS, eos_id=EOS, max_len=5) == [[A]]
    assert beam_search(model, src, lengths, beam_size=2, bos_id=BOS, eos_id=EOS, max_len=5) == [[B]]
    best, second = beam_hypotheses(model, src, lengths, beam_size=2, bos_id=BOS, eos_id=EOS,
                                   max_len=5, alpha=0.0)[0]
    assert best.tokens == [B] and math.isclose(best.log_prob, math.log(0.36), rel_tol=1e-6)
    assert second.tokens == [A] and math.isclose(second.log_prob, math.log(0.24), rel_tol=1e-6)


def test_length_penalty_is_gnmts_formula():
    assert length_penalty(7, 0.0) == 1.0
    assert math.isclose(length_penalty(7, 0.6), 2.0**0.6)
    assert math.isclose(length_penalty(1, 1.0), 1.0)


def test_scores_are_log_prob_over_length_penalty_and_sorted():
    src, lengths = torch.ones(2, 1, dtype=torch.long), torch.ones(2, dtype=torch.long)
    found = beam_hypotheses(_Chain(), src, lengths, beam_size=4, bos_id=BOS, eos_id=EOS,
                            max_len=6, alpha=0.8)
    for hypotheses in found:
        assert len(hypotheses) == 4
        scores = [h.score for h in hypotheses]
        assert scores == sorted(scores, reverse=True)
        for h in hypotheses:
            assert isinstance(h, Hypothesis)
            assert math.isclose(h.score, h.log_prob / length_penalty(len(h.tokens) + 1, 0.8))


def test_beam_search_stops_at_max_len_with_unfinished_beams():
    src, lengths = torch.ones(1, 1, dtype=torch.long), torch.ones(1, dtype=torch.long)
    found = beam_hypotheses(_Chain(), src, lengths, beam_size=1, bos_id=BOS, eos_id=PAD,
                            max_len=3)  # an end id the model never favours
    assert [len(h.tokens) for h in found[0]] == [3]


@pytest.mark.parametrize(
    ("name", "value"), [("beam_size", 0), ("max_len", 0), ("alpha", -1.0), ("eos_id", 5)]
)
def test_bad_arguments_raise_value_errors(name, value):
    args = {"beam_size": 2, "bos_id": BOS, "eos_id": EOS, "max_len": 5, name: value}
    src, lengths = torch.ones(1, 1, dtype=torch.long), torch.ones(1, dtype=torch.long)
    with pytest.raises(ValueError, match=name):
        beam_search(_Chain(), src, lengths, **args)
