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
# # Lab: the Transformer, hands on
#
# This notebook goes with [chapter 11](../../part2/11-transformer/). In a few seconds of
# CPU time it checks scaled dot-product attention against PyTorch's, shows why the
# scores are divided by $\sqrt{d_k}$, draws the positional encodings, trains a small
# Transformer to turn dates written out in five languages into ISO dates, and draws what
# every head looks at while it reads a date of your own. Then it is yours: every knob is in
# one cell.
#
# Download it with the buttons at the top of this page: as a Jupyter notebook (`.ipynb`),
# or as its [jupytext](https://jupytext.readthedocs.io) source (`.py`), which also runs as a
# plain script (`uv run python docs/labs/11-transformer-lab.py` from the book's folder). It
# needs nothing but the `airoad_book` package, and runs offline.

# %% [markdown]
# ## The knobs
#
# The defaults are sized to run in seconds: after 80 steps the model writes the shape of
# an ISO date but gets few dates exactly right. Raise `STEPS` to 200 (about two and a half
# times as long) to see it get most of them.

# %%
D_MODEL = 32  # width of every embedding and sublayer output
HEADS = 2  # h; each head has d_k = D_MODEL / HEADS
D_FF = 128  # hidden width of the feed-forward network
LAYERS = 2  # N, encoder and decoder each
NORM = "post"  # "post" (the paper's) or "pre"
DROPOUT = 0.0  # the paper's is 0.1
N_TRAIN = 3000  # training dates
STEPS = 80  # optimizer steps
BATCH = 64  # dates per step
LR = 1e-2  # Adam's peak learning rate, reached at the end of warm-up
WARMUP = 30  # warm-up steps, then lr * sqrt(WARMUP / step)
SMOOTHING = 0.1  # label smoothing ε_ls
MY_DATE = (1969, 7, 20)  # a date of your own, to translate and watch
MY_LOCALE = "fr"  # one of en, fr, de, es, it
SEED = 0

# %% [markdown]
# ## Attention, checked against PyTorch
#
# The book's `scaled_dot_product_attention` is four lines: scores, mask, softmax, average.
# PyTorch's fused version gives the same output, with and without a causal mask.

# %%
import datetime
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from airoad_book.data import Pair, date_pair, dates_task, make_batch
from airoad_book.device import seed_everything
from airoad_book.experiments.translation_training import train_translator, translate
from airoad_book.figures.palette import CMAP, CMAP_DIVERGING, use_book_colors
from airoad_book.metrics import bleu
from airoad_book.models.transformer import (
    Transformer,
    TransformerConfig,
    causal_mask,
    scaled_dot_product_attention,
    sinusoidal_positions,
)
from airoad_book.train import TrainConfig

use_book_colors()  # the book's colour-blind-safe palette for the plots below

g = torch.Generator().manual_seed(SEED)
q, k, v = (torch.randn(2, 3, 6, 8, generator=g) for _ in range(3))  # (B, h, T, d_k)
for mask in (None, causal_mask(6)):
    ours, weights = scaled_dot_product_attention(q, k, v, mask)
    theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    print("mask" if mask is not None else "no mask", "largest difference:", f"{(ours - theirs).abs().max():.1e}")
print("causal weights of one head (row t reads positions 0..t):")
print(weights[0, 0].numpy().round(2))

# %% [markdown]
# ## Why $\sqrt{d_k}$
#
# Random queries and keys with unit-variance components: the raw scores spread as
# $\sqrt{d_k}$, and the softmax over 32 keys saturates towards one-hot. The scaled scores
# keep a spread of 1 at every width.

# %%
for d_k in (4, 64, 1024):
    qs, ks = torch.randn(500, 1, d_k, generator=g), torch.randn(500, 32, d_k, generator=g)
    raw = (qs * ks).sum(-1)  # (500, 32)
    for name, scores in (("raw", raw), ("scaled", raw / math.sqrt(d_k))):
        top = torch.softmax(scores, -1).max(-1).values.mean()
        print(f"d_k={d_k:5d} {name:>6}: std of scores {scores.std():6.2f}, mean largest weight {top:.3f}")

# %% [markdown]
# ## Positions
#
# Each pair of dimensions of the positional encoding is a sine and a cosine of the
# position, at wavelengths from $2\pi$ to $10000 \cdot 2\pi$.

