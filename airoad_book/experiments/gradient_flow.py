"""Chapter 3's first experiment: how the gradient fades (or not) on its way down a deep
net.

A plain deep net multiplies the gradient by one Jacobian per layer on the way back,
diag(f'(a_l)) W_l, and the sigmoid's derivative is at most 1/4. This experiment measures
the result layer by layer on a real task, scikit-learn's 8x8 digits (1,438 training
images; small enough that every depth trains in seconds on a CPU):

1. build plain stacks (`airoad_book.models.deep.DeepNet`, no normalization) of sigmoid,
   tanh and ReLU layers at several depths, each initialised with its activation's gain;
2. at initialisation, and again after a short run of SGD with momentum, measure every
   layer's weight-gradient norm ||dL/dW_l|| on the whole training set, and the mean and
   standard deviation of every layer's activations;
3. report the ratio first layer / last layer: 1 means the gradient arrives intact, 1e-6
   means the first layer learns a million times more slowly than the last.

SGD, not Adam: Adam divides each update by the gradient's own size, which would hide a
gradient a million times too small; SGD steps in proportion to it, as the 1990s nets
did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from airoad_book.data import digits, random_batches
from airoad_book.device import seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.models.deep import DeepConfig, DeepNet
from airoad_book.results import Result, Table
from airoad_book.train import TrainConfig, fit

NAME = "gradient-flow"
CHAPTER = 3
SUMMARY = "Per-layer gradient norms of plain sigmoid, tanh and ReLU nets at depths 2-20, on 8x8 digits"

ACTIVATION_ORDER = ("sigmoid", "tanh", "relu")


@dataclass(frozen=True)
class Config:
    """One budget's settings: the nets measured and the short training run between
    measurements."""

    activations: tuple[str, ...] = ACTIVATION_ORDER
    depths: tuple[int, ...] = (
        2,
        5,
        10,
        20,
    )  # hidden layers of each net; the last is the figure's
    width: int = 64  # units per hidden layer
    steps: int = 30  # SGD steps between the two measurements
    batch_size: int = 128  # images per step
    lr: float = 0.05  # SGD learning rate
    momentum: float = 0.9
    clip_norm: float = (
        5.0  # clip the global gradient norm, so that no net diverges in the short run
    )
    max_seconds: float | None = None  # cap on each net's training wall-clock (s)
    train_images: int | None = None  # use only the first N training images (tests)


CONFIGS = {
    "quick": Config(),
    "full": Config(depths=(2, 4, 6, 8, 10, 12, 14, 16, 18, 20), steps=1000),
}


# --------------------------------------------------------------------------- data and
# measurement


def digit_tensors(train_images: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The 8x8 training digits as rows (N, 64), each pixel standardised, and labels
    (N,).

    Each pixel gets zero mean and unit variance over the training set (pixels that are
    always blank stay 0), so the first layer sees inputs of the scale its init assumes.
    """
    d = digits("sklearn")
    x = torch.from_numpy(d.x_train[:train_images]).flatten(1)  # (N, 64) in [0, 1]
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)  # (N, 64)
    return x, torch.from_numpy(d.y_train[:train_images])


