"""The MkDocs hook: figures and result tables enter the pages at build time.

`on_files` brings the figure cache up to date in a subprocess (`python -m
airoad_book.figures`, which prints one line per figure it regenerates) and adds the
images to the site. `on_page_markdown` replaces the placeholders a chapter writes
instead of numbers:

| placeholder | becomes |
|---|---|
| `{{ figure NAME }}` | the figure, light and dark variants, with its caption |
| `{{ table EXPERIMENT TABLE }}` | a Markdown table from the experiment's result |
| `{{ value EXPERIMENT METRIC [FORMAT] }}` | one metric, formatted (default `.4g`) |
| `{{ text EXPERIMENT KEY }}` | a sentence the experiment wrote from its numbers |
| `{{ provenance EXPERIMENT@full }}` | where a committed result came from |

`EXPERIMENT` alone means the quick run the build makes; `EXPERIMENT@full` reads the
committed results file `results/EXPERIMENT-full.json` written by `airoad-book run ...
--record`. A placeholder that names nothing known fails the build.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import posixpath
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.plugins.airoad")

PLACEHOLDER = re.compile(r"\{\{\s*([a-z]+)\s+([^{}\n]+?)\s*\}\}")
KINDS = ("figure", "table", "value", "text", "provenance")
FIGURE_DIR = "figures"  # where figures appear in the site
RESULTS_DIR = "results"  # committed results files, at the project root

_state: dict[str, Any] = {}


def _root(config) -> Path:
    return Path(config["config_file_path"]).resolve().parent


def referenced_experiments(docs_dir: Path) -> set[str]:
    """Experiments whose build-time results the pages quote (`{{ table|value|text NAME
    ...}}`)."""
    found = set()
    for page in docs_dir.rglob("*.md"):
        prose = "".join(
            CODE_SPAN.sub("", chunk)
            for chunk, code in split_fences(page.read_text(encoding="utf-8"))
            if not code
        )
        for kind, args in PLACEHOLDER.findall(prose):
            if kind in ("table", "value", "text") and "@" not in args.split()[0]:
                found.add(args.split()[0])
    return found


def build_info(root: Path) -> dict[str, Any]:
    """The package version and the commit the book is built from, for the page footer.

    `commit` is the short hash (`GITHUB_SHA` where git is missing, "unknown" without
    either), `url` the commit on the repository when it is known, `dirty` whether
    tracked files differ from it.
    """
    from airoad_book import __version__

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=root,
                capture_output=True,
                text=True,
                check=True,
                timeout=30,
            )
            return done.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    full = git("rev-parse", "HEAD") or os.environ.get("GITHUB_SHA", "")
    dirty = bool(full) and bool(git("status", "--porcelain", "--untracked-files=no"))
    return {
        "version": __version__,
        "commit": full[:7] or "unknown",
        "full_commit": full,
        "dirty": dirty,
    }


def on_config(config):
    """Keep compiled bytecode under `.cache/` (`airoad_book.pycache`); add the API
    reference to the nav; key mkdocs-jupyter's cache by the code each lab imports.

    mkdocs-jupyter keys an executed notebook by its own text only, so a lab would keep
    showing the outputs of old package code. Each lab's cache folder is placed under a
    hash of the `airoad_book` modules it imports, directly or not (`lab_key`), so an
    edit re-executes only the labs that import the edited module.
    """
    from airoad_book.pycache import keep_bytecode

    keep_bytecode(_root(config) / ".cache")  # before any subprocess starts
    _memo(config)  # what the last build parsed and converted
    config["extra"]["build"] = build_info(_root(config))  # the footer: version, commit
    if config["nav"] is not None:
        config["nav"] = [entry for entry in config["nav"] if API_TITLE not in entry] + [
            {API_TITLE: api_nav(api_modules(_root(config) / PACKAGE))}
        ]
    if config.plugins.get("mkdocstrings") is not None:
        memoize_signature_formatter(_root(config) / ".cache" / SIGNATURES)
    if config.plugins.get("material/search") or config.plugins.get("search"):
        from airoad_book import search_cache

        search_cache.install(_root(config) / ".cache" / search_cache.FILE)
        search_cache.skip_needless_rewrite(config.plugins)
    plugin = config.plugins.get("mkdocs-jupyter")
    _state["labs_used"] = set()
    if plugin is not None and plugin.config.get("cache"):
        _state["labs_base"] = _root(config) / ".cache" / "mkdocs-jupyter"
    else:
        _state.pop("labs_base", None)
    return config


SIGNATURES = "api-signatures.json"  # under .cache: formatted signatures, by input


def black_formatter():
    """Black's `format_str` as a signature formatter `(code, line_length) -> code`, for
    Python 3.11 as the project's ruff is configured; None without Black."""
    try:
        from black import InvalidInput, Mode, TargetVersion, format_str
    except ImportError:
        return None

    def formatter(code: str, line_length: int) -> str:
        mode = Mode(line_length=line_length, target_versions={TargetVersion.PY311})
        try:
            return format_str(code, mode=mode)
        except InvalidInput:
            return code

    return formatter


