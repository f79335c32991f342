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
# # Lab: an MLP by hand, in NumPy
#
# This notebook goes with [chapter 1](../../part1/01-mlp-numpy/). In about ten seconds of
# CPU time it checks a hand-written backward pass against central differences, trains the
# NumPy MLP on 4,000 real MNIST digits, shows which digits it confuses, and measures what
# the initialization does to a deep network. Then it is yours: every knob is in one cell,
# and the last cell suggests what to turn.
#
# Download it with the buttons at the top of this page: as a Jupyter notebook (`.ipynb`),
# or as its [jupytext](https://jupytext.readthedocs.io) source (`.py`), which also runs as a
# plain script (`uv run python docs/labs/01-mlp-numpy-lab.py` from the book's folder). It
# needs nothing but the `airoad_book` package and NumPy: the digits ship inside a Python
# package, so it runs offline.

# %% [markdown]
# ## The knobs

# %%
HIDDEN = (128,)  # widths of the hidden layers
ACTIVATION = "relu"  # "relu" | "tanh" | "sigmoid"
INIT = "he"  # "naive" | "xavier" | "he"
OPTIMIZER = "momentum"  # "sgd" | "momentum" | "adam"
LR = 0.05  # step size η (Adam likes 1e-3)
EPOCHS = 5  # passes over the 4,000 training images
BATCH = 64  # images per step
DROPOUT = 0.0  # probability of zeroing a hidden unit in training
L2 = 0.0  # λ of the L2 penalty
SEED = 0

# %% [markdown]
# ## A backward pass, checked
#
# A two-layer network in float64, and the gradient of its loss with respect to every
# parameter twice: once by the hand-written backward passes, once by central differences.

# %%
import matplotlib.pyplot as plt
import numpy as np

from airoad_book.experiments.init_stats import layer_stats
from airoad_book.experiments.mlp_numpy_mnist import confusion, flat_digits, make_optimizer
from airoad_book.figures.palette import use_book_colors
from airoad_book.scratch.gradcheck import numerical_gradient, relative_error
from airoad_book.scratch.mlp import MLP, evaluate, fit

use_book_colors()  # the book's colour-blind-safe palette for the plots below

rng = np.random.default_rng(SEED)
small = MLP((6, 5, 3), activation=ACTIVATION, init="xavier", seed=SEED)
xs, ys = rng.normal(size=(8, 6)), rng.integers(0, 3, size=8)
small.loss(xs, ys)
small.backward()
for name, p, g in zip(["W1", "b1", "W2", "b2"], small.params(), [g.copy() for g in small.grads()]):
    numeric = numerical_gradient(lambda: small.loss(xs, ys), p)
    print(f"{name} {str(p.shape):>7}: relative error {relative_error(g, numeric):.1e}")

# %% [markdown]
# ## Train on MNIST
#
# 4,000 training images, 1,000 held out (a fixed split), each a row of 784 pixels in [0, 1].

# %% alt="Line chart of cross-entropy against epoch for the NumPy MLP: the training loss and the held-out loss fall together, the training loss ending lower."
x_train, y_train, x_test, y_test = flat_digits("mnist")
model = MLP((784, *HIDDEN, 10), activation=ACTIVATION, init=INIT, dropout=DROPOUT, seed=SEED)
history = fit(model, make_optimizer(OPTIMIZER, LR), x_train, y_train, epochs=EPOCHS,
              batch_size=BATCH, seed=SEED, l2=L2, x_valid=x_test, y_valid=y_test)
test_loss, test_acc = evaluate(model, x_test, y_test)
print(f"{EPOCHS} epochs in {history.seconds:.1f} s: test loss {test_loss:.3f}, accuracy {test_acc:.1%}")

fig, ax = plt.subplots()
ax.plot(range(1, EPOCHS + 1), history.train_loss, marker="o", label="train")
ax.plot(range(1, EPOCHS + 1), history.valid_loss, marker="o", label="held-out")
ax.set_xlabel("epoch")
ax.set_ylabel("cross-entropy (nats)")
ax.legend()
plt.show()

# %% [markdown]
# ## What it gets wrong

# %% alt="A row of misclassified held-out digits, each titled with its true label, an arrow, and the network's guess."
pred = model.predict(x_test)
cm = confusion(y_test, pred)
print("rows: true digit, columns: predicted digit")
print(cm)
wrong = np.flatnonzero(pred != y_test)[:8]
fig, axes = plt.subplots(1, len(wrong), figsize=(len(wrong), 1.4))
for ax, i in zip(np.atleast_1d(axes), wrong):
    ax.imshow(x_test[i].reshape(28, 28), cmap="gray_r")
    ax.set_title(f"{y_test[i]}→{pred[i]}", fontsize=8)
    ax.axis("off")
plt.show()

# %% [markdown]
# ## What the start does to a deep net
#
# Ten hidden layers of 256 units, one batch, no training: the standard deviation of each
# layer's activations under each initialization.

# %% alt="Line chart of the standard deviation of the activations at each of ten hidden layers, one line per initialization scheme."
fig, ax = plt.subplots()
for init in ("naive", "xavier", "he"):
    deep = MLP((784, *([256] * 10), 10), activation=ACTIVATION, init=init, seed=SEED)
    stats = layer_stats(deep, x_train[:256], y_train[:256])
    ax.plot(range(1, 11), stats["act_std"], marker="o", label=init)
ax.set_yscale("log")
ax.set_xlabel("hidden layer")
ax.set_ylabel(f"{ACTIVATION} activation std")
ax.legend()
plt.show()

# %% [markdown]
# ## Your turn
#
# Change the knobs in the second cell and run everything again. Some questions to ask:
#
# - **A broken backward.** In the gradient-check cell, multiply one gradient by 1.01 before
#   comparing. How large is the relative error now, and how small a mistake would it still see?
# - **Activations.** Train with `ACTIVATION = "sigmoid"` and `"tanh"` (with `INIT = "xavier"`).
#   Which learns fastest in five epochs, and what does the last cell say about why?
# - **Optimizers.** `OPTIMIZER = "adam"` with `LR = 1e-3`; `"sgd"` with `LR = 0.05` and `0.5`.
#   Which step size is too large for SGD, and how does the loss curve show it?
# - **Width and depth.** `HIDDEN = (512,)`, then `(256, 128)`. Does the test accuracy move
#   more than the time per epoch?
# - **Regularization.** `DROPOUT = 0.5` or `L2 = 1e-3` with `EPOCHS = 20`. Watch the gap
#   between the two curves of the training plot.
