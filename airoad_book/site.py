"""The MkDocs hook: figures and result tables enter the pages at build time.

`on_files` brings the figure cache up to date in a subprocess (`python -m
airoad_book.figures`, which prints one line per figure it regenerates) and adds the images
to the site. `on_page_markdown` replaces the placeholders a chapter writes instead of
numbers:

| placeholder | becomes |
|---|---|
| `{{ figure NAME }}` | the figure, light and dark variants, with its caption |
| `{{ table EXPERIMENT TABLE }}` | a Markdown table from the experiment's result |
| `{{ value EXPERIMENT METRIC [FORMAT] }}` | one metric, formatted (default `.4g`) |
| `{{ text EXPERIMENT KEY }}` | a sentence the experiment wrote from its numbers |
| `{{ provenance EXPERIMENT@full }}` | where a committed result came from |

`EXPERIMENT` alone means the quick run the build makes; `EXPERIMENT@full` reads the committed
results file `results/EXPERIMENT-full.json` written by `airoad-book run ... --record`.
A placeholder that names nothing known fails the build.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
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
    """Experiments whose build-time results the pages quote (`{{ table|value|text NAME ...}}`)."""
    found = set()
    for page in docs_dir.rglob("*.md"):
        prose = "".join(
            CODE_SPAN.sub("", chunk) for chunk, code in split_fences(page.read_text(encoding="utf-8")) if not code
        )
        for kind, args in PLACEHOLDER.findall(prose):
            if kind in ("table", "value", "text") and "@" not in args.split()[0]:
                found.add(args.split()[0])
    return found


def on_config(config):
    """Key mkdocs-jupyter's cache of executed notebooks by the package's code too.

    mkdocs-jupyter keys an executed notebook by its own text only, so a lab would keep showing
    the outputs of old package code. Its cache folder is moved under a hash of every
    `airoad_book` module, so a change to the package re-executes the labs once.
    """
    from airoad_book.figures import cache

    plugin = config.plugins.get("mkdocs-jupyter")
    if plugin is not None and plugin.config.get("cache"):
        sources = cache.read_sources()
        key = cache.package_key(sources)
        base = _root(config) / ".cache" / "mkdocs-jupyter"
        plugin.config["cache_dir"] = str(base / key)
        if base.is_dir():
            for old in base.iterdir():
                if old.name != key and old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
    return config


def on_files(files: Files, config) -> Files:
    root = _root(config)
    cache = root / ".cache"
    wanted = sorted(referenced_experiments(Path(config["docs_dir"])))
    env = {**os.environ, "AIROAD_PROGRESS": "off"}
    proc = subprocess.run(
        [sys.executable, "-m", "airoad_book.figures", "--cache", str(cache), "--experiments", ",".join(wanted)],
        cwd=root, env=env, stdout=subprocess.PIPE, text=True,
    )
    if proc.returncode != 0:
        raise PluginError(f"airoad: the figure build failed (exit {proc.returncode}); its traceback is above")
    manifest = json.loads(proc.stdout)
    regenerated = [name for name, fig in manifest["figures"].items() if fig["regenerated"]]
    log.info(f"airoad: {len(manifest['figures'])} figures, {len(regenerated)} regenerated")
    for name, fig in manifest["figures"].items():
        for variant, suffix in (("light", ""), ("dark", "-dark")):
            uri = f"{FIGURE_DIR}/{name}{suffix}.svg"
            files.append(File.generated(config, uri, abs_src_path=fig[variant]))
    add_mathjax(files, config)
    add_lab_notebooks(files, config)
    _state.update(root=root, figures=manifest["figures"], result_paths=manifest["results"], results={})
    return files


LABS = "labs"  # lab notebooks: jupytext percent-format .py files, pages through mkdocs-jupyter


def add_lab_notebooks(files: Files, config) -> None:
    """Add each lab as a downloadable .ipynb next to its page (`labs/NAME/NAME.ipynb`)."""
    import jupytext

    for lab in [f for f in files if f.src_uri.startswith(f"{LABS}/") and f.src_uri.endswith(".py")]:
        stem = posixpath.splitext(posixpath.basename(lab.src_uri))[0]
        notebook = jupytext.writes(jupytext.read(lab.abs_src_path), fmt="ipynb")
        files.append(File.generated(config, f"{LABS}/{stem}/{stem}.ipynb", content=notebook))


MATHJAX_URI = "javascripts/mathjax"  # where mkdocs.yml's extra_javascript expects it


def add_mathjax(files: Files, config) -> None:
    """Serve MathJax 3 from the installed package `django-static-mathjax`, not from a CDN."""
    import importlib.util

    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise PluginError("airoad: MathJax is missing; it ships with the package "
                          "`django-static-mathjax` (run `uv sync`)")
    es5 = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"
    wanted = [es5 / "tex-mml-chtml.js", *sorted((es5 / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))]
    for path in wanted:
        uri = f"{MATHJAX_URI}/es5/{path.relative_to(es5).as_posix()}"
        files.append(File.generated(config, uri, abs_src_path=str(path)))


def _result(source: str) -> dict:
    """The result of `source`: `NAME` (the build's quick run) or `NAME@full` (committed file)."""
    if source in _state["results"]:
        return _state["results"][source]
    name, _, budget = source.partition("@")
    if budget:
        path = _state["root"] / RESULTS_DIR / f"{name}-{budget}.json"
        if not path.exists():
            raise PluginError(
                f"airoad: no committed results file {path.relative_to(_state['root'])}; make it with "
                f"`uv run airoad-book run {name} --budget {budget} --record`"
            )
    elif name in _state["result_paths"]:
        path = Path(_state["result_paths"][name])
    else:
        raise PluginError(f"airoad: no results for experiment {name!r}")
    data = json.loads(path.read_text(encoding="utf-8"))
    _state["results"][source] = data
    return data


def _lookup(mapping: dict, key: str, what: str, source: str) -> Any:
    if key not in mapping:
        raise PluginError(f"airoad: {source} has no {what} {key!r}; it has: {', '.join(mapping) or 'none'}")
    return mapping[key]


def _figure(page, name: str) -> str:
    fig = _lookup(_state["figures"], name, "figure", "the figure registry")
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
        raise PluginError(f"airoad: provenance is for committed results (NAME@full), got {source!r}")
    data = _result(source)
    prov = data.get("provenance")
    if not prov:
        raise PluginError(f"airoad: the results file of {source} records no provenance")
    name, _, budget = source.partition("@")
    return (
        f'!!! info "Where these numbers come from"\n'
        f"    Not run by the build: read from `{RESULTS_DIR}/{name}-{budget}.json`, written by "
        f"`{prov['command']}` at commit `{prov['commit']}` on {prov['date']}, on {prov['machine']}, "
        f"in {data['seconds']:.0f} s.\n"
    )


def on_page_markdown(markdown: str, page, config, files) -> str:
    def replace(match: re.Match) -> str:
        kind, args = match.group(1), match.group(2).split()
        where = f"{page.file.src_uri}: {match.group(0)}"
        if kind not in KINDS:
            raise PluginError(f"airoad: unknown placeholder kind {kind!r} in {where}; expected one of {KINDS}")
        try:
            if kind == "figure":
                return _figure(page, *args)
            return {"table": _table, "value": _value, "text": _text, "provenance": _provenance}[kind](args)
        except (TypeError, ValueError) as err:
            raise PluginError(f"airoad: malformed placeholder in {where}: {err}") from err

    return "".join(
        chunk if in_fence else _outside_code_spans(chunk, lambda text: PLACEHOLDER.sub(replace, text))
        for chunk, in_fence in split_fences(markdown)
    )


CODE_SPAN = re.compile(r"(`+)(?:.|\n)*?(?<!`)\1(?!`)")


def _outside_code_spans(text: str, fn) -> str:
    """Apply `fn` to `text` except inside inline code spans, where a placeholder is just shown."""
    out, last = [], 0
    for span in CODE_SPAN.finditer(text):
        out += [fn(text[last:span.start()]), span.group(0)]
        last = span.end()
    return "".join(out + [fn(text[last:])])


FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


def split_fences(markdown: str) -> list[tuple[str, bool]]:
    """Cut Markdown into (text, inside a code fence?) runs: placeholders in code stay as typed."""
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