def memoize_signature_formatter(path: Path) -> None:
    """Remember mkdocstrings' formatted signatures across builds, on disk.

    With `separate_signature`, mkdocstrings-python formats every signature of the API
    pages (about 3,000) with Black, or else with one `ruff format` subprocess per
    signature, half a minute of a clean build. Here Black formats them in-process, told
    the project's Python version as ruff is (`black_formatter`; without it Black drops
    the trailing comma after a keyword-only argument, and ruff keeps it), so the pages
    read the same as with ruff. Formatting is a pure function of the text, the line
    length and the formatter's version, so its answers are also kept in `.cache/` under
    those, and a warm build formats nothing. Nothing changes if the handler's internals
    differ from what this expects.
    """
    try:
        from mkdocstrings_handlers.python._internal import rendering
    except ImportError:
        return
    real = getattr(rendering, "_get_formatter", None)
    if real is None or getattr(real, "airoad_memo", None) is not None:
        return
    from importlib import metadata

    versions = []
    for tool in ("black", "ruff", "mkdocstrings-python"):
        try:
            versions.append(f"{tool}={metadata.version(tool)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{tool}=absent")
    version = ";".join(versions)
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        memo = saved["answers"] if saved.get("version") == version else {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        memo = {}
    if not isinstance(memo, dict):
        memo = {}
    state = {"formatter": None, "dirty": False}

    def formatter(code: str, line_length: int) -> str:
        key = f"{line_length}\0{code}"
        if key not in memo:
            if state["formatter"] is None:
                state["formatter"] = black_formatter() or real()
            memo[key] = state["formatter"](code, line_length)
            state["dirty"] = True
        return memo[key]

    def get_formatter():
        return formatter

    def save() -> None:
        if state["dirty"]:
            from airoad_book.figures.build import write_atomically

            data = {"version": version, "answers": memo}
            write_atomically(path, json.dumps(data, sort_keys=True).encode())
            state["dirty"] = False

    get_formatter.airoad_memo = save
    rendering._get_formatter = get_formatter


def lab_key(lab: Path, sources: dict[str, str] | None = None) -> str:
    """The cache key of one executed lab: its text, the source of every package module
    it imports (directly or through other modules) and the library versions. A lab that
    cannot be parsed is keyed by the whole package."""
    import ast

    from airoad_book.figures import cache

    sources = cache.read_sources() if sources is None else sources
    text = lab.read_text(encoding="utf-8")
    name = "__lab__"
    try:
        ast.parse(text)
        modules = cache.closure([name], {**sources, name: text}) - {name}
    except SyntaxError:
        modules = set(sources)
    return cache._digest(modules, sources, text, cache.environment())


API_CACHE = "api"  # under .cache: the API pages, rendered (airoad_book.render_cache)
PAGE_CACHE = "pages"  # under .cache: the other Markdown pages, rendered, by their key


def _api_folder(config) -> Path | None:
    """Where this build keeps the rendered API pages, or None when they are not kept
    (no mkdocstrings or autorefs plugin)."""
    if "api_folder" not in _state:
        folder = None
        if config.plugins.get("mkdocstrings") and config.plugins.get("autorefs"):
            from airoad_book import render_cache
            from airoad_book.figures import cache

            text = Path(config["config_file_path"]).read_text(encoding="utf-8")
            key = render_cache.key(cache.package_key(cache.read_sources()), text)
            folder = _root(config) / ".cache" / API_CACHE / key
        _state["api_folder"] = folder
    return _state["api_folder"]


MEMO = "memo.json"  # under .cache: parsed imports, docstrings, notebooks (memo.py)


def _memo(config):
    """This build's `memo.DiskMemo`, also the figure cache's memo of imports."""
    if "memo" not in _state:
        from airoad_book.figures import cache
        from airoad_book.memo import DiskMemo

        _state["memo"] = cache.KEPT_IMPORTS = DiskMemo(_root(config) / ".cache" / MEMO)
    return _state["memo"]


HTML_CACHE = "html"  # under .cache: each page's HTML as the theme wrote it


def on_env(env, config, files):
    """Render each page's HTML from its kept copy when nothing the theme reads has
    changed (`render_cache.KeptHtml`); keep the theme's compiled templates in
    `.cache/jinja/`."""
    from airoad_book import render_cache

    text = Path(config["config_file_path"]).read_text(encoding="utf-8")
    custom = config["theme"].custom_dir
    kept = render_cache.KeptHtml(
        _root(config) / ".cache" / HTML_CACHE, text, Path(custom) if custom else None
    )
    _state["html"] = kept
    if env.bytecode_cache is None:  # the theme's templates, compiled once
        import jinja2

        kept.templates.mkdir(parents=True, exist_ok=True)
        env.bytecode_cache = jinja2.FileSystemBytecodeCache(str(kept.templates))
    get_template = env.get_template

    def get_kept_template(name, *args, **kwargs):
        return kept.wrap(get_template(name, *args, **kwargs))

    env.get_template = get_kept_template
    return env


def _page_keys(config, files):
    """This build's `render_cache.PageKeys`, made at its first page."""
    if "page_keys" not in _state:
        from airoad_book import render_cache

        text = Path(config["config_file_path"]).read_text(encoding="utf-8")
        _state["page_keys"] = render_cache.PageKeys(
            _root(config), text, [f.src_uri for f in files]
        )
        _state["pages_used"] = set()
    return _state["page_keys"]


@event_priority(50)  # before mkdocs-jupyter reads its cache folder for this page
def on_pre_page(page, config, files):
    """Render an API page, or any other Markdown page, from its kept copy
    (`airoad_book.render_cache`); point mkdocs-jupyter's cache at this lab's own folder
    (see `lab_key`)."""
    from airoad_book import render_cache

    if page.file.src_uri.startswith(f"{API}/"):
        folder = _api_folder(config)
        if folder is not None:
            plugin = config.plugins["mkdocstrings"]
            render_cache.install(
                page, folder, config.plugins["autorefs"], plugin.handlers
            )
        return page
    if page.file.src_uri.endswith(".md"):
        keys = _page_keys(config, files)
        render_cache.install(
            page,
            _root(config) / ".cache" / PAGE_CACHE,
            config.plugins.get("autorefs"),
            page_key=keys,
            used=_state["pages_used"],
        )
        return page
    base = _state.get("labs_base")
    src = getattr(page.file, "abs_src_path", None) or ""
    plugin = config.plugins.get("mkdocs-jupyter")
    if base is None or plugin is None or not src.endswith(".py"):
        return page
    if not plugin.should_include(page.file):
        return page
    if "sources" not in _state:
        from airoad_book.figures import cache

        _state["sources"] = cache.read_sources()
    key = lab_key(Path(src), _state["sources"])
    _state["labs_used"].add(key)
    plugin.config["cache_dir"] = str(base / key)
    pool = _state.get("lab_pool")
    if pool is not None and _serving() and pool.running(Path(src)):
        # mkdocs serve: show a notice now; the page reloads when the lab lands
        from airoad_book import lab_runner

        folder = base.parent / LABS_PENDING
        lab_runner.write_page(
            lab_runner.cache_path(Path(src), plugin.config, folder),
            _lab_notice(pool),
            title=None,
        )
        plugin.config["cache_dir"] = str(folder)
        return page
    if pool is not None:
        err = pool.wait(Path(src))
        if err is not None:
            log.warning(
                f"airoad: executing {page.file.src_uri} ahead of time failed "
                f"({type(err).__name__}); mkdocs-jupyter executes it again and reports "
                f"the failing cell"
            )
    return page


def start_labs(files: Files, config) -> None:
    """Execute in the background, beside the figure build, every lab whose executed
    copy is not cached yet (`airoad_book.lab_runner`): one per core, and sharing the
    cores with the figure build's experiments (`airoad_book.cores`)."""
    from airoad_book import lab_runner
    from airoad_book.figures.build import default_workers

    plugin = config.plugins.get("mkdocs-jupyter")
    base = _state.get("labs_base")
    if plugin is None or base is None or not lab_runner.can_run_ahead(plugin.config):
        return
    if "sources" not in _state:
        from airoad_book.figures import cache

        _state["sources"] = cache.read_sources()
    todo = []
    for file in files:
        src = getattr(file, "abs_src_path", None) or ""
        if src.endswith(".py") and plugin.should_include(file):
            folder = base / lab_key(Path(src), _state["sources"])
            target = lab_runner.cache_path(Path(src), plugin.config, folder)
            if not target.exists():
                todo.append((Path(src), target))
    pool = _state.get("lab_pool")
    todo = [(lab, t) for lab, t in todo if pool is None or not pool.running(lab)]
    if not todo:
        return
    if pool is None:
        from airoad_book.figures.build import CORES

        cores = default_workers()
        pool = lab_runner.LabPool(
            min(cores, len(todo)),
            niceness=BACKGROUND if _serving() else 0,
            cores=(_root(config) / ".cache" / CORES, cores),
        )
    for lab, target in todo:
        pool.submit(lab, plugin.config, target)
    _state["lab_pool"] = pool
    log.info(f"airoad: {len(todo)} labs executing in the background")


LABS_PENDING = "mkdocs-jupyter-pending"  # under .cache: `serve`'s notices for labs


def _close_labs(finished_build: bool = False) -> None:
    """Stop the lab pool; after a `serve` rebuild, only when no lab is executing."""
    pool = _state.get("lab_pool")
    if pool is None or (finished_build and _serving() and pool.busy()):
        return
    _state.pop("lab_pool").close()


def on_build_error(error) -> None:
    """A failed build stops the labs still executing in the background."""
    _state.pop("api_folder", None)
    _state.pop("page_keys", None)
    _state.pop("pages_used", None)
    _state.pop("html", None)
    _close_labs()


def on_post_build(config) -> None:
    """Save the formatted signatures; delete the cached lab executions no lab uses any
    more (after a whole build)."""
    try:
        from mkdocstrings_handlers.python._internal import rendering

        save = getattr(rendering._get_formatter, "airoad_memo", None)
    except (ImportError, AttributeError):
        save = None
    if save is not None:
        save()
    from airoad_book import search_cache
    from airoad_book.render_cache import prune_unused

    search_cache.save()
    _close_labs(finished_build=True)
    _state.pop("page_keys", None)
    memo = _state.get("memo")
    if memo is not None:
        memo.save()  # kept for the next build, or the next serve rebuild
    html = _state.pop("html", None)
    if html is not None:
        html.prune()
    cache_dir = _root(config) / ".cache"
    # renders of pages as they no longer read, and lab pages no lab made
    prune_unused(cache_dir / PAGE_CACHE, "*.json", _state.pop("pages_used", None))
    prune_unused(cache_dir / LAB_PAGES, "*.json", _state.pop("kept", None))
    api = _state.pop("api_folder", None)
    if api is not None and api.parent.is_dir():
        for old in api.parent.iterdir():
            if old.is_dir() and old != api:
                shutil.rmtree(old, ignore_errors=True)
    base, used = _state.get("labs_base"), _state.get("labs_used")
    _state.pop("sources", None)  # the next serve rebuild reads the code again
    if base is None or not used or not base.is_dir():
        return
    for old in base.iterdir():
        if old.is_dir() and old.name not in used:
            shutil.rmtree(old, ignore_errors=True)


PENDING_CLASS = (
    "airoad-pending"  # marks a placeholder; never in a built site (on_post_page)
)
_background: dict[
    str, Any
] = {}  # mkdocs serve: the figure build running behind the pages


def on_startup(command: str, dirty: bool) -> None:
    """Remember whether this is `mkdocs serve` (placeholders allowed) or `build`
    (never)."""
    _state["command"] = command


def _figure_build(cache: Path, wanted: list[str], *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "airoad_book.figures",
        "--cache",
        str(cache),
        "--experiments",
        ",".join(wanted),
        *extra,
    ]


BACKGROUND = 10  # `mkdocs serve`: the niceness of the figure build and the labs


def _in_background() -> None:
    """Run at a lower priority than the server, so pages are served while figures and
    labs are computed behind them (`mkdocs serve`)."""
    os.nice(BACKGROUND)


def _serving() -> bool:
    return _state.get("command") == "serve"


def _serve_manifest(root: Path, cache: Path, wanted: list[str], env: dict) -> dict:
    """`mkdocs serve`: what the cache holds now, with the missing parts built in the
    background.

    The plan (keys only, nothing drawn) says which figures and results are there. If all
    are, the pages are complete; if not, a figure build runs in the background (one at a
    time) and the pages show "being drawn" notices; each file it writes triggers a
    rebuild (`on_serve`).
    """
    proc = subprocess.run(
        _figure_build(cache, wanted, "--plan"),
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    if proc.returncode != 0:
        raise PluginError(
            f"airoad: planning the figures failed (exit {proc.returncode}); its "
            f"traceback is above"
        )
    manifest = json.loads(proc.stdout)
    figures = manifest["figures"]
    done = sum(
        Path(f["light"]).exists() and Path(f["dark"]).exists() for f in figures.values()
    )
    results_done = all(Path(path).exists() for path in manifest["results"].values())
    running = _background.get("proc")
    if done == len(figures) and results_done:
        _state["pending"] = None
        return manifest
    if running is None or running.poll() is not None:
        if running is not None and running.returncode != 0:
            log.error(
                f"airoad: the background figure build failed (exit "
                f"{running.returncode}); "
                "its traceback is above; starting it again"
            )
        _background.update(
            proc=subprocess.Popen(
                _figure_build(cache, wanted),
                cwd=root,
                env=env,
                stdout=subprocess.DEVNULL,
                preexec_fn=_in_background if os.name == "posix" else None,
            ),
            start=time.monotonic(),
            done_at_start=done,
        )
    elapsed = time.monotonic() - _background["start"]
    drawn = done - _background["done_at_start"]
    left = elapsed / drawn * (len(figures) - done) if drawn > 0 else None
    _state["pending"] = {"done": done, "total": len(figures), "left_s": left}
    log.info(
        f"airoad: {done} of {len(figures)} figures ready; the rest are being drawn in "
        f"the background"
    )
    return manifest


def on_serve(server, config, builder):
    """Rebuild the pages whenever the background build lands a figure or a result."""
    cache = _root(config) / ".cache"
    for sub in ("figures", "results", "mkdocs-jupyter"):  # the last: labs landing
        (cache / sub).mkdir(parents=True, exist_ok=True)
        server.watch(str(cache / sub))
    return server


def on_shutdown() -> None:
    """Stop the background figure build when `mkdocs serve` stops (its files are
    atomic), and the labs executing in the background."""
    _close_labs()
    proc = _background.pop("proc", None)
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


WARM_MANIFEST = "manifest.json"  # under .cache: the last complete figure build's


def tree_key(root: Path, wanted: list[str]) -> str:
    """What a complete figure build depends on: the package's code and library versions
    (`cache.package_key`), the experiments the pages quote, `$AIROAD_ONLY_FIGURES`, and
    the committed results files experiments read (`READS`). Reading it imports nothing
    heavy: no torch, no matplotlib."""
    import hashlib

    from airoad_book.figures import cache

    sources = cache.read_sources()
    digest = hashlib.sha256()
    for part in (
        cache.package_key(sources),
        ",".join(wanted),
        os.environ.get("AIROAD_ONLY_FIGURES", ""),
    ):
        digest.update(part.encode() + b"\0")
    reads = sorted(
        {
            path
            for module, text in sources.items()
            if "READS" in text
            for path in cache.reads_of(module, sources)
        }
    )
    for path in reads:
        digest.update(cache._file_digest(path, root).encode() + b"\0")
    return digest.hexdigest()[:16]


def _stamp(path: str) -> list[int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def _manifest_files(manifest: dict) -> list[str]:
    figures = manifest["figures"].values()
    return [f[v] for f in figures for v in ("light", "dark")] + list(
        manifest["results"].values()
    )


def read_warm_manifest(cache: Path, key: str) -> dict | None:
    """The manifest of the last complete build if nothing it depends on changed since:
    the same `tree_key`, and every figure and result file it lists still there with the
    size and modification time it had (a file touched, truncated or deleted since sends
    the build back to the figure build, which checks and redraws it)."""
    try:
        saved = json.loads((cache / WARM_MANIFEST).read_text(encoding="utf-8"))
        if saved["key"] != key:
            return None
        manifest, stamps = saved["manifest"], saved["stamps"]
        files = _manifest_files(manifest)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if len(stamps) != len(files) or any(
        _stamp(path) != stamp for path, stamp in zip(files, stamps)
    ):
        return None
    for fig in manifest["figures"].values():
        fig["regenerated"] = False
    return manifest


def write_warm_manifest(cache: Path, key: str, manifest: dict) -> None:
    """Remember a complete build's manifest (see `read_warm_manifest`), atomically."""
    from airoad_book.figures.build import write_atomically

    stamps = [_stamp(path) for path in _manifest_files(manifest)]
    if None in stamps:
        return  # not complete: nothing to remember
    saved = {"key": key, "manifest": manifest, "stamps": stamps}
    write_atomically(cache / WARM_MANIFEST, json.dumps(saved).encode())


def on_files(files: Files, config) -> Files:
    """Bring the figure cache up to date and add the figures, MathJax and the lab
    notebooks to the site.

    `mkdocs build` waits for every figure and result. `mkdocs serve` serves what is
    there at once and draws the rest in the background (see `_serve_manifest`). When
    nothing changed since the last complete build (`read_warm_manifest`), no figure
    build starts at all: no subprocess, no torch, no matplotlib.
    """
    root = _root(config)
    cache = root / ".cache"
    wanted = sorted(referenced_experiments(Path(config["docs_dir"])))
    env = {**os.environ, "AIROAD_PROGRESS": "off"}
    key = tree_key(root, wanted)
    start_labs(files, config)
    warm = read_warm_manifest(cache, key)
    if warm is not None:
        _state["pending"] = None
        manifest = warm
        log.info(f"airoad: {len(manifest['figures'])} figures, all up to date")
    elif _serving():
        manifest = _serve_manifest(root, cache, wanted, env)
        if _state.get("pending") is None:
            write_warm_manifest(cache, key, manifest)
    else:
        _state["pending"] = None
        proc = subprocess.run(
            _figure_build(cache, wanted),
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        if proc.returncode != 0:
            raise PluginError(
                f"airoad: the figure build failed (exit {proc.returncode}); its "
                f"traceback is above"
            )
        manifest = json.loads(proc.stdout)
        regenerated = [
            name for name, fig in manifest["figures"].items() if fig["regenerated"]
        ]
        log.info(
            f"airoad: {len(manifest['figures'])} figures, {len(regenerated)} "
            f"regenerated"
        )
        write_warm_manifest(cache, key, manifest)
    for name, fig in manifest["figures"].items():
        for variant, suffix in (("light", ""), ("dark", "-dark")):
            if Path(fig[variant]).exists() or not _serving():
                uri = f"{FIGURE_DIR}/{name}{suffix}.svg"
                files.append(File.generated(config, uri, abs_src_path=fig[variant]))
    add_mathjax(files, config)
    add_lab_notebooks(files, config)
    add_api_pages(files, config)
    _state.update(
        root=root,
        figures=manifest["figures"],
        result_paths=manifest["results"],
        results={},
    )
    return labs_last(files, config)


def labs_last(files: Files, config) -> Files:
    """`files` with the lab notebooks moved to the end.

    MkDocs reads and renders the pages in this order, and a lab's page waits for its
    lab to finish executing (`on_pre_page`). With the labs last, the other pages are
    rendered while the last labs still run, on a clean build after the figure build
    has finished. The navigation, and every link between pages, comes from
    `mkdocs.yml`, not from this order.
    """
    plugin = config.plugins.get("mkdocs-jupyter")
    if plugin is None:
        return files
    labs = [file for file in files if plugin.should_include(file)]
    if not labs:
        return files
    chosen = set(map(id, labs))
    return Files([f for f in files if id(f) not in chosen] + labs)


class _Pending(Exception):
    """A figure or result that `mkdocs serve` is still computing."""


def _pending_notice(what: str, block: bool) -> str:
    pending = _state.get("pending") or {}
    left = pending.get("left_s")
    eta = f"about {left:.0f} s left" if left is not None else "estimating the time left"
    text = (
        f"{what} being drawn — {pending.get('done', 0)} of {pending.get('total', '?')} "
        f"figures done, {eta}; the page reloads when it lands."
    )
    if block:
        return (
            f'<div class="admonition note {PENDING_CLASS}">\n'
            f'<p class="admonition-title">Being drawn</p>\n<p>{text}</p>\n</div>\n'
        )
    return f'<span class="{PENDING_CLASS}">({what} being computed)</span>'


def _lab_notice(pool) -> str:
    """`mkdocs serve`: the page of a lab still executing in the background."""
    left = sum(not future.done() for future in pool.futures.values())
    return (
        f'<div class="admonition note {PENDING_CLASS}">\n'
        '<p class="admonition-title">Being executed</p>\n'
        f"<p>This lab is executing in the background ({left} of "
        f"{len(pool.futures)} labs still running); the page reloads when it lands.</p>"
        "\n</div>\n"
    )


def on_post_page(output: str, page, config) -> str:
    """A placeholder for a figure still being drawn must never reach a built site."""
    if not _serving() and PENDING_CLASS in output:
        raise PluginError(
            f"airoad: {page.file.src_uri} holds a 'being drawn' placeholder; "
            "`mkdocs build` must wait for every figure"
        )
    return output


# lab notebooks: jupytext percent-format .py files, pages through mkdocs-jupyter
LABS = "labs"


def add_lab_notebooks(files: Files, config) -> None:
    """Add each lab as a downloadable .ipynb next to its page
    (`labs/NAME/NAME.ipynb`)."""
    import jupytext

    for lab in [
        f
        for f in files
        if f.src_uri.startswith(f"{LABS}/") and f.src_uri.endswith(".py")
    ]:
        stem = posixpath.splitext(posixpath.basename(lab.src_uri))[0]
        text = Path(lab.abs_src_path).read_text(encoding="utf-8")
        notebook = _memo(config).get(
            ["notebook", jupytext.__version__, text],
            lambda text=text, stem=stem: _notebook(text, stem),
        )
        files.append(
            File.generated(config, f"{LABS}/{stem}/{stem}.ipynb", content=notebook)
        )


def _notebook(text: str, stem: str) -> str:
    """The lab's jupytext text as .ipynb JSON, each cell's id made from the lab's name
    and the cell's place (nbformat draws random ones: every build would write a
    different download)."""
    import jupytext

    notebook = jupytext.reads(text, fmt="py")
    for i, cell in enumerate(notebook.cells):
        if "id" in cell:
            cell["id"] = f"{stem}-{i}"
    return jupytext.writes(notebook, "ipynb")


API = "api"  # the API reference: one generated page per module of the package
API_TITLE = "API reference"
PACKAGE = "airoad_book"


def api_modules(package: Path) -> dict[str, str]:
    """Every documented module of the package (by dotted name) and the URI of its API
    page.

    All modules but `__main__` scripts and private ones: `airoad_book.models.bengio`
    gets `api/airoad_book/models/bengio.md`, a package gets `.../index.md`. A new module
    gets its page (and its place in the nav) with no edit anywhere.
    """
    pages = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        if any(part.startswith("_") for part in parts):
            continue
        uri = (
            posixpath.join(API, *parts, "index.md")
            if is_package
            else posixpath.join(API, *parts) + ".md"
        )
        pages[".".join(parts)] = uri
    return dict(sorted(pages.items()))


def api_page(module: str) -> str:
    """The Markdown of one module's API page: mkdocstrings' `:::` directive.

    The module's name is the page's h1 (mkdocs.yml: `show_root_heading`, `heading_level:
    1`) and its members are h2. mkdocstrings shifts a docstring's headings one level
    down, so a module docstring underlines its sections with `===` to make them h2.
    """
    return f"::: {module}\n"


def api_index(modules: dict[str, str], package: Path, memo=None) -> str:
    """The API reference's first page: every module with the first line of its
    docstring (kept in `memo`, a `memo.DiskMemo`, if given)."""
    import ast

    rows = []
    for name, uri in modules.items():
        relative = name.split(".")[1:]
        source = (
            package.joinpath(*relative, "__init__.py")
            if uri.endswith("index.md")
            else package.joinpath(*relative[:-1], relative[-1] + ".py")
            if relative
            else package / "__init__.py"
        )
        text = source.read_text(encoding="utf-8")

        def docstring(text=text) -> str:
            return ast.get_docstring(ast.parse(text)) or ""

        doc = memo.get(["docstring", text], docstring) if memo else docstring()
        summary = (doc.strip().splitlines()[0] if doc.strip() else "").replace(
            "|", r"\|"
        )
        rows.append(f"| [`{name}`]({posixpath.relpath(uri, API)}) | {summary} |")
    return (
        "# API reference\n\n"
        "Generated from the docstrings of the `airoad_book` package by "
        "[mkdocstrings](https://mkdocstrings.github.io/), one page per module; tensor "
        "shapes are "
        "written as in the code, `(B, T, C)`: B batch, T time, C channels or features, "
        "V vocabulary.\n\n"
        "| module | what it holds |\n|:---|:---|\n" + "\n".join(rows) + "\n"
    )


def api_nav(modules: dict[str, str]) -> list:
    """The nav of the API reference: the index, then each package's modules under it."""
    nav: list = [f"{API}/index.md"]
    sections: dict[str, list] = {}
    for name, uri in modules.items():
        parent = name.rpartition(".")[0] if not uri.endswith("index.md") else name
        if parent in sections and parent != name:
            sections[parent].append({name: uri})
        elif uri.endswith("index.md") and name != PACKAGE:
            sections[name] = [uri]
            nav.append({name: sections[name]})
        else:
            nav.append({name: uri})
    return nav


def add_api_pages(files: Files, config) -> None:
    """Add the generated API pages (see `api_modules`) to the site."""
    package = _root(config) / PACKAGE
    modules = api_modules(package)
    files.append(
        File.generated(
            config,
            f"{API}/index.md",
            content=api_index(modules, package, _memo(config)),
        )
    )
    for name, uri in modules.items():
        files.append(File.generated(config, uri, content=api_page(name)))


NOTEBOOK_MATH = re.compile(
    r"\$\$(.+?)\$\$|(?<![\\$])\$(?=\S)([^$]+?)(?<=[^\s\\])\$", re.S
)


FILENAME = re.compile(
    r'<span class="filename">((?:airoad_book|hooks|tests)/[\w/.-]+\.py'
    r"|cpp/[\w/.-]+\.cpp)</span>"
)


def build_commit(root: Path) -> str:
    """The commit the site is built from (``git rev-parse HEAD``), else "main"."""
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "main"
    commit = proc.stdout.strip()
    ok = proc.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", commit)
    return commit if ok else "main"


def link_code_titles(html: str, repo_url: str | None, commit: str, root: Path) -> str:
    """Make an embedded section's title, ``airoad_book/models/bengio.py``, a link to the
    whole file in the repository at ``commit``: a reader who copies a section finds its
    imports there. Titles naming no file of the checkout are left as text."""
    if not repo_url:
        return html

    def link(match: re.Match) -> str:
        path = match.group(1)
        if not (root / path).is_file():
            return match.group(0)
        url = f"{repo_url.rstrip('/')}/blob/{commit}/{path}"
        title = "the whole file, at the commit this page was built from"
        anchor = f'<a href="{url}" title="{title}">{path}</a>'
        return f'<span class="filename">{anchor}</span>'

    return FILENAME.sub(link, html)


def on_page_content(html: str, page, config, files) -> str:
    """Link code titles to their files (all pages); lab pages: typeset their math with
    the site's own MathJax, offline.

    nbconvert leaves `$...$` and `$$...$$` as text for a MathJax 2 it loads from a CDN
    (or, with no URL, from nowhere). The site's MathJax 3 typesets what arithmatex
    marks, so the math of the notebook's Markdown cells is marked the same way (`<span
    class="arithmatex">\\(...\\)`) and nbconvert's loader and its MathJax 2
    configuration are dropped.
    """
    if config and config.get("repo_url") and config.get("config_file_path"):
        root = _root(config)
        if _state.get("commit_of") is not files:  # once per build: serve rebuilds
            _state.update(commit_of=files, commit=build_commit(root))
        html = link_code_titles(html, config["repo_url"], _state["commit"], root)
    if (
        not getattr(page, "file", None)
        or not page.file.src_uri.startswith(f"{LABS}/")
        or "jp-Notebook" not in html
    ):
        return html
    if not config or not config.get("config_file_path"):
        return _lab_page(html, page)
    return _kept(
        _root(config) / ".cache" / LAB_PAGES,
        [html, Path(page.file.abs_src_path or "").read_text(encoding="utf-8")],
        lambda: _lab_page(html, page),
    )


LAB_PAGES = "lab-pages"  # under .cache: lab pages after on_page_content, by input


@functools.cache
def _own_code() -> bytes:
    """This module's source, read once per process (a key of the kept lab pages)."""
    return Path(__file__).read_bytes()


def _kept(folder: Path, inputs: list[str], make) -> str:
    """`make()`, kept in `folder` under a hash of `inputs` and of this module's code; a
    kept copy that does not read back whole is made again."""
    import hashlib

    from airoad_book.figures.build import write_atomically

    digest = hashlib.sha256(_own_code())
    for text in inputs:
        digest.update(b"\0" + text.encode())
    path = folder / f"{digest.hexdigest()[:24]}.json"
    _state.setdefault("kept", set()).add(path)
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(kept, dict) and isinstance(kept.get("html"), str):
            return kept["html"]
    except (OSError, ValueError):
        pass
    html = make()
    if folder.parent.is_dir():
        write_atomically(path, json.dumps({"html": html}).encode())
    return html


def _lab_page(html: str, page) -> str:
    """A lab page with the alt text its cells declare and its math marked for the
    site's MathJax (`on_page_content`)."""
    from bs4 import BeautifulSoup, NavigableString

    soup = BeautifulSoup(html, "html.parser")
    _notebook_alt_text(soup, page)
    for script in soup.find_all("script"):
        if script.get("type") == "text/x-mathjax-config" or script.get("src") == "":
            script.decompose()
    for cell in soup.select(".jp-RenderedMarkdown"):
        for text in list(cell.find_all(string=NOTEBOOK_MATH)):
            if text.find_parent(["code", "pre", "script", "style"]) is not None:
                continue
            parts, last = [], 0
            for match in NOTEBOOK_MATH.finditer(str(text)):
                parts.append(NavigableString(text[last : match.start()]))
                display = match.group(1) is not None
                math = soup.new_tag(
                    "div" if display else "span", attrs={"class": "arithmatex"}
                )
                math.string = (
                    f"\\[{match.group(1)}\\]" if display else f"\\({match.group(2)}\\)"
                )
                parts.append(math)
                last = match.end()
            parts.append(NavigableString(text[last:]))
            text.replace_with(*parts)
    return str(soup)


def _notebook_alt_text(soup, page) -> None:
    """Give a lab's plot outputs the alt text its cell declares, `# %% alt="..."` in
    jupytext.

    nbconvert has no way to say what a plot output shows, and writes a placeholder alt
    ("No description has been provided for this image"); a cell's `alt` metadata
    replaces it.
    """
    import jupytext

    abs_src = getattr(page.file, "abs_src_path", None)
    if not abs_src or not abs_src.endswith(".py"):
        return
    cells = jupytext.read(abs_src).cells
    rendered = soup.select(".jp-Notebook > .jp-Cell")
    if len(rendered) != len(cells):
        # cells were dropped on the way; the accessibility test reports what is left
        return
    for cell, div in zip(cells, rendered):
        alt = cell.metadata.get("alt")
        if alt:
            for img in div.select(".jp-OutputArea img"):
                img["alt"] = alt


MATHJAX_URI = "javascripts/mathjax"  # where mkdocs.yml's extra_javascript expects it


def add_mathjax(files: Files, config) -> None:
    """Serve MathJax 3 from the installed package `django-static-mathjax`, not from a
    CDN."""
    import importlib.util

    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise PluginError(
            "airoad: MathJax is missing; it ships with the package "
            "`django-static-mathjax` (run `uv sync`)"
        )
    es5 = (
        Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"
    )
    wanted = [
        es5 / "tex-mml-chtml.js",
        *sorted((es5 / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff")),
    ]
    for path in wanted:
        uri = f"{MATHJAX_URI}/es5/{path.relative_to(es5).as_posix()}"
        files.append(File.generated(config, uri, abs_src_path=str(path)))


def _result(source: str) -> dict:
    """The result of `source`: `NAME` (the build's quick run) or `NAME@full` (committed
    file)."""
    if source in _state["results"]:
        return _state["results"][source]
    name, _, budget = source.partition("@")
    if budget:
        path = _state["root"] / RESULTS_DIR / f"{name}-{budget}.json"
        if not path.exists():
            raise PluginError(
                f"airoad: no committed results file "
                f"{path.relative_to(_state['root'])}; make it with "
                f"`uv run airoad-book run {name} --budget {budget} --record`"
            )
    elif name in _state["result_paths"]:
        path = Path(_state["result_paths"][name])
        if _state.get("pending") and _serving() and not path.exists():
            raise _Pending(name)
    else:
        raise PluginError(f"airoad: no results for experiment {name!r}")
    shown = (
        path.relative_to(_state["root"])
        if path.is_relative_to(_state["root"])
        else path
    )
    from airoad_book.memo import read_unless_changed

    try:
        data = read_unless_changed(path, json.loads, "json")
    except (ValueError, UnicodeDecodeError) as err:
        raise PluginError(
            f"airoad: the results file {shown} of {source} is not valid JSON: {err}"
        ) from err
    if not isinstance(data, dict):
        raise PluginError(
            f"airoad: the results file {shown} of {source} holds no JSON object"
        )
    data = {**data, "_file": str(shown)}
    _state["results"][source] = data
    return data


def _lookup(mapping: dict, key: str, what: str, source: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        where = _state.get("results", {}).get(source, {}).get("_file")
        named = f"{source} (file {where})" if where else source
        known = ", ".join(mapping) if isinstance(mapping, dict) and mapping else "none"
        raise PluginError(f"airoad: {named} has no {what} {key!r}; it has: {known}")
    return mapping[key]


def _figure(page, name: str) -> str:
    fig = _lookup(_state["figures"], name, "figure", "the figure registry")
    if (
        _serving()
        and _state.get("pending")
        and not (Path(fig["light"]).exists() and Path(fig["dark"]).exists())
    ):
        return _pending_notice(f"The figure “{fig['alt']}” is", block=True)
    here = posixpath.dirname(page.file.src_uri)
    light = posixpath.relpath(f"{FIGURE_DIR}/{name}.svg", here or ".")
    dark = posixpath.relpath(f"{FIGURE_DIR}/{name}-dark.svg", here or ".")
    alt = fig["alt"].replace("]", "")
    return (
        '<figure markdown="span">\n'
        f"  ![{alt}]({light}#only-light){{ loading=lazy }}\n"
        f"  ![{alt}]({dark}#only-dark){{ loading=lazy }}\n"
        f"  <figcaption>{fig['caption']}</figcaption>\n"
        "</figure>\n"
    )


def _table(args: list[str]) -> str:
    from airoad_book.results import Table

    source, name = args
    table = _lookup(_result(source).get("tables", {}), name, "table", source)
    return "\n" + Table(**table).to_markdown() + "\n"


def _value(args: list[str]) -> str:
    source, metric, *fmt = args
    value = _lookup(_result(source).get("metrics", {}), metric, "metric", source)
    return format(value, fmt[0] if fmt else ".4g")


def _text(args: list[str]) -> str:
    source, key = args
    return _lookup(_result(source).get("text", {}), key, "text", source)


def _provenance(args: list[str]) -> str:
    (source,) = args
    if "@" not in source:
        raise PluginError(
            f"airoad: provenance is for committed results (NAME@full), got {source!r}"
        )
    data = _result(source)
    prov = data.get("provenance")
    if not prov:
        raise PluginError(
            f"airoad: the results file {data['_file']} of {source} records no "
            f"provenance"
        )
    for key in ("command", "commit", "date", "machine"):
        _lookup(prov, key, "provenance key", source)
    _lookup(data, "seconds", "key", source)
    name, _, budget = source.partition("@")
    return (
        f'!!! info "Where these numbers come from"\n'
        f"    Not run by the build: read from `{RESULTS_DIR}/{name}-{budget}.json`, "
        f"written by "
        f"`{prov['command']}` at commit `{prov['commit']}` on {prov['date']}, on "
        f"{prov['machine']}, "
        f"in {data['seconds']:.0f} s.\n"
    )


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Replace the page's placeholders (outside code) by figures, tables, values and
    sentences from the runs."""

    def replace(match: re.Match) -> str:
        kind, args = match.group(1), match.group(2).split()
        where = f"{page.file.src_uri}: {match.group(0)}"
        if kind not in KINDS:
            raise PluginError(
                f"airoad: unknown placeholder kind {kind!r} in {where}; expected one "
                f"of {KINDS}"
            )
        try:
            if kind == "figure":
                return _figure(page, *args)
            return {
                "table": _table,
                "value": _value,
                "text": _text,
                "provenance": _provenance,
            }[kind](args)
        except _Pending as pending:
            return _pending_notice(f"the result of {pending.args[0]} is", block=False)
        except (TypeError, ValueError) as err:
            raise PluginError(
                f"airoad: malformed placeholder in {where}: {err}"
            ) from err

    return "".join(
        chunk
        if in_fence
        else _outside_code_spans(chunk, lambda text: PLACEHOLDER.sub(replace, text))
        for chunk, in_fence in split_fences(markdown)
    )


CODE_SPAN = re.compile(r"(`+)(?:.|\n)*?(?<!`)\1(?!`)")


def _outside_code_spans(text: str, fn) -> str:
    """Apply `fn` to `text` except inside inline code spans, where a placeholder is just
    shown."""
    out, last = [], 0
    for span in CODE_SPAN.finditer(text):
        out += [fn(text[last : span.start()]), span.group(0)]
        last = span.end()
    return "".join(out + [fn(text[last:])])


FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


def split_fences(markdown: str) -> list[tuple[str, bool]]:
    """Cut Markdown into (text, inside a code fence?) runs: placeholders in code stay as
    typed."""
    runs: list[tuple[str, bool]] = []
    current: list[str] = []
    fence = None
    for line in markdown.splitlines(keepends=True):
        match = FENCE.match(line)
        if fence is None and match:
            runs.append(("".join(current), False))
            current, fence = [line], match.group(1)
        elif fence is not None and match and match.group(1).startswith(fence):
            current.append(line)
            runs.append(("".join(current), True))
            current, fence = [], None
        else:
            current.append(line)
    runs.append(("".join(current), fence is not None))
    return runs
