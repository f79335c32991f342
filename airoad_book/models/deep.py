"""Deep stacks of layers, plain or residual, and the two normalizations that keep them
trainable.

He, Zhang, Ren & Sun (2015), "Deep Residual Learning for Image Recognition",
<https://arxiv.org/abs/1512.03385>. Ioffe & Szegedy (2015), "Batch Normalization",
<https://arxiv.org/abs/1502.03167>. Ba, Kiros & Hinton (2016), "Layer Normalization",
<https://arxiv.org/abs/1607.06450>.

A deep net multiplies its gradient by one Jacobian per layer on the way back, so the
gradient that reaches the first layers can shrink or grow geometrically with depth. He
et al. changed what a block computes: not h' = f(h) but h' = h + f(h), so every block's
Jacobian is the identity plus a correction, and the identity carries the gradient
through any depth. Batch and layer normalization rescale each layer's pre-activations to
zero mean and unit variance (over the batch, per feature; or over the features, per
example), so the scale of the signal stops depending on the depth and on the weights
before it.

This file holds one layer, h -> f(N(h W^T + b)), and two blocks built from it, a plain
and a residual one; a stack of either between an input and an output layer; and
BatchNorm and LayerNorm written from their equations.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from airoad_book.models.mlp import ACTIVATIONS


# --8<-- [start:batchnorm]
class BatchNorm(nn.Module):
    """Batch normalization of (B, C) features: each feature over the batch (Ioffe &
    Szegedy 2015).

    Training: x_hat = (x - mu_B) / sqrt(var_B + eps) with mu_B, var_B the mean and
    (biased) variance of each column over the B examples; y = gamma * x_hat + beta. It
    also keeps running estimates, running <- (1 - momentum) * running + momentum * batch
    statistic (the unbiased variance, as torch does), and evaluation uses those in place
    of the batch's.
    """

    def __init__(
        self, num_features: int, eps: float = 1e-5, momentum: float = 0.1
    ) -> None:
        super().__init__()
        _check_features("BatchNorm", num_features, eps)
        if not 0.0 < momentum <= 1.0:
            raise ValueError(f"BatchNorm momentum must be in (0, 1]; got {momentum!r}")
        self.eps, self.momentum = eps, momentum
        self.gamma = nn.Parameter(torch.ones(num_features))  # (C,) scale
        self.beta = nn.Parameter(torch.zeros(num_features))  # (C,) shift
        self.register_buffer("running_mean", torch.zeros(num_features))  # (C,)
        self.register_buffer("running_var", torch.ones(num_features))  # (C,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalize x (B, C) per feature; returns (B, C)."""
        _check_input("BatchNorm", x, len(self.gamma))
        if self.training:
            if x.shape[0] < 2:
                raise ValueError(
                    f"BatchNorm in training mode needs a batch of 2 or more; got "
                    f"{x.shape[0]}"
                )
            mu = x.mean(dim=0)  # (C,) mean over the batch
            var = x.var(dim=0, unbiased=False)  # (C,) the biased variance normalizes
            with torch.no_grad():
                m, B = self.momentum, x.shape[0]
                self.running_mean.mul_(1 - m).add_(m * mu)
                self.running_var.mul_(1 - m).add_(
                    m * var * B / (B - 1)
                )  # unbiased estimate
        else:
            mu, var = self.running_mean, self.running_var  # (C,), (C,)
        x_hat = (x - mu) / torch.sqrt(var + self.eps)  # (B, C)
        return self.gamma * x_hat + self.beta


# --8<-- [end:batchnorm]


# --8<-- [start:layernorm]
class LayerNorm(nn.Module):
    """Layer normalization of (B, C) features: each example over its features (Ba et al.
    2016).

    x_hat = (x - mu) / sqrt(var + eps) with mu, var the mean and (biased) variance of
    each row over its C features; y = gamma * x_hat + beta. No batch statistics, so
    training and evaluation compute the same thing, and a batch of one works.
    """

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        _check_features("LayerNorm", num_features, eps)
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(num_features))  # (C,) scale
        self.beta = nn.Parameter(torch.zeros(num_features))  # (C,) shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalize x (B, C) per example; returns (B, C)."""
        _check_input("LayerNorm", x, len(self.gamma))
        mu = x.mean(dim=1, keepdim=True)  # (B, 1) mean over the features
        var = x.var(dim=1, unbiased=False, keepdim=True)  # (B, 1)
        x_hat = (x - mu) / torch.sqrt(var + self.eps)  # (B, C)
        return self.gamma * x_hat + self.beta


# --8<-- [end:layernorm]


def _check_features(name: str, num_features: int, eps: float) -> None:
    if (
        isinstance(num_features, bool)
        or not isinstance(num_features, int)
        or num_features < 1
    ):
        raise ValueError(
            f"{name} num_features must be a positive integer; got {num_features!r}"
        )
    if not eps > 0:
        raise ValueError(f"{name} eps must be positive; got {eps!r}")


def _check_input(name: str, x: torch.Tensor, features: int) -> None:
    if x.ndim != 2 or x.shape[1] != features:
        raise ValueError(
            f"{name} expects input of shape (B, {features}); got {tuple(x.shape)}"
        )


