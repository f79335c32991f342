"""Regenerate what is stale: experiment results and figures, cached under `.cache/`.

The MkDocs hook runs this as a subprocess (`python -m airoad_book.figures`), so the
build always uses the code on disk (a long `mkdocs serve` session sees your edits) and
the site process never imports torch. It prints one line per experiment run and per
figure drawn, with its time, on stderr, and a JSON manifest on stdout:

    {"figures": {name: {"light": path, "dark": path, "caption": ..., "alt": ...}},
     "results": {experiment: path}}
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from airoad_book.figures import cache
from airoad_book.figures.registry import FigureSpec

BUDGET, SEED = "quick", 0  # what the book shows
THREADS = 1  # torch threads per experiment, in the pool and in-process alike
WORKERS_ENV = "AIROAD_WORKERS"  # how many experiments run at once (default: the cores)


def log(message: str) -> None:
    """Print one progress line, prefixed `airoad:`, on stderr (stdout carries the
    manifest)."""
    print(f"airoad: {message}", file=sys.stderr, flush=True)


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file, so a killed build leaves no half
    file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def svg_is_whole(path: Path) -> bool:
    """Whether `path` holds a complete SVG document: it parses as XML, its root is
    `<svg>`.

    A truncated or overwritten figure file fails this check, and the build redraws it
    instead of serving it.
    """
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return False
    return root.tag.rpartition("}")[2] == "svg"


@dataclass(frozen=True)
class Planned:
    """One figure's place in the cache: its key, its two files, whether it must be
    drawn."""

    spec: FigureSpec
    key: str
    light: Path
    dark: Path

    @property
    def stale(self) -> bool:
        """Whether either variant (light or dark SVG) is missing from the cache or
        broken.

        A variant that exists but is not a whole SVG (a truncated or corrupted file) is
        deleted here, logged, and counts as missing: the build redraws it.
        """
        whole = True
        for path in (self.light, self.dark):
            if not path.exists():
                whole = False
            elif not svg_is_whole(path):
                log(
                    f"figure {self.spec.name}: cached file {path.name} is corrupt; "
                    f"redrawing it"
                )
                path.unlink(missing_ok=True)
                whole = False
        return not whole


class ResultStore:
    """Experiment results cached as JSON under `cache_dir/results`, keyed by their
    code."""

    def __init__(
        self, cache_dir: Path, sources: dict[str, str], run: Callable | None = None
    ):
        self.dir = Path(cache_dir) / "results"
        self.sources = sources
        self._run = run
        self._memo: dict[str, object] = {}

    def key(self, name: str) -> str:
        """The cache key of experiment `name`: a hash of its code, the budget, the seed
        and the library versions."""
        from airoad_book.experiments import EXPERIMENTS

        if name not in EXPERIMENTS:
            raise ValueError(
                f"unknown experiment {name!r}; expected one of: "
                f"{', '.join(EXPERIMENTS)}"
            )
        return cache.experiment_key(
            EXPERIMENTS[name], BUDGET, SEED, self.sources, extra=(f"threads={THREADS}",)
        )

    def path(self, name: str) -> Path:
        """Where the result of experiment `name` is cached, under its current key."""
        return self.dir / f"{name}-{BUDGET}-s{SEED}-{self.key(name)}.json"

    def cached(self, name: str):
        """The Result of experiment `name` if the cache holds a whole one, else None."""
        if name in self._memo:
            return self._memo[name]
        path = self.path(name)
        result = _read_result(path) if path.exists() else None
        if result is not None:
            self._memo[name] = result
        return result

    def last_seconds(self, name: str) -> float:
        """How long `name` took when it last ran here, from a cached result under any
        key (an older one after an edit); infinity if unknown, so new ones start first.
        Only the order of the pool's queue depends on it."""
        best = float("inf")
        for path in self.dir.glob(f"{name}-{BUDGET}-s{SEED}-*.json"):
            try:
                best = float(json.loads(path.read_text(encoding="utf-8"))["seconds"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return best

    def put(self, name: str, result) -> None:
        """Store a freshly computed Result of `name` (atomically) and drop older keys."""
        write_atomically(
            self.path(name),
            json.dumps(result.to_dict(), indent=1, sort_keys=True).encode(),
        )
        log(f"experiment {name} ({BUDGET}) ran in {result.seconds:.1f} s")
        _prune(self.dir, f"{name}-{BUDGET}-s{SEED}", self.key(name))
        self._memo[name] = result

    def remember(self, name: str, result) -> None:
        """Take a Result that another process computed and wrote to the cache."""
        self._memo[name] = result

    def get(self, name: str):
        """The Result of experiment `name`, from the cache or by running it now."""
        result = self.cached(name)
        if result is None:
            result = (self._run or _run_experiment)(name)
            self.put(name, result)
        return result


def _read_result(path: Path):
    """The cached Result at `path`, or None (and the file deleted) if it does not parse.

    A truncated or invalid JSON file under `.cache/` is a broken cache entry, not an
    error of the book: the experiment runs again and its result replaces the file.
    """
    from airoad_book.results import Result

    try:
        return Result.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError) as err:
        log(
            f"cached result {path.name} is corrupt ({type(err).__name__}); running it "
            f"again"
        )
        path.unlink(missing_ok=True)
        return None


def one_thread() -> None:
    """Give torch (and the BLAS under it) `THREADS` threads, before an experiment runs.

    The book's small models rarely use a second thread well, and a fixed count makes a
    result the same whichever process computes it: the pool's workers and the
    one-process path both call this.
    """
    os.environ["OMP_NUM_THREADS"] = str(THREADS)
    import torch

    if torch.get_num_threads() != THREADS:
        torch.set_num_threads(THREADS)


def _run_experiment(name: str):
    from airoad_book.experiments import run_experiment

    one_thread()
    return run_experiment(name, budget=BUDGET, seed=SEED)


def default_workers() -> int:
    """How many experiments run at once: `$AIROAD_WORKERS`, else one per core (at most
    the cores the process may use)."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if raw:
        try:
            workers = int(raw)
        except ValueError:
            workers = 0
        if workers < 1:
            raise ValueError(
                f"${WORKERS_ENV} must be a whole number of processes >= 1, got {raw!r}"
            )
        return workers
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def _worker_start() -> None:
    """A pool worker's start: one thread, torch imported once for all its runs."""
    os.environ["AIROAD_PROGRESS"] = "off"
    one_thread()


CORES = "cores"  # under the cache folder: the lock files of `airoad_book.cores`


def settle(
    store: ResultStore,
    name: str,
    items: list[Planned],
    draw: Callable[[Planned, ResultStore], None],
    cores: int,
):
    """Bring experiment `name` up to date and draw its stale figures `items`, holding
    one of `cores` cores (`airoad_book.cores`) the while; return its Result.

    The lab pool holds the same cores, so that experiments, figures and labs together
    keep one busy process per core.
    """
    from airoad_book.cores import core

    with core(store.dir.parent / CORES, cores):
        result = store.get(name)
        for item in items:
            draw(item, store)
            _prune(item.light.parent, item.spec.name, item.key)
    return result


def _worker_settle(
    run: Callable | None,
    cache_dir: str,
    sources: dict[str, str],
    name: str,
    items: list[Planned],
    cores: int,
) -> dict:
    """`settle` in a pool worker: the result is written to the cache and the figures
    drawn here; the Result travels back as a dict."""
    store = ResultStore(Path(cache_dir), sources, run)
    return settle(store, name, items, draw_figure, cores).to_dict()


def compute(
    store: ResultStore,
    names: list[str],
    workers: int,
    drawings: dict[str, list[Planned]] | None = None,
    draw: Callable[[Planned, ResultStore], None] | None = None,
):
    """Yield `(name, Result)` for each of `names`, each with its stale figures
    (`drawings[name]`) drawn: those with nothing to do first, then the others as they
    finish, `workers` at a time in long-lived worker processes.

    Each worker imports torch once and runs experiments one after another, with one
    thread each (`one_thread`), so a result is the same as the one-process path's; it
    draws the experiment's figures itself (`draw_figure`, the default `draw`), so that
    drawing is spread over the cores too. A stand-in `draw` (tests) draws in this
    process instead. If a worker dies (killed, out of memory), the build says so and
    does what is left in this process, one at a time; an experiment that raises fails
    the build as it would in-process.
    """
    from airoad_book.results import Result

    drawings = drawings or {}
    draw = draw or draw_figure
    todo = []
    for name in dict.fromkeys(names):
        result = store.cached(name)
        if result is not None and not drawings.get(name):
            yield name, result
        else:
            todo.append(name)
    if workers > 1 and len(todo) > 1 and draw is draw_figure:
        import multiprocessing

        def longest_first(name: str) -> float:  # drawing only is short
            return 0.0 if store.cached(name) is not None else store.last_seconds(name)

        todo.sort(key=longest_first, reverse=True)
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        log(
            f"{len(todo)} experiments to bring up to date, "
            f"{min(workers, len(todo))} at a time"
        )
        pool = ProcessPoolExecutor(
            max_workers=min(workers, len(todo)),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_start,
        )
        try:
            pending = {
                pool.submit(
                    _worker_settle,
                    store._run,
                    str(store.dir.parent),
                    store.sources,
                    name,
                    drawings.get(name, []),
                    workers,
                ): name
                for name in todo
            }
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    name = pending.pop(future)
                    try:
                        data = future.result()
                    except BrokenProcessPool:
                        log(
                            f"a worker process died while running {name}; running "
                            f"the {len(pending) + 1} unfinished experiment(s) here, "
                            f"one at a time"
                        )
                        pending = {}
                        break
                    result = Result.from_dict(data)
                    store.remember(name, result)
                    todo.remove(name)
                    yield name, result
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    for name in list(todo):
        yield name, settle(store, name, drawings.get(name, []), draw, max(1, workers))


def _prune(folder: Path, stem: str, key: str) -> None:
    """Delete the cache files of `stem` (a figure, or an experiment at a budget) with
    other keys."""
    pattern = re.compile(rf"{re.escape(stem)}-([0-9a-f]{{16}})(-dark)?\.(svg|json)")
    for other in folder.iterdir():
        match = pattern.fullmatch(other.name)
        if match and match.group(1) != key:
            other.unlink(missing_ok=True)


def plan(
    cache_dir: Path, specs: dict[str, FigureSpec], store: ResultStore
) -> list[Planned]:
    """Where each figure lives in the cache and whether it must be drawn again."""
    out = []
    for spec in specs.values():
        key = cache.figure_key(
            spec.module, spec.name, store.key(spec.experiment), store.sources
        )
        base = Path(cache_dir) / "figures" / f"{spec.name}-{key}"
        out.append(
            Planned(spec, key, base.with_suffix(".svg"), Path(f"{base}-dark.svg"))
        )
    return out


def render(spec: FigureSpec, result, theme: str) -> bytes:
    """Draw one variant of one figure and return its SVG bytes."""
    import io

    import matplotlib.pyplot as plt

    from airoad_book.figures.style import themed

    with themed(theme):
        fig = spec.draw(result)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
        plt.close(fig)
    return buffer.getvalue()


def draw_figure(item: Planned, store: ResultStore) -> None:
    """Draw one figure in both themes from its experiment's result and write the SVGs to
    the cache."""
    result = store.get(item.spec.experiment)
    start = time.perf_counter()
    for theme, path in (("light", item.light), ("dark", item.dark)):
        write_atomically(path, render(item.spec, result, theme))
    log(f"figure {item.spec.name} regenerated in {time.perf_counter() - start:.1f} s")


LOCK_NAME = ".lock"  # under the cache folder: one build at a time writes there


@contextlib.contextmanager
def cache_lock(cache_dir: Path, *, wait_message: bool = True):
    """Hold an exclusive lock on `cache_dir` (a `serve` and a `build`, or two builds).

    The second build waits for the first, then finds its work done (the cache is keyed
    by code, so it reads what the first one wrote). On a system without `fcntl` the lock
    is a no-op. On entry, temporary files a killed build left behind are removed.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        fcntl = None
    with open(cache_dir / LOCK_NAME, "a+b") as handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if wait_message:
                    log("another build holds the cache; waiting for it to finish")
                fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            _remove_partial_files(cache_dir)
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_partial_files(cache_dir: Path) -> None:
    """Delete `write_atomically`'s temporary files left by a build that was killed."""
    for sub in ("figures", "results"):
        folder = cache_dir / sub
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)


