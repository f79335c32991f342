"""The front door: the home page, the part indices and stale "not written yet"
sentences."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
STALE = re.compile(
    r"not (?:been )?written yet|first complete|not yet written|coming soon",
    re.IGNORECASE,
)


def nav_pages() -> list[str]:
    """Every page the nav of mkdocs.yml holds, relative to docs/."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = text[text.index("\nnav:") :]
    return re.findall(r"([\w./-]+\.(?:md|py))\s*$", nav, flags=re.MULTILINE)


def chapter_numbers(pages: list[str]) -> set[str]:
    """The chapter numbers (and appendix letters) of the nav's chapter pages."""
    out = set()
    for page in pages:
        m = re.match(r"(?:part\d|appendix)/(\d\d|[a-z])-", page)
        if m:
            out.add(m.group(1).lstrip("0").upper())
    return out


def stale_claims(text: str, page: Path, pages: list[str]) -> list[str]:
    """Sentences of `text` that call a chapter in the nav unwritten or the first
    complete one."""
    numbers = chapter_numbers(pages)
    held = {(DOCS / p).resolve() for p in pages}
    found = []
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        if not STALE.search(sentence):
            continue
        links = re.findall(r"\]\(([^)#\s]+\.(?:md|py))", sentence)
        targets = {(page.parent / link).resolve() for link in links}
        named = set(
            re.findall(r"(?:[Cc]hapters?|[Aa]ppendix)\s+(\d+|[A-D])\b", sentence)
        )
        named |= set(re.findall(r"\[(\d+)\.", sentence))
        if targets & held or named & numbers:
            found.append(sentence.strip())
    return found


def test_nav_is_parsed():
    pages = nav_pages()
    assert "index.md" in pages and "part2/06-bengio.md" in pages
    assert {"5", "6", "11", "A"} <= chapter_numbers(pages)


def test_the_detector_catches_the_old_home_page_sentence():
    old = (
        "The first complete chapters are [5. Language modeling and n-grams]"
        "(part2/05-ngrams.md) and [6. Bengio et al. 2003](part2/06-bengio.md)."
    )
    assert stale_claims(old, DOCS / "index.md", nav_pages())
    assert stale_claims("Chapter 7 is not written yet.", DOCS / "index.md", nav_pages())
    assert not stale_claims(
        "Chapter 99 is not written yet.", DOCS / "index.md", nav_pages()
    )


def test_no_page_calls_a_chapter_of_the_nav_unwritten():
    pages = nav_pages()
    bad = {}
    for page in sorted(DOCS.rglob("*.md")):
        claims = stale_claims(page.read_text(encoding="utf-8"), page, pages)
        if claims:
            bad[str(page.relative_to(DOCS))] = claims
    assert not bad, f"stale sentences about chapters the nav holds: {bad}"


@pytest.mark.parametrize("part", ["part1", "part2", "part3", "appendix"])
def test_each_part_index_links_all_its_chapters_and_labs(part):
    pages = nav_pages()
    text = (DOCS / part / "index.md").read_text(encoding="utf-8")
    linked = {
        (DOCS / part / link).resolve() for link in re.findall(r"\]\(([^)#\s]+)\)", text)
    }
    chapters = [
        p for p in pages if p.startswith(f"{part}/") and not p.endswith("index.md")
    ]
    numbers = {
        re.match(rf"{part}/(\d\d)-", p).group(1)
        for p in chapters
        if re.match(rf"{part}/(\d\d)-", p)
    }
    labs = [p for p in pages if p.startswith("labs/") and p[5:7] in numbers]
    missing = [p for p in chapters + labs if (DOCS / p).resolve() not in linked]
    assert not missing, f"{part}/index.md does not link {missing}"


def test_the_home_page_has_the_timeline_and_reading_paths():
    text = (DOCS / "index.md").read_text(encoding="utf-8")
    assert "{{ figure book-timeline }}" in text
    assert "## Reading paths" in text
    for path in ("The whole book", "I know NumPy", "I want the Transformer now"):
        assert path in text


def test_timeline_reads_the_committed_results():
    from airoad_book.experiments import timeline

    result = timeline.run("quick", 0, None)
    lstm = json.loads(
        (ROOT / "results" / "ptb-lstm-full.json").read_text(encoding="utf-8")
    )
    assert result.metrics["lstm_test_ppl"] == pytest.approx(lstm["metrics"]["test_ppl"])
    rows = result.tables["milestones"].rows
    assert [int(r[0]) for r in rows] == sorted(int(r[0]) for r in rows)
    assert len(rows) == len(timeline.MILESTONES)
    assert result.metrics["recorded"] == sum(result.series["milestones"]["recorded"])


def test_timeline_says_so_when_a_run_is_not_recorded(tmp_path):
    from airoad_book.experiments import timeline

    result = timeline.run_config(timeline.Config(results_dir=str(tmp_path)))
    assert result.metrics["recorded"] == 0
    assert all(
        row[3] == "no full run recorded" for row in result.tables["milestones"].rows
    )
    assert "kn5_test_ppl" not in result.metrics


def test_timeline_reads_lists_every_file_it_opens():
    from airoad_book.experiments import timeline

    opened = {f"results/{m.experiment}-full.json" for m in timeline.MILESTONES}
    opened.add(f"results/{timeline.BASELINE[0]}-full.json")
    assert opened == set(timeline.READS)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_timeline_figure_draws_one_marker_per_model(theme):
    import matplotlib

    matplotlib.use("Agg")
    from airoad_book.experiments import timeline
    from airoad_book.figures import registry
    from airoad_book.figures.style import themed

    spec = registry()["book-timeline"]
    assert spec.experiment == "timeline"
    with themed(theme):
        fig = spec.draw(timeline.run("quick", 0, None))
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == len(timeline.MILESTONES)
    lstm = json.loads(
        (ROOT / "results" / "ptb-lstm-full.json").read_text(encoding="utf-8")
    )
    assert any(f"{lstm['metrics']['test_ppl']:.1f}" in t for t in texts)
