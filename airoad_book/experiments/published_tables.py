"""Appendix C: the book's full-budget Penn Treebank runs beside the published numbers.

Four runs are too long for the book's build: Kneser–Ney 5-gram (chapter 5, `ngram-ptb`),
the NPLM (chapter 6, `bengio-vs-ngram`), the RNN LM (chapter 7, `rnn-lm`) and Zaremba et
al.'s small LSTM (chapter 8, `ptb-lstm`). Each is run once with

    uv run airoad-book run NAME --budget full --record

which writes `results/NAME-full.json` with its provenance. This "experiment" trains
nothing: it reads those committed files and lays their test perplexities beside the
papers'. A file not recorded yet gives a row that says so, with its command, so the book
builds either way. The files it reads are named in `READS`, so the figure cache's key
covers their bytes: committing a new results file refreshes the page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from airoad_book.experiments import ngram_ptb, ptb_lstm, rnn_lm
from airoad_book.experiments.budget import config_for
from airoad_book.results import Result, Table

NAME = "published-tables"
CHAPTER = "C"
SUMMARY = "the committed full-budget PTB results (KN5, NPLM, RNN LM, small LSTM) beside the papers' numbers"

PROJECT_ROOT = Path(__file__).resolve().parents[2]
READS = ("results/ngram-ptb-full.json", "results/bengio-vs-ngram-full.json", "results/rnn-lm-full.json",
         "results/ptb-lstm-full.json")


@dataclass(frozen=True)
class Run:
    """One published number and the full-budget run of the book that answers it."""

    model: str  # what the row calls the model
    experiment: str  # the experiment whose full budget reproduces it
    metric: str  # its metric holding the test perplexity
    published: float | None  # the paper's test perplexity on PTB (None: the paper did not report one)
    source: str  # who published it


RUNS = (
    Run("Kneser–Ney 5-gram (ch. 5)", "ngram-ptb", "kn5_test_ppl", ngram_ptb.PUBLISHED_TEST_PPL[5],
        "Mikolov et al. (2011)"),
    Run("NPLM (ch. 6)", "bengio-vs-ngram", "nplm_ppl", None,
        "Bengio et al. (2003) report Brown and AP News, not PTB"),
    Run("RNN LM (ch. 7)", "rnn-lm", "rnn_ppl", rnn_lm.PUBLISHED["rnn"], "Mikolov et al. (2011)"),
    Run("small LSTM, no dropout (ch. 8)", "ptb-lstm", "test_ppl", ptb_lstm.PAPER_TEST_PPL,
        "Zaremba et al. (2014)"),
)


@dataclass(frozen=True)
class Config:
    """Where the committed results files are (relative to the project root, or absolute)."""

    results_dir: str = "results"


CONFIGS = {"quick": Config(), "full": Config()}


def command(experiment: str) -> str:
    """The command that records `experiment`'s full-budget result."""
    return f"uv run airoad-book run {experiment} --budget full --record"


def duration(seconds: float) -> str:
    """A wall-clock time for people: "42 s", "17 min", "3.2 h"."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def read_results(config: Config) -> dict[str, dict | None]:
    """Each run's committed results file as a dict, or None where it is not recorded yet."""
    folder = PROJECT_ROOT / config.results_dir
    out = {}
    for run in RUNS:
        path = folder / f"{run.experiment}-full.json"
        out[run.experiment] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    return out


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Read the committed files; return the table of ours against published, and the provenance."""
    found = read_results(config)
    rows, metrics, lines, verdicts = [], {}, [], []
    for run in RUNS:
        data = found[run.experiment]
        published = "—" if run.published is None else f"{run.published:.1f}"
        if data is None or run.metric not in data.get("metrics", {}):
            rows.append([run.model, published, run.source, "not recorded yet", "—", f"`{command(run.experiment)}`"])
            lines.append(f"- `{run.experiment}`: not recorded yet; record it with `{command(run.experiment)}`.")
            continue
        ours = float(data["metrics"][run.metric])
        prov = data.get("provenance", {})
        key = run.experiment.replace("-", "_")
        metrics[f"{key}_test_ppl"] = ours
        metrics[f"{key}_seconds"] = float(data.get("seconds", 0.0))
        rows.append([run.model, published, run.source, f"{ours:.1f}", duration(data.get("seconds", 0.0)),
                     f"`{command(run.experiment)}`"])
        lines.append(f"- `results/{run.experiment}-full.json`: written by `{prov.get('command', '?')}` at "
                     f"commit `{prov.get('commit', '?')}` on {prov.get('date', '?')}, on "
                     f"{prov.get('machine', '?')}, in {duration(data.get('seconds', 0.0))}.")
        if run.published is not None:
            gap = 100 * (ours / run.published - 1)
            verdicts.append(f"{run.model.split(' (')[0]}: {ours:.1f} against {run.published:.1f} "
                            f"({gap:+.1f}%{', within 5%' if abs(gap) <= 5 else ''})")
    metrics["recorded_runs"] = float(sum(data is not None for data in found.values()))
    table = Table(columns=["model", "published test ppl", "source", "this book's test ppl", "wall-clock",
                           "command"], rows=rows)
    if verdicts:
        verdict = "Recorded so far, ours against the paper's: " + "; ".join(verdicts) + "."
    else:
        verdict = "No full-budget run with a published number is recorded yet."
    return Result(metrics=metrics, tables={"runs": table},
                  text={"provenance": "\n".join(lines), "verdict": verdict})


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """Read the committed results (both budgets read the same files)."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
