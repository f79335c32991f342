"""Faults of the build (issue 21): a broken cache entry, two builds at once, a build
interrupted by Ctrl-C, a committed results file that is invalid or lacks a key.

Each fault has a test named for it. The figure builds here draw one small real figure
through `build.draw_figure` (matplotlib, no experiment is trained: `run` is a stand-in).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import pytest
from mkdocs.exceptions import PluginError

from airoad_book import site
from airoad_book.experiments import EXPERIMENTS
from airoad_book.figures import build as fb
from airoad_book.figures import cache
from airoad_book.figures.registry import FigureSpec
from airoad_book.results import Result, Table

EXPERIMENT = sorted(EXPERIMENTS)[0]
SOURCES = cache.read_sources()


def fake_run(name: str) -> Result:
    return Result(
        metrics={"x": 1.0},
        tables={"t": Table(["a"], [[1]])},
        experiment=name,
        budget="quick",
        seconds=0.0,
    )


def draw_line(result: Result):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [result.metrics["x"], 2.0])
    return fig


SPECS = {
    "fault-demo": FigureSpec(
        "fault-demo",
        EXPERIMENT,
        "A caption.",
        "A line.",
        draw_line,
        "airoad_book.figures.ch05",
    )
}


class Counting:
    """`run` stand-in that counts the experiments it runs."""

    def __init__(self):
        self.runs: list[str] = []

    def __call__(self, name):
        self.runs.append(name)
        return fake_run(name)


def build(cache_dir: Path, run=None, draw=fb.draw_figure) -> dict:
    return fb.build(
        cache_dir,
        [EXPERIMENT],
        specs=SPECS,
        sources=SOURCES,
        run=run or Counting(),
        draw=draw,
    )


def test_a_truncated_figure_file_in_the_cache_is_redrawn_not_served(tmp_path):
    manifest = build(tmp_path)
    light = Path(manifest["figures"]["fault-demo"]["light"])
    whole = light.read_bytes()
    light.write_bytes(whole[:100])  # what issue 21 did: truncated to 100 bytes
    manifest = build(tmp_path)
    assert manifest["figures"]["fault-demo"]["regenerated"], (
        "a broken figure must be redrawn"
    )
    assert light.read_bytes() == whole and fb.svg_is_whole(light)


def test_a_figure_file_overwritten_with_garbage_is_redrawn(tmp_path):
    manifest = build(tmp_path)
    dark = Path(manifest["figures"]["fault-demo"]["dark"])
    dark.write_bytes(b"\x00\xff not an svg")
    assert build(tmp_path)["figures"]["fault-demo"]["regenerated"]
    assert fb.svg_is_whole(dark)


@pytest.mark.parametrize("damage", ["invalid", "truncated", "wrong-shape"])
def test_a_corrupt_json_result_in_the_cache_is_run_again_not_served(tmp_path, damage):
    runs = Counting()
    manifest = build(tmp_path, run=runs)
    path = Path(manifest["results"][EXPERIMENT])
    text = path.read_text()
    broken = {
        "invalid": "this is not JSON",
        "truncated": text[: len(text) // 2],
        "wrong-shape": "[1, 2, 3]",
    }[damage]
    path.write_text(broken)
    again = Counting()
    build(tmp_path, run=again)
    assert again.runs == [EXPERIMENT], "the corrupt result must be computed again"
    assert json.loads(path.read_text())["metrics"] == {"x": 1.0}


def test_two_builds_at_once_over_one_cache_wait_for_each_other_and_both_succeed(
    tmp_path, monkeypatch
):
    """Two builds (threads, each with its own lock handle): the second waits for the
    first, then finds the figure drawn and draws nothing; the cache holds one whole
    copy."""
    inside, overlaps, drawn = [], [], []
    lock = threading.Lock()
    # CPython 3.11's ast.parse is not safe in two threads at once (SystemError: AST
    # constructor
    # recursion depth mismatch); real builds are processes, so the test serializes
    # parsing only
    parse, parsing = cache.ast.parse, threading.Lock()

    def serial_parse(*args, **kwargs):
        with parsing:
            return parse(*args, **kwargs)

    monkeypatch.setattr(cache.ast, "parse", serial_parse)

    def slow_draw(item, store):
        with lock:
            inside.append(1)
            overlaps.append(len(inside))
        time.sleep(0.3)
        fb.draw_figure(item, store)
        drawn.append(item.spec.name)
        with lock:
            inside.pop()

    manifests = []
    threads = [
        threading.Thread(
            target=lambda: manifests.append(build(tmp_path, draw=slow_draw))
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(manifests) == 2, "both builds must succeed"
    assert max(overlaps) == 1 and drawn == ["fault-demo"], (
        "the second build must wait, then reuse"
    )
    figures = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert len(figures) == 2 and all(
        fb.svg_is_whole(tmp_path / "figures" / f) for f in figures
    )


def test_two_build_processes_at_once_take_the_cache_lock_in_turn(tmp_path):
    """The lock holds across processes (a `serve` and a `build`): their critical
    sections do not overlap."""
    script = textwrap.dedent(f"""
        import sys, time
        from airoad_book.figures.build import cache_lock
        with cache_lock({str(tmp_path)!r}):
            start = time.time(); time.sleep(0.5); print(start, time.time())
    """)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    spans = sorted(
        tuple(map(float, p.communicate(timeout=60)[0].split())) for p in procs
    )
    assert all(p.returncode == 0 for p in procs)
    assert spans[0][1] <= spans[1][0], f"the two builds overlapped: {spans}"


def test_a_build_interrupted_by_ctrl_c_leaves_no_partial_file_and_the_next_build_is_correct(
    tmp_path, monkeypatch
):
    real_render = fb.render

    def interrupted(spec, result, theme):
        if theme == "dark":
            raise KeyboardInterrupt  # Ctrl-C between the two variants
        return real_render(spec, result, theme)

    monkeypatch.setattr(fb, "render", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(tmp_path)
    leftovers = [
        p.name for p in (tmp_path / "figures").iterdir() if p.name.endswith(".tmp")
    ]
    assert leftovers == []
    monkeypatch.setattr(fb, "render", real_render)
    manifest = build(tmp_path)
    fig = manifest["figures"]["fault-demo"]
    assert (
        fig["regenerated"]
        and fb.svg_is_whole(Path(fig["light"]))
        and fb.svg_is_whole(Path(fig["dark"]))
    )


def test_a_write_interrupted_mid_file_leaves_the_old_file_or_none(tmp_path):
    target = tmp_path / "figures" / "x.svg"
    fb.write_atomically(target, b"<svg xmlns='http://www.w3.org/2000/svg'/>")

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(fb.os, "replace", boom)
            fb.write_atomically(target, b"<svg new")
    assert target.read_bytes() == b"<svg xmlns='http://www.w3.org/2000/svg'/>"
    assert [p.name for p in target.parent.iterdir()] == ["x.svg"]


def test_temporary_files_of_a_killed_build_are_removed_by_the_next(tmp_path):
    build(tmp_path)
    stray = tmp_path / "figures" / ".fault-demo-0123456789abcdef.svg.abc.tmp"
    stray.write_bytes(b"<svg half")
    build(tmp_path)
    assert not stray.exists()


@pytest.fixture
def committed(tmp_path, monkeypatch):
    (tmp_path / "results").mkdir()
    monkeypatch.setattr(
        site,
        "_state",
        {"root": tmp_path, "figures": {}, "result_paths": {}, "results": {}},
    )
    return tmp_path / "results" / "demo-full.json"


def render(markdown: str) -> str:
    page = SimpleNamespace(file=SimpleNamespace(src_uri="part2/06-bengio.md"))
    return site.on_page_markdown(markdown, page, None, None)


def test_an_invalid_committed_results_file_fails_the_build_naming_the_file(committed):
    committed.write_text('{"metrics": {"ppl": 1')
    with pytest.raises(PluginError, match=r"results/demo-full\.json.*not valid JSON"):
        render("{{ value demo@full ppl }}")


def test_a_committed_results_file_lacking_a_key_fails_naming_the_file_and_the_key(
    committed,
):
    committed.write_text(json.dumps({"metrics": {"other": 1.0}}))
    with pytest.raises(PluginError, match=r"results/demo-full\.json.*'ppl'"):
        render("{{ value demo@full ppl }}")
    with pytest.raises(PluginError, match=r"results/demo-full\.json.*provenance"):
        render("{{ provenance demo@full }}")
