"""Chapter 7's second experiment: why an RNN's gradients vanish or explode.

1. **The product of Jacobians, measured.** For an Elman network whose recurrent matrix W
is
   rescaled to a chosen spectral radius ρ, the gradient of the last step's loss with respect
   to the state k steps back, ‖∂L/∂s(T−k)‖, is computed by hand-written BPTT in NumPy
   (`airoad_book.scratch.rnn.state_gradient_norms`) for k = 0 … T−1, averaged (geometric
   mean) over a few random networks and inputs. Each step back multiplies the gradient by
   diag(1 − s²) Wᵀ, so the norm shrinks or grows roughly like a power of ρ.
It trains nothing and runs in well under a second.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from airoad_book.experiments.budget import config_for
from airoad_book.results import Result, Table
from airoad_book.scratch.rnn import (
    init_params,
    state_gradient_norms,
    with_spectral_radius,
)

NAME = "rnn-gradients"
CHAPTER = 7
SUMMARY = "the gradient norm k steps back for several spectral radii of W, by BPTT by hand in NumPy"


@dataclass(frozen=True)
class Config:
    """One budget's settings."""

    radii: tuple[float, ...] = (0.5, 0.9, 1.0, 1.2, 1.5, 2.0)  # spectral radii ρ of W
    hidden: int = 100  # H of the measured networks
    vocab_size: int = 30  # |V| of the measured networks (random tokens)
    steps: int = 80  # T: the gradient is followed this many steps back
    nets: int = 5  # random networks (and inputs) per radius
    input_scale: float = 0.1  # std of U's entries: small inputs, so W dominates


CONFIGS = {
    "quick": Config(),
    "full": Config(nets=50, steps=200),
}


def gradient_norms(config: Config, seed: int) -> dict[float, np.ndarray]:
    """ρ -> (T,) geometric mean over `nets` networks of ‖∂L/∂s(T−k)‖, k = 0 … T−1."""
    rng = np.random.default_rng(seed)
    H, V = config.hidden, config.vocab_size
    out = {}
    for rho in config.radii:
        logs = []
        for _ in range(config.nets):
            p = init_params(V, H, rng, scale=config.input_scale)
            p.W = with_spectral_radius(rng.normal(0.0, 1.0, (H, H)), rho)
            tokens = rng.integers(0, V, config.steps)
            logs.append(
                np.log(
                    state_gradient_norms(p, tokens, int(rng.integers(V)), np.zeros(H))
                )
            )
        out[rho] = np.exp(np.mean(logs, axis=0))
    return out


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Measure the gradient norms for every radius."""
    norms = gradient_norms(config, seed)
    k = config.steps - 1
    metrics: dict[str, float] = {}
    for rho, n in norms.items():
        metrics[f"norm_ratio_rho_{rho:g}"] = float(
            n[k] / n[0]
        )  # ‖∂L/∂s(T−k)‖ / ‖∂L/∂s(T)‖
    table = Table(
        columns=[
            "spectral radius ρ of W",
            "‖∂L/∂s(T−k)‖ at k = 1",
            "at k = 10",
            f"at k = {k}",
        ],
        rows=[
            [f"{rho:g}", float(n[1]), float(n[10]), float(n[k])]
            for rho, n in norms.items()
        ],
        formats=["", ".2e", ".2e", ".2e"],
    )
    series = {
        "norms": {f"{rho:g}": n.tolist() for rho, n in norms.items()},
        "config": asdict(config),
    }
    return Result(
        metrics=metrics,
        tables={"norms": table},
        series=series,
        text={"norms": norms_sentence(metrics, config)},
    )


def norms_sentence(m: dict, config: Config) -> str:
    """Which radii made the gradient vanish and which made it explode, from the
    numbers."""
    k = config.steps - 1
    vanish = [r for r in config.radii if m[f"norm_ratio_rho_{r:g}"] < 1e-2]
    explode = [r for r in config.radii if m[f"norm_ratio_rho_{r:g}"] > 1e2]

    def names(rs):
        return ", ".join(f"{r:g}" for r in rs) if rs else "none"

    return (
        f"Followed {k} steps back, the gradient shrank below a hundredth of its size "
        f"for ρ = {names(vanish)} "
        f"and grew more than a hundredfold for ρ = {names(explode)}."
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """Run the experiment at budget "quick" or "full" (``seconds`` is not used: it does
    not train long)."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
