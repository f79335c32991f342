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
# # Lab: the neural probabilistic language model, hands on
#
# This notebook goes with [chapter 6](../../part2/06-bengio/). In about ten seconds of CPU
# time it trains the model of Bengio et al. (2003) on the Penn Treebank, sets it beside a
# Kneser–Ney model of the same text, mixes the two, and looks at what the word vectors
# learned. Then it is yours: every knob is in one cell, and the last cell suggests what to
# turn.
#
# Download it with the buttons at the top of this page: as a Jupyter notebook (`.ipynb`),
# or as its [jupytext](https://jupytext.readthedocs.io) source (`.py`), which also runs as a
# plain script (`uv run python docs/labs/06-bengio-lab.py` from the book's folder). It needs
# nothing but the `airoad_book` package: the corpus ships inside a Python package, so it
# runs offline.

# %% [markdown]
# ## The knobs
#
# The paper's shapes are $n = 5$ (a context of four words), $m = 30$ and $h = 100$. The
# budget is counted in optimizer steps so that a run is repeatable: the same seed gives the
# same numbers. The defaults are sized to run in seconds on a laptop CPU, far too short
# for the network to catch the counts; `STEPS` (and `BATCH`) are the knobs to raise.

# %%
CONTEXT = 4  # n - 1: how many previous words the model sees
EMBED_DIM = 30  # m: length of each word vector C(w)
HIDDEN = 100  # h: tanh units
DIRECT = False  # direct connections W x from the input to the output
BATCH = 64  # windows per step
LR = 3e-3  # Adam's learning rate
STEPS = 150  # optimizer steps (150 x 64 windows = 1% of one pass over the text)
EVAL_EVERY = 50  # steps between validation points
VALID_TOKENS = 2_000  # how much of the validation text the curve scores
SEED = 0

# %% [markdown]
# ## The data and the baseline
#
# Mikolov's split of the Penn Treebank: 930,000 training tokens, a 10,000-word vocabulary.
# The baseline is chapter 5's interpolated modified Kneser–Ney, here of the same order as
# the network, so both see the same four words.

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from airoad_book.data import Vocab, context_windows, penn_treebank, random_batches
from airoad_book.decode import generate
from airoad_book.device import seed_everything
from airoad_book.experiments.bengio_vs_ngram import (
    choose_lambda,
    frequent_ids,
    lm_loss,
    mix_log_probs,
    nearest_neighbours,
    nplm_log_probs,
    perplexity,
)
from airoad_book.figures.palette import use_book_colors
from airoad_book.models.bengio import NPLM, NPLMConfig
from airoad_book.models.ngram import KneserNeyLM
from airoad_book.train import TrainConfig, evaluate_loss, fit

use_book_colors()  # the book's colour-blind-safe palette for the plots below

train_words = penn_treebank("train")
vocab = Vocab.build(train_words)
train = vocab.encode(train_words)  # (N,) ids
valid = vocab.encode(penn_treebank("valid")[:VALID_TOKENS])  # (T,) the slice we score

kn = KneserNeyLM(order=CONTEXT + 1, vocab_size=len(vocab)).fit(train.numpy())
kn_log_p = kn.token_log_probs(valid.numpy())  # (T,) ln P_KN of every validation token
print(f"{len(train):,} training tokens, vocabulary {len(vocab):,}")
print(f"Kneser-Ney {CONTEXT + 1}-gram: validation perplexity {perplexity(kn_log_p):.1f}")

# %% [markdown]
# ## Training
#
# The windows are every run of `CONTEXT` words and the word after it. The loss is the
# cross-entropy of the next word, and `fit` is the book's one training loop. The first
# loss is $\ln |V| = 9.21$ exactly: the output weights start at zero, so the first
# prediction is uniform.

# %% alt="Line chart of cross-entropy (nats per word) against step: the NPLM's training and validation losses fall towards the Kneser-Ney model's validation loss, a dashed line."
generator = seed_everything(SEED)
model = NPLM(NPLMConfig(vocab_size=len(vocab), context=CONTEXT, embed_dim=EMBED_DIM,
                        hidden=HIDDEN, direct=DIRECT))
X, Y = context_windows(train, CONTEXT)  # (N-k, k), (N-k,)
pad = torch.full((CONTEXT,), vocab.eos_id)
vX, vY = context_windows(torch.cat([pad, valid]), CONTEXT)  # every validation token, padded
valid_batches = [(vX[s : s + 512], vY[s : s + 512]) for s in range(0, len(vY), 512)]

