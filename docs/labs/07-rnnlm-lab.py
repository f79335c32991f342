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
# # Lab: the recurrent language model, hands on
#
# This notebook goes with [chapter 7](../../part2/07-rnnlm/). It checks backpropagation
# through time written by hand, watches gradients vanish and explode for a recurrent matrix
# of your choice, then trains the RNN LM of Mikolov et al. (2010) on Shakespeare's
# characters for a few seconds, sets it against a Kneser–Ney model of the same characters,
# and lets it write.
#
# Download it with the buttons at the top of this page: as a Jupyter notebook (`.ipynb`),
# or as its [jupytext](https://jupytext.readthedocs.io) source (`.py`), which also runs as a
# plain script (`uv run python docs/labs/07-rnnlm-lab.py` from the book's folder). It needs
# nothing but the `airoad_book` package, and runs offline.

# %% [markdown]
# ## The knobs

# %%
RADII = (0.8, 1.0, 1.3)  # spectral radii of W for the gradient measurement
HIDDEN = 128  # H, the size of the character model's state
BATCH = 16  # B, parallel streams of truncated BPTT
BPTT = 25  # T, characters per window: how far back the gradient reaches
OPTIMIZER = "sgd"  # plain SGD, as the paper ("adam": try it, and watch the spectral radius of W)
LR = 1.0  # the learning rate (the loss is a mean over BATCH x BPTT characters)
CLIP = 1.0  # clip the gradient's global norm to this (None: no clipping)
STEPS = 200  # optimizer steps (200 x 16 x 25 = 80,000 characters read)
TRAIN_CHARS = 500_000  # characters of the training plays used
VALID_CHARS = 20_000  # characters of the validation plays scored
SEED = 0

# %% [markdown]
# ## 1. BPTT by hand, checked
#
# `airoad_book.scratch.rnn` runs the network forward over one sequence and backwards
# through time in NumPy. Central differences check every weight's gradient.

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from airoad_book.data import EOS, UNK, Vocab, batchify, char_tokens, shakespeare
from airoad_book.decode import sample_next
from airoad_book.device import seed_everything
from airoad_book.experiments.bengio_vs_ngram import choose_lambda, mix_log_probs
from airoad_book.experiments.recurrent_training import CarriedStateLoss, endless_bptt
from airoad_book.experiments.rnn_lm import rnn_log_probs
from airoad_book.figures.palette import use_book_colors
from airoad_book.models.ngram import KneserNeyLM
from airoad_book.models.rnnlm import RNNLM, RNNLMConfig
from airoad_book.scratch.gradcheck import numerical_gradient, relative_error
from airoad_book.scratch.rnn import backward, forward, init_params, state_gradient_norms, with_spectral_radius
from airoad_book.train import TrainConfig, fit

use_book_colors()  # the book's colour-blind-safe palette for the plots below

rng = np.random.default_rng(SEED)
p = init_params(vocab_size=6, hidden=4, rng=rng)
tokens, targets = rng.integers(0, 6, 8), rng.integers(0, 6, 8)
_, cache = forward(p, tokens, targets, np.zeros(4))
grads, _ = backward(p, cache)
for name in ("U", "W", "V", "b"):
    numeric = numerical_gradient(lambda: forward(p, tokens, targets, np.zeros(4))[0], getattr(p, name))
    print(f"{name}: relative error {relative_error(getattr(grads, name), numeric):.1e}")

# %% [markdown]
# ## 2. Vanishing and exploding, for your radii
#
# The gradient of the last step's loss, followed back through the states: each step back
# multiplies it by $\operatorname{diag}(1 - s^2)\, W^\top$.

# %% alt="Line chart of the gradient norm against steps back through time, one line per spectral radius of the recurrent matrix: small radii decay, large ones grow."
fig, ax = plt.subplots(figsize=(6.4, 3.6))
for rho in RADII:
    runs = []
    for _ in range(5):
        q = init_params(vocab_size=30, hidden=100, rng=rng, scale=0.1)
        q.W = with_spectral_radius(rng.normal(0, 1, (100, 100)), rho)
        runs.append(np.log(state_gradient_norms(q, rng.integers(0, 30, 60), 0, np.zeros(100))))
    ax.plot(np.exp(np.mean(runs, axis=0)), label=f"ρ = {rho}")
ax.set_yscale("log")
ax.set_xlabel("steps back")
ax.set_ylabel("gradient norm")
ax.legend()
plt.show()

