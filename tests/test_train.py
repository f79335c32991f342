"""The training loop, its schedule, clipping, early stopping, checkpoints; device and
progress."""

import itertools
import json
import os
import time

import pytest
import torch
from torch import nn

from airoad_book import progress as progress_module
from airoad_book.device import device, seed_everything
from airoad_book.progress import get_progress, progress, set_progress
from airoad_book.train import (
    History,
    TrainConfig,
    batch_size,
    evaluate_loss,
    fit,
    load_checkpoint,
    lr_at,
    make_optimizer,
    make_schedule,
    save_checkpoint,
)

TRUE_W = torch.tensor([[1.5], [-2.0], [0.5], [3.0]])


def regression_batches(gen: torch.Generator, batch: int = 16):
    """Endless batches of y = x @ TRUE_W + noise."""
    while True:
        x = torch.randn(batch, 4, generator=gen)
        yield x, x @ TRUE_W + 0.01 * torch.randn(batch, 1, generator=gen)


def mse(model, batch):
    x, y = batch
    return nn.functional.mse_loss(model(x), y)


def fixed_set(seed: int = 123, n_batches: int = 4):
    return list(
        itertools.islice(
            regression_batches(torch.Generator().manual_seed(seed)), n_batches
        )
    )


def scripted_evaluate(losses):
    """An evaluate() that returns the given losses in turn and snapshots the weights
    each call."""
    snapshots = []
    it = iter(losses)

    def evaluate(model):
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        return next(it)

    return evaluate, snapshots


def fit_regression(config, seed=0, **kwargs):
    gen = seed_everything(seed)
    model = nn.Linear(4, 1)
    history = fit(model, regression_batches(gen), mse, config, **kwargs)
    return model, history


# -- the loop
# --------------------------------------------------------------------------------


def test_loss_falls_on_a_tiny_regression():
    model, history = fit_regression(TrainConfig(max_steps=200, lr=0.05))
    assert history.train_loss[-1] < 0.01 * history.train_loss[0]
    assert torch.allclose(model.weight.detach(), TRUE_W.T, atol=0.05)


def test_loss_falls_on_a_tiny_classification():
    gen = seed_everything(0)
    centers = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.0]])

    def batches():
        while True:
            y = torch.randint(0, 3, (32,), generator=gen)
            yield centers[y] + 0.3 * torch.randn(32, 2, generator=gen), y

    model = nn.Linear(2, 3)
    loss_fn = lambda m, b: nn.functional.cross_entropy(m(b[0]), b[1])  # noqa: E731
    history = fit(model, batches(), loss_fn, TrainConfig(max_steps=100, lr=0.1))
    assert history.train_loss[-1] < 0.2 < history.train_loss[0]


def test_max_steps_is_honoured():
    _, history = fit_regression(TrainConfig(max_steps=7))
    assert history.steps_done == 7
    assert history.step == list(range(1, 8))
    assert len(history.train_loss) == len(history.grad_norm) == len(history.lr) == 7
    assert history.stop_reason == "max_steps"


def test_fit_takes_no_batch_beyond_max_steps():
    taken = []

    def counted(gen):
        for b in regression_batches(gen):
            taken.append(b)
            yield b

    fit(nn.Linear(4, 1), counted(seed_everything(0)), mse, TrainConfig(max_steps=5))
    assert len(taken) == 5


def test_max_seconds_stops_training_early():
    _, history = fit_regression(TrainConfig(max_steps=10**9, max_seconds=0.05))
    assert history.stop_reason == "max_seconds"
    assert 0.05 <= history.seconds < 1.0
    assert 0 < history.steps_done < 10**9


def test_max_seconds_leaves_evaluation_time_out():
    def slow_mse(model, batch):
        time.sleep(0.005)
        return mse(model, batch)

    def slow_evaluate(model):
        time.sleep(0.01)
        return 1.0

    config = TrainConfig(max_steps=10**9, max_seconds=0.05, eval_every=1)
    history = fit(
        nn.Linear(4, 1),
        regression_batches(seed_everything(0)),
        slow_mse,
        config,
        evaluate=slow_evaluate,
    )
    assert history.stop_reason == "max_seconds"
    assert history.eval_seconds >= 0.05  # the evaluations alone overran the cap
    assert 0.05 <= history.seconds < history.eval_seconds


