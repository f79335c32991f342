"""Rendered pages kept across builds: the API reference, and every chapter's Markdown.

Rendering a page is most of a warm build's work. mkdocstrings renders each API page
from the package: it loads the package with griffe and runs its templates for every
class and function. A chapter's Markdown goes through Python-Markdown and Pygments, and
its snippets read the package's source. Yet a page's HTML depends only on its inputs:

- an API page: the package's source, the site's configuration and the tools' versions
  (`key`);
- a chapter: its Markdown after the hook has filled in the figures and numbers, the
  files its snippets include, the list of the site's files (its links), the
  configuration and the tools' versions (`PageKeys`).

So the hook (`airoad_book.site`) keeps each rendered page under a key of those and,
when the key is unchanged, puts the kept page in place of the render.

A page is more than its HTML: rendering it also tells MkDocs its title (the first
heading), its table of contents, its anchors and its links to other pages' anchors
(for `--strict`'s link checks), tells mkdocs-autorefs where each documented object
lives (so `[NPLM][airoad_book...]` links resolve on every page) and adds the objects to
mkdocstrings' inventory (`objects.inv`). All of that is recorded when the page is
rendered and replayed when the kept page is used, so a build from the cache writes the
same site. A render that logged a warning is never kept (a `--strict` build must see
the warning again), and a kept copy that does not read back whole is rendered again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airoad_book.memo import read_unless_changed

TOOLS = (
    "mkdocs",
    "mkdocs-material",
    "mkdocstrings",
    "mkdocstrings-python",
    "mkdocs-autorefs",
    "griffe",
    "markdown",
    "pymdown-extensions",
    "pygments",
)


def key(sources_key: str, config_text: str) -> str:
    """The key of the kept pages: the package's key (`cache.package_key`), the site's
    configuration (mkdocs.yml's text) and the versions of the tools that render."""
    from importlib import metadata

    digest = hashlib.sha256()
    digest.update(sources_key.encode() + b"\0" + config_text.encode() + b"\0")
    for tool in TOOLS:
        try:
            digest.update(f"{tool}={metadata.version(tool)}".encode() + b"\0")
        except metadata.PackageNotFoundError:
            digest.update(f"{tool}=absent".encode() + b"\0")
    return digest.hexdigest()[:16]


PATH_LIKE = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_./-]*")  # a path a snippet names


class PageKeys:
    """The key of a chapter's render, from its Markdown and everything else it reads.

    `root` is the project (the snippets' base path), `config_text` mkdocs.yml's text
    and `site_files` the source paths of every file of the site. Any word of the
    Markdown that is the path of a project file (other than under `site/`,
    `checkpoints/` and the hidden folders) counts as an input, so a snippet's file is
    hashed whatever the form of the snippet that names it.
    """

    def __init__(self, root: Path, config_text: str, site_files: list[str]):
        self.root = Path(root)
        files = "\n".join(sorted(site_files))
        self.base = key(hashlib.sha256(files.encode()).hexdigest(), config_text)
        self.project = set(_project_files(self.root))
        self._hashes: dict[str, str] = {}

    def inputs(self, markdown: str) -> list[str]:
        """The project files the Markdown names, sorted."""
        return sorted(set(PATH_LIKE.findall(markdown)) & self.project)

    def __call__(self, src_uri: str, markdown: str) -> str:
        digest = hashlib.sha256(f"{self.base}\0{src_uri}\0".encode())
        digest.update(markdown.encode())
        for name in self.inputs(markdown):
            if name not in self._hashes:
                data = (self.root / name).read_bytes()
                self._hashes[name] = hashlib.sha256(data).hexdigest()
            digest.update(f"\0{name}\0{self._hashes[name]}".encode())
        return digest.hexdigest()[:20]


SKIPPED = ("site", "checkpoints", "node_modules", "__pycache__")


def _project_files(root: Path):
    """The project's files a snippet may include: not under site/ (the build's output),
    checkpoints/ or a hidden folder (.venv, .cache, .git)."""
    import os

    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIPPED]
        here = Path(folder).relative_to(root).as_posix()
        for name in names:
            yield name if here == "." else f"{here}/{name}"


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


