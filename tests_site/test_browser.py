"""The built site in a real browser: headless Chromium, driven by Playwright.

`site/` is served on localhost under the site's base path (`/airoad-book/`, from
`site_url`), and every page is loaded as a reader's browser loads it:

- no console error, no uncaught exception, no failed request, no request off the machine;
- every figure loads (non-zero natural size) in the light palette and, after the palette
  toggle, in the dark one, where the dark variants are shown and the light ones hidden;
- the math is typeset by MathJax: no raw `$$`, `\\(` or `\\[` left in the text, no TeX error;
- a screenshot of each chapter goes to `tests_site/screenshots/` (git-ignored) for review.

And the search finds the language-modeling chapter for "perplexity".

Chromium is the system's (`chromium` from Debian, `.ci/run` installs it), never a
download: set `AIROAD_CHROMIUM` to use another executable.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import built_site as site
import pytest
from playwright.sync_api import Browser

TIMEOUT_MS = 60_000  # the machine may be busy: timings here are not the point
ALLOWED_OFFSITE = {
    "api.github.com"
}  # the theme's repository star count: a nicety that fails offline quietly


class Visit:
    """One page open in a fresh browser context (light palette), with what went wrong on
    the way."""

    def __init__(self, browser: Browser, base_url: str, page: str):
        self.name = page
        self.problems: list[str] = []
        self.context = browser.new_context(
            color_scheme="light", viewport={"width": 1280, "height": 900}
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        self.context.route("**/*", self._route)
        self.tab = self.context.new_page()
        self.tab.on("console", self._console)
        self.tab.on(
            "pageerror", lambda err: self.problems.append(f"uncaught exception: {err}")
        )
        self.tab.on("requestfailed", self._failed)
        self.tab.on(
            "response",
            lambda r: (
                r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}")
            ),
        )
        self.tab.goto(base_url + site.url_path(page), wait_until="load")
        self.tab.wait_for_load_state("networkidle")

    def _route(self, route) -> None:
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost") or route.request.url.startswith(
            ("data:", "blob:")
        ):
            route.continue_()
        else:
            if host not in ALLOWED_OFFSITE:
                self.problems.append(f"request off the machine: {route.request.url}")
            route.abort()

    def _console(self, msg) -> None:
        where = msg.location.get("url", "")
        if msg.type == "error" and urlsplit(where).hostname not in ALLOWED_OFFSITE:
            self.problems.append(f"console error: {msg.text} ({where})")

    def _failed(self, request) -> None:
        host = urlsplit(request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            self.problems.append(f"failed request: {request.url} ({request.failure})")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, base_url):
    opened = []

    def open_page(page: str) -> Visit:
        opened.append(Visit(browser, base_url, page))
        return opened[-1]

    yield open_page
    for v in opened:
        v.close()


# Lazy images load when scrolled to: make them eager and wait (at most 30 s) for all of
# them.
LOAD_FIGURES = """() => Promise.race([
    Promise.all(Array.from(document.querySelectorAll("article img")).map(img => {
        img.loading = "eager";
        return img.complete ? null : new Promise(done => { img.onload = img.onerror = done; });
    })),
    new Promise(done => setTimeout(done, 30000)),
])"""

FIGURE_STATE = """() => Array.from(document.querySelectorAll("article img")).map(img => ({
    src: img.getAttribute("src"),
    width: img.naturalWidth,
    height: img.naturalHeight,
    shown: img.getClientRects().length > 0 && getComputedStyle(img).visibility !== "hidden",
}))"""


def figures(v: Visit) -> list[dict]:
    v.tab.evaluate(LOAD_FIGURES)
    return v.tab.evaluate(FIGURE_STATE)


def check_figures(v: Visit, palette: str) -> list[str]:
    bad = []
    for img in figures(v):
        if not (img["width"] > 0 and img["height"] > 0):
            bad.append(
                f"{v.name} ({palette}): figure {img['src']} did not load (natural size "
                f"0)"
            )
        variant = (
            "dark"
            if img["src"].endswith("#only-dark")
            else "light"
            if img["src"].endswith("#only-light")
            else None
        )
        if variant is not None and img["shown"] != (variant == palette):
            bad.append(
                f"{v.name} ({palette} palette): the {variant} variant {img['src']} is "
                f"{'shown' if img['shown'] else 'hidden'}"
            )
    return bad


MATH_DONE = """() => {
    const math = document.querySelectorAll("article .arithmatex");
    if (math.length === 0) return true;
    return Array.from(math).every(m => m.querySelector("mjx-container"));
}"""

PROSE_TEXT = """() => {
    const article = document.querySelector("article").cloneNode(true);
    article.querySelectorAll("pre, code, mjx-container, script, style").forEach(e => e.remove());
    return article.innerText;
}"""


RAW_INLINE_MATH = re.compile(
    r"(?<![\\$\w])\$(?=[^\s$\d])[^$\n]{1,80}?(?<=[^\s\\])\$(?![\w$])"
)  # $x_t$, not $5


def check_math(v: Visit) -> list[str]:
    try:
        v.tab.wait_for_function(MATH_DONE)
    except Exception:
        return [
            f"{v.name}: MathJax did not typeset every formula within "
            f"{TIMEOUT_MS / 1000:.0f} s"
        ]
    bad = []
    errors = v.tab.locator("article mjx-merror").all_inner_texts()
    bad += [f"{v.name}: a TeX error in a formula: {e!r}" for e in errors]
    text = v.tab.evaluate(PROSE_TEXT)
    for raw in ("$$", "\\(", "\\)", "\\[", "\\]", "\\begin{"):
        at = text.find(raw)
        if at >= 0:
            bad.append(
                f"{v.name}: raw math {raw!r} in the text: "
                f"...{text[max(0, at - 60) : at + 60]!r}..."
            )
    for inline in RAW_INLINE_MATH.finditer(text):
        bad.append(f"{v.name}: raw inline math in the text: {inline.group(0)!r}")
    return bad


@pytest.mark.parametrize("page", site.pages())
def test_page_loads_cleanly_with_figures_and_math_in_both_palettes(page, visit):
    v = visit(page)
    bad = check_figures(v, "light") + check_math(v)
    if page in site.chapters():
        site.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        v.tab.screenshot(
            path=site.SCREENSHOTS
            / (page.removesuffix("/index.html").replace("/", "_") + ".png"),
            full_page=True,
        )
    toggle = v.tab.get_by_title("Switch to dark mode")
    if toggle.count():
        toggle.first.click()
        v.tab.wait_for_function(
            "() => document.body.getAttribute('data-md-color-scheme') === 'slate'"
        )
        bad += check_figures(v, "dark")
    elif page != "404.html":
        bad.append(f"{page}: no palette toggle titled 'Switch to dark mode'")
    assert not (v.problems + bad), f"{page}:\n" + "\n".join(v.problems + bad)


def test_some_page_has_light_and_dark_figures(visit):
    """The palette checks above are not vacuous: a chapter has figures in both
    variants."""
    with_figures = [
        p
        for p in site.chapters()
        if site.content(p) and site.content(p).select('img[src$="#only-dark"]')
    ]
    assert with_figures, "no chapter has a figure with a dark variant"
    v = visit(with_figures[0])
    srcs = [img["src"] for img in figures(v)]
    assert any(s.endswith("-dark.svg#only-dark") for s in srcs) and any(
        s.endswith("#only-light") for s in srcs
    )


def test_search_finds_the_language_modeling_chapter_for_perplexity(visit):
    v = visit("index.html")
    box = v.tab.locator("input.md-search__input")
    box.click()
    box.press_sequentially("perplexity")  # the theme reads the query on key presses
    results = v.tab.locator(".md-search-result__item a")
    results.first.wait_for()
    hrefs = results.evaluate_all("links => links.map(a => a.href)")
    assert any("/part2/05-ngrams/" in h for h in hrefs), (
        f"search for 'perplexity' found: {hrefs[:10]}"
    )
    assert not v.problems, "\n".join(v.problems)
