"""The build's core slots (`airoad_book.cores`): never more jobs at once than cores,
across processes; a killed holder frees its core."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from airoad_book.cores import core

HOLD_S = 0.3


def hold_one(folder: str, count: int, log: str) -> None:
    """Hold a core for HOLD_S seconds and append the interval to `log`."""
    with core(Path(folder), count) as number:
        start = time.monotonic()
        time.sleep(HOLD_S)
        end = time.monotonic()
    with open(log, "a", encoding="utf-8") as out:
        out.write(f"{number} {start} {end}\n")


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    now = best = 0
    for _, step in events:
        now += step
        best = max(best, now)
    return best


@pytest.mark.parametrize("count", [1, 2])
def test_processes_never_hold_more_cores_than_there_are(tmp_path, count):
    log = tmp_path / "log.txt"
    spawn = multiprocessing.get_context("spawn")
    procs = [
        spawn.Process(target=hold_one, args=(str(tmp_path / "cores"), count, str(log)))
        for _ in range(4)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    rows = [line.split() for line in log.read_text().splitlines()]
    assert len(rows) == 4
    assert {int(number) for number, _, _ in rows} <= set(range(count))
    intervals = [(float(s), float(e)) for _, s, e in rows]
    assert 1 <= most_at_once(intervals) <= count


def sleep_holding(folder: str, ready: str) -> None:
    with core(Path(folder), 1):
        Path(ready).touch()
        time.sleep(60)


def test_a_killed_holder_frees_its_core(tmp_path):
    ready = tmp_path / "ready"
    proc = multiprocessing.get_context("spawn").Process(
        target=sleep_holding, args=(str(tmp_path / "cores"), str(ready))
    )
    proc.start()
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert time.monotonic() < deadline, "the holder never took its core"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=10)
    start = time.monotonic()
    with core(tmp_path / "cores", 1) as number:
        assert number == 0
    assert time.monotonic() - start < 5


def test_one_process_cannot_take_the_same_core_twice(tmp_path):
    with core(tmp_path, 2) as first, core(tmp_path, 2) as second:
        assert {first, second} == {0, 1}


@pytest.mark.parametrize("count", [0, -1])
def test_a_bad_core_count_is_a_clear_error(tmp_path, count):
    with pytest.raises(ValueError, match="core count must be a whole number >= 1"):
        with core(tmp_path, count):
            pass


def wait_and_note(folder: str, patient: bool, log: str, started: str) -> None:
    Path(started).touch()
    with core(Path(folder), 1, patient=patient):
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{'lab' if patient else 'experiment'}\n")
        time.sleep(0.2)


def test_a_patient_job_waits_while_an_experiment_waits(tmp_path):
    folder, log = tmp_path / "cores", tmp_path / "log.txt"
    spawn = multiprocessing.get_context("spawn")
    with core(folder, 1):  # the only core is busy
        procs = []
        for patient in (True, False):  # the lab asks first
            started = tmp_path / f"started-{patient}"
            proc = spawn.Process(
                target=wait_and_note,
                args=(str(folder), patient, str(log), str(started)),
            )
            proc.start()
            procs.append(proc)
            deadline = time.monotonic() + 60
            while not started.exists():
                assert time.monotonic() < deadline
                time.sleep(0.05)
            time.sleep(0.3)  # it is waiting now
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert log.read_text().split() == ["experiment", "lab"]


def test_a_patient_job_takes_a_free_core_when_nobody_waits(tmp_path):
    start = time.monotonic()
    with core(tmp_path, 2), core(tmp_path, 2, patient=True) as number:
        assert number == 1
    assert time.monotonic() - start < 1
