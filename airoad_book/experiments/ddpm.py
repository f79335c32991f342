"""Part III's epilogue experiment: a denoising diffusion model on points, then on
digits.

Ho, Jain & Abbeel (2020), "Denoising Diffusion Probabilistic Models"
(<https://arxiv.org/abs/2006.11239>), train a network to predict the noise that the
closed-form forward process added, and sample by running the learned reverse chain from
pure noise, with T = 1000 steps and betas rising linearly from 1e-4 to 0.02. The same
recipe, with a small MLP in place of their U-Net (`airoad_book.models.ddpm`):

1. on two moons in the plane, where samples and held-out data can be compared by a
   two-sample statistic, the energy distance (Székely & Rizzo 2013): against the noise
   the chain starts from, and against a second draw of the data (the floor);
2. on scikit-learn's 8 x 8 digits, snapshotting the network during training and sampling
   from each snapshot with the same noise, so a figure shows the samples improving with
   training steps, and the energy distance to held-out digits measures it.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass

import torch

from airoad_book.data import digits, random_batches
from airoad_book.device import device, seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.models.ddpm import DDPM, DDPMConfig, num_parameters
from airoad_book.results import Result, Table
from airoad_book.train import TrainConfig, fit

NAME = "ddpm"
CHAPTER = 17
SUMMARY = "DDPM with T = 1000: two moons (energy distance), then 8x8 digits"


@dataclass(frozen=True)
class Config:
    """One budget's settings."""

    steps: int = 1000  # T, the paper's chain length
    toy_points: int = 4000  # training points on the two moons
    toy_held_out: int = 800  # held-out points, and samples drawn, for the statistic
    toy_hidden: int = 128  # width of the toy denoiser
    toy_train_steps: int = 800  # optimizer steps on the moons
    digit_hidden: int = 256  # width of the digits' denoiser
    digit_train_steps: int = 1000  # optimizer steps on the digits
    snapshots: tuple[int, ...] = (100, 300, 1000)  # steps at which to sample
    digit_samples: int = 64  # samples drawn at each snapshot
    batch_size: int = 128  # points or images per step
    lr: float = 2e-3  # Adam's peak learning rate (cosine decay)
    max_seconds: float | None = None  # cap on each training's wall-clock (s)
    chain_frames: int = 6  # snapshots of one reverse chain for the figure


CONFIGS = {
    # what the book's build runs: a few seconds of training each
    "quick": Config(),
    "full": Config(
        toy_train_steps=8000,
        digit_train_steps=16_000,
        snapshots=(100, 500, 2000, 6000, 16_000),
        digit_samples=359,
    ),
}


# --8<-- [start:moons]
def two_moons(n: int, generator: torch.Generator, noise: float = 0.06) -> torch.Tensor:
    """n points (n, 2) on two interleaved half circles, jittered, then scaled to about
    unit variance: the data of the toy."""
    upper = torch.rand(n, generator=generator) < 0.5  # (n,): which moon
    angle = math.pi * torch.rand(n, generator=generator)  # (n,)
    x = torch.where(upper, angle.cos(), 1 - angle.cos())
    y = torch.where(upper, angle.sin(), 0.5 - angle.sin())
    points = torch.stack([x, y], 1) + noise * torch.randn(n, 2, generator=generator)
    return (points - torch.tensor([0.5, 0.25])) / torch.tensor([0.87, 0.5])  # (n, 2)
    # --8<-- [end:moons]


