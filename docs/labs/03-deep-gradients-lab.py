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
# # Lab: deep nets and their gradients, hands on
#
# This notebook goes with [chapter 3](../../part1/03-deep-gradients/). In a few seconds of
# CPU time it measures the gradient of every layer of a deep net on the 8×8 digits, then
# trains a plain and a residual stack side by side with the same budget. Every knob is in
# one cell, and the last cell suggests what to turn.
#
# Download it with the buttons at the top of this page, or run its source as a plain script
# (`uv run python docs/labs/03-deep-gradients-lab.py` from the book's folder). It needs
# nothing but the `airoad_book` package and runs offline.

# %% [markdown]
# ## The knobs

# %%
DEPTH = 15  # blocks between the input and the output layer
WIDTH = 64  # units per hidden layer
ACTIVATIONS = ("sigmoid", "tanh", "relu")  # compared in the first part
NORM = "batch"  # "none" | "batch" | "layer": used in the second part
STEPS = 100  # SGD steps per net in the second part
LR = 0.05  # SGD learning rate (momentum 0.9, gradients clipped to norm 5)
SEED = 0

# %% [markdown]
# ## The data
#
# scikit-learn's 8×8 digits, each pixel standardised over the training set.

# %%
import matplotlib.pyplot as plt
import torch

from airoad_book.experiments.gradient_flow import digit_tensors, measure, train
from airoad_book.experiments.residual_vs_plain import Config, train_loss
from airoad_book.figures.palette import use_book_colors
from airoad_book.models.deep import DeepConfig, DeepNet

use_book_colors()  # the book's colour-blind-safe palette for the plots below

x, y = digit_tensors()  # (N, 64), (N,)
print(f"{len(y)} training images of {x.shape[1]} pixels")

# %% [markdown]
# ## The gradient, layer by layer
#
# `measure` runs one forward and backward pass over the whole training set and returns
# every layer's weight-gradient norm $\|\partial L/\partial W_l\|$ and its activations'
# mean and spread.

# %% alt="Two line charts against layer index, one line per activation: left, the norm of the loss gradient with respect to each layer's weights; right, the standard deviation of each layer's activations."
fig, (ax_g, ax_a) = plt.subplots(1, 2, figsize=(10, 3.5))
for act in ACTIVATIONS:
    torch.manual_seed(SEED)
    model = DeepNet(DeepConfig(width=WIDTH, depth=DEPTH, activation=act))
    m = measure(model, x, y)
    layers = range(1, DEPTH + 1)
    ax_g.plot(layers, m["weight_grad"], marker="o", label=act)
    ax_a.plot(layers, m["act_std"], marker="o", label=act)
    print(f"{act:>7}: first/last layer gradient = {m['weight_grad'][0] / m['weight_grad'][-1]:.1e}")
ax_g.set_yscale("log")
ax_g.set_xlabel("layer")
ax_g.set_ylabel("||dL/dW_l||")
ax_a.set_xlabel("layer")
ax_a.set_ylabel("std of the activations h_l")
ax_g.legend()
plt.show()

# %% [markdown]
# The sigmoid's line falls by a near-constant factor per layer: the product of Jacobians,
# each with $\sigma' \le 1/4$. Its activations' spread is small too: outputs near 0.5, where
# the next layer's input carries little signal.

# %% [markdown]
# ## Plain against residual, the same budget

# %% alt="Line chart of minibatch training loss against SGD step for a plain and a residual stack of the chosen depth and normalization."
config = Config(steps=STEPS, lr=LR, width=WIDTH)
curves = {}
for block in ("plain", "residual"):
    torch.manual_seed(SEED)
    model = DeepNet(DeepConfig(width=WIDTH, depth=DEPTH, norm=NORM, block=block))
    m = measure(model, x, y)
    history = train(model, x, y, config, seed=SEED, seconds=None, clip_norm=config.clip_norm)
    curves[block] = history.train_loss
    print(f"{block:>8}: gradient gain through the stack at init "
          f"{m['state_grad'][0] / m['state_grad'][-1]:.2g}, "
          f"training loss after {history.steps_done} steps {train_loss(model, x, y):.3f}")

fig, ax = plt.subplots()
for block, losses in curves.items():
    ax.plot(range(1, len(losses) + 1), losses, label=block)
ax.set_yscale("log")
ax.set_xlabel("SGD step")
ax.set_ylabel("minibatch loss (nats)")
ax.set_title(f"depth {DEPTH}, norm: {NORM}")
ax.legend()
plt.show()

# %% [markdown]
# ## Your turn
#
# Change the knobs in the second cell and run everything again. Some questions to ask:
#
# - **Depth.** Set `DEPTH = 5` and `DEPTH = 30`. At which depth does the sigmoid net's first
#   layer get less than a millionth of the last layer's gradient? Does the gap between plain
#   and residual grow with depth?
# - **The normalization.** Try `NORM = "none"` and `NORM = "layer"`. Without normalization,
#   what happens to the residual stack's gradient gain, and why (think of the variance of
#   $h + F(h)$)?
# - **The budget.** Multiply `STEPS` by five. Does the plain net catch up?
# - **The learning rate.** Which of the two nets tolerates `LR = 0.2`? Which needs `0.01`?
