"""Light and dark themes for the figures, matched to Material's default and slate
schemes."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")  # figures are files; never open a window
import matplotlib.pyplot as plt  # noqa: E402
from cycler import cycler  # noqa: E402

# The palette lives in its own light module so lab notebooks can share it; see
# palette.py.
from airoad_book.figures.palette import (  # noqa: E402,F401  (re-exported for the figure modules)
    CMAP,
    CMAP_DIVERGING,
    COLORS,
    SEQUENCE,
)

_COMMON = {
    "axes.prop_cycle": cycler(color=list(SEQUENCE)),  # lines without a named colour
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "savefig.transparent": True,
    "savefig.bbox": "tight",
    "svg.fonttype": "none",  # keep text as text: smaller files, selectable labels
    # stable ids, so an unchanged figure gives identical bytes
    "svg.hashsalt": "airoad",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
}

THEMES = {
    "light": {
        **_COMMON,
        "text.color": "#222222",
        "axes.labelcolor": "#222222",
        "axes.edgecolor": "#555555",
        "xtick.color": "#444444",
        "ytick.color": "#444444",
        "grid.color": "#888888",
        "axes.facecolor": "none",
        "figure.facecolor": "none",
    },
    "dark": {
        **_COMMON,
        "text.color": "#e2e4e9",
        "axes.labelcolor": "#e2e4e9",
        "axes.edgecolor": "#9ea3ad",
        "xtick.color": "#c9ccd3",
        "ytick.color": "#c9ccd3",
        "grid.color": "#9ea3ad",
        "axes.facecolor": "none",
        "figure.facecolor": "none",
    },
}


@contextlib.contextmanager
def themed(theme: str) -> Iterator[None]:
    """Draw inside this block to get the light or the dark variant of a figure."""
    if theme not in THEMES:
        raise ValueError(
            f"unknown theme {theme!r}; expected one of: {', '.join(THEMES)}"
        )
    with plt.style.context(THEMES[theme]):
        yield


def bits_per_char_axis(ax: plt.Axes) -> None:
    """Add a right-hand axis to ``ax`` that reads its y values, in nats per character,
    as bits."""
    right = ax.secondary_yaxis(
        "right", functions=(lambda nats: nats / math.log(2), lambda b: b * math.log(2))
    )
    right.set_ylabel("bits per character")
