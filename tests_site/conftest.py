"""Tests of the built site, as readers meet it: run after `uv run mkdocs build
--strict`.

    uv run pytest -q -p no:cacheprovider tests_site

They read `site/` (the HTML, links, alt text, headings, the usage blocks) and load every
page in headless Chromium. Without a built site they fail, never skip.
"""

from __future__ import annotations

from pathlib import Path

import built_site as helpers
import pytest
from browser_session import base_url, browser  # noqa: F401 (session fixtures)


def pytest_configure(config):
    if not (helpers.SITE / "index.html").is_file():
        raise pytest.UsageError(
            f"tests_site: no built site at {helpers.SITE}; build it first with "
            "`uv run mkdocs build --strict` (these tests check the built HTML)"
        )


@pytest.fixture(scope="session")
def site_dir() -> Path:
    return helpers.SITE
