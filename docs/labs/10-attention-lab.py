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
# # Lab: attention, hands on
#
# This notebook goes with [chapter 10](../../part2/10-attention/). In a few seconds of CPU
# time it trains Bahdanau et al.'s attention model to turn dates written out in five
# languages into ISO dates, watches where it looks while it writes one, and trains it again
# with Luong's dot and general scores. Then it is yours: every knob is in one cell.
#
# Download it with the buttons at the top of this page: as a Jupyter notebook (`.ipynb`),
# or as its [jupytext](https://jupytext.readthedocs.io) source (`.py`), which also runs as a
# plain script (`uv run python docs/labs/10-attention-lab.py` from the book's folder). It
# needs nothing but the `airoad_book` package, and runs offline.

# %% [markdown]
# ## The knobs
#
# The defaults are sized to run in seconds: after 40 steps the models get few of the
# dates exactly right. Raise `STEPS` (to 120 or more) to see them get most of them.

# %%
N_TRAIN = 3000  # training dates
HIDDEN = 64  # H: an annotation h_j and the decoder state s_i (half of h_j from each direction)
EMBED_DIM = 32  # m: length of each word's vector
ALIGN_DIM = 32  # n': hidden units of the additive alignment model
STEPS = 40  # optimizer steps per model
BATCH = 64  # dates per step
LR = 1e-2  # Adam's learning rate
MY_DATE = (1969, 7, 20)  # a date of your own, to translate and watch
MY_LOCALE = "de"  # one of en, fr, de, es, it
SEED = 0

# %% [markdown]
# ## The data and the model
#
# Each pair is a date written out by `babel` and the same date in ISO form, one token per
# digit. The year moves from the end of the source to the front of the target.

# %%
import datetime

import matplotlib.pyplot as plt
import torch

from airoad_book.data import date_pair, dates_task, make_batch
from airoad_book.device import seed_everything
from airoad_book.experiments.translation_training import train_translator, translate
from airoad_book.figures.palette import CMAP, use_book_colors
from airoad_book.metrics import bleu
from airoad_book.models.attention import AttentionConfig, AttentionSeq2Seq
from airoad_book.train import TrainConfig

use_book_colors()  # the book's colour-blind-safe palette for the plots below

task = dates_task(n_train=N_TRAIN, n_valid=200, n_test=200)
print(task.describe())
for pair in task.train[:4]:
    print(f"{' '.join(pair.source):>40}  ->  {' '.join(pair.target)}")


def build(score: str) -> AttentionSeq2Seq:
    seed_everything(SEED)
    return AttentionSeq2Seq(AttentionConfig(
        len(task.source_vocab), len(task.target_vocab), embed_dim=EMBED_DIM, hidden_dim=HIDDEN,
        align_dim=ALIGN_DIM, maxout_dim=HIDDEN // 2, score=score))


model = build("additive")
print(f"{model.num_parameters:,} parameters")

# %% [markdown]
# ## Train it
#
# The shared translation loop of chapter 9: teacher forcing, Adam, the validation loss
# measured along the way.

# %%
config = TrainConfig(max_steps=STEPS, lr=LR, clip_norm=1.0, eval_every=STEPS // 4)
history = train_translator(model, task, config, batch_size=BATCH, seed=SEED)
print(f"{history.steps_done} steps in {history.seconds:.1f} s; valid loss by evaluation:",
      [round(x, 3) for x in history.eval_loss])
outputs = translate(model, task, task.test)
references = [p.target for p in task.test]
exact = sum(o == r for o, r in zip(outputs, references)) / len(references)
print(f"test BLEU {bleu(outputs, references):.1f}, dates exactly right {100 * exact:.1f}%")

# %% [markdown]
# ## Watch it write a date
#
# Decode your own date greedily, one word at a time, with the protocol's pieces:
# `encode` once, then `attend` and `step` per word. `attend` gives the weights the
# step is about to use.

# %%
source = date_pair(datetime.date(*MY_DATE), locale=MY_LOCALE, style="full").source
src = task.source_vocab.encode(source)[None]  # (1, S)
memory = model.encode(src, torch.tensor([len(source)]))
state = model.init_state(memory)
prev = torch.tensor([task.bos_id])
written, rows = [], []
model.eval()
with torch.no_grad():
    for _ in range(12):
        _, alpha = model.attend(state, memory)  # (1, S): where this step looks
        logits, state = model.step(prev, state, memory)
        prev = logits.argmax(-1)
        rows.append(alpha[0])
        word = task.target_vocab.itos[int(prev)]
        written.append(word)
        if prev.item() == task.eos_id:
            break
print(" ".join(source), "->", "".join(w for w in written if w != "<eos>"))

# %% alt="Heatmap of attention weights for your own date: source words across, the words the model wrote down, bright cells where it looked."
fig, ax = plt.subplots(figsize=(6, 4))
ax.imshow(torch.stack(rows).numpy(), cmap=CMAP, vmin=0, vmax=1, aspect="auto")
ax.set_xticks(range(len(source)), labels=source, rotation=60, ha="right")
ax.set_yticks(range(len(written)), labels=written)
ax.set_xlabel("source word")
ax.set_ylabel("word written")
ax.grid(False)
plt.show()

# %% [markdown]
# ## Three scores
#
# The same model, data and steps with Luong's dot score ($s^\top h_j$, no parameters) and
# general score ($s^\top W_a h_j$). Each trains for `STEPS` steps: a few seconds.

# %%
results = {"additive": (exact, bleu(outputs, references), model.num_parameters)}
for score in ("dot", "general"):
    other = build(score)
    train_translator(other, task, config, batch_size=BATCH, seed=SEED)
    out = translate(other, task, task.test)
    results[score] = (sum(o == r for o, r in zip(out, references)) / len(references), bleu(out, references),
                      other.num_parameters)
for score, (ex, b, n) in results.items():
    print(f"{score:>9}: {n:,} parameters, test BLEU {b:.1f}, exactly right {100 * ex:.1f}%")

# %% alt="Bar chart of the share of test dates translated exactly right by the additive, dot and general scores."
fig, ax = plt.subplots(figsize=(5, 3))
ax.bar(list(results), [100 * r[0] for r in results.values()])
ax.set_ylabel("dates exactly right (%)")
ax.set_ylim(0, 100)
plt.show()

# %% [markdown]
# ## Your turn
#
# - Set `STEPS = 30`: which parts of the date does the model get right first, and what do
#   its weights look like then?
# - Try a date in each locale, and the `"medium"` style (`Jan 5, 2024`): does the model
#   look at the abbreviated month as it does at the full one?
# - Make the weights hard: in the decoding cell, replace `alpha` by a one-hot vector on its
#   largest entry before the step (write the step by hand from `model.recur` and
#   `model.output`). How many dates stay right?
# - Shrink `HIDDEN` to 8: which score degrades first?
