"""The prose wrapper of .ci: comments, docstrings and string literals come out no wider
than the limit, and the program means the same (its AST is unchanged)."""

import ast
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location(
    "wrap", ROOT / ".ci" / "wrap_long_lines.py"
)
wrap = importlib.util.module_from_spec(spec)
spec.loader.exec_module(wrap)

SOURCE = '''"""A module docstring whose first paragraph runs on well past the width of the code column here.

    a formula indented deeper, which is left as it is because it is not prose at all, ok
"""


def f(x):
    """One line of docstring that is too long for the column it is shown in, by far."""
    # a trailing comment that explains why, at more length than the column allows
    y = x + 1
    # a comment on its own line that is also too long for the column it is shown in, yes
    raise ValueError(
        f"expected x >= 0 and an int, got {x!r} of type {type(x)} instead here"
    )
'''


def _same(a: str, b: str) -> bool:
    def norm(src):
        tree = ast.parse(src)
        for n in ast.walk(tree):
            if isinstance(n, ast.Constant) and isinstance(n.value, str):
                n.value = re.sub(r"\s+", " ", n.value).strip()
        return ast.dump(tree)

    return norm(a) == norm(b)


def test_wrapping_fits_the_width_and_keeps_the_program(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(SOURCE)
    left = wrap.wrap_file(path, 60, check=False)
    out = path.read_text()
    assert _same(SOURCE, out)
    wide = [x for x in out.splitlines() if len(x) > 60]
    assert wide == [
        "    a formula indented deeper, which is left as it is because it is "
        "not prose at all, ok"
    ]
    assert len(left) == 1 and "docstring" in left[0]
    assert (
        "    # a trailing comment that explains why, at more length\n"
        "    # than the column allows\n    y = x + 1\n" in out
    )
    assert 'f"expected x >= 0 and an int, got {x!r} of type "' in out
    assert "    # a comment on its own line that is also too long for\n" in out


def test_check_mode_changes_nothing(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(SOURCE)
    wrap.wrap_file(path, 60, check=True)
    assert path.read_text() == SOURCE


def test_code_in_a_docstring_fence_is_left_as_it_is(tmp_path):
    """A ```python example in a docstring is code, not prose: refilling it would join
    its statements into one line (session.py's example once came out that way)."""
    code = (
        "folder = make_a_temporary_folder_for_the_demo_run()\n"
        "session = RunSession(folder, experiment='demo', budget='quick', seed=0)\n"
    )
    path = tmp_path / "m.py"
    path.write_text(f'"""Doc.\n\n```python\n{code}```\n"""\n', encoding="utf-8")
    wrap.wrap_file(path, 60, check=False)
    assert code in path.read_text(encoding="utf-8")
