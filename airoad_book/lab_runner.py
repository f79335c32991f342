"""Execute the lab notebooks ahead of mkdocs-jupyter, several at once, into its cache.

mkdocs-jupyter executes a notebook when it renders the notebook's page, one page after
another, after the figure build has finished: on a clean build one core trains while the
other waits. The hook (`airoad_book.site.on_files`) instead starts the labs whose
executed copy is missing in a pool of worker processes, beside the figure build, and
each worker writes what mkdocs-jupyter itself would write to its cache: the same
conversion (`mkdocs_jupyter.convert.nb2html`, with the plugin's options), the same table
of contents, at the path mkdocs-jupyter looks up. When the page is rendered, its
executed copy is there. A lab that fails ahead of time writes nothing; mkdocs-jupyter
then executes it again and reports the failing cell as it always did.
"""

from __future__ import annotations

import contextlib
import json
import os
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

# the plugin's options that nb2html takes (the ones its cache key covers, too)
CONVERT_OPTIONS = (
    "kernel_name",
    "theme",
    "allow_errors",
    "show_input",
    "no_input",
    "no_prompt",
    "remove_tag_config",
    "highlight_extra_classes",
    "include_requirejs",
    "custom_mathjax_url",
)


def can_run_ahead(options: dict) -> bool:
    """Whether labs can be executed ahead of time with these mkdocs-jupyter options:
    execution and the cache on, no notebooks exempt from execution."""
    return (
        bool(options.get("execute"))
        and bool(options.get("cache"))
        and not options.get("execute_ignore")
    )


def cache_path(lab: Path, options: dict, cache_dir: Path) -> Path:
    """Where mkdocs-jupyter looks for the executed copy of `lab` (its own key)."""
    from mkdocs_jupyter.plugin import _compute_cache_key, _get_cache_path

    key = _compute_cache_key(str(lab), options, bool(options.get("execute")))
    return Path(_get_cache_path(str(cache_dir), key))


def execute(
    lab: str, options: dict, target: str, cores: tuple[Path, int] | None = None
) -> str:
    """Execute one lab in a fresh kernel and write its page, as mkdocs-jupyter would,
    to `target` (atomically); return `lab`. Raises the cell's error if a cell fails.

    `cores` (a folder and a count) makes the lab hold one core while its kernel runs
    (`airoad_book.cores`), as the figure build's experiments do; the experiments go
    first."""
    from mkdocs_jupyter import convert
    from mkdocs_jupyter.plugin import _get_nb_toc_tokens

    from airoad_book.cores import core

    with core(*cores, patient=True) if cores else contextlib.nullcontext():
        body = convert.nb2html(
            lab, execute=True, **{key: options[key] for key in CONVERT_OPTIONS}
        )
    toc_tokens, title = _get_nb_toc_tokens(lab, options["toc_depth"])
    write_page(Path(target), body, title, toc_tokens)
    return lab


def write_page(
    target: Path, content: str, title: str | None, toc_tokens: list | None = None
) -> None:
    """Write one page in mkdocs-jupyter's cache format to `target`, atomically."""
    from airoad_book.figures.build import write_atomically

    page = {"content": content, "toc_tokens": toc_tokens or [], "title": title}
    write_atomically(Path(target), json.dumps(page).encode())


# what every kernel prints when it starts: the kernel and the build talk over localhost
QUIET = ("Kernel is running over TCP without encryption",)


def _worker_start(niceness: int = 0) -> None:
    """A lab worker's start: its kernels get one torch thread each, as the experiment
    workers do, so that labs and experiments running side by side do not fight over the
    cores (a reader's own kernel keeps torch's default); their stderr reaches the
    build's log without the lines in `QUIET`. `niceness` > 0 lowers the priority of the
    worker and its kernels (`mkdocs serve`: the pages first)."""
    if niceness:
        os.nice(niceness)
    os.environ["OMP_NUM_THREADS"] = "1"
    quiet_stderr(QUIET)


def quiet_stderr(drop: tuple[str, ...]) -> None:
    """From now on, copy this process's stderr (file descriptor 2, which the processes
    it starts inherit) to where it went before, line by line, leaving out every line
    that contains one of `drop`."""
    import threading

    read, write = os.pipe()
    target = os.dup(2)
    os.dup2(write, 2)
    os.close(write)

    def pump() -> None:
        with os.fdopen(read, "rb") as lines, os.fdopen(target, "wb", 0) as out:
            for line in lines:
                if not any(text.encode() in line for text in drop):
                    out.write(line)

    threading.Thread(target=pump, daemon=True, name="quiet-stderr").start()


class LabPool:
    """Labs executing in the background, `workers` at a time (spawned processes), each
    holding one of `cores` (a folder and a count, `airoad_book.cores`) while it runs."""

    def __init__(
        self, workers: int, niceness: int = 0, cores: tuple[Path, int] | None = None
    ):
        import multiprocessing

        self.futures: dict[str, Future] = {}
        self._cores = cores
        self._pool = ProcessPoolExecutor(
            max_workers=max(1, workers),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_start,
            initargs=(niceness,),
        )

    def submit(self, lab: Path, options: dict, target: Path) -> None:
        """Start executing `lab` into `target`."""
        plain = {key: options[key] for key in (*CONVERT_OPTIONS, "toc_depth")}
        self.futures[str(lab)] = self._pool.submit(
            execute, str(lab), plain, str(target), self._cores
        )

    def running(self, lab: Path) -> bool:
        """Whether `lab` was submitted and has not finished yet."""
        future = self.futures.get(str(lab))
        return future is not None and not future.done()

    def busy(self) -> bool:
        """Whether any submitted lab has not finished yet."""
        return any(not future.done() for future in self.futures.values())

    def wait(self, lab: Path) -> BaseException | None:
        """Wait for `lab` if it was submitted; its error, or None."""
        future = self.futures.pop(str(lab), None)
        if future is None:
            return None
        try:
            future.result()
        except BaseException as err:  # reported by the caller, re-run by mkdocs-jupyter
            return err
        return None

    def close(self) -> None:
        """Cancel what has not started and let the workers go."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.futures.clear()
