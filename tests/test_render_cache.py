"""The API pages kept across builds (issue 20): a build that renders them from the kept
copies writes the same site, byte for byte, as one that renders them with
mkdocstrings, objects.inv and cross-references included."""

from __future__ import annotations

import filecmp
import os
import re
import subprocess
import sys
from pathlib import Path

from airoad_book import api_cache

ROOT = Path(__file__).resolve().parents[1]


def book(tmp_path: Path) -> Path:
    (tmp_path / "airoad_book").symlink_to(ROOT / "airoad_book")  # the API pages' source
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text(
        "# A tiny book\n\nThe model is [`NPLM`][airoad_book.models.bengio.NPLM].\n"
    )
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: tiny\n"
        "plugins:\n"
        "  - mkdocstrings:\n"
        "      default_handler: python\n"
        "      handlers:\n"
        "        python:\n"
        f"          paths: [{str(ROOT)!r}]\n"
        "          options:\n"
        "            separate_signature: true\n"
        "            signature_crossrefs: true\n"
        "hooks:\n  - " + str(ROOT / "hooks" / "airoad.py") + "\n"
    )
    return tmp_path


def build(folder: Path, site: str) -> str:
    env = {**os.environ, "AIROAD_ONLY_FIGURES": "xor-boundary", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", site],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stderr


def undated(path: Path) -> bytes:
    """The file without the line where MkDocs' default theme writes the build time."""
    return re.sub(rb"Build Date UTC : [^\n]*", b"", path.read_bytes())


def differences(a: Path, b: Path) -> list[str]:
    found = []
    compared = filecmp.dircmp(a, b)
    found += compared.left_only + compared.right_only
    found += [n for n in compared.diff_files if undated(a / n) != undated(b / n)]
    for name in compared.common_dirs:
        found += [f"{name}/{d}" for d in differences(a / name, b / name)]
    return found


def test_api_pages_from_the_kept_copies_make_the_same_site(tmp_path):
    folder = book(tmp_path)
    build(folder, "rendered")
    kept = list((folder / ".cache" / "api").glob("*/*.json"))
    assert any("bengio" in path.name for path in kept), "no API page was kept"
    build(folder, "from-cache")
    assert not differences(folder / "rendered", folder / "from-cache")
    index = (folder / "from-cache" / "index.html").read_text()
    assert "api/airoad_book/models/bengio/#airoad_book.models.bengio.NPLM" in index


def test_the_key_follows_the_package_and_the_configuration():
    base = api_cache.key("package-a", "site_name: x\n")
    assert api_cache.key("package-a", "site_name: x\n") == base
    assert api_cache.key("package-b", "site_name: x\n") != base
    assert api_cache.key("package-a", "site_name: y\n") != base
