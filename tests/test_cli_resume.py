"""`airoad-book run --resume`: Ctrl-C exits 130 with a checkpoint, and resuming ends
where an uninterrupted run ends (chapter 8's multi-phase PTB LSTM at a tiny config)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from airoad_book.cli import main
from airoad_book.experiments import ptb_lstm
from airoad_book.experiments.recurrent_training import CarriedStateLoss

# three epochs (three phases) of 30 windows over 3,000 tokens
TINY = ptb_lstm.Config(
    hidden=16,
    layers=2,
    bptt=10,
    batch_size=10,
    epochs=3,
    decay_after=1,
    train_tokens=3_000,
    eval_tokens=1_000,
)
TIMES = {"train_seconds"}  # wall-clock: differs from run to run


@pytest.fixture
def tiny_ptb(monkeypatch):
    monkeypatch.setitem(ptb_lstm.CONFIGS, "quick", TINY)


def interrupt_training_at(monkeypatch, window: int) -> None:
    """Send a real SIGINT during the `window`-th training window of the run
    (1-based)."""
    calls = {"n": 0}

    class Interrupting(CarriedStateLoss):
        def __call__(self, model, batch):
            calls["n"] += 1
            if calls["n"] == window:
                signal.raise_signal(signal.SIGINT)
            return super().__call__(model, batch)

    monkeypatch.setattr(ptb_lstm, "CarriedStateLoss", Interrupting)


def json_out(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_ctrl_c_then_resume_gives_the_metrics_of_an_uninterrupted_run(
    tmp_path, tiny_ptb, monkeypatch, capsys
):
    run = ["run", "ptb-lstm", "--json", "--checkpoint-dir", str(tmp_path / "ckpt")]
    assert (
        main(
            [
                "run",
                "ptb-lstm",
                "--json",
                "--checkpoint-dir",
                str(tmp_path / "straight"),
            ]
        )
        == 0
    )
    straight = json_out(capsys)["metrics"]
    assert not (tmp_path / "straight").exists()  # a finished run leaves no checkpoints

    with monkeypatch.context() as patch:
        interrupt_training_at(patch, window=45)  # in epoch 2 of 3
        assert main(run) == 130
    err = capsys.readouterr().err
    assert "interrupted at step 15 of 'PTB LSTM epoch 2/3'" in err
    assert (
        f"uv run airoad-book run ptb-lstm --json --checkpoint-dir {tmp_path / 'ckpt'} "
        f"--resume" in err
    )
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == [
        "manifest.json",
        "phase-001.pt",
        "phase-002.pt",
    ]

    assert main([*run, "--resume"]) == 0
    resumed = json_out(capsys)["metrics"]
    assert {k: v for k, v in resumed.items() if k not in TIMES} == {
        k: v for k, v in straight.items() if k not in TIMES
    }
    assert resumed["epochs_done"] == 3


def test_resuming_with_another_seed_exits_2_naming_the_seed(
    tmp_path, tiny_ptb, monkeypatch, capsys
):
    run = ["run", "ptb-lstm", "--checkpoint-dir", str(tmp_path)]
    with monkeypatch.context() as patch:
        interrupt_training_at(patch, window=5)
        assert main(run) == 130
    capsys.readouterr()
    assert main([*run, "--seed", "1", "--resume"]) == 2
    assert "seed: expected 1, found 0" in capsys.readouterr().err


ENDLESS = """
from pathlib import Path

import torch
from torch import nn

from airoad_book.results import Result
from airoad_book.train import TrainConfig, fit

NAME, CHAPTER, SUMMARY = "endless", 0, "trains until Ctrl-C"


def run(budget, seed, seconds):
    model = nn.Linear(2, 1)

    def loss_fn(m, batch):
        Path("training").touch()
        return ((m(batch) - 1) ** 2).mean()

    def batches():
        while True:
            yield torch.ones(4, 2)

    history = fit(model, batches(), loss_fn, TrainConfig(max_steps=10**9, eval_every=10**9), desc="endless")
    return Result(metrics={"steps": history.steps_done})
"""


def test_a_real_sigint_exits_130_without_a_traceback_and_leaves_a_loadable_checkpoint(
    tmp_path,
):
    (tmp_path / "endless_exp.py").write_text(textwrap.dedent(ENDLESS))
    code = (
        "import sys; sys.path.insert(0, '.'); from airoad_book import cli, "
        "experiments; "
        "experiments.EXPERIMENTS['endless'] = 'endless_exp'; sys.exit(cli.main(['run', "
        "'endless']))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while (
        not (tmp_path / "training").exists()
        and proc.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "--resume" in err
    saved = torch.load(
        tmp_path / "checkpoints" / "endless-quick" / "phase-001.pt", weights_only=True
    )
    assert saved["history"]["steps_done"] >= 1 and not saved["finished"]
