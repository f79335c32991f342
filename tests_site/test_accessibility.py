"""Accessibility of the built pages: alt text that says what a figure shows; headings in
order."""

from __future__ import annotations

import posixpath
import re
from urllib.parse import unquote, urlsplit

import built_site as site

# What tools write when nobody wrote an alt text: nbconvert for a notebook's plot output
# (a
# lab sets a real one with the cell metadata `alt`, in jupytext `# %% alt="..."`).
PLACEHOLDERS = {
    "no description has been provided for this image",
    "image",
    "figure",
    "plot",
    "png",
    "svg",
}


def test_every_image_in_content_has_alt_text_that_describes_it():
    bad = []
    for page in site.pages():
        article = site.content(page)
        for img in article.find_all("img") if article else []:
            src = img.get("src", "")
            alt = (img.get("alt") or "").strip()
            name = posixpath.basename(unquote(urlsplit(src).path))
            stem = posixpath.splitext(name)[0]
            if not alt:
                bad.append(f"{page}: <img src={src[:80]!r}> has no alt text")
            elif alt.lower() in PLACEHOLDERS:
                bad.append(
                    f"{page}: <img src={src[:80]!r}> has only the placeholder alt "
                    f"{alt!r}"
                )
            elif (
                alt.lower()
                in {name.lower(), stem.lower(), stem.lower().replace("-", " ")}
                or len(alt.split()) < 3
            ):
                bad.append(
                    f"{page}: <img src={src[:80]!r}> alt {alt!r} does not say what it "
                    f"shows"
                )
    assert not bad, "images without a useful alt text:\n" + "\n".join(bad)


def test_headings_go_down_one_level_at_a_time():
    bad = []
    for page in site.pages():
        article = site.content(page)
        if article is None:
            continue
        levels = [
            (int(h.name[1]), h.get_text(" ", strip=True).rstrip("¶").strip())
            for h in article.find_all(re.compile(r"^h[1-6]$"))
        ]
        if not levels:
            continue
        if levels[0][0] != 1:
            bad.append(
                f"{page}: the first heading is h{levels[0][0]} {levels[0][1]!r}, not "
                f"an h1"
            )
        for (before, _), (level, text) in zip(levels, levels[1:]):
            if level > before + 1:
                bad.append(f"{page}: h{before} is followed by h{level} {text!r}")
    assert not bad, "headings that skip a level:\n" + "\n".join(bad)
