"""Progress off a terminal (issue 20): a plain line every few seconds, no carriage
returns."""

from __future__ import annotations

import io

from airoad_book import progress as progress_module
from airoad_book.progress import progress, set_progress


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_off_a_terminal_progress_prints_a_line_every_few_seconds_not_carriage_returns():
    clock, stream = Clock(), io.StringIO()
    lines = progress_module._Lines(
        1000, "demo", 0, None, stream=stream, every=5.0, clock=clock
    )
    for _ in range(1000):  # 1000 steps over 20 s of (fake) time
        clock.now += 0.02
        lines.set_postfix(loss=0.5)
        lines.update()
    lines.write()
    text = stream.getvalue()
    assert "\r" not in text
    rows = text.splitlines()
    assert 4 <= len(rows) <= 6, rows  # one every 5 s of 20 s, and the last
    assert rows[-1].startswith("demo: 1000/1000 steps, 20 s") and "loss=0.5" in rows[-1]
    assert "about 0 s left" in rows[-1]


def test_the_bar_mode_on_a_pipe_uses_lines(monkeypatch, capsys):
    saved = progress_module._mode
    try:
        set_progress("bar")
        with progress(total=3, desc="piped") as bar:
            assert isinstance(bar, progress_module._Lines)
            bar.update(3)
    finally:
        progress_module._mode = saved
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "piped: 3/3 steps" in err and "\r" not in err
