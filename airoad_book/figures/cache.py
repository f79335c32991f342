"""Cache keys for experiment results and figures: a hash of exactly the code they depend
on.

A figure depends on its own module and on its experiment's module, and on every
`airoad_book` module those import, directly or not (found by reading their `import`
statements, not by importing them). Parent packages are followed only where a module
imports them by name: the package `__init__` files that hold registries (the list of
experiments, the list of figure modules) are not part of any computation, so adding a
chapter does not invalidate the others. The key hashes the source text of that closure
with the budget, the seed and the versions of the numeric libraries. So editing
`models/bengio.py` changes the keys of the figures whose experiments import it, and no
others; a clean cache regenerates everything; an unchanged tree regenerates nothing.

An experiment that reads files rather than computing (appendix C renders the committed
`results/*-full.json` files) names them in a module-level tuple of literal paths,
`READS = ("results/ptb-lstm-full.json", ...)`, relative to the project root: their bytes
(or their absence) enter its key, so committing a new results file refreshes the page.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import platform
from importlib import metadata
from pathlib import Path

PACKAGE = "airoad_book"
PACKAGE_ROOT = Path(__file__).resolve().parents[1]
PROJECT_ROOT = PACKAGE_ROOT.parent  # where READS paths start
LIBRARIES = ("torch", "numpy", "matplotlib")  # their versions enter every key


def read_sources(root: Path = PACKAGE_ROOT, package: str = PACKAGE) -> dict[str, str]:
    """Map each module of `package` (dotted name) to its source text."""
    sources = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        sources[".".join([package, *parts])] = path.read_text(encoding="utf-8")
    return sources


_IMPORTS: dict[tuple, frozenset[str]] = {}  # imports_of, by module, source and names
# where the build keeps what each module imports between processes (`airoad_book.site`)
KEPT_IMPORTS = None  # a memo.DiskMemo, or None


def imports_of(module: str, sources: dict[str, str]) -> set[str]:
    """The package modules that `module` imports anywhere in its body (lazy imports
    too). Each module is parsed once per source text: a build asks again for every
    figure and every lab, and with `KEPT_IMPORTS` set, a later build does not parse
    an unchanged module at all."""
    names = frozenset(sources)
    memo = (module, sources[module], names)
    if memo not in _IMPORTS:
        if KEPT_IMPORTS is None:
            found = _parse_imports(module, sources)
        else:
            inputs = ["imports", module, sources[module], *sorted(names)]
            found = KEPT_IMPORTS.get(
                inputs, lambda: sorted(_parse_imports(module, sources))
            )
        _IMPORTS[memo] = frozenset(found)
    return set(_IMPORTS[memo])


def _parse_imports(module: str, sources: dict[str, str]) -> set[str]:
    tree = ast.parse(sources[module], filename=module)
    is_package = any(name.startswith(module + ".") for name in sources)
    base = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: climb from this module's package
                anchor = base.split(".")[: len(base.split(".")) - (node.level - 1)]
                origin = ".".join(anchor + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            submodules = [f"{origin}.{alias.name}" for alias in node.names]
            # `from pkg import submodule` reads the submodule, not pkg's __init__: only
            # a name
            # that is not a module of its own comes from (and depends on) the package
            # itself
            takes_from_origin = any(name not in sources for name in submodules)
            candidates = submodules + ([origin] if takes_from_origin else [])
        else:
            continue
        found.update(name for name in candidates if name in sources)
    return found - {module}


def closure(modules: list[str], sources: dict[str, str]) -> set[str]:
    """`modules` and everything they import from the package, directly or not."""
    missing = [m for m in modules if m not in sources]
    if missing:
        raise ValueError(
            f"no source for module(s) {missing}; is the registry out of date?"
        )
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(imports_of(name, sources) - seen)
    return seen


@functools.cache
def environment() -> str:
    """Python and numeric-library versions, read from package metadata (nothing is
    imported); read once per process."""
    versions = [f"python={platform.python_version()}"]
    for lib in LIBRARIES:
        try:
            versions.append(f"{lib}={metadata.version(lib)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{lib}=absent")
    return ";".join(versions)


def _digest(modules: set[str], sources: dict[str, str], *extra: str) -> str:
    h = hashlib.sha256()
    for name in sorted(modules):
        h.update(name.encode() + b"\0" + sources[name].encode() + b"\0")
    for item in extra:
        h.update(item.encode() + b"\0")
    return h.hexdigest()[:16]


def reads_of(module: str, sources: dict[str, str]) -> tuple[str, ...]:
    """The files `module` declares it reads: its top-level `READS = ("path", ...)`, or
    (). Parsed once per source text (and kept by `KEPT_IMPORTS` when it is set)."""
    text = sources[module]
    if KEPT_IMPORTS is None:
        return _reads(module, text)
    return tuple(
        KEPT_IMPORTS.get(["reads", module, text], lambda: _reads(module, text))
    )


@functools.cache
def _reads(module: str, text: str) -> tuple[str, ...]:
    for node in ast.parse(text, filename=module).body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "READS" for t in node.targets
        ):
            return tuple(ast.literal_eval(node.value))
    return ()


def _file_digest(path: str, root: Path) -> str:
    file = root / path
    return f"{path}:" + (
        hashlib.sha256(file.read_bytes()).hexdigest() if file.is_file() else "absent"
    )


def experiment_key(
    module: str,
    budget: str,
    seed: int,
    sources: dict[str, str],
    root: Path = PROJECT_ROOT,
    extra: tuple[str, ...] = (),
) -> str:
    """Key of one experiment's result: its code closure, budget, seed and library
    versions, the bytes of the files it `READS` (under `root`), if it declares any, and
    `extra` settings of the run (the build's thread count)."""
    files = [_file_digest(path, root) for path in reads_of(module, sources)]
    return _digest(
        closure([module], sources),
        sources,
        budget,
        str(seed),
        environment(),
        *files,
        *extra,
    )


def figure_key(
    figure_module: str, figure_name: str, experiment_key_: str, sources: dict[str, str]
) -> str:
    """Key of one figure: its drawing code's closure and the key of the result it
    draws."""
    return _digest(
        closure([figure_module], sources), sources, figure_name, experiment_key_
    )


def package_key(sources: dict[str, str]) -> str:
    """Key of the whole package: for what may import any of it (the lab notebooks)."""
    return _digest(set(sources), sources, environment())
