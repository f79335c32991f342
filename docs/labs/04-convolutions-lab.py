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
# # Lab: convolutions, hands on
#
# This notebook goes with [chapter 4](../../part1/04-convolutions/). In about ten seconds
# of CPU time it checks a hand-written convolution against PyTorch, trains LeNet-5 and an MLP
# of the same size on real MNIST digits, looks at what the first layer learned, and tests
# the two networks on shifted digits. Then it is yours: every knob is in one cell, and the
# last cell suggests what to turn.
#
# Download it with the buttons at the top of this page: as a Jupyter notebook (`.ipynb`),
# or as its [jupytext](https://jupytext.readthedocs.io) source (`.py`), which also runs as a
# plain script (`uv run python docs/labs/04-convolutions-lab.py` from the book's folder). It
# needs nothing but the `airoad_book` package: the digits ship inside a Python package, so
# it runs offline.

# %% [markdown]
# ## The knobs

# %%
CHANNELS = (6, 16)  # LeNet-5's filters in its two conv layers
HIDDEN = (120, 84)  # LeNet-5's dense layers
MLP_HIDDEN = None  # the MLP's width; None: matched to LeNet's parameter count
AUGMENT = True  # a small random rotation and shift per batch (torchvision v2)
BATCH = 64  # images per step
LR = 3e-3  # Adam's peak learning rate
STEPS = 150  # optimizer steps per model (150 x 64 = 2.4 passes); sized to run in seconds
SHIFT = 3  # pixels to shift the held-out digits by in the last test
SEED = 0

# %% [markdown]
# ## A convolution by hand
#
# The NumPy convolution of the chapter, against `torch.nn.functional.conv2d`, with a stride
# and a padding.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from airoad_book.figures.palette import use_book_colors
from airoad_book.scratch.conv import conv2d_forward

use_book_colors()  # the book's colour-blind-safe palette for the plots below

rng = np.random.default_rng(SEED)
x = rng.normal(size=(2, 3, 11, 9))
w = rng.normal(size=(5, 3, 3, 3))
b = rng.normal(size=5)
ours = conv2d_forward(x, w, b, stride=2, padding=1)
theirs = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=2, padding=1)
print("output shape", ours.shape, "largest difference from torch", np.abs(ours - theirs.numpy()).max())

# %% [markdown]
# ## Two networks, one budget
#
# The chapter's experiment, `cnn_digits`, brings the pieces: the data split, the matched
# MLP width, the augmentation and a training function that runs the book's one loop and
# scores the 1,000 held-out digits along the way (for the curve only: nothing is chosen by
# them).

# %%
from dataclasses import replace

from airoad_book.experiments import cnn_digits
from airoad_book.models.cnn import LeNet, LeNetConfig, num_parameters
from airoad_book.models.mlp import MLP, MLPConfig

config = replace(cnn_digits.CONFIGS["quick"], channels=CHANNELS, hidden=HIDDEN, mlp_hidden=MLP_HIDDEN,
                 augment=AUGMENT, batch_size=BATCH, lr=LR, max_steps=STEPS, eval_every=max(1, STEPS // 5))
data = cnn_digits.load(config)  # train images (4000, 28, 28), labels, held-out images, labels
x_test, y_test = data[2], data[3]

torch.manual_seed(SEED)
cnn = LeNet(LeNetConfig(channels=CHANNELS, hidden=HIDDEN))
width = MLP_HIDDEN or cnn_digits.matched_hidden(num_parameters(cnn))
torch.manual_seed(SEED)
mlp = MLP(MLPConfig(sizes=(784, width, 10)))

histories = {}
for model, name in ((cnn, "LeNet"), (mlp, f"MLP 784-{width}-10")):
    histories[name] = cnn_digits.train_classifier(model, data, config, SEED, None, name)
    print(f"{name:>14}: {num_parameters(model):,} parameters, "
          f"{cnn_digits.accuracy(model, x_test, y_test):.1%} of the held-out digits right, "
          f"{histories[name].seconds:.1f} s of training")

# %% alt="Line chart of held-out accuracy against training step for LeNet and for the MLP of about the same number of parameters."
for name, history in histories.items():
    plt.plot(history.eval_step, [1 - e for e in history.eval_loss], marker="o", label=name)
plt.xlabel("step")
plt.ylabel("held-out accuracy")
plt.legend()
plt.show()

# %% [markdown]
# ## What the first layer learned
#
# Each filter is 5×5; orange is positive, purple negative. Below each, the map it makes of
# one held-out digit.

# %% alt="Two rows of small images: the first convolution layer's learned filters on top, in a purple-orange diverging colour map, and under each the feature map it produces for one digit."
features = cnn_digits.feature_series(cnn, x_test[0], int(y_test[0]))
filters, maps = np.array(features["filters"]), np.array(features["conv1"])
fig, axes = plt.subplots(2, len(filters), figsize=(1.3 * len(filters), 2.8))
bound = np.abs(filters).max()
for i in range(len(filters)):
    axes[0, i].imshow(filters[i], cmap="PuOr", vmin=-bound, vmax=bound)
    axes[1, i].imshow(maps[i], cmap="viridis")
    for ax in axes[:, i]:
        ax.set_xticks([])
        ax.set_yticks([])
plt.show()

# %% [markdown]
# ## Shifted digits
#
# A convolution is equivariant to shifts, and pooling adds some tolerance to them. Shift
# every held-out digit `SHIFT` pixels to the right and score both networks again.

# %%
shifted = torch.roll(x_test, SHIFT, dims=-1)  # (1000, 28, 28)
for model, name in zip((cnn, mlp), histories):
    print(f"{name:>14}: {cnn_digits.accuracy(model, x_test, y_test):.1%} as they are, "
          f"{cnn_digits.accuracy(model, shifted, y_test):.1%} shifted by {SHIFT} pixels")

# %% [markdown]
# ## Your turn
#
# Change the knobs in the second cell and run everything again. Some questions to ask:
#
# - **Augmentation.** Set `AUGMENT = False`. Which network loses more on the held-out
#   digits, and which loses more on the shifted ones?
# - **Size.** Set `MLP_HIDDEN` to four times the matched width. Does a bigger MLP catch up
#   with LeNet? What about on shifted digits?
# - **Filters.** Try `CHANNELS = (2, 4)` and `(16, 32)`. How do the parameter count and the
#   accuracy move? Most of LeNet's parameters are in its dense layers: which numbers in the
#   table tell you so?
# - **The shift.** Try `SHIFT = 1, 3, 6`. At what shift does LeNet start failing, and why
#   does pooling only buy tolerance to *small* shifts?
# - **Steps.** The defaults are sized to run in seconds: raise `STEPS` to 400, then 800
#   (the chapter's quick run takes 250). Which network gains more from the extra training?
