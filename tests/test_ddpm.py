"""Ho et al. (2020)'s DDPM: the schedule, the closed-form forward process, the sampler."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from airoad_book.models.ddpm import (
    DDPM,
    DDPMConfig,
    Denoiser,
    linear_schedule,
    time_embedding,
)


def test_alpha_bar_has_its_known_values():
    s = linear_schedule(1000, 1e-4, 0.02)
    betas = [1e-4 + (0.02 - 1e-4) * i / 999 for i in range(1000)]
    assert float(s["betas"][0]) == pytest.approx(1e-4)
    assert float(s["betas"][-1]) == pytest.approx(0.02)
    assert float(s["alpha_bars"][0]) == pytest.approx(1 - 1e-4)
    assert float(s["alpha_bars"][-1]) == pytest.approx(math.prod(1 - b for b in betas))
    assert float(s["alpha_bars"][-1]) == pytest.approx(4.04e-5, rel=0.01)
    assert (s["alpha_bars"].diff() < 0).all()


def test_the_last_step_is_almost_pure_noise():
    # the paper: L_T = KL(q(x_T | x_0) || N(0, I)) is about 1e-5 bits per dimension
    abar = float(linear_schedule(1000, 1e-4, 0.02)["alpha_bars"][-1])
    x0 = torch.linspace(-1, 1, 10_001, dtype=torch.float64)  # data scaled to [-1, 1]
    var = 1 - abar
    kl = 0.5 * (abar * x0**2 + var - 1 - math.log(var))  # nats per dimension
    bits = float(kl.mean()) / math.log(2)
    assert 0.5e-5 < bits < 2e-5


@pytest.mark.parametrize("t", [0, 9, 99, 499, 999])
def test_closed_form_matches_iterating_the_forward_chain(t):
    model = DDPM(DDPMConfig(dim=2))
    g = torch.Generator().manual_seed(t)
    n = 40_000
    x0 = torch.tensor([[1.0, -0.5]]).expand(n, 2)
    x = x0.clone()
    for s in range(t + 1):  # x_{s} = sqrt(1 - beta_s) x_{s-1} + sqrt(beta_s) noise
        beta = model.betas[s]
        x = (1 - beta).sqrt() * x + beta.sqrt() * torch.randn(n, 2, generator=g)
    steps = torch.full((n,), t)
    closed = model.q_sample(x0, steps, torch.randn(n, 2, generator=g))
    abar = model.alpha_bars[t]
    mean, std = abar.sqrt() * x0[0], (1 - abar).sqrt()
    se = std / math.sqrt(n)
    for sample in (x, closed):
        assert ((sample.mean(0) - mean).abs() < 5 * se).all()
        assert ((sample.std(0) - std).abs() < 5 * std / math.sqrt(2 * n)).all()


class _Oracle(nn.Module):
    """The exact eps-predictor for data ~ N(0, s^2 I): E[eps | x_t]."""

    def __init__(self, alpha_bars: torch.Tensor, s: float) -> None:
        super().__init__()
        self.alpha_bars, self.s2 = alpha_bars, s * s

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        abar = self.alpha_bars[t][:, None]
        return (1 - abar).sqrt() * x / (abar * self.s2 + 1 - abar)


def test_ancestral_sampling_with_the_exact_denoiser_recovers_the_data():
    model = DDPM(DDPMConfig(dim=2))
    model.net = _Oracle(model.alpha_bars, s=0.5)
    x, frames = model.sample(20_000, torch.Generator().manual_seed(0), keep=3)
    torch.testing.assert_close(x.std(0), torch.tensor([0.5, 0.5]), rtol=0.03, atol=0)
    assert x.mean(0).abs().max() < 0.02
    assert len(frames) == 3
    torch.testing.assert_close(frames[-1], x)
    assert frames[0].std() == pytest.approx(1.0, rel=0.03)  # x_T: pure noise


def test_shapes():
    config = DDPMConfig(dim=64, hidden=32, layers=2, steps=50)
    model = DDPM(config)
    x0 = torch.randn(7, 64)
    t = torch.randint(0, 50, (7,))
    assert model.q_sample(x0, t, torch.randn(7, 64)).shape == (7, 64)
    assert Denoiser(config)(x0, t).shape == (7, 64)
    assert time_embedding(t, 32).shape == (7, 32)
    assert model.loss(x0).shape == ()
    x, frames = model.sample(5, keep=4)
    assert x.shape == (5, 64) and [f.shape for f in frames] == [(5, 64)] * 4


def test_same_generator_same_samples():
    torch.manual_seed(0)
    model = DDPM(DDPMConfig(steps=20, hidden=16))
    a, _ = model.sample(4, torch.Generator().manual_seed(1))
    b, _ = model.sample(4, torch.Generator().manual_seed(1))
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize(
    "kwargs",
    [{"steps": 0}, {"beta_1": 0.0}, {"beta_1": 0.1, "beta_T": 0.01}, {"time_dim": 7}],
)
def test_bad_configs_are_value_errors(kwargs):
    with pytest.raises(ValueError):
        DDPMConfig(**kwargs)


def test_wrong_data_shape_is_a_value_error():
    with pytest.raises(ValueError, match=r"\(B, 2\)"):
        DDPM().loss(torch.randn(4, 3))
    with pytest.raises(ValueError, match="n must be"):
        DDPM().sample(0)


def test_training_lowers_the_noise_prediction_loss():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    angle = 2 * math.pi * torch.rand(512, generator=g)
    ring = torch.stack([angle.cos(), angle.sin()], 1)  # (512, 2) on the unit circle
    model = DDPM(DDPMConfig(dim=2, hidden=64))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)

    def held_out_loss() -> float:
        with torch.no_grad():
            lg = torch.Generator().manual_seed(1)
            return sum(float(model.loss(ring, lg)) for _ in range(20)) / 20

    first = held_out_loss()
    for _ in range(300):
        opt.zero_grad()
        model.loss(ring).backward()
        opt.step()
    assert first > 0.9  # an untrained net predicts about nothing: loss near Var(eps)
    assert held_out_loss() < 0.8 * first
