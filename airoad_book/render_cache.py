"""The API reference's pages, rendered once per version of the package's source.

mkdocstrings renders each API page from the package on every build: it loads the
package with griffe and runs its templates for every class and function, most of a
warm build's time. A page's HTML depends only on the package's source, the site's
configuration and the versions of the tools, so the hook (`airoad_book.site`) keeps
each rendered page under a key of those and, when the key is unchanged, puts the kept
page in place of the render.

A page is more than its HTML: rendering it also tells MkDocs its title (the first
heading), its table of contents, its anchors and its links to other pages' anchors (for `--strict`'s link checks), tells
mkdocs-autorefs where each documented object lives (so `[NPLM][airoad_book...]` links
resolve on every page) and adds the objects to mkdocstrings' inventory
(`objects.inv`). All of that is recorded when the page is rendered and replayed when
the kept page is used, so a build from the cache writes the same site.
"""

from __future__ import annotations

import hashlib
import json
import types
from pathlib import Path
from typing import Any


def key(sources_key: str, config_text: str) -> str:
    """The key of the kept pages: the package's key (`cache.package_key`), the site's
    configuration (mkdocs.yml's text) and the versions of the tools that render."""
    from importlib import metadata

    digest = hashlib.sha256()
    digest.update(sources_key.encode() + b"\0" + config_text.encode() + b"\0")
    for tool in (
        "mkdocs",
        "mkdocs-material",
        "mkdocstrings",
        "mkdocstrings-python",
        "mkdocs-autorefs",
        "griffe",
        "markdown",
        "pymdown-extensions",
    ):
        try:
            digest.update(f"{tool}={metadata.version(tool)}".encode() + b"\0")
        except metadata.PackageNotFoundError:
            digest.update(f"{tool}=absent".encode() + b"\0")
    return digest.hexdigest()[:16]


def _toc_tokens(toc) -> list[dict[str, Any]]:
    return [
        {
            "level": link.level,
            "id": link.id,
            "name": link.title,
            "children": _toc_tokens(link.children),
        }
        for link in toc
    ]


def install(page, folder: Path, autorefs, handlers) -> None:
    """Make `page` render from the kept copy in `folder` if there is one, else render
    it as usual and keep what it produced."""
    from mkdocs.structure.toc import get_toc

    from airoad_book.figures.build import write_atomically

    path = folder / (page.file.src_uri.replace("/", "__") + ".json")
    original = page.render
    try:
        kept = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
    except (OSError, ValueError):
        kept = None

    def from_cache(self, config, files) -> None:
        links = {}
        for uri, anchors in kept["links"].items():
            target = files.get_file_from_path(uri)
            if target is None:  # the site changed around the page: render it
                return recording(self, config, files)
            links[target] = anchors
        self.content = kept["content"]
        self.toc = get_toc(kept["toc"])
        self.present_anchor_ids = set(kept["anchors"])
        self.links_to_anchors = links
        self._title_from_render = kept["title"]
        for call in kept["register_anchor"]:
            autorefs.register_anchor(self, *call["args"], **call["kwargs"])
        for call in kept["inventory"]:
            handlers.inventory.register(**call)

    def recording(self, config, files) -> None:
        anchors: list[dict] = []
        entries: list[dict] = []
        register_anchor = autorefs.register_anchor
        register = handlers.inventory.register

        def record_anchor(page_, identifier, anchor=None, **kwargs):
            if page_ is self:
                anchors.append({"args": [identifier, anchor], "kwargs": kwargs})
            return register_anchor(page_, identifier, anchor, **kwargs)

        def record_entry(**kwargs):
            entries.append(kwargs)
            return register(**kwargs)

        autorefs.register_anchor = record_anchor
        handlers.inventory.register = record_entry
        try:
            original(config, files)
        finally:
            del autorefs.register_anchor  # the class's method again
            del handlers.inventory.register
        kept_page = {
            "content": self.content,
            "toc": _toc_tokens(self.toc),
            "title": getattr(self, "_title_from_render", None),
            "anchors": sorted(self.present_anchor_ids or ()),
            "links": {
                file.src_uri: dict(links)
                for file, links in (self.links_to_anchors or {}).items()
            },
            "register_anchor": anchors,
            "inventory": entries,
        }
        write_atomically(path, json.dumps(kept_page).encode())

    chosen = from_cache if kept is not None else recording
    page.render = types.MethodType(chosen, page)
