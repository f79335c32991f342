"""Reading the built site: its pages, their content, their links and their usage
blocks."""

from __future__ import annotations

import functools
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml
from bs4 import BeautifulSoup, Comment, Tag

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "site"
DOCS = ROOT / "docs"
SCREENSHOTS = ROOT / "tests_site" / "screenshots"  # git-ignored: for a person to review


class _Loader(yaml.SafeLoader):
    """mkdocs.yml may hold `!!python/name:` and `!ENV` tags; this reads them as plain
    strings."""


_Loader.add_multi_constructor("", lambda loader, suffix, node: None)


@functools.cache
def config() -> dict:
    return yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_Loader)


SITE_URL = config()["site_url"].rstrip("/") + "/"  # https://host/airoad-book/
BASE_PATH = urlsplit(SITE_URL).path  # /airoad-book/: where the site lives on its host


def pages() -> list[str]:
    """Every HTML page of the built site, as a path relative to `site/`
    (`part2/05-ngrams/index.html`)."""
    return sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html"))


def url_path(page: str) -> str:
    """The URL path of a page under the site's base path
    (`/airoad-book/part2/05-ngrams/`)."""
    path = BASE_PATH + page
    return path[: -len("index.html")] if path.endswith("/index.html") else path


def chapters() -> list[str]:
    """Pages of the chapters, labs and appendices: those built from a numbered or
    lettered source."""
    return [p for p in pages() if re.match(r"(part\d+/\d\d-|appendix/[a-z]-|labs/)", p)]


@functools.cache
def soup(page: str) -> BeautifulSoup:
    return BeautifulSoup((SITE / page).read_text(encoding="utf-8"), "lxml")


def content(page: str) -> Tag | None:
    """The page's article: what the author wrote, without Material's header, nav and
    footer."""
    return soup(page).select_one("article.md-content__inner")


# -- links
# ------------------------------------------------------------------------------------

LINK_ATTRS = (
    ("a", "href"),
    ("link", "href"),
    ("img", "src"),
    ("script", "src"),
    ("source", "src"),
    ("iframe", "src"),
)


@dataclass(frozen=True)
class Link:
    page: str  # where the link is, relative to site/
    tag: str
    url: str  # as written in the HTML


def links(page: str) -> list[Link]:
    out = []
    for tag, attr in LINK_ATTRS:
        for element in soup(page).find_all(tag):
            url = element.get(attr)
            if url is not None:
                out.append(Link(page, tag, url))
    return out


def resolve(link: Link) -> tuple[str, str] | None:
    """(target file relative to site/, fragment) of an internal link; None for an
    external one."""
    url = link.url.strip()
    if url.startswith(SITE_URL):
        url = BASE_PATH + url[len(SITE_URL) :]
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return None  # http(s), mailto, data: not ours to check
    path, fragment = unquote(parts.path), unquote(parts.fragment)
    if not path:
        return link.page, fragment
    if path.startswith("/"):
        if not path.startswith(BASE_PATH):
            return (path, fragment)  # outside the site's base path: reported as broken
        target = path[len(BASE_PATH) :]
    else:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(link.page), path))
        if path.endswith("/"):
            target += "/"
    if target in ("", ".", "./"):
        target = "index.html"
    elif target.endswith("/") or (SITE / target).is_dir():
        target = target.rstrip("/") + "/index.html"
    return target, fragment


@functools.cache
def anchors(page: str) -> frozenset[str]:
    """Every id (and a/@name) in a page: the fragments a link to it may name."""
    html = soup(page)
    return frozenset(
        [e["id"] for e in html.find_all(id=True)]
        + [e["name"] for e in html.find_all("a", attrs={"name": True})]
    )


# -- usage blocks
# -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    page: str
    number: int  # 1-based, in page order, among the page's usage blocks
    code: str
    heading: str  # the nearest heading above it, to find it on the page


SKIP_MARK = re.compile(r'pytest\.mark\.skip\(reason="([^"]+)"\)')


def skip_reason(div: Tag) -> str | None:
    """The reason of a `<!--pytest.mark.skip(reason="...")-->` mark right before a
    block, if any.

    The mark is the one pytest-codeblocks honours in the Markdown, and it survives into
    the HTML as a comment. Only blocks that need a network may carry one (see
    test_copy_ready).
    """
    before = div.find_previous(string=lambda t: isinstance(t, Comment) or t.strip())
    if isinstance(before, Comment):
        match = SKIP_MARK.search(before)
        return match.group(1) if match else None
    return None


def skipped_blocks(page: str) -> list[tuple[str, str]]:
    """(heading, reason) of each Python block on the page that carries a skip mark."""
    article = content(page)
    out = []
    for div in (
        article.select("div.language-python.highlight") if article is not None else []
    ):
        reason = skip_reason(div)
        if reason is not None:
            heading = div.find_previous(re.compile(r"^h[1-6]$"))
            out.append(
                (
                    heading.get_text(" ", strip=True).rstrip("¶").strip()
                    if heading
                    else "",
                    reason,
                )
            )
    return out


def usage_blocks(page: str) -> list[Block]:
    """The page's Python usage blocks, in order: code a reader copies, not embedded
    source.

    A usage block is a highlighted block of class `language-python`. Embedded package
    source (```` ```python title="airoad_book/..." ````) is built with a title bar, a
    `<span class="filename">`, and is left out: the package's tests cover it. So are the
    signatures on the API pages (`doc-signature`), which are not code to run; the
    examples in docstrings are usage blocks like any other.
    """
    article = content(page)
    if article is None:
        return []
    blocks = []
    for div in article.select("div.language-python.highlight"):
        if div.select_one("span.filename") is not None or "doc-signature" in div.get(
            "class", []
        ):
            continue
        if skip_reason(div) is not None:
            continue
        code = div.find("code")
        heading = div.find_previous(re.compile(r"^h[1-6]$"))
        text = heading.get_text(" ", strip=True).rstrip("¶").strip() if heading else ""
        blocks.append(
            Block(
                page, len(blocks) + 1, code.get_text() if code else div.get_text(), text
            )
        )
    return blocks