# %% alt="Heatmap of sinusoidal positional encodings: positions down, dimensions across; the left columns flicker fast, the right columns change slowly."
pe = sinusoidal_positions(60, D_MODEL)  # (60, D_MODEL)
fig, ax = plt.subplots(figsize=(6, 3.5))
image = ax.imshow(pe.numpy(), cmap=CMAP_DIVERGING, vmin=-1, vmax=1, aspect="auto")
ax.set_xlabel("dimension")
ax.set_ylabel("position")
ax.grid(False)
fig.colorbar(image, ax=ax)
plt.show()

# %% [markdown]
# ## The data and the model
#
# A date written out by `babel` in one of five languages, and the same date in ISO form,
# one token per digit. The year moves from the end of the source to the front of the
# target: a reordering the cross-attention has to learn.

# %%
task = dates_task(n_train=N_TRAIN, n_valid=200, n_test=300)
print(task.describe())
for pair in task.train[:3]:
    print(f"{' '.join(pair.source):>40}  ->  {' '.join(pair.target)}")
seed_everything(SEED)
model = Transformer(TransformerConfig(len(task.source_vocab), len(task.target_vocab), d_model=D_MODEL,
                                      num_heads=HEADS, d_ff=D_FF, encoder_layers=LAYERS,
                                      decoder_layers=LAYERS, dropout=DROPOUT, norm=NORM))
print(f"{model.num_parameters:,} parameters")

# %% [markdown]
# ## Train it
#
# The shared translation loop with the paper's recipe: label smoothing on the training
# loss (the validation loss stays plain cross-entropy), and the learning rate warmed up
# then decayed as the inverse square root of the step.

# %%
config = TrainConfig(max_steps=STEPS, lr=LR, warmup_steps=WARMUP, schedule="inverse_sqrt", clip_norm=1.0,
                     eval_every=STEPS // 4)
history = train_translator(model, task, config, batch_size=BATCH, seed=SEED, label_smoothing=SMOOTHING)
print(f"{history.steps_done} steps in {history.seconds:.1f} s; valid loss by evaluation:",
      [round(x, 3) for x in history.eval_loss])
outputs = translate(model, task, task.test)
references = [p.target for p in task.test]
exact = sum(o == r for o, r in zip(outputs, references)) / len(references)
print(f"test BLEU {bleu(outputs, references):.1f}, dates exactly right {100 * exact:.1f}%")

# %% alt="Line chart of the learning rate of every training step: a straight climb during warm-up, then a slow decay."
fig, ax = plt.subplots(figsize=(5, 2.5))
ax.plot(history.step, history.lr)
ax.set_xlabel("step")
ax.set_ylabel("learning rate")
plt.show()

# %% [markdown]
# ## Watch it read your date
#
# Translate your date greedily, then feed the model its own output to get every head's
# weights: the encoder's self-attention over the source, and the decoder's attention over
# the source for each word it wrote.

# %%
mine = date_pair(datetime.date(*MY_DATE), locale=MY_LOCALE, style="full")
source = mine.source
(written,) = translate(model, task, [mine])
print(" ".join(source), "->", "".join(written))
batch = make_batch([Pair(source, written)], task)  # <bos> + its own output as the decoder's input
model.eval()
maps = model.attention_maps(batch.src, batch.src_lengths, batch.tgt_in)

# %% alt="Heatmaps of every head of the last layer: the encoder's self-attention over your date, then the decoder's attention over the source for each ISO token it wrote."
rows = [*written, "<eos>"]
fig, axes = plt.subplots(1, 2 * HEADS, figsize=(3.2 * 2 * HEADS, 3.6))
for h in range(HEADS):
    for ax, kind, labels in ((axes[h], "encoder", source), (axes[HEADS + h], "cross", rows)):
        ax.imshow(maps[kind][-1][0, h].numpy(), cmap=CMAP, vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(source)), labels=source, rotation=70, ha="right", fontsize=7)
        ax.set_yticks(range(len(labels)), labels=labels, fontsize=7)
        ax.set_title(f"{kind}, head {h + 1}", fontsize=9)
        ax.grid(False)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Your turn
#
# - Set `NORM = "pre"` and `WARMUP = 1`, then `NORM = "post"` and `WARMUP = 1`, and raise
#   `LR`: which placement of the LayerNorm survives without a warm-up?
# - Set `SMOOTHING = 0.0`: the validation loss falls lower; does the share of dates
#   exactly right go up or down?
# - Set `HEADS = 1` and `HEADS = 8`: what do the maps look like with one head, and with
#   eight heads of width 4?
# - Zero the positional encodings (`model.src_embed.pe.zero_()` before training): which
#   dates can the model still translate, and what do its maps look like?
