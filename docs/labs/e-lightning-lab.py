# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lab: the loop in Lightning, hands on
#
# This notebook goes with [appendix E](../../appendix/e-lightning/). It trains chapter 8's
# character LSTM twice from the same seed, once with the book's `fit` and once with a
# Lightning `Trainer`, and plots the two loss curves and their difference. Then it breaks
# the agreement on purpose, one setting at a time, to show which settings of the loop the
# updates depend on.
#
# Download it with the buttons at the top of this page: as a Jupyter notebook (`.ipynb`),
# or as its [jupytext](https://jupytext.readthedocs.io) source (`.py`), which also runs as a
# plain script (`uv run python docs/labs/e-lightning-lab.py` from the book's folder). It
# needs the `lightning` and `torchmetrics` packages (the book's `[book]` extra) and runs
# offline.

# %% [markdown]
# ## The knobs

# %%
STEPS = 40  # optimizer steps, the same for both loops
EVAL_EVERY = 20  # steps between validations
HIDDEN = 48  # the LSTM's hidden units
BPTT = 32  # characters per window
SEED = 0

# %% [markdown]
# ## Two loops, one model
#
# `run_config` is the appendix's experiment: it builds the model twice from `SEED`, trains
# one copy with `fit` and one with `LitCharLM` + `make_trainer`, and returns both curves.

# %% alt="Left: training loss per step of the LSTM trained by fit (thick line) and by Lightning (dashed). Right: the absolute difference of the two curves per step, on a log scale."
import matplotlib.pyplot as plt
import numpy as np
import torch

from airoad_book.data import Vocab, batchify, char_tokens, shakespeare
from airoad_book.experiments import lightning_loop as exp
from airoad_book.experiments.recurrent_training import CarriedStateLoss, endless_bptt
from airoad_book.figures.palette import use_book_colors
from airoad_book.lightning_loop import LitCharLM, make_trainer, quiet, window_loader
from airoad_book.models.lstm import RecurrentLM
from airoad_book.train import TrainConfig, fit

use_book_colors()  # the book's colour-blind-safe palette for the plots below

config = exp.Config(
    train_chars=30_000, valid_chars=4_000, hidden=HIDDEN, bptt=BPTT,
    max_steps=STEPS, eval_every=EVAL_EVERY,
)
result = exp.run_config(config, seed=SEED)
m = result.metrics
print(result.text["verdict"])
print(f"perplexity: book {m['ppl_book']:.5f}, torchmetrics {m['ppl_torchmetrics']:.5f}")

book = np.array(result.series["book_loss"])
lit = np.array(result.series["lightning_loss"])
fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 3.5))
ax.plot(book, linewidth=3, label="fit")
ax.plot(lit, linestyle="--", label="Lightning")
ax.set_xlabel("step")
ax.set_ylabel("training loss (nats/char)")
ax.legend()
bx.plot(np.abs(book - lit) + 1e-12)
bx.set_yscale("log")
bx.set_xlabel("step")
bx.set_ylabel("|difference| + 1e-12")
plt.show()

# %% [markdown]
# ## Break it on purpose
#
# The same comparison, written out, with one change on Lightning's side: shuffled windows
# (the carried state then belongs to the wrong text), a harder clip, or a schedule
# stepped once per epoch instead of once per step. Which changes move the curve, and by
# how much? With Adam, clipping matters less than you might think: Adam divides each
# update by a running estimate of the gradient's size.

# %% alt="Line chart, log scale: the absolute difference between the fit and Lightning training losses per step, one line for each change made on the Lightning side."
import tempfile

from torch.utils.data import DataLoader

from airoad_book.lightning_loop import StreamWindows

text = shakespeare("train")[:30_000]
vocab = Vocab.build(char_tokens(text))
streams = batchify(vocab.encode(char_tokens(text)), 16)  # (B, L)
valid_text = shakespeare("valid")[:4_000]
valid = batchify(vocab.encode(char_tokens(valid_text)), 16)  # (B, L')
base = TrainConfig(max_steps=STEPS, lr=5e-3, clip_norm=1.0, eval_every=EVAL_EVERY)


def model():
    torch.manual_seed(SEED)
    return RecurrentLM("lstm", len(vocab), 32, HIDDEN)


loss = CarriedStateLoss()
reference = fit(model(), endless_bptt(streams, BPTT, loss), loss, base).train_loss


class PerEpochSchedule(LitCharLM):
    def configure_optimizers(self):
        out = super().configure_optimizers()
        out["lr_scheduler"]["interval"] = "epoch"
        return out


def lightning(config, loader=None, module=LitCharLM):
    lit = module(model(), config)
    with quiet(), tempfile.TemporaryDirectory() as root:  # the logs go to a temp folder
        trainer = make_trainer(config, root, checkpoints=False)
        train_loader = loader or window_loader(streams, BPTT)
        trainer.fit(lit, train_loader, window_loader(valid, BPTT))
    return lit.losses


shuffled = DataLoader(
    StreamWindows(streams, BPTT), batch_size=None, shuffle=True,
    generator=torch.Generator().manual_seed(1),
)
warm = TrainConfig(
    max_steps=STEPS, lr=5e-3, clip_norm=1.0, eval_every=EVAL_EVERY,
    warmup_steps=10, schedule="cosine",
)
warm_loss = CarriedStateLoss()
warm_reference = fit(model(), endless_bptt(streams, BPTT, warm_loss), warm_loss, warm)
runs = {
    "same settings": (reference, lightning(base)),
    "shuffled windows": (reference, lightning(base, shuffled)),
    "clip at 0.01": (reference, lightning(TrainConfig(
        max_steps=STEPS, lr=5e-3, clip_norm=0.01, eval_every=EVAL_EVERY))),
    "warm-up + cosine, per epoch": (
        warm_reference.train_loss, lightning(warm, module=PerEpochSchedule)
    ),
}
fig, ax = plt.subplots()
for name, (a, b) in runs.items():
    diff = np.abs(np.array(a) - np.array(b))
    print(f"{name:28s} largest difference {diff.max():.1e} nats")
    ax.plot(diff + 1e-12, label=name)
ax.set_yscale("log")
ax.set_xlabel("step")
ax.set_ylabel("|fit − Lightning| + 1e-12 (nats)")
ax.legend()
plt.show()

# %% [markdown]
# ## Your turn
#
# - **Validation.** Set `num_sanity_val_steps=2` in `make_trainer` and check that the
#   training curve does not move. Why not, with the validation state kept apart?
# - **Early stopping.** Add `EarlyStopping(monitor="val_loss", patience=1)` to the
#   Trainer's callbacks and `patience=1` to `fit`'s `TrainConfig`: do they stop together?
# - **The log.** Give `make_trainer` a folder of your own instead of the temporary one and
#   open `lightning/version_0/metrics.csv` in it: what did `self.log` write, and at which
#   steps?
