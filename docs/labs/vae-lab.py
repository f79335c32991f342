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
# # Lab: the VAE, hands on
#
# This notebook goes with the [VAE chapter](../../part3/vae/). In about ten seconds of
# CPU time it checks the reparameterisation trick against an exact gradient, trains a
# variational autoencoder and the same network as a plain autoencoder on real MNIST
# digits, and decodes codes drawn from the prior with both. Every knob is in one cell.
#
# Download it with the buttons at the top of this page, as a Jupyter notebook (`.ipynb`)
# or as its [jupytext](https://jupytext.readthedocs.io) source (`.py`), which also runs as
# a plain script (`uv run python docs/labs/vae-lab.py` from the book's folder). The digits
# ship inside a Python package, so it runs offline.

# %% [markdown]
# ## The knobs

# %%
LATENT = 2  # numbers per code
HIDDEN = 128  # units of the encoder's and the decoder's hidden layer
BETA = 1.0  # weight of the KL term: 1 is the ELBO
STEPS = 150  # optimizer steps for each model (sized to run in seconds)
BATCH = 100  # images per step
LR = 2e-3  # Adam's peak learning rate
SEED = 0

# %% [markdown]
# ## The reparameterisation trick, checked
#
# For $z = \mu + \sigma \varepsilon$, the expectation $\mathbb{E}[z^2] = \mu^2 + \sigma^2$
# has a formula, so its gradient does too: $2\mu$ with respect to $\mu$. The average
# gradient over sampled codes should agree.

# %%
import matplotlib.pyplot as plt
import torch

from airoad_book.data import random_batches
from airoad_book.experiments.vae import binarised_digits, prior_check
from airoad_book.figures.generative import tile
from airoad_book.figures.palette import use_book_colors
from airoad_book.models.vae import (
    VAE,
    VAEConfig,
    autoencoder_loss,
    elbo_terms,
    reparameterize,
    vae_loss,
)
from airoad_book.train import TrainConfig, fit

use_book_colors()  # the book's colour-blind-safe palette for the plots below

mu = torch.tensor([0.7, -0.3], requires_grad=True)
log_var = torch.tensor([-1.0, 0.5], requires_grad=True)
eps = torch.randn(200_000, 2, generator=torch.Generator().manual_seed(SEED))
(reparameterize(mu, log_var, eps) ** 2).mean(0).sum().backward()
print("sampled gradient:", mu.grad.numpy().round(3))
print("exact gradient:  ", (2 * mu.detach()).numpy().round(3))

# %% [markdown]
# ## Train the VAE and the autoencoder

# %%
data = binarised_digits()
x = data["x_train"]


def train(loss_fn, desc):
    torch.manual_seed(SEED)
    model = VAE(VAEConfig(hidden=HIDDEN, latent=LATENT, beta=BETA))
    gen = torch.Generator().manual_seed(SEED)
    history = fit(
        model,
        random_batches(x, batch_size=BATCH, generator=gen),
        loss_fn,
        TrainConfig(max_steps=STEPS, lr=LR, schedule="cosine"),
        desc=desc,
    )
    return model.eval(), history


vae, vae_history = train(vae_loss, "vae")
ae, ae_history = train(autoencoder_loss, "autoencoder")
recon, kl = elbo_terms(vae, data["x_test"], samples=5)
print(f"held-out ELBO {-(recon + kl):.1f} nats = -({recon:.1f} recon + {kl:.2f} KL)")

# %% alt="Two falling training curves, nats per image against step, for the VAE's negative ELBO and the autoencoder's reconstruction loss."
plt.plot(vae_history.train_loss, label="VAE: negative ELBO")
plt.plot(ae_history.train_loss, label="autoencoder: reconstruction")
plt.xlabel("step")
plt.ylabel("nats per image")
plt.legend()
plt.show()

# %% [markdown]
# ## Codes from the prior
#
# The same 32 codes from $\mathcal{N}(0, I)$, decoded by each model, and the two numbers
# of the chapter: how far the samples are from real digits (relative to each model's
# reconstructions) and how many held-out codes fall inside the prior's 99% region.

# %% alt="Two grids of 32 generated digit images each, decoded from the same random codes by the VAE on the left and by the autoencoder on the right."
z = torch.randn(32, LATENT, generator=torch.Generator().manual_seed(SEED))
fig, axes = plt.subplots(1, 2, figsize=(9, 2.6))
with torch.no_grad():
    for ax, model, name in ((axes[0], vae, "VAE"), (axes[1], ae, "autoencoder")):
        ax.imshow(tile(model.decode(z).reshape(-1, 28, 28), ncol=8), cmap="gray_r")
        ax.set_title(name)
        ax.axis("off")
plt.show()
z_many = torch.randn(400, LATENT, generator=torch.Generator().manual_seed(SEED + 1))
print("VAE:        ", prior_check(vae, z_many, data))
print("autoencoder:", prior_check(ae, z_many, data))

# %% [markdown]
# ## Your turn
#
# - The defaults are sized to run in seconds: raise `STEPS` to 1,000 or more and watch
#   the bound and the prior's samples improve.
# - Set `BETA = 4.0`, then `0.25`: how do the KL and the reconstruction move?
# - Set `LATENT = 16`. Does the bound improve? Do the prior's samples?
# - Replace `vae_loss` by a version that draws five codes per image and averages the
#   reconstruction: does training get steadier?
