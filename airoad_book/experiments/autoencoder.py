"""Chapter 4's third experiment: a convolutional autoencoder squeezes digits through 2
numbers.

Hinton & Salakhutdinov (2006), "Reducing the dimensionality of data with neural
networks", Science 313: 504-507, showed that a deep autoencoder — an encoder to a small
code and a decoder back — finds codes of MNIST digits that reconstruct them better than
principal component analysis with the same number of components, and that its 2-D codes
separate the classes far better than PCA's. This experiment tests both claims with a
small convolutional autoencoder (`airoad_book.models.cnn.Autoencoder`) trained without
labels:

1. train the autoencoder on the 4,000 training digits (pixel-wise cross-entropy);
2. fit PCA with two components on the same images: the best *linear* 2-D code;
3. on the 1,000 held-out digits, compare reconstruction error (mean squared error per
   pixel) and how well the classes separate in the plane (the accuracy of a 5-nearest-
   neighbour classifier that sees only the 2-D codes of the training digits);
4. keep the codes, a few reconstructions and a grid of decoded points for the figures.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from airoad_book.data import digits, random_batches
from airoad_book.device import device, seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.models.cnn import Autoencoder, AutoencoderConfig, num_parameters
from airoad_book.results import Result, Table
from airoad_book.train import TrainConfig, fit

NAME = "autoencoder"
CHAPTER = 4
SUMMARY = "a conv autoencoder with a 2-D code vs PCA on MNIST digits (Hinton & Salakhutdinov 2006)"


@dataclass(frozen=True)
class Config:
    """One budget's settings."""

    channels: tuple[int, int] = (
        8,
        16,
    )  # encoder conv filters (the decoder mirrors them)
    latent: int = 2  # code size: 2, so the codes can be drawn
    hidden: int = 128  # dense units either side of the code
    batch_size: int = 64  # images per step
    lr: float = 1e-2  # Adam's peak learning rate
    max_steps: int = 250  # optimizer steps
    max_seconds: float | None = None  # cap on training wall-clock (s)
    neighbours: int = 5  # k of the nearest-neighbour classifier on the codes
    train_images: int | None = None  # use only the first N training images; None: all
    # held-out digits whose reconstructions the figure shows (one per class first)
    shown: int = 10
    grid: int = 12  # the decoded-plane figure: grid x grid points


CONFIGS = {
    # what the book's build runs: a few seconds of training
    "quick": Config(),
    "full": Config(max_steps=4000),
}


# --8<-- [start:loss]
def reconstruction_loss(model: Autoencoder, batch: tuple[torch.Tensor]) -> torch.Tensor:
    """Binary cross-entropy between the image and its reconstruction, mean per pixel
    (nats).

    Pixels in [0, 1] read as probabilities of ink; no labels are used.
    """
    (x,) = batch  # (B, 28, 28)
    logits = model.decode_logits(model.encode(x))  # (B, 1, 28, 28)
    return F.binary_cross_entropy_with_logits(logits, x.unsqueeze(1))
    # --8<-- [end:loss]