def test_a_finite_iterable_that_runs_out_stops_with_end_of_data():
    history = fit(
        nn.Linear(4, 1), fixed_set(n_batches=3), mse, TrainConfig(max_steps=10)
    )
    assert (history.steps_done, history.stop_reason) == (3, "end_of_data")


def test_a_non_finite_loss_stops_as_diverged_without_updating():
    model = nn.Linear(4, 1)
    before = model.weight.detach().clone()
    nan_loss = lambda m, b: m(b[0]).sum() * float("nan")  # noqa: E731
    history = fit(model, fixed_set(), nan_loss, TrainConfig(max_steps=10))
    assert (history.steps_done, history.stop_reason) == (1, "diverged")
    assert torch.equal(model.weight, before)
    assert history.to_dict()["train_loss"] == [None]


def test_loss_fn_must_return_a_scalar():
    per_example = lambda m, b: (m(b[0]) - b[1]) ** 2  # noqa: E731
    with pytest.raises(
        ValueError, match=r"scalar tensor; got a tensor of shape \(16, 1\)"
    ):
        fit(nn.Linear(4, 1), fixed_set(), per_example, TrainConfig(max_steps=2))


def test_same_seed_gives_identical_history():
    config = TrainConfig(max_steps=30, eval_every=10, lr=0.01)
    runs = []
    for _ in range(2):
        model, history = fit_regression(
            config, evaluate=lambda m: evaluate_loss(m, fixed_set(), mse)
        )
        runs.append(
            (
                history.train_loss,
                history.grad_norm,
                history.eval_loss,
                model.weight.clone(),
            )
        )
    assert runs[0][:3] == runs[1][:3]
    assert torch.equal(runs[0][3], runs[1][3])


def test_history_to_dict_is_json_and_reads_back():
    _, history = fit_regression(
        TrainConfig(max_steps=5, eval_every=2), evaluate=lambda m: 1.0
    )
    data = json.loads(json.dumps(history.to_dict(), allow_nan=False))
    assert data["steps_done"] == 5 and data["eval_step"] == [2, 4, 5]
    assert History.from_dict(data) == history


# -- evaluation, early stopping, best weights
# ------------------------------------------------


def test_evaluation_runs_every_eval_every_steps_and_at_the_end():
    evaluate, _ = scripted_evaluate([5.0, 4.0, 3.0, 2.0])
    _, history = fit_regression(
        TrainConfig(max_steps=10, eval_every=4), evaluate=evaluate
    )
    assert history.eval_step == [4, 8, 10]
    assert history.eval_loss == [5.0, 4.0, 3.0]
    assert (history.best_eval_loss, history.best_step) == (3.0, 10)


def test_early_stopping_triggers_on_a_worsening_evaluation():
    evaluate, _ = scripted_evaluate([1.0, 2.0, 3.0, 4.0, 5.0])
    config = TrainConfig(max_steps=100, eval_every=2, patience=2)
    _, history = fit_regression(config, evaluate=evaluate)
    assert history.stop_reason == "early_stop"
    assert history.steps_done == 6  # evaluations at 2 (best), 4 and 6 (no better)
    assert history.eval_step == [2, 4, 6]
    assert (history.best_eval_loss, history.best_step) == (1.0, 2)


def test_patience_without_evaluate_is_a_clear_error():
    with pytest.raises(ValueError, match="patience needs an evaluate function"):
        fit_regression(TrainConfig(max_steps=5, patience=2))


def test_restore_best_reloads_the_best_evaluated_weights():
    evaluate, snapshots = scripted_evaluate([3.0, 1.0, 2.0, 4.0])
    config = TrainConfig(max_steps=8, eval_every=2, lr=0.05)
    model, history = fit_regression(config, evaluate=evaluate)
    assert history.best_step == 4
    for name, value in model.state_dict().items():
        assert torch.equal(value, snapshots[1][name])
    assert not torch.equal(model.weight, snapshots[-1]["weight"])


