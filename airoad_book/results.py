"""What an experiment returns: metrics, tables, curves and sentences, all JSON-able.

It lives apart from the experiment registry so that an experiment's cache key (see
`airoad_book.figures.cache`) covers the code it runs and not the list of its neighbours.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Table:
    """A small results table: column names, rows, and a format spec per column."""

    columns: list[str]
    rows: list[list[Any]]
    formats: list[str] | None = None  # e.g. ["", ".1f"]; "" leaves a cell as str()

    def __post_init__(self) -> None:
        if self.formats is not None and len(self.formats) != len(self.columns):
            raise ValueError(
                f"Table has {len(self.columns)} columns but {len(self.formats)} formats"
            )
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(
                    f"Table row {row!r} has {len(row)} cells, expected "
                    f"{len(self.columns)}"
                )

    def to_markdown(self) -> str:
        """The table in Markdown, numbers right-aligned and formatted, non-finite values
        as a dash."""
        formats = self.formats or [""] * len(self.columns)

        def cell(value: Any, fmt: str) -> str:
            if isinstance(value, float) and not math.isfinite(value):
                return "—"
            return (
                format(value, fmt)
                if fmt and isinstance(value, (int, float))
                else str(value)
            )

        aligns = ["---:" if fmt else ":---" for fmt in formats]
        lines = ["| " + " | ".join(self.columns) + " |", "|" + "|".join(aligns) + "|"]
        lines += [
            "| " + " | ".join(cell(v, f) for v, f in zip(row, formats)) + " |"
            for row in self.rows
        ]
        return "\n".join(lines)


@dataclass
class Result:
    """What an experiment returns. Everything in it is JSON-able."""

    metrics: dict[str, float]  # the numbers `--json` prints and the book quotes
    tables: dict[str, Table] = field(default_factory=dict)
    series: dict[str, Any] = field(
        default_factory=dict
    )  # curves and points for the figures
    text: dict[str, str] = field(
        default_factory=dict
    )  # sentences written from the numbers
    experiment: str = ""  # the fields below are filled in by run_experiment()
    budget: str = ""
    seed: int = 0
    seconds: float = 0.0  # wall-clock of the whole run (s)

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON-able dicts and lists."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        """A Result from `to_dict()`'s output (unknown keys are ignored)."""
        data = dict(data)
        data["tables"] = {k: Table(**v) for k, v in data.get("tables", {}).items()}
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})
