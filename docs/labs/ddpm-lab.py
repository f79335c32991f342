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
# # Lab: denoising diffusion, hands on
#
# This notebook goes with the [diffusion chapter](../../part3/ddpm/). In about ten seconds
# of CPU time (the defaults are sized for that; raise the step knobs for better samples) it
# noises a point cloud in closed form, trains a small denoiser on two moons with the
# paper's schedule (T = 1000, betas from 1e-4 to 0.02), runs the reverse chain, measures
# the samples with the energy distance, and then samples 8x8 digits.
#
# Download it with the buttons at the top of this page, as a Jupyter notebook (`.ipynb`)
# or as its [jupytext](https://jupytext.readthedocs.io) source (`.py`), which also runs as
# a plain script (`uv run python docs/labs/ddpm-lab.py` from the book's folder).

# %% [markdown]
# ## The knobs

# %%
T = 1000  # steps of the chain
BETA_1, BETA_T = 1e-4, 0.02  # the paper's linear schedule
HIDDEN = 128  # width of the denoiser
TOY_STEPS = 500  # training steps on the moons (sized to run in seconds)
DIGIT_STEPS = 500  # training steps on the digits
BATCH = 128  # points or images per step
LR = 2e-3  # Adam's peak learning rate
SEED = 0

# %% [markdown]
# ## The forward process in one draw
#
# $x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\, \varepsilon$: the moons at a
# few steps of the chain.

# %% alt="Five scatter plots of the two-moons points noised to steps 0, 50, 200, 500 and 999: the crescents blur into a round Gaussian cloud."
import matplotlib.pyplot as plt
import torch

from airoad_book.data import digits, random_batches
from airoad_book.experiments.ddpm import energy_distance, two_moons
from airoad_book.figures.generative import tile
from airoad_book.figures.palette import use_book_colors
from airoad_book.models.ddpm import DDPM, DDPMConfig
from airoad_book.train import TrainConfig, fit

use_book_colors()  # the book's colour-blind-safe palette for the plots below
torch.manual_seed(SEED)
data_gen = torch.Generator().manual_seed(SEED)
moons, held = two_moons(4000, data_gen), two_moons(800, data_gen)
model = DDPM(DDPMConfig(dim=2, steps=T, beta_1=BETA_1, beta_T=BETA_T, hidden=HIDDEN))
fig, axes = plt.subplots(1, 5, figsize=(10, 2.2), sharex=True, sharey=True)
for ax, t in zip(axes, (0, 50, 200, 500, 999)):
    xt = model.q_sample(held, torch.full((len(held),), t), torch.randn_like(held))
    ax.scatter(xt[:, 0], xt[:, 1], s=1)
    ax.set_title(f"t = {t}")
plt.show()

# %% [markdown]
# ## Train, then run the chain backwards


# %%
def train(model, x, steps, desc):
    gen = torch.Generator().manual_seed(SEED)
    return fit(
        model,
        random_batches(x, batch_size=BATCH, generator=gen),
        lambda m, batch: m.loss(batch[0]),
        TrainConfig(max_steps=steps, lr=LR, schedule="cosine"),
        desc=desc,
    )


train(model, moons, TOY_STEPS, "moons")
model.eval()
samples, frames = model.sample(len(held), torch.Generator().manual_seed(SEED), keep=5)
print(f"energy distance, noise vs data:   {energy_distance(frames[0], held):.4f}")
print(f"energy distance, samples vs data: {energy_distance(samples, held):.4f}")

# %% alt="Five scatter plots of the reverse chain: a Gaussian cloud at the left turning into two crescents at the right."
fig, axes = plt.subplots(1, 5, figsize=(10, 2.2), sharex=True, sharey=True)
for ax, frame, left in zip(axes, frames, torch.linspace(T, 0, 5).round().int()):
    ax.scatter(frame[:, 0], frame[:, 1], s=1)
    ax.set_title(f"{int(left)} steps left")
plt.show()

# %% [markdown]
# ## Small digits
#
# scikit-learn's 8x8 digits, scaled to [-1, 1], with a wider denoiser.

# %% alt="A 6 by 6 grid of generated 8 by 8 digit images."
d = digits("sklearn")
x = torch.from_numpy(d.x_train).reshape(-1, 64) * 2 - 1
torch.manual_seed(SEED)
net = DDPM(DDPMConfig(dim=64, steps=T, beta_1=BETA_1, beta_T=BETA_T, hidden=256))
train(net, x, DIGIT_STEPS, "digits")
net.eval()
images, _ = net.sample(36, torch.Generator().manual_seed(SEED))
plt.imshow(
    tile(((images.clamp(-1, 1) + 1) / 2).reshape(36, 8, 8), ncol=6), cmap="gray_r"
)
plt.axis("off")
plt.show()

# %% [markdown]
# ## Your turn
#
# - Train the moons for 200 steps, then 5,000: how does the energy distance move?
# - Set `T = 50` with `BETA_T = 0.3`: what do the samples look like?
# - Raise `DIGIT_STEPS` until the digits look like digits. How many steps did it take?
