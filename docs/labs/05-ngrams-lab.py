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
# # Lab: n-gram language models, hands on
#
# This notebook goes with [chapter 5](../../part2/05-ngrams/). In a few seconds of CPU time
# it counts n-grams of Shakespeare's letters and of the Penn Treebank's words, smooths them
# two ways (add-one and interpolated modified Kneser–Ney), measures each on held-out text in
# perplexity and bits per character, and lets the best model write. Then it is yours: the
# knobs are in one cell, and the last cell suggests what to turn.
#
# Download it with the buttons at the top of this page, as a Jupyter notebook (`.ipynb`) or
# as its [jupytext](https://jupytext.readthedocs.io) source (`.py`), which also runs as a
# plain script. It needs nothing but the `airoad_book` package: both corpora ship inside
# Python packages, so it runs offline.

# %% [markdown]
# ## The knobs

# %%
CHAR_ORDERS = (1, 2, 3, 4, 5, 6)  # n of the character models
WORD_ORDERS = (1, 2, 3, 4, 5)  # n of the word models
VALID_CHARS = 100_000  # characters of validation text scored (None: all 250k)
SAMPLE_ORDER = 6  # which character model writes the sample (at most max(CHAR_ORDERS))
SAMPLE_LENGTH = 300  # characters to sample
TEMPERATURE = 0.8  # < 1 sharpens the distribution, > 1 flattens it
SEED = 0

# %% [markdown]
# ## Letters of Shakespeare
#
# The book's split holds whole works out: the validation text is *Othello* and *A Midsummer
# Night's Dream*, never seen in training. Both models are fitted on the same training
# stream; only the smoothing differs.

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np

from airoad_book.data import Vocab, char_tokens, penn_treebank, shakespeare
from airoad_book.figures.palette import use_book_colors
from airoad_book.models.ngram import AddOneLM, KneserNeyLM, count_ngrams

use_book_colors()  # the book's colour-blind-safe palette for the plots below

train_text, valid_text = shakespeare("train"), shakespeare("valid")
chars = Vocab.build(char_tokens(train_text))
train_ids = chars.encode(char_tokens(train_text)).numpy()
valid_ids = chars.encode(char_tokens(valid_text[:VALID_CHARS])).numpy()
print(f"{len(chars)} characters in the vocabulary; {len(train_ids):,} training and {len(valid_ids):,} validation characters")

# %% [markdown]
# Every model of every order reads the same counts, so they are counted once, to the
# highest order, and shared.

# %%
start = time.perf_counter()
char_grams = count_ngrams(train_ids, max(CHAR_ORDERS), len(chars))
char_rows = []
for n in CHAR_ORDERS:
    add_one = AddOneLM(n, len(chars)).fit(train_ids, char_grams)
    kn = KneserNeyLM(n, len(chars)).fit(train_ids, char_grams)
    # bits per character: the cross-entropy in nats, divided by ln 2
    char_rows.append((n, math.log2(add_one.perplexity(valid_ids)), math.log2(kn.perplexity(valid_ids))))
print(f"fitted and scored {2 * len(CHAR_ORDERS)} models in {time.perf_counter() - start:.1f} s")
for n, bpc_add_one, bpc_kn in char_rows:
    print(f"n = {n}: add-one {bpc_add_one:.3f} bits/char, Kneser-Ney {bpc_kn:.3f} bits/char")

# %% alt="Line chart of validation bits per character against n-gram order for add-one and Kneser-Ney smoothing: add-one turns back up at higher orders while Kneser-Ney keeps falling."
fig, ax = plt.subplots(figsize=(6, 3.5))
orders = [row[0] for row in char_rows]
ax.plot(orders, [row[1] for row in char_rows], marker="o", label="add-one")
ax.plot(orders, [row[2] for row in char_rows], marker="o", label="Kneser–Ney")
ax.set_xlabel("order n")
ax.set_ylabel("validation bits per character")
ax.legend()
plt.show()

# %% [markdown]
# Add-one gets *worse* with order past a point: it hands every unseen continuation the same
# share of probability, and the longer the history, the more of the text is unseen.
# Kneser–Ney keeps improving for longer because an unseen continuation borrows from the
# shorter history instead.

# %% [markdown]
# ## Words of the Penn Treebank
#
# The same two smoothings on Mikolov's split of the Penn Treebank, a 10,000-word
# vocabulary: the corpus of the published tables of chapters 5 to 8.

# %%
words = Vocab.build(penn_treebank("train"))
ptb_train = words.encode(penn_treebank("train")).numpy()
ptb_valid = words.encode(penn_treebank("valid")).numpy()
word_grams = count_ngrams(ptb_train, max(WORD_ORDERS), len(words))
for n in WORD_ORDERS:
    add_one = AddOneLM(n, len(words)).fit(ptb_train, word_grams)
    kn = KneserNeyLM(n, len(words)).fit(ptb_train, word_grams)
    print(f"n = {n}: add-one perplexity {add_one.perplexity(ptb_valid):8.1f}, "
          f"Kneser-Ney {kn.perplexity(ptb_valid):6.1f}, {kn.num_ngrams:,} n-grams stored")

# %% [markdown]
# ## Let the best character model write
#
# Sampling reads the model forwards: draw a character from $P(w \mid h)$, append it, slide
# the history. The temperature $T$ raises each probability to the power $1/T$ before
# renormalising.

# %%
model = KneserNeyLM(SAMPLE_ORDER, len(chars)).fit(train_ids, char_grams)
rng = np.random.default_rng(SEED)
history = list(chars.encode(char_tokens("ROMEO:\n")).numpy())
for _ in range(SAMPLE_LENGTH):
    p = model.next_distribution(history[-(SAMPLE_ORDER - 1):]) ** (1 / TEMPERATURE)  # (V,)
    history.append(int(rng.choice(len(p), p=p / p.sum())))
print("".join(chars.decode(history)))

# %% [markdown]
# ## Your turn
#
# The knobs are sized so the whole notebook runs in a few seconds: it scores the first
# `VALID_CHARS` characters of the validation plays. Set `VALID_CHARS = None` to score all
# of them.
#
# - Push `CHAR_ORDERS` to 8 or 10. Where does Kneser–Ney stop improving on the validation
#   text, and how many n-grams does the model store by then?
# - Sample at `TEMPERATURE = 0.3` and `2.0`. Which failure does each show?
# - Fit the character model on the comedies only (`airoad_book.data.shakespeare_works()`
#   gives every work by name) and measure it on *A Midsummer Night's Dream* and on
#   *Othello* separately. Does genre show up in bits per character?
