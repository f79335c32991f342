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
# # Lab: regularising recurrent LMs, hands on
#
# This notebook goes with the section on
# [regularising recurrent language models](../../part2/regularisation/). In well under a
# minute of CPU time it checks that `RecurrentLM` drops exactly Zaremba et al.'s
# connections, trains a small word-level LSTM on the Penn Treebank with and without
# dropout and draws its over-fitting curves, and counts what weight tying saves. Then it
# is yours: every knob is in one cell.
#
# Download it with the buttons at the top of this page: as a Jupyter notebook (`.ipynb`),
# or as its [jupytext](https://jupytext.readthedocs.io) source (`.py`), which also runs as
# a plain script (`uv run python docs/labs/regularisation-lab.py` from the book's folder).
# It needs nothing but the `airoad_book` package, and runs offline.

# %% [markdown]
# ## The knobs

# %%
HIDDEN = 48  # units per LSTM layer, and the length of a word vector
LAYERS = 2  # stacked LSTM layers
DROPOUT = 0.5  # Zaremba's rate on the non-recurrent connections
VOCAB = 1_000  # the commonest PTB words kept; the rest read as <unk>
TRAIN_TOKENS = 4_000  # training words: few, so that the model over-fits quickly
EPOCHS = 4
LR = 1e-2  # Adam's learning rate
SEED = 0

# %% [markdown]
# ## Where the masks go
#
# Zaremba et al. drop the word vectors, the outputs of each layer on their way up, and
# the last layer's outputs on their way to the softmax, and never the state passed from
# one step to the next. Rebuild a `RecurrentLM`'s forward pass one layer at a time with
# `F.dropout` only at those places, drawing from the same random stream: the logits are
# the same to the last bit.

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

from airoad_book.experiments.rnn_dropout import Config, run_config
from airoad_book.figures.palette import use_book_colors
from airoad_book.models.lstm import RecurrentLM

use_book_colors()
torch.manual_seed(SEED)
model = RecurrentLM("lstm", 50, 16, 16, layers=LAYERS, dropout=DROPOUT).train()
x = torch.randint(0, 50, (4, 12))  # 4 streams, 12 steps
layers = []
for k in range(LAYERS):
    layer = nn.LSTM(16, 16)  # one layer of the stack, with the stack's weights
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(layer, f"{name}_l0").data.copy_(getattr(model.rnn, f"{name}_l{k}"))
    layers.append(layer)

torch.manual_seed(1)
logits, _ = model(x)
torch.manual_seed(1)
h = F.dropout(model.embed(x), DROPOUT).transpose(0, 1)  # (T, B, E): the word vectors
for k, layer in enumerate(layers):
    h, _ = layer(h)  # the recurrence: no mask inside
    if k < LAYERS - 1:
        h = F.dropout(h, DROPOUT)  # on the way up
by_hand = model.out(F.dropout(h.transpose(0, 1), DROPOUT))  # on the way out
print("same logits:", torch.equal(logits, by_hand))

# %% [markdown]
# ## Over-fitting, with and without dropout
#
# The experiment `rnn-dropout` trains the same model from the same weights on the same
# batches, with and without dropout, and scores both after every epoch with dropout off.

# %%
config = Config(
    hidden=HIDDEN,
    layers=LAYERS,
    dropout=DROPOUT,
    variants=("no_dropout", "dropout", "tied"),
    vocab_size=VOCAB,
    optimizer="adam",
    lr=LR,
    epochs=EPOCHS,
    batch_size=10,
    bptt=10,
    train_tokens=TRAIN_TOKENS,
    eval_tokens=2_000,
)
result = run_config(config, seed=SEED)
print(result.tables["variants"].to_markdown())

# %% alt="Two panels of perplexity against epoch, without and with dropout: dashed training curves and solid validation curves."
fig, axes = plt.subplots(1, 2, sharey=True, figsize=(9, 3.5))
for ax, variant in zip(axes, ("no_dropout", "dropout")):
    curve = result.series["curves"][variant]
    ax.plot(curve["epoch"], curve["train_ppl"], "--", label="train")
    ax.plot(curve["epoch"], curve["valid_ppl"], "-o", label="valid")
    ax.set_title(variant.replace("_", " "))
    ax.set_xlabel("epoch")
    ax.legend()
axes[0].set_ylabel("perplexity (dropout off)")
plt.show()
print(result.text["dropout"])

# %% [markdown]
# ## What tying saves
#
# The tied model reads its input words and scores its output words with one matrix.

# %%
print(result.text["tying"])
untied = RecurrentLM("lstm", 10_000, 200, 200, layers=2)
tied = RecurrentLM("lstm", 10_000, 200, 200, layers=2, tie=True)
print(f"Zaremba's small model: {untied.num_parameters:,} parameters untied, "
      f"{tied.num_parameters:,} tied")

# %% [markdown]
# ## Your turn
#
# The knobs are sized so the notebook runs in seconds, on a slice of text small enough to
# over-fit in four epochs.
#
# - Raise `TRAIN_TOKENS` tenfold: does the model without dropout still over-fit within
#   `EPOCHS`, and does dropout still help?
# - Try `DROPOUT = 0.2` and `0.65`, the large model's rate.
# - Set `LAYERS = 1`, or add `"one_layer"` to `variants`: what does the second layer buy
#   with and without dropout?
# - In the first cell, insert a `F.dropout` on the state between two steps (run
#   `nn.LSTMCell` step by step): the logits no longer match, and the test in
#   `tests/test_rnn_dropout.py` would fail.
