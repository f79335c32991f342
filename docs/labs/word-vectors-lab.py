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
# # Lab: word vectors, hands on
#
# This notebook goes with the chapter on [word vectors](../../part2/word-vectors/). It
# trains a skip-gram and a CBOW model (Mikolov et al. 2013) on part of the Penn Treebank,
# watches the loss fall, looks up nearest neighbours, does the analogy arithmetic by hand,
# and projects a few groups of words onto a plane.
#
# Download it with the buttons at the top of this page: as a Jupyter notebook (`.ipynb`),
# or as its [jupytext](https://jupytext.readthedocs.io) source (`.py`), which also runs as
# a plain script (`uv run python docs/labs/word-vectors-lab.py` from the book's folder).
# It needs the `airoad_book` package and its data extra, and runs offline.

# %% [markdown]
# ## The knobs

# %%
TOKENS = 200_000  # the first tokens of the Penn Treebank's training text
DIM = 50  # d, the vector length
WINDOW = 5  # c, the largest distance of a neighbour
EPOCHS = 2  # passes over the subsampled text
SEED = 0

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from airoad_book.data import Vocab, penn_treebank
from airoad_book.experiments.word2vec import neighbours, score
from airoad_book.figures.palette import use_book_colors
from airoad_book.models.word2vec import CBOW, SkipGram, TrainSettings, train

use_book_colors()  # the book's colour-blind-safe palette for the plots below
torch.set_num_threads(1)

words = penn_treebank("train")[:TOKENS]
vocab = Vocab.build(words)
ids = vocab.encode(words)  # (N,)
counts = torch.bincount(ids, minlength=len(vocab)).clamp(min=1)  # (V,)
print(f"{ids.numel():,} tokens, {len(vocab):,} distinct words")

# %% [markdown]
# ## Train both models
#
# Skip-gram predicts each neighbour from the word; CBOW predicts the word from the mean of
# its neighbours. Both use negative sampling with five noise words.

# %%
models, curves = {}, {}
for name, cls, lr in (("skip-gram", SkipGram, 0.025), ("CBOW", CBOW, 0.05)):
    torch.manual_seed(SEED)
    model = cls(counts, DIM, "ns", k=5)
    settings = TrainSettings(window=WINDOW, epochs=EPOCHS, lr=lr)
    curves[name] = train(model, ids, counts, settings, seed=SEED)
    models[name] = model
    print(f"{name}: {len(curves[name])} steps")

# %% alt="Line chart of the training loss (nats per example) against SGD step for skip-gram and CBOW: both start at 6 ln 2 and fall."
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, losses in curves.items():
    smooth = np.convolve(losses, np.ones(20) / 20, mode="valid")
    ax.plot(smooth, label=name)
ax.set_xlabel("SGD step")
ax.set_ylabel("loss (nats per example)")
ax.legend()
plt.show()

# %% [markdown]
# ## Scores and neighbours
#
# The chapter's evaluator: Spearman's ρ on WordSim-353 and SimLex-999, and accuracy on
# the analogy questions whose four words are in this vocabulary.

# %%
for name, model in models.items():
    s = score(model.vectors.numpy(), vocab.stoi)
    print(
        f"{name:10s} WordSim ρ {s['spearman_wordsim']:.3f}, SimLex ρ "
        f"{s['spearman_simlex']:.3f}, analogies {s['analogy_acc']:.1%} "
        f"(coverage {s['analogy_coverage']:.1%})"
    )

# %%
vectors = models["skip-gram"].vectors.numpy()
for word in ("million", "would", "company", "said"):
    print(f"{word:>8}: {', '.join(neighbours(vectors, vocab, word))}")

# %% [markdown]
# ## The analogy arithmetic by hand
#
# $\hat b - \hat a + \hat c$ with unit vectors, then the nearest word that is not one of
# the three. Try your own: the words must be in the vocabulary. On a fifth of the Penn
# Treebank expect the answers to be mostly wrong: the chapter's full run needs all of it,
# five passes and ten noise words before the analogies rise clear of chance, and the
# neighbours above are where the vectors first show what they learned.

# %%
unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def analogy(a: str, b: str, c: str, top: int = 3) -> list[str]:
    """The `top` answers to a : b :: c : ?."""
    ids_ = [vocab.stoi[w] for w in (a, b, c)]
    sims = unit @ (unit[ids_[1]] - unit[ids_[0]] + unit[ids_[2]])
    sims[ids_] = -np.inf
    return [vocab.itos[i] for i in np.argsort(-sims)[:top]]


for question in (("good", "better", "big"), ("he", "she", "his"),
                 ("buy", "bought", "sell"), ("japan", "japanese", "germany")):
    print(f"{' : '.join(question[:2])} :: {question[2]} : ?  →  {analogy(*question)}")

# %% [markdown]
# ## Words on a plane
#
# The top two principal axes of the 1,000 most frequent words' vectors, and five groups of
# words on them.

# %% alt="Scatter plot of days, months, amounts, countries and modal verbs on the two main principal axes of the skip-gram vectors, each group in its own colour."
from airoad_book.experiments.word2vec import projection

fig, ax = plt.subplots(figsize=(6, 5))
for group, pts in projection(vectors, vocab).items():
    ax.scatter(pts["x"], pts["y"], label=group)
    for w, x, y in zip(pts["words"], pts["x"], pts["y"]):
        ax.annotate(w, (x, y), fontsize=8)
ax.legend()
plt.show()

# %% [markdown]
# ## Your turn
#
# - Raise `TOKENS` to all of the training text (929,589) and `EPOCHS` to 4: how do the
#   scores move? How much longer does training take?
# - Switch both models to the hierarchical softmax (`cls(counts, DIM, "hs")`). Which is
#   faster per step here, and why (count the units a step evaluates)?
