"""Chapter 2's experiment: the NumPy MLP and the torch MLP, trained side by side, agree.

Both networks start from identical weights (the NumPy ones, copied into `nn.Linear` with
`load_numpy_params`), both run in float64, both see the same minibatches in the same
order (the torch side through a `DataLoader` whose sampler is the NumPy shuffle), and
both take momentum SGD steps with the same η and μ. If the hand-written backward passes
of chapter 1 are right, the two loss curves are the same curve up to rounding. The
experiment reports the largest difference between them, the seconds per epoch of each,
and the graph that autograd recorded for one loss.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from airoad_book.experiments.budget import config_for
from airoad_book.experiments.mlp_numpy_mnist import flat_digits
from airoad_book.models.mlp import MLP, MLPConfig, load_numpy_params
from airoad_book.results import Result, Table
from airoad_book.scratch import mlp as scratch
from airoad_book.scratch.optim import Momentum

NAME = "autograd-bridge"
CHAPTER = 2
SUMMARY = "The NumPy MLP and the torch MLP from identical weights on the same batches: same losses, timed"


@dataclass(frozen=True)
class Config:
    """The shared network and schedule."""

    hidden: int = 128  # ReLU units
    epochs: int = 2  # passes over the training images
    batch_size: int = 64
    lr: float = 0.05  # η of momentum SGD, both sides
    mu: float = 0.9  # μ, both sides
    train_images: int | None = None  # None: all 4,000


CONFIGS = {"quick": Config(), "full": Config(epochs=10)}


# --8<-- [start:torch_loop]
def torch_epoch(
    model: MLP, loader: DataLoader, optimizer: torch.optim.Optimizer
) -> list[float]:
    """One pass over ``loader`` of (x (B, D), y (B,)) batches; returns each step's loss
    (nats)."""
    model.train()
    losses = []
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)  # forward: autograd records every operation
        optimizer.zero_grad()  # .grad accumulates: clear the last step's
        loss.backward()  # the chain rule, run backwards through the recorded graph
        optimizer.step()  # v ← μ v + g; θ ← θ − η v, for every parameter
        losses.append(loss.item())
    return losses


# --8<-- [end:torch_loop]


# --8<-- [start:numpy_loop]
def numpy_epoch(
    model: scratch.MLP,
    x: np.ndarray,
    y: np.ndarray,
    order: np.ndarray,
    batch_size: int,
    optimizer,
) -> list[float]:
    """The same epoch by hand: batches of ``order``'s indices into x (N, D), y (N,)."""
    model.train(True)
    losses = []
    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        losses.append(
            model.loss(x[idx], y[idx])
        )  # forward, caching what backward needs
        model.backward()  # every layer's backward, last to first
        optimizer.step(model.params(), model.grads())
    return losses


# --8<-- [end:numpy_loop]


# --8<-- [start:graph]
def autograd_graph(tensor: torch.Tensor, max_depth: int = 12) -> str:
    """The graph autograd recorded behind ``tensor``: one line per node, indented by
    depth.

    Each node is a ``grad_fn``, the backward of one forward operation; its
    ``next_functions`` are the nodes that made its inputs. ``AccumulateGrad`` nodes are
    the leaves, where a parameter's ``.grad`` is written.
    """
    lines: list[str] = []

    def visit(fn, depth: int) -> None:
        if fn is None or depth > max_depth:
            return
        name = type(fn).__name__
        if name == "AccumulateGrad":
            shape = tuple(fn.variable.shape)
            name += f"  -> .grad of a parameter of shape {shape}"
        lines.append("  " * depth + name)
        for child, _ in fn.next_functions:
            visit(child, depth + 1)

    visit(tensor.grad_fn, 0)
    return "\n".join(lines)