NORMS = {"none": nn.Identity, "batch": BatchNorm, "layer": LayerNorm}


# --8<-- [start:config]
@dataclass(frozen=True)
class DeepConfig:
    """A deep stack: input -> width, `depth` blocks of width -> width, width ->
    classes."""

    in_features: int = 64  # pixels of an 8x8 digit
    width: int = 64  # units of every hidden layer
    depth: int = 10  # blocks between the input and the output layer
    classes: int = 10
    activation: str = "relu"  # "relu" | "tanh" | "sigmoid"
    norm: str = (
        "none"  # "none" | "batch" | "layer": applied to each block's pre-activations
    )
    block: str = "plain"  # "plain": h' = f(h) | "residual": h' = h + f(h)

    def __post_init__(self) -> None:
        for name in ("in_features", "width", "depth", "classes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"DeepConfig.{name} must be a positive integer; got {value!r}"
                )
        for name, known in (
            ("activation", ACTIVATIONS),
            ("norm", NORMS),
            ("block", BLOCKS),
        ):
            if getattr(self, name) not in known:
                raise ValueError(
                    f"DeepConfig.{name} must be one of {', '.join(known)}; "
                    f"got {getattr(self, name)!r}"
                )

    # --8<-- [end:config]


# --8<-- [start:layer]
class Layer(nn.Module):
    """One layer f(h) = act(N(h W^T + b)): (B, width) -> (B, width). The part both
    blocks share.

    W starts at N(0, gain^2 / width) with the activation's gain (sqrt 2 for ReLU, He et
    al. 2015; 5/3 for tanh, PyTorch's calculate_gain heuristic; 1 for sigmoid), the
    scale that keeps the variance of a plain stack's signal about constant from layer to
    layer where the activation allows it; b starts at 0.
    """

    def __init__(self, width: int, activation: str, norm: str) -> None:
        super().__init__()
        self.linear = nn.Linear(width, width)
        self.norm = NORMS[norm](width)
        self.act = ACTIVATIONS[activation]()
        gain = nn.init.calculate_gain(activation)
        nn.init.normal_(self.linear.weight, 0.0, gain / width**0.5)
        nn.init.zeros_(self.linear.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """f(h) for h (B, width); returns (B, width)."""
        return self.act(self.norm(self.linear(h)))


# --8<-- [end:layer]


# --8<-- [start:blocks]
class PlainBlock(nn.Module):
    """h' = f(h): the block of an ordinary deep net. (B, width) -> (B, width)."""

    def __init__(self, width: int, activation: str, norm: str) -> None:
        super().__init__()
        self.f = Layer(width, activation, norm)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """The layer's output alone; returns (B, width)."""
        return self.f(h)


class ResidualBlock(nn.Module):
    """h' = h + f(h), a one-layer simplification of He et al.'s (2015) block.

    (B, width) -> (B, width).

    The paper's block has two weight layers and applies the ReLU after the sum, h' =
    ReLU(h + W2 ReLU(N(W1 h))) with norms inside; here the branch f(h) = ReLU(N(W h)) is
    added after its own ReLU. What that changes: the branch is non-negative, so each
    block can only add to h, and the mean of the signal drifts upward with depth. Its
    Jacobian is I + df/dh, so the gradient reaches h undiminished through the identity,
    whatever f does to it.
    """

    def __init__(self, width: int, activation: str, norm: str) -> None:
        super().__init__()
        self.f = Layer(width, activation, norm)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """The input plus the layer's output; returns (B, width)."""
        return h + self.f(h)


# --8<-- [end:blocks]


BLOCKS = {"plain": PlainBlock, "residual": ResidualBlock}


# --8<-- [start:stack]
class DeepNet(nn.Module):
    """A stack of `depth` plain or residual blocks between a linear input and output
    layer.

    Takes images (B, H, W) or rows (B, in_features); returns logits (B, classes).
    `states(x)` also returns the hidden states h_0 .. h_depth, each (B, width), so the
    experiments can read every layer's activations and gradients.
    """

    def __init__(self, config: DeepConfig = DeepConfig()) -> None:
        super().__init__()
        self.config = config
        c = config
        self.embed = nn.Linear(c.in_features, c.width)  # h_0 = x W_in^T + b_in
        self.blocks = nn.ModuleList(
            BLOCKS[c.block](c.width, c.activation, c.norm) for _ in range(c.depth)
        )
        self.head = nn.Linear(c.width, c.classes)

    def states(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits (B, classes) and the hidden states [h_0, ..., h_depth], each (B,
        width)."""
        x = x.flatten(1)  # (B, D)
        if x.shape[1] != self.config.in_features:
            raise ValueError(
                f"expected {self.config.in_features} input features, got {x.shape[1]}"
            )
        hs = [self.embed(x)]  # h_0: (B, width)
        for block in self.blocks:
            hs.append(block(hs[-1]))  # h_l: (B, width)
        return self.head(hs[-1]), hs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, classes) for x (B, H, W) or (B, in_features)."""
        return self.states(x)[0]


# --8<-- [end:stack]


__all__ = [
    "BLOCKS",
    "NORMS",
    "BatchNorm",
    "DeepConfig",
    "DeepNet",
    "Layer",
    "LayerNorm",
    "PlainBlock",
    "ResidualBlock",
]
