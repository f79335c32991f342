"""Appendix C: the book's full-budget Penn Treebank runs beside the published numbers.

Every family of the book has a word-level run too long for the book's build: Kneser–Ney
5-gram (chapter 5, `ngram-ptb`), the NPLM with the book's recipe and with the paper's
(chapter 6, `bengio-vs-ngram`, `bengio-paper-recipe`), the RNN LM (chapter 7, `rnn-lm`),
Zaremba et al.'s small LSTM and the same recipe with a GRU (chapter 8, `ptb-lstm`,
`ptb-gru`) and the GPT (chapter 12, `ptb-gpt`). Each is run once with

    uv run airoad-book run NAME --budget full --record

which writes `results/NAME-full.json` with its provenance. This "experiment" trains
nothing: it reads those committed files and lays their test perplexities beside the
papers'. A file not recorded yet gives a row that says so, with its command and, where
a committed run of a neighbour allows it, napkin math for how long it takes
(`estimated_seconds`), so the book builds either way. The files it reads are named in
`READS`, so the figure cache's key covers their bytes: committing a new results file
refreshes the page.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from airoad_book.cost import training_seconds
from airoad_book.experiments import (
    ngram_ptb,
    ptb_gpt,
    ptb_lstm,
    ptb_lstm_dropout,
    rnn_lm,
)
from airoad_book.experiments.budget import config_for
from airoad_book.models.lstm import recurrent_parameter_count
from airoad_book.results import Result, Table

NAME = "published-tables"
CHAPTER = "C"
SUMMARY = (
    "the committed full-budget PTB results (KN5, NPLM, RNN LM, LSTMs, GRU, GPT) "
    "beside the papers' numbers"
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
READS = (
    "results/ngram-ptb-full.json",
    "results/bengio-vs-ngram-full.json",
    "results/bengio-paper-recipe-full.json",
    "results/rnn-lm-full.json",
    "results/ptb-lstm-full.json",
    "results/ptb-lstm-dropout-full.json",
    "results/ptb-gru-full.json",
    "results/ptb-gpt-full.json",
    "results/gpt-shakespeare-full.json",
)


@dataclass(frozen=True)
class Run:
    """One published number and the full-budget run of the book that answers it."""

    model: str  # what the row calls the model
    experiment: str  # the experiment whose full budget reproduces it
    metric: str  # its metric holding the test perplexity
    published: (
        float | None
    )  # the paper's test perplexity on PTB (None: the paper did not report one)
    source: str  # who published it


RUNS = (
    Run(
        "Kneser–Ney 5-gram (ch. 5)",
        "ngram-ptb",
        "kn5_test_ppl",
        ngram_ptb.PUBLISHED_TEST_PPL[5],
        "Mikolov et al. (2011)",
    ),
    Run(
        "NPLM, Adam (ch. 6)",
        "bengio-vs-ngram",
        "nplm_ppl",
        None,
        "Bengio et al. (2003) report Brown and AP News, not PTB",
    ),
    Run(
        "NPLM, the paper's SGD + weight decay (ch. 6)",
        "bengio-paper-recipe",
        "nplm_ppl",
        None,
        "the paper's recipe, at the book's shapes",
    ),
    Run(
        "RNN LM (ch. 7)",
        "rnn-lm",
        "rnn_ppl",
        rnn_lm.PUBLISHED["rnn"],
        "Mikolov et al. (2011)",
    ),
    Run(
        "small LSTM, no dropout (ch. 8)",
        "ptb-lstm",
        "test_ppl",
        ptb_lstm.PAPER_TEST_PPL,
        "Zaremba et al. (2014)",
    ),
    Run(
        "medium LSTM, dropout 0.5 (ch. 8)",
        "ptb-lstm-dropout",
        "test_ppl",
        ptb_lstm_dropout.PAPER_TEST_PPL,
        "Zaremba et al. (2014)",
    ),
    Run(
        "GRU, the small LSTM's recipe (ch. 8)",
        "ptb-gru",
        "test_ppl",
        None,
        "no published run at this setup",
    ),
    Run(
        "GPT, 4 × 128 (ch. 12)",
        "ptb-gpt",
        "test_ppl",
        None,
        "no published run at this size",
    ),
)


@dataclass(frozen=True)
class Config:
    """Where the committed results files are (relative to the project root, or
    absolute)."""

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


def where(provenance: dict) -> str:
    """ " on a GPU" for a run its provenance says trained on one, else nothing: the
    wall-clock column mixes machines."""
    return " on a GPU" if "device cuda" in provenance.get("machine", "") else ""


def read_results(config: Config) -> dict[str, dict | None]:
    """Each run's committed results file as a dict, or None where it is not recorded
    yet."""
    folder = PROJECT_ROOT / config.results_dir
    out = {}
    for name in [run.experiment for run in RUNS] + ["gpt-shakespeare"]:
        path = folder / f"{name}-full.json"
        out[name] = (
            json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
        )
    return out


def recurrent_flops_ratio(
    kind: str, other: str, hidden: int = 200, layers: int = 2, vocab: int = 10_000
) -> float:
    """Training FLOPs per token of a ``kind`` network over an ``other`` one of the same
    widths: 6 × (recurrent weights + output layer) each; the word-vector lookup is
    free."""

    def flops(k: str) -> int:
        return 6 * (
            recurrent_parameter_count(k, hidden, hidden, layers) + hidden * vocab
        )

    return flops(kind) / flops(other)


def estimated_seconds(
    experiment: str, found: dict[str, dict | None]
) -> tuple[float, str] | None:
    """Napkin math for an unrecorded run from a committed neighbour: (seconds, how).

    - `ptb-gru`: the recorded `ptb-lstm` run's seconds times the two cells' FLOP ratio;
    - `ptb-gpt`: its training FLOPs (`airoad_book.cost`'s count) over the GFLOP/s the
      recorded `gpt-shakespeare` run achieved, the same engine at the same width.
    None where the neighbour is not recorded either, or for any other experiment.
    """
    if experiment == "ptb-gru" and found.get("ptb-lstm"):
        ratio = recurrent_flops_ratio("gru", "lstm")
        seconds = ratio * float(found["ptb-lstm"]["seconds"])
        return seconds, (
            f"the recorded LSTM run's time × {ratio:.2f}, the GRU's share "
            "of "
            "the LSTM's FLOPs per token"
        )
    if experiment == "ptb-gpt" and found.get("gpt-shakespeare"):
        flops = ptb_gpt.training_flops(ptb_gpt.CONFIGS["full"])
        rate = float(found["gpt-shakespeare"]["metrics"]["achieved_gflops"]) * 1e9
        return training_seconds(flops, rate), (
            f"{flops:.2g} training FLOPs at the {rate / 1e9:.0f} GFLOP/s chapter 12's "
            "recorded run achieved (evaluation not counted)"
        )
    return None


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Read the committed files; return the table of ours against published, and the
    provenance."""
    found = read_results(config)
    rows, metrics, lines, verdicts = [], {}, [], []
    for run in RUNS:
        data = found[run.experiment]
        published = "—" if run.published is None else f"{run.published:.1f}"
        if data is None or run.metric not in data.get("metrics", {}):
            guess = estimated_seconds(run.experiment, found)
            time = "—" if guess is None else f"≈ {duration(guess[0])} (estimate)"
            rows.append(
                [
                    run.model,
                    published,
                    run.source,
                    "not recorded yet",
                    time,
                    f"`{command(run.experiment)}`",
                ]
            )
            how = "" if guess is None else f" (about {duration(guess[0])}: {guess[1]})"
            lines.append(
                f"- `{run.experiment}`: not recorded yet; record it with "
                f"`{command(run.experiment)}`{how}."
            )
            continue
        ours = float(data["metrics"][run.metric])
        prov = data.get("provenance", {})
        key = run.experiment.replace("-", "_")
        metrics[f"{key}_test_ppl"] = ours
        metrics[f"{key}_seconds"] = float(data.get("seconds", 0.0))
        rows.append(
            [
                run.model,
                published,
                run.source,
                f"{ours:.1f}",
                duration(data.get("seconds", 0.0)) + where(prov),
                f"`{command(run.experiment)}`",
            ]
        )
        lines.append(
            f"- `results/{run.experiment}-full.json`: written by "
            f"`{prov.get('command', '?')}` at "
            f"commit `{prov.get('commit', '?')}` on {prov.get('date', '?')}, on "
            f"{prov.get('machine', '?')}, in {duration(data.get('seconds', 0.0))}."
        )
        if run.published is not None:
            gap = 100 * (ours / run.published - 1)
            verdicts.append(
                f"{run.model.split(' (')[0]}: {ours:.1f} against {run.published:.1f} "
                f"({gap:+.1f}%{', within 5%' if abs(gap) <= 5 else ''})"
            )
    metrics["recorded_runs"] = float(
        sum(found[run.experiment] is not None for run in RUNS)
    )
    table = Table(
        columns=[
            "model",
            "published test ppl",
            "source",
            "this book's test ppl",
            "wall-clock",
            "command",
        ],
        rows=rows,
    )
    if verdicts:
        verdict = (
            "Recorded so far, ours against the paper's: " + "; ".join(verdicts) + "."
        )
    else:
        verdict = "No full-budget run with a published number is recorded yet."
    return Result(
        metrics=metrics,
        tables={"runs": table},
        text={
            "provenance": "\n".join(lines),
            "verdict": verdict,
            "recipes": recipe_sentence(found),
            "medium": medium_sentence(found),
        },
    )


def times_ten(x: float) -> str:
    """``x`` > 0 to one significant figure as people write it: "4 × 10¹⁵"."""
    exponent = math.floor(math.log10(x))
    mantissa = round(x / 10**exponent)
    if mantissa == 10:
        mantissa, exponent = 1, exponent + 1
    power = str(exponent).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{mantissa} × 10{power}"


def lstm_training_flops(params: float, tokens: float, epochs: float) -> float:
    """6 FLOPs per parameter per training token (forward and backward), over every
    epoch: the count chapter 14 uses. The word-vector lookup is counted too, so this
    errs high."""
    return 6.0 * params * tokens * epochs


def medium_sentence(found: dict[str, dict | None]) -> str:
    """The medium LSTM's cost, and what it would take on one thread here, from the
    small LSTM's recorded speed."""
    medium = ptb_lstm_dropout.CONFIGS["full"]
    params = ptb_lstm.size_of(medium, 10_000)
    flops = lstm_training_flops(params, 929_589, medium.epochs)
    head = (
        f"It has {params / 1e6:.1f} million parameters and needs about "
        f"{times_ten(flops)} training FLOPs"
    )
    m = (found.get("ptb-lstm") or {}).get("metrics", {})
    needed = ("params", "train_tokens", "epochs_done", "train_seconds")
    if not all(m.get(k) for k in needed):
        return head + "."
    rate = (
        lstm_training_flops(m["params"], m["train_tokens"], m["epochs_done"])
        / (m["train_seconds"])
    )
    return head + (
        f": at the {rate / 1e9:.0f} GFLOP/s the small LSTM's recorded run achieved, "
        f"{duration(flops / rate)} of one thread. It was recorded on a borrowed GPU, "
        "and the wall-clock column says so."
    )


def recipe_sentence(found: dict[str, dict | None]) -> str:
    """What the book's NPLM recipe costs or buys against the paper's, from both runs."""
    book, paper = found.get("bengio-vs-ngram"), found.get("bengio-paper-recipe")
    if not book or not paper:
        return (
            "The NPLM's run with the paper's recipe is not recorded yet: record it "
            f"with `{command('bengio-paper-recipe')}`."
        )
    b, p = book["metrics"], paper["metrics"]
    gap = b["nplm_ppl"] - p["nplm_ppl"]
    what = "costs" if gap > 0 else "buys"
    return (
        f"With the paper's recipe (SGD, weight decay 10⁻⁴) the NPLM reaches a test "
        f"perplexity of {p['nplm_ppl']:.1f} after {p['epochs']:.1f} epochs; with "
        f"the book's (Adam, no weight decay) {b['nplm_ppl']:.1f} after "
        f"{b['epochs']:.1f}. "
        f"The book's departure from the paper {what} {abs(gap):.1f} points of test "
        f"perplexity ({100 * abs(gap) / p['nplm_ppl']:.1f}%). Mixed with "
        "Kneser–Ney, "
        f"the two reach {p['mix_ppl']:.1f} (paper's recipe) and {b['mix_ppl']:.1f} "
        "(the book's)."
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """Read the committed results (both budgets read the same files)."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