# --8<-- [end:graph]


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train both from the same start on the same batches; compare losses and time."""
    x, y, x_test, y_test = flat_digits("mnist", config.train_images)
    sizes = (x.shape[1], config.hidden, 10)
    np_model = scratch.MLP(sizes, activation="relu", init="he", seed=seed)  # float64
    torch_model = load_numpy_params(
        MLP(MLPConfig(sizes, "relu")).double(), np_model.params()
    )
    np_opt = Momentum(config.lr, config.mu)
    torch_opt = torch.optim.SGD(
        torch_model.parameters(), lr=config.lr, momentum=config.mu
    )
    dataset = TensorDataset(
        torch.from_numpy(x), torch.from_numpy(y)
    )  # float64 (N, D), int64 (N,)
    rng = np.random.default_rng(seed)
    np_losses, torch_losses, np_seconds, torch_seconds = [], [], 0.0, 0.0
    for _ in range(config.epochs):
        order = rng.permutation(len(x))  # (N,) this epoch's shuffle, shared by both
        start = time.perf_counter()
        np_losses += numpy_epoch(np_model, x, y, order, config.batch_size, np_opt)
        np_seconds += time.perf_counter() - start
        loader = DataLoader(
            dataset, batch_size=config.batch_size, sampler=order.tolist()
        )
        start = time.perf_counter()
        torch_losses += torch_epoch(torch_model, loader, torch_opt)
        torch_seconds += time.perf_counter() - start
    diffs = np.abs(np.array(np_losses) - np.array(torch_losses))  # (steps,)
    weight_diff = max(
        float(
            np.max(
                np.abs(
                    p - q.detach().numpy().T if p.ndim == 2 else p - q.detach().numpy()
                )
            )
        )
        for p, q in zip(
            np_model.params(),
            [t for layer in torch_model.layers for t in (layer.weight, layer.bias)],
        )
    )
    _, np_acc = scratch.evaluate(np_model, x_test, y_test)
    torch_model.eval()
    with torch.no_grad():
        logits = torch_model(torch.from_numpy(x_test))
        torch_acc = float((logits.argmax(1).numpy() == y_test).mean())
    loss = F.cross_entropy(
        torch_model(torch.from_numpy(x_test[:8])), torch.from_numpy(y_test[:8])
    )
    metrics = {
        "max_loss_diff": float(diffs.max()),
        "max_weight_diff": weight_diff,
        "numpy_seconds_per_epoch": np_seconds / config.epochs,
        "torch_seconds_per_epoch": torch_seconds / config.epochs,
        "numpy_test_acc": np_acc,
        "torch_test_acc": torch_acc,
        "steps": len(np_losses),
    }
    table = Table(
        ["implementation", "seconds per epoch", "final loss (nats)", "test acc"],
        [
            [
                "NumPy, hand-written backward",
                metrics["numpy_seconds_per_epoch"],
                np_losses[-1],
                np_acc,
            ],
            [
                "PyTorch, autograd",
                metrics["torch_seconds_per_epoch"],
                torch_losses[-1],
                torch_acc,
            ],
        ],
        ["", ".2f", ".6f", ".1%"],
    )
    return Result(
        metrics=metrics,
        tables={"bridge": table},
        series={
            "curve": {
                "numpy": np_losses,
                "torch": torch_losses,
                "diff": diffs.tolist(),
            },
            "config": asdict(config),
        },
        text={
            "verdict": verdict(metrics),
            "graph": "```text\n" + autograd_graph(loss) + "\n```",
        },
    )


def verdict(m: dict) -> str:
    """Whether the two implementations agree, and which was faster, from the numbers."""
    same = m["max_loss_diff"] < 1e-9
    ratio = m["numpy_seconds_per_epoch"] / max(m["torch_seconds_per_epoch"], 1e-12)
    speed = (
        f"NumPy took {ratio:.1f}× torch's time per epoch"
        if ratio >= 1
        else f"torch took {1 / ratio:.1f}× NumPy's time per epoch"
    )
    agreement = (
        "the two loss curves are one curve: "
        if same
        else "the two loss curves drift apart: "
    )
    return (
        f"Over {int(m['steps'])} steps {agreement}the largest difference between them "
        f"is "
        f"{m['max_loss_diff']:.1e} nats, and after training the weights differ by at "
        f"most "
        f"{m['max_weight_diff']:.1e}. In float64 on this machine {speed}."
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The quick or full budget of `run_config`."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
