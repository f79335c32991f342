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
# # Lab: the evolution in one table, hands on
#
# This notebook goes with [chapter 13](../../part2/13-evolution/). In about twenty seconds of
# CPU time it fits a Kneser–Ney model on Shakespeare's characters, builds the five networks
# of the book at one parameter budget, gives each the same few seconds of training, scores
# all six on the same validation characters and draws the race. Then it is yours: the
# budget, the clock and the recipes are in one cell, and the last cell suggests what to turn.
#
# Download it with the buttons at the top of this page: as a Jupyter notebook (`.ipynb`),
# or as its [jupytext](https://jupytext.readthedocs.io) source (`.py`), which also runs as a
# plain script (`uv run python docs/labs/13-evolution-lab.py` from the book's folder). It
# needs nothing but the `airoad_book` package: the corpus ships inside a Python package, so
# it runs offline.

# %% [markdown]
# ## The knobs
#
# The chapter's budget is 200,000 parameters; the lab uses a smaller one so that two seconds
# of training buy more steps. Every other setting of `Config` is the chapter's: each network
# keeps its chapter's optimizer, learning rate and batches.

# %%
from dataclasses import replace

from airoad_book.experiments.evolution import Config

PARAMS = 100_000  # the parameter budget of every network
SECONDS = 2.0  # training wall-clock of each network (s), evaluation excluded
TRAIN_CHARS = 1_000_000  # characters of the training text (None: all 4.6 million)
VALID_CHARS = 2_048  # validation characters every model is scored on
KN_ORDER = 5  # n of the Kneser–Ney model
SEED = 0

config = replace(Config(), params=PARAMS, seconds=SECONDS, train_chars=TRAIN_CHARS,
                 curve_chars=VALID_CHARS, valid_chars=VALID_CHARS, eval_points=4, kn_order=KN_ORDER)

# %% [markdown]
# ## The data and the counts
#
# One vocabulary of characters, built from the training text, for all six models. The
# validation stream is cut so that the GPT's sliding windows cover it exactly
# (`aligned_valid`); every model then scores the same characters.

# %%
import time

from airoad_book.experiments.evolution import aligned_valid, kn_nats, load_data
from airoad_book.models.ngram import KneserNeyLM

vocab, train, valid_all = load_data(config)
valid = aligned_valid(valid_all, config.valid_chars, config.context)
print(f"{len(vocab)} characters, {len(train):,} training characters, {len(valid) - 1:,} scored")

started = time.perf_counter()
kn = KneserNeyLM(config.kn_order, len(vocab)).fit(train.numpy())
kn_seconds = time.perf_counter() - started
kn_loss = kn_nats(kn, valid)
print(f"Kneser–Ney {config.kn_order}-gram: {kn.num_ngrams:,} n-grams counted in {kn_seconds:.1f} s, "
      f"valid {kn_loss:.3f} nats/char")

# %% [markdown]
# ## Five networks, one budget
#
# `build_models` widens each network's free dimension until its parameter count is nearest
# to the budget.

# %%
from airoad_book.experiments.evolution import build_models, shape_label

for key, model in build_models(len(vocab), config).items():
    print(f"{shape_label(key, model):36s} {model.num_parameters:>8,} "
          f"({model.num_parameters / config.params - 1:+.1%})")

# %% [markdown]
# ## The race
#
# Each network gets its chapter's batches and loss (`contestant`) and the same seconds
# (`train_timed`: a few probe steps plan the schedule, `max_seconds` stops the run).

# %%
import torch

from airoad_book.device import seed_everything
from airoad_book.experiments.evolution import NEURAL, contestant, train_timed

