"""Resumable runs: a checkpoint every few minutes, a clean stop on Ctrl-C, and a resume
that ends with the same numbers as a run that was never stopped.

A *run session* is one run of one experiment (name, budget, seed, config) with a folder
of checkpoints. The CLI opens one for `airoad-book run` and makes it the active session;
then every call of `airoad_book.train.fit` inside the experiment is a *phase* of the
run, keyed by its order (the first `fit` call is phase 1) and its `desc`. No experiment
needs code of its own for this: an experiment is a deterministic program of seeded
steps, so re-running it and letting each `fit` pick up where the checkpoint left it
repeats the run exactly.

- A phase in progress is saved every `every` seconds, and when Ctrl-C arrives: the model,
  the optimizer and the schedule, the `History`, the best weights and the evaluations since
  the best, the loss function's state (if it has `state_dict`/`load_state_dict`: a recurrent
  model's carried hidden state), how many batches the loop drew, and the torch, NumPy and
  Python random states.
- A finished phase saves its final weights, `History`, loss state, batches drawn and random
  states. On resume, `fit` returns it at once. Until the run is `every` seconds old, finished
  phases wait in memory for the first checkpoint that is due (or for Ctrl-C): a short run
  writes nothing.
- On resume, `fit` draws (and drops) as many batches as the checkpoint's phase had drawn, so
  the data pipeline, seeded and deterministic, stands where it stood; then it restores the
  random states, so dropout and any later sampling continue the same streams.

Models that train at once in worker processes (`train_models` in
`airoad_book.experiments.real_translation`, chapters 9–11's translation runs) checkpoint
the same way, each worker in a session of its own, `<run folder>/worker-<key>/`
(`worker_plan`, `worker_session`): `--resume` takes each model up where it stopped.

Ctrl-C during `fit` does not stop a step half done: it asks for a stop, the step (and
the evaluation, if one is due) finishes, the phase is saved, and `fit` raises
`RunInterrupted`. A second Ctrl-C stops at once, keeping the last checkpoint saved.

Files are written atomically (a temporary file, then `os.replace`) and read with
`torch.load(..., weights_only=True)`: they hold tensors and plain Python values only.

```python
import tempfile

import torch
from torch import nn

from airoad_book.session import RunSession, using
from airoad_book.train import TrainConfig, fit

folder = tempfile.mkdtemp()
session = RunSession(
    folder, experiment="demo", budget="quick", seed=0, config={"size": 3}
)
batches = [(torch.randn(8, 3), torch.randn(8, 1)) for _ in range(20)]
with using(session):
    history = fit(
        nn.Linear(3, 1),
        batches,
        lambda m, b: ((m(b[0]) - b[1]) ** 2).mean(),
        TrainConfig(max_steps=20, eval_every=20),
    )
print(history.steps_done, len(session.saved_phases()))
session.remove()
```
"""

from __future__ import annotations

import json
import os
import pickletools
import random
import re
import signal
import threading
import time
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "CHECKPOINT_EVERY",
    "MANIFEST",
    "RunInterrupted",
    "RunSession",
    "WorkerInterrupted",
    "active_session",
    "read_phase",
    "safe_load",
    "using",
    "worker_plan",
    "worker_session",
]

CHECKPOINT_EVERY = 300.0  # seconds between checkpoints of a phase in progress
MANIFEST = "manifest.json"
PHASES = "phase-*.pt"  # the phase checkpoints of a folder (`RunSession.path`)
FORMAT = 1  # version of the checkpoint layout
IDENTITY = ("experiment", "budget", "seed", "config")  # what a resume must match

