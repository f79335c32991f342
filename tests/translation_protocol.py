"""Checks every translation model of chapters 9-11 must pass: the protocol's claims,
once."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from airoad_book.decode import select_rows


def padded_batch(source_vocab: int, target_vocab: int, seed: int = 0):
    """Three sources of lengths 5, 2 and 7, right-padded with 0 to S = 7, and targets of
    length 4.

    Source ids are drawn from 4..source_vocab-1, target inputs from 3..target_vocab-1
    behind <bos> (1). Returns src (3, 7), lengths (3,), tgt_in (3, 4).
    """
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([5, 2, 7])
    src = torch.randint(4, source_vocab, (3, 7), generator=g)
    src[torch.arange(7) >= lengths[:, None]] = 0
    tgt_in = torch.randint(3, target_vocab, (3, 4), generator=g)
    tgt_in[:, 0] = 1  # <bos>
    return src, lengths, tgt_in


def assert_forward_equals_stepping(model, src, lengths, tgt_in) -> None:
    """Teacher-forced `forward` gives the logits of `step` run over tgt_in one token at
    a time (float64 models: to 1e-10 relative, 1e-12 absolute)."""
    forced = model(src, lengths, tgt_in)  # (B, T, V)
    memory = model.encode(src, lengths)
    state = model.init_state(memory)
    steps = []
    for i in range(tgt_in.shape[1]):
        logits, state = model.step(tgt_in[:, i], state, memory)
        steps.append(logits)
    torch.testing.assert_close(
        torch.stack(steps, dim=1), forced, rtol=1e-10, atol=1e-12
    )


def assert_rows_reorder(model, src, lengths, tgt_in, atol: float = 1e-12) -> None:
    """Memory and state keep the batch on dim 0: after one step, reordering (and
    repeating) their rows with `select_rows` gives the reordered rows' logits, as beam
    search needs."""
    memory = model.encode(src, lengths)
    _, state = model.step(tgt_in[:, 0], model.init_state(memory), memory)
    order = torch.tensor([2, 0, 2])
    logits, _ = model.step(
        tgt_in[order, 1], select_rows(state, order), select_rows(memory, order)
    )
    alone, _ = model.step(tgt_in[:, 1], state, memory)
    assert torch.allclose(logits, alone[order], atol=atol)


def reversal_batch():
    """A translation batch whose target is its source reversed, for overfitting tests.

    Eight sources of 2-8 ids drawn from 4..8 (ids that exist in a source vocabulary of
    11 and a target vocabulary of 9), right-padded with 0 to (8, 8). Returns (src (8,
    8), lengths (8,), tgt_in (8, 9) = <bos> y, tgt_out (8, 9) = y <eos>), padded with 0.
    """
    g = torch.Generator().manual_seed(1)
    lengths = torch.tensor([6, 3, 8, 5, 7, 4, 8, 2])
    src = torch.randint(4, 9, (8, 8), generator=g)
    src[torch.arange(8) >= lengths[:, None]] = 0
    tgt = src.flip(1)  # the source reversed (padding then leads; strip it below)
    tgt_out = torch.stack(
        [torch.cat([r[r != 0], torch.tensor([2]), r[r == 0]]) for r in tgt]
    )  # y <eos> pad
    tgt_in = torch.cat(
        [torch.ones(8, 1, dtype=torch.long), tgt_out[:, :-1]], dim=1
    )  # <bos> y
    tgt_in[tgt_in == 2] = 0  # the <eos> is never an input
    return src, lengths, tgt_in, tgt_out


def overfit(model, batch, *, lr: float, steps: int = 60) -> list[float]:
    """Train `model` with Adam on the one batch (src, lengths, tgt_in, tgt_out) for
    `steps` steps; returns the teacher-forced loss in nats per target token before each
    step."""
    src, lengths, tgt_in, tgt_out = batch
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(
            model(src, lengths, tgt_in).flatten(0, 1), tgt_out.flatten(), ignore_index=0
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
