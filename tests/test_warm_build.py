"""The warm build (issue 20): when nothing changed, no figure subprocess starts; a file
touched since the last build sends it back to the checking path; each lab's executed
copy is keyed by the package modules it imports, not by the whole package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airoad_book import site
from airoad_book.figures import cache

ROOT = Path(__file__).resolve().parents[1]
SOURCES = cache.read_sources()


def manifest_in(folder: Path) -> dict:
    light, dark, result = folder / "f.svg", folder / "f-dark.svg", folder / "r.json"
    for path, text in ((light, "<svg/>"), (dark, "<svg/>"), (result, "{}")):
        path.write_text(text)
    fig = {"light": str(light), "dark": str(dark), "caption": "c", "alt": "a"}
    return {
        "figures": {"f": {**fig, "experiment": "x", "regenerated": True}},
        "results": {"x": str(result)},
    }


def test_the_warm_manifest_is_used_while_every_file_is_as_the_build_left_it(tmp_path):
    manifest = manifest_in(tmp_path)
    site.write_warm_manifest(tmp_path, "k1", manifest)
    again = site.read_warm_manifest(tmp_path, "k1")
    assert again is not None and again["results"] == manifest["results"]
    assert not again["figures"]["f"]["regenerated"]
    assert site.read_warm_manifest(tmp_path, "k2") is None, "another tree, another key"


@pytest.mark.parametrize("damage", ["truncated", "rewritten", "deleted", "manifest"])
def test_a_file_changed_since_the_last_build_is_never_served_from_the_manifest(
    tmp_path, damage
):
    manifest = manifest_in(tmp_path)
    site.write_warm_manifest(tmp_path, "k", manifest)
    result = Path(manifest["results"]["x"])
    light = Path(manifest["figures"]["f"]["light"])
    if damage == "truncated":
        light.write_text("<sv")
    elif damage == "rewritten":  # the same size, written later
        stat = result.stat()
        result.write_text("[]")
        os.utime(result, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    elif damage == "deleted":
        result.unlink()
    else:
        (tmp_path / site.WARM_MANIFEST).write_text("{not json")
    assert site.read_warm_manifest(tmp_path, "k") is None


def test_a_manifest_with_a_missing_file_is_not_remembered(tmp_path):
    manifest = manifest_in(tmp_path)
    Path(manifest["figures"]["f"]["dark"]).unlink()
    site.write_warm_manifest(tmp_path, "k", manifest)
    assert not (tmp_path / site.WARM_MANIFEST).exists()


def test_the_tree_key_follows_the_pages_the_only_list_and_the_committed_results(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("AIROAD_ONLY_FIGURES", raising=False)
    base = site.tree_key(tmp_path, ["xor"])
    assert site.tree_key(tmp_path, ["xor"]) == base
    assert site.tree_key(tmp_path, ["xor", "init-stats"]) != base
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "scaling-full.json").write_text("{}")  # a READS file
    with_results = site.tree_key(tmp_path, ["xor"])
    assert with_results != base
    monkeypatch.setenv("AIROAD_ONLY_FIGURES", "xor-boundary")
    assert site.tree_key(tmp_path, ["xor"]) != with_results


def lab(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lab.py"
    path.write_text(text)
    return path


def edited(module: str) -> dict[str, str]:
    return {**SOURCES, module: SOURCES[module] + "\n# an edit\n"}


def test_a_lab_is_keyed_by_the_modules_it_imports_and_nothing_else(tmp_path):
    path = lab(tmp_path, "# %%\nfrom airoad_book.models.bengio import NPLM\n")
    key = site.lab_key(path, SOURCES)
    assert site.lab_key(path, SOURCES) == key
    assert site.lab_key(path, edited("airoad_book.models.bengio")) != key
    unrelated = "airoad_book.figures.timeline"
    assert unrelated not in cache.closure(["airoad_book.models.bengio"], SOURCES)
    assert site.lab_key(path, edited(unrelated)) == key
    path.write_text(path.read_text() + "\n# %%\nprint(1)\n")
    assert site.lab_key(path, SOURCES) != key, "the lab's own text is in its key"


def test_a_lab_that_does_not_parse_is_keyed_by_the_whole_package(tmp_path):
    path = lab(tmp_path, "# %%\n%matplotlib inline\n")
    key = site.lab_key(path, SOURCES)
    assert site.lab_key(path, edited("airoad_book.figures.timeline")) != key


def tiny_book(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# A tiny book\n\n{{ figure xor-boundary }}\n")
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: tiny\nhooks:\n  - " + str(ROOT / "hooks" / "airoad.py") + "\n"
    )
    return tmp_path


def build(book: Path) -> str:
    env = {**os.environ, "AIROAD_ONLY_FIGURES": "xor-boundary", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict"],
        cwd=book,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stderr


def test_a_warm_build_starts_no_figure_build_and_a_damaged_figure_is_redrawn(
    tmp_path,
):
    book = tiny_book(tmp_path)
    assert "1 regenerated" in build(book)
    assert "all up to date" in build(book), "a warm build must skip the figure build"
    saved = json.loads((book / ".cache" / site.WARM_MANIFEST).read_text())
    light = Path(saved["manifest"]["figures"]["xor-boundary"]["light"])
    light.write_text(light.read_text()[:100])  # truncated behind the build's back
    log = build(book)
    assert "is corrupt; redrawing it" in log and "1 regenerated" in log
    assert light.read_text().rstrip().endswith("</svg>")
