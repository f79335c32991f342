"""Chapter 5's experiments and figures: n-gram baselines by order, and KN5 against the
paper."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from airoad_book.experiments import module, ngram_baselines, ngram_ptb
from airoad_book.figures import ch05
from airoad_book.figures.registry import FIGURES
from airoad_book.figures.style import themed
from airoad_book.models.ngram import KneserNeyLM
from airoad_book.site import PLACEHOLDER

TINY = ngram_baselines.Config(
    word_orders=(1, 2, 3),
    char_orders=(1, 2, 3, 4),
    train_sample=4_000,
    max_train_tokens=30_000,
    max_valid_tokens=4_000,
)
TINY_PTB = ngram_ptb.Config(
    orders=(2, 3), max_train_tokens=30_000, max_eval_tokens=4_000
)


@pytest.fixture(scope="module")
def tiny():
    return ngram_baselines.run_config(TINY, seed=0)


@pytest.fixture(scope="module")
def kn5():
    """The real run on the whole Penn Treebank: a few seconds."""
    return ngram_ptb.run_config(ngram_ptb.CONFIGS["quick"], seed=0)


def deterministic(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if not k.endswith("seconds")}


def test_both_experiments_follow_the_registry_contract():
    for name, mod in (("ngram-baselines", ngram_baselines), ("ngram-ptb", ngram_ptb)):
        assert module(name) is mod
        assert mod.NAME == name and mod.CHAPTER == 5 and mod.SUMMARY
        assert set(mod.CONFIGS) == {"quick", "full"}
    assert (
        ngram_ptb.CONFIGS["quick"] == ngram_ptb.CONFIGS["full"]
    )  # the quick run is the full run


def test_tiny_baselines_give_finite_metrics_a_table_per_corpus_and_series(tiny):
    assert tiny.metrics and all(math.isfinite(v) for v in tiny.metrics.values())
    assert set(tiny.tables) == {"ptb", "shakespeare"}
    assert len(tiny.tables["ptb"].rows) == len(TINY.word_orders)
    assert len(tiny.tables["shakespeare"].rows) == len(TINY.char_orders)
    assert tiny.series["shakespeare"]["orders"] == list(TINY.char_orders)
    for key in ("ptb", "shakespeare"):
        assert tiny.text[key].startswith("Add-one")
        for model in ("add-one", "kn"):
            for split in ("train", "valid"):
                assert len(tiny.series[key][model][split]) == len(
                    tiny.series[key]["orders"]
                )
    assert tiny.metrics["vocab_size_ptb"] == 10_000


def test_tiny_ngram_ptb_gives_finite_metrics_and_a_verdict():
    result = ngram_ptb.run_config(TINY_PTB, seed=0)
    assert all(math.isfinite(v) for v in result.metrics.values())
    assert (
        result.metrics["published_kn5_test_ppl"] == 141.2
    )  # a constant from the paper
    assert "KN3" in result.tables["test"].to_markdown()
    assert "3-gram" in result.text["verdict"]


def test_the_same_seed_gives_identical_metrics(tiny):
    again = ngram_baselines.run_config(TINY, seed=0)
    assert deterministic(again.metrics) == deterministic(tiny.metrics)
    assert again.text == tiny.text


def test_train_perplexity_falls_with_order_for_kneser_ney(tiny):
    for key in ("ptb", "shakespeare"):
        train = tiny.series[key]["kn"]["train"]
        assert all(b < a for a, b in zip(train, train[1:])), (key, train)


def test_kneser_ney_beats_add_one_at_order_3_on_ptb_valid():
    corpus = ngram_baselines.ptb_corpus(ngram_baselines.Config())  # the whole PTB
    models = {
        key: cls(3, corpus.vocab_size).fit(corpus.train)
        for key, cls in ngram_baselines.MODELS.items()
    }
    ppl = {key: m.perplexity(corpus.valid) for key, m in models.items()}
    assert ppl["kn"] < ppl["add-one"] / 10, ppl  # not close: an order of magnitude


def test_our_kn5_is_within_2_percent_of_the_published_141_2(kn5):
    assert kn5.metrics["published_kn5_test_ppl"] == 141.2
    assert kn5.metrics["n_train_tokens"] == 929_589
    assert kn5.metrics["kn5_test_ppl"] == pytest.approx(141.2, rel=0.02)
    assert (
        kn5.metrics["kn5_valid_ppl"] > kn5.metrics["kn5_test_ppl"]
    )  # PTB's valid set is harder
    assert f"{kn5.metrics['kn5_test_ppl']:.1f}" in kn5.text["verdict"]
    assert "141.2" in kn5.text["verdict"]


def test_kn5_discounts_lie_in_their_ranges_and_d1_grows_with_the_order(kn5):
    for k in range(1, 6):
        D = [kn5.metrics[f"kn5_discount_order{k}_{d}"] for d in ("d1", "d2", "d3plus")]
        assert 0 < D[0] < 1 and 0 < D[1] < 2 and 0 < D[2] < 3, (k, D)
    d1 = [kn5.metrics[f"kn5_discount_order{k}_d1"] for k in range(1, 6)]
    assert d1 == sorted(d1), (
        d1
    )  # the chapter says so: a single sighting is worth less as n grows


def test_scoring_sentence_by_sentence_only_cuts_histories():
    ids = np.array(
        [5, 6, 1, 7, 5, 1, 6, 6, 1, 5, 7, 1]
    )  # four sentences ending in <eos> = 1
    stream = {n: KneserNeyLM(n, 8).fit(ids) for n in (2, 3)}
    by_sentence = {
        n: ngram_ptb.by_sentence_log_probs(m, ids, eos_id=1) for n, m in stream.items()
    }
    # a bigram's one-word history is the same both ways (the <eos> before), except at
    # the start
    np.testing.assert_allclose(by_sentence[2][1:], stream[2].token_log_probs(ids)[1:])
    # a trigram's history no longer reaches back into the previous sentence
    assert not np.allclose(by_sentence[3][1:], stream[3].token_log_probs(ids)[1:])


def test_train_stretches_take_the_sample_size_spread_over_the_text():
    x = np.arange(1_000)
    pieces = ngram_baselines.train_stretches(x, 100, pieces=10)
    assert sum(len(p) for p in pieces) == 100
    assert pieces[0][0] == 0 and pieces[-1][-1] == 999
    assert ngram_baselines.train_stretches(x, None)[0] is x


@pytest.mark.parametrize("draw", [ch05.ngram_orders, ch05.ngram_orders_chars])
def test_figures_draw_from_a_result_without_training(tiny, draw):
    with themed("light"):
        fig = draw(tiny)
    assert isinstance(fig, Figure)
    assert len(fig.axes[0].lines) >= 4  # two models x train and valid


def test_the_budgets_are_the_ones_the_chapter_describes():
    quick, full = ngram_baselines.CONFIGS["quick"], ngram_baselines.CONFIGS["full"]
    assert quick.word_orders == full.word_orders == (1, 2, 3, 4, 5)
    assert (
        quick.char_orders[-1] == 6 and full.char_orders[-1] == 10
    )  # "to 6 ... and to 10"
    # the page quotes the sample sizes from the run, not from a typed number
    assert quick.train_sample == quick.max_valid_tokens == 100_000
    page = (Path(__file__).resolve().parents[1] / "docs/part2/05-ngrams.md").read_text(
        encoding="utf-8"
    )
    for key in ("train_scored_tokens_ptb", "valid_tokens_shakespeare"):
        assert f"{{{{ value ngram-baselines {key} " in page


def test_every_placeholder_of_the_chapter_names_something_its_experiment_returns(
    tiny, kn5
):
    page = (Path(__file__).resolve().parents[1] / "docs/part2/05-ngrams.md").read_text(
        encoding="utf-8"
    )
    results = {"ngram-baselines": tiny, "ngram-ptb": kn5}
    found = PLACEHOLDER.findall(page)
    assert {kind for kind, _ in found} >= {"figure", "table", "value", "text"}
    for kind, args in found:
        name, *rest = args.split()
        if kind == "figure":
            assert name in FIGURES and FIGURES[name].experiment in results, name
            continue
        where = {
            "table": results[name].tables,
            "value": results[name].metrics,
            "text": results[name].text,
        }
        assert rest[0] in where[kind], (kind, args)
