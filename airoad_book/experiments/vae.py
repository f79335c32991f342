"""Part III's VAE experiment: the ELBO's two terms, the prior's samples, the β
trade-off.

Kingma & Welling (2013), "Auto-Encoding Variational Bayes"
(<https://arxiv.org/abs/1312.6114>), train a variational autoencoder on MNIST by its
evidence lower bound and draw digits by decoding codes sampled from the prior N(0, I).
This experiment tests that at toy scale on the book's 5,000 real MNIST digits,
binarised at 0.5 (so the Bernoulli decoder's nats are a true likelihood):

1. train the VAE (`airoad_book.models.vae`) and report its held-out ELBO in nats per
   image, split into the reconstruction term and the KL term;
2. train the *same network* as a plain autoencoder (the code is the encoder's mean, no
   noise, no KL: chapter 4's objective), then decode the same codes drawn from N(0, I)
   with both: how far is each decoded sample from the nearest real digit, and how far
   are the codes of real digits from where the prior puts its mass?
3. interpolate in code space between pairs of held-out digits;
4. retrain with several β (the KL weight of Higgins et al. 2017) and measure the
   trade-off between the two terms.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from scipy.stats import chi2

from airoad_book.data import digits, random_batches
from airoad_book.device import device, seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.models.vae import (
    VAE,
    VAEConfig,
    autoencoder_loss,
    elbo_terms,
    num_parameters,
    vae_loss,
)
from airoad_book.results import Result, Table
from airoad_book.train import TrainConfig, fit

NAME = "vae"
CHAPTER = 16
SUMMARY = "a VAE on binarised MNIST: ELBO terms, prior samples vs an autoencoder, β"


@dataclass(frozen=True)
class Config:
    """One budget's settings."""

    hidden: int = 128  # units of the encoder's and decoder's hidden layer
    latent: int = 2  # code size: 2, so the code space is a plane we can draw
    batch_size: int = 100  # images per step
    lr: float = 2e-3  # Adam's peak learning rate (cosine decay)
    max_steps: int = 300  # optimizer steps of each of the trainings
    max_seconds: float | None = None  # cap on each training's wall-clock (s)
    betas: tuple[float, ...] = (0.25, 1.0, 4.0)  # KL weights of the trade-off
    elbo_samples: int = 10  # codes per held-out image when estimating the ELBO
    prior_samples: int = 400  # codes drawn from N(0, I) and decoded by both models
    shown: int = 32  # of which the figure shows this many
    interpolation_steps: int = 9  # images along each interpolation
    grid: int = 15  # the decoded-plane figure: grid x grid codes


CONFIGS = {
    # what the book's build runs: a few seconds per training
    "quick": Config(),
    "full": Config(hidden=256, max_steps=5000, betas=(0.25, 0.5, 1.0, 2.0, 4.0)),
}

PAIRS = ((0, 1), (4, 9), (3, 8))  # interpolate between held-out digits of these classes


def binarised_digits() -> dict[str, torch.Tensor]:
    """The 5,000 MNIST digits as {0, 1} pixels (N, 784) at 0.5, and their labels."""
    d = digits("mnist")
    out = {}
    for split, x, y in (("train", d.x_train, d.y_train), ("test", d.x_test, d.y_test)):
        out[f"x_{split}"] = (torch.from_numpy(x).reshape(len(x), -1) > 0.5).float()
        out[f"y_{split}"] = torch.from_numpy(y)
    return out


