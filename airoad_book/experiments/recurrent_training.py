"""What the recurrent language models of chapters 7 and 8 share: truncated BPTT with a
carried state.

`airoad_book.train.fit` calls `loss_fn(model, batch)` and knows nothing about hidden
states. A recurrent language model reads B long streams window by window (`batchify` +
`bptt_batches`); the state it ends one window with is the state the next window of the
same streams starts from. `CarriedStateLoss` keeps that state between calls, detached,
so the gradient stops at the window edge (truncated backpropagation through time) while
the forward pass sees the whole stream. The same trick gives `StatefulStep`, which lets
`airoad_book.decode.generate` sample from a recurrent model one token at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from airoad_book.data import bptt_batches

__all__ = [
    "detach_state",
    "CarriedStateLoss",
    "endless_bptt",
    "evaluate_streams",
    "StatefulStep",
]


def detach_state(state):
    """The state with its history cut: a tensor, or a tuple of tensors ((h, c) of an
    LSTM)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


# --8<-- [start:carried]
class CarriedStateLoss:
    """A `loss_fn(model, batch)` for `fit` that carries the recurrent state between
    windows.

    batch is (x, y), each (B, T) ids from `bptt_batches`; the model maps (x, state) to
    (logits (B, T, V), state). Returns the mean cross-entropy per token in nats, or,
    with `sum_over_time=True`, that mean times T: the loss of Zaremba et al. (2014),
    summed over the window's steps and averaged over the batch, the scale their learning
    rate of 1 and clipping at 5 were tuned for.
    """

    def __init__(self, sum_over_time: bool = False) -> None:
        self.sum_over_time = sum_over_time
        self.state = None

    def reset(self) -> None:
        """Forget the state: the next window starts from zeros (a new pass over the
        streams)."""
        self.state = None

    def __call__(self, model: nn.Module, batch: tuple[Tensor, Tensor]) -> Tensor:
        x, y = batch  # (B, T), (B, T)
        logits, state = model(x, self.state)  # (B, T, V)
        self.state = detach_state(state)  # keep the values, cut the gradient
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        return loss * x.shape[1] if self.sum_over_time else loss

    # --8<-- [end:carried]

    def state_dict(self) -> dict:
        """The carried state, for a checkpoint: `{"state": None | (B, H) tensor | tuple
        of them}`."""
        return {"state": self.state}

    def load_state_dict(self, state: dict) -> None:
        """Carry `state["state"]` (from `state_dict`) into the next window: a resumed
        run goes on with the hidden state the interrupted one had."""
        self.state = detach_state(state["state"])


# --8<-- [start:endless]
def endless_bptt(
    streams: Tensor, bptt: int, loss: CarriedStateLoss, epochs: int | None = None
) -> Iterator[tuple[Tensor, Tensor]]:
    """`bptt_batches` over (B, L) streams, pass after pass (`epochs` of them, or
    forever), resetting the carried state of `loss` at the start of each pass."""
    done = 0
    while epochs is None or done < epochs:
        loss.reset()
        yield from bptt_batches(streams, bptt)
        done += 1


# --8<-- [end:endless]


@torch.no_grad()
def evaluate_streams(model: nn.Module, streams: Tensor, bptt: int) -> float:
    """Mean cross-entropy in nats per token over (B, L) streams, read left to right with
    the state carried from window to window, as the model is trained (no gradient)."""
    loss, total, count = CarriedStateLoss(), 0.0, 0
    streams = streams.to(next(model.parameters()).device)  # scored where the model is
    for x, y in bptt_batches(streams, bptt):
        total += loss(model, (x, y)).item() * y.numel()
        count += y.numel()
    return total / count


# --8<-- [start:step]
class StatefulStep:
    """A `step_fn` for `airoad_book.decode.generate` that feeds a recurrent model only
    the ids it has not read yet, and keeps its state: each call costs one step, not the
    whole history.

    ids (1, k) -> logits (1, V) of the token after the last one. Use a fresh one per
    sample.
    """

    def __init__(self, model: nn.Module) -> None:
        self.model, self.state, self.seen = model, None, 0

    def __call__(self, ids: Tensor) -> Tensor:
        new = ids[:, self.seen :]  # (1, k - seen): the prompt, then one id per call
        logits, self.state = self.model(new, self.state)  # (1, k - seen, V)
        self.seen = ids.shape[1]
        return logits[:, -1]  # (1, V)


# --8<-- [end:step]
