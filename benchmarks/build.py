"""Time the book's budgets as whole processes, several runs each, and print the medians.

    uv run python benchmarks/build.py [--runs N] [--only clean,warm,pytest,serve,experiments,labs,gpt]
    uv run python benchmarks/build.py --json   # one JSON object, one run each (issue 20)

- clean build: `mkdocs build --strict` after deleting the figure/result cache (`.cache/`);
- warm build: the same with the cache in place and nothing changed;
- pytest: `pytest` as the README runs it (tests and every docs code block);
- experiments: each experiment at the quick budget through the CLI (`airoad-book run NAME`);
- shares: no run at all: each chapter's quick experiments, summed from the seconds the
  last build recorded in `.cache/results/` (one torch thread each), against the
  chapter's fixed share (40 s); a chapter over its share is named and the exit status
  is 1. The seconds are wall-clock of the build that made them: measure on an idle
  machine;
- labs: each lab notebook (`docs/labs/*.py`, jupytext) run top to bottom in a fresh Jupyter
  kernel with nbclient, as a reader runs the downloaded `.ipynb`: budget 60 s each;
- serve: `mkdocs serve` started on an empty cache, seconds until the first chapter page
  answers 200 over HTTP (`serve_first_page_s`); then, started again on the cache a build
  left (as an author works), seconds from an edit of that chapter until the served page
  shows it, the median of three edits (`serve_edit_reload_s`);
- profile (`--profile`): where a build's time goes, each step its own process: importing
  torch, importing mkdocstrings' handler, copying MathJax, each experiment, each lab;
- gpt: chapter 12's performance goal, `airoad-book run gpt-shakespeare --seconds 120 --json`:
  validation loss <= 1.80 nats/char after 120 s of training, at >= 50% of the fp32 matmul
  peak that the same run measures.

The budgets (DESIGN.md) are checked and a line says whether each held. Exit status 1 if
one did not. Run it on an otherwise idle machine: the numbers are wall-clock.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGETS = {
    "clean build": 300.0,
    "warm build": 5.0,
    "pytest": 300.0,  # seconds, issue 20
    "serve first page": 60.0,
    "serve edit reload": 3.0,
}
CHAPTER_BUDGET = 40.0  # seconds of quick-budget experiments per chapter
LAB_BUDGET = 60.0  # seconds for one lab notebook, top to bottom in a fresh kernel
ITEMS = (
    "experiments",
    "shares",
    "clean",
    "warm",
    "pytest",
    "serve",
    "labs",
    "gpt",
)
SERVE_PAGE = "part2/05-ngrams/"  # the chapter page the serve timings fetch
EDIT_PAGE = ROOT / "docs" / "part2" / "05-ngrams.md"
GPT_GOAL = {
    "seconds": 120,
    "val_loss": 1.80,
    "peak_share": 0.5,
}  # issue 6's performance goal


def run_lab(path: Path) -> None:
    """Execute one jupytext lab in a fresh kernel, as its .ipynb runs; raise on any
    cell's error."""
    import jupytext
    import nbclient

    notebook = jupytext.read(path)
    nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        allow_errors=False,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()


CPU: dict[str, float] = {}  # the last `timed` command's user+sys CPU seconds


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(
    cmd: list[str], before=None, out: list[str] | None = None, check: bool = True
) -> float:
    """Seconds `cmd` took; its stdout is appended to `out` when given. Exits if it
    fails, unless `check` is false (its exit status then goes to `CPU["status"]`). Its
    CPU seconds (user+sys, all its processes) go to `CPU["last"]`: on a loaded machine
    wall-clock grows, CPU time much less."""
    if before:
        before()
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    CPU["last"] = _children_cpu() - cpu
    CPU["status"] = proc.returncode
    if proc.returncode != 0:
        message = (
            f"benchmark: {' '.join(cmd)} failed (exit {proc.returncode}):\n"
            f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )
        if check:
            sys.exit(message)
        print(message, file=sys.stderr, flush=True)
    if out is not None:
        out.append(proc.stdout)
    return seconds


