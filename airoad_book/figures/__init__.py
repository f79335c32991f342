"""The book's figures: one function per figure, one module per chapter.

Each module registers its figures with `airoad_book.figures.registry.figure`; the build
(`python -m airoad_book.figures`, run by the MkDocs hook) draws the ones whose code
changed.
"""

from __future__ import annotations

import importlib

from airoad_book.figures.registry import FIGURES, FigureSpec, figure

# Modules that register figures, in the book's order. Add a line when a chapter adds
# one.
FIGURE_MODULES = (
    "airoad_book.figures.ch01",
    "airoad_book.figures.ch02",
    "airoad_book.figures.ch03",
    "airoad_book.figures.ch04",
    "airoad_book.figures.ch05",
    "airoad_book.figures.ch06",
    "airoad_book.figures.ch07",
    "airoad_book.figures.softmax_cost",
    "airoad_book.figures.word2vec",
    "airoad_book.figures.ch08",
    "airoad_book.figures.ch09",
    "airoad_book.figures.ch10",
    "airoad_book.figures.ch11",
    "airoad_book.figures.messages",
    "airoad_book.figures.ch12",
    "airoad_book.figures.ch13",
    "airoad_book.figures.scaling",
    "airoad_book.figures.transfer",
    "airoad_book.figures.regularisation",
    "airoad_book.figures.generative",
    "airoad_book.figures.appendix_a",
    "airoad_book.figures.appendix_b",
    "airoad_book.figures.diagrams",
    "airoad_book.figures.timeline",
)


def registry() -> dict[str, FigureSpec]:
    """Every figure of the book, by name (imports the figure modules)."""
    for mod in FIGURE_MODULES:
        importlib.import_module(mod)
    return dict(FIGURES)


__all__ = ["FIGURES", "FIGURE_MODULES", "FigureSpec", "figure", "registry"]