_active: RunSession | None = None


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run after saving it: `checkpoint` is the file, `step` the steps
    done."""

    def __init__(self, checkpoint: Path, step: int, desc: str) -> None:
        super().__init__(
            f"interrupted at step {step} of {desc!r}; checkpoint saved in {checkpoint}"
        )
        self.checkpoint, self.step, self.desc = checkpoint, step, desc


def active_session() -> RunSession | None:
    """The run session `fit` checkpoints into, or None (the default: `fit` saves
    nothing)."""
    return _active


@contextmanager
def using(session: RunSession | None) -> Iterator[RunSession | None]:
    """Make `session` the active one inside the `with` block (None: no session)."""
    global _active
    previous, _active = _active, session
    try:
        yield session
    finally:
        _active = previous


WORKER = "worker-"  # <run folder>/worker-<key>/: a worker process's own session


class WorkerInterrupted(Exception):
    """A worker process stopped on Ctrl-C, its checkpoint saved (`worker_session`).

    An Exception, not a KeyboardInterrupt, so that it travels back through a process
    pool like any error; the parent turns it into a KeyboardInterrupt again."""


def worker_plan(key: str) -> dict | None:
    """What a spawned worker process needs to checkpoint its part of the active run,
    the training of `key`, in a folder of its own, `<run folder>/worker-<key>/`; None
    when no run session is active (a build's quick run checkpoints nothing).

    The worker's session carries the run's identity with `key` added to its config. It
    resumes only when the run does, and only from its own folder. The run's folder is
    written now, so that a run stopped in its workers can be resumed."""
    session = active_session()
    if session is None or session._pid != os.getpid():
        return None
    if not session.on_disk:
        session.flush()  # the run's own manifest: what `--resume` looks for first
    folder = session.directory / f"{WORKER}{key}"
    identity = session.identity
    return {
        "directory": str(folder),
        "experiment": identity["experiment"],
        "budget": identity["budget"],
        "seed": identity["seed"],
        "config": {**identity["config"], "_worker": key},
        "resume": session.resumed and (folder / MANIFEST).is_file(),
        "every": session.every,
    }


@contextmanager
def worker_session(plan: dict | None) -> Iterator[RunSession | None]:
    """In a worker process: the session of `plan` (`worker_plan`) active inside the
    block, so that each `fit` call checkpoints as in the parent's run.

    At the end of the block every finished phase is written, so that a resumed run
    returns this worker's part at once even if another worker was stopped. Ctrl-C
    reaches the workers too: each finishes its step, saves, and raises
    `WorkerInterrupted`."""
    if plan is None:
        yield None
        return
    session = None
    try:
        session = RunSession(**plan)  # a resume reads every checkpoint: Ctrl-C may come
        with using(session):
            yield session
    except KeyboardInterrupt as error:  # RunInterrupted, or Ctrl-C outside a phase
        if session is not None:
            session.flush()
        raise WorkerInterrupted(
            f"{plan['directory']}: {error or 'interrupted'}"
        ) from None
    session.flush()


def _jsonable(value: Any) -> Any:
    """`value` as JSON reads it back: tuples become lists, non-finite floats strings."""
    return json.loads(json.dumps(value, default=str))


class RunSession:
    """One run of one experiment and its folder of checkpoints (a manifest and one file
    per phase).

    `config` is the experiment's config as a plain dict (`dataclasses.asdict`). A new
    session refuses a folder that holds another unfinished run; `resume=True` requires
    one, and raises ValueError if it is not the run described (experiment, budget, seed,
    config), or if any of its files cannot be read back whole (see `read_phase`): a
    resume reads every checkpoint before anything runs, and a refused one is left where
    it is. `every` is the number of seconds between checkpoints of a phase in progress.
    `provenance` (command, commit, date, machine) is kept from the first session of the
    run.
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        experiment: str,
        budget: str,
        seed: int,
        config: dict | None = None,
        resume: bool = False,
        every: float = CHECKPOINT_EVERY,
        provenance: dict | None = None,
    ) -> None:
        if not every > 0:
            raise ValueError(
                f"checkpoint interval must be a positive number of seconds; got "
                f"{every!r}"
            )
        self.directory = Path(directory)
        if self.directory.exists() and not self.directory.is_dir():
            raise ValueError(
                f"expected a folder for the run's checkpoints; {self.directory} is a "
                "file"
            )
        self.every = float(every)
        self.identity = _jsonable(
            {
                "experiment": experiment,
                "budget": budget,
                "seed": seed,
                "config": config or {},
            }
        )
        self.phases_begun = 0
        self.previous_elapsed = 0.0  # wall-clock seconds of the run's earlier sessions
        self.last_saved: Path | None = None  # the latest checkpoint this session wrote
        self.pending: dict[
            int, dict
        ] = {}  # finished phases not written yet: index -> checkpoint
        self.on_disk = False  # whether this session has written its folder yet
        self._opened = time.monotonic()
        self._pid = (
            os.getpid()
        )  # a forked child process (a DDP worker, say) does not checkpoint
        manifest = self.directory / MANIFEST
        if resume:
            if not manifest.is_file():
                raise ValueError(
                    f"nothing to resume in {self.directory}: it has no {MANIFEST}; "
                    "run without --resume to start the run"
                )
            self.manifest = _read_manifest(manifest)
            self._check_identity()
            for _, path in self._phase_files():  # each read whole before anything runs
                read_phase(path)
        else:
            if manifest.is_file():
                found = _read_manifest(manifest)
                raise ValueError(
                    f"{self.directory} already holds checkpoints of an unfinished run "
                    f"({_describe(found)}); continue it with --resume, or delete the "
                    f"folder to start over"
                )
            self.manifest = {
                **self.identity,
                "format": FORMAT,
                "provenance": provenance or {},
                "elapsed_seconds": 0.0,
                "sessions": 0,
            }
        self.manifest["sessions"] = self.manifest.get("sessions", 0) + 1
        self.previous_elapsed = float(self.manifest.get("elapsed_seconds", 0.0))
        self.resumed = resume
        if resume:
            self.flush()

    # ---------------------------------------------------------------- the folder

    def _check_identity(self) -> None:
        wrong = [k for k in IDENTITY if self.manifest.get(k) != self.identity[k]]
        if not wrong:
            return
        lines = []
        for k in wrong:
            found, expected = self.manifest.get(k), self.identity[k]
            if k == "config" and isinstance(found, dict) and isinstance(expected, dict):
                keys = sorted(set(found) | set(expected), key=str)
                diff = {
                    key: (expected.get(key), found.get(key))
                    for key in keys
                    if expected.get(key) != found.get(key)
                }
                lines += [
                    f"config[{key!r}]: expected {e!r}, found {f!r}"
                    for key, (e, f) in diff.items()
                ]
            else:
                lines.append(f"{k}: expected {expected!r}, found {found!r}")
        raise ValueError(
            f"the checkpoints in {self.directory} are of another run "
            f"({_describe(self.manifest)}); "
            + "; ".join(lines)
            + ". Resume with the same experiment, budget, seed and config, "
            "or give another --checkpoint-dir"
        )

    def elapsed(self) -> float:
        """Wall-clock seconds of this run over all its sessions so far."""
        return self.previous_elapsed + time.monotonic() - self._opened

    def flush(self) -> None:
        """Write the manifest and the finished phases held in memory: the folder is now
        the run's."""
        self.on_disk = True
        self.write_manifest()
        for index in sorted(self.pending):
            _atomic_save(self.pending.pop(index), self.path(index))

    def keep(self, index: int, payload: dict, finished: bool) -> None:
        """Store a phase's checkpoint. A finished phase of a run younger than `every`
        seconds is held in memory until the first checkpoint is due (a short run writes
        nothing); anything else is written at once, with what was held."""
        if (
            finished
            and not self.on_disk
            and time.monotonic() - self._opened < self.every
        ):
            self.pending[index] = payload
            return
        if not self.on_disk:
            self.flush()
        _atomic_save(payload, self.path(index))
        self.last_saved = self.path(index)
        self.write_manifest()

    def write_manifest(self) -> None:
        """Write the manifest (the run's identity, provenance and elapsed time)
        atomically."""
        self.manifest["elapsed_seconds"] = self.elapsed()
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / MANIFEST
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(
            json.dumps(self.manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
        os.replace(
            tmp, path
        )  # atomic: a crash leaves the old manifest or the new one, whole

    def path(self, index: int) -> Path:
        """The checkpoint file of phase `index` (1 for the run's first `fit` call)."""
        return self.directory / f"phase-{index:03d}.pt"

    def saved_phases(self) -> list[Path]:
        """The phase checkpoint files in the folder, in order."""
        return sorted(self.directory.glob(PHASES))

    def _phase_files(self) -> list[tuple[int, Path]]:
        """(index, file) of each saved phase; ValueError for a name it never writes."""
        found = []
        for path in self.saved_phases():
            number = path.name.removeprefix("phase-").removesuffix(".pt")
            if not number.isdigit() or int(number) < 1:
                raise ValueError(
                    f"{path}: expected phase checkpoints named phase-001.pt, "
                    f"phase-002.pt, ...; {_LEFT_ALONE}"
                )
            found.append((int(number), path))
        return found

    def phases_saved(self) -> int:
        """How many phase checkpoints the run has on disk, its workers' included."""
        return len(self.saved_phases()) + sum(
            len(list(folder.glob(PHASES))) for folder in self.worker_folders()
        )

    def worker_folders(self) -> list[Path]:
        """The folders of the run's worker processes (`worker_plan`), each holding a run
        session of its own."""
        return sorted(p for p in self.directory.glob(f"{WORKER}*") if p.is_dir())

    def remove(self) -> None:
        """Delete the checkpoints and the manifest, the workers' too (once the run has
        finished and its result is safe)."""
        for folder in self.worker_folders():
            for path in [*folder.glob(PHASES), folder / MANIFEST]:
                path.unlink(missing_ok=True)
            if not any(folder.iterdir()):
                folder.rmdir()
        for path in self.saved_phases():
            path.unlink(missing_ok=True)
        (self.directory / MANIFEST).unlink(missing_ok=True)
        if self.directory.is_dir() and not any(self.directory.iterdir()):
            self.directory.rmdir()

    def remove_if_empty(self) -> bool:
        """Delete the manifest (and the folder, if empty) when no phase was saved, by
        this process or a worker: nothing to resume."""
        if self.phases_saved():
            return False
        self.remove()
        return True

    # ---------------------------------------------------------------- phases

    def begin_phase(
        self, model: nn.Module, loss_fn: Any, config: Any, desc: str
    ) -> Phase:
        """The next phase of the run: `fit` calls this once per call (internal)."""
        self.phases_begun += 1
        index = self.phases_begun
        phase = Phase(self, index, model, loss_fn, config, desc)
        path = self.path(index)
        if self.resumed and path.is_file():  # each was read once as the session opened
            phase.saved = read_phase(path)
            phase.check(path)
        return phase


_LEFT_ALONE = (
    "nothing was run and no file was changed or deleted; move the folder away (or "
    "delete it) to start the run over, or give another --checkpoint-dir"
)

# what every phase checkpoint holds; a phase in progress holds the loop's state as well
PHASE_KEYS = frozenset(
    {
        "format",
        "finished",
        "desc",
        "index",
        "model_class",
        "shapes",
        "train_config",
        "model",
        "history",
        "batches_drawn",
        "loss_fn",
        "rng",
    }
)
IN_PROGRESS_KEYS = frozenset({"optimizer", "schedule", "best_state", "since_best"})


def _read_manifest(path: Path) -> dict:
    """The run's manifest; ValueError naming the file if it is not what
    `write_manifest` writes."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"{path} cannot be read as a run manifest (expected the JSON object "
            f"airoad-book writes: {error}); {_LEFT_ALONE}"
        ) from None
    if not isinstance(manifest, dict) or not set(IDENTITY) <= set(manifest):
        raise ValueError(
            f"{path} is not a run manifest: expected a JSON object with the keys "
            f"{', '.join(IDENTITY)}; {_LEFT_ALONE}"
        )
    return manifest


def safe_load(path: str | Path) -> Any:
    """What `torch.save` wrote to `path`, read safely; else ValueError naming the file.

    `torch.load(..., weights_only=True)` unpickles tensors and plain values only, so a
    file that would import or call anything on load (a pickle's GLOBAL) is refused
    before any of it runs; a truncated file or random bytes is refused too, with the
    reason.
    """
    try:
        with warnings.catch_warnings():  # a foreign pickle's protocol: the error says
            warnings.filterwarnings(
                "ignore", message="Detected pickle protocol", category=UserWarning
            )
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # RuntimeError, UnpicklingError, EOFError, ...
        text = str(error)
        found = re.search(r"GLOBAL (\S+)", text)
        unsafe = found.group(1) if found else _foreign_import(Path(path))
        if unsafe:
            why = (
                f"it names the Python object {unsafe}, which loading would import or "
                "call, so it could run code; a checkpoint holds only tensors and plain "
                "values"
            )
        else:
            first = next(
                (line.strip() for line in text.splitlines() if line.strip()),
                type(error).__name__,
            )
            why = f"it is truncated or is not a torch checkpoint ({first[:160]})"
        raise ValueError(f"refusing the checkpoint {path}: {why}") from None


def _foreign_import(path: Path) -> str | None:
    """The first object outside torch and the standard containers that the pickle in
    `path` (a plain pickle, or the data.pkl of a torch zip file) would import, found by
    reading its opcodes without running any; None if it names none or is unreadable."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                member = next(n for n in archive.namelist() if n.endswith("data.pkl"))
                data = archive.read(member)
        else:
            data = path.read_bytes()
        strings: list[str] = []
        for opcode, arg, _ in pickletools.genops(data):
            if isinstance(arg, str):
                strings.append(arg)
            if opcode.name == "GLOBAL":
                name = arg.replace(" ", ".")
            elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                name = f"{strings[-2]}.{strings[-1]}"
            else:
                continue
            safe = ("torch.", "collections.OrderedDict", "builtins.set")
            if not name.startswith(safe):
                return name
    except Exception:  # garbage, or a pickle cut short: not a list of imports to report
        return None
    return None


def read_phase(path: str | Path) -> dict:
    """A phase checkpoint (see `safe_load`); ValueError naming the file if not one."""
    try:
        payload = safe_load(path)
    except ValueError as error:
        raise ValueError(f"{error}; {_LEFT_ALONE}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(
            f"refusing the checkpoint {path}: expected a phase checkpoint of format "
            f"{FORMAT} (a dict that airoad-book writes); {_LEFT_ALONE}"
        )
    missing = PHASE_KEYS - set(payload)
    if not missing and not payload["finished"]:
        missing = IN_PROGRESS_KEYS - set(payload)
    if missing:
        raise ValueError(
            f"refusing the checkpoint {path}: it lacks {', '.join(sorted(missing))}; "
            f"{_LEFT_ALONE}"
        )
    return payload


def _atomic_save(payload: dict, path: Path) -> None:
    from airoad_book.train import (
        _atomic_torch_save,
    )  # temporary file, fsync, os.replace

    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_torch_save(payload, path)


def _describe(manifest: dict) -> str:
    return (
        f"experiment {manifest.get('experiment')!r}, budget "
        f"{manifest.get('budget')!r}, "
        f"seed {manifest.get('seed')!r}"
    )


# ---------------------------------------------------------------------------- random
# states


# --8<-- [start:rng]
def rng_states() -> dict:
    """The torch, CUDA, NumPy and Python random states, as tensors and lists
    (weights_only-safe)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "python": {
            "version": version,
            "internal": list(internal),
            "gauss_next": gauss_next,
        },
    }


def set_rng_states(states: dict) -> None:
    """Restore what `rng_states` returned."""
    torch.set_rng_state(states["torch"])
    if (
        states["cuda"]
        and torch.cuda.is_available()
        and len(states["cuda"]) == torch.cuda.device_count()
    ):
        torch.cuda.set_rng_state_all(states["cuda"])
    n = states["numpy"]
    np.random.set_state(
        (
            n["kind"],
            n["keys"].numpy().astype(np.uint32),
            n["pos"],
            n["has_gauss"],
            n["cached"],
        )
    )
    p = states["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss_next"]))


# --8<-- [end:rng]


# ---------------------------------------------------------------------------- one phase


class _Counted:
    """An iterator that counts the batches drawn from it."""

    def __init__(self, batches: Iterable) -> None:
        self._it = iter(batches)
        self.drawn = 0

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> Any:
        batch = next(self._it)
        self.drawn += 1
        return batch

    def skip(self, n: int, where: str) -> None:
        for i in range(n):
            try:
                next(self)
            except StopIteration:
                raise ValueError(
                    f"{where}: the batches ran out after {i} of the {n} the checkpoint "
                    f"had "
                    "drawn; the data is not the data of the checkpointed run"
                ) from None


def _to(value: Any, device: torch.device | str, copy: bool = False) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(device, copy=copy)
    if isinstance(value, (tuple, list)):
        return type(value)(_to(v, device, copy) for v in value)
    if isinstance(value, dict):
        return {k: _to(v, device, copy) for k, v in value.items()}
    return value


def _shapes(model: nn.Module) -> dict[str, list[int]]:
    return {k: list(v.shape) for k, v in model.state_dict().items()}


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _train_config(config: Any) -> dict:
    """A TrainConfig as plain values, without max_seconds (a resume may extend the time
    budget)."""
    plain = _jsonable(asdict(config))
    plain.pop("max_seconds", None)
    return plain


class Phase:
    """One `fit` call of a run session: loads, fast-forwards, saves and handles Ctrl-C
    (internal)."""

    def __init__(
        self,
        session: RunSession,
        index: int,
        model: nn.Module,
        loss_fn: Any,
        config: Any,
        desc: str,
    ) -> None:
        self.session, self.index, self.desc = session, index, desc
        self.model, self.loss_fn, self.config = model, loss_fn, config
        self.saved: dict | None = None
        self.stop_requested = False
        self._previous_handler: Any = None
        self._installed = False
        self._last_save = time.monotonic()
        self._loop: dict = {}

    # -- identity

    def _where(self) -> str:
        return (
            f"phase {self.index} ({self.desc!r}) of the run in {self.session.directory}"
        )

    def check(self, path: Path) -> None:
        """ValueError if the saved phase is not this one: desc, model class, shapes,
        TrainConfig."""
        s = self.saved
        if not isinstance(s, dict) or s.get("format") != FORMAT:
            raise ValueError(f"{path} is not a phase checkpoint of format {FORMAT}")
        wrong = []
        if s["desc"] != self.desc:
            wrong.append(f"desc: expected {self.desc!r}, found {s['desc']!r}")
        name = type(self.model).__name__
        if s["model_class"] != name:
            wrong.append(f"model: expected a {name}, found a {s['model_class']}")
        shapes = _shapes(self.model)
        if s["shapes"] != shapes:
            keys = sorted(set(shapes) | set(s["shapes"]))
            diff = [
                f"{k}: expected {shapes.get(k)}, found {s['shapes'].get(k)}"
                for k in keys
                if shapes.get(k) != s["shapes"].get(k)
            ]
            wrong.append("parameter shapes differ (" + "; ".join(diff[:4]) + ")")
        expected = _train_config(self.config)
        if s["train_config"] != expected:
            diff = [
                f"{k}: expected {expected.get(k)!r}, found {s['train_config'].get(k)!r}"
                for k in sorted(set(expected) | set(s["train_config"]))
                if expected.get(k) != s["train_config"].get(k)
            ]
            wrong.append("TrainConfig differs (" + "; ".join(diff) + ")")
        if wrong:
            raise ValueError(
                f"{self._where()} was saved from another model or config: "
                + "; ".join(wrong)
            )

    @property
    def finished(self) -> bool:
        """Whether this phase finished in an earlier session (so `fit` returns it at
        once)."""
        return self.saved is not None and self.saved["finished"]

    # -- Ctrl-C

    def __enter__(self) -> Phase:
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGINT, self._on_sigint)
            self._installed = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous_handler)
            self._installed = False

    # --8<-- [start:sigint]
    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self.stop_requested:  # the second Ctrl-C: stop now, keep the last checkpoint
            raise KeyboardInterrupt
        self.stop_requested = True

    # --8<-- [end:sigint]

    # -- resuming

    def finished_history(self, batches: Iterable, history_type: type) -> Any:
        """Restore a finished phase: draw its batches, load its weights, loss state and
        RNG; its History."""
        s = self.saved
        _Counted(batches).skip(s["batches_drawn"], self._where())
        self.model.load_state_dict(s["model"])
        self._load_loss_state(s["loss_fn"])
        set_rng_states(s["rng"])
        return history_type(**s["history"])

    # --8<-- [start:resume]
    def start(
        self,
        batches: Iterable,
        optimizer: Any,
        schedule: Any,
        evaluator: Any,
        history: Any,
    ) -> _Counted:
        """Bind the loop's objects; on resume, fast-forward the batches and restore
        every state."""
        counted = _Counted(batches)
        self._loop = {
            "optimizer": optimizer,
            "schedule": schedule,
            "evaluator": evaluator,
            "history": history,
            "batches": counted,
        }
        s = self.saved
        if s is None:
            return counted
        counted.skip(s["batches_drawn"], self._where())
        self.model.load_state_dict(s["model"])
        optimizer.load_state_dict(s["optimizer"])
        schedule.load_state_dict(s["schedule"])
        for key, value in s["history"].items():
            setattr(history, key, value)
        if s["best_state"] is not None:
            evaluator.best_state = _to(
                s["best_state"], next(iter(self.model.state_dict().values())).device
            )
        evaluator.since_best = s["since_best"]
        self._load_loss_state(s["loss_fn"])
        set_rng_states(s["rng"])
        return counted

    # --8<-- [end:resume]

    def _load_loss_state(self, state: Any) -> None:
        if state is not None and hasattr(self.loss_fn, "load_state_dict"):
            params = list(self.model.parameters())
            device = params[0].device if params else torch.device("cpu")
            self.loss_fn.load_state_dict(_to(state, device))

    # -- saving

    def _payload(self, finished: bool) -> dict:
        loop, history = self._loop, self._loop["history"]
        payload = {
            "format": FORMAT,
            "finished": finished,
            "desc": self.desc,
            "index": self.index,
            "model_class": type(self.model).__name__,
            "shapes": _shapes(self.model),
            "train_config": _train_config(self.config),
            "model": _cpu_state(self.model),
            "history": asdict(history),
            "batches_drawn": loop["batches"].drawn,
            "loss_fn": _to(self.loss_fn.state_dict(), "cpu", copy=True)
            if hasattr(self.loss_fn, "state_dict")
            else None,
            "rng": rng_states(),
        }
        if not finished:
            evaluator = loop["evaluator"]
            best = evaluator.best_state if self.config.restore_best else None
            payload.update(
                optimizer=loop["optimizer"].state_dict(),
                schedule=loop["schedule"].state_dict(),
                best_state=None
                if best is None
                else {k: v.cpu() for k, v in best.items()},
                since_best=evaluator.since_best,
            )
        return payload

    def save(self, finished: bool) -> float:
        """Store the phase's checkpoint (see `RunSession.keep`); return the seconds it
        took."""
        started = time.perf_counter()
        self.session.keep(self.index, self._payload(finished), finished)
        self._last_save = time.monotonic()
        return time.perf_counter() - started

    # --8<-- [start:save]
    def step_done(self, history: Any) -> float:
        """After a step: save on Ctrl-C (then raise RunInterrupted) or when `every`
        seconds have passed.

        Returns the seconds spent saving, which `fit` leaves out of the training time.
        """
        if self.stop_requested:
            self.save(finished=False)
            raise RunInterrupted(
                self.session.path(self.index), history.steps_done, self.desc
            )
        if time.monotonic() - self._last_save >= self.session.every:
            return self.save(finished=False)
        return 0.0

    def finish(self, history: Any) -> None:
        """Save the finished phase; if Ctrl-C came during its last step or evaluation,
        raise RunInterrupted."""
        self.save(finished=True)
        if self.stop_requested:
            raise RunInterrupted(
                self.session.path(self.index), history.steps_done, self.desc
            )


# --8<-- [end:save]


class NoPhase:
    """What `fit` gets when no run session is active: every call does nothing."""

    finished = False

    def __enter__(self) -> NoPhase:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def start(self, batches: Iterable, *loop: Any) -> Iterable:
        """The batches, unchanged."""
        return batches

    def step_done(self, history: Any) -> float:
        """Nothing to save: zero seconds."""
        return 0.0

    def finish(self, history: Any) -> None:
        """Nothing to save."""


NO_PHASE = NoPhase()


def begin_phase(
    model: nn.Module, loss_fn: Any, config: Any, desc: str
) -> Phase | NoPhase:
    """The next phase of the active session, or `NO_PHASE` when there is none, or when
    this is a process forked from the one that opened it (what `fit` calls)."""
    if _active is None or _active._pid != os.getpid():
        return NO_PHASE
    return _active.begin_phase(model, loss_fn, config, desc)