def gpt_goal(uv: str, runs: int) -> bool:
    """Chapter 12's goal: loss and share of the matmul peak after a 120 s GPT run, per
    run."""
    ok = True
    for _ in range(runs):
        out: list[str] = []
        cmd = [
            uv,
            "run",
            "airoad-book",
            "run",
            "gpt-shakespeare",
            "--seconds",
            str(GPT_GOAL["seconds"]),
            "--json",
        ]
        seconds = timed(cmd, out=out)
        m = json.loads(out[0])["metrics"]
        share = m["achieved_gflops"] / m["matmul_peak_gflops"]
        held = m["val_loss"] <= GPT_GOAL["val_loss"] and share >= GPT_GOAL["peak_share"]
        print(
            f"gpt-shakespeare --seconds {GPT_GOAL['seconds']}: val_loss "
            f"{m['val_loss']:.3f} nats/char "
            f"(goal <= {GPT_GOAL['val_loss']}), {m['achieved_gflops']:.1f} of "
            f"{m['matmul_peak_gflops']:.1f} GFLOP/s = {share:.0%} of peak (goal >= "
            f"{GPT_GOAL['peak_share']:.0%}), "
            f"{m['tokens_per_s']:.0f} tokens/s, {int(m['params']):,} parameters; "
            f"process {seconds:.0f} s: " + ("ok" if held else "MISSED"),
            flush=True,
        )
        ok &= held
    return ok


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(
    url: str, deadline: float, contains: str | None = None, proc=None
) -> float | None:
    """Poll `url` until it answers 200 (and holds `contains`); the perf_counter time, or
    None."""
    while time.perf_counter() < deadline:
        if proc is not None and proc.poll() is not None:
            return None
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200 and (
                    contains is None or contains in response.read().decode()
                ):
                    return time.perf_counter()
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.2)
    return None