def test_without_restore_best_the_final_weights_stay():
    evaluate, snapshots = scripted_evaluate([3.0, 1.0, 2.0, 4.0])
    config = TrainConfig(max_steps=8, eval_every=2, lr=0.05, restore_best=False)
    model, _ = fit_regression(config, evaluate=evaluate)
    assert torch.equal(model.weight, snapshots[-1]["weight"])


def test_evaluate_runs_in_eval_mode_without_grad_and_training_resumes():
    seen = []

    def evaluate(model):
        seen.append((model.training, torch.is_grad_enabled()))
        return 0.0

    model = nn.Sequential(nn.Linear(4, 1))
    fit(
        model,
        regression_batches(seed_everything(0)),
        mse,
        TrainConfig(max_steps=4, eval_every=2),
        evaluate=evaluate,
    )
    assert seen == [(False, False), (False, False)]
    assert model.training


def test_evaluate_loss_is_the_mean_weighted_by_batch_size():
    model = nn.Linear(1, 1)
    batches = [torch.zeros(1, 1), torch.zeros(3, 1)]
    losses = iter([4.0, 0.0])
    loss_fn = lambda m, b: torch.tensor(next(losses))  # noqa: E731
    assert evaluate_loss(model, batches, loss_fn) == pytest.approx(
        1.0
    )  # (4*1 + 0*3) / 4


def test_evaluate_loss_uses_weight_fn_and_restores_train_mode():
    model = nn.Linear(4, 1).train()
    batches = fixed_set(n_batches=2)
    value = evaluate_loss(model, batches, mse, weight_fn=lambda b: 1.0)
    assert value == pytest.approx(sum(mse(model, b).item() for b in batches) / 2)
    assert model.training


def test_batch_size_of_an_unknown_batch_asks_for_weight_fn():
    assert batch_size({"x": torch.zeros(5, 2)}) == 5
    with pytest.raises(ValueError, match="pass weight_fn"):
        batch_size("not a batch")


# -- gradient clipping
# -----------------------------------------------------------------------


def test_clipping_caps_the_update_under_sgd_with_lr_1():
    model = nn.Linear(4, 1)
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    huge = lambda m, b: 1000.0 * mse(m, b)  # noqa: E731
    config = TrainConfig(max_steps=1, optimizer="sgd", lr=1.0, clip_norm=0.5)
    history = fit(model, fixed_set(), huge, config)
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert history.grad_norm[0] > 0.5  # recorded before clipping
    assert torch.linalg.vector_norm(after - before).item() == pytest.approx(
        0.5, rel=1e-4
    )


def test_without_clipping_the_grad_norm_is_recorded_and_the_update_is_the_gradient():
    model = nn.Linear(4, 1)
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    history = fit(
        model, fixed_set(), mse, TrainConfig(max_steps=1, optimizer="sgd", lr=1.0)
    )
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert torch.linalg.vector_norm(after - before).item() == pytest.approx(
        history.grad_norm[0], rel=1e-5
    )


# -- optimizer and schedule
# ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, cls",
    [
        ("sgd", torch.optim.SGD),
        ("adam", torch.optim.Adam),
        ("adamw", torch.optim.AdamW),
    ],
)
def test_make_optimizer_builds_the_named_optimizer(name, cls):
    assert type(make_optimizer(nn.Linear(2, 2), TrainConfig(optimizer=name))) is cls


def test_make_optimizer_rejects_a_model_without_trainable_parameters():
    model = nn.Linear(2, 2).requires_grad_(False)
    with pytest.raises(ValueError, match="Linear has no trainable parameters"):
        make_optimizer(model, TrainConfig())


def test_warmup_ramps_linearly_to_lr():
    config = TrainConfig(max_steps=10, lr=0.1, warmup_steps=4)
    _, history = fit_regression(config)
    assert history.lr[:4] == pytest.approx([0.025, 0.05, 0.075, 0.1])
    assert history.lr[4:] == pytest.approx([0.1] * 6)


