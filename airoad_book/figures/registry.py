"""The figure registry: `@figure(...)` records a drawing function with its experiment.

A figure function takes an experiment's `Result` and returns a matplotlib `Figure`; it
never trains anything. The build (`airoad_book.figures.build`, run by the MkDocs hook)
calls each one twice, under the light and the dark theme, and caches both images under a
key that covers the source code the figure depends on (`airoad_book.figures.cache`).

```python
from matplotlib.figure import Figure

from airoad_book.figures.registry import figure
from airoad_book.results import Result

@figure("my-orders", experiment="ngram-baselines", caption="Perplexity against order.")
def my_orders(result: Result) -> Figure: ...
```

A page shows it with the placeholder `{{ figure ngram-orders }}`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class FigureSpec:
    """One registered figure: its name, the experiment it draws, caption, alt text and
    drawing function."""

    name: str
    experiment: str  # the experiment whose Result the figure draws
    caption: str
    alt: str  # text for screen readers and broken images
    draw: Callable  # (Result) -> matplotlib.figure.Figure
    module: str  # where draw lives: its source is part of the cache key


FIGURES: dict[str, FigureSpec] = {}


def figure(
    name: str, *, experiment: str, caption: str, alt: str | None = None
) -> Callable:
    """Register the decorated function as figure `name`, drawn from `experiment`'s
    Result."""

    def register(draw: Callable) -> Callable:
        known = FIGURES.get(name)
        if known is not None and known.module != draw.__module__:
            raise ValueError(
                f"figure {name!r} is registered twice ({known.module}, "
                f"{draw.__module__})"
            )
        FIGURES[name] = FigureSpec(
            name, experiment, caption, alt or caption, draw, draw.__module__
        )
        return draw

    return register
