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
# # Lab: transfer learning, hands on
#
# This notebook goes with the chapter on
# [residual networks and transfer learning](../../part3/resnet-transfer/). In about ten
# seconds of CPU time it pretrains a small ResNet on the real MNIST digits 0–4, then learns
# the digits 5–9 from a handful of labels four ways: from scratch, with a linear probe on
# the frozen backbone, by fine-tuning everything, and by gradual unfreezing. Then it is
# yours: the split, the label budgets and the strategies are in one cell.
#
# Download it with the buttons at the top of this page: as a Jupyter notebook (`.ipynb`),
# or as its [jupytext](https://jupytext.readthedocs.io) source (`.py`), which also runs as a
# plain script (`uv run python docs/labs/resnet-transfer-lab.py` from the book's folder). It
# needs nothing but the `airoad_book` package, and runs offline.

# %% [markdown]
# ## The knobs
#
# Budgets are steps, not seconds: a busy machine gives the same accuracies, only later.
# The defaults are sized to run in seconds; the chapter's full run uses
# `PRETRAIN_STEPS = 1000` and `TARGET_STEPS = 100`.
# `LABELS` are labelled target images per class; the target has five classes.

# %%
from dataclasses import replace

from airoad_book.experiments import transfer_learning as tl

LABELS = (2, 10)  # labelled target digits per class, one point of the curve each
PRETRAIN_STEPS = 60  # steps on the source digits 0-4
TARGET_STEPS = 25  # steps of every target run
STRATEGIES = ("scratch", "probe", "finetune", "gradual")
SEED = 0

config = replace(
    tl.CONFIGS["quick"],
    labels=LABELS,
    pretrain_steps=PRETRAIN_STEPS,
    target_steps=TARGET_STEPS,
)
split = tl.split_digits()
print(
    f"source: {len(split.y_source):,} digits 0-4; target pool: {len(split.y_pool):,} "
    f"digits 5-9; target test: {len(split.y_test):,}"
)

# %% [markdown]
# ## Pretraining on the source digits
#
# The backbone learns the digits 0–4 with light augmentation. Its accuracy on the held-out
# 0–4 says how good the features it passes on are for the task they were learned for.

# %%
pretrained, losses = tl.pretrain(split, config, SEED)
source_acc = tl.accuracy(pretrained, split.x_source_test, split.y_source_test)
print(
    f"loss {losses[0]:.2f} -> {losses[-1]:.2f}; held-out 0-4 accuracy {source_acc:.1%}"
)

# %% [markdown]
# ## Four ways to learn the target
#
# Each run starts from `start_from` (random weights for "scratch", the pretrained backbone
# otherwise, and always a fresh linear layer for the five new classes) and trains with
# `train_target`, which thaws the layers the strategy names at each step.

# %%
import torch

curve = {s: [] for s in STRATEGIES}
for n in LABELS:
    rows = tl.draw_labels(split.y_pool, n, seed=SEED)
    for strategy in STRATEGIES:
        torch.manual_seed(SEED)
        model = tl.start_from(pretrained, strategy, config)
        tl.train_target(model, split.x_pool[rows], split.y_pool[rows], strategy, config)
        curve[strategy].append(tl.accuracy(model, split.x_test, split.y_test))
    scores = ", ".join(f"{s} {curve[s][-1]:.1%}" for s in STRATEGIES)
    print(f"{5 * n:>4} labels: {scores}")

# %% alt="Line chart of accuracy on the held-out digits 5-9 against the number of labelled target images, one line for each of the four strategies."
import matplotlib.pyplot as plt

from airoad_book.figures.palette import use_book_colors

use_book_colors()
fig, ax = plt.subplots(figsize=(6, 3.6))
for s in STRATEGIES:
    ax.plot([5 * n for n in LABELS], curve[s], marker="o", label=s)
ax.axhline(0.2, color="grey", linestyle="--", linewidth=1, label="chance")
ax.set_xscale("log")
ax.set_xlabel("labelled target images (log scale)")
ax.set_ylabel("accuracy on held-out 5-9")
ax.set_ylim(0, 1)
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Your turn
#
# - Swap the tasks: `tl.SOURCE` and `tl.TARGET` are module constants; set
#   `tl.SOURCE, tl.TARGET = (5, 6, 7, 8, 9), (0, 1, 2, 3, 4)` before `split_digits()` and
#   run the notebook again. Is one direction of transfer easier?
# - Give the pretraining ten times fewer steps. Which strategy suffers most from a weaker
#   backbone?
# - Add a strategy: `trainable_at` decides what trains at each step. Try fine-tuning only
#   the top two stages, or thawing from the bottom up instead of the top down.
# - The linear probe reads the backbone's pooled features. Fit scikit-learn's
#   `LogisticRegression` on `pretrained.features(x)` of the labelled images instead, and
#   compare it with the probe trained by Adam.
