"""Part III's depth experiment: a deeper plain convolutional net against its residual
twin.

He et al. (2015), <https://arxiv.org/abs/1512.03385>, found that a 34-layer plain net
with batch norm reaches a *higher training error* on ImageNet than an 18-layer one (the
degradation problem), while with shortcuts the 34-layer net beats the 18-layer one.
Chapter 3 tested this with small dense stacks; this is the same test with the real
convolutional blocks of `airoad_book.models.resnet`:

1. four nets on the 4,000 real MNIST training digits: a shallow and a deep stack of the
   same stages, each plain (`PlainBlock`) and residual (`BasicBlock`);
2. the same steps, batches and optimizer (SGD with momentum, as the paper trained) for
   all four;
3. the training loss every step, and at the end the loss on all training digits and the
   accuracy on the 1,000 held-out ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from airoad_book.data import digits
from airoad_book.device import seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.models.resnet import ResNet, ResNetConfig, num_parameters, plain_net
from airoad_book.results import Result, Table

NAME = "residual-conv"
CHAPTER = 15
SUMMARY = (
    "A deeper plain conv net against its residual twin on MNIST digits: the "
    "degradation problem (He et al. 2015)"
)

KINDS = ("plain", "residual")
EVAL_BATCH = 500  # images scored at once


@dataclass(frozen=True)
class Config:
    """One budget's settings: the stages, the two depths and the shared budget."""

    widths: tuple[int, ...] = (8, 16, 32, 64)  # channels of the four stages
    shallow: int = 1  # blocks per stage of the shallow nets (2 convs each)
    deep: int = 4  # blocks per stage of the deep nets
    steps: int = 80  # SGD steps, the same for every net
    batch_size: int = 16  # images per step
    lr: float = 0.02  # SGD learning rate (at 0.05 the deep nets' batch-norm running
    # statistics lag their weights after 80 steps, and eval mode scores them badly)
    momentum: float = 0.9
    loss_images: int | None = 1000  # the first N training digits the final loss is
    # measured on (None: all 4,000)


CONFIGS = {
    # what the book's build runs: a few seconds per net
    "quick": Config(),
    # longer training and a deeper deep net
    "full": Config(deep=6, steps=600, batch_size=64, loss_images=None),
}


def layers(config: Config, blocks: int) -> int:
    """Weighted layers on the main path: the stem, two per block, the classifier."""
    return 1 + 2 * blocks * len(config.widths) + 1


def build(kind: str, blocks: int, config: Config) -> ResNet:
    """A plain or residual net for 28 x 28 digits with ``blocks`` blocks per stage."""
    c = ResNetConfig(
        widths=config.widths,
        blocks=(blocks,) * len(config.widths),
        in_channels=1,
        num_classes=10,
        stem_kernel=3,
        stem_stride=2,
        stem_pool=False,
    )
    if kind == "plain":
        return plain_net(c)
    if kind == "residual":
        return ResNet(c)
    raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")


def train(model: ResNet, x, y, config: Config, seed: int) -> list[float]:
    """``config.steps`` SGD steps on random batches; the loss of every step."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    losses = []
    model.train()
    for _ in range(config.steps):
        rows = torch.randint(len(y), (config.batch_size,), generator=gen)
        loss = F.cross_entropy(model(x[rows]), y[rows])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


@torch.no_grad()
def evaluate(model: ResNet, x, y) -> tuple[float, float]:
    """Mean cross-entropy (nats) and accuracy over all of x (N, 28, 28), in eval
    mode."""
    model.eval()
    logits = torch.cat(
        [model(x[s : s + EVAL_BATCH]) for s in range(0, len(x), EVAL_BATCH)]
    )
    loss = float(F.cross_entropy(logits, y))
    return loss, float((logits.argmax(1) == y).float().mean())


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train the four nets with the same budget; measure their training loss."""
    d = digits("mnist")
    x, y = torch.from_numpy(d.x_train), torch.from_numpy(d.y_train)
    x_test, y_test = torch.from_numpy(d.x_test), torch.from_numpy(d.y_test)
    metrics, curves, rows = {}, {}, []
    for depth, blocks in (("shallow", config.shallow), ("deep", config.deep)):
        for kind in KINDS:
            seed_everything(seed)
            model = build(kind, blocks, config)
            key = f"{kind}_{depth}"
            curves[key] = train(model, x, y, config, seed)
            n = config.loss_images
            train_loss, _ = evaluate(model, x[:n], y[:n])
            _, test_acc = evaluate(model, x_test, y_test)
            metrics[f"{key}_train_loss"] = train_loss
            metrics[f"{key}_test_acc"] = test_acc
            metrics[f"{key}_layers"] = layers(config, blocks)
            rows.append(
                [
                    kind,
                    layers(config, blocks),
                    num_parameters(model),
                    train_loss,
                    test_acc,
                ]
            )
    metrics["steps"] = config.steps
    table = Table(
        columns=[
            "net",
            "layers",
            "parameters",
            "training loss (nats)",
            "test accuracy",
        ],
        rows=rows,
        formats=["", "d", ",d", ".3f", ".1%"],
    )
    return Result(
        metrics=metrics,
        tables={"depth": table},
        series={"curves": curves, "config": asdict(config)},
        text={"verdict": verdict(metrics)},
    )


def verdict(m: dict) -> str:
    """Whether depth hurt the plain net and not the residual one, from the numbers."""
    ps, pd = m["plain_shallow_train_loss"], m["plain_deep_train_loss"]
    rs, rd = m["residual_shallow_train_loss"], m["residual_deep_train_loss"]
    s, d = int(m["plain_shallow_layers"]), int(m["plain_deep_layers"])
    plain = (
        f"Going from {s} to {d} layers raises the plain net's training loss from "
        f"{ps:.3f} to {pd:.3f} nats"
        if pd > ps
        else f"Going from {s} to {d} layers does not raise the plain net's training "
        f"loss ({ps:.3f} to {pd:.3f} nats)"
    )
    res = f"the residual net's goes from {rs:.3f} to {rd:.3f}"
    if not pd > ps:
        tail = "the degradation problem does not show at this budget."
    elif rd <= rs:
        tail = (
            "the degradation problem appears, and the shortcuts remove it: the deeper "
            "residual net trains at least as well as the shallower one."
        )
    elif rd < pd:
        tail = (
            "the degradation problem appears, and the shortcuts shrink it without "
            "removing it; at this budget the deeper residual net still trains a "
            "little worse than the shallower one."
        )
    else:
        tail = "the degradation problem appears, and the shortcuts do not help here."
    return f"{plain}, while {res}: {tail}"


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at a named budget ("quick" or "full")."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
