"""Chapter 7's experiments and figures, run at a tiny size: their contracts and their
claims."""

import math
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from airoad_book.data import batchify
from airoad_book.experiments import rnn_gradients, rnn_lm
from airoad_book.experiments.recurrent_training import CarriedStateLoss, endless_bptt
from airoad_book.figures import registry
from airoad_book.figures.style import themed
from airoad_book.models.rnnlm import RNNLM, RNNLMConfig

TINY = rnn_lm.Config(
    kn_order=3,
    hidden=16,
    batch_size=8,
    bptt=10,
    max_steps=20,
    train_seconds=None,
    eval_every=10,
    curve_tokens=500,
    nplm_embed=8,
    nplm_hidden=16,
    nplm_batch=64,
    train_tokens=20_000,
    valid_tokens=1_000,
    test_tokens=1_000,
    lambda_grid=11,
    char_order=3,
    char_hidden=16,
    char_batch=8,
    char_bptt=10,
    char_steps=20,
    char_seconds=None,
    char_train_tokens=20_000,
    char_eval_tokens=1_000,
)
TINY_GRADIENTS = rnn_gradients.Config(hidden=20, steps=30, nets=2)


@pytest.fixture(scope="module")
def result():
    return rnn_lm.run_config(TINY, seed=0)


@pytest.fixture(scope="module")
def gradients():
    return rnn_gradients.run_config(TINY_GRADIENTS, seed=0)


def test_rnn_lm_reports_test_perplexity_of_every_model_and_mixture(result):
    m = result.metrics
    for key in (
        "kn_ppl",
        "nplm_ppl",
        "rnn_ppl",
        "rnn_kn_ppl",
        "nplm_kn_ppl",
        "all_ppl",
    ):
        assert math.isfinite(m[key]) and m[key] > 1, key
    assert m["test_tokens"] == TINY.test_tokens
    assert [row[4] for row in result.tables["test"].rows] == [
        m[k]
        for k in (
            "kn_ppl",
            "nplm_ppl",
            "rnn_ppl",
            "nplm_kn_ppl",
            "rnn_kn_ppl",
            "all_ppl",
        )
    ]
    assert m["rnn_steps"] == m["nplm_steps"] == TINY.max_steps
    assert "claim" in result.text["verdict"]


def test_every_mixture_is_no_worse_than_its_parts_on_valid(result):
    m = result.metrics
    assert m["rnn_kn_valid_ppl"] <= min(m["rnn_valid_ppl"], m["kn_valid_ppl"]) + 1e-9
    assert m["all_ppl"] > 1 and 0.0 <= m["nplm_kn_lambda"] <= 1.0


def test_the_character_comparison_reports_bits_per_character(result):
    m = result.metrics
    for key in ("char_kn_bpc", "char_rnn_bpc", "char_mix_bpc"):
        assert 0 < m[key] < math.log2(m["char_vocab_size"]) + 1, key
    assert m["char_rnn_steps"] == TINY.char_steps


def test_carried_state_loss_starts_each_pass_from_zero_and_carries_between_windows():
    torch.manual_seed(0)
    model = RNNLM(RNNLMConfig(vocab_size=11, hidden=5))
    streams = batchify(
        torch.randint(0, 11, (2 * 13,)), 2
    )  # (2, 13): 3 windows of 4 per pass
    loss_fn = CarriedStateLoss()
    batches = endless_bptt(streams, 4, loss_fn, epochs=2)
    first = next(batches)
    loss_fn(model, first)
    carried = loss_fn.state.clone()
    assert not carried.requires_grad and carried.abs().sum() > 0
    second = next(batches)
    assert torch.equal(second[0][:, 0], first[1][:, -1])
    # the second window starts from the first window's last state, exactly
    expected, _ = model(second[0], carried)
    loss = torch.nn.functional.cross_entropy(
        expected.reshape(-1, 11), second[1].reshape(-1)
    )
    assert loss_fn(model, second).item() == pytest.approx(loss.item())
    loss_fn(model, next(batches))  # the pass's last window
    again = next(
        batches
    )  # the next pass: the streams jump back, the state starts from zero
    assert torch.equal(again[0], first[0])
    logits, _ = model(again[0])  # from s(0) = 0
    fresh = torch.nn.functional.cross_entropy(
        logits.reshape(-1, 11), again[1].reshape(-1)
    )
    assert loss_fn(model, again).item() == pytest.approx(fresh.item())


def test_stream_scoring_carries_the_state_through_the_whole_text():
    torch.manual_seed(0)
    model = RNNLM(RNNLMConfig(vocab_size=13, hidden=6))
    with torch.no_grad():
        model.V.normal_()
    ids = torch.randint(1, 13, (50,))
    log_p = rnn_lm.rnn_log_probs(
        model, ids, first_id=0, chunk=7
    )  # several chunks, one stream
    logits, _ = model(
        torch.cat([torch.tensor([0]), ids[:-1]]).unsqueeze(0)
    )  # one call, no chunks
    expected = (
        -torch.nn.functional.cross_entropy(logits[0], ids, reduction="none")
        .detach()
        .double()
        .numpy()
    )
    assert log_p.shape == (50,)
    np.testing.assert_allclose(log_p, expected, atol=1e-5)


def test_gradients_vanish_below_radius_one_and_explode_well_above_it(gradients):
    m = gradients.metrics
    assert m["norm_ratio_rho_0.5"] < 1e-6
    assert m["norm_ratio_rho_2"] > 10
    norms = gradients.series["norms"]
    ends = [norms[r][-1] for r in ("0.5", "1", "2")]
    assert ends == sorted(ends)  # a larger radius keeps more of the gradient


@pytest.mark.parametrize("module", [rnn_lm, rnn_gradients])
def test_both_budgets_exist_and_an_unknown_one_is_refused(module):
    assert set(module.CONFIGS) == {"quick", "full"}
    with pytest.raises(ValueError, match="budget"):
        module.run("huge", seed=0, seconds=None)


def test_the_quick_budget_gives_both_networks_the_same_training_tokens():
    quick = rnn_lm.CONFIGS["quick"]
    assert quick.train_seconds is None and quick.char_seconds is None  # steps stop them
    rnn_tokens = quick.max_steps * quick.batch_size * quick.bptt
    assert rnn_tokens == quick.nplm_steps * quick.nplm_batch  # tokens predicted
    assert rnn_lm.CONFIGS["full"].hidden >= 200


def test_fixed_seed_gives_identical_metrics_twice(result):
    again = rnn_lm.run_config(TINY, seed=0)
    assert again.metrics == result.metrics


def test_a_seconds_cap_stops_training_early():
    config = replace(TINY, max_steps=100_000, char_steps=100_000)
    result = rnn_lm.run_config(config, seed=0, seconds=0.3)
    assert (
        result.metrics["rnn_steps"] < 100_000
        and result.metrics["char_rnn_steps"] < 100_000
    )


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_chapter_7_figures_draw_from_tiny_results(result, gradients, theme):
    specs = {
        n: s for n, s in registry().items() if s.module == "airoad_book.figures.ch07"
    }
    assert {"rnn-gradient-norms", "rnn-learning-curves"} <= set(specs)
    results = {"rnn-lm": result, "rnn-gradients": gradients}
    with themed(theme):
        for spec in specs.values():
            fig = spec.draw(results[spec.experiment])
            assert isinstance(fig, Figure)
            plt.close(fig)
