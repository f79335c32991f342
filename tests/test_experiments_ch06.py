"""Chapter 6's experiments and figures, run at a tiny size: their contracts and their
claims."""

import math
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from airoad_book.experiments import bengio_vs_ngram, names_nplm
from airoad_book.figures import registry
from airoad_book.figures.style import themed
from airoad_book.models.bengio import NPLM, NPLMConfig

TINY_PTB = bengio_vs_ngram.Config(
    kn_order=3,
    embed_dim=8,
    hidden=16,
    batch_size=64,
    max_steps=20,
    eval_every=10,
    curve_tokens=1000,
    train_tokens=20_000,
    eval_tokens=2_000,
    pca_words=200,
    plot_words=50,
    neighbour_pool=500,
    lambda_grid=11,
)
TINY_NAMES = names_nplm.Config(
    embed_dim=4,
    hidden=16,
    batch_size=32,
    max_steps=40,
    eval_every=20,
    kn_orders=(2, 3),
    samples=4,
    train_names=400,
)


@pytest.fixture(scope="module")
def ptb():
    return bengio_vs_ngram.run_config(TINY_PTB, seed=0)


@pytest.fixture(scope="module")
def names():
    return names_nplm.run_config(TINY_NAMES, seed=0)


def test_bengio_vs_ngram_reports_test_perplexity_of_all_three_models(ptb):
    for key in (
        "kn_ppl",
        "nplm_ppl",
        "mix_ppl",
        "kn_valid_ppl",
        "nplm_valid_ppl",
        "mix_valid_ppl",
    ):
        assert math.isfinite(ptb.metrics[key]) and ptb.metrics[key] > 1, key
    assert 0.0 <= ptb.metrics["mix_lambda"] <= 1.0
    table = ptb.tables["test"]
    assert table.columns == ["model", "parameters", "valid ppl", "test ppl"]
    assert [row[3] for row in table.rows] == [
        ptb.metrics[k] for k in ("kn_ppl", "nplm_ppl", "mix_ppl")
    ]
    assert ptb.metrics["train_steps"] == TINY_PTB.max_steps
    assert "claim" in ptb.text["verdict"]


def test_mixture_at_the_chosen_lambda_is_no_worse_than_either_model_on_valid(ptb):
    m = ptb.metrics
    assert m["mix_valid_ppl"] <= min(m["kn_valid_ppl"], m["nplm_valid_ppl"])


def test_the_lambda_grid_holds_both_pure_models_exactly():
    rng = np.random.default_rng(0)
    a, b = np.log(rng.uniform(0.01, 1, 50)), np.log(rng.uniform(0.01, 1, 50))
    assert np.array_equal(bengio_vs_ngram.mix_log_probs(a, b, 1.0), a)
    assert np.array_equal(bengio_vs_ngram.mix_log_probs(a, b, 0.0), b)
    lam, ppl = bengio_vs_ngram.choose_lambda(a, b, points=11)
    assert ppl[0] == bengio_vs_ngram.perplexity(b) and ppl[
        -1
    ] == bengio_vs_ngram.perplexity(a)
    assert ppl.min() <= min(ppl[0], ppl[-1])


def test_the_mixture_of_probabilities_beats_the_mixture_of_log_probabilities():
    # ln(λ p + (1-λ) q) >= λ ln p + (1-λ) ln q (the log is concave): mixing never costs
    # more than the weighted average of the two models' losses
    rng = np.random.default_rng(1)
    a, b = np.log(rng.uniform(0.001, 1, 100)), np.log(rng.uniform(0.001, 1, 100))
    for lam in (0.1, 0.5, 0.9):
        assert np.all(
            bengio_vs_ngram.mix_log_probs(a, b, lam) >= lam * a + (1 - lam) * b - 1e-12
        )


def test_nplm_scores_every_token_and_agrees_with_cross_entropy():
    torch.manual_seed(0)
    model = NPLM(NPLMConfig(vocab_size=13, context=3, embed_dim=4, hidden=5))
    with torch.no_grad():
        model.U.normal_()
    ids = torch.randint(1, 13, (40,))
    log_p = bengio_vs_ngram.nplm_log_probs(model, ids, pad_id=0, batch=7)
    assert log_p.shape == (40,)
    X, Y = bengio_vs_ngram.padded_windows(ids, 3, 0)
    expected = -torch.nn.functional.cross_entropy(model(X), Y).item()
    assert log_p.mean() == pytest.approx(expected, abs=1e-6)


def test_names_nplm_reports_nats_per_char_and_generated_names(names):
    m = names.metrics
    for key in ("nplm_test_nats", "kn_test_nats", "mix_test_nats", "addone_test_nats"):
        assert math.isfinite(m[key]) and 0 < m[key] < 2 * m["uniform_nats"], key
    assert m["mix_valid_nats"] <= min(m["kn_valid_nats"], m["nplm_valid_nats"]) + 1e-12
    assert len(names.series["samples"]) == TINY_NAMES.samples
    assert all(
        set(s) <= set("abcdefghijklmnopqrstuvwxyz") for s in names.series["samples"]
    )
    assert {"test", "samples"} <= set(names.tables)


def test_names_baselines_and_nplm_score_the_same_symbols():
    sample = ["emma", "al", "zoe"]
    _, Y = names_nplm.name_windows(sample, context=3)
    lm = names_nplm.KneserNeyLM(3, len(names_nplm.CHARS)).fit(
        names_nplm.training_stream(sample)
    )
    assert (
        len(names_nplm.ngram_log_probs(lm, sample))
        == len(Y)
        == sum(len(s) + 1 for s in sample)
    )
    assert names_nplm.name_windows(["emma"], 3)[0][0].tolist() == [
        0,
        0,
        0,
    ]  # "..." before "e"


def test_a_name_with_other_characters_is_a_clear_error():
    with pytest.raises(ValueError, match="a-z"):
        names_nplm.encode("Anne-Marie")


@pytest.mark.parametrize("module", [bengio_vs_ngram, names_nplm])
def test_both_budgets_exist_and_an_unknown_one_is_refused(module):
    assert set(module.CONFIGS) == {"quick", "full"}
    with pytest.raises(ValueError, match="budget"):
        module.run("huge", seed=0, seconds=None)


def test_fixed_seed_gives_identical_metrics_twice(ptb, names):
    ptb_again = bengio_vs_ngram.run_config(TINY_PTB, seed=0)
    names_again = names_nplm.run_config(TINY_NAMES, seed=0)
    assert ptb_again.metrics == ptb.metrics
    assert names_again.metrics == names.metrics
    assert names_again.series["samples"] == names.series["samples"]


def test_a_seconds_cap_stops_training_early():
    result = names_nplm.run_config(
        replace(TINY_NAMES, max_steps=100_000), seed=0, seconds=0.2
    )
    assert result.metrics["train_steps"] < 100_000


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_chapter_6_figures_draw_from_tiny_results(ptb, names, theme):
    specs = {
        n: s for n, s in registry().items() if s.module == "airoad_book.figures.ch06"
    }
    assert {"bengio-learning-curves", "bengio-embeddings", "bengio-mixture"} <= set(
        specs
    )
    results = {"bengio-vs-ngram": ptb, "names-nplm": names}
    with themed(theme):
        for spec in specs.values():
            fig = spec.draw(results[spec.experiment])
            assert isinstance(fig, Figure)
            plt.close(fig)
