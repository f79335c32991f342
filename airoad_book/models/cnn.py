"""Convolutional networks on handwritten digits: LeNet, a CNN+RNN reader, an
autoencoder.

LeCun, Bottou, Bengio & Haffner (1998), "Gradient-based learning applied to document
recognition", Proc. IEEE 86(11): 2278-2324.

An MLP treats an image as 784 unrelated numbers: shift a digit by one pixel and every
input changes. LeNet builds two priors into the architecture instead: *local receptive
fields* (each unit looks at a small patch) and *shared weights* (the same filter is
applied at every position, so a stroke detector works anywhere in the image), followed
by *subsampling* that makes the features tolerant to small shifts. This file holds

- `LeNet`: the paper's LeNet-5 shapes (6 and 16 filters of 5 x 5, then 120 and 84 units),
  with ReLU and max-pooling, today's usual choices;
- `DigitReader`: a small convolutional encoder per image and a GRU across a row of images,
  which reads a multi-digit number and adds it up;
- `Autoencoder`: the same encoder squeezed to a 2-D code, and a transposed-convolution
  decoder back to the image (Hinton & Salakhutdinov 2006).

Images are (B, 1, 28, 28) floats in [0, 1]; a batch of (B, 28, 28) gets its channel
added.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

IMAGE = 28  # MNIST images are 28 x 28 pixels


def _as_images(x: torch.Tensor) -> torch.Tensor:
    """(B, 28, 28) or (B, 1, 28, 28) -> (B, 1, 28, 28); anything else is a
    ValueError."""
    if x.dim() == 3:
        x = x.unsqueeze(1)  # (B, 1, H, W)
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, IMAGE, IMAGE):
        raise ValueError(
            f"expected images of shape (B, 28, 28) or (B, 1, 28, 28); got "
            f"{tuple(x.shape)}"
        )
    return x


def _positive(name: str, values: tuple[int, ...]) -> None:
    if not values or any(
        isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values
    ):
        raise ValueError(f"{name} must be positive integers; got {values!r}")


# --8<-- [start:lenet-config]
@dataclass(frozen=True)
class LeNetConfig:
    """LeNet-5's widths: two conv layers of 5 x 5 filters, then two dense layers."""

    channels: tuple[int, int] = (
        6,
        16,
    )  # filters of conv1 and conv2 (the paper's C1 and C3)
    kernel: int = 5  # filter width and height, pixels
    hidden: tuple[int, int] = (120, 84)  # dense units (the paper's C5 and F6)
    classes: int = 10

    def __post_init__(self) -> None:
        _positive("channels", self.channels)
        _positive("hidden", self.hidden)
        _positive("kernel and classes", (self.kernel, self.classes))
        if len(self.channels) != 2 or len(self.hidden) != 2:
            raise ValueError(
                f"LeNet has two conv and two dense layers; got "
                f"channels={self.channels}, "
                f"hidden={self.hidden}"
            )
        if self.kernel % 2 == 0 or self.kernel > 9:
            raise ValueError(
                f"kernel must be odd and at most 9 (28 x 28 inputs); got {self.kernel}"
            )

    # --8<-- [end:lenet-config]


