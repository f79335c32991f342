"""Chapter 4's figures: LeNet against the MLP, its filters and feature maps, the digit
reader, and the autoencoder's plane.

Every function draws from an experiment's `Result`; none trains. Image grids are
assembled by `torchvision.utils.make_grid`; colours come from `COLORS`, `SEQUENCE` and
the book's colour maps, so each figure works in the light and the dark variant.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from airoad_book.figures.registry import figure
from airoad_book.figures.style import CMAP, CMAP_DIVERGING, COLORS, SEQUENCE
from airoad_book.results import Result


def grid_image(images, nrow: int, pad: int = 2) -> np.ndarray:
    """Images (N, H, W) in [0, 1] tiled ``nrow`` to a row by
    `torchvision.utils.make_grid`: (H', W')."""
    from torchvision.utils import (
        make_grid,
    )  # imported here: only drawing needs torchvision

    t = torch.as_tensor(np.asarray(images, dtype=np.float32)).unsqueeze(
        1
    )  # (N, 1, H, W)
    return make_grid(t, nrow=nrow, padding=pad, pad_value=0.0)[
        0
    ].numpy()  # (H', W'): one channel


def _image_axis(ax, title: str | None = None) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title, fontsize=9)


def _show(ax, image, cmap: str = "gray_r", **kwargs) -> None:
    ax.imshow(image, cmap=cmap, interpolation="nearest", **kwargs)


@figure(
    "cnn-vs-mlp-curves",
    experiment="cnn-digits",
    caption="Accuracy on the 1,000 held-out MNIST digits during training, LeNet-5 against chapter 1's "
    "MLP with the same number of parameters, both trained with the same batches, "
    "optimizer and "
    "augmentation. Nothing is chosen by these points: the final weights are the ones "
    "reported.",
    alt="Two rising curves of held-out accuracy against training step, one for LeNet-5 and one for "
    "the MLP of the same size.",
)
def cnn_vs_mlp_curves(result: Result) -> Figure:
    """Held-out accuracy against step for LeNet and the matched MLP."""
    c, m = result.series["curve"], result.metrics
    fig, ax = plt.subplots()
    for key, label in (
        ("cnn", f"LeNet-5, {int(m['cnn_params']):,} parameters"),
        (
            "mlp",
            f"MLP 784-{int(m['mlp_hidden'])}-10, {int(m['mlp_params']):,} parameters",
        ),
    ):
        ax.plot(
            c[key]["step"],
            [100 * a for a in c[key]["test_acc"]],
            color=COLORS[key],
            marker="o",
            markersize=4,
            label=label,
        )
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("held-out accuracy (%)")
    low = min(min(c[k]["test_acc"]) for k in ("cnn", "mlp"))
    ax.set_ylim(max(0.0, 100 * low - 2), 100)
    ax.legend(loc="lower right")
    return fig


@figure(
    "cnn-filters",
    experiment="cnn-digits",
    caption="Inside the trained LeNet. Top: one held-out digit and the six 5×5 filters of the first "
    "layer (orange positive, purple negative). Middle: the six feature maps the "
    "filters make of the "
    "digit (after the ReLU). Bottom: the sixteen 10×10 maps of the second layer, which "
    "sees the "
    "pooled first-layer maps.",
    alt="A digit, six small filter images in orange and purple, six 28 by 28 feature maps that "
    "highlight different strokes of the digit, and sixteen coarser second-layer maps.",
)
def cnn_filters(result: Result) -> Figure:
    """A digit, conv1's filters (c1, 5, 5), and its maps after conv1 (c1, 28, 28) and
    conv2 (c2, 10, 10)."""
    f = result.series["features"]
    filters, conv1, conv2 = (np.asarray(f[k]) for k in ("filters", "conv1", "conv2"))
    c1, c2 = len(filters), len(conv2)
    cols = max(c1 + 1, c2 // 2)
    fig = plt.figure(figsize=(6.4, 4.2))
    spec = fig.add_gridspec(4, cols, hspace=0.35, wspace=0.15)
    ax = fig.add_subplot(spec[0, 0])
    _show(ax, f["image"])
    _image_axis(ax, f"digit {f['label']}")
    bound = float(np.abs(filters).max())
    for i in range(c1):
        ax = fig.add_subplot(spec[0, i + 1])
        _show(ax, filters[i], cmap=CMAP_DIVERGING, vmin=-bound, vmax=bound)
        _image_axis(ax, f"filter {i + 1}")
        ax = fig.add_subplot(spec[1, i + 1])
        _show(ax, conv1[i], cmap=CMAP)
        _image_axis(ax)
    ax = fig.add_subplot(spec[1, 0])
    ax.text(
        0.5,
        0.5,
        "conv1\nmaps",
        ha="center",
        va="center",
        fontsize=9,
        transform=ax.transAxes,
    )
    _image_axis(ax)
    half = (c2 + 1) // 2
    for i in range(c2):
        ax = fig.add_subplot(spec[2 + i // half, i % half])
        _show(ax, conv2[i], cmap=CMAP)
        _image_axis(ax, "conv2 maps" if i == 0 else None)
    return fig


@figure(
    "cnn-mistakes",
    experiment="cnn-digits",
    caption="Held-out digits the trained LeNet gets wrong, each titled with its label and, after the "
    "arrow, the CNN's answer.",
    alt="A grid of misclassified handwritten digits, many of them badly written or ambiguous, each "
    "with its true label and the predicted one.",
)
def cnn_mistakes(result: Result) -> Figure:
    """The misclassified held-out digits (k, 28, 28), titled label → prediction."""
    mk = result.series["mistakes"]
    n = len(mk["label"])
    cols = 8
    rows = max(1, -(-n // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(6.4, 1.0 * rows + 0.2), squeeze=False)
    for i, ax in enumerate(axes.flat):
        _image_axis(ax)
        if i < n:
            _show(ax, mk["images"][i])
            ax.set_title(
                f"{mk['label'][i]} → {mk['pred'][i]}", fontsize=9, color=COLORS["cnn"]
            )
    return fig


@figure(
    "cnn-rnn-examples",
    experiment="cnn-rnn-sequence",
    caption="Rows of held-out digits as the CNN+GRU reader sees them. Each row is titled with the "
    "number it reads and the sum its GRU reports at the last step, against the truth.",
    alt="Rows of handwritten digits, each labelled with the number the model read and the "
    "sum it predicted, next to the true number and sum.",
)
def cnn_rnn_examples(result: Result) -> Figure:
    """A few test rows (T, 28, 28 each) with the number read and the sum reported."""
    ex = result.series["examples"]
    n = len(ex["digits"])
    fig, axes = plt.subplots(
        (n + 1) // 2, 2, figsize=(6.4, 0.95 * ((n + 1) // 2) + 0.3), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        _image_axis(ax)
        if i >= n:
            continue
        _show(ax, grid_image(ex["images"][i], nrow=len(ex["digits"][i])))
        true_n, read_n = (
            "".join(map(str, ex["digits"][i])),
            "".join(map(str, ex["read"][i])),
        )
        right = read_n == true_n and ex["sum"][i] == sum(ex["digits"][i])
        ax.set_title(
            f"read {read_n}, sum {ex['sum'][i]}  (true {true_n}, "
            f"{sum(ex['digits'][i])})",
            fontsize=8,
            color=COLORS["test"] if right else COLORS["valid"],
        )
    return fig


@figure(
    "cnn-rnn-curves",
    experiment="cnn-rnn-sequence",
    caption="The reader learning, scored on the fixed held-out rows: single digits, the sum its GRU "
    "reports, and the sum of the digits it read (exact arithmetic on its own "
    "readings).",
    alt="Accuracy against training step for three quantities: single digits, the sum from adding the "
    "read digits, and the GRU's own sum, with a dashed line for guessing the most "
    "common sum.",
)
def cnn_rnn_curves(result: Result) -> Figure:
    """Held-out accuracy against step: single digits, the GRU's sum, read-then-add."""
    c = result.series["curve"]
    fig, ax = plt.subplots()
    for key, label, color in (
        ("digit_acc", "single digits", SEQUENCE[0]),
        ("read_add_acc", "sum: add the digits it read", SEQUENCE[2]),
        ("sum_acc", "sum: the GRU's last state", SEQUENCE[1]),
    ):
        ax.plot(
            c["step"],
            [100 * a for a in c[key]],
            color=color,
            marker="o",
            markersize=4,
            label=label,
        )
    ax.axhline(
        100 * result.metrics["chance_sum_acc"],
        color=COLORS["plain"],
        linestyle="--",
        label="sum: guess the most common",
    )
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("held-out accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(loc="center right", fontsize=8)
    return fig


def _class_colors() -> list:
    """Ten colours for the ten digit classes, sampled from the book's sequential colour
    map."""
    cmap = plt.get_cmap(CMAP)
    return [cmap(i / 9) for i in range(10)]


@figure(
    "autoencoder-latent",
    experiment="autoencoder",
    caption="The 1,000 held-out digits placed by their 2-D codes, coloured by class (the labels were "
    "never used in training); each class's digit is written at the median of its "
    "codes. Left: the "
    "autoencoder's plane. Right: PCA's two components, the best linear plane.",
    alt="Two scatter plots of the held-out digits' 2-D codes coloured by class, each class's digit "
    "written at its median: the autoencoder's codes on the left, PCA's on the right.",
)
def autoencoder_latent(result: Result) -> Figure:
    """The held-out digits' 2-D codes, autoencoder and PCA side by side, coloured by
    class."""
    lat, pl = result.series["latent"], result.series["pca_latent"]
    labels = np.asarray(lat["label"])
    colors = _class_colors()
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.4))
    for ax, pts, title in (
        (axes[0], lat, "autoencoder codes"),
        (axes[1], pl, "PCA, 2 components"),
    ):
        x, y = np.asarray(pts["x"]), np.asarray(pts["y"])
        for c in range(10):
            mask = labels == c
            ax.scatter(x[mask], y[mask], s=5, color=colors[c], alpha=0.7, linewidths=0)
            if mask.any():
                ax.text(
                    np.median(x[mask]),
                    np.median(y[mask]),
                    str(c),
                    fontsize=12,
                    weight="bold",
                    ha="center",
                    va="center",
                )
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