@pytest.mark.parametrize("schedule", ["cosine", "linear"])
def test_decay_reaches_min_lr_on_the_last_step(schedule):
    config = TrainConfig(
        max_steps=20, lr=0.1, warmup_steps=5, schedule=schedule, min_lr=0.01
    )
    _, history = fit_regression(config)
    assert history.lr[4] == pytest.approx(0.1)
    assert history.lr[-1] == pytest.approx(0.01)
    decay = history.lr[4:]
    assert all(a >= b for a, b in zip(decay, decay[1:]))


def test_cosine_is_halfway_at_the_middle_of_the_decay():
    config = TrainConfig(max_steps=11, lr=1.0, schedule="cosine")
    assert lr_at(5, config) == pytest.approx(0.5)
    assert lr_at(100, config) == pytest.approx(0.0)  # past the end it stays at min_lr


def test_inverse_sqrt_peaks_after_warmup_then_falls_as_one_over_root_step():
    config = TrainConfig(max_steps=100, lr=0.4, warmup_steps=4, schedule="inverse_sqrt")
    assert [lr_at(s, config) for s in range(4)] == pytest.approx([0.1, 0.2, 0.3, 0.4])
    assert lr_at(15, config) == pytest.approx(
        0.4 * (4 / 16) ** 0.5
    )  # a quarter of the way: half lr
    assert lr_at(399, config) == pytest.approx(0.4 * 0.1)  # 100x the warm-up: a tenth
    # Vaswani et al.'s d_model**-0.5 * min(n**-0.5, n * warmup**-1.5), n = step + 1
    d_model, warmup = 512, 4000
    paper = TrainConfig(
        max_steps=100_000,
        lr=(d_model * warmup) ** -0.5,
        warmup_steps=warmup,
        schedule="inverse_sqrt",
    )
    for n in (1, 100, 3999, 4000, 4001, 20000):
        expected = d_model**-0.5 * min(n**-0.5, n * warmup**-1.5)
        assert lr_at(n - 1, paper) == pytest.approx(expected)


def test_make_schedule_follows_lr_at():
    config = TrainConfig(max_steps=6, lr=0.2, warmup_steps=2, schedule="linear")
    optimizer = make_optimizer(nn.Linear(2, 2), config)
    schedule = make_schedule(optimizer, config)
    seen = []
    for _ in range(6):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert seen == pytest.approx([lr_at(s, config) for s in range(6)])


# -- config validation
# -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_steps": 0}, r"max_steps must be an integer >= 1; got 0"),
        ({"max_seconds": 0}, r"max_seconds must be a positive number or None; got 0"),
        ({"lr": -1e-3}, r"lr must be a positive number; got -0.001"),
        (
            {"optimizer": "rmsprop"},
            r"optimizer must be one of \('sgd', 'adam', 'adamw'\); got 'rmsprop'",
        ),
        ({"momentum": 0.9}, r"momentum applies to optimizer='sgd' only"),
        (
            {"optimizer": "sgd", "momentum": 1.0},
            r"momentum must be in \[0, 1\); got 1.0",
        ),
        ({"weight_decay": -1.0}, r"weight_decay must be >= 0; got -1.0"),
        (
            {"schedule": "step"},
            r"schedule must be one of \('constant', 'cosine', 'linear', "
            r"'inverse_sqrt'\); got 'step'",
        ),
        (
            {"schedule": "inverse_sqrt"},
            r"'inverse_sqrt' decays as sqrt\(warmup_steps / step\), so it needs "
            r"warmup_steps >= 1; got 0",
        ),
        (
            {"schedule": "inverse_sqrt", "warmup_steps": 2, "min_lr": 1e-4},
            r"min_lr applies to the 'cosine' and 'linear' schedules",
        ),
        (
            {"warmup_steps": 20, "max_steps": 10},
            r"warmup_steps must be <= max_steps=10; got 20",
        ),
        (
            {"schedule": "cosine", "min_lr": 1.0},
            r"min_lr must be in \[0, lr=0.001\]; got 1.0",
        ),
        ({"min_lr": 1e-4}, r"min_lr applies to the 'cosine' and 'linear' schedules"),
        ({"clip_norm": 0.0}, r"clip_norm must be a positive number or None; got 0.0"),
        ({"eval_every": 0}, r"eval_every must be an integer >= 1; got 0"),
        ({"patience": 0}, r"patience must be an integer >= 1 or None; got 0"),
        ({"max_steps": 2.5}, r"max_steps must be an integer >= 1; got 2.5"),
    ],
)
def test_bad_config_values_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        TrainConfig().lr = 1.0  # type: ignore[misc]


