"""Appendix F's experiment: chapter 1's MLP in C++ with Eigen against the NumPy one.

Both get the same weights (a NumPy `MLP` with He initialisation) and the same batch of
real MNIST digits. The C++ program (``cpp/mlp_eigen.cpp``, compiled with ``g++ -O3
-march=native``) returns its loss and every gradient; they are compared with the NumPy
backward pass, each gradient relative to its own largest entry. Then both time one forward+backward, each
in its own process, the mean over many repeats, with NumPy's BLAS held to one thread so
that both use one core (Eigen uses one unless built with OpenMP).

Without g++ or the Eigen headers the run fails with `ToolchainMissing`, naming the
packages to install.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass

import numpy as np

from airoad_book.eigen_mlp import build, eigen_step, max_rel_diff, numpy_seconds
from airoad_book.experiments.budget import config_for
from airoad_book.experiments.mlp_numpy_mnist import flat_digits
from airoad_book.results import Result, Table
from airoad_book.scratch.mlp import MLP

NAME = "eigen-mlp"
CHAPTER = "F"
SUMMARY = "chapter 1's MLP in C++ with Eigen: gradients equal to NumPy's, and the speed of each"
READS = ("cpp/mlp_eigen.cpp",)  # the figure cache's key covers the C++ source too


@dataclass(frozen=True)
class Config:
    """The network, the batch and how many steps each timing averages."""

    hidden: tuple[int, ...] = (128,)  # widths of the hidden ReLU layers
    batch: int = 64  # MNIST images in the batch (chapter 1's batch size)
    repeats: int = 200  # forward+backward steps each timing averages


CONFIGS = {"quick": Config(), "full": Config(repeats=2000)}


def one_blas_thread():
    """A context that holds NumPy's BLAS to one thread (threadpoolctl), or does
    nothing when threadpoolctl is not installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # it comes with scikit-learn, in the [data] extra
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def run_config(config: Config, seed: int = 0) -> Result:
    """Gradients of the C++ and the NumPy MLP on one batch, and the time of a step."""
    c = config
    exe = build()  # ToolchainMissing names the packages when g++ or Eigen is absent
    x, y, _, _ = flat_digits("mnist", c.batch)  # (B, 784), (B,)
    model = MLP((x.shape[1], *c.hidden, 10), activation="relu", init="he", seed=seed)
    np_loss = model.loss(x, y)
    model.backward()
    np_grads = [g.copy() for g in model.grads()]
    cpp = eigen_step(exe, model, x, y, repeats=c.repeats)
    with one_blas_thread():
        np_secs = numpy_seconds(model, x, y, c.repeats)

    names = [f"{k}{i + 1}" for i in range(len(model.sizes) - 1) for k in ("W", "b")]
    rows = [
        [name, "×".join(map(str, g.shape)), np.abs(g).max(), max_rel_diff([e], [g])]
        for name, g, e in zip(names, np_grads, cpp.grads)
    ]
    metrics = {
        "max_rel_grad_diff": max_rel_diff(cpp.grads, np_grads),
        "loss_diff": abs(cpp.loss - np_loss),
        "numpy_loss": float(np_loss),
        "numpy_ms": 1e3 * np_secs,
        "eigen_ms": 1e3 * cpp.seconds,
        "speed_ratio": np_secs / cpp.seconds,
        "batch": float(c.batch),
        "repeats": float(c.repeats),
    }
    table = Table(
        columns=[
            "gradient",
            "shape",
            "largest entry (abs)",
            "largest difference, relative",
        ],
        rows=rows,
        formats=["", "", ".3g", ".1e"],
    )
    return Result(
        metrics=metrics,
        tables={"grads": table},
        series={"config": asdict(c), "sizes": list(model.sizes)},
        text={"verdict": verdict(metrics)},
    )


def verdict(m: dict) -> str:
    """Two sentences from the numbers: do the gradients agree, and which is faster."""
    agree = m["max_rel_grad_diff"] <= 1e-6
    head = (
        f"The largest gradient difference, relative to the gradient's scale, is "
        f"{m['max_rel_grad_diff']:.1e}: "
        + (
            "the two backward passes agree to float64 rounding."
            if agree
            else "more than the 1e-6 the port promises, so something differs."
        )
    )
    r = m["speed_ratio"]
    faster = "Eigen" if r > 1 else "NumPy"
    times = r if r > 1 else 1 / r
    tail = (
        f"One forward+backward takes {m['eigen_ms']:.2f} ms in C++ and "
        f"{m['numpy_ms']:.2f} ms in NumPy: {faster} is {times:.1f}× faster here."
    )
    return f"{head} {tail}"


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full" (``seconds`` is unused: it does not
    train)."""
    return run_config(config_for(CONFIGS, budget), seed=seed)
