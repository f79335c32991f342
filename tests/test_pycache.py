"""The build's private bytecode folder (`airoad_book.pycache`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from airoad_book.pycache import keep_bytecode

PROBE = """
import os, sys
from pathlib import Path
from airoad_book.pycache import keep_bytecode
folder = keep_bytecode(Path(sys.argv[1]))
sys.path.insert(0, sys.argv[2])
import probe_module
import subprocess
child = subprocess.run(
    [sys.executable, "-c", "import os; print(os.environ.get('PYTHONPYCACHEPREFIX'))"],
    capture_output=True, text=True, check=True,
).stdout.strip()
print(folder, child, sep="\\n")
"""


def _run(tmp_path: Path, **env: str) -> list[str]:
    source = tmp_path / "src"
    source.mkdir(exist_ok=True)
    (source / "probe_module.py").write_text("VALUE = 1\n")
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPYCACHEPREFIX", "AIROAD_PYCACHE", "PYTHONDONTWRITEBYTECODE")
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "cache"), str(source)],
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split("\n")


def test_without_bytecode_the_build_and_its_children_keep_it_in_the_cache(tmp_path):
    folder, child, _ = _run(tmp_path, PYTHONDONTWRITEBYTECODE="1")
    assert folder == str((tmp_path / "cache" / "pycache").resolve())
    assert child == folder  # a process started afterwards reads and writes there too
    compiled = list(Path(folder).rglob("probe_module*.pyc"))
    assert len(compiled) == 1, "the imported module was compiled into the cache"
    assert not (tmp_path / "src" / "__pycache__").exists()  # the sources untouched


def test_nothing_changes_when_python_writes_bytecode_or_the_user_chose(tmp_path):
    folder, child, _ = _run(tmp_path)  # Python writes its own __pycache__
    assert folder == "None" and child == "None"
    folder, child, _ = _run(tmp_path, PYTHONDONTWRITEBYTECODE="1", AIROAD_PYCACHE="off")
    assert folder == "None" and child == "None"
    chosen = str(tmp_path / "mine")
    folder, child, _ = _run(
        tmp_path, PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=chosen
    )
    assert folder == "None" and child == chosen


def test_a_bad_setting_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("AIROAD_PYCACHE", "sometimes")
    with pytest.raises(ValueError, match="AIROAD_PYCACHE must be 'on' or 'off'"):
        keep_bytecode(tmp_path)


def test_the_mkdocs_plugin_keeps_bytecode_from_the_moment_it_loads(tmp_path):
    # mkdocs loads the plugins in the order mkdocs.yml lists them: ours is first
    (tmp_path / "docs").mkdir()
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: x\nplugins:\n  - airoad-pycache\n  - search\n"
    )
    probe = (
        "import sys; from mkdocs.config import load_config\n"
        f"load_config({str(tmp_path / 'mkdocs.yml')!r})\n"
        "print(sys.pycache_prefix)\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPYCACHEPREFIX", "AIROAD_PYCACHE")
    }
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[-1] == str((tmp_path / ".cache" / "pycache").resolve())
    book = (Path(__file__).resolve().parents[1] / "mkdocs.yml").read_text()
    plugins = book.split("\nplugins:\n", 1)[1]
    first = [line for line in plugins.splitlines() if line.startswith("  - ")][0]
    assert first == "  - airoad-pycache"
