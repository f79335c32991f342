"""The home page's timeline: each of the book's models, in the year of its paper, beside
the number its full-budget run measured.

This "experiment" trains nothing. It reads the committed `results/NAME-full.json` files
(each written by `uv run airoad-book run NAME --budget full --record`, with its
provenance) and returns one row per model: year, model, chapter, the measured number and
what it is. A model with no recorded full run gets a row that says so, so the book
builds either way. The files are named in `READS`, so the figure cache's key covers
their bytes: committing a new results file redraws the timeline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from airoad_book.experiments.budget import config_for
from airoad_book.results import Result, Table

NAME = "timeline"
CHAPTER = "home"
SUMMARY = (
    "the book's models on a 2003–2018 timeline, each with its recorded full-run number"
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
READS = (
    "results/ngram-ptb-full.json",
    "results/bengio-vs-ngram-full.json",
    "results/rnn-lm-full.json",
    "results/ptb-lstm-full.json",
    "results/seq2seq-length-full.json",
    "results/transformer-vs-rnn-full.json",
    "results/gpt-shakespeare-full.json",
)


@dataclass(frozen=True)
class Milestone:
    """One model of the book: its paper's year and the recorded metric that sums it
    up."""

    key: str  # the name of its metrics in the Result
    year: int  # the year of the paper the chapter reproduces
    model: str  # the model, as the timeline labels it
    chapter: str  # the chapter's page, relative to docs/
    experiment: str  # the experiment whose full-budget file holds the number
    metric: str  # that file's metric
    unit: str  # what the number is, for the label
    fmt: str  # its format


MILESTONES = (
    Milestone(
        "nplm",
        2003,
        "NPLM (Bengio et al.)",
        "part2/06-bengio.md",
        "bengio-vs-ngram",
        "nplm_ppl",
        "PTB test perplexity",
        ".1f",
    ),
    Milestone(
        "rnn_lm",
        2010,
        "RNN LM (Mikolov et al.)",
        "part2/07-rnnlm.md",
        "rnn-lm",
        "rnn_ppl",
        "PTB test perplexity",
        ".1f",
    ),
    Milestone(
        "lstm",
        2014,
        "small LSTM (Zaremba et al.)",
        "part2/08-lstm-gru.md",
        "ptb-lstm",
        "test_ppl",
        "PTB test perplexity",
        ".1f",
    ),
    Milestone(
        "seq2seq",
        2014,
        "seq2seq (Sutskever et al.)",
        "part2/09-seq2seq.md",
        "seq2seq-length",
        "bleu_encdec",
        "BLEU, numbers task",
        ".1f",
    ),
    Milestone(
        "attention",
        2015,
        "attention (Bahdanau et al.)",
        "part2/10-attention.md",
        "seq2seq-length",
        "bleu_attn",
        "BLEU, numbers task",
        ".1f",
    ),
    Milestone(
        "transformer",
        2017,
        "Transformer (Vaswani et al.)",
        "part2/11-transformer.md",
        "transformer-vs-rnn",
        "bleu_transformer",
        "BLEU, numbers task",
        ".1f",
    ),
    Milestone(
        "gpt",
        2018,
        "tiny GPT (Radford et al.)",
        "part2/12-gpt.md",
        "gpt-shakespeare",
        "val_bpc",
        "bits/char, Shakespeare",
        ".2f",
    ),
)
BASELINE = (
    "ngram-ptb",
    "kn5_test_ppl",
)  # the count-based line the PTB models are read against


@dataclass(frozen=True)
class Config:
    """Where the committed results files are (relative to the project root, or
    absolute)."""

    results_dir: str = "results"


CONFIGS = {"quick": Config(), "full": Config()}


def read(config: Config, experiment: str) -> dict | None:
    """The committed full-budget results of `experiment` as a dict, or None if not
    recorded."""
    path = PROJECT_ROOT / config.results_dir / f"{experiment}-full.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """One row per milestone: its year, model, chapter and recorded number (or a
    gap)."""
    metrics: dict[str, float] = {}
    rows, years, labels, values, recorded = [], [], [], [], []
    for m in MILESTONES:
        data = read(config, m.experiment)
        value = None if data is None else data.get("metrics", {}).get(m.metric)
        if value is None:
            shown = "no full run recorded"
        else:
            value = float(value)
            metrics[f"{m.key}_{m.metric}"] = value
            shown = f"{value:{m.fmt}} {m.unit}"
        rows.append(
            [str(m.year), m.model, f"[chapter]({m.chapter})", shown, m.experiment]
        )
        years.append(m.year)
        labels.append(m.model)
        values.append(shown)
        recorded.append(value is not None)
    base = read(config, BASELINE[0])
    if base is not None and BASELINE[1] in base.get("metrics", {}):
        metrics["kn5_test_ppl"] = float(base["metrics"][BASELINE[1]])
    metrics["recorded"] = float(sum(recorded))
    table = Table(
        columns=["year", "model", "chapter", "recorded full run", "experiment"],
        rows=rows,
    )
    series = {
        "milestones": {
            "year": years,
            "model": labels,
            "shown": values,
            "recorded": recorded,
        }
    }
    return Result(
        metrics=metrics,
        tables={"milestones": table},
        series=series,
        text={"recorded": f"{sum(recorded)} of {len(MILESTONES)} models"},
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """Read the committed results (both budgets read the same files)."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
