"""Time the book's budgets as whole processes, several runs each, and print the medians.

    uv run python benchmarks/build.py [--runs N] [--only clean,warm,pytest,experiments,labs,gpt]

- clean build: `mkdocs build --strict` after deleting the figure/result cache (`.cache/`);
- warm build: the same with the cache in place and nothing changed;
- pytest: `pytest` as the README runs it (tests and every docs code block);
- experiments: each experiment at the quick budget through the CLI (`airoad-book run NAME`);
- labs: each lab notebook (`docs/labs/*.py`, jupytext) run top to bottom in a fresh Jupyter
  kernel with nbclient, as a reader runs the downloaded `.ipynb`: budget 60 s each;
- gpt: chapter 12's performance goal, `airoad-book run gpt-shakespeare --seconds 120 --json`:
  validation loss <= 1.80 nats/char after 120 s of training, at >= 50% of the fp32 matmul
  peak that the same run measures.

The budgets (DESIGN.md) are checked and a line says whether each held. Exit status 1 if one
did not. Run it on an otherwise idle machine: the numbers are wall-clock.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGETS = {"clean build": 600.0, "warm build": 20.0, "pytest": 300.0}  # seconds, DESIGN.md
CHAPTER_BUDGET = 40.0  # seconds of quick-budget experiments per chapter
LAB_BUDGET = 60.0  # seconds for one lab notebook, top to bottom in a fresh kernel
ITEMS = ("experiments", "clean", "warm", "pytest", "labs", "gpt")
GPT_GOAL = {"seconds": 120, "val_loss": 1.80, "peak_share": 0.5}  # issue 6's performance goal


def run_lab(path: Path) -> None:
    """Execute one jupytext lab in a fresh kernel, as its .ipynb runs; raise on any cell's error."""
    import jupytext
    import nbclient

    notebook = jupytext.read(path)
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(path.parent)}}).execute()


def timed(cmd: list[str], before=None, out: list[str] | None = None) -> float:
    """Seconds `cmd` took; its stdout is appended to `out` when given. Exits if it fails."""
    if before:
        before()
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"benchmark: {' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    if out is not None:
        out.append(proc.stdout)
    return seconds


def gpt_goal(uv: str, runs: int) -> bool:
    """Chapter 12's goal: loss and share of the matmul peak after a 120 s GPT run, per run."""
    ok = True
    for _ in range(runs):
        out: list[str] = []
        cmd = [uv, "run", "airoad-book", "run", "gpt-shakespeare", "--seconds", str(GPT_GOAL["seconds"]), "--json"]
        seconds = timed(cmd, out=out)
        m = json.loads(out[0])["metrics"]
        share = m["achieved_gflops"] / m["matmul_peak_gflops"]
        held = m["val_loss"] <= GPT_GOAL["val_loss"] and share >= GPT_GOAL["peak_share"]
        print(f"gpt-shakespeare --seconds {GPT_GOAL['seconds']}: val_loss {m['val_loss']:.3f} nats/char "
              f"(goal <= {GPT_GOAL['val_loss']}), {m['achieved_gflops']:.1f} of "
              f"{m['matmul_peak_gflops']:.1f} GFLOP/s = {share:.0%} of peak (goal >= {GPT_GOAL['peak_share']:.0%}), "
              f"{m['tokens_per_s']:.0f} tokens/s, {int(m['params']):,} parameters; process {seconds:.0f} s: "
              + ("ok" if held else "MISSED"), flush=True)
        ok &= held
    return ok


def clear_cache() -> None:
    shutil.rmtree(ROOT / ".cache", ignore_errors=True)
    shutil.rmtree(ROOT / "site", ignore_errors=True)


def report(name: str, runs: list[float], budget: float | None) -> bool:
    median = statistics.median(runs)
    each = ", ".join(f"{r:.1f}" for r in runs)
    verdict = "" if budget is None else (f"  (budget {budget:.0f} s: " + ("ok" if median <= budget else "OVER") + ")")
    print(f"{name:<34} median {median:7.1f} s   runs: {each}{verdict}", flush=True)
    return budget is None or median <= budget


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (default 3)")
    parser.add_argument("--only", default=",".join(ITEMS), help=f"comma-separated subset of: {', '.join(ITEMS)}")
    parser.add_argument("--run-lab", type=Path, help=argparse.SUPPRESS)  # one lab, in this process
    args = parser.parse_args()
    if args.run_lab:
        run_lab(args.run_lab)
        return 0
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")
    wanted = set(args.only.split(","))
    unknown = wanted - set(ITEMS)
    if unknown:
        parser.error(f"unknown --only item(s) {sorted(unknown)}; expected {', '.join(ITEMS)}")
    uv = shutil.which("uv") or sys.exit("benchmark: uv is not on PATH")
    ok = True
    print(f"benchmark: {args.runs} run(s) each, on {ROOT}", flush=True)
    if "experiments" in wanted:
        sys.path.insert(0, str(ROOT))
        from airoad_book import experiments

        per_chapter: dict[int | str, float] = {}  # chapters 1-13, then appendices "A", "B", ...
        for name in experiments.names():
            runs = [timed([uv, "run", "airoad-book", "run", name, "--json"]) for _ in range(args.runs)]
            report(f"experiment {name} (quick)", runs, None)
            chapter = experiments.module(name).CHAPTER
            per_chapter[chapter] = per_chapter.get(chapter, 0.0) + statistics.median(runs)
        for chapter, total in per_chapter.items():  # in the book's order, as names() lists them
            ok &= report(f"chapter {chapter} experiments, together", [total], CHAPTER_BUDGET)
    if "labs" in wanted:
        labs = sorted((ROOT / "docs" / "labs").glob("*.py"))
        if not labs:
            sys.exit("benchmark: no lab notebooks under docs/labs/")
        for lab in labs:
            cmd = [uv, "run", "python", "benchmarks/build.py", "--run-lab", str(lab.relative_to(ROOT))]
            runs = [timed(cmd) for _ in range(args.runs)]
            ok &= report(f"lab {lab.stem} (fresh kernel)", runs, LAB_BUDGET)
    if "clean" in wanted:
        runs = [timed([uv, "run", "mkdocs", "build", "--strict"], before=clear_cache) for _ in range(args.runs)]
        ok &= report("clean build (mkdocs build --strict)", runs, BUDGETS["clean build"])
    if "warm" in wanted:
        timed([uv, "run", "mkdocs", "build", "--strict"])  # make sure the cache is full
        runs = [timed([uv, "run", "mkdocs", "build", "--strict"]) for _ in range(args.runs)]
        ok &= report("warm build (nothing changed)", runs, BUDGETS["warm build"])
    if "pytest" in wanted:
        runs = [timed([uv, "run", "pytest", "-q", "-p", "no:cacheprovider"]) for _ in range(args.runs)]
        ok &= report("uv run pytest", runs, BUDGETS["pytest"])
    if "gpt" in wanted:
        ok &= gpt_goal(uv, args.runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