started = time.perf_counter()
history = fit(
    model,
    random_batches(X, Y, batch_size=BATCH, generator=generator),
    lm_loss,
    TrainConfig(max_steps=STEPS, lr=LR, eval_every=EVAL_EVERY),
    evaluate=lambda m: evaluate_loss(m, valid_batches, lm_loss),
)
print(f"{model.num_parameters:,} parameters, {history.steps_done} steps in "
      f"{time.perf_counter() - started:.1f} s; first loss {history.train_loss[0]:.3f}")

fig, ax = plt.subplots(figsize=(6.4, 3.6))
ax.plot(history.step, history.train_loss, label="NPLM, train", alpha=0.7)
ax.plot(history.eval_step, history.eval_loss, marker="o", label="NPLM, valid")
ax.axhline(-kn_log_p.mean(), linestyle="--", color="gray", label=f"Kneser-Ney {CONTEXT + 1}-gram, valid")
ax.set_xlabel("step")
ax.set_ylabel("cross-entropy (nats per word)")
ax.legend()
plt.show()

# %% [markdown]
# ## Alone, and mixed
#
# The network alone is far behind after a fraction of an epoch. The question of the
# paper's second claim is different: does it know something the counts do not? Mix the two
# token by token, $\lambda P_\text{NPLM} + (1 - \lambda) P_\text{KN}$, and see whether any
# $\lambda > 0$ helps. (Here $\lambda$ is chosen on the same tokens it is scored on, which
# flatters the mixture a little; the chapter's experiment chooses it on validation and
# scores the test text.)

# %%
nplm_log_p = nplm_log_probs(model, valid, pad_id=vocab.eos_id)  # (T,)
lam, curve = choose_lambda(nplm_log_p, kn_log_p, points=101)
print(f"NPLM alone: perplexity {perplexity(nplm_log_p):.1f}")
print(f"Kneser-Ney: perplexity {perplexity(kn_log_p):.1f}")
print(f"mixture at the best lambda = {lam:.2f}: {perplexity(mix_log_probs(nplm_log_p, kn_log_p, lam)):.1f}")

# which tokens does the network rescue? those where it gives much more than the n-gram model
gain = nplm_log_p - kn_log_p
words = vocab.decode(valid)
for i in np.argsort(gain)[::-1][:8]:
    context = " ".join(words[max(0, i - CONTEXT) : i])
    print(f"  ... {context} [{words[i]}]: NPLM {math.exp(nplm_log_p[i]):.1e}, KN {math.exp(kn_log_p[i]):.1e}")

# %% [markdown]
# ## What the vectors learned
#
# Each word has an input vector $C(w)$ and an output vector, its row $U_w$ of the output
# layer. Their nearest neighbours by cosine similarity, among the 2,000 most frequent
# words:

# %%
pool = frequent_ids(vocab, 2000)
for word in ("monday", "million", "would", "company", "he", "buy"):
    by_c = nearest_neighbours(model.C.detach(), vocab, word, pool, k=5)
    by_u = nearest_neighbours(model.U.detach(), vocab, word, pool, k=5)
    print(f"{word:>8}  C: {', '.join(by_c):<45}  U: {', '.join(by_u)}")

# %% [markdown]
# ## Generating
#
# A language model is also a generator: sample the next word, slide the window, repeat.

# %%
def step(ids):
    return model(ids[:, -CONTEXT:])  # (1, V): the model sees only its window


start = [vocab.eos_id] * CONTEXT  # the start of a sentence
model.eval()
for temperature in (0.7, 1.0):
    new = generate(step, start, 25, stop_id=vocab.eos_id, temperature=temperature,
                   generator=torch.Generator().manual_seed(SEED))
    print(f"T={temperature}:", " ".join(vocab.decode(new)))

# %% [markdown]
# ## Your turn
#
# Change the knobs in the second cell and run everything again. Some questions to ask:
#
# - **More steps.** Double `STEPS` twice, then try `BATCH = 256` too. How fast does the gap to Kneser–Ney close, and how
#   does the best $\lambda$ move as the network improves?
# - **The context.** Try `CONTEXT = 2` and `CONTEXT = 6` (the baseline follows). Which model
#   gains more from the longer window at this budget?
# - **The vectors.** Set `EMBED_DIM = 10` or `60`. What happens to the parameter count, the
#   perplexity, and the neighbours?
# - **The start of C.** Right after the model is built, add `model.C.data.mul_(10)` (the
#   model starts $C$ at $\mathcal{N}(0, 0.1^2)$). Compare the neighbours by $C$ before and
#   after: why does the scale of the random start matter after only a few hundred steps?
# - **Direct connections.** `DIRECT = True` adds $W x$ to the output. Compare the time per
#   step and the perplexity at the same number of steps.
# - **The learning rate.** Try `LR = 1e-2` and `1e-3`. Which one wins after 150 steps, and
#   would it still win after 4,000?
