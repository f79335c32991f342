"""Denoising diffusion probabilistic models: learn to undo a slow drift into noise.

Ho, Jain & Abbeel (2020), "Denoising Diffusion Probabilistic Models", NeurIPS 2020,
arXiv:2006.11239 (<https://arxiv.org/abs/2006.11239>).

A *forward process* destroys data in T small steps, each adding a little Gaussian noise:
q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I), with beta_t rising linearly
from 1e-4 to 0.02 over T = 1000 steps, until x_T is indistinguishable from N(0, I).
Composing the steps gives any x_t from x_0 in one draw,

    x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps,    abar_t = prod_{s<=t} (1 - beta_s),

so training needs no chain: pick t at random, noise x_0 to x_t, and ask a network
eps_theta(x_t, t) to name the noise that was added (the paper's simplified loss
||eps - eps_theta||^2). Sampling runs the learned reverse chain from pure noise,
removing a little predicted noise at each of the T steps and adding back a fresh
sigma_t z. The paper's network is a U-Net on 32 x 32 images; here it is a small MLP,
enough for points in the plane and 8 x 8 digits.

Data are (B, D) rows; steps t are integers 0..T-1 (the paper's t = 1..T, shifted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


# --8<-- [start:config]
@dataclass(frozen=True)
class DDPMConfig:
    """The noise schedule and the denoiser's size."""

    dim: int = 2  # numbers per data point (2 for the plane, 64 for 8 x 8 digits)
    steps: int = 1000  # T, the length of the chain
    beta_1: float = 1e-4  # variance of the first forward step
    beta_T: float = 0.02  # variance of the last forward step
    hidden: int = 128  # width of the denoiser MLP
    layers: int = 3  # hidden layers of the denoiser
    time_dim: int = 32  # size of the sinusoidal embedding of t

    def __post_init__(self) -> None:
        for name in ("dim", "steps", "hidden", "layers", "time_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        if self.time_dim % 2:
            raise ValueError(f"time_dim must be even; got {self.time_dim}")
        if not 0 < self.beta_1 <= self.beta_T < 1:
            raise ValueError(
                f"expected 0 < beta_1 <= beta_T < 1; got {self.beta_1}, {self.beta_T}"
            )

    # --8<-- [end:config]


# --8<-- [start:schedule]
def linear_schedule(
    steps: int, beta_1: float, beta_T: float
) -> dict[str, torch.Tensor]:
    """The paper's linear variance schedule and the quantities derived from it, each
    (T,) in float64 so that abar_t keeps its precision over a thousand products."""
    betas = torch.linspace(beta_1, beta_T, steps, dtype=torch.float64)  # (T,)
    alphas = 1.0 - betas  # (T,)
    alpha_bars = torch.cumprod(alphas, 0)  # (T,): abar_t = prod_{s<=t} alpha_s
    return {"betas": betas, "alphas": alphas, "alpha_bars": alpha_bars}
    # --8<-- [end:schedule]


# --8<-- [start:denoiser]
def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features of integer steps t (B,), as the Transformer's positions:
    (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device) / half)
    angles = t.float()[:, None] * freqs[None, :]  # (B, half)
    return torch.cat([angles.sin(), angles.cos()], -1)  # (B, dim)