def loss_fn(model: DeepNet, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy (nats) of the digit labels."""
    x, y = batch  # (B, 64), (B,)
    return F.cross_entropy(model(x), y)


# --8<-- [start:measure]
def measure(
    model: DeepNet, x: torch.Tensor, y: torch.Tensor
) -> dict[str, list[float] | float]:
    """One forward and backward pass over (x (N, 64), y (N,)), in training mode; what
    each layer saw.

    Returns lists with one entry per block l = 1..depth: ``weight_grad`` ||dL/dW_l||,
    ``act_mean`` and ``act_std`` of h_l; and per state l = 0..depth ``state_grad``
    ||dL/dh_l|| (h_0 is the input layer's output). ``loss`` is L in nats.
    """
    model.zero_grad(set_to_none=True)
    logits, hs = model.states(x)  # (N, 10), depth + 1 states (N, width)
    for h in hs:
        h.retain_grad()  # keep dL/dh_l, which autograd would otherwise free
    loss = F.cross_entropy(logits, y)
    loss.backward()
    out = {
        "weight_grad": [b.f.linear.weight.grad.norm().item() for b in model.blocks],
        "state_grad": [h.grad.norm().item() for h in hs],
        "act_mean": [h.mean().item() for h in hs[1:]],
        "act_std": [h.std().item() for h in hs[1:]],
        "loss": loss.item(),
    }
    model.zero_grad(set_to_none=True)
    return out


# --8<-- [end:measure]


def train(
    model: DeepNet,
    x: torch.Tensor,
    y: torch.Tensor,
    config,
    seed: int,
    seconds: float | None,
    clip_norm: float | None = None,
):
    """Train on x (N, 64), y (N,) with SGD and momentum over random minibatches (the
    book's `fit`).

    ``config`` gives steps, batch_size, lr, momentum and max_seconds; returns the
    `History`.
    """
    gen = torch.Generator().manual_seed(seed)
    cap = min((s for s in (config.max_seconds, seconds) if s is not None), default=None)
    train_config = TrainConfig(
        max_steps=config.steps,
        max_seconds=cap,
        lr=config.lr,
        optimizer="sgd",
        momentum=config.momentum,
        clip_norm=clip_norm,
        eval_every=config.steps,
        restore_best=False,
    )
    batches = random_batches(
        x, y, batch_size=min(config.batch_size, len(y)), generator=gen
    )
    return fit(
        model, batches, loss_fn, train_config, desc=f"depth {model.config.depth}"
    )


# --------------------------------------------------------------------------- the run


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Measure, train briefly, measure again: every activation at every depth."""
    x, y = digit_tensors(config.train_images)
    runs: dict[str, dict] = {}
    rows = []
    for act in config.activations:
        for depth in config.depths:
            seed_everything(seed)
            model = DeepNet(
                DeepConfig(
                    in_features=x.shape[1],
                    width=config.width,
                    depth=depth,
                    activation=act,
                )
            )
            before = measure(model, x, y)
            history = train(
                model, x, y, config, seed, seconds, clip_norm=config.clip_norm
            )
            after = measure(model, x, y)
            runs[f"{act}-{depth}"] = {
                "init": before,
                "trained": after,
                "steps": history.steps_done,
            }
            rows.append(
                [act, depth, ratio(before), ratio(after), before["loss"], after["loss"]]
            )

    deepest = max(config.depths)
    metrics: dict[str, float] = {"deepest": deepest, "steps": config.steps}
    for act in config.activations:
        r = runs[f"{act}-{deepest}"]
        metrics[f"ratio_{act}_init"] = ratio(r["init"])
        metrics[f"ratio_{act}_trained"] = ratio(r["trained"])
        metrics[f"loss_{act}_trained"] = r["trained"]["loss"]
        metrics[f"loss_{act}_shallow"] = runs[f"{act}-{min(config.depths)}"]["trained"][
            "loss"
        ]
    if "sigmoid" in config.activations and deepest > 1:
        # the geometric mean of the factor lost per layer between the last layer and the
        # first
        metrics["sigmoid_factor_per_layer"] = metrics["ratio_sigmoid_init"] ** (
            1 / (deepest - 1)
        )
    table = Table(
        columns=[
            "activation",
            "depth",
            "‖∂L/∂W₁‖ / ‖∂L/∂W_L‖ at init",
            "the same, trained",
            "loss at init",
            "loss, trained",
        ],
        rows=rows,
        formats=["", "d", ".1e", ".1e", ".3f", ".3f"],
    )
    return Result(
        metrics=metrics,
        tables={"ratios": table},
        series={"runs": runs, "config": asdict(config)},
        text={"verdict": verdict(metrics, config)},
    )


def ratio(m: dict) -> float:
    """||dL/dW_1|| / ||dL/dW_depth||: how much of the last layer's gradient reaches the
    first."""
    return m["weight_grad"][0] / m["weight_grad"][-1]


def verdict(m: dict, config: Config) -> str:
    """What the numbers say about each activation at the greatest depth, in two or three
    sentences."""
    d = int(m["deepest"])
    parts = []
    for act in config.activations:
        r = m[f"ratio_{act}_init"]
        size = (
            "vanished"
            if r < 1e-3
            else "shrank"
            if r < 0.3
            else "exploded"
            if r > 1e3
            else "grew"
            if r > 3
            else "arrived at about the same size"
        )
        parts.append(
            f"{act}: the first layer's gradient is {r:.1e} times the last layer's "
            f"({size})"
        )
    sig, relu = "sigmoid", "relu"
    tail = ""
    if sig in config.activations and relu in config.activations:
        learned = m[f"loss_{sig}_trained"] > 0.5 * m[f"loss_{sig}_shallow"] + 0.5 * 2.30
        tail = (
            f" After {int(m['steps'])} SGD steps the {d}-layer sigmoid net's training "
            f"loss is "
            f"{m[f'loss_{sig}_trained']:.2f} nats against ReLU's "
            f"{m[f'loss_{relu}_trained']:.2f}"
            + (
                " and it has barely left the uniform guess (ln 10 = 2.30): vanishing "
                "gradients "
                "stop a deep sigmoid net from learning, as expected."
                if learned
                else "; this run learned despite the small gradients."
            )
        )
    return f"At depth {d}, at initialisation — " + "; ".join(parts) + "." + tail


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full" (see CONFIGS)."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
