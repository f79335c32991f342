"""Appendix E: the book's `fit` and a Lightning Trainer make the same updates."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from airoad_book.data import batchify, bptt_batches
from airoad_book.experiments import lightning_loop as experiment
from airoad_book.experiments.recurrent_training import CarriedStateLoss, endless_bptt
from airoad_book.lightning_loop import (
    LitCharLM,
    StreamWindows,
    make_trainer,
    quiet,
    window_loader,
)
from airoad_book.metrics import perplexity
from airoad_book.models.lstm import RecurrentLM
from airoad_book.train import TrainConfig, fit

SMALL = experiment.Config(
    train_chars=12_000, valid_chars=3_000, hidden=32, max_steps=12, eval_every=6
)


@pytest.fixture(scope="module")
def result():
    return experiment.run_config(SMALL, seed=0)


def test_fit_and_lightning_loss_curves_agree_within_the_tolerance(result):
    m = result.metrics
    assert m["same_init"] == 1.0
    assert m["steps_book"] == m["steps_lightning"] == SMALL.max_steps
    assert m["max_loss_diff"] <= experiment.TOLERANCE
    assert m["max_weight_diff"] <= 1e-5
    assert m["valid_nats_book"] == pytest.approx(m["valid_nats_lightning"], abs=1e-5)
    assert m["validations_book"] == m["validations_lightning"] == 2


def test_both_loops_learn(result):
    assert result.metrics["last_loss"] < result.metrics["first_loss"] - 0.5


def test_torchmetrics_perplexity_matches_the_books_on_the_trained_model(result):
    assert result.metrics["ppl_rel_diff"] <= 1e-5


def test_torchmetrics_perplexity_equals_exp_of_the_cross_entropy():
    from torchmetrics.text import Perplexity

    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 7, 11, generator=gen)  # (B, T, V)
    y = torch.randint(0, 11, (4, 7), generator=gen)
    nats = F.cross_entropy(logits.flatten(0, 1), y.flatten()).item()
    metric = Perplexity()
    metric.update(logits[:2], y[:2])  # two updates: it accumulates over batches
    metric.update(logits[2:], y[2:])
    assert metric.compute().item() == pytest.approx(perplexity(nats), rel=1e-5)


def test_the_csv_log_holds_every_step(result):
    assert result.metrics["csv_rows"] == SMALL.max_steps
    assert result.metrics["csv_max_diff"] <= 1e-6


def test_the_best_checkpoint_loads_with_weights_only_and_scores_the_best(result):
    m = result.metrics
    assert m["best_ckpt_nats"] == pytest.approx(m["best_val_nats"], abs=1e-5)


def test_the_comparison_can_fail_when_the_data_order_differs(tmp_path):
    """A check that cannot fail proves nothing: shuffle Lightning's windows only."""
    streams = batchify(torch.arange(3000) % 23, 4)  # (4, 750) a periodic stream
    config = TrainConfig(max_steps=6, lr=5e-3, clip_norm=1.0, eval_every=3)

    def model():
        torch.manual_seed(0)
        return RecurrentLM("lstm", 23, 8, 16)

    book, loss = model(), CarriedStateLoss()
    history = fit(book, endless_bptt(streams, 16, loss), loss, config)
    lit = LitCharLM(model(), config)
    shuffled = DataLoader(
        StreamWindows(streams, 16),
        batch_size=None,
        shuffle=True,
        generator=torch.Generator().manual_seed(1),
    )
    with quiet():
        trainer = make_trainer(config, tmp_path, checkpoints=False)
        trainer.fit(lit, shuffled, window_loader(streams, 16))
    diffs = [abs(a - b) for a, b in zip(history.train_loss, lit.losses)]
    assert len(diffs) == 6 and max(diffs) > 100 * experiment.TOLERANCE


def test_stream_windows_are_bptt_batches_in_order():
    streams = batchify(torch.arange(203), 4)  # (4, 50)
    windows = StreamWindows(streams, 8)
    expected = list(bptt_batches(streams, 8))
    assert len(windows) == len(expected) == 7
    for k, (x, y) in enumerate(expected):
        assert torch.equal(windows[k][0], x) and torch.equal(windows[k][1], y)
    loaded = list(window_loader(streams, 8))  # the DataLoader keeps the order
    assert len(loaded) == 7
    assert all(torch.equal(b[1], e[1]) for b, e in zip(loaded, expected))


def test_quiet_restores_the_logging_levels():
    log = logging.getLogger("lightning.pytorch")
    before = log.level
    with quiet():
        assert log.level == logging.WARNING
    assert log.level == before


def test_the_core_package_never_imports_lightning():
    code = (
        "import sys, airoad_book.train, airoad_book.cli, airoad_book.experiments;"
        "import airoad_book.experiments.lightning_loop;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('lightning', 'pytorch_lightning', 'torchmetrics')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_a_run_longer_than_one_pass_is_a_value_error():
    with pytest.raises(ValueError, match="one pass"):
        experiment.run_config(
            experiment.Config(train_chars=2_000, max_steps=500), seed=0
        )
