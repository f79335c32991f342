"""`airoad-book`: list the book's experiments and run one at a budget.

    airoad-book list
    airoad-book run NAME [--budget quick|full] [--seconds S] [--seed N] [--json] [--record]
                         [--resume] [--checkpoint-dir DIR] [--checkpoint-every SECONDS]

With `--json`, stdout carries exactly one JSON object,
`{"experiment", "budget", "seconds", "metrics"}`, and progress goes to stderr.
`--record` also writes the whole result, with the command, commit, date and machine that
made it, to `results/NAME-BUDGET.json`: the committed file a chapter quotes for runs too long
for the build.

A run checkpoints into `checkpoints/NAME-BUDGET/` (`--checkpoint-dir`): every phase of
training (each `fit` call) is saved every `--checkpoint-every` seconds (300) and on Ctrl-C,
which then exits with status 130 and prints the command that resumes the run (`--resume`).
A run that finishes deletes its checkpoints. See `airoad_book.session`.
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


EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a program stopped by Ctrl-C
CHECKPOINTS_DIR = Path("checkpoints")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    """The `airoad-book` argument parser: `list`, and `run NAME [--budget] [--seconds] [--seed] [--json] [--record]
    [--resume] [--checkpoint-dir DIR] [--checkpoint-every SECONDS]`."""
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
    run.add_argument("--resume", action="store_true",
                     help="continue the interrupted run saved in the checkpoint folder")
    run.add_argument("--checkpoint-dir", type=Path, default=None, metavar="DIR",
                     help="where the run's checkpoints go (default: checkpoints/NAME-BUDGET/)")
    run.add_argument("--checkpoint-every", type=_positive_float, default=None, metavar="SECONDS",
                     help="seconds between checkpoints of a training phase (default: 300)")
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


def run_config(name: str, budget: str) -> dict:
    """Experiment `name`'s config at `budget` as a plain dict (empty if it has no CONFIGS)."""
    import dataclasses

    configs = getattr(experiments.module(name), "CONFIGS", None)
    if not configs or budget not in configs:
        return {}
    config = configs[budget]
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)


def resume_command(argv: list[str]) -> str:
    """The command that resumes the run `argv` started: the same arguments and `--resume`."""
    return "uv run airoad-book " + shlex.join([*argv, *([] if "--resume" in argv else ["--resume"])])


def _open_session(args: argparse.Namespace, origin: dict[str, str]):
    from airoad_book.session import CHECKPOINT_EVERY, RunSession

    folder = args.checkpoint_dir or CHECKPOINTS_DIR / f"{args.name}-{args.budget}"
    return RunSession(folder, experiment=args.name, budget=args.budget, seed=args.seed,
                      config=run_config(args.name, args.budget), resume=args.resume,
                      every=args.checkpoint_every or CHECKPOINT_EVERY, provenance=origin)


def _interrupted(session, error: KeyboardInterrupt, argv: list[str]) -> int:
    from airoad_book.session import RunInterrupted

    if session.pending:  # finished phases held in memory: write them, they are done work
        session.flush()
    if session.remove_if_empty():
        print("\ninterrupted before anything was checkpointed; run the same command again to start over",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    if isinstance(error, RunInterrupted):
        where = f"interrupted at step {error.step:,} of {error.desc!r}; checkpoint saved in {error.checkpoint}"
    else:
        where = f"interrupted; the last checkpoints are in {session.directory}"
    print(f"\n{where}\nresume with:\n  {resume_command(argv)}", file=sys.stderr)
    return EXIT_INTERRUPTED


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    from airoad_book.progress import set_progress
    from airoad_book.session import using

    set_progress("bar")
    now = provenance([a for a in argv if a != "--resume"])  # the code as it is when this session begins
    try:
        session = _open_session(args, now)
    except ValueError as error:
        print(f"airoad-book run: error: {error}", file=sys.stderr)
        return 2
    if session.resumed:
        print(f"resuming the run in {session.directory}: {len(session.saved_phases())} phase(s) saved",
              file=sys.stderr)
    started_at = session.manifest["provenance"].get("commit")
    if session.resumed and started_at != now["commit"]:
        print(f"note: this run began at commit {started_at}; the code has changed since, so the "
              "resumed run may not end where an uninterrupted one would", file=sys.stderr)
    try:
        with using(session):
            result = experiments.run_experiment(args.name, budget=args.budget, seed=args.seed,
                                                seconds=args.seconds)
    except KeyboardInterrupt as error:
        return _interrupted(session, error, argv)
    result.seconds += session.previous_elapsed  # a resumed run's wall-clock counts every session's
    if args.record:
        # the code as it was when the run began, and the command without --resume
        origin = dict(session.manifest["provenance"])
        if now["commit"] != origin["commit"]:
            origin["commit"] += f" (resumed at {now['commit']})"
        data = {**result.to_dict(), "provenance": origin}
        path = RESULTS_DIR / f"{args.name}-{args.budget}.json"
        write_atomically(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())
        print(f"wrote {path}", file=sys.stderr)
    session.remove()  # the run is done: its checkpoints have nothing left to resume
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
