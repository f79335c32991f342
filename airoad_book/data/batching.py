"""Language-model batching: cutting one long stream of token ids into training examples.

Three shapes of example, one per family of model in the book:

- `context_windows`: the n previous tokens -> the next one, for n-gram style models
  (Bengio et al. 2003);
- `lm_windows`: fixed blocks with every position predicting its successor, for models with a
  fixed context (a GPT);
- `batchify` + `bptt_batches`: B parallel streams walked in windows of T steps, for
  recurrent models trained with truncated backpropagation through time (Zaremba et al. 2014).

`random_batches` then samples minibatches from any of these.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

__all__ = [
    "context_windows",
    "lm_windows",
    "batchify",
    "bptt_batches",
    "random_batches",
]


def _as_ids(ids: torch.Tensor | Sequence[int]) -> torch.Tensor:
    """`ids` as a 1-D int64 tensor; ValueError for any other shape."""
    ids = torch.as_tensor(ids, dtype=torch.long)
    if ids.dim() != 1:
        raise ValueError(
            f"expected a 1-D stream of token ids; got shape {tuple(ids.shape)}"
        )
    return ids


def context_windows(
    ids: torch.Tensor | Sequence[int], context: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (previous `context` ids, next id) pair of a stream, for n-gram style
    models.

    Row i of X holds ``ids[i : i + context]`` and y[i] is ``ids[i + context]``, so there
    are N = len(ids) - context examples. X is a view into `ids` (no copy): index it,
    don't write into it.
    """
    ids = _as_ids(ids)
    if context < 1:
        raise ValueError(f"context must be >= 1; got {context}")
    if len(ids) <= context:
        raise ValueError(
            f"need more than context={context} ids to make one example; got {len(ids)}"
        )
    x = ids[:-1].unfold(0, context, 1)  # (N, context)
    y = ids[context:]  # (N,)
    return x, y


def lm_windows(
    ids: torch.Tensor | Sequence[int], block: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-overlapping blocks of `block` ids and their targets, shifted by one.

    y[i, t] is the id after x[i, t]. The tail that does not fill a block is dropped.
    """
    ids = _as_ids(ids)
    if block < 1:
        raise ValueError(f"block must be >= 1; got {block}")
    n = (len(ids) - 1) // block
    if n < 1:
        raise ValueError(
            f"need at least block+1={block + 1} ids to make one block; got {len(ids)}"
        )
    x = ids[: n * block].view(n, block)  # (N, block)
    y = ids[1 : n * block + 1].view(n, block)  # (N, block)
    return x, y


def batchify(ids: torch.Tensor | Sequence[int], batch_size: int) -> torch.Tensor:
    """Cut a stream into `batch_size` contiguous streams, one per row, dropping the
    tail.

    Row b is the b-th slice of length L = len(ids) // batch_size, so reading a row left
    to right reads the corpus in order (Zaremba et al. 2014).
    """
    ids = _as_ids(ids)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    length = len(ids) // batch_size
    if length < 2:
        raise ValueError(
            f"need at least 2 ids per stream (2 * batch_size = {2 * batch_size} ids); "
            f"got {len(ids)}"
        )
    return ids[: batch_size * length].view(batch_size, length)  # (B, L)


def bptt_batches(
    streams: torch.Tensor, bptt: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Walk (B, L) streams left to right in windows of `bptt` steps: x (B, T), y (B, T).

    y is x shifted by one step; the last window may be shorter than `bptt`. Window k+1
    of row b starts exactly where window k of row b stopped, so the hidden state a
    recurrent model ends window k with is the right state to start window k+1 with:
    carry it over (detached, which truncates the gradient at the window edge) instead of
    resetting it.
    """
    if streams.dim() != 2:
        raise ValueError(
            f"expected streams shaped (B, L) from batchify; got shape "
            f"{tuple(streams.shape)}"
        )
    if bptt < 1:
        raise ValueError(f"bptt must be >= 1; got {bptt}")
    length = streams.shape[1]
    for start in range(0, length - 1, bptt):
        steps = min(bptt, length - 1 - start)
        x = streams[:, start : start + steps]  # (B, T)
        y = streams[:, start + 1 : start + 1 + steps]  # (B, T)
        yield x, y


def random_batches(
    *tensors: torch.Tensor, batch_size: int, generator: torch.Generator
) -> Iterator[tuple[torch.Tensor, ...]]:
    """An endless stream of random minibatches of the rows of `tensors`.

    Each epoch draws a fresh permutation from `generator` and yields its rows in chunks
    of `batch_size`; the last incomplete chunk is dropped, so every batch has the same
    shape and no row repeats within an epoch. The same generator seed gives the same
    batches.
    """
    if not tensors:
        raise ValueError("random_batches needs at least one tensor; got none")
    n = len(tensors[0])
    sizes = [len(t) for t in tensors]
    if any(size != n for size in sizes):
        raise ValueError(f"all tensors must have the same number of rows; got {sizes}")
    if not 1 <= batch_size <= n:
        raise ValueError(
            f"batch_size must be between 1 and the {n} rows; got {batch_size}"
        )
    while True:
        order = torch.randperm(n, generator=generator)  # (N,)
        for start in range(0, n - batch_size + 1, batch_size):
            rows = order[start : start + batch_size]  # (batch_size,)
            yield tuple(t[rows.to(t.device)] for t in tensors)
