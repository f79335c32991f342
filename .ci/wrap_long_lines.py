"""Wrap the comments and docstrings `ruff format` leaves wider than the code column.

    uv run python .ci/wrap_long_lines.py airoad_book tests   # rewrite in place
    uv run python .ci/wrap_long_lines.py --check airoad_book  # list, change nothing

ruff format wraps code but never prose: a comment or a docstring line wider than
`line-length` stays as it is, and on the page it scrolls sideways. This rewrites, for
each line wider than the limit (ruff's `line-length` in pyproject.toml):

- a docstring paragraph (consecutive non-blank lines at the docstring's indentation):
  refilled to the limit, words kept in order;
- a comment on its own line: split into comment lines at the same indentation;
- a trailing comment (`code  # why`): moved to its own line(s) above the code.

Lines in a docstring indented deeper than its text (formulas, examples, lists' bodies)
and long string literals in code are left alone and listed, to be shortened by hand.
Run `ruff format` before and after. tests/test_code_width.py checks the embedded
sections; this is the tool that makes them pass.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import textwrap
import tokenize
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def limit() -> int:
    """ruff's line-length from pyproject.toml."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return int(config["tool"]["ruff"]["line-length"])


def docstring_lines(source: str) -> set[int]:
    """0-based numbers of the lines inside docstrings (after the opening line)."""
    inside: set[int] = set()
    previous = None
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.STRING and tok.string.lstrip("rRbBuUfF")[:3] in {
            '"""',
            "'''",
        }:
            first_on_line = previous is None or previous.type in {
                tokenize.NEWLINE,
                tokenize.NL,
                tokenize.INDENT,
                tokenize.DEDENT,
            }
            if first_on_line:
                inside.update(range(tok.start[0] - 1, tok.end[0]))
        if tok.type not in {tokenize.COMMENT}:
            previous = tok
    return inside


def comment_start(line: str) -> int | None:
    """Where a trailing or whole-line comment starts, or None (tokenizer-exact)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            return tok.start[1]
    return None


def wrap_file(path: Path, width: int, check: bool) -> list[str]:
    """Wrap ``path`` in place (unless ``check``); return what is still too wide."""
    source = path.read_text(encoding="utf-8")
    lines = source.split("\n")
    in_doc = docstring_lines(source)
    out: list[str] = []
    left: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if len(line) <= width or "--8<--" in line:
            out.append(line)
            i += 1
            continue
        if i in in_doc:
            block, indent = _doc_paragraph(lines, i, in_doc)
            if indent is None:
                left.append(
                    f"{path}:{i + 1}: docstring line (indented, a list or code)"
                )
                out.append(line)
                i += 1
                continue
            del out[len(out) - (i - block[0]) :]  # the paragraph's earlier lines
            out.extend(_refill([lines[k] for k in block], indent, width))
            i = block[-1] + 1
            continue
        at = comment_start(line)
        if at is None and (parts := split_string(line, width)):
            out.extend(parts)
            i += 1
            continue
        if at is None:
            left.append(f"{path}:{i + 1}: code or string ({len(line)} chars)")
            out.append(line)
            i += 1
            continue
        code, comment = line[:at].rstrip(), line[at:].lstrip("#").strip()
        indent = line[: len(line) - len(line.lstrip())]
        if comment.startswith(("noqa", "type:", "fmt:", "pragma")):
            left.append(f"{path}:{i + 1}: a directive comment")
            out.append(line)
            i += 1
            continue
        wrapped = textwrap.wrap(
            comment,
            width - len(indent) - 2,
            break_long_words=False,
            break_on_hyphens=False,
        )
        out.extend(f"{indent}# {x}" for x in wrapped)
        if code.strip():
            out.append(code)
            if len(code) > width:
                left.append(f"{path}:{i + 1}: code ({len(code)} chars)")
        i += 1
    if not check and out != lines:
        path.write_text("\n".join(out), encoding="utf-8")
    return left


QUOTE = re.compile(r"^[rRuU]?(\"\"\"|\'\'\')")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _doc_paragraph(lines: list[str], i: int, in_doc: set[int]):
    """The docstring paragraph holding line i: (line numbers, indentation of its text).
    Indentation is None where the paragraph is not plain prose: deeper than the
    docstring's opening line (a formula, an example), inside a ``` code fence, a list, a
    table or a doctest."""
    top = i
    while top - 1 in in_doc and not QUOTE.match(lines[top].strip()):
        top -= 1  # the docstring's opening line
    base = _indent(lines[top])
    fences = sum(lines[k].strip().startswith("```") for k in range(top, i))
    if _indent(lines[i]) != base or fences % 2:  # deeper, or inside a ``` code fence
        return [i], None
    lo = i
    while lo > top and lines[lo - 1].strip() and _indent(lines[lo - 1]) == base:
        lo -= 1
    hi = i
    while (
        hi + 1 in in_doc
        and lines[hi + 1].strip()
        and _indent(lines[hi + 1]) == base
        and not QUOTE.match(lines[hi + 1].strip())
    ):
        hi += 1
    block = list(range(lo, hi + 1))
    text = [lines[k].strip() for k in block]
    if any(
        x.startswith(("- ", "* ", ">>>", "|", "+")) or x.endswith("::") for x in text
    ):
        return block, None
    if lines[hi].strip() in {'"""', "'''"}:
        block = block[:-1]
    return block, " " * base


def _refill(paragraph: list[str], indent: str, width: int) -> list[str]:
    """The paragraph's words refilled to ``width``, its quotes kept where they were
    (the closing quotes stay on the last word: ruff format would pull them back)."""
    text = " ".join(x.strip() for x in paragraph)
    opening = QUOTE.match(text)
    prefix = opening.group(0) if opening else ""
    return textwrap.wrap(
        text[len(prefix) :],
        width,
        initial_indent=indent + prefix,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


STRING = re.compile(r'^(\s*)([rRfFbBuU]{0,2})"((?:[^"\\]|\\.)*)"(,?\)?,?)$')


def split_string(line: str, width: int) -> list[str] | None:
    """A line holding one string literal, split in two at a space outside ``{}``
    (implicit concatenation inside the call or list around it); None if it cannot."""
    m = STRING.match(line)
    if not m:
        return None
    indent, prefix, body, tail = m.groups()
    room = width - len(indent) - len(prefix) - 2
    depth, cut = 0, None
    for k, ch in enumerate(body):
        depth += (ch == "{") - (ch == "}")
        if ch == " " and depth == 0 and 0 < k + 1 <= room:
            cut = k + 1  # the space stays at the end of the first part
    if cut is None or cut >= len(body):
        return None
    first = f'{indent}{prefix}"{body[:cut]}"'
    rest = f'{indent}{prefix}"{body[cut:]}"{tail}'
    more = split_string(rest, width) if len(rest) > width else [rest]
    return [first, *(more or [rest])]


def main(argv: list[str] | None = None) -> int:
    """Wrap every .py file under the given paths; exit 1 with --check if any is wide."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="change nothing")
    args = parser.parse_args(argv)
    width = limit()
    files = [
        f for p in args.paths for f in ([p] if p.is_file() else sorted(p.rglob("*.py")))
    ]
    left: list[str] = []
    for f in files:
        left += wrap_file(f, width, args.check)
    print("\n".join(left) if left else f"every comment and docstring fits {width}")
    return 1 if args.check and left else 0


if __name__ == "__main__":
    sys.exit(main())