# --8<-- [start:energy]
def energy_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Székely & Rizzo's energy distance between samples a (N, D) and b (M, D):
    2 E|a - b| - E|a - a'| - E|b - b'| over all pairs, >= 0, and zero only when the
    two samples coincide (their expected value: only when the distributions agree)."""
    ab = torch.cdist(a, b).mean()
    aa, bb = torch.cdist(a, a).mean(), torch.cdist(b, b).mean()
    return float(2 * ab - aa - bb)
    # --8<-- [end:energy]


class Snapshots:
    """A `fit` callback (as ``replan``) that keeps a copy of the weights at given
    steps."""

    def __init__(self, model: torch.nn.Module, at: tuple[int, ...]) -> None:
        self.model, self.at, self.weights = model, set(at), {}

    def __call__(self, history) -> None:
        if history.steps_done in self.at:
            self.weights[history.steps_done] = copy.deepcopy(self.model.state_dict())
        return None  # keep the planned number of steps


def train(
    model: DDPM, x: torch.Tensor, steps: int, config: Config, gen, desc, cap, at=()
):
    """Train the denoiser on rows x (N, D); returns the loss curve and the
    snapshots."""
    snaps = Snapshots(model, at)
    history = fit(
        model,
        random_batches(x, batch_size=config.batch_size, generator=gen),
        lambda m, batch: m.loss(batch[0]),
        TrainConfig(max_steps=steps, max_seconds=cap, lr=config.lr, schedule="cosine"),
        desc=desc,
        replan=snaps,
    )
    model.eval()
    curve = history.train_loss[:: max(1, len(history.train_loss) // 200)]
    return curve, snaps.weights


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """The moons, then the digits; returns the statistics, samples and curves."""
    dev = device()
    cap = min((s for s in (config.max_seconds, seconds) if s is not None), default=None)
    data_gen = torch.Generator().manual_seed(seed + 1)
    moons = two_moons(config.toy_points, data_gen).to(dev)  # (N, 2)
    held = two_moons(config.toy_held_out, data_gen).to(dev)  # (M, 2)
    again = two_moons(config.toy_held_out, data_gen).to(dev)  # a second draw: the floor

    gen = seed_everything(seed)
    toy = DDPM(DDPMConfig(dim=2, steps=config.steps, hidden=config.toy_hidden)).to(dev)
    toy_curve, _ = train(toy, moons, config.toy_train_steps, config, gen, "moons", cap)
    sample_gen = torch.Generator(device=dev).manual_seed(seed)
    toy_samples, toy_frames = toy.sample(
        config.toy_held_out, sample_gen, keep=config.chain_frames
    )
    noise = toy_frames[0]  # x_T: the N(0, I) points the chain started from

    d = digits("sklearn")
    x = (torch.from_numpy(d.x_train).reshape(len(d.x_train), 64) * 2 - 1).to(dev)
    xt = (torch.from_numpy(d.x_test).reshape(len(d.x_test), 64) * 2 - 1).to(dev)
    gen = seed_everything(seed)
    net = DDPM(DDPMConfig(dim=64, steps=config.steps, hidden=config.digit_hidden))
    net = net.to(dev)
    at = tuple(s for s in config.snapshots if s <= config.digit_train_steps)
    digit_curve, weights = train(
        net, x, config.digit_train_steps, config, gen, "digits", cap, at
    )
    if not weights:  # a time cap stopped training before the first snapshot
        weights = {0: copy.deepcopy(net.state_dict())}
    by_step = {}
    for step, state in sorted(weights.items()):
        net.load_state_dict(state)
        chain_gen = torch.Generator(device=dev).manual_seed(seed)  # same noise each
        samples, _ = net.sample(config.digit_samples, chain_gen)  # (S, 64) in ~[-1, 1]
        by_step[step] = samples
    final = by_step[max(by_step)]
    digit_noise = torch.randn(
        config.digit_samples, 64, generator=torch.Generator().manual_seed(seed)
    ).to(dev)
    half = len(xt) // 2

    metrics = {
        "toy_two_sample_stat": energy_distance(toy_samples, held),
        "toy_two_sample_stat_noise": energy_distance(noise, held),
        "toy_two_sample_stat_data": energy_distance(again, held),
        "digits_two_sample_stat": energy_distance(final, xt),
        "digits_two_sample_stat_noise": energy_distance(digit_noise, xt),
        "digits_two_sample_stat_data": energy_distance(xt[:half], xt[half:]),
        "digits_two_sample_stat_train": energy_distance(x[: len(xt)], xt),
        "steps": config.steps,
        "toy_params": num_parameters(toy),
        "digit_params": num_parameters(net),
        "digit_samples_drawn": config.digit_samples,
        "toy_train_steps": config.toy_train_steps,
        "digit_train_steps": config.digit_train_steps,
    }
    curve = {step: energy_distance(s, xt) for step, s in by_step.items()}
    for step, stat in curve.items():
        metrics[f"digits_two_sample_stat_at_{step}"] = stat
    m = metrics
    tables = {
        "toy": Table(
            columns=["points compared with held-out moons", "energy distance"],
            rows=[
                [
                    "N(0, I) noise, where the chain starts",
                    m["toy_two_sample_stat_noise"],
                ],
                ["DDPM samples", m["toy_two_sample_stat"]],
                [
                    "a second draw of the data (the floor)",
                    m["toy_two_sample_stat_data"],
                ],
            ],
            formats=["", ".4f"],
        ),
        "digits": Table(
            columns=["images compared with held-out digits", "energy distance"],
            rows=[["N(0, I) noise", m["digits_two_sample_stat_noise"]]]
            + [[f"DDPM after {s:,} steps", v] for s, v in curve.items()]
            + [
                ["training digits", m["digits_two_sample_stat_train"]],
                [
                    "half the held-out digits vs the other half",
                    m["digits_two_sample_stat_data"],
                ],
            ],
            formats=["", ".3f"],
        ),
    }
    series = {
        "toy": {
            "data": held.tolist(),
            "samples": toy_samples.tolist(),
            "chain": [f.tolist() for f in toy_frames],
        },
        "digits": {
            str(step): ((s.clamp(-1, 1) + 1) / 2).reshape(-1, 8, 8).tolist()
            for step, s in by_step.items()
        },
        "digits_stat": {"step": list(curve), "stat": list(curve.values())},
        "loss": {"toy": toy_curve, "digits": digit_curve},
        "config": asdict(config),
    }
    return Result(
        metrics=metrics,
        tables=tables,
        series=series,
        text={"verdict": verdict(metrics)},
    )


def verdict(m: dict) -> str:
    """How close the samples came to the data, between the noise and the floor."""
    s, n, f = (
        m["toy_two_sample_stat"],
        m["toy_two_sample_stat_noise"],
        m["toy_two_sample_stat_data"],
    )
    ds, dn, dt = (
        m["digits_two_sample_stat"],
        m["digits_two_sample_stat_noise"],
        m["digits_two_sample_stat_train"],
    )
    toy = (
        f"On the moons the energy distance to held-out data falls from {n:.3f} for the "
        f"noise to {s:.4f} for the samples, against {f:.4f} between two draws of the "
        f"data itself"
    )
    toy += (
        ": the samples are as close to the data as the data is to itself. "
        if s <= 2 * f
        else f", so the samples are still {s / f:.0f} times further than the floor. "
    )
    dig = (
        f"On the digits it falls from {dn:.3f} for noise to {ds:.3f} for the final "
        f"samples; the training digits themselves score {dt:.3f}."
    )
    return toy + dig


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at a named budget ("quick" or "full")."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