@figure(
    "autoencoder-reconstructions",
    experiment="autoencoder",
    caption="One held-out digit of each class (top), drawn back from its two numbers by the autoencoder "
    "(middle) and by PCA (bottom).",
    alt="Three rows of ten digits: the originals, the autoencoder's reconstructions and PCA's "
    "reconstructions, both drawn from two numbers per digit.",
)
def autoencoder_reconstructions(result: Result) -> Figure:
    """Ten held-out digits (28 x 28) and their reconstructions by the autoencoder and by
    PCA."""
    r = result.series["reconstructions"]
    n = len(r["label"])
    fig, axes = plt.subplots(3, 1, figsize=(6.4, 2.6))
    for ax, key, title in zip(
        axes,
        ("original", "ae", "pca"),
        ("held-out digits", "autoencoder (2 numbers)", "PCA (2 numbers)"),
    ):
        _show(ax, grid_image(r[key], nrow=n), vmin=0, vmax=1)
        _image_axis(ax)
        ax.set_ylabel(title, rotation=0, ha="right", va="center", fontsize=9)
    return fig


@figure(
    "autoencoder-plane",
    experiment="autoencoder",
    caption="What the decoder draws at each point of the code plane: a 12×12 lattice spanning the middle "
    "98% of the held-out codes, each point decoded into an image.",
    alt="A 12 by 12 grid of generated digit images that morph smoothly from one digit shape into "
    "another across the plane.",
)
def autoencoder_plane(result: Result) -> Figure:
    """A grid x grid lattice of codes decoded into images (28 x 28 each)."""
    plane = np.asarray(result.series["plane"]["images"])  # (g, g, 28, 28)
    g = plane.shape[0]
    fig, ax = plt.subplots(figsize=(4.6, 4.6))
    _show(ax, grid_image(plane.reshape(g * g, 28, 28), nrow=g, pad=1), vmin=0, vmax=1)
    _image_axis(ax)
    ax.set_xlabel("code 1 →")
    ax.set_ylabel("code 2 →")
    return fig
