"""Chapter 1's experiments and figures at a tiny size: their contracts and their
claims."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from airoad_book.experiments import (
    init_stats,
    mlp_numpy_mnist,
    optimizers,
    regularization,
    xor,
)
from airoad_book.figures import registry
from airoad_book.figures.style import themed

TINY = {
    "xor": (xor, xor.Config(grid=11)),
    "mlp-numpy-mnist": (
        mlp_numpy_mnist,
        mlp_numpy_mnist.Config(epochs=2, train_images=600, mistakes=5),
    ),
    "init-stats": (init_stats, init_stats.Config(depth=5, width=64, batch=100)),
    "regularization": (
        regularization,
        regularization.Config(
            train_images=100, valid_images=100, hidden=16, epochs=6, patience=2
        ),
    ),
    "optimizers": (
        optimizers,
        optimizers.Config(hidden=16, epochs=1, train_images=320, curve_points=5),
    ),
}


@pytest.fixture(scope="module")
def results():
    return {
        name: module.run_config(config, seed=0)
        for name, (module, config) in TINY.items()
    }


def test_a_hidden_layer_solves_xor_and_a_linear_model_cannot(results):
    m = results["xor"].metrics
    assert m["two_layer_acc"] == 1.0 and m["two_layer_loss"] < 0.05
    assert (
        m["linear_acc"] <= 0.75 and m["linear_loss"] > 0.69
    )  # ln 2 = 0.693 is its best
    assert "all four points" in results["xor"].text["verdict"]


def test_mnist_reports_accuracy_confusions_and_mistakes(results):
    r = results["mlp-numpy-mnist"]
    cm = np.array(r.series["confusion"])
    assert cm.shape == (10, 10) and cm.sum() == 1000
    assert r.metrics["test_acc"] == pytest.approx(np.trace(cm) / 1000)
    assert r.metrics["errors"] == 1000 - np.trace(cm)
    assert r.metrics["test_acc"] > 0.6  # 600 images, two epochs: far above chance (0.1)
    mistakes = r.series["mistakes"]
    assert len(mistakes["images"]) == 5 and all(
        t != p for t, p in zip(mistakes["true"], mistakes["pred"])
    )
    assert {"summary", "per_class"} <= set(r.tables)


def test_naive_initialization_kills_the_signal_and_xavier_and_he_keep_it(results):
    m = results["init-stats"].metrics
    for act in ("tanh", "relu"):
        assert m[f"{act}_naive_last_act_std"] < 1e-5
        assert (
            m[f"{act}_naive_first_grad_std"] < 1e-3 * m[f"{act}_xavier_first_grad_std"]
        )
    assert m["tanh_xavier_last_act_std"] > 0.1 and m["relu_he_last_act_std"] > 0.1
    assert m["relu_xavier_last_act_std"] < m["relu_he_last_act_std"]


def test_regularization_runs_every_method_and_early_stopping_stops(results):
    r = results["regularization"]
    assert [row[0] for row in r.tables["test"].rows] == list(regularization.METHODS)
    stopped = r.series["early stopping"]
    assert len(stopped["train_loss"]) <= TINY["regularization"][1].epochs
    assert all(
        0 < r.metrics[f"{k}_test_acc"] <= 1
        for k in ("none", "l2", "dropout", "early_stopping")
    )


def test_optimizers_start_together_and_all_lower_the_loss(results):
    r = results["optimizers"]
    labels = [k for k in r.series if k != "config"]
    assert labels == ["SGD", "momentum", "momentum, η/10", "Adam"]
    for label in labels:
        loss = r.series[label]["loss"]
        assert loss[-1] < loss[0] and math.isfinite(loss[-1])


@pytest.mark.parametrize("name", list(TINY))
def test_budgets_exist_and_an_unknown_one_is_refused(name):
    module = TINY[name][0]
    assert set(module.CONFIGS) == {"quick", "full"}
    with pytest.raises(ValueError, match="budget"):
        module.run("huge", seed=0, seconds=None)


def test_fixed_seed_gives_identical_metrics_twice(results):
    module, config = TINY["mlp-numpy-mnist"]
    assert (
        module.run_config(config, seed=0).metrics == results["mlp-numpy-mnist"].metrics
    )


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_chapter_1_figures_draw_from_tiny_results(results, theme):
    specs = {
        n: s for n, s in registry().items() if s.module == "airoad_book.figures.ch01"
    }
    assert {
        "xor-boundary",
        "mnist-confusion",
        "mnist-mistakes",
        "init-stats",
        "regularization-curves",
        "optimizer-curves",
    } <= set(specs)
    with themed(theme):
        for spec in specs.values():
            fig = spec.draw(results[spec.experiment])
            assert isinstance(fig, Figure)
            plt.close(fig)
