"""Versioned pages: one version number everywhere, the footer naming the version and the
commit a page was built from, a changelog for readers, and the provenance of a committed
results file on every page that quotes its numbers."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import jinja2
import pytest

import airoad_book
from airoad_book import site

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
    "project"
]["version"]


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_one_version_in_pyproject_the_package_and_the_changelog():
    assert airoad_book.__version__ == VERSION
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    versions = re.findall(r"^## (\d+\.\d+\.\d+)\b", changelog, flags=re.MULTILINE)
    assert versions and versions[0] == VERSION, (
        f"CHANGELOG.md's newest version is not {VERSION}"
    )
    assert versions == sorted(
        versions, key=lambda v: tuple(map(int, v.split("."))), reverse=True
    )


def test_the_changelog_is_a_page_of_the_site():
    assert (DOCS / "changelog.md").read_text(
        encoding="utf-8"
    ).strip() == '--8<-- "CHANGELOG.md"'
    assert "changelog.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


def test_build_info_names_the_version_and_the_checked_out_commit():
    try:
        head = git("rev-parse", "HEAD")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    info = site.build_info(ROOT)
    assert info["version"] == VERSION
    assert info["full_commit"] == head and info["commit"] == head[:7]
    assert info["dirty"] == bool(git("status", "--porcelain", "--untracked-files=no"))


def test_build_info_outside_git_falls_back_to_github_sha_then_unknown(
    tmp_path, monkeypatch
):
    monkeypatch.setenv(
        "GIT_CEILING_DIRECTORIES", str(tmp_path.parent)
    )  # no repository above
    monkeypatch.setenv("GITHUB_SHA", "0123456789abcdef")
    assert (
        site.build_info(tmp_path)["commit"] == "0123456"
        and not site.build_info(tmp_path)["dirty"]
    )
    monkeypatch.delenv("GITHUB_SHA")
    assert site.build_info(tmp_path)["commit"] == "unknown"


def footer(
    build: dict | None, repo_url: str = "https://github.com/airoad-book/airoad-book"
) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROOT / "overrides"), autoescape=True
    )
    env.filters["url"] = lambda path: (
        "../" + path
    )  # mkdocs' filter: relative to the page
    config = {
        "copyright": "MIT",
        "repo_url": repo_url,
        "extra": {"build": build} if build else {},
    }
    return env.get_template("partials/copyright.html").render(config=config)


def test_the_footer_names_the_version_and_links_the_commit_and_the_changelog():
    html = footer(
        {
            "version": "9.8.7",
            "commit": "abc1234",
            "full_commit": "abc1234" + "0" * 33,
            "dirty": False,
        }
    )
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "airoad-book 9.8.7, built from commit abc1234" in text
    assert "uncommitted" not in text
    assert 'href="https://github.com/airoad-book/airoad-book/commit/abc1234' in html
    assert 'href="../changelog/"' in html and "MIT" in html

    dirty = footer(
        {
            "version": "9.8.7",
            "commit": "abc1234",
            "full_commit": "abc1234",
            "dirty": True,
        },
        "",
    )
    text = " ".join(re.sub(r"<[^>]+>", " ", dirty).split())
    assert (
        "built from commit abc1234 with uncommitted changes" in text
        and "/commit/" not in dirty
    )

    assert "built from" not in footer(
        None
    )  # a theme without the hook: the plain footer


def test_mkdocs_uses_the_footer_override():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert re.search(r"^\s+custom_dir: overrides\b", config, flags=re.MULTILINE)
    assert (ROOT / "overrides" / "partials" / "copyright.html").is_file()


def test_every_page_that_quotes_a_committed_result_shows_its_provenance():
    """A number from results/NAME-full.json ({{ value|table|text NAME@full ... }})
    appears only on a page that also says where that file came from
    ({{ provenance NAME@full }})."""
    bad = []
    for page in sorted(DOCS.rglob("*.md")):
        text = "".join(
            chunk
            for chunk, code in site.split_fences(page.read_text(encoding="utf-8"))
            if not code
        )
        text = site.CODE_SPAN.sub("", text)
        quoted, shown = set(), set()
        for kind, args in site.PLACEHOLDER.findall(text):
            name = args.split()[0]
            if "@" in name:
                (shown if kind == "provenance" else quoted).add(name)
        bad += [f"{page.relative_to(DOCS)}: {name}" for name in sorted(quoted - shown)]
    assert not bad, (
        "pages quoting a committed result without its provenance:\n" + "\n".join(bad)
    )
