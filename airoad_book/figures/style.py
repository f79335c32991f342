"""Light and dark themes for the figures, matched to Material's default and slate schemes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")  # figures are files; never open a window
import matplotlib.pyplot as plt  # noqa: E402

# One palette for the whole book: each model keeps its colour from chapter to chapter.
# The colours are Paul Tol's "bright" scheme, chosen to stay distinct under the common kinds
# of colour blindness and to read on both the light and the dark page.
BLUE, RED, GREEN, YELLOW, CYAN, PURPLE, GREY = (
    "#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#999999")

COLORS = {
    # the language models of Part II, one colour each (chapter 13 shows them all together)
    "unigram": GREY,
    "add-one": PURPLE,
    "kn": BLUE,
    "nplm": RED,
    "mix": GREEN,
    "rnn": PURPLE,
    "lstm": CYAN,
    "gru": GREEN,
    "transformer": YELLOW,
    "gpt": YELLOW,
    # Part I's models and the variants a chapter compares
    "mlp": BLUE,
    "cnn": RED,
    "numpy": BLUE,
    "torch": RED,
    "plain": GREY,
    "residual": RED,
    # the splits of a data set
    "train": GREY,
    "valid": RED,
    "test": GREEN,
}

# Lines that have no fixed meaning (depths, learning rates, lags...) take colours in this order.
SEQUENCE = (BLUE, RED, GREEN, YELLOW, CYAN, PURPLE, GREY)

# Colour maps: sequential for heatmaps and images, diverging for signed values (weights).
CMAP = "viridis"
CMAP_DIVERGING = "PuOr"

_COMMON = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "savefig.transparent": True,
    "savefig.bbox": "tight",
    "svg.fonttype": "none",  # keep text as text: smaller files, selectable labels
    "svg.hashsalt": "airoad",  # stable ids, so an unchanged figure gives identical bytes
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
}

THEMES = {
    "light": {**_COMMON, "text.color": "#222222", "axes.labelcolor": "#222222",
              "axes.edgecolor": "#555555", "xtick.color": "#444444", "ytick.color": "#444444",
              "grid.color": "#888888", "axes.facecolor": "none", "figure.facecolor": "none"},
    "dark": {**_COMMON, "text.color": "#e2e4e9", "axes.labelcolor": "#e2e4e9",
             "axes.edgecolor": "#9ea3ad", "xtick.color": "#c9ccd3", "ytick.color": "#c9ccd3",
             "grid.color": "#9ea3ad", "axes.facecolor": "none", "figure.facecolor": "none"},
}


@contextlib.contextmanager
def themed(theme: str) -> Iterator[None]:
    """Draw inside this block to get the light or the dark variant of a figure."""
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r}; expected one of: {', '.join(THEMES)}")
    with plt.style.context(THEMES[theme]):
        yield
