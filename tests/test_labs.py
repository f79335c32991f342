"""Every written chapter has a lab notebook a reader can open, download and run.

A chapter page that is written (it does not say "Not written yet") links a lab,
`../labs/NAME.py`, that exists under `docs/labs/` and is in the nav, so mkdocs-jupyter
executes it on every build (`allow_errors: false`) and the hook offers it as an
`.ipynb`. That each lab runs top to bottom in a fresh kernel within 60 s is timed by `uv
run python benchmarks/build.py --only labs`.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
LAB_LINK = re.compile(r"\]\((?:\.\./)+labs/([\w.-]+\.py)\)")
CHAPTER = re.compile(r"^part\d+/\d\d-[\w-]+\.md$")


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_multi_constructor(
    "", lambda loader, suffix, node: None
)  # !ENV, !!python/name: ...


def nav_files(nav) -> set[str]:
    """Every Markdown or notebook file named in mkdocs.yml's nav."""
    if isinstance(nav, str):
        return {nav}
    if isinstance(nav, dict):
        return set().union(*(nav_files(v) for v in nav.values()))
    if isinstance(nav, list):
        return set().union(*(nav_files(v) for v in nav)) if nav else set()
    return set()


def nav() -> set[str]:
    return nav_files(
        yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_Loader)[
            "nav"
        ]
    )


def written_chapters() -> list[Path]:
    return [
        p
        for p in sorted(DOCS.rglob("*.md"))
        if CHAPTER.match(p.relative_to(DOCS).as_posix())
        and "Not written yet" not in p.read_text(encoding="utf-8")
    ]


def test_some_chapters_are_written():
    assert written_chapters(), (
        "no chapter is written: the lab check would check nothing"
    )


def test_every_written_chapter_links_a_lab_in_the_nav():
    in_nav, bad = nav(), []
    for page in written_chapters():
        labs = LAB_LINK.findall(page.read_text(encoding="utf-8"))
        where = page.relative_to(ROOT)
        if not labs:
            bad.append(f"{where}: links no lab notebook (../labs/NAME.py)")
        for lab in labs:
            if not (DOCS / "labs" / lab).is_file():
                bad.append(f"{where}: links docs/labs/{lab}, which does not exist")
            elif f"labs/{lab}" not in in_nav:
                bad.append(
                    f"{where}: links labs/{lab}, which is not in mkdocs.yml's nav"
                )
    assert not bad, "\n".join(bad)


def test_every_page_in_the_nav_is_written():
    # the book is complete: a page still holding the "Not written yet" placeholder is a
    # regression
    pages = [f for f in sorted(nav()) if f.endswith(".md")]
    stubs = [
        f for f in pages if "Not written yet" in (DOCS / f).read_text(encoding="utf-8")
    ]
    assert len(pages) > 20, f"the nav names only {len(pages)} Markdown pages"
    assert not stubs, f"pages in the nav that are still placeholders: {stubs}"


def test_every_lab_is_in_the_nav():
    missing = [
        p.name
        for p in sorted((DOCS / "labs").glob("*.py"))
        if f"labs/{p.name}" not in nav()
    ]
    assert not missing, (
        f"labs not in mkdocs.yml's nav (so never built nor executed): {missing}"
    )


def test_every_lab_that_plots_uses_the_books_colour_blind_safe_palette():
    bad = [
        lab.name
        for lab in sorted((DOCS / "labs").glob("*.py"))
        if "matplotlib" in (text := lab.read_text(encoding="utf-8"))
        and "use_book_colors()" not in text
    ]
    assert not bad, (
        f"labs that plot with matplotlib's default colours (call use_book_colors()): "
        f"{bad}"
    )


def test_use_book_colors_sets_the_default_line_colours():
    import matplotlib as mpl

    from airoad_book.figures.palette import SEQUENCE, use_book_colors

    before = mpl.rcParams["axes.prop_cycle"]
    try:
        use_book_colors()
        assert mpl.rcParams["axes.prop_cycle"].by_key()["color"] == list(SEQUENCE)
    finally:
        mpl.rcParams["axes.prop_cycle"] = before
    assert len(set(SEQUENCE)) == len(SEQUENCE)


def test_every_lab_cell_that_shows_a_plot_gives_it_alt_text():
    # the hook turns a cell's `# %% alt="..."` into the alt text of the image it
    # outputs;
    # without it the page gets a placeholder alt, which tests_site's accessibility check
    # rejects
    bad = []
    for lab in sorted((DOCS / "labs").glob("*.py")):
        cells = re.split(r"^(?=# %%)", lab.read_text(encoding="utf-8"), flags=re.M)
        for cell in cells:
            header = cell.split("\n", 1)[0]
            if "plt.show()" in cell and not re.search(r'alt="[^"]{20,}"', header):
                bad.append(
                    f"{lab.name}: a cell that shows a plot has no alt text: {header!r}"
                )
    assert not bad, "\n".join(bad)
