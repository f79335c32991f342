"""Labs executed ahead of mkdocs-jupyter (issue 20): a tiny book's lab runs in the
background pool, mkdocs-jupyter renders it from the cache it wrote, a second build
executes nothing, and a failing lab still fails the build naming its cell."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from airoad_book import lab_runner

ROOT = Path(__file__).resolve().parents[1]

GOOD = "# %% [markdown]\n# # A tiny lab\n\n# %%\nprint(6 * 7)\n"
BAD = "# %% [markdown]\n# # A tiny lab\n\n# %%\nraise RuntimeError('lab cell broke')\n"


def tiny_book(tmp_path: Path, lab: str) -> Path:
    (tmp_path / "docs" / "labs").mkdir(parents=True)
    (tmp_path / "docs" / "index.md").write_text("# A tiny book\n")
    (tmp_path / "docs" / "labs" / "tiny.py").write_text(lab)
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: tiny\n"
        "plugins:\n"
        "  - mkdocs-jupyter:\n"
        '      include: ["labs/*.py"]\n'
        "      execute: true\n"
        "      allow_errors: false\n"
        "      cache: true\n"
        "hooks:\n  - " + str(ROOT / "hooks" / "airoad.py") + "\n"
    )
    return tmp_path


def build(book: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "AIROAD_ONLY_FIGURES": "xor-boundary"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--verbose"],
        cwd=book,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_lab_runs_ahead_and_mkdocs_jupyter_renders_it_from_the_cache(tmp_path):
    book = tiny_book(tmp_path, GOOD)
    first = build(book)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "1 labs executing in the background" in first.stderr
    assert "Cache hit" in first.stderr, "mkdocs-jupyter must find the executed copy"
    assert "Cache miss" not in first.stderr, "mkdocs-jupyter must not execute it again"
    html = (book / "site" / "labs" / "tiny" / "index.html").read_text()
    assert "42" in html
    second = build(book)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "labs executing" not in second.stderr and "Cache hit" in second.stderr


def test_a_lab_that_fails_ahead_of_time_still_fails_the_build_naming_its_error(
    tmp_path,
):
    book = tiny_book(tmp_path, BAD)
    done = build(book)
    assert done.returncode != 0
    assert "ahead of time failed" in done.stderr
    assert "lab cell broke" in done.stderr


def test_labs_run_ahead_only_when_mkdocs_jupyter_would_execute_and_cache_them():
    options = {"execute": True, "cache": True, "execute_ignore": []}
    assert lab_runner.can_run_ahead(options)
    assert not lab_runner.can_run_ahead({**options, "execute": False})
    assert not lab_runner.can_run_ahead({**options, "cache": False})
    assert not lab_runner.can_run_ahead({**options, "execute_ignore": ["x.py"]})


SLOW = "# %% [markdown]\n# # A tiny lab\n\n# %%\nimport time\ntime.sleep(20)\nprint(6 * 7)\n"


def test_serve_shows_a_notice_for_a_lab_still_executing_then_the_lab(tmp_path):
    import socket
    import time
    import urllib.request

    book = tiny_book(tmp_path, SLOW)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "AIROAD_ONLY_FIGURES": "xor-boundary"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "-a", f"127.0.0.1:{port}"],
        cwd=book,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seen = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and "jp-Notebook" not in seen:
            try:
                url = f"http://127.0.0.1:{port}/labs/tiny/"
                with urllib.request.urlopen(url, timeout=5) as response:
                    html = response.read().decode()
                seen.append("jp-Notebook" if "jp-Notebook" in html else html)
            except OSError:
                pass
            time.sleep(1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert any("Being executed" in page for page in seen), "no notice while executing"
    assert seen and seen[-1] == "jp-Notebook", "the lab never replaced its notice"


def _python(code: str, **options):
    """Run `code` in a fresh interpreter; its captured output (fails if it fails)."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        **options,
    )


def test_the_kernels_tcp_warning_is_left_out_of_the_log_and_nothing_else(tmp_path):
    script = (
        "import subprocess, sys, time\n"
        "from airoad_book.lab_runner import QUIET, quiet_stderr\n"
        "quiet_stderr(QUIET)\n"
        "child = 'import sys; print(\"[IPKernelApp] WARNING | ' + QUIET[0] + '. All\","
        ' file=sys.stderr); print("a real error", file=sys.stderr)\'\n'
        "subprocess.run([sys.executable, '-c', child])\n"
        "print('the build goes on', file=sys.stderr, flush=True)\n"
        "time.sleep(0.3)\n"
    )
    out = _python(script)
    assert out.stderr.splitlines() == ["a real error", "the build goes on"]


def test_a_served_build_runs_its_labs_and_figures_below_the_servers_priority():
    from airoad_book import site

    probe = (
        "import os\n"
        "from airoad_book.lab_runner import _worker_start\n"
        "start = os.nice(0)\n"
        "_worker_start(niceness=3)\n"
        "print(os.nice(0) - start, os.environ['OMP_NUM_THREADS'])\n"
    )
    assert _python(probe).stdout.split() == ["3", "1"]
    child = _python(
        "import os; print(os.nice(0))",
        preexec_fn=site._in_background,
    )
    assert int(child.stdout) >= site.BACKGROUND


def test_the_lab_pages_are_rendered_last_and_nothing_else_moves():
    from types import SimpleNamespace

    from mkdocs.structure.files import File, Files

    from airoad_book.site import labs_last

    names = ["index.md", "labs/a.py", "part1/one.md", "labs/b.py", "api/x.md"]
    files = Files(
        [File(name, "docs", "site", use_directory_urls=True) for name in names]
    )
    plugin = SimpleNamespace(should_include=lambda f: f.src_uri.startswith("labs/"))
    config = SimpleNamespace(plugins={"mkdocs-jupyter": plugin})
    order = [f.src_uri for f in labs_last(files, config)]
    assert order == ["index.md", "part1/one.md", "api/x.md", "labs/a.py", "labs/b.py"]
    assert labs_last(files, SimpleNamespace(plugins={})) is files
