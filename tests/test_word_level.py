"""Word-level runs for appendix C: the NPLM's paper recipe, the GRU, the GPT."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from airoad_book.experiments import bengio_paper, ptb_gpt, ptb_gru, ptb_lstm
from airoad_book.experiments.bengio_vs_ngram import Config as NPLMRun


def test_the_paper_recipe_is_sgd_with_weight_decay_and_a_per_example_rate():
    full = bengio_paper.CONFIGS["full"]
    assert (
        full.optimizer == "sgd"
        and full.weight_decay == 1e-4
        and full.schedule == "constant"
    )
    assert full.lr == pytest.approx(1e-3 * full.batch_size)  # ε_0 = 1e-3 per example
    # everything but the recipe is bengio-vs-ngram's full budget
    from airoad_book.experiments.bengio_vs_ngram import CONFIGS

    same = ("context", "embed_dim", "hidden", "max_steps", "patience", "kn_order")
    assert all(getattr(full, k) == getattr(CONFIGS["full"], k) for k in same)


def test_the_paper_recipe_trains_the_nplm():
    tiny = bengio_paper.paper_recipe(
        NPLMRun(
            kn_order=2,
            embed_dim=8,
            hidden=16,
            max_steps=60,
            eval_every=30,
            curve_tokens=500,
            train_tokens=20_000,
            eval_tokens=1_000,
            pca_words=50,
            plot_words=20,
            neighbour_pool=100,
        ),
        batch_size=32,
    )
    result = bengio_paper.run_config(replace(tiny, lr=0.5), seed=0)
    m, curve = result.metrics, result.series["curve"]
    assert curve["train_loss"][-1] < curve["train_loss"][0]
    assert math.isfinite(m["nplm_ppl"]) and m["nplm_ppl"] < m["vocab_size"]


def test_ptb_gru_is_ptb_lstm_with_a_gru_cell():
    for budget, config in ptb_gru.CONFIGS.items():
        assert config == replace(ptb_lstm.CONFIGS[budget], cell="gru")
    result = ptb_gru.run("quick", seed=0, seconds=None)
    assert result.tables["test"].rows[0][0] == "this run (GRU)"
    assert (
        result.metrics["test_ppl"] < 10_000
    )  # better than a uniform guess over the words
    assert "GRU" in result.text["verdict"] and "114.5" in result.text["verdict"]


def test_ptb_gpt_learns_and_reports_its_perplexities():
    result = ptb_gpt.run("quick", seed=0, seconds=None)
    m = result.metrics
    assert (
        m["steps"]
        == m["planned_steps"]
        == ptb_gpt.steps_for(ptb_gpt.CONFIGS["quick"], 20_000)
    )
    assert m["test_ppl"] < 10_000 and m["valid_ppl"] < 10_000
    curve = result.series["curve"]["valid_ppl"]
    assert curve[-1] < curve[0]


def test_ptb_gpt_flop_count_follows_the_cost_module():
    from airoad_book.cost import training_flops_per_token

    c = ptb_gpt.CONFIGS["full"]
    steps = ptb_gpt.steps_for(c, 929_589)
    assert steps == round(8 * 929_589 / (32 * 64))
    per_token = training_flops_per_token(ptb_gpt.model_config(10_000, c))
    assert ptb_gpt.training_flops(c) == steps * 32 * 64 * per_token
