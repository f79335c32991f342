"""A run whose models train at once in worker processes (`train_models`, chapters
9–11's translation runs) checkpoints each worker's training, stops cleanly on Ctrl-C
in a worker, and resumes to the same models as a run never stopped."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from airoad_book.experiments.real_translation import train_models
from airoad_book.session import MANIFEST, RunSession, using
from airoad_book.train import TrainConfig, fit

STEPS = 30
KEYS = ["a", "b"]


def train_one(key: str, stop_at: int, marker: str) -> dict:
    """A small seeded fit; worker "b" sends itself Ctrl-C at step `stop_at` once (the
    first time, while `marker` does not exist)."""
    torch.manual_seed(ord(key))
    model = nn.Linear(3, 1)
    g = torch.Generator().manual_seed(ord(key) + 1)
    batches = [
        (torch.randn(8, 3, generator=g), torch.randn(8, 1, generator=g))
        for _ in range(STEPS)
    ]
    calls = {"n": 0}

    def loss_fn(m: nn.Module, batch) -> torch.Tensor:
        calls["n"] += 1
        if key == "b" and calls["n"] == stop_at and not Path(marker).exists():
            Path(marker).touch()
            os.kill(os.getpid(), signal.SIGINT)
        return ((m(batch[0]) - batch[1]) ** 2).mean()

    history = fit(model, batches, loss_fn, TrainConfig(max_steps=STEPS, lr=0.05))
    return {
        "weights": [p.detach().flatten().tolist() for p in model.parameters()],
        "steps": history.steps_done,
    }


def session(folder: Path, resume: bool = False) -> RunSession:
    return RunSession(
        folder,
        experiment="demo",
        budget="full",
        seed=0,
        config={"steps": STEPS},
        resume=resume,
        every=0.001,  # a checkpoint at every step
    )


@pytest.fixture(scope="module")
def never_stopped(tmp_path_factory) -> dict:
    marker = tmp_path_factory.mktemp("plain") / "no-stop"
    return train_models(train_one, KEYS, (0, str(marker)), workers=1)


def test_each_worker_checkpoints_in_its_own_folder_and_the_run_cleans_up(
    tmp_path, never_stopped
):
    run = session(tmp_path / "run")
    with using(run):
        out = train_models(train_one, KEYS, (0, str(tmp_path / "m")), workers=2)
    assert out == never_stopped
    folders = run.worker_folders()
    assert [f.name for f in folders] == ["worker-a", "worker-b"]
    for folder in folders:
        assert (folder / MANIFEST).is_file()
        assert list(folder.glob("phase-*.pt")), f"{folder.name} saved nothing"
    run.remove()
    assert not (tmp_path / "run").exists()


def test_ctrl_c_in_a_worker_stops_the_run_and_resume_ends_where_it_would(
    tmp_path, never_stopped
):
    marker, folder = tmp_path / "stopped-once", tmp_path / "run"
    first = session(folder)
    with using(first), pytest.raises(KeyboardInterrupt, match="worker-b"):
        train_models(train_one, KEYS, (10, str(marker)), workers=2)
    assert marker.exists()
    assert not first.remove_if_empty(), "the workers' checkpoints are kept"
    second = session(folder, resume=True)
    assert second.phases_saved() == 2, "one phase each, worker a's finished"
    with using(second):
        out = train_models(train_one, KEYS, (10, str(marker)), workers=2)
    assert out == never_stopped


def stopped_without_a_session(key: str) -> dict:
    """Worker "b" sends itself Ctrl-C outside any run session."""
    if key == "b":
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(30)
    return {"key": key}


def test_ctrl_c_in_a_worker_without_a_session_stops_the_run_and_never_hangs():
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        train_models(stopped_without_a_session, KEYS, (), workers=2)
    assert time.monotonic() - start < 25, "the run waited for a stopped worker"
