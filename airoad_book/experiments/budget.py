"""Choosing an experiment's config by budget name, with an error that lists the
budgets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

C = TypeVar("C")


def config_for(configs: Mapping[str, C], budget: str) -> C:
    """The config of `budget` ("quick" or "full") from an experiment's `CONFIGS`.

    Raises ValueError naming the budgets the experiment has when `budget` is not one of
    them.
    """
    if budget not in configs:
        raise ValueError(
            f"unknown budget {budget!r}; expected one of: {', '.join(configs)}"
        )
    return configs[budget]


__all__ = ["config_for"]
