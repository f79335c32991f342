"""The VAE of Kingma & Welling (2013): its KL, its reparameterised gradients, its bound."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from airoad_book.models.vae import (
    VAE,
    VAEConfig,
    autoencoder_loss,
    bernoulli_nll,
    elbo_terms,
    gaussian_kl,
    reparameterize,
    vae_loss,
)


def _mu_log_var(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(4, 3, generator=g), 0.5 * torch.randn(4, 3, generator=g)


def test_gaussian_kl_matches_torch_distributions():
    mu, log_var = _mu_log_var()
    q = Normal(mu, (0.5 * log_var).exp())
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = kl_divergence(q, p).sum(-1)  # (4,)
    torch.testing.assert_close(gaussian_kl(mu, log_var), expected)


def test_gaussian_kl_matches_a_monte_carlo_estimate():
    mu, log_var = _mu_log_var(1)
    q = Normal(mu, (0.5 * log_var).exp())
    z = q.sample((200_000,))  # (S, 4, 3)
    log_ratio = q.log_prob(z) - Normal(0.0, 1.0).log_prob(z)  # (S, 4, 3)
    mc = log_ratio.sum(-1).mean(0)  # (4,)
    torch.testing.assert_close(gaussian_kl(mu, log_var), mc, atol=0.03, rtol=0.02)


def test_gaussian_kl_is_zero_only_at_the_prior():
    zero = torch.zeros(2, 5)
    assert gaussian_kl(zero, zero).abs().max() < 1e-7
    assert (gaussian_kl(zero + 0.1, zero) > 0).all()


def test_bernoulli_nll_matches_torch_distributions():
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(3, 10, generator=g)
    x = (torch.rand(3, 10, generator=g) > 0.5).float()
    expected = -Bernoulli(logits=logits).log_prob(x).sum(-1)
    torch.testing.assert_close(bernoulli_nll(logits, x), expected)


def test_reparameterised_codes_have_the_encoders_mean_and_spread():
    mu, log_var = torch.tensor([[1.5, -2.0]]), torch.tensor([[0.0, math.log(0.25)]])
    eps = torch.randn(100_000, 2, generator=torch.Generator().manual_seed(3))
    z = reparameterize(mu, log_var, eps)  # (S, 2)
    torch.testing.assert_close(z.mean(0), mu[0], atol=0.02, rtol=0)
    torch.testing.assert_close(z.std(0), torch.tensor([1.0, 0.5]), atol=0.01, rtol=0)


@pytest.mark.parametrize(
    "f, expected",
    [
        # E[z^2] = mu^2 + s^2: d/dmu = 2 mu, d/dlog s^2 = s^2
        (lambda z: z**2, lambda m, s2: (2 * m, s2)),
        # E[exp z] = exp(mu + s^2 / 2): d/dmu = E, d/dlog s^2 = E s^2 / 2
        (
            torch.exp,
            lambda m, s2: (torch.exp(m + s2 / 2), torch.exp(m + s2 / 2) * s2 / 2),
        ),
    ],
    ids=["square", "exp"],
)
def test_reparameterised_gradient_matches_the_exact_gradient_of_the_expectation(
    f, expected
):
    mu = torch.tensor([0.7, -0.3, 0.0], requires_grad=True)
    log_var = torch.tensor([-1.0, 0.2, 0.5], requires_grad=True)
    eps = torch.randn(400_000, 3, generator=torch.Generator().manual_seed(4))
    f(reparameterize(mu, log_var, eps)).mean(0).sum().backward()
    g_mu, g_log_var = expected(mu.detach(), log_var.detach().exp())
    torch.testing.assert_close(mu.grad, g_mu, rtol=0.02, atol=0.01)
    torch.testing.assert_close(log_var.grad, g_log_var, rtol=0.03, atol=0.01)


def test_elbo_never_exceeds_the_exact_log_likelihood():
    # two pixels and a 1-D code: p(x) = integral of N(z) p(x | z) dz, on a fine grid
    torch.manual_seed(0)
    model = VAE(VAEConfig(pixels=2, hidden=8, latent=1))
    z = torch.linspace(-10, 10, 20_001)[:, None]  # (G, 1)
    log_prior = Normal(0.0, 1.0).log_prob(z[:, 0])  # (G,)
    for pixels in ([0.0, 1.0], [1.0, 1.0]):
        x = torch.tensor([pixels])  # (1, 2)
        with torch.no_grad():
            log_lik = -bernoulli_nll(model.decode_logits(z), x.expand(len(z), 2))
            log_px = torch.logsumexp(log_prior + log_lik, 0) + math.log(20 / 20_000)
            # 4,000 codes in 4 batches: 1,000 copies of the image, one code each
            recon, kl = elbo_terms(
                model,
                x.expand(1000, 2),
                samples=4,
                generator=torch.Generator().manual_seed(5),
            )
        assert -(recon + kl) <= float(log_px) + 1e-3


def test_shapes_and_both_image_layouts():
    model = VAE(VAEConfig(latent=4))
    x = torch.rand(5, 28, 28)
    mu, log_var = model.encode(x)
    assert mu.shape == log_var.shape == (5, 4)
    assert model.decode(mu).shape == (5, 784)
    recon, kl = model(x.reshape(5, 784))
    assert recon.shape == kl.shape == (5,)
    assert (recon > 0).all() and (kl >= 0).all()
    assert vae_loss(model, (x,)).shape == ()
    assert autoencoder_loss(model, (x,)).shape == ()


def test_same_generator_same_elbo():
    model, x = VAE(), torch.rand(3, 784)
    a = model(x, torch.Generator().manual_seed(7))
    b = model(x, torch.Generator().manual_seed(7))
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize(
    "kwargs", [{"latent": 0}, {"hidden": 2.5}, {"beta": -1.0}, {"pixels": True}]
)
def test_bad_configs_are_value_errors(kwargs):
    with pytest.raises(ValueError):
        VAEConfig(**kwargs)


def test_a_wrong_image_size_is_a_value_error():
    with pytest.raises(ValueError, match="784"):
        VAE().encode(torch.rand(2, 14, 14))
    with pytest.raises(ValueError, match="samples"):
        elbo_terms(VAE(), torch.rand(2, 784), samples=0)


def test_beta_weighs_the_kl_term():
    torch.manual_seed(0)
    x = (torch.rand(8, 784) > 0.5).float()
    a, b = VAE(VAEConfig(beta=1.0)), VAE(VAEConfig(beta=3.0))
    b.load_state_dict(a.state_dict())
    torch.manual_seed(1)
    recon, kl = a(x)
    torch.manual_seed(1)
    torch.testing.assert_close(vae_loss(b, (x,)), (recon + 3.0 * kl).mean())


def test_training_lowers_the_negative_elbo_on_digits():
    from airoad_book.data import digits

    x = torch.from_numpy(digits("mnist").x_train[:256]).reshape(256, 784)
    x = (x > 0.5).float()
    torch.manual_seed(0)
    model = VAE(VAEConfig(hidden=64, latent=2))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    with torch.no_grad():
        first = float(vae_loss(model, (x,)))
    for _ in range(150):
        opt.zero_grad()
        loss = vae_loss(model, (x,))
        loss.backward()
        opt.step()
    recon, kl = elbo_terms(model, x, samples=4)
    assert recon + kl < 0.5 * first, (first, recon, kl)
    assert kl > 0.5  # the codes carry information about the images
