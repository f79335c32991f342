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
# # Lab: LSTM and GRU, hands on
#
# This notebook goes with [chapter 8](../../part2/08-lstm-gru/). In well under a minute of
# CPU time it checks the hand-written LSTM and GRU cells against PyTorch's, measures how
# the gradient fades with distance in a tanh RNN, an LSTM and a GRU, trains a small LSTM on
# Shakespeare, and draws what one of its cells does along a passage. Then it is yours:
# every knob is in one cell.
#
# Download it with the buttons at the top of this page: as a Jupyter notebook (`.ipynb`),
# or as its [jupytext](https://jupytext.readthedocs.io) source (`.py`), which also runs as a
# plain script (`uv run python docs/labs/08-lstm-gru-lab.py` from the book's folder). It
# needs nothing but the `airoad_book` package, and runs offline.

# %% [markdown]
# ## The knobs

# %%
HIDDEN = 64  # H of the LSTM; the other two get the size that matches its parameter count
EMBED_DIM = 16  # E: length of each symbol's vector
DISTANCE = 120  # steps of the gradient-fading measurement
TRAIN_CHARS = 200_000  # characters of Shakespeare to train on
BATCH = 16  # parallel streams
BPTT = 32  # steps per window
LR = 1e-2  # Adam's learning rate
STEPS = 120  # optimizer steps of the character model
TEMPERATURE = 0.8  # sampling temperature
SEED = 0

# %% [markdown]
# ## The cells are torch's
#
# Load a torch LSTM and GRU into the hand cells of `airoad_book/models/lstm.py` and run
# both on the same batch, in double precision.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from airoad_book.data import Vocab, batchify, char_tokens, shakespeare
from airoad_book.decode import generate
from airoad_book.device import seed_everything
from airoad_book.experiments.char_lm_shakespeare import line_position
from airoad_book.experiments.recurrent_training import CarriedStateLoss, StatefulStep, endless_bptt
from airoad_book.figures.palette import use_book_colors
from airoad_book.models.lstm import KINDS, Recurrence, RecurrentLM, cell_from_torch, hidden_for_parameters
from airoad_book.train import TrainConfig, fit

use_book_colors()  # the book's colour-blind-safe palette for the plots below

seed_everything(SEED)
x = torch.randn(4, 20, 5, dtype=torch.double)  # (B, T, D)
for layer_type in (nn.LSTM, nn.GRU):
    layer = layer_type(5, 8, batch_first=True).double()
    hand, _ = Recurrence(cell_from_torch(layer))(x)
    print(f"{layer_type.__name__}: largest difference {(hand - layer(x)[0]).abs().max().item():.1e}")

# %% [markdown]
# ## How the gradient fades
#
# For an untrained network of each kind, feed a random sequence of `DISTANCE` symbols, take
# the sum of the last hidden state, and ask how strongly it depends on each input step: the
# norm of its gradient with respect to the embedded input at step $t$. The tanh RNN's falls
# geometrically with the distance from the end; the gated networks' falls more slowly, and
# it is their gates that training can open further.

# %% alt="Line chart on a log scale of the gradient norm against distance from the last step, one line per recurrent cell type."
V = 10
target = RecurrentLM("lstm", V, EMBED_DIM, HIDDEN).num_parameters
fig, ax = plt.subplots(figsize=(6.4, 3.6))
ids = torch.randint(V, (1, DISTANCE))
for kind in KINDS:
    seed_everything(SEED)
    H = hidden_for_parameters(kind, target, EMBED_DIM, V, fixed=V * EMBED_DIM)
    model = RecurrentLM(kind, V, EMBED_DIM, H)
    e = model.embed(ids).detach().requires_grad_(True)  # (1, T, E)
    hs, _ = model.rnn(e)  # (1, T, H)
    hs[0, -1].sum().backward()
    norms = e.grad[0].norm(dim=-1).flip(0).numpy()  # (T,): distance 0 = the last step
    ax.semilogy(np.arange(DISTANCE), norms + 1e-30, label=f"{kind} (H = {H})")
ax.set_xlabel("distance from the last step")
ax.set_ylabel("gradient norm (log scale)")
ax.legend()
plt.show()

# %% [markdown]
# ## A small LSTM on Shakespeare
#
# Truncated BPTT with the state carried between windows, through the book's `fit` and the
# chapter's `CarriedStateLoss`.

# %%
text = shakespeare("train")[:TRAIN_CHARS]
vocab = Vocab.build(char_tokens(text))
streams = batchify(vocab.encode(char_tokens(text)), BATCH)  # (B, L)
seed_everything(SEED)
lm = RecurrentLM("lstm", len(vocab), EMBED_DIM, HIDDEN)
loss = CarriedStateLoss()
history = fit(lm, endless_bptt(streams, BPTT, loss), loss, TrainConfig(max_steps=STEPS, lr=LR, clip_norm=1.0))
last = sum(history.train_loss[-20:]) / 20
print(f"{history.steps_done} steps in {history.seconds:.1f} s: {history.train_loss[0]:.2f} -> {last:.2f} "
      f"nats per char = {last / math.log(2):.2f} bits per char (uniform: {math.log2(len(vocab)):.2f})")

lm.eval()
prompt = vocab.encode(char_tokens("KING.\n")).tolist()
new = generate(StatefulStep(lm), prompt, 200, temperature=TEMPERATURE, generator=torch.Generator().manual_seed(SEED))
print("".join(vocab.decode(new)))

# %% [markdown]
# ## One cell along a passage
#
# Copy the trained weights into the hand `LSTMCell`, run it over a passage of the
# validation plays, and find the unit whose cell value follows the position in the line
# best. Its value is drawn under the passage, with the newlines marked.

# %% alt="Line chart of one LSTM unit's cell value across the characters of a passage, with grey vertical lines at the newlines."
passage = shakespeare("valid")[:600]
with torch.no_grad():
    trace = Recurrence(cell_from_torch(lm.rnn)).trace(lm.embed(vocab.encode(char_tokens(passage))[None]))
c = trace["c"][0].numpy()  # (T, H)
position = line_position(passage)
r = np.array([np.corrcoef(c[:, u], position)[0, 1] for u in range(c.shape[1])])
unit = int(np.nanargmax(np.abs(r)))
print(f"unit {unit}: correlation {r[unit]:+.2f} with the position in the line")
fig, ax = plt.subplots(figsize=(9, 3))
ax.plot(c[:, unit], label=f"c of unit {unit}")
for t, ch in enumerate(passage):
    if ch == "\n":
        ax.axvline(t, color="gray", alpha=0.3, linewidth=0.8)
ax.set_xlabel("character of the passage (grey lines: newlines)")
ax.set_ylabel("cell value")
ax.legend()
plt.show()

# %% [markdown]
# ## Your turn
#
# - Swap `"lstm"` for `"gru"` or `"rnn"` in the training cell (the hand trace needs the
#   LSTM; for the GRU trace `"h"` or `"z"` instead of `"c"`).
# - Raise `STEPS` tenfold: does the line-position unit get cleaner?
# - In the gradient cell, set the LSTM's forget-gate biases to 3 before the measurement
#   (`model.rnn.bias_ih_l0[H:2 * H].data.fill_(3.0)`): how does its curve change?
# - Look for a unit that follows something else: capitals, the inside of `[ ]`, the
#   distance to the last full stop.
