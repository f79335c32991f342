"""Chapter 8's character LSTM, trained by PyTorch Lightning (appendix E).

`LitCharLM` wraps the book's `RecurrentLM` in a ``LightningModule``: the same model, the
same truncated BPTT with a carried state, the same optimizer and schedule
(`airoad_book.train.make_optimizer` / `make_schedule`), so a ``Trainer`` given the same
windows in the same order, with the same gradient clipping, makes the same updates as
`airoad_book.train.fit`. The validation perplexity is computed by torchmetrics'
``Perplexity``, a check on the book's own `airoad_book.metrics.perplexity`.

Lightning (``pip install lightning``, in the book's ``[book]`` extra) is imported here
and nowhere else in the package: the core never needs it.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

try:
    import lightning.pytorch as pl
    from torchmetrics.text import Perplexity
except ImportError as err:  # pragma: no cover - the [book] extra brings both
    raise ImportError(
        "appendix E needs PyTorch Lightning and torchmetrics: pip install lightning "
        "torchmetrics (or airoad-book[book])"
    ) from err

from airoad_book.data import bptt_batches
from airoad_book.experiments.recurrent_training import detach_state
from airoad_book.models.lstm import RecurrentLM
from airoad_book.train import TrainConfig, make_optimizer, make_schedule

__all__ = ["StreamWindows", "LitCharLM", "window_loader", "make_trainer", "quiet"]


# --8<-- [start:data]
class StreamWindows(Dataset):
    """The truncated-BPTT windows of (B, L) streams, in reading order: item k is window
    k, a pair (x, y) of (B, T) ids, exactly what `bptt_batches` yields."""

    def __init__(self, streams: Tensor, bptt: int) -> None:
        self.windows = list(bptt_batches(streams, bptt))

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, k: int) -> tuple[Tensor, Tensor]:
        return self.windows[k]


def window_loader(streams: Tensor, bptt: int) -> DataLoader:
    """A DataLoader over the windows, in order: each item is already a batch (B
    streams side by side), so ``batch_size=None`` and no shuffling. Shuffling would
    break the carried state, which needs window k+1 right after window k."""
    return DataLoader(StreamWindows(streams, bptt), batch_size=None, shuffle=False)


# --8<-- [end:data]


# --8<-- [start:module]
class LitCharLM(pl.LightningModule):
    """A `RecurrentLM` with the book's optimizer and schedule, trained by a Trainer.

    training_step(batch (x, y), each (B, T)) -> the mean cross-entropy in nats per
    character, with the hidden state carried from window to window (detached:
    truncated BPTT), as `CarriedStateLoss` carries it for `fit`.
    """

    def __init__(self, model: RecurrentLM, config: TrainConfig) -> None:
        super().__init__()
        self.model, self.config = model, config
        self.state = None  # the training streams' hidden state, carried
        self.val_state = None  # the validation streams' own
        self.val_ppl = Perplexity()  # torchmetrics: exp(mean NLL) over every token
        self.losses: list[float] = []  # every training step's loss, for the appendix
        self.val_losses: list[float] = []  # ln(perplexity) at each validation

    def on_train_epoch_start(self) -> None:
        """A new pass over the streams starts from a zero state."""
        self.state = None

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        """The loss of one window (nats per character); the Trainer does the rest."""
        x, y = batch  # (B, T), (B, T)
        logits, state = self.model(x, self.state)  # (B, T, V)
        self.state = detach_state(state)  # keep the values, cut the gradient
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        self.losses.append(loss.item())
        self.log("train_loss", loss)  # to whatever logger the Trainer has
        return loss  # Lightning does backward, clipping, step and schedule

    def on_validation_epoch_start(self) -> None:
        """Each validation reads its streams from the start, from a zero state."""
        self.val_state = None

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        """Feed one window's logits (B, T, V) and targets (B, T) to the metric."""
        x, y = batch
        logits, self.val_state = self.model(x, self.val_state)  # (B, T, V)
        self.val_ppl.update(logits, y)  # accumulates the NLL and the token count

    def on_validation_epoch_end(self) -> None:
        """Log the perplexity over every validation character, and its log (nats)."""
        ppl = self.val_ppl.compute()
        self.val_ppl.reset()
        self.val_losses.append(torch.log(ppl).item())
        self.log_dict({"val_ppl": ppl, "val_loss": torch.log(ppl)})

    def configure_optimizers(self) -> dict:
        """The book's optimizer and schedule, the schedule stepped every step."""
        optimizer = make_optimizer(self.model, self.config)  # the book's, unchanged
        schedule = make_schedule(optimizer, self.config)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": schedule, "interval": "step"},
        }


# --8<-- [end:module]


# --8<-- [start:trainer]
def make_trainer(
    config: TrainConfig, root: str | Path, *, checkpoints: bool = True
) -> pl.Trainer:
    """A Trainer that runs `fit`'s loop: ``config.max_steps`` updates, the global
    gradient norm clipped to ``config.clip_norm``, a validation every
    ``config.eval_every`` steps, on the CPU.

    What it adds for free: a CSV log of every step under ``root/`` and, with
    ``checkpoints``, the best weights by validation loss (ModelCheckpoint).
    """
    callbacks = []
    if checkpoints:
        callbacks.append(
            pl.callbacks.ModelCheckpoint(
                dirpath=Path(root) / "checkpoints",
                filename="best",
                monitor="val_loss",
                mode="min",
            )
        )
    return pl.Trainer(
        max_steps=config.max_steps,
        gradient_clip_val=config.clip_norm,  # None: no clipping, as in fit
        gradient_clip_algorithm="norm",  # the global L2 norm, as in fit
        val_check_interval=config.eval_every,  # in training batches...
        check_val_every_n_epoch=None,  # ...counted across epochs
        num_sanity_val_steps=0,  # fit does not evaluate before step 1
        accelerator="cpu",  # devices=4, strategy="ddp" on a machine with GPUs
        devices=1,
        logger=pl.loggers.CSVLogger(root, name="lightning"),
        log_every_n_steps=1,
        callbacks=callbacks,
        enable_checkpointing=checkpoints,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=root,
    )


# --8<-- [end:trainer]


# --8<-- [start:quiet]
@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Lightning without its chatter: its loggers at WARNING, and three warnings that
    do not apply here silenced (a CPU run needs no DataLoader workers; a loader of
    ready-made batches has no batch size to infer; a deprecation inside Lightning).
    Everything is restored after."""
    names = ("lightning.pytorch", "lightning.fabric")
    levels = {n: logging.getLogger(n).level for n in names}
    try:
        for n in names:
            logging.getLogger(n).setLevel(logging.WARNING)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*does not have many workers")
            warnings.filterwarnings(
                "ignore", message=r".*Trying to infer the `batch_size`"
            )
            # torch (2.15 here) deprecates the LeafSpec that Lightning 2.6 still builds
            warnings.filterwarnings("ignore", message=r".*LeafSpec.* is deprecated")
            yield
    finally:
        for n, level in levels.items():
            logging.getLogger(n).setLevel(level)


# --8<-- [end:quiet]
