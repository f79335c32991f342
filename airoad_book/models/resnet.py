"""Residual networks: the convolutional ResNet and its plain twin.

He, Zhang, Ren & Sun (2015), "Deep Residual Learning for Image Recognition",
<https://arxiv.org/abs/1512.03385> (CVPR 2016).

Stacking more layers on a plain convolutional net made its *training* error worse, not
only its test error: the paper calls this the degradation problem. Its remedy is to let
each pair of 3 x 3 convolutions learn a residual F(x) and add the input back,
y = F(x) + x, so that a block which has nothing useful to add can stay close to the
identity. This file holds

- `BasicBlock`: two 3 x 3 convolutions with batch norm, and the identity shortcut, or a
  1 x 1 projection where the shape changes (the paper's option B);
- `PlainBlock`: the same two convolutions with no shortcut, the paper's "plain" net;
- `ResNet`: a stem, four stages of blocks, global average pooling and a linear layer.
  `ResNetConfig()` is ResNet-18 with the parameter names of
  `torchvision.models.resnet18`, so torchvision's weights load into it unchanged and
  the two give the same outputs; `small_resnet` keeps the topology at a width and stem
  that suit 28 x 28 digits on a CPU.

Images are (B, C, H, W) floats; a batch of grey digits (B, H, W) gets its channel axis.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn


@dataclass(frozen=True)
class ResNetConfig:
    """Shapes of a ResNet. The defaults are ResNet-18 for 224 x 224 RGB images."""

    widths: tuple[int, ...] = (64, 128, 256, 512)  # channels of each stage
    blocks: tuple[int, ...] = (2, 2, 2, 2)  # blocks per stage (ResNet-18: 2, 2, 2, 2)
    in_channels: int = 3  # 3 for RGB, 1 for grey digits
    num_classes: int = 1000  # outputs of the last linear layer
    stem_kernel: int = 7  # the first convolution's kernel (pixels)
    stem_stride: int = 2  # its stride (pixels)
    stem_pool: bool = True  # a 3 x 3 max-pool of stride 2 after the stem

    def __post_init__(self) -> None:
        if not self.widths or len(self.widths) != len(self.blocks):
            raise ValueError(
                f"widths and blocks need one entry per stage, got {self.widths} "
                f"and {self.blocks}"
            )
        if min(self.widths) < 1 or min(self.blocks) < 1:
            raise ValueError(
                f"every stage needs a positive width and at least one block, got "
                f"widths {self.widths} and blocks {self.blocks}"
            )
        for name in ("in_channels", "num_classes", "stem_kernel", "stem_stride"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")


def small_resnet(
    widths: tuple[int, ...] = (16, 32, 64, 128),
    blocks: tuple[int, ...] = (2, 2, 2, 2),
    num_classes: int = 10,
) -> ResNetConfig:
    """ResNet-18's topology for 28 x 28 grey digits: one input channel, a 3 x 3 stem
    of stride 1 and no max-pool (a 7 x 7 stride-2 stem and a pool would shrink 28
    pixels to 7 before the first block), and narrower stages."""
    return replace(
        ResNetConfig(),
        widths=widths,
        blocks=blocks,
        in_channels=1,
        num_classes=num_classes,
        stem_kernel=3,
        stem_stride=1,
        stem_pool=False,
    )


# --8<-- [start:block]
def conv3x3(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    """A 3 x 3 convolution with padding 1 and no bias (batch norm adds one)."""
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """y = relu(F(x) + shortcut(x)) with F = bn(conv(relu(bn(conv(x))))).

    The shortcut is the identity when the shape is kept, and a strided 1 x 1
    convolution with batch norm (a projection) when the block halves the grid or
    changes the channels.
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = conv3x3(c_in, c_out, stride)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(c_out, c_out)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None  # identity shortcut
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                nn.BatchNorm2d(c_out),
            )

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """F(x): (B, c_in, H, W) -> (B, c_out, H / stride, W / stride)."""
        h = self.relu(self.bn1(self.conv1(x)))  # (B, c_out, H', W')
        return self.bn2(self.conv2(h))  # (B, c_out, H', W')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, c_in, H, W) -> (B, c_out, H / stride, W / stride)."""
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(self.residual(x) + shortcut)  # y = F(x) + x


