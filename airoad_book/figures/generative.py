"""Part III's generative figures: the VAE's prior samples, codes, plane, interpolations
and β trade-off; the diffusion model's reverse chain on two moons and its digits
improving with training steps.

Every function draws from the `vae` or the `ddpm` experiment's `Result`; none trains.
Images are shown dark ink on a light ground (``gray_r``) in both themes, as chapter 4's.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from airoad_book.figures.registry import figure
from airoad_book.figures.style import CMAP, SEQUENCE
from airoad_book.results import Result

VAE_COLOR, AE_COLOR = SEQUENCE[0], SEQUENCE[1]


def tile(images, ncol: int, pad: int = 1) -> np.ndarray:
    """Images (N, H, W) in [0, 1] tiled ncol to a row with pad pixels between: (H', W');
    empty cells stay blank."""
    images = np.asarray(images, dtype=float)
    n, h, w = images.shape
    nrow = math.ceil(n / ncol)
    out = np.zeros((nrow * (h + pad) - pad, ncol * (w + pad) - pad))
    for i, image in enumerate(images):
        r, c = divmod(i, ncol)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = (
            image
        )
    return out


def _image_axis(ax, title: str | None = None) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title, fontsize=9)


def _show(ax, image) -> None:
    ax.imshow(image, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")


@figure(
    "vae-prior-samples",
    experiment="vae",
    caption="The same 32 codes drawn from the prior N(0, I), decoded by the VAE (left) "
    "and by the same network trained as a plain autoencoder (right). Each image shows "
    "the decoder's pixel probabilities.",
    alt="Two 4 by 8 grids of generated 28 by 28 digit images decoded from random "
    "codes: on the left by the VAE, on the right by the autoencoder.",
)
def vae_prior_samples(result: Result) -> Figure:
    """32 prior codes decoded by the VAE and by the autoencoder, side by side."""
    s = result.series["prior_samples"]
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 2.0))
    for ax, key, title in (
        (axes[0], "vae", "VAE"),
        (axes[1], "ae", "autoencoder (same network, no KL)"),
    ):
        _show(ax, tile(s[key], ncol=8))
        _image_axis(ax, title)
    return fig


@figure(
    "vae-codes",
    experiment="vae",
    caption="Where the 1,000 held-out digits land in the 2-D code space (the encoder's "
    "mean), coloured by class; the circle holds 99% of the prior's mass. Left: the VAE, "
    "whose KL term pulls the codes into the prior. Right: the autoencoder, whose codes "
    "go wherever reconstruction puts them.",
    alt="Two scatter plots of 2-D codes coloured by digit class with a dashed circle: "
    "the VAE's codes fill the circle, the autoencoder's spread beyond it.",
)
def vae_codes(result: Result) -> Figure:
    """The held-out digits' codes for the VAE and the autoencoder, with the prior's 99%
    circle."""
    c = result.series["codes"]
    labels = np.asarray(c["label"])
    cmap = plt.get_cmap(CMAP)
    radius = math.sqrt(-2 * math.log(0.01))  # chi-square with 2 degrees, 99%
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.3))
    for ax, key, title in ((axes[0], "vae", "VAE"), (axes[1], "ae", "autoencoder")):
        z = np.asarray(c[key])
        ax.scatter(z[:, 0], z[:, 1], c=labels / 9, cmap=cmap, s=4, vmin=0, vmax=1)
        for k in range(10):
            if (labels == k).any():
                mx, my = np.median(z[labels == k], 0)
                ax.text(mx, my, str(k), fontsize=11, weight="bold", ha="center")
        angle = np.linspace(0, 2 * np.pi, 200)
        ax.plot(radius * np.cos(angle), radius * np.sin(angle), "--", color="grey")
        ax.set_aspect("equal", "datalim")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("$z_1$")
    axes[0].set_ylabel("$z_2$")
    return fig


@figure(
    "vae-plane",
    experiment="vae",
    caption="The VAE's decoder over its whole code plane, as in Kingma & Welling's "
    "figure 4: codes at evenly spaced quantiles of N(0, 1) along each axis, each "
    "decoded into an image.",
    alt="A square grid of generated digit images that morph smoothly from one digit "
    "into another across the VAE's 2-D code plane.",
)
def vae_plane(result: Result) -> Figure:
    """A grid of prior quantiles decoded into images."""
    plane = np.asarray(result.series["plane"])  # (g, g, 28, 28)
    g = plane.shape[0]
    fig, ax = plt.subplots(figsize=(4.6, 4.6))
    _show(ax, tile(plane.reshape(g * g, 28, 28), ncol=g))
    _image_axis(ax)
    return fig


@figure(
    "vae-interpolations",
    experiment="vae",
    caption="Straight lines in code space between two held-out digits, decoded: by the "
    "VAE (top rows) and by the autoencoder (bottom rows).",
    alt="Six rows of nine digit images morphing from one digit into another, three "
    "rows for the VAE and three for the autoencoder.",
)
def vae_interpolations(result: Result) -> Figure:
    """Interpolations between held-out digit pairs for both models."""
    it = result.series["interpolations"]
    fig, axes = plt.subplots(2, 1, figsize=(5.0, 3.6))
    for ax, key, title in (
        (axes[0], "vae", "VAE"),
        (axes[1], "ae", "autoencoder"),
    ):
        rows = np.asarray(it[key])  # (pairs, steps, 28, 28)
        p, s = rows.shape[:2]
        _show(ax, tile(rows.reshape(p * s, 28, 28), ncol=s))
        _image_axis(ax, title)
    return fig


@figure(
    "vae-beta",
    experiment="vae",
    caption="The β trade-off on the held-out digits: each point is a VAE trained with "
    "that weight on the KL term. A larger β buys a smaller KL (codes closer to the "
    "prior); the vertical axis shows what it costs in held-out reconstruction.",
    alt="A curve of reconstruction nats against KL nats, one labelled point per β.",
)
def vae_beta(result: Result) -> Figure:
    """Reconstruction against KL, one point per β."""
    b = result.series["beta"]
    fig, ax = plt.subplots(figsize=(5.0, 3.2))
    ax.plot(b["kl"], b["recon"], marker="o", color=VAE_COLOR)
    for beta, kl, recon in zip(b["beta"], b["kl"], b["recon"]):
        ax.annotate(
            f"β = {beta:g}",
            (kl, recon),
            textcoords="offset points",
            xytext=(5, 5),
            fontsize=8,
        )
    ax.set_xlabel("KL(q(z|x) ‖ p(z)), nats per image")
    ax.set_ylabel("reconstruction, nats per image")
    return fig


@figure(
    "ddpm-moons-chain",
    experiment="ddpm",
    caption="The reverse chain on two moons: 800 points drawn from N(0, I) (left) "
    "walked through the 1,000 learned denoising steps; the last panel shows the "
    "samples over the held-out data (grey).",
    alt="Six scatter plots of 2-D points going from a round Gaussian cloud to two "
    "interleaved crescents, the last one over grey held-out data.",
)
def ddpm_moons_chain(result: Result) -> Figure:
    """Snapshots of the reverse chain, from noise to samples, on the moons."""
    toy = result.series["toy"]
    frames = [np.asarray(f) for f in toy["chain"]]
    data = np.asarray(toy["data"])
    steps = result.metrics["steps"]
    left = np.linspace(steps, 0, len(frames)).round().astype(int)
    fig, axes = plt.subplots(
        1, len(frames), figsize=(6.4, 1.6), sharex=True, sharey=True
    )
    for ax, frame, t in zip(axes, frames, left):
        if t == 0:
            ax.scatter(data[:, 0], data[:, 1], s=1, color="grey", alpha=0.4)
        ax.scatter(frame[:, 0], frame[:, 1], s=1, color=SEQUENCE[0])
        ax.set_title(f"t = {t}", fontsize=8)
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_aspect("equal")
    return fig


@figure(
    "ddpm-digits-steps",
    experiment="ddpm",
    caption="Samples of the diffusion model on 8×8 digits, from the same starting "
    "noise, after more and more training steps (left to right).",
    alt="Side-by-side grids of small generated 8 by 8 digit images, noisy blobs at the "
    "left turning into legible digits at the right.",
)
def ddpm_digits_steps(result: Result) -> Figure:
    """A 6 x 6 grid of samples for each training snapshot."""
    by_step = result.series["digits"]
    fig, axes = plt.subplots(1, len(by_step), figsize=(6.4, 2.4))
    axes = np.atleast_1d(axes)
    for ax, (step, images) in zip(axes, by_step.items()):
        _show(ax, tile(np.asarray(images)[:36], ncol=6))
        _image_axis(ax, f"{int(step):,} steps")
    return fig


@figure(
    "ddpm-digits-stat",
    experiment="ddpm",
    caption="Energy distance between the samples and the held-out digits after each "
    "number of training steps (lower is closer), with the noise the chain starts from "
    "and the training digits themselves for scale.",
    alt="A falling line of energy distance against training steps on a log axis, "
    "between a high dashed line for noise and a low dashed line for real digits.",
)
def ddpm_digits_stat(result: Result) -> Figure:
    """Energy distance to held-out digits against training steps."""
    s, m = result.series["digits_stat"], result.metrics
    fig, ax = plt.subplots(figsize=(5.0, 3.2))
    ax.plot(s["step"], s["stat"], marker="o", color=SEQUENCE[0], label="DDPM samples")
    for key, label, color in (
        ("digits_two_sample_stat_noise", "N(0, I) noise", SEQUENCE[1]),
        ("digits_two_sample_stat_train", "training digits", SEQUENCE[2]),
    ):
        ax.axhline(m[key], linestyle="--", color=color, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training steps")
    ax.set_ylabel("energy distance to held-out digits")
    ax.legend(fontsize=8)
    return fig
