"""Chapter 14's experiment at a tiny size: the fits, the crossovers, the rungs, the
position loss, and the metrics the checks read."""

import json
import math
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from airoad_book.cost import training_flops_per_token
from airoad_book.experiments import evolution as evo
from airoad_book.experiments import scaling as exp
from airoad_book.figures import registry
from airoad_book.figures.style import themed
from airoad_book.models.gpt import GPT, GPTConfig
from airoad_book.models.lstm import RecurrentLM

TINY_BASE = replace(
    evo.Config(),
    train_chars=60_000,
    nplm_context=4,
    nplm_embed=8,
    rnn_batch=8,
    rnn_bptt=16,
    recurrent_embed=8,
    recurrent_batch=8,
    recurrent_bptt=16,
    context=32,
    num_heads=2,
    num_layers=1,
    gpt_batch=8,
)
TINY = exp.Config(  # about 20 s: 50 short runs, no fewer than 20 steps each
    min_flops=5e6,
    rungs=3,
    min_steps=20,
    tokens_per_param=20.0,
    data_shares=(0.05, 1.0),
    valid_chars=512,
    position_windows=4,
    kn_max_order=4,
    kn_order=3,
    base=TINY_BASE,
)


@pytest.fixture(scope="module")
def result():
    return exp.run_config(TINY, seed=0)


def test_the_fit_recovers_a_known_exponent_and_floor():
    c = np.geomspace(1e9, 1e12, 8)
    y = 3.0 * (c / 1e9) ** -0.3 + 1.2  # a = 3e9^0.3 ... in C units
    fit = exp.fit_power_law(c, y)
    assert fit["form"] == "saturating"
    assert fit["alpha"] == pytest.approx(0.3, rel=1e-3)
    assert fit["floor"] == pytest.approx(1.2, rel=1e-3)
    np.testing.assert_allclose(exp.predict(fit, c), y, rtol=1e-6)


def test_the_plain_law_is_recovered_and_used_when_there_is_no_floor():
    c = np.geomspace(1e8, 1e10, 6)
    y = 50.0 * c**-0.1
    fit = exp.fit_power_law(c, y)
    assert fit["alpha"] == pytest.approx(0.1, rel=1e-3)
    np.testing.assert_allclose(exp.predict(fit, c), y, rtol=1e-3)
    few = exp.fit_power_law(
        c[:3], y[:3]
    )  # too few points for three parameters: plain law
    assert few["form"] == "plain" and few["floor"] == 0.0
    assert few["alpha"] == pytest.approx(0.1, rel=1e-6)


def test_the_fit_rejects_bad_points():
    with pytest.raises(ValueError, match="positive"):
        exp.fit_power_law([1.0, -1.0], [2.0, 1.0])
    with pytest.raises(ValueError, match="at least 2"):
        exp.fit_power_law([1.0], [2.0])


def test_crossings_between_rungs_are_interpolated_in_log_compute():
    c = [1e9, 1e10, 1e11]
    a = [3.0, 2.0, 1.0]
    b = [2.5, 2.5, 2.5]  # a overtakes b halfway (in log C) between the first two rungs
    (x,) = exp.crossings(c, a, b)
    assert x == pytest.approx(10**9.5, rel=1e-9)
    assert exp.crossings(c, a, [4.0, 4.0, 4.0]) == []  # a stays ahead


def test_crossings_of_two_laws_are_found_by_computation():
    steep = {"a": 1e3, "alpha": 0.3, "floor": 0.0}
    flat = {"a": 10.0, "alpha": 0.1, "floor": 0.0}
    (x,) = exp.fit_crossings(steep, flat, 1e6, 1e15)
    assert x == pytest.approx(100.0 ** (1 / 0.2), rel=1e-6)  # 1e3 x^-0.3 = 10 x^-0.1
    assert exp.fit_crossings(steep, flat, 1e12, 1e15) == []


def test_rungs_double_their_flops_and_the_rule_sets_the_parameters():
    flops = exp.rung_flops(exp.CONFIGS["full"])
    assert len(flops) >= 6 and flops[-1] / flops[0] >= 64
    np.testing.assert_allclose(np.array(flops[1:]) / np.array(flops[:-1]), 2.0)
    n = exp.rung_params(6e10, 20.0)
    assert n == round(math.sqrt(6e10 / 120))
    assert 6 * n * 20 * n == pytest.approx(6e10, rel=1e-3)


