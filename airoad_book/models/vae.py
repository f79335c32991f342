"""The variational autoencoder: a latent-variable model of digits trained by its ELBO.

Kingma & Welling (2013), "Auto-Encoding Variational Bayes", arXiv:1312.6114
(<https://arxiv.org/abs/1312.6114>).

Chapter 4's autoencoder learns codes, but nothing says where in the code space the
digits live, so a code drawn at random decodes into a smudge. Kingma & Welling turn the
autoencoder into a probabilistic model: a prior p(z) = N(0, I) over codes, a decoder
p(x | z) over images, and an encoder q(z | x) that guesses which codes explain an image.
Training maximises the evidence lower bound (ELBO)

    log p(x) >= E_q[log p(x | z)] - KL(q(z | x) || p(z)),

a reconstruction term and a Kullback-Leibler term that pulls every image's codes towards
the prior. Two tricks make it trainable by backpropagation: the KL between two Gaussians
is computed in closed form, and a code is sampled as z = mu + sigma * eps with eps drawn
outside the network (the *reparameterisation trick*), so gradients flow into mu and
sigma. This file holds the paper's MNIST model: a one-hidden-layer Gaussian encoder and a
Bernoulli decoder over binarised pixels, with the β knob of Higgins et al. (2017) that
weighs the KL term.

Images are (B, 784) or (B, 28, 28) values in {0, 1} (or [0, 1]); codes are (B, latent).
Every loss is in nats per image: summed over the 784 pixels, averaged over the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


# --8<-- [start:config]
@dataclass(frozen=True)
class VAEConfig:
    """A Gaussian encoder and a Bernoulli decoder, one hidden layer each."""

    pixels: int = 784  # inputs per image: 28 x 28
    hidden: int = 256  # units of the encoder's and the decoder's hidden layer
    latent: int = 2  # size of the code z
    beta: float = 1.0  # weight of the KL term: 1 is the ELBO, others a β-VAE

    def __post_init__(self) -> None:
        for name in ("pixels", "hidden", "latent"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        if not self.beta >= 0:
            raise ValueError(f"beta must be a number >= 0; got {self.beta!r}")

    # --8<-- [end:config]


# --8<-- [start:kl]
def gaussian_kl(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(log_var))) || N(0, I)) in nats, summed over the code: (B,).

    The closed form of the paper's appendix B: -1/2 sum(1 + log s^2 - mu^2 - s^2).
    """
    return 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var).sum(-1)  # (B,)
    # --8<-- [end:kl]


# --8<-- [start:reparameterize]
def reparameterize(
    mu: torch.Tensor, log_var: torch.Tensor, eps: torch.Tensor
) -> torch.Tensor:
    """A code z = mu + sigma * eps (B, latent): the noise eps ~ N(0, I) comes from
    outside, so z is a differentiable function of mu and log_var."""
    return mu + (0.5 * log_var).exp() * eps  # (B, latent)
    # --8<-- [end:reparameterize]


# --8<-- [start:recon]
def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x | z) of pixels x (B, D) under Bernoulli(sigmoid(logits)), nats: (B,)."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
    # --8<-- [end:recon]


def _as_rows(x: torch.Tensor, pixels: int) -> torch.Tensor:
    """(B, H, W) or (B, D) -> (B, D); anything else is a ValueError."""
    rows = x.reshape(len(x), -1) if x.dim() == 3 else x  # (B, D)
    if rows.dim() != 2 or rows.shape[1] != pixels:
        raise ValueError(
            f"expected images (B, {pixels}) or (B, H, W) with H * W = {pixels}; "
            f"got shape {tuple(x.shape)}"
        )
    return rows


# --8<-- [start:model]
class VAE(nn.Module):
    """Images (B, 784) -> q(z | x) = N(mu, diag(sigma^2)) -> Bernoulli p(x | z)."""

    def __init__(self, config: VAEConfig = VAEConfig()) -> None:
        super().__init__()
        self.config = config
        d, h, k = config.pixels, config.hidden, config.latent
        self.encoder = nn.Sequential(nn.Linear(d, h), nn.ReLU())
        self.mu = nn.Linear(h, k)  # the mean of q(z | x)
        self.log_var = nn.Linear(h, k)  # log sigma^2: any real number is valid
        self.decoder = nn.Sequential(nn.Linear(k, h), nn.ReLU(), nn.Linear(h, d))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (B, 784) or (B, 28, 28) -> mu, log_var, each (B, latent)."""
        hidden = self.encoder(_as_rows(x, self.config.pixels))  # (B, hidden)
        return self.mu(hidden), self.log_var(hidden)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Codes (B, latent) -> pixel logits (B, 784)."""
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes (B, latent) -> pixel probabilities (B, 784) in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The ELBO's two terms for each image, in nats: recon (B,) and KL (B,), from
        one code sampled per image."""
        x = _as_rows(x, self.config.pixels)  # (B, 784)
        mu, log_var = self.encode(x)  # (B, latent) each
        eps = torch.randn(
            mu.shape, generator=generator, device=mu.device, dtype=mu.dtype
        )
        z = reparameterize(mu, log_var, eps)  # (B, latent)
        recon = bernoulli_nll(self.decode_logits(z), x)  # (B,)
        return recon, gaussian_kl(mu, log_var)

    # --8<-- [end:model]


# --8<-- [start:loss]
def vae_loss(model: VAE, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The negative ELBO with the KL weighted by beta, nats per image (a scalar)."""
    recon, kl = model(batch[0])  # (B,), (B,)
    return (recon + model.config.beta * kl).mean()
    # --8<-- [end:loss]


def autoencoder_loss(model: VAE, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The same network trained as a plain autoencoder: the mean is the code, with no
    noise and no KL term; reconstruction nats per image (a scalar)."""
    x = _as_rows(batch[0], model.config.pixels)  # (B, 784)
    mu, _ = model.encode(x)  # (B, latent): the code
    return bernoulli_nll(model.decode_logits(mu), x).mean()


@torch.no_grad()
def elbo_terms(
    model: VAE,
    x: torch.Tensor,
    samples: int = 1,
    generator: torch.Generator | None = None,
) -> tuple[float, float]:
    """Mean reconstruction and KL nats per image over x (B, 784), averaging the
    reconstruction over `samples` codes per image. The ELBO is -(recon + KL)."""
    if samples < 1:
        raise ValueError(f"samples must be >= 1; got {samples}")
    recon = torch.stack([model(x, generator)[0] for _ in range(samples)]).mean(0)
    mu, log_var = model.encode(x)  # (B, latent) each
    return float(recon.mean()), float(gaussian_kl(mu, log_var).mean())


def num_parameters(model: nn.Module) -> int:
    """Trainable parameters of a model (weights and biases)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = [
    "VAE",
    "VAEConfig",
    "autoencoder_loss",
    "bernoulli_nll",
    "elbo_terms",
    "gaussian_kl",
    "num_parameters",
    "reparameterize",
    "vae_loss",
]
