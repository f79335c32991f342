"""Fixtures shared by several test files."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def tiny_reversal_batch():
    """A translation batch whose target is its source reversed, for overfitting tests.

    Eight sources of 2-8 ids drawn from 4..8 (ids that exist in a source vocabulary of 11
    and a target vocabulary of 9), right-padded with 0 to (8, 8). Returns (src (8, 8),
    lengths (8,), tgt_in (8, 9) = <bos> y, tgt_out (8, 9) = y <eos>), padded with 0.
    """
    g = torch.Generator().manual_seed(1)
    lengths = torch.tensor([6, 3, 8, 5, 7, 4, 8, 2])
    src = torch.randint(4, 9, (8, 8), generator=g)
    src[torch.arange(8) >= lengths[:, None]] = 0
    tgt = src.flip(1)  # the source reversed (padding then leads; strip it below)
    tgt_out = torch.stack([torch.cat([r[r != 0], torch.tensor([2]), r[r == 0]]) for r in tgt])  # y <eos> pad
    tgt_in = torch.cat([torch.ones(8, 1, dtype=torch.long), tgt_out[:, :-1]], dim=1)  # <bos> y
    tgt_in[tgt_in == 2] = 0  # the <eos> is never an input
    return src, lengths, tgt_in, tgt_out