class Denoiser(nn.Module):
    """eps_theta(x_t, t): noisy points (B, D) and steps (B,) -> predicted noise (B, D).

    The step's embedding is added to every hidden layer, so each layer knows how much
    noise it is looking at.
    """

    def __init__(self, config: DDPMConfig) -> None:
        super().__init__()
        self.time_dim = config.time_dim
        h = config.hidden
        self.inp = nn.Linear(config.dim, h)
        self.time = nn.ModuleList(
            nn.Linear(config.time_dim, h) for _ in range(config.layers)
        )
        self.hidden = nn.ModuleList(nn.Linear(h, h) for _ in range(config.layers - 1))
        self.out = nn.Linear(h, config.dim)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Noisy data (B, D) at steps t (B,) -> the noise (B, D) it predicts."""
        emb = time_embedding(t, self.time_dim)  # (B, time_dim)
        h = nn.functional.silu(self.inp(x) + self.time[0](emb))  # (B, H)
        for layer, time in zip(self.hidden, self.time[1:]):
            h = nn.functional.silu(layer(h) + time(emb))  # (B, H)
        return self.out(h)  # (B, D)

    # --8<-- [end:denoiser]


class DDPM(nn.Module):
    """The forward process in closed form, the eps-prediction loss and ancestral
    sampling, around a `Denoiser`."""

    def __init__(self, config: DDPMConfig = DDPMConfig()) -> None:
        super().__init__()
        self.config = config
        self.net = Denoiser(config)
        for name, values in linear_schedule(
            config.steps, config.beta_1, config.beta_T
        ).items():
            self.register_buffer(name, values.float(), persistent=False)

    def _rows(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.config.dim:
            raise ValueError(
                f"expected data (B, {self.config.dim}); got shape {tuple(x.shape)}"
            )
        return x

    # --8<-- [start:forward]
    def q_sample(
        self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor
    ) -> torch.Tensor:
        """x_t ~ q(x_t | x_0) in one draw: sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps,
        for data x0 (B, D), steps t (B,) and noise eps (B, D): (B, D)."""
        abar = self.alpha_bars[t][:, None]  # (B, 1)
        return abar.sqrt() * x0 + (1.0 - abar).sqrt() * eps  # (B, D)

    # --8<-- [end:forward]

    # --8<-- [start:loss]
    def loss(
        self, x0: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The paper's L_simple: a random step for each row of x0 (B, D), noise it, and
        the mean squared error of the predicted noise (a scalar)."""
        x0 = self._rows(x0)
        t = torch.randint(
            0, self.config.steps, (len(x0),), generator=generator, device=x0.device
        )  # (B,)
        eps = torch.randn(
            x0.shape, generator=generator, device=x0.device, dtype=x0.dtype
        )
        eps_hat = self.net(self.q_sample(x0, t, eps), t)  # (B, D)
        return (eps - eps_hat).pow(2).mean()

    # --8<-- [end:loss]

    # --8<-- [start:sample]
    @torch.no_grad()
    def sample(
        self, n: int, generator: torch.Generator | None = None, keep: int = 0
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Run the reverse chain from x_T ~ N(0, I) down to x_0 with sigma_t^2 = beta_t:
        n samples (n, D), and `keep` snapshots of the chain (each (n, D)), evenly
        spaced from the pure noise (first) to the samples (last)."""
        if n < 1:
            raise ValueError(f"n must be >= 1; got {n}")
        dev, T = self.betas.device, self.config.steps
        x = torch.randn(n, self.config.dim, generator=generator, device=dev)  # x_T
        # steps still to run when a snapshot is taken: T (pure noise) ... 0 (the end)
        snap_at = set(torch.linspace(T, 0, keep).round().long().tolist())
        frames = [x.clone()] if T in snap_at else []
        for t in range(T - 1, -1, -1):
            beta, alpha, abar = self.betas[t], self.alphas[t], self.alpha_bars[t]
            steps = torch.full((n,), t, device=dev, dtype=torch.long)  # (n,)
            eps_hat = self.net(x, steps)  # (n, D)
            mean = (x - beta / (1.0 - abar).sqrt() * eps_hat) / alpha.sqrt()  # (n, D)
            if t > 0:  # the last step returns the mean: no noise on x_0
                z = torch.randn(x.shape, generator=generator, device=dev)
                x = mean + beta.sqrt() * z
            else:
                x = mean
            if t in snap_at:
                frames.append(x.clone())
        return x, frames

    # --8<-- [end:sample]


def num_parameters(model: nn.Module) -> int:
    """Trainable parameters of a model (weights and biases)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = [
    "DDPM",
    "DDPMConfig",
    "Denoiser",
    "linear_schedule",
    "num_parameters",
    "time_embedding",
]
