"""Chapter 3's second experiment: plain against residual stacks of growing depth.

He et al. (2015), <https://arxiv.org/abs/1512.03385>, report the *degradation problem*:
a deeper plain net (with batch normalization and a good initialisation, so the gradients
do not vanish) reaches a *higher training* loss than a shallower one, and residual
blocks h' = h + f(h) remove it: deeper residual nets train at least as well as shallower
ones.

This experiment puts the claim to a small test on scikit-learn's 8x8 digits, with ReLU
stacks of width 64 at several depths, plain and residual, without normalization, with
batch norm and with layer norm:

1. at initialisation, the gradient that reaches the bottom of the stack, ||dL/dh_0||
over
   the whole training set, and its gain through the stack ||dL/dh_0|| / ||dL/dh_depth||;
2. every net trains for the same budget (steps of SGD with momentum, the same learning
   rate, gradients clipped to the same norm), and its training loss is measured at the end
   on the whole training set, in evaluation mode.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from airoad_book.device import seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.experiments.gradient_flow import digit_tensors, measure, train
from airoad_book.models.deep import DeepConfig, DeepNet
from airoad_book.results import Result, Table

NAME = "residual-vs-plain"
CHAPTER = 3
SUMMARY = "Plain vs residual ReLU stacks at depths 2-20, with and without batch/layer norm (He et al. 2015)"

BLOCK_ORDER = ("plain", "residual")
PAPER_NORM = "batch"  # He et al. put batch norm after every layer of both kinds of net


@dataclass(frozen=True)
class Config:
    """One budget's settings: depths, normalizations, and the training budget every net
    gets."""

    depths: tuple[int, ...] = (2, 10, 20)  # blocks per net
    norms: tuple[str, ...] = ("none", "batch", "layer")
    width: int = 64  # units per hidden layer
    steps: int = 40  # SGD steps, the same for every net
    batch_size: int = 128  # images per step
    lr: float = 0.05  # SGD learning rate
    momentum: float = 0.9
    clip_norm: float = (
        5.0  # clip the global gradient norm: the same rescue for every net
    )
    max_seconds: float | None = None  # cap on each net's training wall-clock (s)
    train_images: int | None = None  # use only the first N training images (tests)


CONFIGS = {
    "quick": Config(),
    "full": Config(depths=(2, 5, 10, 20, 30, 50), steps=1500),
}


@torch.no_grad()
def train_loss(model: DeepNet, x: torch.Tensor, y: torch.Tensor) -> float:
    """Cross-entropy (nats) on (x (N, 64), y (N,)) in evaluation mode (batch norm:
    running stats)."""
    was = model.training
    model.eval()
    loss = F.cross_entropy(model(x), y).item()
    model.train(was)
    return loss


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Measure at init, train with one budget, measure the training loss: each kind,
    norm and depth."""
    if PAPER_NORM not in config.norms:
        raise ValueError(
            f"Config.norms must include {PAPER_NORM!r} (the paper's setting); got "
            f"{config.norms}"
        )
    x, y = digit_tensors(config.train_images)
    cells: dict[str, dict] = {}
    for norm in config.norms:
        for block in BLOCK_ORDER:
            for depth in config.depths:
                seed_everything(seed)
                model = DeepNet(
                    DeepConfig(
                        in_features=x.shape[1],
                        width=config.width,
                        depth=depth,
                        norm=norm,
                        block=block,
                    )
                )
                init = measure(model, x, y)
                history = train(
                    model, x, y, config, seed, seconds, clip_norm=config.clip_norm
                )
                cells[f"{norm}-{block}-{depth}"] = {
                    "input_grad": init["state_grad"][0],
                    "gain": init["state_grad"][0] / init["state_grad"][-1],
                    "init_loss": init["loss"],
                    "final_loss": train_loss(model, x, y)
                    if history.stop_reason != "diverged"
                    else math.inf,
                    "stop": history.stop_reason,
                }

    deep, shallow = max(config.depths), min(config.depths)
    metrics: dict[str, float] = {
        "deepest": deep,
        "shallowest": shallow,
        "steps": config.steps,
    }
    for norm in config.norms:
        p, r = cells[f"{norm}-plain-{deep}"], cells[f"{norm}-residual-{deep}"]
        suffix = "" if norm == PAPER_NORM else f"_{norm}"
        metrics[f"grad_norm_ratio_deepest{suffix}"] = r["input_grad"] / p["input_grad"]
        for block in BLOCK_ORDER:
            deep_cell, shallow_cell = (
                cells[f"{norm}-{block}-{deep}"],
                cells[f"{norm}-{block}-{shallow}"],
            )
            metrics[f"loss_{block}_{norm}_deepest"] = _finite(deep_cell["final_loss"])
            metrics[f"loss_{block}_{norm}_shallowest"] = _finite(
                shallow_cell["final_loss"]
            )
            metrics[f"gain_{block}_{norm}_deepest"] = _finite(deep_cell["gain"])

    rows = [
        [norm, depth]
        + [
            cells[f"{norm}-{b}-{depth}"][k]
            for k in ("gain", "final_loss")
            for b in BLOCK_ORDER
        ]
        for norm in config.norms
        for depth in config.depths
    ]
    table = Table(
        columns=[
            "norm",
            "depth",
            "gradient gain at init, plain",
            "residual",
            "training loss after the budget, plain",
            "residual",
        ],
        rows=rows,
        formats=["", "d", ".2g", ".2g", ".3f", ".3f"],
    )
    return Result(
        metrics=metrics,
        tables={"depths": table},
        series={"cells": cells, "config": asdict(config)},
        text={
            "verdict": verdict(metrics, config),
            "norms": norms_sentence(metrics, config),
            "wins": wins_sentence(cells, config),
        },
    )


