"""Embedded code fits the page: no embedded section needs a horizontal scrollbar.

The width is ruff's `line-length` in pyproject.toml, which is the measured width of the
book's code column at a 1280-px window (see the comment there and
docs/stylesheets/extra.css). This reads the `--8<--` includes of every page and the
sections they name straight from the package source, as pymdownx.snippets does
(`dedent_subsections: true`), so it needs no build.
"""

from __future__ import annotations

import re
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INCLUDE = re.compile(r'^(\s*)--8<-- "([^":]+)(?::([\w-]+))?"\s*$')
# Inside a list item or an admonition (an indented fence) the box is narrower: 86
# characters where the column holds 90, measured in Chromium at 1280 px.
NESTED = 4
MARKER = re.compile(r"--8<-- \[(start|end):([\w-]+)\]")


def column() -> int:
    """The code column, in characters (ruff's line-length)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return int(config["tool"]["ruff"]["line-length"])


def includes() -> list[tuple[str, str, str | None, bool]]:
    """(page, file, section or None, nested) for every `--8<--` include of code under
    docs/; nested when the fence is indented, inside an admonition. A page that includes
    Markdown (the changelog) is prose, which wraps, so it is left out."""
    found = []
    for page in sorted((ROOT / "docs").rglob("*.md")):
        for line in page.read_text(encoding="utf-8").splitlines():
            if (m := INCLUDE.match(line)) and not m[2].endswith(".md"):
                rel = page.relative_to(ROOT).as_posix()
                found.append((rel, m[2], m[3], len(m[1]) >= 4))
    return found


def section(path: str, name: str | None) -> list[str]:
    """The lines pymdownx.snippets shows for `path:name`: markers dropped, dedented."""
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    if name is not None:
        try:
            start = lines.index(next(x for x in lines if f"[start:{name}]" in x))
            end = lines.index(next(x for x in lines if f"[end:{name}]" in x))
        except StopIteration:
            pytest.fail(f"{path} has no section {name!r} with start and end markers")
        lines = lines[start + 1 : end]
    lines = [x for x in lines if not MARKER.search(x)]
    return textwrap.dedent("\n".join(lines)).expandtabs(4).splitlines()


def test_the_pages_embed_sections():
    assert len(includes()) > 100  # the parser finds the chapters' includes


def test_the_section_reader_drops_markers_and_dedents(tmp_path):
    lines = section("airoad_book/scratch/autograd.py", "ops")
    assert lines[0].startswith("def __add__")  # dedented out of the class
    assert not any(MARKER.search(x) for x in lines)


@pytest.mark.parametrize("page, path, name, nested", includes())
def test_every_embedded_section_fits_the_code_column(page, path, name, nested):
    width = column() - (NESTED if nested else 0)
    wide = [
        f"  {len(x)} chars: {x.strip()[:70]}"
        for x in section(path, name)
        if len(x) > width
    ]
    assert not wide, (
        f"{page} embeds {path}:{name}, whose lines are wider than the "
        f"{width}-character "
        "code column (they would scroll sideways):\n" + "\n".join(wide)
    )
