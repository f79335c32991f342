"""Part III's experiments: transfer from digits 0-4 to 5-9, and plain vs residual conv
nets."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from airoad_book.experiments import EXPERIMENTS, module, run_experiment
from airoad_book.experiments import residual_conv as rc
from airoad_book.experiments import transfer_learning as tl

pytest.importorskip("torchvision")

TINY = replace(tl.CONFIGS["quick"], pretrain_steps=20, labels=(1, 3), target_steps=6)


@pytest.fixture(scope="module")
def split():
    return tl.split_digits()


@pytest.fixture(scope="module")
def quick():
    """The build's run, once: the numbers the page shows."""
    return run_experiment("transfer-learning", "quick", seed=0)


def test_both_experiments_are_registered():
    for name in ("transfer-learning", "residual-conv"):
        mod = module(name)
        assert name in EXPERIMENTS and mod.NAME == name and mod.SUMMARY
        assert set(mod.CONFIGS) == {"quick", "full"}


def test_source_and_target_classes_are_disjoint_and_relabelled(split):
    assert set(split.y_source.tolist()) == set(split.y_pool.tolist()) == set(range(5))
    assert len(split.y_source) + len(split.y_pool) == 4000
    assert len(split.y_source_test) + len(split.y_test) == 1000
    assert split.x_pool.shape[1:] == (28, 28)


def test_label_draws_are_balanced_nested_and_seeded(split):
    small = tl.draw_labels(split.y_pool, 2, seed=3)
    big = tl.draw_labels(split.y_pool, 5, seed=3)
    assert torch.bincount(split.y_pool[small]).tolist() == [2] * 5
    assert set(small.tolist()) <= set(big.tolist())
    assert torch.equal(small, tl.draw_labels(split.y_pool, 2, seed=3))
    assert not torch.equal(small, tl.draw_labels(split.y_pool, 2, seed=4))
    with pytest.raises(ValueError, match="asked for 5000 labels"):
        tl.draw_labels(split.y_pool, 5000, seed=0)


def test_strategies_thaw_the_right_layers():
    model = tl.build(TINY, classes=5)
    steps = 10

    def trainable(strategy, step):
        tl.thaw(model, tl.trainable_at(strategy, step, steps, model))
        return {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}

    assert trainable("probe", 9) == {"fc"}
    everything = {"conv1", "bn1", "layer1", "layer2", "layer3", "layer4", "fc"}
    assert trainable("finetune", 0) == trainable("scratch", 0) == everything
    assert trainable("gradual", 0) == {"fc"}
    assert trainable("gradual", 2) == {"fc", "layer4"}
    assert trainable("gradual", 9) == everything
    with pytest.raises(ValueError, match="strategy must be one of"):
        tl.trainable_at("freeze-all", 0, steps, model)


def test_a_linear_probe_changes_nothing_but_the_new_layer(split):
    torch.manual_seed(0)
    pretrained = tl.build(TINY)
    model = tl.start_from(pretrained, "probe", TINY)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rows = tl.draw_labels(split.y_pool, 3, seed=0)
    tl.train_target(model, split.x_pool[rows], split.y_pool[rows], "probe", TINY)
    changed = {
        k for k, v in model.state_dict().items() if not torch.equal(v, before[k])
    }
    assert changed == {"fc.weight", "fc.bias"}  # batch-norm statistics included


def test_start_from_copies_the_backbone_and_not_the_head():
    torch.manual_seed(0)
    pretrained = tl.build(TINY)
    tuned = tl.start_from(pretrained, "finetune", TINY)
    fresh = tl.start_from(pretrained, "scratch", TINY)
    assert torch.equal(tuned.conv1.weight, pretrained.conv1.weight)
    assert not torch.equal(fresh.conv1.weight, pretrained.conv1.weight)
    assert tuned.fc.out_features == 5


def test_a_tiny_run_reports_every_budget_and_strategy():
    result = tl.run_config(TINY, seed=0)
    m = result.metrics
    assert m["target_labels"] == 5 and m["largest_labels"] == 15
    for s in tl.STRATEGIES:
        assert 0.0 <= m[f"{s}_acc"] <= 1.0
        assert len(result.series["accuracy"][s]) == 2
    assert len(result.tables["accuracy"].rows) == 2
    assert result.text["verdict"].startswith("With 5 labelled target digits")


def test_pretraining_learns_the_source_digits(quick):
    assert quick.metrics["source_acc"] > 0.9
    losses = quick.series["pretrain_loss"]
    assert sum(losses[-10:]) < 0.3 * sum(losses[:10])


def test_transfer_beats_scratch_with_few_labels(quick):
    """Yosinski et al.'s point at toy scale: pretrained features help a small target."""
    m = quick.metrics
    assert m["target_labels"] == 10
    assert m["finetune_acc"] > m["scratch_acc"]
    assert max(m["probe_acc"], m["gradual_acc"]) > m["scratch_acc"]
    assert all(m[f"{s}_acc"] > 0.3 for s in tl.STRATEGIES)  # chance is 0.2


def test_recorded_full_run_is_read_when_present(tmp_path):
    assert tl.recorded_series(tmp_path / "none.json") is None
    path = tmp_path / "full.json"
    path.write_text('{"series": {"labels": [5]}, "metrics": {"scratch_acc": 0.5}}')
    assert tl.recorded_series(path)["series"]["labels"] == [5]


def test_residual_conv_builds_both_kinds_at_both_depths():
    cfg = rc.CONFIGS["quick"]
    plain, res = rc.build("plain", cfg.deep, cfg), rc.build("residual", cfg.deep, cfg)
    x = torch.rand(2, 28, 28)
    assert plain(x).shape == res(x).shape == (2, 10)
    assert rc.layers(cfg, cfg.deep) == 34 and rc.layers(cfg, cfg.shallow) == 10
    with pytest.raises(ValueError, match="kind must be one of"):
        rc.build("dense", 1, cfg)


def test_residual_conv_verdict_reads_the_numbers():
    m = {
        "plain_shallow_train_loss": 0.3,
        "plain_deep_train_loss": 2.0,
        "residual_shallow_train_loss": 0.3,
        "residual_deep_train_loss": 0.25,
        "plain_shallow_layers": 10,
        "plain_deep_layers": 34,
    }
    assert "the shortcuts remove it" in rc.verdict(m)
    assert "does not show" in rc.verdict({**m, "plain_deep_train_loss": 0.2})


def test_probe_sentence_reads_the_curves():
    series = {
        "labels": [5, 25, 100],
        "accuracy": {
            "probe": [0.5, 0.6, 0.7],
            "scratch": [0.4, 0.65, 0.9],
            "finetune": [0.55, 0.7, 0.95],
        },
    }
    text = tl.probe_sentence(series)
    assert "from 25 labels on" in text and "at every budget" in text
    series["accuracy"]["scratch"] = [0.4, 0.5, 0.6]
    assert tl.probe_sentence(series).startswith("The linear probe stays ahead")


def test_the_deep_plain_net_degrades_and_its_residual_twin_trains():
    """He et al.'s degradation problem at the build's budget: with the same steps,
    the 34-layer plain net fits the training digits worse than the 10-layer one, and
    its residual twin fits them far better than it does."""
    m = run_experiment("residual-conv", "quick", seed=0).metrics
    assert m["plain_deep_train_loss"] > m["plain_shallow_train_loss"]
    assert m["residual_deep_train_loss"] < 0.5 * m["plain_deep_train_loss"]
    assert m["residual_deep_test_acc"] > m["plain_deep_test_acc"]
