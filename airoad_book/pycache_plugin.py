"""An MkDocs plugin that keeps compiled bytecode in `.cache/pycache/` from the moment
MkDocs reads `mkdocs.yml` (`airoad_book.pycache`).

The hook turns this on too, but hooks load after plugins: by then mkdocs-jupyter (with
nbconvert and jupyter), mkdocstrings and Material's plugins have been imported, and with
`PYTHONDONTWRITEBYTECODE=1` they are compiled from source in every build, about 1.5 s
of a warm build. Listed first under `plugins:`, this plugin switches the folder on
before they load; it has no options and changes nothing else.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.plugins import BasePlugin

from airoad_book.pycache import keep_bytecode


class KeepBytecode(BasePlugin):
    """`plugins: [airoad-pycache, ...]`: bytecode kept under the project's `.cache/`."""

    def load_config(self, options, config_file_path=None):
        """Switch the bytecode folder on (`keep_bytecode`), then load the (empty)
        options as any plugin does."""
        if config_file_path:
            keep_bytecode(Path(config_file_path).resolve().parent / ".cache")
        return super().load_config(options, config_file_path)