class _Warnings(logging.Handler):
    """Counts the warnings MkDocs and its plugins log while a page renders."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def install(
    page,
    folder: Path,
    autorefs,
    handlers=None,
    page_key: Callable[[str, str], str] | None = None,
    used: set[Path] | None = None,
) -> None:
    """Make `page` render from its kept copy in `folder` if there is one, else render
    it as usual and keep what it produced.

    With `page_key` the copy is also keyed by the page's Markdown (read when the page
    renders, after the hook has filled it in): `page_key(src_uri, markdown)`. `handlers`
    are mkdocstrings' (None: the page adds nothing to the inventory). The path of
    each copy used or written is added to `used`.
    """
    original = page.render

    def render(self, config, files) -> None:
        name = self.file.src_uri.replace("/", "__")
        if page_key is not None:
            name += "." + page_key(self.file.src_uri, self.markdown or "")
        path = folder / (name + ".json")
        if used is not None:
            used.add(path)
        try:
            kept = read_unless_changed(path, json.loads, "json")
            if _replay(self, kept, files, autorefs, handlers):
                return
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # absent, or not whole: render it again
        _record(self, config, files, original, path, autorefs, handlers)

    page.render = types.MethodType(render, page)


def _replay(page, kept: dict, files, autorefs, handlers) -> bool:
    """Put the kept render in place; False when the site changed around the page."""
    from mkdocs.structure.toc import get_toc

    links = {}
    for uri, anchors in kept["links"].items():
        target = files.get_file_from_path(uri)
        if target is None:
            return False
        links[target] = dict(anchors)
    if not isinstance(kept["content"], str):
        raise TypeError("content")
    toc = get_toc(kept["toc"])
    page.content = kept["content"]
    page.toc = toc
    page.present_anchor_ids = set(kept["anchors"])
    page.links_to_anchors = links
    page._title_from_render = kept["title"]
    for call in kept["register_anchor"]:
        autorefs.register_anchor(page, *call["args"], **call["kwargs"])
    if handlers is not None:
        for call in kept["inventory"]:
            handlers.inventory.register(**call)
    return True


def _record(page, config, files, original, path: Path, autorefs, handlers) -> None:
    """Render `page` with `original`, recording what it registers, and keep it unless
    a warning was logged."""
    from airoad_book.figures.build import write_atomically

    anchors: list[dict] = []
    entries: list[dict] = []
    register_anchor = autorefs.register_anchor if autorefs is not None else None

    def record_anchor(page_, identifier, anchor=None, **kwargs):
        if page_ is page:
            anchors.append({"args": [identifier, anchor], "kwargs": kwargs})
        return register_anchor(page_, identifier, anchor, **kwargs)

    if handlers is not None:
        register = handlers.inventory.register

        def record_entry(**kwargs):
            entries.append(kwargs)
            return register(**kwargs)

        handlers.inventory.register = record_entry
    if autorefs is not None:
        autorefs.register_anchor = record_anchor
    warnings = _Warnings()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(warnings)
    try:
        original(config, files)
    finally:
        logger.removeHandler(warnings)
        if autorefs is not None:
            del autorefs.register_anchor  # the class's method again
        if handlers is not None:
            del handlers.inventory.register
    if warnings.count:
        return
    kept_page = {
        "content": page.content,
        "toc": _toc_tokens(page.toc),
        "title": getattr(page, "_title_from_render", None),
        "anchors": sorted(page.present_anchor_ids or ()),
        "links": {
            file.src_uri: dict(links)
            for file, links in (page.links_to_anchors or {}).items()
        },
        "register_anchor": anchors,
        "inventory": entries,
    }
    write_atomically(path, json.dumps(kept_page).encode())


# The page's HTML, theme and navigation included -------------------------------------

# pages of the theme's own, with no page of the book: only what the navigation and the
# configuration make (not sitemap.xml, which carries dates)
SITE_TEMPLATES = ("404.html",)
STANDARD_CONTEXT = {
    "nav",
    "pages",
    "base_url",
    "extra_css",
    "extra_javascript",
    "mkdocs_version",
    "build_date_utc",
    "config",
    "page",
}


def _nav_items(items) -> list:
    """The navigation as data: each item's kind, title, URL and children."""
    return [
        [
            type(item).__name__,
            item.title,
            getattr(item, "url", None),
            _nav_items(getattr(item, "children", None) or []),
        ]
        for item in items
    ]


def _digest_of_folder(folder: Path) -> str:
    digest = hashlib.sha256()
    if folder.is_dir():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


