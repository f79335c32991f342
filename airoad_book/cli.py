"""`airoad-book`: list the book's experiments and run one at a budget.

    airoad-book list
    airoad-book run NAME [--budget quick|full] [--seconds S] [--seed N] [--json] [--record]
                         [--results-dir DIR] [--resume] [--checkpoint-dir DIR]
                         [--checkpoint-every SECONDS]

With `--json`, stdout carries exactly one JSON object, `{"experiment", "budget",
"seconds", "metrics"}`, and progress goes to stderr. `--record` also writes the whole
result, with the command, commit, date and machine that made it, to
`results/NAME-BUDGET.json`: the committed file a chapter quotes for runs too long for
the build.

`results/` and `checkpoints/` are folders of the book's checkout when the command runs
anywhere inside one (the folder of the `pyproject.toml` that names `airoad-book`), and
of the current directory otherwise; `--results-dir` and `--checkpoint-dir` choose
others. Both are checked before anything runs: a file, or a folder this user cannot
write, is an error.

A run checkpoints into `checkpoints/NAME-BUDGET/` (`--checkpoint-dir`): every phase of
training (each `fit` call, in this process or in a worker process that trains one of
several models at once) is saved every `--checkpoint-every` seconds (300) and on
Ctrl-C, which then exits with status 130 and prints the command that resumes the run
(`--resume`). A run that finishes deletes its checkpoints. See `airoad_book.session`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from airoad_book import experiments
from airoad_book.figures.build import write_atomically

RESULTS_DIR = Path("results")  # under the book's checkout, or the current directory


EXIT_INTERRUPTED = (
    130  # 128 + SIGINT, what a shell reports for a program stopped by Ctrl-C
)
CHECKPOINTS_DIR = Path("checkpoints")  # likewise
PROJECT = "airoad-book"  # the name in the checkout's pyproject.toml


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds, got {text!r}"
        ) from None
    if not math.isfinite(value) or value <= 0:  # nan compares False with everything
        raise argparse.ArgumentTypeError(
            "expected a finite, positive number of seconds (such as 60 or 0.5), "
            f"got {text}"
        )
    return value


def _experiment_name(text: str) -> str:
    names = experiments.names()
    if text in names:
        return text
    close = difflib.get_close_matches(text, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise argparse.ArgumentTypeError(
        f"unknown experiment {text!r}; {hint}expected one of: {', '.join(names)} "
        "(`airoad-book list` says what each runs)"
    )


def book_root(start: Path | None = None) -> Path | None:
    """The checkout of the book that holds `start` (default: the current directory).

    A checkout is a folder whose `pyproject.toml` names the project `airoad-book`; None
    when no folder from `start` up is one.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        try:
            text = pyproject.read_text(encoding="utf-8")
            name = tomllib.loads(text)["project"]["name"]
        except (OSError, UnicodeError, tomllib.TOMLDecodeError, KeyError, TypeError):
            continue
        if name == PROJECT:
            return folder
    return None


def output_base() -> tuple[Path, str]:
    """Where `results/` and `checkpoints/` go by default, and how a message says so."""
    root = book_root()
    if root is not None:
        return root, f"the book's checkout {root}"
    outside = "the current directory, which is not inside a checkout of the book"
    return Path.cwd().resolve(), outside


def check_writable_dir(path: Path, flag: str, what: str) -> None:
    """ValueError unless `path` is a folder this process can write `what` in (or make).

    Nothing is created: a probe file in `path` (or in its nearest existing parent) is
    opened and deleted at once, which also catches a read-only file system.
    """
    existing = path
    while not (existing.exists() or existing.is_symlink()):
        if existing == existing.parent:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(
            f"{flag}: expected a folder to write {what} in, but {existing} is a file"
        )
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".airoad-write-probe-"):
            pass
    except OSError as error:
        raise ValueError(
            f"{flag}: expected a folder this user can write {what} in, but {existing} "
            f"cannot be written ({error.strerror or error})"
        ) from None


