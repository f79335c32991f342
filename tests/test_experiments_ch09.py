"""Chapter 9's experiments and figures, run at a tiny size: their contracts and their
claims."""

import math

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from airoad_book.experiments import reverse_source, seq2seq_numbers
from airoad_book.figures import registry
from airoad_book.figures.style import themed

TINY = seq2seq_numbers.Config(
    n_train=300,
    n_valid=40,
    n_test=60,
    max_digits=4,
    embed_dim=16,
    hidden_dim=32,
    batch_size=32,
    max_steps=100,
    eval_every=25,
    beam_sizes=(1, 2, 4),
    length_edges=(1, 4, 8, 12),
)


@pytest.fixture(scope="module")
def numbers():
    return seq2seq_numbers.run_config(TINY, seed=0)


@pytest.fixture(scope="module")
def reverse():
    return reverse_source.run_config(TINY, seed=0)


def test_seq2seq_numbers_reports_bleu_for_every_beam_and_length_bucket(numbers):
    m = numbers.metrics
    for key in ("bleu_greedy", "bleu_beam2", "bleu_beam4", "bleu_short", "bleu_long"):
        assert 0.0 <= m[key] <= 100.0
    assert [row[0] for row in numbers.tables["beams"].rows] == ["1 (greedy)", "2", "4"]
    assert [row[0] for row in numbers.tables["lengths"].rows] == ["1–3", "4–7", "8–11"]
    assert sum(row[1] for row in numbers.tables["lengths"].rows) == TINY.n_test
    assert m["train_steps"] == TINY.max_steps and m["ms_per_sentence_beam4"] > 0
    assert "BLEU" in numbers.text["verdict"]


def test_the_tiny_model_learns_something_real(numbers):
    # 100 steps on 300 pairs: far from perfect, but clearly above a model that learned
    # nothing
    assert numbers.metrics["bleu_greedy"] > 25.0


def test_reverse_source_trains_both_orders_with_the_same_budget(reverse):
    m = reverse.metrics
    assert m["train_steps_forward"] == m["train_steps_reversed"] == TINY.max_steps
    for order in ("forward", "reversed"):
        assert math.isclose(m[f"valid_ppl_{order}"], math.exp(m[f"valid_loss_{order}"]))
        assert (
            len(reverse.series["curves"][order]["loss"])
            == TINY.max_steps // TINY.eval_every
        )
    assert (
        m["valid_loss_forward"] != m["valid_loss_reversed"]
    )  # the source order reached the model
    assert "Sutskever" in reverse.text["verdict"] or "claim" in reverse.text["verdict"]


def test_the_two_experiments_share_one_trained_model_per_setting(numbers, reverse):
    model, _ = seq2seq_numbers.train_numbers_model(TINY, 0, None, reverse_source=True)
    again, _ = seq2seq_numbers.train_numbers_model(TINY, 0, None)
    assert model is again
    assert reverse.metrics["valid_loss_reversed"] == numbers.metrics["valid_loss"]


def test_verdicts_follow_the_numbers():
    better = {
        "valid_loss_forward": 0.5,
        "valid_loss_reversed": 0.2,
        "bleu_forward": 50.0,
        "bleu_reversed": 70.0,
        "train_steps_forward": 10,
    }
    assert "claim holds here" in reverse_source.verdict(better)
    worse = dict(better, valid_loss_reversed=0.6, bleu_reversed=40.0)
    assert "does not hold" in reverse_source.verdict(worse)
    flat = [("4–7", 10, 80.0), ("8–11", 10, 80.5), ("12–15", 10, 79.5)]
    m = {
        "bleu_greedy": 80.0,
        "bleu_beam2": 80.0,
        "bleu_beam4": 80.0,
        "bleu_beam8": 80.0,
    }
    assert "does not fall" in seq2seq_numbers.verdict(m, flat, seq2seq_numbers.Config())
    assert "No beam size beats greedy" in seq2seq_numbers.verdict(
        m, flat, seq2seq_numbers.Config()
    )
    assert (
        "The 5 test sources shorter than 4 tokens (2 in training)"
        in seq2seq_numbers.short_sources(5, 2, 4)
    )
    assert "at least 4 tokens" in seq2seq_numbers.short_sources(0, 0, 4)


def test_bad_budget_names_the_budgets():
    with pytest.raises(ValueError, match="quick"):
        reverse_source.run("medium", 0, None)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_chapter_9_figures_draw_from_tiny_results(numbers, reverse, theme):
    specs = {
        n: s for n, s in registry().items() if s.module == "airoad_book.figures.ch09"
    }
    assert {"reverse-source-curves", "seq2seq-bleu-by-length"} <= set(specs)
    results = {"reverse-source": reverse, "seq2seq-numbers": numbers}
    with themed(theme):
        for spec in specs.values():
            fig = spec.draw(results[spec.experiment])
            assert isinstance(fig, Figure)
            plt.close(fig)
