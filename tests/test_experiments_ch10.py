"""Chapter 10's experiments and figures, run at a tiny size: their contracts and their
claims."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

from airoad_book.data import numbers_task
from airoad_book.experiments import attention_alignments, seq2seq_length
from airoad_book.experiments.translation_training import (
    bleu_by_buckets,
    bleu_by_length,
    translate,
)
from airoad_book.figures import registry
from airoad_book.figures.style import themed

TINY_DATES = attention_alignments.Config(
    n_train=300,
    n_test=40,
    embed_dim=8,
    hidden_dim=16,
    align_dim=8,
    maxout_dim=8,
    batch_size=32,
    max_steps=8,
    heatmaps=2,
)
TINY_LENGTH = seq2seq_length.Config(
    max_digits=6,
    n_train=300,
    n_test=60,
    edges=(1, 6, 10, 30),
    embed_dim=8,
    encdec_hidden=16,
    attn_hidden=16,
    align_dim=8,
    maxout_dim=8,
    batch_size=32,
    max_steps=8,
)


@pytest.fixture(scope="module")
def dates():
    return attention_alignments.run_config(TINY_DATES, seed=0)


@pytest.fixture(scope="module")
def length():
    return seq2seq_length.run_config(TINY_LENGTH, seed=0)


def test_seq2seq_length_reports_whole_and_longest_bucket_bleu_of_both_models(length):
    m = length.metrics
    for key in ("bleu_encdec", "bleu_attn", "bleu_long_encdec", "bleu_long_attn"):
        assert 0.0 <= m[key] <= 100.0, key
    b = length.series["buckets"]
    assert (
        b["labels"] == ["1–5", "6–9", "10–29"]
        and sum(b["counts"]) == m["test_pairs"] == 60
    )
    last = max(i for i, n in enumerate(b["counts"]) if n > 0)
    assert (
        b["encdec"][last] == m["bleu_long_encdec"]
        and b["attn"][last] == m["bleu_long_attn"]
    )
    assert length.tables["buckets"].rows[-1][:4] == [
        "all",
        60,
        m["bleu_encdec"],
        m["bleu_attn"],
    ]
    assert length.tables["buckets"].rows[-1][4:] == [
        100 * m["exact_encdec"],
        100 * m["exact_attn"],
    ]
    assert "ms" in length.text["speed"]
    assert m["params_encdec"] > 0 and m["params_attn"] > 0 and m["train_steps"] == 8
    assert "claim" in length.text["verdict"] and "8 steps" in length.text["budget"]


def test_bucket_bleu_of_translations_made_once_equals_the_shared_bleu_by_length():
    task = numbers_task(n_train=200, n_valid=20, n_test=50, max_digits=6)
    torch.manual_seed(0)
    model = seq2seq_length.build_models(task, TINY_LENGTH)["attn"]
    edges = (1, 6, 10, 30)
    once = bleu_by_buckets(translate(model, task, task.test), task.test, edges)
    shared = bleu_by_length(model, task, task.test, edges)
    assert [r[:2] for r in once] == [r[:2] for r in shared]
    assert all(
        (math.isnan(a[2]) and math.isnan(b[2])) or a[2] == pytest.approx(b[2])
        for a, b in zip(once, shared)
    )


def test_attention_alignments_compares_every_score_on_bleu_and_exact_match(dates):
    m = dates.metrics
    for score in ("additive", "dot", "general"):
        assert 0.0 <= m[f"bleu_{score}"] <= 100.0 and 0.0 <= m[f"exact_{score}"] <= 1.0
        assert 0.0 <= m[f"year_mass_{score}"] <= 1.0 + 1e-9
    assert (
        m["params_dot"] < m["params_general"]
    )  # the dot score has no parameters of its own
    assert [row[0] for row in dates.tables["scores"].rows] == [
        "additive",
        "dot",
        "general",
    ]
    assert "additive" in dates.text["verdict"] and "%" in dates.text["year"]


def test_drawn_alignments_have_a_row_per_output_word_and_eos_summing_to_one(dates):
    examples = dates.series["alignments"]["examples"]
    assert len(examples) == 2
    for ex in examples:
        alpha = torch.tensor(ex["alpha"])
        assert alpha.shape == (len(ex["output"]) + 1, len(ex["source"]))
        assert torch.allclose(alpha.sum(1), torch.ones(alpha.shape[0]), atol=1e-5)


def test_year_attention_counts_weight_on_the_last_four_source_digits():
    source = ("mardi", "5", "mars", "2", "0", "2", "4")
    assert attention_alignments.year_positions(source) == [3, 4, 5, 6]
    output = ("2", "0", "2", "4", "-", "0", "3", "-", "0", "5")
    alpha = torch.zeros(11, 7)
    alpha[:, 0] = 1.0
    alpha[0, 3] = alpha[1, 4] = 1.0  # two year digits read exactly their own digit...
    alpha[0, 0] = alpha[1, 0] = 0.0
    alpha[2, 6], alpha[2, 0] = (
        0.5,
        0.5,
    )  # ...one half on the year, on the wrong digit; one not at all
    mass, hits = attention_alignments.year_attention([alpha], [source], [output])
    assert mass == pytest.approx((1 + 1 + 0.5 + 0) / 4) and hits == pytest.approx(2 / 4)


@pytest.mark.parametrize(
    "name",
    ["attention-bleu-by-length", "attention-learning-curves", "attention-alignments"],
)
def test_chapter_10_figures_draw_from_their_results(name, dates, length):
    spec = registry()[name]
    result = {"seq2seq-length": length, "attention-alignments": dates}[spec.experiment]
    with themed("light"):
        fig = spec.draw(result)
    assert isinstance(fig, Figure) and fig.axes
    plt.close(fig)
