"""Claims about the shared translation pieces: greedy decoding over the model protocol,
row selection for beams, the teacher-forcing loss, training and BLEU by length."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from airoad_book.data import dates_task, make_batch
from airoad_book.decode import greedy_translate, select_rows
from airoad_book.experiments.translation_training import (
    bleu_by_length,
    corpus_bleu,
    teacher_forcing_loss,
    train_translator,
    translate,
    validation_loss,
)
from airoad_book.train import TrainConfig


class TinyTranslator(nn.Module):
    """A test double of the protocol: mean-pooled source embedding -> GRU decoder."""

    def __init__(self, source_vocab: int, target_vocab: int, dim: int = 32):
        super().__init__()
        self.src_embed = nn.Embedding(source_vocab, dim, padding_idx=0)
        self.tgt_embed = nn.Embedding(target_vocab, dim)
        self.cell = nn.GRUCell(dim, dim)
        self.out = nn.Linear(dim, target_vocab)

    def encode(self, src, src_lengths):
        mask = (src != 0).unsqueeze(-1).float()  # (B, S, 1)
        return (self.src_embed(src) * mask).sum(1) / src_lengths[
            :, None
        ].float()  # (B, D)

    def init_state(self, memory):
        return torch.tanh(memory)  # (B, D)

    def step(self, prev, state, memory):
        state = self.cell(self.tgt_embed(prev) + memory, state)
        return self.out(state), state

    def forward(self, src, src_lengths, tgt_in):
        memory = self.encode(src, src_lengths)
        state, logits = self.init_state(memory), []
        for t in range(tgt_in.shape[1]):
            step_logits, state = self.step(tgt_in[:, t], state, memory)
            logits.append(step_logits)
        return torch.stack(logits, dim=1)  # (B, T, V)


class Countdown(nn.Module):
    """A known answer: emits tokens 5, 4, 3 then <eos> (2), whatever the source."""

    def encode(self, src, src_lengths):
        return src_lengths.float()[:, None]  # (B, 1)

    def init_state(self, memory):
        return torch.full((memory.shape[0],), 5)

    def step(self, prev, state, memory):
        logits = torch.full((state.shape[0], 8), -1.0)
        nxt = torch.where(state >= 3, state, torch.full_like(state, 2))
        logits[torch.arange(state.shape[0]), nxt] = 1.0
        return logits, state - 1


@pytest.fixture(scope="module")
def task():
    return dates_task(n_train=400, n_valid=40, n_test=60)


def test_greedy_translate_stops_at_eos_and_drops_it():
    src, lengths = torch.ones(3, 4, dtype=torch.long), torch.tensor([4, 2, 1])
    out = greedy_translate(Countdown(), src, lengths, bos_id=1, eos_id=2, max_len=10)
    assert out == [[5, 4, 3]] * 3
    assert (
        greedy_translate(Countdown(), src, lengths, bos_id=1, eos_id=2, max_len=2)
        == [[5, 4]] * 3
    )


def test_select_rows_reorders_every_tensor_in_a_nested_state():
    state = {"h": torch.arange(3), "pair": (torch.arange(6).view(3, 2), None)}
    picked = select_rows(state, torch.tensor([2, 2, 0]))
    assert picked["h"].tolist() == [2, 2, 0]
    assert (
        picked["pair"][0].tolist() == [[4, 5], [4, 5], [0, 1]]
        and picked["pair"][1] is None
    )
    with pytest.raises(ValueError, match="expects a tensor"):
        select_rows("h", torch.tensor([0]))


def test_teacher_forcing_loss_ignores_padding(task):
    torch.manual_seed(0)
    model = TinyTranslator(len(task.source_vocab), len(task.target_vocab))
    pairs = task.train[:6]
    batched = teacher_forcing_loss(model, make_batch(pairs, task)).item()
    # the per-token mean over the batch equals the token-weighted mean of single pairs
    losses = [
        (teacher_forcing_loss(model, make_batch([p], task)).item(), len(p.target) + 1)
        for p in pairs
    ]
    expected = sum(loss * n for loss, n in losses) / sum(n for _, n in losses)
    assert batched == pytest.approx(expected, rel=1e-5)
    assert validation_loss(model, task, pairs) == pytest.approx(expected, rel=1e-5)


def test_label_smoothing_scores_against_the_smoothed_target(task):
    torch.manual_seed(0)
    model = TinyTranslator(len(task.source_vocab), len(task.target_vocab))
    batch = make_batch(task.train[:5], task)
    eps = 0.1
    logits = model(batch.src, batch.src_lengths, batch.tgt_in)  # (B, T, V)
    logp = torch.log_softmax(logits, dim=-1)
    V = logits.shape[-1]
    target = torch.full_like(logp, eps / V).scatter_(
        -1, batch.tgt_out[..., None], 1 - eps + eps / V
    )
    keep = batch.tgt_out != 0
    expected = -(target * logp).sum(-1)[keep].mean()
    assert teacher_forcing_loss(
        model, batch, label_smoothing=eps
    ).item() == pytest.approx(expected.item(), rel=1e-5)
    with pytest.raises(
        ValueError, match=r"label_smoothing must be in \[0, 1\); got 1.0"
    ):
        train_translator(
            model, task, TrainConfig(max_steps=1), batch_size=4, label_smoothing=1.0
        )


def test_training_lowers_the_validation_loss_and_bleu_is_scored_per_bucket(task):
    torch.manual_seed(0)
    model = TinyTranslator(len(task.source_vocab), len(task.target_vocab))
    before = validation_loss(model, task)
    history = train_translator(
        model, task, TrainConfig(max_steps=60, lr=1e-2, eval_every=30), batch_size=32
    )
    assert history.eval_loss[-1] < before - 0.5
    hyps = translate(model, task, task.test)
    assert len(hyps) == len(task.test) and all(isinstance(h, tuple) for h in hyps)
    rows = bleu_by_length(model, task, task.test, [1, 6, 9, 12])
    assert [n for _, n, _ in rows] == [
        sum(lo <= len(p.source) < hi for p in task.test)
        for lo, hi in [(1, 6), (6, 9), (9, 12)]
    ]
    assert all(math.isnan(b) or 0 <= b <= 100 for _, _, b in rows)
    assert 0 <= corpus_bleu(model, task, task.test) <= 100
    with pytest.raises(ValueError, match="beam_size must be an int >= 1"):
        translate(model, task, task.test, beam_size=0)
