"""Rendered pages kept across builds (issue 20): a build that renders the API pages and
the Markdown pages from the kept copies writes the same site, byte for byte, as one
that renders them, objects.inv and cross-references included; a page whose snippet's
file changed is rendered again, and a render that warned is never kept."""

from __future__ import annotations

import filecmp
import os
import re
import subprocess
import sys
from pathlib import Path

from airoad_book import render_cache

ROOT = Path(__file__).resolve().parents[1]


def book(tmp_path: Path) -> Path:
    (tmp_path / "airoad_book").symlink_to(ROOT / "airoad_book")  # the API pages' source
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text(
        "# A tiny book\n\nThe model is [`NPLM`][airoad_book.models.bengio.NPLM].\n"
    )
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "step.py").write_text("step = 1\n")
    (tmp_path / "docs" / "chapter.md").write_text(
        '# A chapter\n\n## Its code\n\n```python\n--8<-- "notes/step.py"\n```\n'
        "\nBack to [the book](index.md#a-tiny-book).\n"
    )
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: tiny\n"
        "markdown_extensions:\n"
        "  - pymdownx.snippets:\n"
        "      base_path: ['.']\n"
        "      check_paths: true\n"
        "  - pymdownx.superfences\n"
        "plugins:\n"
        "  - mkdocstrings:\n"
        "      default_handler: python\n"
        "      handlers:\n"
        "        python:\n"
        f"          paths: [{str(ROOT)!r}]\n"
        "          options:\n"
        "            separate_signature: true\n"
        "            signature_crossrefs: true\n"
        "hooks:\n  - " + str(ROOT / "hooks" / "airoad.py") + "\n"
    )
    return tmp_path


def build(folder: Path, site: str) -> str:
    env = {**os.environ, "AIROAD_ONLY_FIGURES": "xor-boundary", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", site],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stderr


def undated(path: Path) -> bytes:
    """The file without the line where MkDocs' default theme writes the build time."""
    return re.sub(rb"Build Date UTC : [^\n]*", b"", path.read_bytes())


def differences(a: Path, b: Path) -> list[str]:
    found = []
    compared = filecmp.dircmp(a, b)
    found += compared.left_only + compared.right_only
    found += [n for n in compared.diff_files if undated(a / n) != undated(b / n)]
    for name in compared.common_dirs:
        found += [f"{name}/{d}" for d in differences(a / name, b / name)]
    return found


def test_api_pages_from_the_kept_copies_make_the_same_site(tmp_path):
    folder = book(tmp_path)
    build(folder, "rendered")
    kept = list((folder / ".cache" / "api").glob("*/*.json"))
    assert any("bengio" in path.name for path in kept), "no API page was kept"
    build(folder, "from-cache")
    assert not differences(folder / "rendered", folder / "from-cache")
    index = (folder / "from-cache" / "index.html").read_text()
    assert "api/airoad_book/models/bengio/#airoad_book.models.bengio.NPLM" in index


def test_markdown_pages_are_kept_by_their_text_and_their_snippets_files(tmp_path):
    folder = book(tmp_path)
    build(folder, "rendered")
    kept = list((folder / ".cache" / "pages").glob("chapter.md.*.json"))
    assert len(kept) == 1, "the chapter's render was not kept"
    html = list((folder / ".cache" / "html").glob("chapter.md.*.html"))
    assert len(html) == 1, "the chapter's HTML was not kept"
    html[0].write_text(html[0].read_text()[:-20])  # a kept page cut short is redrawn
    build(folder, "from-cache")
    assert not differences(folder / "rendered", folder / "from-cache")
    (folder / "notes" / "step.py").write_text("step = 2\n")  # the snippet's file
    build(folder, "edited")
    html = (folder / "edited" / "chapter" / "index.html").read_text()
    assert "2" in re.sub(r"<[^>]+>", "", html).split("step", 1)[1][:40]
    assert list((folder / ".cache" / "pages").glob("chapter.md.*.json")) != kept


def test_a_render_that_warned_is_not_kept_so_strict_fails_again(tmp_path):
    folder = book(tmp_path)
    (folder / "docs" / "chapter.md").write_text("# A chapter\n\n[gone](missing.md)\n")
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", "out"],
            cwd=folder,
            env={**os.environ, "AIROAD_ONLY_FIGURES": "xor-boundary"},
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert proc.returncode != 0 and "missing.md" in proc.stderr
    assert not list((folder / ".cache" / "pages").glob("chapter.md.*.json"))


def test_a_page_key_names_the_project_files_its_markdown_names(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("a = 1\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "x.md").write_text("# x\n")
    keys = render_cache.PageKeys(tmp_path, "site_name: x\n", ["x.md"])
    text = '```python\n--8<-- "pkg/a.py:part"\n```\n'
    assert keys.inputs(text) == ["pkg/a.py"]
    assert keys.inputs("site/x.md and pkg/b.py") == []  # output and absent files
    assert keys.inputs("--8<-- docs/x.md") == ["docs/x.md"]
    before = keys("x.md", text)
    assert keys("x.md", text) == before and keys("y.md", text) != before
    (tmp_path / "pkg" / "a.py").write_text("a = 2\n")
    again = render_cache.PageKeys(tmp_path, "site_name: x\n", ["x.md"])
    assert again("x.md", text) != before
    other = render_cache.PageKeys(tmp_path, "site_name: x\n", ["x.md", "z.md"])
    assert other("x.md", text) != again("x.md", text)  # the site's files: its links


def test_the_key_follows_the_package_and_the_configuration():
    base = render_cache.key("package-a", "site_name: x\n")
    assert render_cache.key("package-a", "site_name: x\n") == base
    assert render_cache.key("package-b", "site_name: x\n") != base
    assert render_cache.key("package-a", "site_name: y\n") != base
