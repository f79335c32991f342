"""Chapter 3's experiments and figures, run at a tiny size: their contracts and their
claims."""

import math

import pytest
from matplotlib.figure import Figure

from airoad_book.experiments import gradient_flow, residual_vs_plain
from airoad_book.figures import registry
from airoad_book.figures.style import themed

TINY_FLOW = gradient_flow.Config(
    depths=(2, 8), width=16, steps=5, batch_size=64, train_images=256
)
TINY_RES = residual_vs_plain.Config(
    depths=(2, 6),
    norms=("none", "batch"),
    width=16,
    steps=5,
    batch_size=64,
    train_images=256,
)


@pytest.fixture(scope="module")
def flow():
    return gradient_flow.run_config(TINY_FLOW, seed=0)


@pytest.fixture(scope="module")
def res():
    return residual_vs_plain.run_config(TINY_RES, seed=0)


def test_gradient_flow_measures_every_layer_of_every_net(flow):
    for act in TINY_FLOW.activations:
        for depth in TINY_FLOW.depths:
            run = flow.series["runs"][f"{act}-{depth}"]
            for when in ("init", "trained"):
                assert len(run[when]["weight_grad"]) == depth
                assert len(run[when]["state_grad"]) == depth + 1
                assert all(g > 0 and math.isfinite(g) for g in run[when]["weight_grad"])
            assert run["steps"] == TINY_FLOW.steps
    assert len(flow.tables["ratios"].rows) == len(TINY_FLOW.activations) * len(
        TINY_FLOW.depths
    )
    assert flow.text["verdict"].startswith("At depth 8")


def test_sigmoid_gradient_vanishes_faster_than_relu_with_depth(flow):
    m = flow.metrics
    assert m["ratio_sigmoid_init"] < 0.25**4  # eight layers of a derivative at most 1/4
    assert m["ratio_relu_init"] > 100 * m["ratio_sigmoid_init"]


def test_residual_vs_plain_reports_the_ratio_at_the_greatest_depth(res):
    m = res.metrics
    cells = res.series["cells"]
    expected = (
        cells["batch-residual-6"]["input_grad"] / cells["batch-plain-6"]["input_grad"]
    )
    assert m["grad_norm_ratio_deepest"] == pytest.approx(expected)
    assert "grad_norm_ratio_deepest_none" in m
    for key, value in m.items():
        assert isinstance(value, (int, float)) and math.isfinite(value), key
    assert len(res.tables["depths"].rows) == len(TINY_RES.norms) * len(TINY_RES.depths)
    assert (
        "batch norm" in res.text["verdict"]
        and "Without normalization" in res.text["norms"]
    )


def test_residual_gradient_without_norm_grows_with_depth(res):
    cells = res.series["cells"]
    assert cells["none-residual-6"]["gain"] > cells["none-residual-2"]["gain"] > 1.0


def test_residual_vs_plain_needs_the_papers_setting():
    with pytest.raises(ValueError, match="must include 'batch'"):
        residual_vs_plain.run_config(residual_vs_plain.Config(norms=("none",)))


def test_unknown_budget_is_a_clear_error():
    for mod in (gradient_flow, residual_vs_plain):
        with pytest.raises(ValueError, match="unknown budget 'huge'"):
            mod.run("huge", seed=0, seconds=None)


def test_chapter_3_figures_draw_from_the_results(flow, res):
    figures = registry()
    for name, result, experiment in (
        ("gradient-flow-layers", flow, "gradient-flow"),
        ("gradient-flow-depth", flow, "gradient-flow"),
        ("residual-vs-plain-depth", res, "residual-vs-plain"),
    ):
        assert figures[name].experiment == experiment
        with themed("dark"):
            assert isinstance(figures[name].draw(result), Figure)