def build(
    cache_dir: Path,
    experiments: list[str] = (),
    *,
    specs: dict[str, FigureSpec] | None = None,
    sources: dict[str, str] | None = None,
    run: Callable | None = None,
    draw: Callable[[Planned, ResultStore], None] = draw_figure,
    plan_only: bool = False,
    workers: int | None = None,
) -> dict:
    """Bring every figure and the named experiments' results up to date; return the
    manifest.

    Missing results are computed `workers` at a time (`compute`; default: one per core,
    or one when a stand-in `run` is given), and each figure is drawn as soon as its
    experiment's result lands.
    """
    from airoad_book.figures import registry

    specs = only(registry()) if specs is None else specs
    store = ResultStore(
        cache_dir, cache.read_sources() if sources is None else sources, run
    )
    needed = sorted(set(experiments))
    if (
        plan_only
    ):  # what is there now, drawing nothing and taking no lock (mkdocs serve)
        planned = plan(cache_dir, specs, store)
        stale = [
            item for item in planned if item.stale
        ]  # a corrupt file is deleted, not served
        return _manifest(planned, stale, store, needed)
    if workers is None:
        workers = default_workers() if run is None else 1
    with cache_lock(cache_dir):
        planned = plan(cache_dir, specs, store)
        stale = [item for item in planned if item.stale]
        by_experiment: dict[str, list[Planned]] = {}
        for item in stale:
            by_experiment.setdefault(item.spec.experiment, []).append(item)
        for _ in compute(
            store, [*by_experiment, *needed], workers, by_experiment, draw
        ):
            pass
    return _manifest(planned, stale, store, needed)


