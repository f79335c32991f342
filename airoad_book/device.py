"""Hardware and randomness: the one place the book picks a device and seeds its
generators.

The book is CPU-first. A CUDA GPU or Apple's MPS is used when present, never required.
Set ``AIROAD_DEVICE=cpu`` (or ``cuda``, ``mps``) to override the choice, for example to
get the CPU's bit-for-bit reproducible results on a machine that has a GPU.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

DEVICE_ENV = "AIROAD_DEVICE"
DEVICES = ("cpu", "cuda", "mps")
_SEED_LIMIT = 2**32  # numpy's legacy seeding accepts 0 <= seed < 2**32


# --8<-- [start:device]
def device() -> torch.device:
    """CUDA if available, else Apple MPS if available, else the CPU (or
    ``$AIROAD_DEVICE``)."""
    forced = os.environ.get(DEVICE_ENV)
    if forced:
        return _forced_device(forced)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


# --8<-- [end:device]


def _forced_device(name: str) -> torch.device:
    if name not in DEVICES:
        raise ValueError(
            f"{DEVICE_ENV} must be one of {', '.join(DEVICES)}; got {name!r}"
        )
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }
    if not available[name]:
        raise ValueError(
            f"{DEVICE_ENV}={name!r} asks for a device this machine does not have"
        )
    return torch.device(name)


# --8<-- [start:seed]
def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's ``random``, NumPy and torch; return a torch generator for data
    sampling.

    Seeding the global generators makes weight initialisation repeatable; the returned
    generator, passed explicitly to samplers, keeps the order of the data independent of
    how many random numbers the model happened to draw.
    """
    if (
        isinstance(seed, bool)
        or not isinstance(seed, int)
        or not 0 <= seed < _SEED_LIMIT
    ):
        raise ValueError(f"seed must be an integer in [0, 2**32); got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


# --8<-- [end:seed]
