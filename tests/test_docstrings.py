"""Every public name of the package has a docstring, and the API reference documents
every module.

The API reference (mkdocstrings) is generated from the docstrings, one page per module,
by the MkDocs hook (`airoad_book.site.api_modules`), so a new module gets its page with
no hand edit; these tests keep both halves honest for whatever modules exist. Read with
`ast`, not by importing: a dataclass without a docstring gets a generated one at run
time.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from airoad_book import site

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "airoad_book"


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name, but `__main__` scripts and private
    modules."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if any(part.startswith("_") for part in parts):
            continue
        found[".".join(parts)] = path
    return found


def undocumented(path: Path) -> list[str]:
    """Public classes, functions and methods of one file with no (or an empty)
    docstring."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    missing = [] if (ast.get_docstring(tree) or "").strip() else ["the module itself"]

    def walk(node: ast.AST, prefix: str) -> None:
        for child in getattr(node, "body", []):
            if not isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
            ):
                continue
            if child.name.startswith("_"):
                continue
            if not (ast.get_docstring(child) or "").strip():
                missing.append(f"{prefix}{child.name} (line {child.lineno})")
            if isinstance(child, ast.ClassDef):
                walk(child, f"{prefix}{child.name}.")

    walk(tree, "")
    return missing


def test_the_package_has_modules():
    assert "airoad_book.models.bengio" in modules() and len(modules()) > 10


def test_every_public_class_function_and_method_has_a_docstring():
    bad = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in modules().values()
        for name in undocumented(path)
    ]
    assert not bad, (
        "public names without a docstring (the API reference is made from them):\n"
        + "\n".join(bad)
    )


def test_the_checker_finds_a_missing_docstring(tmp_path):
    source = tmp_path / "m.py"
    source.write_text(
        '"""Doc."""\nclass A:\n    """Doc."""\n    def f(self):\n        pass\n'
        '    def _g(self):\n        pass\ndef h():\n    """  """\n'
    )
    assert undocumented(source) == ["A.f (line 4)", "h (line 8)"]


def test_every_module_has_an_api_reference_page():
    pages = site.api_modules(PACKAGE)
    assert set(pages) == set(modules()), (
        f"modules without an API page: {sorted(set(modules()) - set(pages))}"
    )
    for name, uri in pages.items():
        text = site.api_page(name)
        assert f"::: {name}" in text, f"{uri} does not document {name}"


def heading_skips(doc: str) -> list[str]:
    """Headings of a docstring below the top level: mkdocstrings would show them an h3
    or lower right under the module's h1 (it shifts a docstring's headings one level
    down)."""
    lines = doc.splitlines()
    found = [line for line in lines if re.match(r"^#{2,6}\s", line)]
    found += [
        above
        for above, line in zip(lines, lines[1:])
        if above.strip() and re.fullmatch(r"-{3,}\s*", line)
    ]
    return found


def test_docstring_sections_are_top_level_headings():
    bad = []
    for path in modules().values():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = [ast.get_docstring(tree) or ""] + [
            ast.get_docstring(n) or ""
            for n in ast.walk(tree)
            if isinstance(n, (ast.ClassDef, ast.FunctionDef))
        ]
        bad += [
            f"{path.relative_to(ROOT)}: {title!r}"
            for doc in docs
            for title in heading_skips(doc)
        ]
    assert not bad, (
        "docstring sections must be underlined with === (or start with one #), which "
        "the API "
        "page shows as h2:\n" + "\n".join(bad)
    )
    assert heading_skips("Title\n-----\n\n## Sub\n| a |\n|---|\n") == [
        "## Sub",
        "Title",
    ]
