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
# # Lab: the softmax's cost, hands on
#
# This notebook goes with [the softmax's cost](../../part2/softmax-cost/). It checks that
# the class-based and hierarchical output layers are real distributions, trains one
# recurrent language model on a slice of the Penn Treebank with each of five output
# layers, times one output-layer step against the size of the vocabulary, and climbs a
# ladder of noise samples for NCE.
#
# Download it with the buttons at the top of this page: as a Jupyter notebook (`.ipynb`),
# or as its [jupytext](https://jupytext.readthedocs.io) source (`.py`), which also runs as
# a plain script (`uv run python docs/labs/softmax-cost-lab.py` from the book's folder).
# It needs nothing but the `airoad_book` package, and runs offline.

# %% [markdown]
# ## The knobs

# %%
HIDDEN = 64  # H, the size of the recurrent state and of the word vectors
TRAIN_WORDS = 16_000  # training words read once (40 steps of 20 x 20 words)
EVAL_WORDS = 2_000  # valid and test words scored with exact probabilities
K = 64  # noise / proposal words per step for NCE and the sampled softmax
K_LADDER = (4, 16, 64)  # NCE's noise samples, for section 4
SWEEP = (1_000, 3_000, 10_000)  # vocabulary sizes for the timing sweep
SEED = 0

# %% [markdown]
# ## 1. Probabilities that sum to one
#
# The class-based layer and the Huffman tree never compute a softmax over all the words,
# yet their probabilities over the whole vocabulary sum to 1. `log_probs(h)` spells out
# the whole table, so we can check.

# %%
import math
from dataclasses import replace

import matplotlib.pyplot as plt
import torch

from airoad_book.data import Vocab, batchify, penn_treebank
from airoad_book.experiments import softmax_cost as sc
from airoad_book.figures.palette import use_book_colors

use_book_colors()  # the book's colour-blind-safe palette for the plots below
torch.set_num_threads(1)  # timings of one core, as on the page

counts = sc.zipf_counts(500)
h = torch.randn(4, 16)
for method in sc.METHODS:
    layer = sc.make_layer(method, 16, counts, K)
    with torch.no_grad():
        for p in layer.parameters():
            p.normal_(0, 0.3)
    total = layer.log_probs(h).exp().sum(1)
    print(f"{sc.NAMES[method]:24s} sum over the 500 words: {total.tolist()}")

# %% [markdown]
# ## 2. One network, five output layers
#
# `train_one` trains chapter 7's Elman network with one output layer and reports the
# milliseconds per training step and the exact test perplexity. All five start from the
# same seed and read the same batches.

# %%
train_words = penn_treebank("train")
vocab = Vocab.build(train_words)
ids = vocab.encode(train_words[:TRAIN_WORDS])
word_counts = torch.bincount(torch.as_tensor(ids), minlength=len(vocab)).double()
data = {
    "train": batchify(ids, 20),
    "valid": batchify(vocab.encode(penn_treebank("valid")[:EVAL_WORDS]), 10),
    "test": batchify(vocab.encode(penn_treebank("test")[:EVAL_WORDS]), 10),
}
config = replace(sc.CONFIGS["quick"], hidden=HIDDEN, k=K)
runs = {m: sc.train_one(m, config, data, word_counts, SEED) for m in sc.METHODS}
full_ms = runs["full"]["ms_per_step"]
for m, r in runs.items():
    print(
        f"{sc.NAMES[m]:24s} {r['ms_per_step']:6.1f} ms/step "
        f"({full_ms / r['ms_per_step']:4.1f}x)   test ppl {r['test_ppl']:7.1f}"
    )

# %% alt="Scatter plot of test perplexity against milliseconds per training step, one point per output layer: the full softmax slowest, the sampled layers fastest."
fig, ax = plt.subplots()
for m, r in runs.items():
    ax.scatter(r["ms_per_step"], r["test_ppl"], s=40, label=sc.NAMES[m])
ax.set_xscale("log")
ax.set_xlabel("ms per training step (one core)")
ax.set_ylabel("test perplexity (exact)")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 3. The cost against the vocabulary
#
# One training step of the output layer alone, 400 predicted words, Zipf-distributed
# targets. Add 30,000 or 100,000 to `SWEEP` if you have a minute.

# %% alt="Log-log plot of milliseconds per output-layer step against vocabulary size, one line per output layer, each labelled with its fitted slope."
sweep = sc.time_sweep(replace(config, sweep_vocab=SWEEP, sweep_repeats=2), SEED)
fig, ax = plt.subplots()
for m in sc.METHODS:
    slope = sweep["slope"][m]
    ax.plot(SWEEP, sweep["ms"][m], marker="o", label=f"{sc.NAMES[m]} ({slope:.2f})")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("|V|")
ax.set_ylabel("ms per output-layer step")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 4. How many noise words does NCE need?
#
# The same network, NCE with more and more noise samples. `mean_log_z` is the mean of
# log Z(h) over the test words: 0 when the raw scores are already probabilities.

# %%
for k in K_LADDER:
    # k = K was trained in section 2: the same seed and batches give the same run
    if k == K:
        r = runs["nce"]
    else:
        r = sc.train_one("nce", replace(config, k=k), data, word_counts, SEED)
    print(
        f"k = {k:4d}: {r['ms_per_step']:5.1f} ms/step, test ppl {r['test_ppl']:7.1f}, "
        f"mean log Z {r['mean_log_z']:+.2f} (Z about {math.exp(r['mean_log_z']):.2f})"
    )

# %% [markdown]
# ## Things to try
#
# - Give the class-based layer 10 or 1,000 classes (`sc.ClassSoftmax(HIDDEN,
#   word_counts, n_classes=...)`) and time it.
# - The knobs are sized so the notebook runs in seconds: 40 steps are enough to time each
#   layer, not to judge its perplexity. Train longer (`TRAIN_WORDS = 200_000`): does the
#   gap between the exact layers and the sampled ones close or open?
# - Swap the unigram proposal of the sampled softmax for a uniform one.