# -- checkpoints
# -----------------------------------------------------------------------------


def test_checkpoint_round_trip(tmp_path):
    model = nn.Linear(4, 2)
    path = save_checkpoint(
        tmp_path / "m.pt",
        model,
        model_name="linear",
        config={"d_in": 4, "d_out": 2},
        extra={"note": [1, 2.5, None]},
    )
    ckpt = load_checkpoint(path, model_name="linear")
    fresh = nn.Linear(4, 2)
    fresh.load_state_dict(ckpt["state_dict"])
    assert torch.equal(fresh.weight, model.weight) and torch.equal(
        fresh.bias, model.bias
    )
    assert ckpt["config"] == {"d_in": 4, "d_out": 2}
    assert ckpt["extra"] == {"note": [1, 2.5, None]}


def test_atomic_write_leaves_no_temp_files(tmp_path):
    for _ in range(2):  # the second write replaces the first
        save_checkpoint(
            tmp_path / "m.pt", nn.Linear(2, 2), model_name="linear", config={}
        )
    assert os.listdir(tmp_path) == ["m.pt"]


def test_a_failed_write_keeps_the_old_checkpoint_and_no_temp_file(
    tmp_path, monkeypatch
):
    model = nn.Linear(2, 2)
    path = save_checkpoint(
        tmp_path / "m.pt", model, model_name="linear", config={"v": 1}
    )

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, model_name="linear", config={"v": 2})
    assert os.listdir(tmp_path) == ["m.pt"]
    monkeypatch.undo()
    assert load_checkpoint(path, model_name="linear")["config"] == {"v": 1}


def test_loading_a_checkpoint_of_another_model_is_a_clear_error(tmp_path):
    path = save_checkpoint(
        tmp_path / "m.pt", nn.Linear(2, 2), model_name="bengio", config={}
    )
    with pytest.raises(
        ValueError, match=f"checkpoint {path} holds a 'bengio' model, expected 'rnnlm'"
    ):
        load_checkpoint(path, model_name="rnnlm")


def test_a_missing_checkpoint_is_a_file_not_found_error_naming_the_path(tmp_path):
    path = tmp_path / "nowhere" / "m.pt"
    with pytest.raises(FileNotFoundError, match=str(path)):
        load_checkpoint(path, model_name="linear")


def test_a_checkpoint_refuses_non_plain_config_values(tmp_path):
    with pytest.raises(
        ValueError,
        match=r"config\['opt'\] must hold only tensors and plain Python types.*got object",
    ):
        save_checkpoint(
            tmp_path / "m.pt",
            nn.Linear(2, 2),
            model_name="linear",
            config={"opt": object()},
        )
    assert not (tmp_path / "m.pt").exists()


def test_fit_saves_the_best_weights_to_the_checkpoint(tmp_path):
    evaluate, snapshots = scripted_evaluate([3.0, 1.0, 2.0])
    path = tmp_path / "best.pt"
    config = TrainConfig(max_steps=6, eval_every=2, lr=0.05)
    meta = {"model_name": "linear", "config": {"d_in": 4}, "extra": {"corpus": "toy"}}
    fit_regression(
        config, evaluate=evaluate, checkpoint_path=path, checkpoint_meta=meta
    )
    ckpt = load_checkpoint(path, model_name="linear")
    assert torch.equal(ckpt["state_dict"]["weight"], snapshots[1]["weight"])
    assert ckpt["extra"]["step"] == 4 and ckpt["extra"]["eval_loss"] == 1.0
    assert (
        ckpt["extra"]["corpus"] == "toy"
        and ckpt["extra"]["train_config"]["max_steps"] == 6
    )
    assert ckpt["config"] == {"d_in": 4}