runs = {}
for key in NEURAL:
    gen = seed_everything(SEED)
    model = build_models(len(vocab), config)[key]
    entry = contestant(key, model, train, vocab.eos_id, config, gen, torch.Generator().manual_seed(SEED + 1))
    history = train_timed(entry, lambda m, e=entry: e.score(m, valid), config.seconds, config, key)
    runs[key] = {"history": history, "per_step": entry.recipe.tokens_per_step, "params": model.num_parameters,
                 "label": shape_label(key, model), "model": model}

print(f"{'model':36s} {'params':>8s} {'chars/s':>8s} {'chars seen':>11s} {'nats/char':>9s}")
print(f"{'Kneser–Ney ' + str(config.kn_order) + '-gram':36s} {'—':>8s} {len(train) / kn_seconds:>8,.0f} "
      f"{len(train):>11,} {kn_loss:>9.3f}")
for key, r in runs.items():
    h = r["history"]
    seen = h.steps_done * r["per_step"]
    print(f"{r['label']:36s} {r['params']:>8,} {seen / h.seconds:>8,.0f} {seen:>11,} {h.eval_loss[-1]:>9.3f}")

# %% [markdown]
# ## How long a state can the RNN LM carry?
#
# Chapter 7 scores the RNN LM as it reads: one stream, the state carried from the first
# character to the last. After a few seconds of SGD at rate 1 its state can drift, over
# thousands of characters, into a regime it never met in its training windows. Cut the same
# validation text into more and more pieces, each read from a fresh state, and watch the
# loss (each piece's first character is not scored, so the counts differ slightly).

# %%
from airoad_book.data import batchify
from airoad_book.experiments.recurrent_training import evaluate_streams

for key in ("rnn", "lstm"):
    for pieces in (1, 4, 16, 64):
        nats = evaluate_streams(runs[key]["model"], batchify(valid, pieces), 64)
        print(f"{key:5s} {pieces:3d} pieces of {(len(valid) - 1) // pieces:5,} characters: {nats:.3f} nats/char")

# %% [markdown]
# ## The two curves
#
# Against the clock, and against the characters read. A model that is ahead on the right
# plot but behind on the left one learns more from each character but reads fewer of them
# per second.

# %% alt="Two line charts of validation nats per character, one against training seconds and one against training characters seen, for the five networks, with Kneser–Ney and the uniform guess as horizontal lines."
import math

import matplotlib.pyplot as plt

from airoad_book.figures.palette import COLORS, use_book_colors

use_book_colors()  # the book's colour-blind-safe palette for the plots below
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
for key, r in runs.items():
    h = r["history"]
    axes[0].plot(h.eval_seconds_at, h.eval_loss, marker="o", color=COLORS[key], label=key)
    axes[1].plot([s * r["per_step"] for s in h.eval_step], h.eval_loss, marker="o", color=COLORS[key], label=key)
for ax in axes:
    ax.axhline(kn_loss, color=COLORS["kn"], linestyle="--", label="Kneser–Ney")
    ax.axhline(math.log(len(vocab)), color=COLORS["unigram"], linestyle=":", label="uniform")
axes[0].set_xlabel("training seconds")
axes[1].set_xlabel("training characters seen")
axes[1].set_xscale("log")
axes[0].set_ylabel("validation nats per character")
axes[1].legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Your turn
#
# - Double `SECONDS`, then double it again. Which network gains most per doubling? Extend
#   the curves by eye: when would each cross the Kneser–Ney line?
# - Halve `PARAMS` and double it. Which models prefer more parameters, which more steps?
# - Set `TRAIN_CHARS` to `None`. The n-gram model gains from every character it counts; do
#   the networks, in two seconds?
# - Change one network's recipe: `replace(config, rnn_lr=0.3)` or
#   `replace(config, recurrent_lr=1e-2)`, and rerun the race. How much of a row's place in
#   the table is the model, and how much its learning rate?
# - Raise `KN_ORDER` to 7 or 8 and watch both the loss and the number of n-grams.
# - Train the RNN LM for longer (`SECONDS = 10`) and rerun the pieces cell: does the carried
#   state still hurt?
