"""The code column in a real browser: at a 1280-px window, light and dark, no embedded
section scrolls sideways, and the box holds ruff's line-length.

tests/test_code_width.py checks the same from the source with no browser; this checks
the premise it rests on, the width of the rendered box ([tool.ruff] in pyproject.toml).
"""

from __future__ import annotations

import tomllib

import built_site as site
import pytest

CHAPTERS = [p for p in site.chapters() if not p.startswith("labs/")]
MEASURE = """() => [...document.querySelectorAll(
    'article div.highlight:has(span.filename) pre > code')].map(c => {
  const s = getComputedStyle(c);
  const probe = document.createElement('span');
  probe.textContent = '0'.repeat(100);
  probe.style.font = s.font;
  probe.style.whiteSpace = 'pre';
  c.appendChild(probe);
  const char = probe.getBoundingClientRect().width / 100;
  probe.remove();
  const inner = c.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
  return {title: c.closest('div.highlight').querySelector('span.filename').textContent,
          nested: c.closest('.admonition, details, li') !== null,
          scroll: c.scrollWidth > c.clientWidth + 1,
          chars: Math.floor(inner / char)};
})"""


def line_length() -> int:
    config = tomllib.loads((site.ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return int(config["tool"]["ruff"]["line-length"])


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_embedded_code_scrolls_at_1280_px(browser, base_url, scheme):  # noqa: F811
    context = browser.new_context(
        color_scheme=scheme, viewport={"width": 1280, "height": 900}
    )
    boxes, nested, wide = [], [], []
    try:
        tab = context.new_page()
        for page in CHAPTERS:
            tab.goto(base_url + site.url_path(page), wait_until="load")
            for box in tab.evaluate(MEASURE):
                (nested if box["nested"] else boxes).append(box["chars"])
                if box["scroll"]:
                    wide.append(f"{page}: {box['title']}")
    finally:
        context.close()
    assert boxes, "no embedded section found on any chapter"
    # the classic page scrollbar of a desktop browser takes about 2 characters; an
    # admonition's box is 4 narrower (tests/test_code_width.py's NESTED)
    width = line_length()
    assert min(boxes) >= width + 2, f"the code box holds {min(boxes)} characters"
    assert min(nested, default=99) >= width - 4 + 2, f"nested: {min(nested)} characters"
    assert not wide, "embedded sections that scroll sideways:\n" + "\n".join(wide)