def test_fit_without_evaluate_saves_the_final_weights(tmp_path):
    path = tmp_path / "last.pt"
    model, _ = fit_regression(TrainConfig(max_steps=3), checkpoint_path=path)
    ckpt = load_checkpoint(path, model_name="Linear")
    assert torch.equal(ckpt["state_dict"]["weight"], model.weight.detach())


def test_fit_rejects_unknown_checkpoint_meta_keys(tmp_path):
    with pytest.raises(
        ValueError, match=r"checkpoint_meta takes the keys .*got \['name'\]"
    ):
        fit_regression(
            TrainConfig(max_steps=1),
            checkpoint_path=tmp_path / "m.pt",
            checkpoint_meta={"name": "x"},
        )


# -- device and seeds
# ------------------------------------------------------------------------


def test_device_is_cpu_when_forced(monkeypatch):
    monkeypatch.setenv("AIROAD_DEVICE", "cpu")
    assert device() == torch.device("cpu")


def test_device_rejects_an_unknown_forced_device(monkeypatch):
    monkeypatch.setenv("AIROAD_DEVICE", "tpu")
    with pytest.raises(
        ValueError, match="AIROAD_DEVICE must be one of cpu, cuda, mps; got 'tpu'"
    ):
        device()


def test_device_picks_something_usable(monkeypatch):
    monkeypatch.delenv("AIROAD_DEVICE", raising=False)
    assert torch.zeros(1, device=device()).sum().item() == 0.0


def test_seed_everything_repeats_every_generator():
    import random

    import numpy as np

    def draw():
        gen = seed_everything(7)
        return (
            random.random(),
            np.random.rand(),
            torch.rand(1).item(),
            torch.rand(1, generator=gen).item(),
        )

    assert draw() == draw()


def test_seed_everything_rejects_a_bad_seed():
    with pytest.raises(
        ValueError, match=r"seed must be an integer in \[0, 2\*\*32\); got -1"
    ):
        seed_everything(-1)


# -- progress
# --------------------------------------------------------------------------------


@pytest.fixture
def progress_mode():
    """Put the progress mode back as it was after the test."""
    saved = progress_module._mode
    yield
    progress_module._mode = saved


def test_progress_off_writes_nothing(progress_mode, capsys):
    set_progress("off")
    with progress(total=3, desc="quiet") as bar:
        bar.set_postfix(loss=1.0)
        bar.update()
    assert capsys.readouterr() == ("", "")


def test_progress_bar_writes_to_stderr_only(progress_mode, capsys):
    set_progress("bar")
    fit_regression(TrainConfig(max_steps=3), desc="demo")
    out, err = capsys.readouterr()
    assert out == ""
    assert "demo" in err and "3/3" in err and "loss=" in err


def test_set_progress_rejects_an_unknown_mode_and_returns_the_previous(progress_mode):
    assert set_progress("off") in ("bar", "off")
    assert set_progress("bar") == "off"
    with pytest.raises(
        ValueError, match=r"progress mode must be one of 'bar', 'off'; got 'loud'"
    ):
        set_progress("loud")
    assert get_progress() == "bar"


def test_progress_env_var_sets_the_initial_mode(progress_mode, monkeypatch):
    progress_module._mode = None  # as at import: follow the environment
    monkeypatch.setenv("AIROAD_PROGRESS", "bar")
    assert get_progress() == "bar"
    monkeypatch.delenv("AIROAD_PROGRESS")
    assert get_progress() == "off"
    monkeypatch.setenv("AIROAD_PROGRESS", "verbose")
    with pytest.raises(
        ValueError,
        match=r"\$AIROAD_PROGRESS must be one of 'bar', 'off'; got 'verbose'",
    ):
        get_progress()


def test_fit_is_silent_by_default(progress_mode, monkeypatch, capsys):
    progress_module._mode = None
    monkeypatch.delenv("AIROAD_PROGRESS", raising=False)
    fit_regression(TrainConfig(max_steps=3))
    assert capsys.readouterr() == ("", "")


