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
# # Lab: the MLP in C++, hands on
#
# This notebook goes with [appendix F](../../appendix/f-eigen/). It compiles chapter 1's
# MLP in C++ with Eigen (`cpp/mlp_eigen.cpp`), runs it on the weights of a NumPy `MLP`,
# compares every gradient, and then times both at several batch sizes to see where each
# library wins.
#
# Download it with the buttons at the top of this page: as a Jupyter notebook (`.ipynb`),
# or as its [jupytext](https://jupytext.readthedocs.io) source (`.py`), which also runs as a
# plain script (`uv run python docs/labs/f-eigen-lab.py` from the book's folder). It needs
# the book's git checkout (the C++ source is not in the Python package), `g++` and the
# Eigen headers (Debian: `apt-get install g++ libeigen3-dev`).

# %% [markdown]
# ## The knobs

# %%
SIZES = (784, 128, 10)  # input pixels, hidden widths..., classes
BATCHES = (1, 8, 64, 256)  # batch sizes to time
REPEATS = 50  # forward+backward steps each timing averages
SEED = 0

# %% [markdown]
# ## Compile, then compare the gradients
#
# `build` compiles the source once per version of it (into `.cache/cpp/`); `eigen_step`
# writes the weights and a batch to a file, runs the program and reads its loss and
# gradients back.

# %%
import matplotlib.pyplot as plt

from airoad_book.eigen_mlp import build, eigen_step, max_rel_diff, numpy_seconds
from airoad_book.experiments.eigen_mlp import one_blas_thread
from airoad_book.experiments.mlp_numpy_mnist import flat_digits
from airoad_book.figures.palette import use_book_colors
from airoad_book.scratch.mlp import MLP

use_book_colors()  # the book's colour-blind-safe palette for the plots below

exe = build()
x, y, _, _ = flat_digits("mnist", max(BATCHES))  # (N, 784), (N,)
model = MLP(SIZES, activation="relu", init="he", seed=SEED)
loss = model.loss(x[:64], y[:64])
model.backward()
cpp = eigen_step(exe, model, x[:64], y[:64])
print(f"loss: NumPy {loss:.12f}, C++ {cpp.loss:.12f}")
worst = max_rel_diff(cpp.grads, model.grads())
print(f"largest gradient difference, relative: {worst:.1e}")

# %% [markdown]
# ## Which is faster, at which batch size?
#
# Both time one forward and backward pass inside their own process, NumPy's BLAS held to
# one thread. At a batch of one the fixed cost of each call weighs most: NumPy pays
# Python's overhead on every operation, the compiled program almost none. A large batch is
# all matrix products, where the kernels decide.

# %% alt="Log-log chart of milliseconds per forward and backward pass against batch size, for the C++ Eigen program (circles) and NumPy with one BLAS thread (squares)."
eigen_ms, numpy_ms = [], []
for b in BATCHES:
    eigen_ms.append(1e3 * eigen_step(exe, model, x[:b], y[:b], repeats=REPEATS).seconds)
    with one_blas_thread():
        numpy_ms.append(1e3 * numpy_seconds(model, x[:b], y[:b], REPEATS))
    print(f"batch {b:4d}: C++ {eigen_ms[-1]:7.3f} ms, NumPy {numpy_ms[-1]:7.3f} ms")

fig, ax = plt.subplots()
ax.plot(BATCHES, eigen_ms, marker="o", label="C++ with Eigen")
ax.plot(BATCHES, numpy_ms, marker="s", label="NumPy (one BLAS thread)")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("batch size")
ax.set_ylabel("ms per forward+backward")
ax.legend()
plt.show()

# %% [markdown]
# ## Your turn
#
# - **A deeper net.** `SIZES = (784, 256, 128, 64, 10)`: the C++ program reads the sizes
#   from the file, so nothing else changes. Do the gradients still agree?
# - **Without `-march=native`.** Edit `CXXFLAGS` in `airoad_book/eigen_mlp.py` (and
#   `cpp/Makefile`) to drop it, and time again. How much of Eigen's speed came from the
#   CPU's vector instructions?
# - **All the threads.** Time NumPy outside `one_blas_thread()`. How many cores does
#   OpenBLAS use here, and does it help at a batch of 8?
