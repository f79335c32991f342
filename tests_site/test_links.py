"""No broken internal link or anchor anywhere in the built HTML: more than `--strict`
checks.

`mkdocs build --strict` checks the Markdown links it knows; this reads what was built:
every `href`/`src` of every page (navigation, theme assets, figures, the generated API
pages, the notebook downloads, links written in raw HTML), and every `#fragment` against
the ids of its target page.
"""

from __future__ import annotations

import built_site as site


def test_the_site_has_pages():
    assert "index.html" in site.pages() and len(site.pages()) > 10


def test_no_broken_internal_link_or_anchor():
    broken, checked = [], 0
    for page in site.pages():
        for link in site.links(page):
            resolved = site.resolve(link)
            if resolved is None:
                continue
            target, fragment = resolved
            checked += 1
            if not (site.SITE / target).is_file():
                broken.append(
                    f"{page}: <{link.tag}> {link.url!r} -> missing file {target}"
                )
            elif (
                fragment
                and target.endswith(".html")
                and fragment not in site.anchors(target)
            ):
                broken.append(
                    f"{page}: <{link.tag}> {link.url!r} -> {target} has no id "
                    f"{fragment!r}"
                )
    assert checked > 100, f"only {checked} internal links checked: is the site empty?"
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(broken)


def test_the_link_checker_catches_a_missing_page_and_anchor():
    link = site.Link("part2/05-ngrams/index.html", "a", "../no-such-chapter/#x")
    assert site.resolve(link) == ("part2/no-such-chapter/index.html", "x")
    assert site.resolve(site.Link("index.html", "a", "https://example.org/")) is None
    assert site.resolve(site.Link("index.html", "link", site.SITE_URL + "part2/")) == (
        "part2/index.html",
        "",
    )
    assert site.resolve(site.Link("404.html", "a", "/elsewhere/")) == (
        "/elsewhere/",
        "",
    )