def parser() -> argparse.ArgumentParser:
    """The `airoad-book` argument parser: `list`, and `run NAME [--budget] [--seconds]
    [--seed] [--json] [--record] [--results-dir DIR] [--resume] [--checkpoint-dir DIR]
    [--checkpoint-every SECONDS]`."""
    top = argparse.ArgumentParser(
        prog="airoad-book",
        description="Run the experiments of the book 'From Bengio to the Transformer'.",
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="{list,run}")
    sub.add_parser(
        "list", help="name the experiments, with their chapter and what they test"
    )
    run = sub.add_parser("run", help="run one experiment")
    run.add_argument(
        "name",
        type=_experiment_name,
        metavar="NAME",
        help=f"one of: {', '.join(experiments.names())}",
    )
    run.add_argument(
        "--budget",
        choices=experiments.BUDGETS,
        default="quick",
        help="quick: what the book's build runs (seconds); full: the published-scale run",
    )
    run.add_argument(
        "--seconds",
        type=_positive_float,
        default=None,
        help="cap on the training wall-clock, in seconds (experiments that train)",
    )
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    run.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object on stdout, progress on stderr",
    )
    run.add_argument(
        "--record",
        action="store_true",
        help="also write the result with its provenance to results/NAME-BUDGET.json",
    )
    run.add_argument(
        "--results-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where --record writes (default: results/ of the book's checkout when run "
        "inside one, else of the current directory)",
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted run saved in the checkpoint folder",
    )
    run.add_argument(
        "--checkpoint-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the run's checkpoints go "
        "(default: checkpoints/NAME-BUDGET/, beside results/)",
    )
    run.add_argument(
        "--checkpoint-every",
        type=_positive_float,
        default=None,
        metavar="SECONDS",
        help="seconds between checkpoints of a training phase (default: 300)",
    )
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
            return subprocess.run(
                ["git", *args], capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    # a copy of the tree made elsewhere (a borrowed GPU machine) names the commit it
    # holds in $AIROAD_COMMIT: its own .git, if any, may be an older one
    commit = os.environ.get("AIROAD_COMMIT") or git("rev-parse", "--short", "HEAD")
    if not commit:
        commit = "unknown"
    elif "AIROAD_COMMIT" not in os.environ and git(
        "status", "--porcelain", "--untracked-files=no"
    ):
        commit += " (with uncommitted changes)"
    import torch

    from airoad_book.device import device

    cpu = platform.processor() or platform.machine()
    dev = device()
    accelerator = f", {torch.cuda.get_device_name(dev)}" if dev.type == "cuda" else ""
    return {
        "command": "airoad-book " + shlex.join(argv),
        "commit": commit,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPU cores ({cpu}), {platform.system()}, "
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch threads, device {dev.type}{accelerator}",
    }


def run_config(name: str, budget: str) -> dict:
    """Experiment `name`'s config at `budget` as a plain dict (empty if it has no
    CONFIGS)."""
    import dataclasses

    configs = getattr(experiments.module(name), "CONFIGS", None)
    if not configs or budget not in configs:
        return {}
    config = configs[budget]
    return (
        dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
    )


def resume_command(argv: list[str]) -> str:
    """The command that resumes the run `argv` started: the same arguments and
    `--resume`."""
    return "uv run airoad-book " + shlex.join(
        [*argv, *([] if "--resume" in argv else ["--resume"])]
    )


def _folders(args: argparse.Namespace) -> tuple[Path, Path | None, str]:
    """The checkpoint folder, the results folder (None without --record), and where.

    ValueError naming the flag if either is a file or cannot be written.
    """
    base, where = output_base()
    default = base / CHECKPOINTS_DIR / f"{args.name}-{args.budget}"
    checkpoints = args.checkpoint_dir or default
    check_writable_dir(checkpoints, "--checkpoint-dir", "checkpoints")
    results = None
    if args.record:
        results = args.results_dir or base / RESULTS_DIR
        check_writable_dir(results, "--results-dir", "results")
    return checkpoints, results, where


def _open_session(args: argparse.Namespace, origin: dict[str, str], folder: Path):
    from airoad_book.session import CHECKPOINT_EVERY, RunSession

    return RunSession(
        folder,
        experiment=args.name,
        budget=args.budget,
        seed=args.seed,
        config=run_config(args.name, args.budget),
        resume=args.resume,
        every=args.checkpoint_every or CHECKPOINT_EVERY,
        provenance=origin,
    )


def _interrupted(session, error: KeyboardInterrupt, argv: list[str]) -> int:
    from airoad_book.session import RunInterrupted

    if (
        session.pending
    ):  # finished phases held in memory: write them, they are done work
        session.flush()
    if session.remove_if_empty():
        print(
            "\ninterrupted before anything was checkpointed; run the same command "
            "again to start over",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if isinstance(error, RunInterrupted):
        where = f"interrupted at step {error.step:,} of {error.desc!r}; checkpoint saved in {error.checkpoint}"
    else:
        where = f"interrupted; the last checkpoints are in {session.directory}"
    print(f"\n{where}\nresume with:\n  {resume_command(argv)}", file=sys.stderr)
    return EXIT_INTERRUPTED


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    from airoad_book.data.corpora import MissingDataPackage
    from airoad_book.progress import set_progress
    from airoad_book.session import using

    set_progress("bar")
    now = provenance(
        [a for a in argv if a != "--resume"]
    )  # the code as it is when this session begins
    try:
        checkpoints, results_dir, where = _folders(args)
        session = _open_session(args, now, checkpoints)
    except ValueError as error:
        print(f"airoad-book run: error: {error}", file=sys.stderr)
        return 2
    if session.resumed:
        print(
            f"resuming the run in {session.directory}: {session.phases_saved()} "
            f"phase(s) saved",
            file=sys.stderr,
        )
    started_at = session.manifest["provenance"].get("commit")
    if session.resumed and started_at != now["commit"]:
        print(
            f"note: this run began at commit {started_at}; the code has changed since, "
            f"so the "
            "resumed run may not end where an uninterrupted one would",
            file=sys.stderr,
        )
    try:
        with using(session):
            result = experiments.run_experiment(
                args.name, budget=args.budget, seed=args.seed, seconds=args.seconds
            )
    except KeyboardInterrupt as error:
        return _interrupted(session, error, argv)
    except MissingDataPackage as error:  # an optional package of the [data] extra
        if not session.resumed:
            session.remove_if_empty()
        print(f"airoad-book run: error: {error}", file=sys.stderr)
        return 1
    result.seconds += (
        session.previous_elapsed
    )  # a resumed run's wall-clock counts every session's
    if args.record:
        # the code as it was when the run began, and the command without --resume
        origin = dict(session.manifest["provenance"])
        if now["commit"] != origin["commit"]:
            origin["commit"] += f" (resumed at {now['commit']})"
        data = {**result.to_dict(), "provenance": origin}
        path = (results_dir / f"{args.name}-{args.budget}.json").absolute()
        write_atomically(
            path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()
        )
        chosen = (
            "the folder --results-dir named"
            if args.results_dir
            else (f"results/ of {where}; --results-dir chooses another folder")
        )
        print(f"wrote {path}: {chosen}", file=sys.stderr)
    session.remove()  # the run is done: its checkpoints have nothing left to resume
    if args.json:
        out = {
            "experiment": result.experiment,
            "budget": result.budget,
            "seconds": round(result.seconds, 3),
            "metrics": result.metrics,
        }
        print(json.dumps(out))
        return 0
    print(
        f"{result.experiment} ({result.budget} budget, seed {result.seed}) in "
        f"{result.seconds:.1f} s"
    )
    width = max((len(k) for k in result.metrics), default=0)
    for key, value in result.metrics.items():
        print(f"  {key:<{width}}  {value:.6g}")
    for name, table in result.tables.items():
        print(f"\n{name}\n{table.to_markdown()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the `airoad-book` command on `argv` (default: `sys.argv[1:]`) and return its
    exit status."""
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)  # exits 2 with the valid choices on bad input
    if args.command == "list":
        return _list()
    return _run(args, argv)


if __name__ == "__main__":
    sys.exit(main())