def serve_timings(uv: str, limit: float = 900.0, warm: bool = False) -> dict:
    """`mkdocs serve`: on an empty cache, the seconds to the first chapter page; on the
    cache a build left (`warm`), the seconds from an edit of that chapter to the edited
    page served (the author's loop)."""
    if not warm:
        clear_cache()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/airoad-book/{SERVE_PAGE}"
    start = time.perf_counter()
    proc = subprocess.Popen(
        [uv, "run", "mkdocs", "serve", "-a", f"127.0.0.1:{port}"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    original = EDIT_PAGE.read_text(encoding="utf-8")
    try:
        first = _wait_for(url, start + limit, proc=proc)
        if not warm:
            return {"serve_first_page_s": None if first is None else first - start}
        edits = []
        for i in range(3 if first is not None else 0):
            time.sleep(2.0)  # the watcher settles
            marker = f"benchmark-edit-{os.getpid()}-{i}-{time.time_ns()}"
            edited = time.perf_counter()
            EDIT_PAGE.write_text(original + f"\n{marker}\n", encoding="utf-8")
            seen = _wait_for(url, edited + 120.0, contains=marker, proc=proc)
            edits.append(None if seen is None else seen - edited)
        done = [e for e in edits if e is not None]
        return {"serve_edit_reload_s": statistics.median(done) if done else None}
    finally:
        EDIT_PAGE.write_text(original, encoding="utf-8")
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


PROFILE_STEPS = {  # step: Python run in a fresh interpreter, timed as a whole process
    "python start (no imports)": "pass",
    "import torch": "import torch",
    "import matplotlib.pyplot": "import matplotlib.pyplot",
    "import mkdocstrings' python handler": "import mkdocstrings_handlers.python",
    "import mkdocs-jupyter (nbconvert)": "import mkdocs_jupyter.plugin",
    "MathJax files the site copies": (
        "import importlib.util, pathlib, shutil, tempfile\n"
        "root = "
        "pathlib.Path(next(iter(importlib.util.find_spec('mathjax').submodule_search_locations)))\n"
        "es5 = root / 'static' / 'mathjax' / 'es5'\n"
        "with tempfile.TemporaryDirectory() as out:\n"
        "    shutil.copy(es5 / 'tex-mml-chtml.js', out)\n"
        "    for f in (es5 / 'output/chtml/fonts/woff-v2').glob('*.woff'): "
        "shutil.copy(f, out)\n"
    ),
}


def profile(uv: str) -> None:
    """Where a build's time goes, each step a whole process (so imports are counted)."""
    python = [uv, "run", "python", "-c"]
    base = None
    for step, code in PROFILE_STEPS.items():
        seconds = timed([*python, code])
        base = seconds if base is None else base
        extra = (
            ""
            if step.startswith("python start")
            else f"  (+{seconds - base:.1f} s over a bare start)"
        )
        print(f"profile {step:<40} {seconds:7.1f} s{extra}", flush=True)


def chapter_shares() -> bool:
    """Each chapter's quick experiments, as the last build timed them, against its
    share; True if every chapter is within it. Reads the cache only: nothing runs."""
    import ast

    sys.path.insert(0, str(ROOT))
    from airoad_book.experiments import EXPERIMENTS
    from airoad_book.figures import build as fb
    from airoad_book.figures import cache

    sources = cache.read_sources()
    store = fb.ResultStore(ROOT / ".cache", sources)
    per_chapter: dict[str, float] = {}
    missing = []
    for name, module in EXPERIMENTS.items():
        chapter = "?"
        for node in ast.parse(sources[module]).body:
            if isinstance(node, ast.Assign) and any(
                getattr(t, "id", None) == "CHAPTER" for t in node.targets
            ):
                chapter = str(ast.literal_eval(node.value))
        path = store.path(name)
        if not path.exists():
            missing.append(name)
            continue
        seconds = json.loads(path.read_text(encoding="utf-8")).get("seconds") or 0.0
        print(f"experiment {name:<28} chapter {chapter:>3} {seconds:7.1f} s")
        per_chapter[chapter] = per_chapter.get(chapter, 0.0) + seconds
    ok = True
    for chapter, total in per_chapter.items():
        held = total <= CHAPTER_BUDGET
        ok &= held
        verdict = "ok" if held else "OVER ITS SHARE: shrink its quick budget"
        print(
            f"chapter {chapter:>3} quick experiments {total:7.1f} s of "
            f"{CHAPTER_BUDGET:.0f} s: {verdict}"
        )
    total = sum(per_chapter.values())
    workers = fb.default_workers()
    print(
        f"all chapters {total:.1f} s of experiments: at least {total / workers:.1f} s "
        f"of a clean build with {workers} worker(s)"
    )
    if missing:  # the build runs only what pages and figures use
        print(f"not in the cache (not built, or not used by the book): {missing}")
    if not per_chapter:
        print("benchmark: the cache holds no results; run `mkdocs build` first")
    return ok and bool(per_chapter)


def clear_cache() -> None:
    shutil.rmtree(ROOT / ".cache", ignore_errors=True)
    shutil.rmtree(ROOT / "site", ignore_errors=True)


def report(name: str, runs: list[float], budget: float | None) -> bool:
    median = statistics.median(runs)
    each = ", ".join(f"{r:.1f}" for r in runs)
    verdict = (
        ""
        if budget is None
        else (
            f"  (budget {budget:.0f} s: " + ("ok" if median <= budget else "OVER") + ")"
        )
    )
    print(f"{name:<34} median {median:7.1f} s   runs: {each}{verdict}", flush=True)
    return budget is None or median <= budget


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=3, help="runs per measurement (default 3)"
    )
    parser.add_argument(
        "--only", default=None, help=f"comma-separated subset of: {', '.join(ITEMS)}"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="one run each of clean, warm, serve, pytest; print one JSON object",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also print where time goes: imports, MathJax, each experiment and lab",
    )
    parser.add_argument(
        "--run-lab", type=Path, help=argparse.SUPPRESS
    )  # one lab, in this process
    args = parser.parse_args()
    if args.run_lab:
        run_lab(args.run_lab)
        return 0
    uv_path = shutil.which("uv") or sys.exit("benchmark: uv is not on PATH")
    if args.json:
        build = [uv_path, "run", "mkdocs", "build", "--strict"]
        numbers = {"clean_build_s": timed(build, before=clear_cache)}
        numbers["clean_build_cpu_s"] = CPU["last"]
        numbers["warm_build_s"] = timed(build)
        numbers["warm_build_cpu_s"] = CPU["last"]
        print(
            json.dumps(numbers), file=sys.stderr, flush=True
        )  # a long run's first half
        numbers.update(serve_timings(uv_path))
        timed(build)  # serve started from an empty cache; leave a full one behind
        numbers.update(serve_timings(uv_path, warm=True))
        print(json.dumps(numbers), file=sys.stderr, flush=True)
        numbers["pytest_s"] = timed(
            [uv_path, "run", "pytest", "-q", "-p", "no:cacheprovider"], check=False
        )
        numbers["pytest_cpu_s"] = CPU["last"]
        numbers["pytest_exit"] = CPU["status"]  # the time counts even if a test failed
        numbers["settings"] = {
            k: os.environ.get(k)
            for k in ("PYTHONDONTWRITEBYTECODE", "OMP_NUM_THREADS", "AIROAD_WORKERS")
        }
        numbers["cpus"] = os.cpu_count()
        numbers["load_average_at_end"] = round(os.getloadavg()[0], 1)
        print(
            json.dumps(
                {
                    k: round(v, 1) if isinstance(v, float) else v
                    for k, v in numbers.items()
                }
            )
        )
        return 0
    if args.profile:
        profile(uv_path)
        if args.only is None:
            return 0  # add --only experiments,labs for each experiment's and lab's time
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")
    wanted = set((args.only or ",".join(ITEMS)).split(","))
    unknown = wanted - set(ITEMS)
    if unknown:
        parser.error(
            f"unknown --only item(s) {sorted(unknown)}; expected {', '.join(ITEMS)}"
        )
    uv = shutil.which("uv") or sys.exit("benchmark: uv is not on PATH")
    ok = True
    print(f"benchmark: {args.runs} run(s) each, on {ROOT}", flush=True)
    if "shares" in wanted:
        ok &= chapter_shares()
    if "experiments" in wanted:
        sys.path.insert(0, str(ROOT))
        from airoad_book import experiments

        per_chapter: dict[
            int | str, float
        ] = {}  # chapters 1-13, then appendices "A", "B", ...
        for name in experiments.names():
            runs = [
                timed([uv, "run", "airoad-book", "run", name, "--json"])
                for _ in range(args.runs)
            ]
            report(f"experiment {name} (quick)", runs, None)
            chapter = experiments.module(name).CHAPTER
            per_chapter[chapter] = per_chapter.get(chapter, 0.0) + statistics.median(
                runs
            )
        for (
            chapter,
            total,
        ) in per_chapter.items():  # in the book's order, as names() lists them
            ok &= report(
                f"chapter {chapter} experiments, together", [total], CHAPTER_BUDGET
            )
    if "labs" in wanted:
        labs = sorted((ROOT / "docs" / "labs").glob("*.py"))
        if not labs:
            sys.exit("benchmark: no lab notebooks under docs/labs/")
        for lab in labs:
            cmd = [
                uv,
                "run",
                "python",
                "benchmarks/build.py",
                "--run-lab",
                str(lab.relative_to(ROOT)),
            ]
            runs = [timed(cmd) for _ in range(args.runs)]
            ok &= report(f"lab {lab.stem} (fresh kernel)", runs, LAB_BUDGET)
    if "clean" in wanted:
        runs = [
            timed([uv, "run", "mkdocs", "build", "--strict"], before=clear_cache)
            for _ in range(args.runs)
        ]
        ok &= report(
            "clean build (mkdocs build --strict)", runs, BUDGETS["clean build"]
        )
    if "warm" in wanted:
        timed([uv, "run", "mkdocs", "build", "--strict"])  # make sure the cache is full
        runs = [
            timed([uv, "run", "mkdocs", "build", "--strict"]) for _ in range(args.runs)
        ]
        ok &= report("warm build (nothing changed)", runs, BUDGETS["warm build"])
    if "pytest" in wanted:
        runs = [
            timed([uv, "run", "pytest", "-q", "-p", "no:cacheprovider"])
            for _ in range(args.runs)
        ]
        ok &= report("uv run pytest", runs, BUDGETS["pytest"])
    if "serve" in wanted:
        firsts, edits = [], []
        for _ in range(args.runs):
            got = serve_timings(uv)
            firsts.append(got["serve_first_page_s"] or float("inf"))
        timed(
            [uv, "run", "mkdocs", "build", "--strict"]
        )  # a full cache, as authors have
        for _ in range(args.runs):
            got = serve_timings(uv, warm=True)
            edits.append(got["serve_edit_reload_s"] or float("inf"))
        ok &= report(
            "serve: first chapter page (empty cache)",
            firsts,
            BUDGETS["serve first page"],
        )
        ok &= report(
            "serve: an edited page on screen", edits, BUDGETS["serve edit reload"]
        )
    if "gpt" in wanted:
        ok &= gpt_goal(uv, args.runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
