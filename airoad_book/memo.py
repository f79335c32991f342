"""Small results kept on disk from one build to the next: what each module imports,
each module's docstring summary, each lab as a notebook.

A warm build would otherwise parse the whole package and convert every lab again in a
fresh process. Each value is kept under a hash of everything it is computed from, so a
changed input simply misses; the file is written (atomically) only when something
changed, keeps only the entries the build used, and counts as empty when it does not
read back whole.

```python
import tempfile
from pathlib import Path

from airoad_book.memo import DiskMemo

path = Path(tempfile.mkdtemp()) / "memo.json"
memo = DiskMemo(path)
print(memo.get(["square", "12"], lambda: 12 * 12))
memo.save()
print(DiskMemo(path).get(["square", "12"], lambda: "computed again"))
```
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


class DiskMemo:
    """A JSON file of computed values, each under a hash of the strings it is computed
    from (`get`)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._kept: dict[str, Any] | None = None
        self._used: dict[str, Any] = {}

    def _read(self) -> dict[str, Any]:
        if self._kept is None:
            try:
                kept = json.loads(self.path.read_text(encoding="utf-8"))
                self._kept = kept if isinstance(kept, dict) else {}
            except (OSError, ValueError):
                self._kept = {}  # absent, or not whole
        return self._kept

    def get(self, inputs: list[str], make: Callable[[], Any]) -> Any:
        """The value kept for `inputs` (strings), or `make()` kept from now on; the value
        must be JSON (lists come back as lists)."""
        key = hashlib.sha256("\0".join(inputs).encode()).hexdigest()[:32]
        if key not in self._used:
            kept = self._read()
            self._used[key] = kept[key] if key in kept else make()
        return self._used[key]

    def save(self) -> None:
        """Write the values used since the file was read, if they differ from it."""
        if self._used and self._used != self._read():
            from airoad_book.figures.build import write_atomically

            write_atomically(self.path, json.dumps(self._used).encode())
        self._kept, self._used = dict(self._used), {}


_READ: dict[tuple[str, str], tuple[tuple[int, int], Any]] = {}


def read_unless_changed(path: Path, parse: Callable[[str], Any], kind: str = "") -> Any:
    """`parse` of the text of `path`, read again only when the file's modification time
    or size changed since this process last read it (a `mkdocs serve` session rebuilds
    the whole site on every edit, and would read every kept page and results file
    again). Callers must not change what it returns. Errors of reading or parsing are
    raised, and nothing is kept for them."""
    stat = Path(path).stat()
    state, key = (stat.st_mtime_ns, stat.st_size), (str(path), kind)
    hit = _READ.get(key)
    if hit is not None and hit[0] == state:
        return hit[1]
    value = parse(Path(path).read_text(encoding="utf-8"))
    _READ[key] = (state, value)
    return value
