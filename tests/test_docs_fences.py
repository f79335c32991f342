"""Every code fence under docs/ is accounted for (DESIGN.md, non-negotiable 3).

pytest-codeblocks runs a fence only when its info string is exactly `python`, `bash` or
`sh`, ignores every other one without a word, and would run a `--8<--` include line as
Python. So each fence here must be one of:

- a usage block: info string exactly `python`, `bash` or `sh`, with no include line;
- embedded source: ```` ```python title="airoad_book/....py" ```` holding only `--8<--` lines
  that include sections of that same file (the package's own tests cover that code), or
  ```` ```cpp title="cpp/....cpp" ```` for the C++ of appendix F (its tests compile it);
- explicitly marked: preceded by `<!--pytest.mark.skip(reason="...")-->` with a reason;
- not code at all: `text`, `console`, `yaml`, `json`, `toml`, `markdown`, `tex`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RUNNABLE = {"python", "bash", "sh"}
NOT_CODE = {
    "text",
    "console",
    "yaml",
    "json",
    "toml",
    "markdown",
    "md",
    "tex",
    "output",
}
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*(.*)$")
TITLED = re.compile(r'^(?:python|cpp)\s+title="([^"]+)"$')
INCLUDE = re.compile(r'^\s*--8<--\s+"([^"]+)"\s*$')
SKIP_MARK = re.compile(r'<!--\s*pytest\.mark\.skip\(reason="[^"]+"\)\s*-->')
SECTION_START = "# --8<-- [start:{}]"
CPP_SECTION_START = "// --8<-- [start:{}]"  # the same marker in a C++ comment


@dataclass
class Fence:
    path: Path
    line: int
    info: str
    body: list[str]
    marked: bool


def fences(path: Path) -> list[Fence]:
    """The fences of one Markdown file, with whether a skip mark with a reason precedes
    each."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out, i, marks = [], 0, []
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            if lines[i].strip().startswith("<!--"):
                marks.append(lines[i])
            elif lines[i].strip():
                marks = []
            i += 1
            continue
        ticks, info, start = m.group(2), m.group(3).strip(), i + 1
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(ticks):
            body.append(lines[i])
            i += 1
        i += 1
        out.append(
            Fence(path, start, info, body, any(SKIP_MARK.search(x) for x in marks))
        )
        marks = []
    return out


def classify(fence: Fence) -> tuple[str, str]:
    """('executed' | 'embedded' | 'marked' | 'not code' | 'unaccounted', why)."""
    includes = [INCLUDE.match(line) for line in fence.body if "--8<--" in line]
    if fence.marked:
        return "marked", "skipped with a reason"
    if fence.info in RUNNABLE:
        if includes:
            return (
                "unaccounted",
                "a runnable fence holds a --8<-- include, which pytest-codeblocks would run",
            )
        return "executed", ""
    titled = TITLED.match(fence.info)
    if titled:
        return check_embedded(fence, titled.group(1), includes)
    lang = fence.info.split()[0] if fence.info else ""
    if lang in NOT_CODE:
        return "not code", ""
    return "unaccounted", (
        f"info string {fence.info!r} is never run by pytest-codeblocks: use exactly "
        f"python/bash/sh, "
        'a python title="airoad_book/..." fence of includes, or a skip mark with a reason'
    )


def check_embedded(fence: Fence, title: str, includes: list) -> tuple[str, str]:
    body = [line for line in fence.body if line.strip()]
    if not body or len(includes) != len(body) or not all(includes):
        return (
            "unaccounted",
            f"a fence titled {title!r} must hold only --8<-- include lines",
        )
    for match in includes:
        target, _, section = match.group(1).partition(":")
        if target != title:
            return (
                "unaccounted",
                f"the fence is titled {title!r} but includes {target!r}",
            )
        source = ROOT / target
        if not source.is_file():
            return "unaccounted", f"included file {target} does not exist"
        text = source.read_text(encoding="utf-8")
        starts = (SECTION_START.format(section), CPP_SECTION_START.format(section))
        if section and not any(start in text for start in starts):
            return "unaccounted", f"{target} has no section {section!r}"
    return "embedded", ""


def all_fences() -> list[Fence]:
    return [f for md in sorted(DOCS.rglob("*.md")) for f in fences(md)]


def test_every_fence_under_docs_is_accounted_for():
    verdicts = [(f, *classify(f)) for f in all_fences()]
    bad = [
        f"{f.path.relative_to(ROOT)}:{f.line}: ```{f.info}: {why}"
        for f, kind, why in verdicts
        if kind == "unaccounted"
    ]
    assert not bad, "unaccounted code fences:\n" + "\n".join(bad)


def test_the_book_has_at_least_ten_usage_blocks():
    executed = [
        f for f in all_fences() if classify(f)[0] == "executed" and f.info == "python"
    ]
    assert len(executed) >= 10, f"only {len(executed)} python usage blocks under docs/"


def test_every_chapter_with_embedded_source_embeds_one_model_file():
    """DESIGN.md: a chapter embeds sections of exactly one model file."""
    for md in sorted(DOCS.rglob("*.md")):
        models = {
            TITLED.match(f.info).group(1)
            for f in fences(md)
            if TITLED.match(f.info) and "/models/" in TITLED.match(f.info).group(1)
        }
        assert len(models) <= 1, (
            f"{md.relative_to(ROOT)} embeds several model files: {sorted(models)}"
        )


@pytest.mark.parametrize(
    ("info", "body", "expected"),
    [
        ("python", ["print(1)"], "executed"),
        ("py", ["print(1)"], "unaccounted"),
        ("pycon", [">>> 1"], "unaccounted"),
        ('python title="x.py"', ["print(1)"], "unaccounted"),
        ("python", ['--8<-- "airoad_book/models/bengio.py:forward"'], "unaccounted"),
        (
            'python title="airoad_book/models/bengio.py"',
            ['--8<-- "airoad_book/models/bengio.py:forward"'],
            "embedded",
        ),
        (
            'python title="airoad_book/models/bengio.py"',
            ['--8<-- "airoad_book/models/bengio.py:no-such"'],
            "unaccounted",
        ),
        (
            'python title="airoad_book/models/bengio.py"',
            ['--8<-- "airoad_book/models/ngram.py:counts"'],
            "unaccounted",
        ),
        (
            'cpp title="cpp/mlp_eigen.cpp"',
            ['--8<-- "cpp/mlp_eigen.cpp:dense"'],
            "embedded",
        ),
        ('cpp title="cpp/mlp_eigen.cpp"', ["int main() {}"], "unaccounted"),
        ("cpp", ["int main() {}"], "unaccounted"),
        ("text", ["anything"], "not code"),
        ("shell", ["ls"], "unaccounted"),
    ],
)
def test_the_classifier_catches_what_pytest_codeblocks_would_ignore(
    info, body, expected
):
    assert classify(Fence(Path("x.md"), 1, info, body, marked=False))[0] == expected


def test_a_skip_mark_needs_a_reason(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        '<!--pytest.mark.skip-->\n```py\nx\n```\n\n<!--pytest.mark.skip(reason="needs a GPU")-->\n```py\nx\n```\n'
    )
    kinds = [classify(f)[0] for f in fences(page)]
    assert kinds == ["unaccounted", "marked"]
