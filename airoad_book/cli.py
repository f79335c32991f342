"""`airoad-book`: list the book's experiments and run one at a budget.

    airoad-book list
    airoad-book run NAME [--budget quick|full] [--seconds S] [--seed N] [--json] [--record]

With `--json`, stdout carries exactly one JSON object,
`{"experiment", "budget", "seconds", "metrics"}`, and progress goes to stderr.
`--record` also writes the whole result, with the command, commit, date and machine that
made it, to `results/NAME-BUDGET.json`: the committed file a chapter quotes for runs too long
for the build.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

from airoad_book import experiments
from airoad_book.figures.build import write_atomically

RESULTS_DIR = Path("results")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    """The `airoad-book` argument parser: `list`, and `run NAME [--budget] [--seconds] [--seed] [--json] [--record]`."""
    top = argparse.ArgumentParser(prog="airoad-book", description="Run the experiments of the book "
                                  "'From Bengio to the Transformer'.")
    sub = top.add_subparsers(dest="command", required=True, metavar="{list,run}")
    sub.add_parser("list", help="name the experiments, with their chapter and what they test")
    run = sub.add_parser("run", help="run one experiment")
    run.add_argument("name", choices=experiments.names(), metavar="NAME",
                     help=f"one of: {', '.join(experiments.names())}")
    run.add_argument("--budget", choices=experiments.BUDGETS, default="quick",
                     help="quick: what the book's build runs (seconds); full: the published-scale run")
    run.add_argument("--seconds", type=_positive_float, default=None,
                     help="cap on the training wall-clock, in seconds (experiments that train)")
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    run.add_argument("--json", action="store_true", help="print one JSON object on stdout, progress on stderr")
    run.add_argument("--record", action="store_true",
                     help="also write the result with its provenance to results/NAME-BUDGET.json")
    return top


def _list() -> int:
    rows = []
    for name in experiments.names():
        mod = experiments.module(name)
        rows.append((f"ch. {mod.CHAPTER}", name, mod.SUMMARY))
    width = max(len(r[1]) for r in rows)
    for chapter, name, summary in rows:
        print(f"{chapter:>6}  {name:<{width}}  {summary}")
    return 0


def provenance(argv: list[str]) -> dict[str, str]:
    """The command, commit, date and machine of a run, for a committed results file."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    import torch

    cpu = platform.processor() or platform.machine()
    return {
        "command": "airoad-book " + shlex.join(argv),
        "commit": commit,
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPU cores ({cpu}), {platform.system()}, "
                   f"Python {platform.python_version()}, torch {torch.__version__}, "
                   f"{torch.get_num_threads()} torch threads",
    }


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    from airoad_book.progress import set_progress

    set_progress("bar")
    origin = provenance(argv) if args.record else None  # the code as it was when the run began
    result = experiments.run_experiment(args.name, budget=args.budget, seed=args.seed, seconds=args.seconds)
    if origin is not None:
        data = {**result.to_dict(), "provenance": origin}
        path = RESULTS_DIR / f"{args.name}-{args.budget}.json"
        write_atomically(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())
        print(f"wrote {path}", file=sys.stderr)
    if args.json:
        out = {"experiment": result.experiment, "budget": result.budget,
               "seconds": round(result.seconds, 3), "metrics": result.metrics}
        print(json.dumps(out))
        return 0
    print(f"{result.experiment} ({result.budget} budget, seed {result.seed}) in {result.seconds:.1f} s")
    width = max((len(k) for k in result.metrics), default=0)
    for key, value in result.metrics.items():
        print(f"  {key:<{width}}  {value:.6g}")
    for name, table in result.tables.items():
        print(f"\n{name}\n{table.to_markdown()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the `airoad-book` command on `argv` (default: `sys.argv[1:]`) and return its exit status."""
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)  # exits 2 with the valid choices on bad input
    if args.command == "list":
        return _list()
    return _run(args, argv)


if __name__ == "__main__":
    sys.exit(main())
