"""Chapter 2's experiment at a tiny size: NumPy and torch train to the same losses."""

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

from airoad_book.experiments import autograd_bridge
from airoad_book.figures import registry
from airoad_book.figures.style import themed

TINY = autograd_bridge.Config(hidden=16, epochs=2, train_images=320)


@pytest.fixture(scope="module")
def bridge():
    return autograd_bridge.run_config(TINY, seed=0)


def test_numpy_and_torch_losses_coincide_step_by_step_in_float64(bridge):
    m = bridge.metrics
    assert m["steps"] == 2 * 320 // 64
    assert m["max_loss_diff"] < 1e-12 and m["max_weight_diff"] < 1e-12
    assert m["numpy_test_acc"] == m["torch_test_acc"]
    assert "one curve" in bridge.text["verdict"]
    curve = bridge.series["curve"]
    assert curve["numpy"][-1] < curve["numpy"][0]


def test_the_recorded_graph_ends_in_the_parameters():
    model = autograd_bridge.MLP(autograd_bridge.MLPConfig((6, 5, 3), "tanh"))
    loss = torch.nn.functional.cross_entropy(
        model(torch.randn(4, 6)), torch.tensor([0, 1, 2, 0])
    )
    graph = autograd_bridge.autograd_graph(loss)
    assert graph.splitlines()[0] == "NllLossBackward0"
    assert "TanhBackward0" in graph
    assert graph.count("AccumulateGrad") == 4  # W1, b1, W2, b2


def test_budgets_exist_and_an_unknown_one_is_refused():
    assert set(autograd_bridge.CONFIGS) == {"quick", "full"}
    with pytest.raises(ValueError, match="budget"):
        autograd_bridge.run("huge", seed=0, seconds=None)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_chapter_2_figures_draw_from_a_tiny_result(bridge, theme):
    specs = {
        n: s for n, s in registry().items() if s.module == "airoad_book.figures.ch02"
    }
    assert "bridge-curves" in specs
    with themed(theme):
        for spec in specs.values():
            fig = spec.draw(bridge)
            assert isinstance(fig, Figure)
            plt.close(fig)
