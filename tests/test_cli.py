"""The `airoad-book` command line: its contract (DESIGN.md) and its errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from airoad_book import experiments
from airoad_book.cli import main

FAST = "names-nplm"  # the quickest experiment: a few seconds, less with --seconds


def exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return info.value.code


def test_list_names_every_experiment_with_its_chapter(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in experiments.names():
        assert name in out
    assert "ch. 5" in out and "ch. 6" in out


def test_unknown_experiment_exits_2_and_lists_the_valid_ones(capsys):
    assert exit_code(["run", "no-such-experiment"]) == 2
    err = capsys.readouterr().err
    assert "no-such-experiment" in err
    for name in experiments.names():
        assert name in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", FAST, "--budget", "huge"], "quick"),
        (["run", FAST, "--seconds", "-3"], "positive"),
        (["run", FAST, "--seconds", "soon"], "number"),
        (["run", FAST, "--seed", "x"], "int"),
        (["frobnicate"], "list"),
        ([], "list"),
    ],
)
def test_bad_arguments_exit_2_with_a_message_naming_what_was_expected(
    capsys, argv, expected
):
    assert exit_code(argv) == 2
    assert expected in capsys.readouterr().err


def test_run_json_prints_exactly_one_json_object_and_records_provenance(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "airoad_book",
            "run",
            FAST,
            "--json",
            "--seconds",
            "1",
            "--record",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)  # the whole of stdout is one JSON object
    assert set(out) == {"experiment", "budget", "seconds", "metrics"}
    assert out["experiment"] == FAST and out["budget"] == "quick"
    assert out["metrics"] and all(
        isinstance(v, (int, float)) for v in out["metrics"].values()
    )
    recorded = json.loads(Path(tmp_path, "results", f"{FAST}-quick.json").read_text())
    assert set(recorded["provenance"]) == {"command", "commit", "date", "machine"}
    assert recorded["provenance"]["command"].startswith(f"airoad-book run {FAST}")
    assert recorded["provenance"]["machine"].endswith("device cpu")  # no GPU here
    assert recorded["metrics"] == out["metrics"]
