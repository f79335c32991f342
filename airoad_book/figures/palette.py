"""The book's colours: one per model, a sequence for other lines, and colour maps.

The colours are Paul Tol's "bright" scheme (<https://personal.sron.nl/~pault/>), chosen
to stay distinct under the common kinds of colour blindness and to read on both the
light and the dark page. This module imports nothing heavy, so a lab notebook can take
the same palette for its own plots with `use_book_colors()` without touching
matplotlib's backend.
"""

from __future__ import annotations

BLUE, RED, GREEN, YELLOW, CYAN, PURPLE, GREY = (
    "#4477aa",
    "#ee6677",
    "#228833",
    "#ccbb44",
    "#66ccee",
    "#aa3377",
    "#999999",
)

# Each model keeps its colour from chapter to chapter.
COLORS = {
    # the language models of Part II, one colour each (chapter 13 shows them all
    # together)
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
    # chapter 10's attention model; the scheme has no unused colour left, and purple's
    # other
    # models (the RNN LM, add-one) never share a plot with it
    "attention": PURPLE,
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

# Lines that have no fixed meaning (depths, learning rates, lags...) take colours in
# this order.
SEQUENCE = (BLUE, RED, GREEN, YELLOW, CYAN, PURPLE, GREY)

# Colour maps: sequential for heatmaps and images, diverging for signed values
# (weights).
CMAP = "viridis"
CMAP_DIVERGING = "PuOr"


def use_book_colors() -> None:
    """Make `SEQUENCE` matplotlib's default line colours for the plots drawn after the
    call."""
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams["axes.prop_cycle"] = cycler(color=list(SEQUENCE))


__all__ = [
    "BLUE",
    "CMAP",
    "CMAP_DIVERGING",
    "COLORS",
    "CYAN",
    "GREEN",
    "GREY",
    "PURPLE",
    "RED",
    "SEQUENCE",
    "YELLOW",
    "use_book_colors",
]
