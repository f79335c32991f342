"""Resumable runs (airoad_book.session): interrupted and resumed equals never
interrupted."""

from __future__ import annotations

import json
import random
import signal

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from airoad_book.data import random_batches
from airoad_book.experiments.recurrent_training import CarriedStateLoss, endless_bptt
from airoad_book.models.lstm import RecurrentLM
from airoad_book.progress import estimated_total, progress, set_progress
from airoad_book.session import MANIFEST, RunInterrupted, RunSession, using
from airoad_book.train import History, TrainConfig, fit

TIMES = {
    "seconds",
    "eval_seconds",
    "eval_seconds_at",
}  # wall-clock: differs from run to run


def ctrl_c_at(loss_fn, step: int):
    """`loss_fn`, sending this process a real SIGINT during its `step`-th call
    (1-based)."""
    calls = {"n": 0}

    def wrapped(model, batch):
        calls["n"] += 1
        if calls["n"] == step:
            signal.raise_signal(
                signal.SIGINT
            )  # what Ctrl-C sends; the handler runs at once
        return loss_fn(model, batch)

    wrapped.calls = calls
    if hasattr(
        loss_fn, "state_dict"
    ):  # a stateful loss stays one: the checkpoint carries its state
        wrapped.state_dict, wrapped.load_state_dict = (
            loss_fn.state_dict,
            loss_fn.load_state_dict,
        )
    return wrapped


def session(folder, resume=False, config=None, **kw):
    return RunSession(
        folder,
        experiment="toy",
        budget="quick",
        seed=0,
        config=config or {"k": 1},
        resume=resume,
        **kw,
    )


def same_history(a: History, b: History) -> None:
    da, db = ({k: v for k, v in vars(h).items() if k not in TIMES} for h in (a, b))
    assert da == db


def same_weights(a: nn.Module, b: nn.Module) -> None:
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name


# ----------------------------------------------------------------------------- a plain
# fit


def noisy_mlp_run(
    interrupt_at: int | None = None, max_steps: int = 30, accumulate: int = 1
):
    """An MLP with dropout; batches from a seeded generator plus noise from the global
    RNGs."""
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    gen = torch.Generator().manual_seed(1)
    X, Y = torch.randn(64, 4, generator=gen), torch.randn(64, 1, generator=gen)
    model = nn.Sequential(
        nn.Linear(4, 16), nn.Tanh(), nn.Dropout(0.2), nn.Linear(16, 1)
    )

    def batches():
        for x, y in random_batches(X, Y, batch_size=8, generator=gen):
            yield (
                x + 0.01 * torch.randn(x.shape),
                y + float(np.random.randn()) * 0.01 * random.random(),
            )

    def loss_fn(m, batch):
        return F.mse_loss(m(batch[0]), batch[1])

    if interrupt_at:
        loss_fn = ctrl_c_at(loss_fn, interrupt_at)
    config = TrainConfig(
        max_steps=max_steps,
        lr=1e-2,
        optimizer="adamw",
        weight_decay=0.1,
        schedule="cosine",
        warmup_steps=3,
        clip_norm=0.5,
        eval_every=4,
        accumulate=accumulate,
    )
    history = fit(
        model,
        batches(),
        loss_fn,
        config,
        evaluate=lambda m: F.mse_loss(m(X), Y).item(),
        desc="mlp",
    )
    return model, history


@pytest.fixture(scope="module")
def plain():
    return noisy_mlp_run()


def test_fit_in_a_session_gives_the_numbers_of_fit_without_one(tmp_path, plain):
    with using(session(tmp_path)):
        model, history = noisy_mlp_run()
    same_history(history, plain[1])
    same_weights(model, plain[0])


