"""The figure build's worker pool (issue 20): experiments run in parallel in long-lived
processes, one torch thread each, with the same results as the one-process path; a
worker that dies is reported and the build finishes in-process."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airoad_book.figures import build as fb
from airoad_book.figures import cache
from airoad_book.results import Result, Table

SOURCES = cache.read_sources()
SMALL = ["xor", "init-stats"]  # two real experiments of a second or less each


def without_time(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("seconds")
    return data


ONE_PROCESS = (
    "import json, sys; from airoad_book.figures import build as fb, cache, registry; "
    "names, figures = json.loads(sys.argv[2]), json.loads(sys.argv[3]); "
    "m = fb.build(sys.argv[1], names, specs={n: registry()[n] for n in figures}, "
    "sources=cache.read_sources(), workers=1); print(json.dumps(m))"
)


def one_process_build(cache_dir: Path, names: list[str], figures: list[str]) -> dict:
    """The one-process build's manifest, made in a fresh interpreter as `mkdocs build`
    runs it: this test process carries state from earlier tests (torch's flags and
    thread pools)."""
    done = subprocess.run(
        [sys.executable, "-c", ONE_PROCESS, str(cache_dir), json.dumps(names)]
        + [json.dumps(figures)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_pool_and_one_process_write_the_same_results(tmp_path):
    pooled = fb.build(tmp_path / "pool", SMALL, specs={}, sources=SOURCES, workers=2)
    alone = one_process_build(tmp_path / "one", SMALL, [])
    for name in SMALL:
        a, b = Path(pooled["results"][name]), Path(alone["results"][name])
        assert a.name == b.name, "the cache key must not depend on the path taken"
        assert without_time(a) == without_time(b), (
            f"{name}: pool and one process differ"
        )
        assert without_time(a)["metrics"], f"{name} recorded no metrics"


def test_the_pool_draws_the_same_figures_as_one_process(tmp_path):
    """The workers draw their experiments' figures; the SVGs are byte for byte those
    of the one-process build."""
    from airoad_book.figures import registry

    names = sorted(n for n, s in registry().items() if s.experiment in SMALL)
    assert names, "SMALL's experiments have figures"
    pooled = fb.build(
        tmp_path / "pool",
        [],
        specs={n: registry()[n] for n in names},
        sources=SOURCES,
        workers=2,
    )
    alone = one_process_build(tmp_path / "one", [], names)["figures"]
    for name in names:
        assert pooled["figures"][name]["regenerated"]
        for variant in ("light", "dark"):
            a = Path(pooled["figures"][name][variant]).read_bytes()
            b = Path(alone[name][variant]).read_bytes()
            assert a.startswith(b"<?xml"), f"{name} ({variant}) is not an SVG"
            assert a == b, f"{name} ({variant}): pool and one process drew differently"


def dies_in_a_worker(name: str) -> Result:
    """A `run` stand-in that kills the worker process it runs in (as the OOM killer
    would), and works in the build's own process."""
    if multiprocessing.parent_process() is not None:
        os._exit(9)
    return Result(metrics={"x": 2.0}, tables={"t": Table(["a"], [[1]])}, seconds=0.0)


def test_a_worker_that_dies_is_reported_and_the_build_finishes_in_process(
    tmp_path, capsys
):
    manifest = fb.build(
        tmp_path, SMALL, specs={}, sources=SOURCES, run=dies_in_a_worker, workers=2
    )
    assert "a worker process died" in capsys.readouterr().err
    for name in SMALL:
        path = Path(manifest["results"][name])
        assert json.loads(path.read_text())["metrics"] == {"x": 2.0}


def test_the_cache_key_names_the_thread_count():
    key = cache.experiment_key("airoad_book.experiments.xor", "quick", 0, SOURCES)
    store = fb.ResultStore(Path("unused"), SOURCES)
    assert store.key("xor") != key, "a result's key must say how many threads made it"


@pytest.mark.parametrize("raw", ["0", "-1", "two"])
def test_a_bad_worker_count_is_a_clear_error(monkeypatch, raw):
    monkeypatch.setenv(fb.WORKERS_ENV, raw)
    with pytest.raises(ValueError, match="AIROAD_WORKERS must be a whole number"):
        fb.default_workers()


def test_the_default_is_one_worker_per_usable_core(monkeypatch):
    monkeypatch.delenv(fb.WORKERS_ENV, raising=False)
    assert fb.default_workers() == len(os.sched_getaffinity(0))
    monkeypatch.setenv(fb.WORKERS_ENV, "3")
    assert fb.default_workers() == 3


def test_the_pool_starts_the_experiments_that_took_longest_last_time(tmp_path):
    store = fb.ResultStore(tmp_path, SOURCES)
    store.dir.mkdir(parents=True)
    old = store.dir / f"xor-{fb.BUDGET}-s{fb.SEED}-0123456789abcdef.json"
    old.write_text(json.dumps({"seconds": 12.5}))  # an older key, after an edit
    assert store.last_seconds("xor") == 12.5
    assert store.last_seconds("init-stats") == float("inf"), "unknown ones go first"