def test_flops_per_token_follow_the_book_cost_model():
    cfg = GPTConfig(vocab_size=65, context=32, d_model=16, num_heads=2, num_layers=1)
    assert exp.flops_per_token(GPT(cfg)) == training_flops_per_token(cfg)
    lstm = RecurrentLM("lstm", 65, 8, 20)
    assert exp.flops_per_token(lstm) == 6 * (
        lstm.num_parameters - 65 * 8
    )  # the embedding is a lookup


def test_position_loss_has_one_value_per_position_and_matches_the_mean():
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=20, context=16, d_model=16, num_heads=2, num_layers=1)
    model = GPT(cfg)
    ids = torch.randint(0, 20, (16 * 5 + 1,))
    curve = exp.position_loss(model, ids, 16, windows=5)
    assert curve.shape == (16,)
    x, y = ids[:-1].view(5, 16), ids[1:].view(5, 16)
    whole = torch.nn.functional.cross_entropy(
        model(x).reshape(-1, 20), y.reshape(-1)
    ).item()
    assert curve.mean() == pytest.approx(whole, rel=1e-5)
    lstm_curve = exp.position_loss(RecurrentLM("lstm", 20, 4, 8), ids, 16, windows=5)
    assert lstm_curve.shape == (16,)
    assert exp.position_gain(np.linspace(3.0, 1.0, 20)) == pytest.approx(
        np.linspace(3.0, 1.0, 20)[:2].mean() - np.linspace(3.0, 1.0, 20)[-2:].mean()
    )
    with pytest.raises(ValueError, match="context"):
        exp.position_loss(model, ids[:10], 16, windows=5)


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="rungs"):
        exp.Config(rungs=1)
    with pytest.raises(ValueError, match="search_rung"):
        exp.Config(rungs=3, search_rung=3)
    with pytest.raises(ValueError, match="data_shares"):
        exp.Config(data_shares=(0.0, 1.0))
    with pytest.raises(ValueError, match="lr_scales"):
        exp.Config(lr_scales=())


def test_the_metrics_the_checks_read_are_there(result):
    m = result.metrics
    for f in exp.FAMILIES:
        assert math.isfinite(m[f"{f}_alpha"]), f
        assert 0 < m[f"{f}_loss_top"] < 10, f
    assert m["rungs"] == TINY.rungs
    assert m["compute_span"] == pytest.approx(2 ** (TINY.rungs - 1))
    for k in ("gpt_position_gain", "lstm_position_gain"):
        assert math.isfinite(m[k])
    json.dumps(result.to_dict())  # JSON-able, as --record writes it


def test_every_family_spends_its_rungs_flops(result):
    for key in exp.NETWORKS:
        for p in result.series["points"][key]:
            per_step = p["flops"] / p["steps"]
            assert (
                abs(p["flops"] - p["rung_flops"]) <= per_step / 2 + 1e-6
                or p["steps"] == 1
            ), key


def test_every_family_gets_the_same_number_of_trials(result):
    trials = {k: len(r["trials"]) for k, r in result.series["recipes"].items()}
    assert set(trials) == set(exp.NETWORKS)
    assert set(trials.values()) == {len(TINY.lr_scales) + 1}
    assert result.metrics["search_rates"] == len(TINY.lr_scales)


def test_the_figures_draw_from_the_result(result):
    result.series["recorded"] = None
    specs = registry()
    for name in (
        "scaling-compute",
        "scaling-seconds",
        "scaling-data",
        "scaling-position",
    ):
        spec = specs[name]
        assert spec.experiment == exp.NAME
        with themed("light"):
            fig = spec.draw(result)
        assert isinstance(fig, Figure)
        plt.close(fig)


def test_the_large_ladder_is_the_full_ladder_carried_further():
    from airoad_book.experiments import scaling_large

    full, large = exp.CONFIGS["full"], scaling_large.CONFIGS["full"]
    assert large.min_flops == full.min_flops and large.rungs == 13
    flops = exp.rung_flops(large)
    assert flops[: full.rungs] == exp.rung_flops(full)  # the same first seven rungs
    assert flops[-1] / flops[0] == 4096
    assert large.search_rung == full.rungs - 1  # the recipes: at the full ladder's top