def test_ctrl_c_saves_and_raises_then_resume_ends_with_the_same_history_and_weights(
    tmp_path, plain
):
    with using(session(tmp_path)), pytest.raises(RunInterrupted) as info:
        noisy_mlp_run(interrupt_at=13)
    assert (
        info.value.step == 13
    )  # the step under way when Ctrl-C came was finished, then saved
    saved = torch.load(info.value.checkpoint, weights_only=True)
    assert saved["history"]["steps_done"] == 13 and not saved["finished"]
    with using(session(tmp_path, resume=True)):
        model, history = noisy_mlp_run()
    same_history(history, plain[1])
    same_weights(model, plain[0])


def test_resume_is_exact_with_gradient_accumulation_too(tmp_path):
    straight_model, straight = noisy_mlp_run(max_steps=12, accumulate=3)
    with using(session(tmp_path)), pytest.raises(RunInterrupted) as info:
        noisy_mlp_run(
            interrupt_at=20, max_steps=12, accumulate=3
        )  # the 20th micro-batch: step 7
    assert info.value.step == 7
    with using(session(tmp_path, resume=True)):
        model, history = noisy_mlp_run(max_steps=12, accumulate=3)
    same_history(history, straight)
    same_weights(model, straight_model)


def test_a_periodic_checkpoint_survives_an_abrupt_stop_and_resumes_exactly(
    tmp_path, plain
):
    def stop_abruptly(m, batch, calls={"n": 0}):  # noqa: B006 (a call counter)
        calls["n"] += 1
        if calls["n"] == 9:
            # as a second Ctrl-C: no new checkpoint, the last one stays
            raise KeyboardInterrupt
        return F.mse_loss(m(batch[0]), batch[1])

    with using(session(tmp_path, every=1e-9)), pytest.raises(KeyboardInterrupt) as info:
        torch.manual_seed(0)
        fit(
            nn.Linear(2, 1),
            [(torch.ones(1, 2), torch.ones(1, 1))] * 20,
            stop_abruptly,
            TrainConfig(max_steps=20),
        )
    assert not isinstance(info.value, RunInterrupted)
    assert (
        torch.load(tmp_path / "phase-001.pt", weights_only=True)["history"][
            "steps_done"
        ]
        == 8
    )


# ----------------------------------------------------------------------------- a
# carried state


def lstm_run(interrupt_at: int | None = None):
    """Chapter 8's RecurrentLM with truncated BPTT over two passes: the state is
    carried."""
    torch.manual_seed(0)
    streams = torch.randint(
        0, 11, (4, 101), generator=torch.Generator().manual_seed(2)
    )  # (B, L)
    model = RecurrentLM("lstm", 11, 8, 8, layers=2, dropout=0.1)
    loss = CarriedStateLoss()
    loss_fn = ctrl_c_at(loss, interrupt_at) if interrupt_at else loss
    history = fit(
        model,
        endless_bptt(streams, 10, loss),
        loss_fn,
        TrainConfig(
            max_steps=25, lr=1.0, optimizer="sgd", clip_norm=1.0, eval_every=100
        ),
        desc="lstm",
    )
    return model, history, loss


def test_a_carried_state_lstm_resumed_mid_pass_ends_where_the_uninterrupted_one_does(
    tmp_path,
):
    model, history, loss = lstm_run()
    with using(session(tmp_path)), pytest.raises(RunInterrupted):
        lstm_run(interrupt_at=7)  # mid-pass: the carried state is not zero here
    with using(session(tmp_path, resume=True)):
        resumed, resumed_history, resumed_loss = lstm_run()
    same_history(resumed_history, history)
    same_weights(resumed, model)
    assert all(torch.equal(a, b) for a, b in zip(resumed_loss.state, loss.state))


# ----------------------------------------------------------------------------- several
# phases


