"""The search index's entries, kept from one build to the next.

Material's search plugin reads every page's HTML again on every build to cut it into
the sections of `search/search_index.json`, about a fifth of a warm build. A page's
entries depend only on what the plugin reads: the page's HTML, its address, its table
of contents, its title and three front-matter fields (title, tags, search). `install`
wraps the plugin's `SearchIndex.add_entry_from_context` so that a page whose inputs are
unchanged gets the entries it got last time, and `save` keeps them in
`.cache/search-entries.json` for the next build (only the pages this build saw, under
the plugin's version). The index a build writes is the same either way
(`tests/test_search_cache.py`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

FILE = "search-entries.json"  # under .cache
_state: dict[str, Any] = {}


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("mkdocs-material")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "absent"


def _toc(items) -> list:
    return [[item.id, item.url, item.title, _toc(item.children)] for item in items]


def page_key(page) -> str:
    """A hash of everything the search plugin reads from `page`."""
    meta = {k: page.meta.get(k) for k in ("title", "tags", "search")}
    digest = hashlib.sha256()
    for part in (
        page.content or "",
        page.url,
        str(page.title),
        json.dumps(_toc(page.toc), sort_keys=True, default=str),
        json.dumps(meta, sort_keys=True, default=str),
    ):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:24]


def install(path: Path) -> bool:
    """Keep search entries in `path` from now on; False (and nothing changed) when this
    Material has no `SearchIndex.add_entry_from_context` to wrap."""
    try:
        from material.plugins.search.plugin import SearchIndex
    except ImportError:  # pragma: no cover - another theme
        return False
    original = getattr(SearchIndex, "add_entry_from_context", None)
    if original is None:
        return False
    original = getattr(original, "airoad_original", original)
    kept: dict[str, list] = {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("material") == _version() and isinstance(data.get("pages"), dict):
            kept = data["pages"]
    except (OSError, ValueError, AttributeError):
        pass  # none yet, or damaged: every page is read again
    _state.update(path=Path(path), kept=kept, used={})

    def add_entry_from_context(self, page):
        key = page_key(page)
        entries = _state["kept"].get(key)
        if isinstance(entries, list):
            self.entries.extend(entries)
        else:
            start = len(self.entries)
            original(self, page)
            entries = self.entries[start:]
        _state["used"][key] = entries

    add_entry_from_context.airoad_original = original
    SearchIndex.add_entry_from_context = add_entry_from_context
    return True


def skip_needless_rewrite(plugins) -> bool:
    """Let Material's search plugin skip its rewrite of a page that has nothing to
    rewrite.

    After indexing a page, the plugin strips every `data-search-*` attribute from its
    HTML with a regular expression that scans the whole page, a tenth of a `mkdocs
    serve` rebuild; this book's pages carry none. The plugin's `on_page_context`, as
    MkDocs registered it, is wrapped: a page whose HTML holds no `data-search-` is
    indexed the same way and left as it is (the rewrite would change nothing). False
    when there is no such plugin or event to wrap."""
    try:
        from material.plugins.search.plugin import SearchPlugin
    except ImportError:  # pragma: no cover - another theme
        return False
    search = plugins.get("material/search") or plugins.get("search")
    if not isinstance(search, SearchPlugin):  # MkDocs' own search, say
        return False
    events = getattr(plugins, "events", {}).get("page_context", [])
    for i, method in enumerate(events):
        if getattr(method, "__self__", None) is not search:
            continue

        def on_page_context(context, *, page, config, nav, _method=method):
            if search.config.enabled and "data-search-" not in (page.content or ""):
                search.search_index.add_entry_from_context(page)
                return context
            return _method(context, page=page, config=config, nav=nav)

        events[i] = on_page_context
        return True
    return False


def save() -> None:
    """Write the entries of the pages this build indexed (atomically)."""
    if "path" not in _state or not _state["used"]:
        return
    from airoad_book.figures.build import write_atomically

    data = {"material": _version(), "pages": _state["used"]}
    write_atomically(_state["path"], json.dumps(data).encode())
    _state["kept"], _state["used"] = _state["used"], {}


__all__ = ["install", "page_key", "save", "skip_needless_rewrite"]