ONLY_ENV = (
    "AIROAD_ONLY_FIGURES"  # comma-separated figure names: build only these (tests)
)


def only(specs: dict[str, FigureSpec]) -> dict[str, FigureSpec]:
    """`specs`, or only those named in `$AIROAD_ONLY_FIGURES` when it is set."""
    names = [n for n in os.environ.get(ONLY_ENV, "").split(",") if n]
    unknown = sorted(set(names) - set(specs))
    if unknown:
        raise ValueError(
            f"${ONLY_ENV} names unknown figure(s) {unknown}; expected names from the "
            f"registry"
        )
    return {n: spec for n, spec in specs.items() if n in names} if names else specs


def _manifest(
    planned: list[Planned], stale: list[Planned], store: ResultStore, needed: list[str]
) -> dict:
    return {
        "figures": {
            item.spec.name: {
                "light": str(item.light),
                "dark": str(item.dark),
                "caption": item.spec.caption,
                "alt": item.spec.alt,
                "experiment": item.spec.experiment,
                "regenerated": item in stale,
            }
            for item in planned
        },
        "results": {name: str(store.path(name)) for name in needed},
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m airoad_book.figures`: bring the cache up to date and print the
    manifest (JSON) on stdout."""
    parser = argparse.ArgumentParser(
        prog="python -m airoad_book.figures", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(".cache"),
        help="cache folder (default: .cache)",
    )
    parser.add_argument(
        "--experiments",
        default="",
        help="comma-separated experiments whose results pages quote",
    )
    parser.add_argument(
        "--plan",
        action="store_true",
        help="draw nothing: print where each figure will be and whether it is there yet",
    )
    args = parser.parse_args(argv)
    wanted = [name for name in args.experiments.split(",") if name]
    manifest = build(args.cache, wanted, plan_only=args.plan)
    print(json.dumps(manifest))
    return 0