def two_phase_run(interrupt_at: int | None = None):
    """Two fits of one model drawing from ONE batch stream: the second starts where the
    first left it."""
    gen = torch.manual_seed(0) and torch.Generator().manual_seed(3)
    X, Y = torch.randn(40, 3, generator=gen), torch.randn(40, 1, generator=gen)
    stream = random_batches(X, Y, batch_size=4, generator=gen)
    model = nn.Linear(3, 1)
    first = ctrl_c_at(
        lambda m, b: F.mse_loss(m(b[0]), b[1]), step=10**9
    )  # counts calls only
    h1 = fit(model, stream, first, TrainConfig(max_steps=12, lr=0.05), desc="phase one")
    second = ctrl_c_at(
        lambda m, b: F.mse_loss(m(b[0]), b[1]), step=interrupt_at or 10**9
    )
    h2 = fit(
        model,
        stream,
        second,
        TrainConfig(max_steps=12, lr=0.01, optimizer="sgd", momentum=0.9),
        desc="phase two",
    )
    return model, (h1, h2), first.calls["n"]


def test_a_finished_phase_is_returned_at_once_and_the_next_resumes_exactly(tmp_path):
    model, (h1, h2), _ = two_phase_run()
    with using(session(tmp_path)), pytest.raises(RunInterrupted):
        two_phase_run(interrupt_at=5)
    assert [p.name for p in session(tmp_path, resume=True).saved_phases()] == [
        "phase-001.pt",
        "phase-002.pt",
    ]
    with using(session(tmp_path, resume=True)):
        resumed, (r1, r2), first_calls = two_phase_run()
    assert first_calls == 0  # phase one was not trained again
    same_history(r1, h1)
    same_history(r2, h2)
    same_weights(resumed, model)


# ----------------------------------------------------------------------------- wrong
# runs


def test_resuming_another_experiment_or_config_names_what_was_expected_and_found(
    tmp_path,
):
    session(tmp_path, config={"hidden": 200, "epochs": 13}).flush()
    with pytest.raises(
        ValueError, match=r"config\['hidden'\]: expected 100, found 200"
    ):
        session(tmp_path, resume=True, config={"hidden": 100, "epochs": 13})
    with pytest.raises(ValueError, match="experiment: expected 'other', found 'toy'"):
        RunSession(
            tmp_path,
            experiment="other",
            budget="quick",
            seed=0,
            config={"hidden": 200, "epochs": 13},
            resume=True,
        )
    with pytest.raises(ValueError, match="unfinished run.*--resume"):
        session(tmp_path)  # a fresh start never overwrites an unfinished run
    with pytest.raises(ValueError, match="nothing to resume"):
        session(tmp_path / "empty", resume=True)


def test_a_run_shorter_than_the_checkpoint_interval_writes_nothing(tmp_path):
    with using(session(tmp_path / "run")):
        fit(
            nn.Linear(2, 1),
            [(torch.ones(1, 2), torch.ones(1, 1))] * 3,
            lambda m, b: F.mse_loss(m(b[0]), b[1]),
            TrainConfig(max_steps=3),
            desc="short",
        )
    assert not (
        tmp_path / "run"
    ).exists()  # the finished phase waits in memory for a checkpoint


def test_resuming_a_phase_with_another_model_shape_is_a_clear_error(tmp_path):
    batches = [(torch.ones(2, 3), torch.ones(2, 1))] * 4
    loss = ctrl_c_at(lambda m, b: F.mse_loss(m(b[0]), b[1]), step=2)
    with using(session(tmp_path)), pytest.raises(RunInterrupted):
        fit(nn.Linear(3, 1), batches, loss, TrainConfig(max_steps=4), desc="fit")
    bigger = nn.Sequential(nn.Linear(3, 1))
    with (
        using(session(tmp_path, resume=True)),
        pytest.raises(ValueError, match="model: expected a Sequential"),
    ):
        fit(bigger, batches, loss, TrainConfig(max_steps=4), desc="fit")
    with (
        using(session(tmp_path, resume=True)),
        pytest.raises(ValueError, match=r"lr: expected 0\.5, found 0\.001"),
    ):
        fit(
            nn.Linear(3, 1), batches, loss, TrainConfig(max_steps=4, lr=0.5), desc="fit"
        )