def train(
    config: Config, x: torch.Tensor, beta: float, loss_fn, seed: int, desc: str, cap
) -> tuple[VAE, list[float]]:
    """One model trained on x (N, 784) with loss_fn; returns it and its loss curve."""
    gen = seed_everything(seed)
    model = VAE(VAEConfig(hidden=config.hidden, latent=config.latent, beta=beta))
    model = model.to(x.device)
    history = fit(
        model,
        random_batches(x, batch_size=config.batch_size, generator=gen),
        loss_fn,
        TrainConfig(
            max_steps=config.max_steps, max_seconds=cap, lr=config.lr, schedule="cosine"
        ),
        desc=desc,
    )
    model.eval()
    return model, history.train_loss[:: max(1, len(history.train_loss) // 200)]


@torch.no_grad()
def nearest_distance(images: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Root mean squared pixel distance from each image (M, D) to its nearest
    reference image (N, D): (M,)."""
    d = torch.cdist(images, reference)  # (M, N)
    return d.min(1).values / math.sqrt(images.shape[1])  # (M,)


@torch.no_grad()
def prior_check(model: VAE, z: torch.Tensor, data: dict) -> dict[str, float]:
    """Decode the prior codes z (M, k) and compare with real digits: the mean distance
    of a decoded sample to its nearest training digit, over the same for the model's
    reconstructions of held-out digits (1: as digit-like as a reconstruction); and the
    share of held-out codes inside the disk that holds 99% of the prior's mass."""
    samples = model.decode(z)  # (M, 784)
    mu, _ = model.encode(data["x_test"])  # (N_test, k)
    recon = model.decode(mu)  # (N_test, 784)
    ref = data["x_train"]
    ratio = nearest_distance(samples, ref).mean() / nearest_distance(recon, ref).mean()
    k = z.shape[1]
    radius = math.sqrt(chi2.ppf(0.99, k))  # |z| of N(0, I_k) is below this 99% of times
    inside = (mu.norm(dim=1) <= radius).float().mean()
    return {"nn_ratio": float(ratio), "codes_in_prior": float(inside)}


@torch.no_grad()
def interpolations(model: VAE, data: dict, steps: int) -> list[list]:
    """Decode straight lines between the codes (means) of held-out digit pairs: per
    pair, steps images (28 x 28 lists)."""
    x, y = data["x_test"], data["y_test"]
    rows = []
    for a, b in PAIRS:
        ia, ib = int((y == a).nonzero()[0]), int((y == b).nonzero()[0])
        mu, _ = model.encode(x[[ia, ib]])  # (2, k)
        w = torch.linspace(0, 1, steps, device=x.device)[:, None]  # (S, 1)
        z = (1 - w) * mu[0] + w * mu[1]  # (S, k)
        rows.append(model.decode(z).reshape(steps, 28, 28).tolist())
    return rows


@torch.no_grad()
def decoded_plane(model: VAE, grid: int) -> list:
    """The paper's figure 4: a grid of codes at evenly spaced quantiles of N(0, 1) in
    each direction, decoded: (g, g, 28, 28) nested lists (2-D codes only)."""
    u = torch.linspace(0.5 / grid, 1 - 0.5 / grid, grid)  # (g,) quantiles
    q = torch.distributions.Normal(0.0, 1.0).icdf(u)  # (g,)
    zy, zx = torch.meshgrid(q.flip(0), q, indexing="ij")  # rows top (high) to bottom
    z = torch.stack([zx.flatten(), zy.flatten()], 1)  # (g * g, 2)
    images = model.decode(z.to(next(model.parameters()).device))
    return images.reshape(grid, grid, 28, 28).tolist()


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train the VAE, the autoencoder and the β sweep; measure and collect them."""
    dev = device()
    data = {k: v.to(dev) for k, v in binarised_digits().items()}
    cap = min((s for s in (config.max_seconds, seconds) if s is not None), default=None)
    x = data["x_train"]

    models, curves = {}, {}
    for beta in sorted(set(config.betas) | {1.0}):
        models[beta], curves[f"beta={beta:g}"] = train(
            config, x, beta, vae_loss, seed, f"vae β={beta:g}", cap
        )
    ae, curves["autoencoder"] = train(
        config, x, 1.0, autoencoder_loss, seed, "autoencoder", cap
    )
    vae = models[1.0]

    gen = torch.Generator().manual_seed(seed)
    terms = {
        beta: elbo_terms(m, data["x_test"], config.elbo_samples, gen)
        for beta, m in models.items()
    }
    recon, kl = terms[1.0]
    with torch.no_grad():
        mu, _ = ae.encode(data["x_test"])
        ae_recon = float(
            torch.nn.functional.binary_cross_entropy(
                ae.decode(mu), data["x_test"], reduction="sum"
            )
            / len(mu)
        )
    z = torch.randn(config.prior_samples, config.latent, generator=gen).to(dev)
    vae_prior, ae_prior = prior_check(vae, z, data), prior_check(ae, z, data)

    metrics = {
        "test_elbo_nats": -(recon + kl),
        "recon_nats": recon,
        "kl_nats": kl,
        "ae_recon_nats": ae_recon,
        "vae_prior_nn_ratio": vae_prior["nn_ratio"],
        "ae_prior_nn_ratio": ae_prior["nn_ratio"],
        "vae_codes_in_prior": vae_prior["codes_in_prior"],
        "ae_codes_in_prior": ae_prior["codes_in_prior"],
        "latent": config.latent,
        "params": num_parameters(vae),
        "train_steps": config.max_steps,
        "trainings": len(models) + 1,
    }
    for beta, (r, k) in terms.items():
        metrics[f"beta_{beta:g}_recon_nats"] = r
        metrics[f"beta_{beta:g}_kl_nats"] = k
        metrics[f"beta_{beta:g}_elbo_nats"] = -(r + k)

    tables = {
        "elbo": Table(
            columns=["model", "reconstruction (nats)", "KL (nats)", "ELBO (nats)"],
            rows=[
                ["VAE, β = 1", recon, kl, -(recon + kl)],
                [
                    "same network as an autoencoder",
                    ae_recon,
                    float("nan"),
                    float("nan"),
                ],
            ],
            formats=["", ".1f", ".2f", ".1f"],
        ),
        "prior": Table(
            columns=[
                "model",
                "prior sample to nearest digit, ÷ reconstruction's",
                "held-out codes inside the prior's 99% disk",
            ],
            rows=[
                ["VAE", vae_prior["nn_ratio"], vae_prior["codes_in_prior"]],
                ["autoencoder", ae_prior["nn_ratio"], ae_prior["codes_in_prior"]],
            ],
            formats=["", ".2f", ".1%"],
        ),
        "beta": Table(
            columns=["β", "reconstruction (nats)", "KL (nats)", "ELBO at β = 1 (nats)"],
            rows=[[f"{b:g}", r, k, -(r + k)] for b, (r, k) in terms.items()],
            formats=["", ".1f", ".2f", ".1f"],
        ),
    }
    with torch.no_grad():
        shown = z[: config.shown]
        vae_mu, _ = vae.encode(data["x_test"])  # (N_test, 2)
        series = {
            "prior_samples": {
                "vae": vae.decode(shown).reshape(-1, 28, 28).tolist(),
                "ae": ae.decode(shown).reshape(-1, 28, 28).tolist(),
            },
            "interpolations": {
                "vae": interpolations(vae, data, config.interpolation_steps),
                "ae": interpolations(ae, data, config.interpolation_steps),
                "pairs": [list(p) for p in PAIRS],
            },
            "codes": {
                "vae": vae_mu.tolist(),
                "ae": mu.tolist(),
                "label": data["y_test"].tolist(),
            },
            "beta": {
                "beta": list(terms),
                "recon": [r for r, _ in terms.values()],
                "kl": [k for _, k in terms.values()],
            },
            "loss": curves,
            "config": asdict(config),
        }
        if config.latent == 2:
            series["plane"] = decoded_plane(vae, config.grid)
    return Result(
        metrics=metrics,
        tables=tables,
        series=series,
        text={"verdict": verdict(metrics), "recon": recon_sentence(metrics)},
    )


def recon_sentence(m: dict) -> str:
    """How the autoencoder's reconstruction compares with the VAE's, from the numbers."""
    ae, vae = m["ae_recon_nats"], m["recon_nats"]
    if ae < vae:
        return "The autoencoder, free of the KL, reconstructs a little better:"
    return (
        f"The autoencoder, free of the KL, should reconstruct better, but at this "
        f"budget it does not ({ae:.1f} nats against {vae:.1f}):"
    )


def verdict(m: dict) -> str:
    """Whether the prior's samples decode to digits for the VAE and not for the
    autoencoder, from the numbers."""
    v, a = m["vae_prior_nn_ratio"], m["ae_prior_nn_ratio"]
    vi, ai = m["vae_codes_in_prior"], m["ae_codes_in_prior"]
    head = (
        f"{vi:.0%} of the VAE's held-out codes fall inside the disk that holds 99% of "
        f"the prior's mass, against {ai:.0%} of the autoencoder's. "
        f"Decoded from the same prior codes, the VAE's samples lie {v:.2f} times as far "
        f"from their nearest training digit as its reconstructions do; the "
        f"autoencoder's lie {a:.2f} times as far"
    )
    if v < a:
        return head + ": the prior is a usable source of digits for the VAE only."
    return head + ": here the prior serves the autoencoder as well as the VAE."


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at a named budget ("quick" or "full")."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
