"""`mkdocs serve` on an empty cache (issue 20): pages at once with "being drawn"
notices, replaced by the figure when it lands; `mkdocs build` never ships a notice.

The serve test runs a tiny book (one chapter page, one figure: `$AIROAD_ONLY_FIGURES`)
so it costs seconds, not the whole book's experiments.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
from mkdocs.exceptions import PluginError

from airoad_book import site

ROOT = Path(__file__).resolve().parents[1]
FIGURE = "xor-boundary"  # chapter 1's figure: its experiment runs in a few seconds
FIRST_PAGE_BUDGET = 60.0  # seconds, issue 20


def tiny_book(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# A tiny book\n\nSee [the chapter](chapter.md).\n")
    (docs / "chapter.md").write_text(f"# A chapter\n\n{{{{ figure {FIGURE} }}}}\n")
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: tiny\nhooks:\n  - " + str(ROOT / "hooks" / "airoad.py") + "\n"
    )
    return tmp_path


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_on_an_empty_cache_shows_a_placeholder_then_the_figure(tmp_path):
    book = tiny_book(tmp_path)
    port = free_port()
    env = {**os.environ, "AIROAD_ONLY_FIGURES": FIGURE, "OMP_NUM_THREADS": "1"}
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "-a", f"127.0.0.1:{port}"],
        cwd=book,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/chapter/"
    try:
        first = None
        while first is None and time.monotonic() - start < FIRST_PAGE_BUDGET:
            assert proc.poll() is None, proc.stdout.read()
            first = fetch(url)
            time.sleep(0.2)
        assert first is not None, f"no page within {FIRST_PAGE_BUDGET} s"
        assert (
            site.PENDING_CLASS in first
            and "being drawn" in first
            and "of 1 figures done" in first
        )
        page = first
        while site.PENDING_CLASS in page and time.monotonic() - start < 240:
            time.sleep(0.5)
            page = fetch(url) or page
        assert site.PENDING_CLASS not in page, (
            "the figure never replaced the placeholder"
        )
        assert f"figures/{FIGURE}.svg" in page
        svg = fetch(f"http://127.0.0.1:{port}/figures/{FIGURE}.svg")
        assert svg is not None and "<svg" in svg
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_placeholder_can_never_reach_a_built_site(monkeypatch):
    monkeypatch.setattr(site, "_state", {"command": "build", "pending": None})
    page = SimpleNamespace(file=SimpleNamespace(src_uri="part1/01-mlp.md"))
    html = f'<div class="admonition note {site.PENDING_CLASS}">being drawn</div>'
    with pytest.raises(PluginError, match="being drawn"):
        site.on_post_page(html, page, None)
    monkeypatch.setattr(site, "_state", {"command": "serve", "pending": None})
    assert site.on_post_page(html, page, None) == html


def test_a_build_never_draws_placeholders_for_missing_figures(monkeypatch, tmp_path):
    figures = {
        "f": {
            "light": str(tmp_path / "missing.svg"),
            "dark": str(tmp_path / "missing-dark.svg"),
            "caption": "c",
            "alt": "a",
            "experiment": "x",
            "regenerated": True,
        }
    }
    monkeypatch.setattr(
        site,
        "_state",
        {
            "command": "build",
            "figures": figures,
            "pending": {"done": 0, "total": 1, "left_s": None},
        },
    )
    page = SimpleNamespace(file=SimpleNamespace(src_uri="index.md"))
    assert site.PENDING_CLASS not in site.on_page_markdown(
        "{{ figure f }}", page, None, None
    )