class KeptHtml:
    """Each page's HTML as the theme writes it, kept in `folder` under a key of all the
    theme reads: the page (its content, title, table of contents, metadata, URLs),
    the whole navigation (every title and URL: the nav bar, the previous and next
    links), the configuration with what the hook added to it (the footer's commit),
    the theme's overrides (`overrides_dir`) and the tools' versions.

    Material renders the whole navigation into every page, most of a warm build's
    time once the Markdown is kept. A kept file starts with the hash of its HTML and
    is rendered again when the two disagree.
    """

    def __init__(self, folder: Path, config_text: str, overrides_dir: Path | None):
        self.folder = Path(folder)
        self.templates = self.folder.parent / "jinja"  # compiled templates
        overrides = _digest_of_folder(overrides_dir) if overrides_dir else ""
        self.base = key(overrides, config_text)
        self.used: set[Path] = set()
        self._site: str | None = None

    def key(self, context, template: str) -> str:
        """The key of the HTML `template` makes from `context` (a page's, or a page
        of the theme's own with no page, such as 404.html)."""
        page, config = context.get("page"), context["config"]
        if self._site is None:  # every page of the site is rendered by now
            site = [self.base, _nav_items(context["nav"].items), config.get("extra")]
            self._site = json.dumps(site, default=repr, sort_keys=True)
        extra = {k: context[k] for k in context if k not in STANDARD_CONTEXT}
        fields = [
            self._site,
            template,
            context["base_url"],
            context["extra_css"],
            context["extra_javascript"],
            extra,
        ]
        if page is not None:
            fields += [
                page.file.src_uri,
                page.url,
                page.title,
                page.canonical_url,
                page.edit_url,
                page.meta,
                _toc_tokens(page.toc),
            ]
        digest = hashlib.sha256(json.dumps(fields, default=repr).encode())
        if page is not None:
            digest.update(b"\0" + (page.content or "").encode())
        return digest.hexdigest()[:20]

    def path(self, context, template: str) -> Path:
        """Where the HTML of `context` rendered by `template` is kept."""
        page = context.get("page")
        name = template if page is None else page.file.src_uri.replace("/", "__")
        return self.folder / f"{name}.{self.key(context, template)}.html"

    def get(self, path: Path) -> str | None:
        """The kept HTML at `path`, or None when absent or not whole."""
        try:
            return read_unless_changed(path, _whole_html, "html")
        except (OSError, ValueError):
            return None

    def put(self, path: Path, html: str) -> None:
        """Keep `html` at `path` (atomically), its hash on the first line."""
        from airoad_book.figures.build import write_atomically

        head = hashlib.sha256(html.encode()).hexdigest()
        write_atomically(path, (head + "\n" + html).encode())

    def wrap(self, template):
        """`template`, rendering a page's context from the kept HTML when it can."""
        return _KeptTemplate(template, self)

    def prune(self) -> None:
        """Delete the kept pages this build did not use (after a whole build)."""
        prune_unused(self.folder, "*.html", self.used)


def prune_unused(folder: Path, pattern: str, used: set[Path] | None) -> None:
    """Delete the files of `folder` matching `pattern` that are not in `used`: what a
    whole build did not read is out of date. Nothing is deleted when `used` is empty
    (a build that kept nothing, say one that failed early)."""
    if used and folder.is_dir():
        for old in folder.glob(pattern):
            if old not in used:
                old.unlink(missing_ok=True)


def _whole_html(text: str) -> str:
    """The HTML of a kept page: the text after its first line, which must be the
    HTML's hash."""
    head, html = text.split("\n", 1)
    if hashlib.sha256(html.encode()).hexdigest() != head:
        raise ValueError("a kept page that does not match its hash")
    return html


class _KeptTemplate:
    def __init__(self, template, kept: KeptHtml):
        self._template, self._kept = template, kept

    def render(self, context=None, **kwargs) -> str:
        name = self._template.name
        page = (context or {}).get("page")
        keep = (
            getattr(page, "file", None) is not None
            if page is not None
            else name in SITE_TEMPLATES and "nav" in (context or {})
        )
        if kwargs or not keep:
            return self._template.render(context, **kwargs)
        path = self._kept.path(context, name)
        self._kept.used.add(path)
        html = self._kept.get(path)
        if html is None:
            html = self._template.render(context)
            self._kept.put(path, html)
        return html

    def __getattr__(self, name):
        return getattr(self._template, name)