def _finite(value: float) -> float:
    """A metric must be a number JSON can carry: a diverged run reports the largest
    float."""
    return value if math.isfinite(value) else 1e308


def verdict(m: dict, config: Config) -> str:
    """Whether He et al.'s claims held with batch norm, the paper's setting, from the
    numbers."""
    d, s = int(m["deepest"]), int(m["shallowest"])
    n = PAPER_NORM
    p_deep, p_shallow = m[f"loss_plain_{n}_deepest"], m[f"loss_plain_{n}_shallowest"]
    r_deep, r_shallow = (
        m[f"loss_residual_{n}_deepest"],
        m[f"loss_residual_{n}_shallowest"],
    )
    degraded = p_deep > p_shallow
    first = (
        f"With batch norm, the plain net's training loss after {int(m['steps'])} steps "
        f"goes from "
        f"{p_shallow:.3f} at depth {s} to {p_deep:.3f} at depth {d}: "
        + (
            "deeper is worse, the degradation problem He et al. describe."
            if degraded
            else "no degradation appeared at this scale."
        )
    )
    fixed = r_deep <= p_deep
    second = f" The residual net goes from {r_shallow:.3f} to {r_deep:.3f}" + (
        ", below the plain net at depth "
        + f"{d}: the residual blocks "
        + (
            "removed the degradation, as the paper claims."
            if r_deep <= 1.5 * r_shallow + 0.01
            else "helped, without making depth free."
        )
        if fixed
        else f", not below the plain net at depth {d}: the claim did not hold here."
    )
    g = m["grad_norm_ratio_deepest"]
    gp, gr = m[f"gain_plain_{n}_deepest"], m[f"gain_residual_{n}_deepest"]
    third = (
        f" At initialisation, the gradient reaching the bottom of the residual stack "
        f"is {g:.2g} times "
        f"the plain stack's at depth {d}; through the stack the gradient's norm is "
        f"multiplied by "
        f"{gp:.2g} in the plain net and by {gr:.2g} in the residual one"
        + (
            ", so here the plain net's gradient does not vanish, and the residual "
            "net's advantage "
            "is not a bigger gradient."
            if gp >= 1 and g < 1
            else "."
        )
    )
    return first + second + third


def wins_sentence(cells: dict, config: Config) -> str:
    """In how many of the (normalization, depth) pairs the residual net ended below the
    plain one."""
    pairs = [(n, d) for n in config.norms for d in config.depths]
    wins = sum(
        cells[f"{n}-residual-{d}"]["final_loss"] < cells[f"{n}-plain-{d}"]["final_loss"]
        for n, d in pairs
    )
    return (
        f"The residual net ends the budget with the lower training loss in {wins} of "
        f"the "
        f"{len(pairs)} pairs of normalization and depth."
    )


def norms_sentence(m: dict, config: Config) -> str:
    """What happened without normalization and with layer norm at the greatest depth."""
    d = int(m["deepest"])
    out = []
    if "none" in config.norms:
        r = m["loss_residual_none_deepest"]
        p = m["loss_plain_none_deepest"]
        gain = m["gain_residual_none_deepest"]
        out.append(
            f"Without normalization, at depth {d} the plain net ends at a training "
            f"loss of {p:.3f} "
            + (
                f"and the residual net diverged (its gradient gain at init is "
                f"{gain:.2g})"
                if r >= 1e308
                else f"and the residual net at {r:.3f} (its gradient gain at init is {gain:.2g})"
            )
            + "."
        )
    if "layer" in config.norms:
        p, r = m["loss_plain_layer_deepest"], m["loss_residual_layer_deepest"]
        out.append(f"With layer norm, plain {p:.3f} against residual {r:.3f}.")
    return " ".join(out)


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full" (see CONFIGS)."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