# -- the toolkit: betas, gradient accumulation, bf16 autocast
# --------------------------------


def _old_train_step_weights(config, n_steps, seed=0):
    """The loop as train.py ran it before betas/accumulate/autocast existed, written out
    by hand."""
    gen = seed_everything(seed)
    model = nn.Linear(4, 1)
    batches = regression_batches(gen)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    schedule = make_schedule(optimizer, config)
    losses = []
    for _ in range(n_steps):
        optimizer.zero_grad(set_to_none=True)
        loss = mse(model, next(batches))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    return model, losses


def test_the_default_config_trains_bit_for_bit_as_the_plain_adam_loop():
    config = TrainConfig(
        max_steps=25, lr=0.05, warmup_steps=5, schedule="cosine", clip_norm=1.0
    )
    model, history = fit_regression(config)
    reference, losses = _old_train_step_weights(config, 25)
    assert history.train_loss == losses  # exactly, not approximately
    assert torch.equal(model.weight, reference.weight) and torch.equal(
        model.bias, reference.bias
    )


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_betas_reach_adam_and_adamw(optimizer):
    default = make_optimizer(nn.Linear(2, 2), TrainConfig(optimizer=optimizer))
    assert default.param_groups[0]["betas"] == (
        0.9,
        0.999,
    )  # torch's own default, unchanged
    vaswani = make_optimizer(
        nn.Linear(2, 2), TrainConfig(optimizer=optimizer, betas=(0.9, 0.98))
    )
    assert vaswani.param_groups[0]["betas"] == (0.9, 0.98)


def test_adamw_decay_is_decoupled_and_adam_decay_is_an_l2_gradient():
    """With a zero loss gradient, AdamW shrinks w by lr*wd*w; Adam's L2 step is
    lr*sign(w)."""
    w0 = torch.tensor([[2.0, -0.5]])
    zero_loss = lambda m, b: 0.0 * m(b).sum()  # noqa: E731
    steps = {}
    for name in ("adam", "adamw"):
        model = nn.Linear(2, 1, bias=False)
        with torch.no_grad():
            model.weight.copy_(w0)
        fit(
            model,
            [torch.zeros(1, 2)],
            zero_loss,
            TrainConfig(max_steps=1, optimizer=name, lr=0.1, weight_decay=0.01),
        )
        steps[name] = (w0 - model.weight.detach())[0].tolist()
    assert steps["adamw"] == pytest.approx(
        (0.1 * 0.01 * w0)[0].tolist(), rel=1e-4
    )  # proportional to w
    assert steps["adam"] == pytest.approx(
        [0.1, -0.1], rel=1e-4
    )  # Adam normalizes g = wd*w to its sign


def _one_sgd_step(batches, accumulate, lr=0.1):
    seed_everything(0)
    model = nn.Linear(4, 1)
    config = TrainConfig(max_steps=1, optimizer="sgd", lr=lr, accumulate=accumulate)
    history = fit(model, batches, mse, config)
    return model, history


def test_k_micro_batches_give_the_same_step_as_one_batch_of_k_times_b():
    micro = fixed_set(n_batches=4)  # 4 batches of 16
    whole = [
        (torch.cat([x for x, _ in micro]), torch.cat([y for _, y in micro]))
    ]  # 1 batch of 64
    accumulated, h_acc = _one_sgd_step(micro, accumulate=4)
    single, h_one = _one_sgd_step(whole, accumulate=1)
    assert h_acc.steps_done == h_one.steps_done == 1
    assert h_acc.train_loss[0] == pytest.approx(
        h_one.train_loss[0], rel=1e-6
    )  # the mean loss
    assert h_acc.grad_norm[0] == pytest.approx(h_one.grad_norm[0], rel=1e-6)
    assert torch.allclose(accumulated.weight, single.weight, atol=1e-6)
    assert torch.allclose(accumulated.bias, single.bias, atol=1e-6)
    first_only, _ = _one_sgd_step(micro[:1], accumulate=1)
    assert not torch.allclose(
        first_only.weight, single.weight, atol=1e-4
    )  # the test can tell