# %% [markdown]
# ## 3. A character-level RNN LM on Shakespeare
#
# The training plays, cut into `BATCH` contiguous streams and walked in windows of `BPTT`
# characters; the state is carried from window to window by `CarriedStateLoss`. The
# baseline is an interpolated Kneser–Ney 5-gram of the same characters.

# %% alt="Line chart of the RNN language model's training loss in bits per character against step, falling towards the dashed line of the Kneser-Ney 5-gram's validation loss."
text = char_tokens(shakespeare("train"))[:TRAIN_CHARS]
vocab = Vocab.build(text, specials=(UNK, EOS))  # <eos> only starts a scored stream
train = vocab.encode(text)
valid = vocab.encode(char_tokens(shakespeare("valid"))[:VALID_CHARS])
kn = KneserNeyLM(order=5, vocab_size=len(vocab)).fit(train.numpy())
kn_log_p = kn.token_log_probs(valid.numpy())
print(f"{len(vocab)} symbols; Kneser-Ney 5-gram: {-kn_log_p.mean() / math.log(2):.3f} bits per character")

seed_everything(SEED)
model = RNNLM(RNNLMConfig(vocab_size=len(vocab), hidden=HIDDEN))
started = time.perf_counter()
loss = CarriedStateLoss()
history = fit(model, endless_bptt(batchify(train, BATCH), BPTT, loss), loss,
              TrainConfig(max_steps=STEPS, lr=LR, optimizer=OPTIMIZER, clip_norm=CLIP, eval_every=STEPS))
rnn_log_p = rnn_log_probs(model, valid, vocab.eos_id)
radius = torch.linalg.eigvals(model.W.detach()).abs().max().item()
print(f"{history.steps_done} steps in {time.perf_counter() - started:.1f} s; "
      f"RNN LM: {-rnn_log_p.mean() / math.log(2):.3f} bits per character; spectral radius of W {radius:.2f}")

lam, _ = choose_lambda(rnn_log_p, kn_log_p, 101)
print(f"mixture, λ = {lam:.2f}: {-mix_log_probs(rnn_log_p, kn_log_p, lam).mean() / math.log(2):.3f} bits "
      "per character (λ chosen on the same text it is scored on: optimistic)")

fig, ax = plt.subplots(figsize=(6.4, 3.6))
ax.plot(history.step, np.array(history.train_loss) / math.log(2), alpha=0.7, label="RNN LM, train")
ax.axhline(-kn_log_p.mean() / math.log(2), linestyle="--", color="gray", label="Kneser-Ney 5-gram, valid")
ax.set_xlabel("step")
ax.set_ylabel("bits per character")
ax.legend()
plt.show()

# %% [markdown]
# ## 4. Let it write
#
# Sampling carries the state too: each character goes in once, and the state holds
# everything before it.

# %%
generator = torch.Generator().manual_seed(SEED)
model.eval()
with torch.no_grad():
    state = model.init_state(1)
    token = torch.tensor([[vocab.stoi["\n"]]])
    out = []
    for _ in range(300):
        logits, state = model(token, state)  # (1, 1, V), (1, H)
        token = sample_next(logits[:, -1], temperature=0.8, generator=generator).view(1, 1)
        out.append(vocab.itos[token.item()])
print("".join(out))

# %% [markdown]
# ## Your turn
#
# The knobs are sized so the notebook runs in seconds, and at 80,000 characters read the
# network has only begun to spell. For text that looks like Shakespeare's, raise `STEPS`
# to 2,000 or more (and try `BATCH = 32`, `BPTT = 50`): minutes on a laptop CPU.
#
# - Set `CLIP = None`: does training still work? Plot `history.grad_norm`.
# - Set `OPTIMIZER = "adam"` and `LR = 3e-3`. Print the spectral radius of `model.W` after
#   training, and score the validation text starting from `"\n"` and from `" "`
#   (`rnn_log_probs(model, valid, vocab.stoi[" "])`). A W with a large radius can make
#   the state bistable: where it starts decides where it stays.
# - Try `BPTT = 5` and `BPTT = 100` with the same `STEPS`. Which learns faster per step, and
#   which per second?
# - Double `HIDDEN`: what happens to the time per step, and to the bits per character?
# - Sample at temperatures 0.5 and 1.2. Which text looks more like Shakespeare, and why?