def test_the_manifest_names_the_run_and_removing_it_leaves_no_folder(tmp_path):
    s = session(tmp_path / "run", config={"sizes": (1, 2)})
    assert not (
        tmp_path / "run"
    ).exists()  # nothing is written before there is something to keep
    s.flush()
    manifest = json.loads((tmp_path / "run" / MANIFEST).read_text())
    assert manifest["experiment"] == "toy" and manifest["config"] == {"sizes": [1, 2]}
    s.remove()
    assert not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------- progress


def test_the_eta_total_is_reestimated_from_the_time_left_when_the_time_cap_binds():
    assert (
        estimated_total(10, 2.0, 1_000_000, None) == 1_000_000
    )  # no cap: the step budget
    assert estimated_total(10, 2.0, 1_000_000, 10.0) == 50  # 5 steps/s for 8 s more
    assert estimated_total(10, 2.0, 30, 10.0) == 30  # the step budget binds first
    assert estimated_total(10, 12.0, 1_000_000, 10.0) == 10  # time is up
    previous = set_progress("bar")
    try:
        with progress(1_000_000, "capped", initial=4, max_seconds=10.0) as bar:
            bar.update(seconds=1.0)  # 5 steps in 1 s: 45 more in the 9 s left
            assert bar.total == 50
    finally:
        set_progress(previous)


# ----------------------------------------------------------------------------- appendix
# C's table


def test_published_tables_reads_recorded_files_and_says_not_recorded_yet_for_the_rest(
    tmp_path,
):
    from airoad_book.experiments import published_tables as pt

    (tmp_path / "ptb-lstm-full.json").write_text(
        json.dumps(
            {
                "metrics": {"test_ppl": 120.0},
                "seconds": 7200.0,
                "provenance": {
                    "command": "airoad-book run ptb-lstm --budget full --record",
                    "commit": "abc1234",
                    "date": "2026-11-21 15:30 UTC",
                    "machine": "2 CPU cores",
                },
            }
        )
    )
    result = pt.run_config(pt.Config(results_dir=str(tmp_path)))
    rows = {row[0]: row for row in result.tables["runs"].rows}
    lstm = rows["small LSTM, no dropout (ch. 8)"]
    assert lstm[1] == "114.5" and lstm[3] == "120.0" and lstm[4] == "2.0 h"
    assert rows["RNN LM (ch. 7)"][3] == "not recorded yet"
    assert (
        "uv run airoad-book run rnn-lm --budget full --record"
        in rows["RNN LM (ch. 7)"][5]
    )
    assert result.metrics == {
        "ptb_lstm_test_ppl": 120.0,
        "ptb_lstm_seconds": 7200.0,
        "recorded_runs": 1.0,
    }
    assert (
        "commit `abc1234`" in result.text["provenance"]
        and "+4.8%, within 5%" in result.text["verdict"]
    )


def test_the_cache_key_of_an_experiment_that_reads_files_follows_their_bytes(tmp_path):
    from airoad_book.figures import cache

    sources = {
        "pkg": "",
        "pkg.exp": 'READS = ("results/x.json",)\n',
        "pkg.plain": "X = 1\n",
    }
    absent = cache.experiment_key("pkg.exp", "quick", 0, sources, root=tmp_path)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "x.json").write_text("{}")
    recorded = cache.experiment_key("pkg.exp", "quick", 0, sources, root=tmp_path)
    (tmp_path / "results" / "x.json").write_text('{"a": 1}')
    assert (
        len(
            {
                absent,
                recorded,
                cache.experiment_key("pkg.exp", "quick", 0, sources, root=tmp_path),
            }
        )
        == 3
    )
    plain = cache.experiment_key("pkg.plain", "quick", 0, sources, root=tmp_path)
    assert plain == cache._digest(
        {"pkg.plain"}, sources, "quick", "0", cache.environment()
    )  # as before