def test_accumulate_consumes_k_batches_per_optimizer_step():
    taken = []

    def counted(gen):
        for b in regression_batches(gen):
            taken.append(b)
            yield b

    config = TrainConfig(max_steps=3, accumulate=4, eval_every=2)
    history = fit(
        nn.Linear(4, 1),
        counted(seed_everything(0)),
        mse,
        config,
        evaluate=lambda m: 1.0,
    )
    assert len(taken) == 12
    assert history.steps_done == 3 and history.step == [1, 2, 3]
    assert history.eval_step == [2, 3]


def test_accumulate_on_finite_data_ends_with_a_shorter_group():
    config = TrainConfig(max_steps=10, accumulate=4)
    history = fit(nn.Linear(4, 1), fixed_set(n_batches=10), mse, config)
    assert (history.steps_done, history.stop_reason) == (3, "end_of_data")  # 4 + 4 + 2


def test_a_non_finite_micro_batch_loss_stops_without_an_update():
    model = nn.Linear(4, 1)
    before = model.weight.detach().clone()
    calls = iter([1.0, float("nan")])
    loss_fn = lambda m, b: mse(m, b) * next(calls)  # noqa: E731
    history = fit(
        model, fixed_set(n_batches=2), loss_fn, TrainConfig(max_steps=5, accumulate=2)
    )
    assert (history.steps_done, history.stop_reason) == (1, "diverged")
    assert torch.equal(model.weight, before)


def test_train_step_with_accumulate_refuses_a_single_batch():
    from airoad_book.train import train_step

    model, config = nn.Linear(4, 1), TrainConfig(accumulate=2)
    optimizer = make_optimizer(model, config)
    with pytest.raises(
        ValueError,
        match=r"accumulate=2, train_step takes a list of micro-batches.*got tuple",
    ):
        train_step(
            model,
            fixed_set()[0],
            mse,
            optimizer,
            make_schedule(optimizer, config),
            config,
        )


def test_group_batches_leaves_the_iterable_alone_at_one_and_groups_otherwise():
    from airoad_book.train import group_batches

    items = [1, 2, 3, 4, 5]
    assert group_batches(items, 1) is items
    assert list(group_batches(items, 2)) == [[1, 2], [3, 4], [5]]
    with pytest.raises(ValueError, match=r"accumulate >= 1; got 0"):
        group_batches(items, 0)


def test_bf16_autocast_runs_the_forward_in_bfloat16_and_keeps_fp32_weights():
    seen = []

    def loss_fn(model, batch):
        x, y = batch
        out = model(x)
        seen.append(out.dtype)
        return nn.functional.mse_loss(out.float(), y)

    seed_everything(0)
    model = nn.Linear(4, 1)
    history = fit(
        model,
        regression_batches(seed_everything(0)),
        loss_fn,
        TrainConfig(max_steps=100, lr=0.05, autocast="bf16"),
    )
    assert set(seen) == {torch.bfloat16}
    assert model.weight.dtype == torch.float32
    assert history.train_loss[-1] < 0.05 * history.train_loss[0]
    fit(nn.Linear(4, 1), fixed_set(n_batches=1), loss_fn, TrainConfig(max_steps=1))
    assert seen[-1] == torch.float32  # without autocast the forward stays fp32


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"betas": (0.9, 1.0)},
            r"betas must be a tuple of two numbers in \[0, 1\); got \(0.9, 1.0\)",
        ),
        (
            {"betas": [0.9, 0.98]},
            r"betas must be a tuple of two numbers in \[0, 1\); got \[0.9, 0.98\]",
        ),
        (
            {"optimizer": "sgd", "betas": (0.9, 0.98)},
            r"betas applies to optimizer='adam' or 'adamw' only",
        ),
        ({"accumulate": 0}, r"accumulate must be an integer >= 1; got 0"),
        (
            {"autocast": "fp16"},
            r"autocast must be None or one of \('bf16',\); got 'fp16'",
        ),
    ],
)
def test_bad_toolkit_values_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)