# --8<-- [start:pca]
def pca(x: torch.Tensor, components: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean (D,) and the top principal directions (D, k) of the rows of x (N, D)."""
    mean = x.mean(0)  # (D,)
    _, _, Vt = torch.linalg.svd(x - mean, full_matrices=False)  # Vt (D, D) for N >= D
    return mean, Vt[:components].T  # (D,), (D, k)
    # --8<-- [end:pca]


def knn_accuracy(
    train_codes: torch.Tensor,
    train_y: torch.Tensor,
    test_codes: torch.Tensor,
    test_y: torch.Tensor,
    k: int,
) -> float:
    """Accuracy of a k-nearest-neighbour vote (Euclidean) on codes (N, d), labels
    (N,)."""
    dist = torch.cdist(test_codes, train_codes)  # (M, N)
    nearest = dist.topk(k, largest=False).indices  # (M, k)
    votes = F.one_hot(train_y[nearest], 10).sum(1)  # (M, 10)
    return float((votes.argmax(1) == test_y).float().mean())


def one_per_class(y: torch.Tensor, count: int) -> list[int]:
    """Indices of the first image of each class 0..9 (in class order), then the next
    ones."""
    first = [int((y == c).nonzero()[0]) for c in range(10) if (y == c).any()]
    rest = [i for i in range(len(y)) if i not in first]
    return (first + rest)[:count]


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train the autoencoder, fit PCA, and compare the two 2-D codes on the held-out
    digits."""
    d = digits("mnist")
    dev = device()
    n = config.train_images
    x, y = (
        torch.from_numpy(d.x_train[:n]).to(dev),
        torch.from_numpy(d.y_train[:n]).to(dev),
    )
    xt, yt = torch.from_numpy(d.x_test).to(dev), torch.from_numpy(d.y_test).to(dev)

    gen = seed_everything(seed)
    model = Autoencoder(
        AutoencoderConfig(
            channels=config.channels, latent=config.latent, hidden=config.hidden
        )
    ).to(dev)
    cap = min((s for s in (config.max_seconds, seconds) if s is not None), default=None)
    history = fit(
        model,
        random_batches(x, batch_size=min(config.batch_size, len(x)), generator=gen),
        reconstruction_loss,
        TrainConfig(
            max_steps=config.max_steps, max_seconds=cap, lr=config.lr, schedule="cosine"
        ),
        desc="autoencoder",
    )
    model.eval()
    with torch.no_grad():
        codes = {"train": model.encode(x), "test": model.encode(xt)}  # (N, 2), (M, 2)
        ae_recon = model(xt)[:, 0]  # (M, 28, 28)
        mean, axes = pca(x.flatten(1), config.latent)  # (784,), (784, 2)
        pcodes = {
            "train": (x.flatten(1) - mean) @ axes,
            "test": (xt.flatten(1) - mean) @ axes,
        }
        pca_recon = (
            (pcodes["test"] @ axes.T + mean).clamp(0, 1).reshape(-1, 28, 28)
        )  # (M, 28, 28)
        plane = decoded_plane(model, codes["test"], config.grid)

    k = config.neighbours
    metrics = {
        "ae_test_mse": float(((ae_recon - xt) ** 2).mean()),
        "pca_test_mse": float(((pca_recon - xt) ** 2).mean()),
        "mean_image_mse": float(((x.mean(0) - xt) ** 2).mean()),
        "ae_knn_acc": knn_accuracy(codes["train"], y, codes["test"], yt, k),
        "pca_knn_acc": knn_accuracy(pcodes["train"], y, pcodes["test"], yt, k),
        "ae_params": num_parameters(model),
        "pca_params": 784 * (config.latent + 1),
        "latent": config.latent,
        "train_steps": history.steps_done,
        "final_train_loss": history.train_loss[-1],
    }
    table = Table(
        columns=[
            "2-D code",
            "parameters",
            "reconstruction MSE (per pixel)",
            f"{k}-NN accuracy on the codes",
        ],
        rows=[
            [
                "none: the mean training image",
                784,
                metrics["mean_image_mse"],
                float("nan"),
            ],
            [
                "PCA, 2 components (linear)",
                metrics["pca_params"],
                metrics["pca_test_mse"],
                metrics["pca_knn_acc"],
            ],
            [
                "convolutional autoencoder",
                metrics["ae_params"],
                metrics["ae_test_mse"],
                metrics["ae_knn_acc"],
            ],
        ],
        formats=["", ",d", ".4f", ".1%"],
    )
    shown = one_per_class(yt, config.shown)
    series = {
        "latent": {
            "x": codes["test"][:, 0].tolist(),
            "y": codes["test"][:, 1].tolist(),
            "label": yt.tolist(),
        },
        "pca_latent": {
            "x": pcodes["test"][:, 0].tolist(),
            "y": pcodes["test"][:, 1].tolist(),
        },
        "reconstructions": {
            "original": xt[shown].tolist(),
            "ae": ae_recon[shown].tolist(),
            "pca": pca_recon[shown].tolist(),
            "label": yt[shown].tolist(),
        },
        "plane": plane,
        "loss": history.train_loss[:: max(1, len(history.train_loss) // 200)],
        "config": asdict(config),
        "timing": {"train_seconds": history.seconds},
    }
    return Result(
        metrics=metrics,
        tables={"codes": table},
        series=series,
        text={"verdict": verdict(metrics)},
    )


@torch.no_grad()
def decoded_plane(model: Autoencoder, codes: torch.Tensor, grid: int) -> dict:
    """Decode a grid x grid lattice spanning the middle 98% of the codes: images (g, g,
    28, 28)."""
    lo, hi = codes.quantile(0.01, dim=0), codes.quantile(0.99, dim=0)  # (2,), (2,)
    u = torch.linspace(0, 1, grid, device=codes.device)  # (g,)
    xs, ys = lo[0] + u * (hi[0] - lo[0]), lo[1] + u * (hi[1] - lo[1])  # (g,), (g,)
    zy, zx = torch.meshgrid(
        ys.flip(0), xs, indexing="ij"
    )  # rows from top (high y) to bottom
    z = torch.stack([zx.flatten(), zy.flatten()], 1)  # (g*g, 2)
    images = model.decode(z)[:, 0].reshape(grid, grid, 28, 28)  # (g, g, 28, 28)
    return {"images": images.tolist(), "x": xs.tolist(), "y": ys.tolist()}


def verdict(m: dict) -> str:
    """Whether the two claims of Hinton & Salakhutdinov held here, from the numbers."""
    ae, p = m["ae_test_mse"], m["pca_test_mse"]
    first = (
        f"Through two numbers, the autoencoder reconstructs the held-out digits with a "
        f"mean squared "
        f"error of {ae:.4f} per pixel against PCA's {p:.4f}"
        + (
            f", {100 * (p - ae) / p:.0f}% lower: the first claim held."
            if ae < p
            else ": no better than PCA, so the first claim did not hold in this run."
        )
    )
    ka, kp = m["ae_knn_acc"], m["pca_knn_acc"]
    gap = 100 * (ka - kp)
    second = (
        f"A nearest-neighbour vote on the 2-D codes names {ka:.1%} of the digits from "
        f"the autoencoder's "
        f"codes and {kp:.1%} from PCA's"
    )
    if gap >= 5:
        second += f": its plane keeps the classes apart better by {gap:.1f} points, the second claim held too."
    elif gap > 0:
        second += (
            f", only {gap:.1f} points better: the second claim held weakly here, far "
            f"from the clean "
            "separation the paper shows."
        )
    else:
        second += ": the second claim did not hold here."
    return f"{first} {second}"


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at a named budget ("quick" or "full")."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
