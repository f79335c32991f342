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
# # Lab: the autograd bridge
#
# This notebook goes with [chapter 2](../../part1/02-autograd/). It builds the chapter 1
# MLP twice — by hand in NumPy and with `torch.nn` — from the same weights, compares their
# gradients and looks at the graph autograd records, then trains the two side by side on
# the same batches and compares their losses and their speed.
#
# Download it with the buttons at the top of this page: as a Jupyter notebook (`.ipynb`),
# or as its [jupytext](https://jupytext.readthedocs.io) source (`.py`), which also runs as a
# plain script (`uv run python docs/labs/02-autograd-lab.py` from the book's folder).

# %% [markdown]
# ## The knobs

# %%
SIZES = (784, 128, 10)  # input pixels, hidden widths..., classes
ACTIVATION = "relu"  # "relu" | "tanh" | "sigmoid"
DTYPE = "float64"  # "float64" | "float32": try both
LR = 0.05  # η of momentum SGD, both sides
MU = 0.9  # μ, both sides
BATCH = 64
EPOCHS = 1
SEED = 0

# %% [markdown]
# ## Same weights, same gradients

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from airoad_book.experiments.autograd_bridge import autograd_graph, numpy_epoch, torch_epoch
from airoad_book.experiments.mlp_numpy_mnist import flat_digits
from airoad_book.figures.palette import use_book_colors
from airoad_book.models.mlp import MLP, MLPConfig, load_numpy_params, numpy_grads
from airoad_book.scratch.gradcheck import relative_error
from airoad_book.scratch.mlp import MLP as NumpyMLP
from airoad_book.scratch.optim import Momentum

use_book_colors()  # the book's colour-blind-safe palette for the plots below

dtype = {"float64": (np.float64, torch.float64), "float32": (np.float32, torch.float32)}[DTYPE]
x_train, y_train, x_test, y_test = flat_digits("mnist")
x_train = x_train.astype(dtype[0])

by_hand = NumpyMLP(SIZES, activation=ACTIVATION, init="he", seed=SEED, dtype=dtype[0])
by_autograd = load_numpy_params(MLP(MLPConfig(SIZES, ACTIVATION)).to(dtype[1]), by_hand.params())

xb, yb = x_train[:BATCH], y_train[:BATCH]
by_hand.loss(xb, yb)
by_hand.backward()
loss = F.cross_entropy(by_autograd(torch.from_numpy(xb)), torch.from_numpy(yb))
loss.backward()
for i, (ours, theirs) in enumerate(zip(by_hand.grads(), numpy_grads(by_autograd))):
    print(f"parameter {i} {str(ours.shape):>11}: relative error {relative_error(ours, theirs):.1e}")

# %% [markdown]
# ## What autograd recorded

# %%
print(autograd_graph(loss))

# %% [markdown]
# ## Side by side: the same batches, the same steps

# %% alt="Line chart of the training loss per step for the NumPy MLP (thick line) and the torch MLP (dashed): the two curves lie on top of each other."
by_hand = NumpyMLP(SIZES, activation=ACTIVATION, init="he", seed=SEED, dtype=dtype[0])
by_autograd = load_numpy_params(MLP(MLPConfig(SIZES, ACTIVATION)).to(dtype[1]), by_hand.params())
np_opt = Momentum(LR, MU)
torch_opt = torch.optim.SGD(by_autograd.parameters(), lr=LR, momentum=MU)
dataset = TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train))
rng = np.random.default_rng(SEED)
np_losses, torch_losses, seconds = [], [], {"numpy": 0.0, "torch": 0.0}
for _ in range(EPOCHS):
    order = rng.permutation(len(x_train))
    start = time.perf_counter()
    np_losses += numpy_epoch(by_hand, x_train, y_train, order, BATCH, np_opt)
    seconds["numpy"] += time.perf_counter() - start
    start = time.perf_counter()
    loader = DataLoader(dataset, batch_size=BATCH, sampler=order.tolist())
    torch_losses += torch_epoch(by_autograd, loader, torch_opt)
    seconds["torch"] += time.perf_counter() - start
diff = np.abs(np.array(np_losses) - np.array(torch_losses))
print(f"largest loss difference over {len(diff)} steps: {diff.max():.1e}")
print(f"seconds per epoch: NumPy {seconds['numpy'] / EPOCHS:.2f}, torch {seconds['torch'] / EPOCHS:.2f}")

fig, ax = plt.subplots()
ax.plot(np_losses, linewidth=3, label="NumPy, by hand")
ax.plot(torch_losses, linestyle="--", label="torch, autograd")
ax.set_xlabel("step")
ax.set_ylabel("loss (nats)")
ax.legend()
plt.show()

# %% [markdown]
# ## Your turn
#
# - **float32.** Set `DTYPE = "float32"` and run again. How large are the gradient errors
#   and the loss differences now, and do the differences grow over the epoch?
# - **A deeper net.** `SIZES = (784, 256, 128, 64, 10)`: nothing else changes on either side.
#   Which of the two implementations needed no new code at all?
# - **Another activation.** `ACTIVATION = "tanh"`: which node of the graph changes?
# - **Speed.** `SIZES = (784, 1024, 10)` and `(784, 32, 10)`: which implementation is faster
#   at each size, and why?