# --8<-- [start:lenet]
class LeNet(nn.Module):
    """conv-pool-conv-pool-dense-dense-dense: images (B, 1, 28, 28) -> logits (B,
    classes)."""

    def __init__(self, config: LeNetConfig = LeNetConfig()) -> None:
        super().__init__()
        self.config = config
        c1, c2 = config.channels
        k = config.kernel
        self.conv1 = nn.Conv2d(
            1, c1, k, padding=k // 2
        )  # 'same' padding: 28 x 28 stays 28 x 28
        self.conv2 = nn.Conv2d(c1, c2, k)  # no padding: 14 x 14 -> (14 - k + 1)^2
        side = (IMAGE // 2 - k + 1) // 2  # after the second pool: 5 for k = 5
        self.fc1 = nn.Linear(c2 * side * side, config.hidden[0])
        self.fc2 = nn.Linear(config.hidden[0], config.hidden[1])
        self.out = nn.Linear(config.hidden[1], config.classes)
        self.pool = nn.MaxPool2d(2)

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The feature maps after each conv layer's ReLU: conv1 (B, c1, 28, 28), conv2
        (B, c2, 10, 10)."""
        x = _as_images(x)  # (B, 1, 28, 28)
        a1 = torch.relu(self.conv1(x))  # (B, c1, 28, 28): one map per filter
        a2 = torch.relu(self.conv2(self.pool(a1)))  # (B, c2, 10, 10) for k = 5
        return {"conv1": a1, "conv2": a2}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, 28, 28) or (B, 1, 28, 28) -> logits (B, classes)."""
        a2 = self.features(x)["conv2"]  # (B, c2, 10, 10)
        h = self.pool(a2).flatten(1)  # (B, c2 * 5 * 5)
        h = torch.relu(self.fc1(h))  # (B, 120)
        h = torch.relu(self.fc2(h))  # (B, 84)
        return self.out(h)  # (B, classes): logits

    # --8<-- [end:lenet]


# --8<-- [start:encoder]
class ConvEncoder(nn.Module):
    """Two strided conv-ReLU layers and a linear layer: images (B, 1, 28, 28) ->
    features (B, out).

    A stride of 2 halves the side as a 2 x 2 pool would (28 -> 14 -> 7), but the layer
    learns how to summarise each neighbourhood, and it computes a quarter of the
    positions.
    """

    def __init__(self, channels: tuple[int, int], out_features: int) -> None:
        super().__init__()
        _positive("channels", channels)
        _positive("out_features", (out_features,))
        c1, c2 = channels
        self.convs = nn.Sequential(
            nn.Conv2d(1, c1, 5, stride=2, padding=2),
            nn.ReLU(),  # (B, c1, 14, 14)
            nn.Conv2d(c1, c2, 5, stride=2, padding=2),
            nn.ReLU(),  # (B, c2, 7, 7)
        )
        self.proj = nn.Linear(c2 * 7 * 7, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, 28, 28) or (B, 1, 28, 28) -> features (B, out_features)."""
        h = self.convs(_as_images(x)).flatten(1)  # (B, c2 * 49)
        return self.proj(h)  # (B, out)

    # --8<-- [end:encoder]


# --8<-- [start:reader-config]
@dataclass(frozen=True)
class DigitReaderConfig:
    """A row of `length` digit images: a conv encoder per image, a GRU across them."""

    length: int = 3  # digits per row
    channels: tuple[int, int] = (8, 16)  # filters of the encoder's two conv layers
    features: int = 32  # what the encoder hands the GRU, per image
    hidden: int = 128  # GRU state size

    @property
    def max_sum(self) -> int:
        """The largest possible sum, 9 * length: sums take max_sum + 1 values."""
        return 9 * self.length

    def __post_init__(self) -> None:
        _positive(
            "length, features and hidden", (self.length, self.features, self.hidden)
        )
        if len(self.channels) != 2:
            raise ValueError(f"channels must hold two widths; got {self.channels!r}")

    # --8<-- [end:reader-config]


# --8<-- [start:reader]
class DigitReader(nn.Module):
    """Read a multi-digit number and add it up: images (B, T, 28, 28) -> digit logits
    (B, T, 10) and running-sum logits (B, T, 9T + 1).

    The same encoder sees every image (weights shared across positions, as a conv layer
    shares them across pixels). The GRU reads the encodings left to right; at every step
    one head names the digit just seen and another the sum of the digits so far, which
    the GRU's state must therefore carry from step to step. The row's sum is the last
    step's.
    """

    def __init__(self, config: DigitReaderConfig = DigitReaderConfig()) -> None:
        super().__init__()
        self.config = config
        self.encoder = ConvEncoder(config.channels, config.features)
        self.rnn = nn.GRU(config.features, config.hidden, batch_first=True)
        self.digit_head = nn.Linear(config.hidden, 10)
        self.sum_head = nn.Linear(
            config.hidden, config.max_sum + 1
        )  # one class per possible sum

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Image rows (B, T, 28, 28) -> digit logits (B, T, 10), running-sum logits (B,
        T, 9T + 1)."""
        if (
            x.dim() != 4
            or x.shape[1] != self.config.length
            or tuple(x.shape[2:]) != (IMAGE, IMAGE)
        ):
            raise ValueError(
                f"expected (B, {self.config.length}, 28, 28) image rows; got "
                f"{tuple(x.shape)}"
            )
        B, T = x.shape[:2]
        z = self.encoder(x.reshape(B * T, IMAGE, IMAGE)).reshape(
            B, T, -1
        )  # (B, T, features)
        h, _ = self.rnn(z)  # (B, T, hidden): the state after each image
        return self.digit_head(h), self.sum_head(h)  # (B, T, 10), (B, T, 9T + 1)

    # --8<-- [end:reader]


# --8<-- [start:ae-config]
@dataclass(frozen=True)
class AutoencoderConfig:
    """An image squeezed through a `latent`-number code and drawn back."""

    channels: tuple[int, int] = (
        8,
        16,
    )  # filters of the encoder (the decoder mirrors them)
    latent: int = 2  # the code: 2 numbers, so the code space is a plane we can draw
    hidden: int = 128  # dense units between the code and the convolutions

    def __post_init__(self) -> None:
        _positive("latent and hidden", (self.latent, self.hidden))
        if len(self.channels) != 2:
            raise ValueError(f"channels must hold two widths; got {self.channels!r}")

    # --8<-- [end:ae-config]


# --8<-- [start:autoencoder]
class Autoencoder(nn.Module):
    """Images (B, 1, 28, 28) -> codes (B, latent) -> images (B, 1, 28, 28) in [0, 1]."""

    def __init__(self, config: AutoencoderConfig = AutoencoderConfig()) -> None:
        super().__init__()
        self.config = config
        c1, c2 = config.channels
        self.encoder = nn.Sequential(
            ConvEncoder(config.channels, config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, config.latent),
        )
        self.expand = nn.Sequential(
            nn.Linear(config.latent, config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, c2 * 7 * 7),
            nn.ReLU(),
        )
        self.deconvs = (
            nn.Sequential(  # each transposed conv doubles the side: 7 -> 14 -> 28
                nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1),
                nn.ReLU(),  # (B, c1, 14, 14)
                nn.ConvTranspose2d(
                    c1, 1, 4, stride=2, padding=1
                ),  # (B, 1, 28, 28): logits
            )
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, 28, 28) or (B, 1, 28, 28) -> codes (B, latent)."""
        return self.encoder(_as_images(x))  # (B, latent)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Codes (B, latent) -> pixel logits (B, 1, 28, 28), for a cross-entropy
        loss."""
        h = self.expand(z).reshape(-1, self.config.channels[1], 7, 7)  # (B, c2, 7, 7)
        return self.deconvs(h)  # (B, 1, 28, 28)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes (B, latent) -> images (B, 1, 28, 28) in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, 28, 28) or (B, 1, 28, 28) -> reconstructions (B, 1, 28, 28) in [0,
        1]."""
        return self.decode(self.encode(x))  # (B, 1, 28, 28)

    # --8<-- [end:autoencoder]


def num_parameters(model: nn.Module) -> int:
    """Trainable parameters of any model (weights and biases)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = [
    "Autoencoder",
    "AutoencoderConfig",
    "ConvEncoder",
    "DigitReader",
    "DigitReaderConfig",
    "LeNet",
    "LeNetConfig",
    "num_parameters",
]