class PlainBlock(BasicBlock):
    """The same two convolutions with the shortcut taken away: y = relu(F(x))."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__(c_in, c_out, stride)
        self.downsample = None  # a plain net has no projection either

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, c_in, H, W) -> (B, c_out, H / stride, W / stride)."""
        return self.relu(self.residual(x))
        # --8<-- [end:block]


# --8<-- [start:resnet]
class ResNet(nn.Module):
    """Stem, four stages of blocks (each after the first halves the grid and doubles
    the channels), global average pooling and a linear classifier."""

    def __init__(
        self, config: ResNetConfig | None = None, block: type[BasicBlock] = BasicBlock
    ) -> None:
        super().__init__()
        self.config = c = config or ResNetConfig()
        self.conv1 = nn.Conv2d(
            c.in_channels,
            c.widths[0],
            c.stem_kernel,
            stride=c.stem_stride,
            padding=c.stem_kernel // 2,
            bias=False,
        )
        self.bn1 = nn.BatchNorm2d(c.widths[0])
        self.relu = nn.ReLU(inplace=True)
        pool = nn.MaxPool2d(3, stride=2, padding=1) if c.stem_pool else nn.Identity()
        self.maxpool = pool
        c_in = c.widths[0]
        for i, (width, n) in enumerate(zip(c.widths, c.blocks), start=1):
            stride = 1 if i == 1 else 2
            blocks = [block(c_in, width, stride)]
            blocks += [block(width, width) for _ in range(n - 1)]
            setattr(self, f"layer{i}", nn.Sequential(*blocks))  # torchvision's names
            c_in = width
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, c.num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        """He initialisation (fan-out) for convolutions; batch norm starts at y = x."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    @property
    def stages(self) -> list[nn.Module]:
        """The four stages, bottom to top."""
        return [
            getattr(self, f"layer{i}") for i in range(1, len(self.config.widths) + 1)
        ]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W), or grey (B, H, W) -> pooled features (B, widths[-1])."""
        if x.dim() == 3 and self.config.in_channels == 1:
            x = x.unsqueeze(1)  # (B, 1, H, W)
        if x.dim() != 4 or x.shape[1] != self.config.in_channels:
            raise ValueError(
                f"expected images (B, {self.config.in_channels}, H, W), "
                f"got shape {tuple(x.shape)}"
            )
        h = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, w0, H', W')
        for stage in self.stages:
            h = stage(h)  # (B, w_i, H' / 2^(i-1), W' / 2^(i-1))
        return torch.flatten(self.avgpool(h), 1)  # (B, widths[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images -> logits (B, num_classes)."""
        return self.fc(self.features(x))
        # --8<-- [end:resnet]


def plain_net(config: ResNetConfig | None = None) -> ResNet:
    """The plain twin of `ResNet(config)`: the same layers, no shortcuts."""
    return ResNet(config, block=PlainBlock)


# --8<-- [start:weights]
def save_weights(model: nn.Module, path: str | Path) -> Path:
    """Write ``model.state_dict()`` (tensors only) to ``path`` atomically: into a
    temporary file in the same folder, then moved into place, so a crash never leaves
    half a file where a loader looks. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load a state dict written by `save_weights` into ``model`` (every key must
    match), reading only tensors (``weights_only=True``: no pickled code runs)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weights file at {path}")
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model
    # --8<-- [end:weights]


def num_parameters(model: nn.Module) -> int:
    """Trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = [
    "BasicBlock",
    "PlainBlock",
    "load_weights",
    "ResNet",
    "ResNetConfig",
    "num_parameters",
    "plain_net",
    "save_weights",
    "small_resnet",
]
