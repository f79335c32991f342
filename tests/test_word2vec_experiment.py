"""Claims about the word-vector experiment: the test sets are there, the evaluator
agrees with gensim's, and the committed full run agrees with gensim within the stated
tolerance."""

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from airoad_book.data.word_benchmarks import _test_data, analogy_questions, word_pairs
from airoad_book.experiments import word2vec as w2v

ROOT = Path(__file__).resolve().parents[1]
FULL = ROOT / "results" / "word2vec-full.json"


def test_the_gensim_wheel_ships_the_three_sets():
    questions = analogy_questions()
    assert len(questions) == 19_544  # Mikolov et al. 2013a: 8,869 + 10,675
    assert sum(q.semantic for q in questions) == 8_869
    assert len({q.section for q in questions}) == 14
    assert questions[0].a == "athens" and questions[0].d == "iraq"
    assert len(word_pairs("wordsim353")) == 353
    assert len(word_pairs("simlex999")) == 999
    assert word_pairs("simlex999")[0] == ("old", "new", 1.58)


def test_loader_rejects_an_unknown_set():
    with pytest.raises(ValueError, match="wordsim353"):
        word_pairs("men3000")


def _structured_vectors(seed=0):
    """Vectors for the capital/country words where country ≈ capital + one offset."""
    rng = np.random.default_rng(seed)
    qs = [q for q in analogy_questions() if q.section == "capital-common-countries"]
    words = sorted({w for q in qs for w in (q.a, q.b, q.c, q.d)})
    words += [a for a, b, _ in word_pairs("wordsim353")[:60]]
    words += [b for a, b, _ in word_pairs("wordsim353")[:60]]
    words = list(dict.fromkeys(words))
    vecs = rng.normal(size=(len(words), 8)).astype(np.float32)
    stoi = {w: i for i, w in enumerate(words)}
    offset = rng.normal(size=8).astype(np.float32) * 2
    for q in qs:  # a : b is capital : country
        vecs[stoi[q.b]] = vecs[stoi[q.a]] + offset + rng.normal(size=8) * 0.3
    return words, vecs, stoi


def test_evaluator_matches_gensims():
    from gensim.models import KeyedVectors

    words, vecs, stoi = _structured_vectors()
    kv = KeyedVectors(8)
    kv.add_vectors(words, vecs)
    ours = w2v.score(vecs, stoi)
    # gensim's analogy evaluator, on the same questions file
    path = _test_data("questions-words.txt")
    acc, sections = kv.evaluate_word_analogies(str(path), case_insensitive=True)
    covered = sum(len(s["correct"]) + len(s["incorrect"]) for s in sections[-1:])
    assert covered / len(analogy_questions()) == pytest.approx(ours["analogy_coverage"])
    assert 0.2 < acc < 1.0  # the structure makes some, not all, answers right
    assert ours["analogy_acc"] == pytest.approx(acc, abs=1e-9)
    pairs = _test_data("wordsim353.tsv")
    _, (rho, _), _ = kv.evaluate_word_pairs(str(pairs), case_insensitive=True)
    assert ours["spearman_wordsim"] == pytest.approx(rho, abs=1e-6)


def test_similarity_returns_nan_when_nothing_is_covered():
    rho, coverage = w2v.similarity(np.ones((2, 3)), {"zzz": 0, "qqq": 1}, "simlex999")
    assert math.isnan(rho) and coverage == 0.0


def test_quick_experiment_on_a_small_slice(monkeypatch):
    small = replace(w2v.CONFIGS["quick"], tokens=8_000, dim=16)
    monkeypatch.setitem(w2v.CONFIGS, "quick", small)
    result = w2v.run("quick", seed=0)
    for key in (
        "spearman_wordsim",
        "spearman_simlex",
        "analogy_acc",
        "analogy_coverage",
        "gensim_spearman_wordsim",
        "gensim_analogy_acc",
        "speed_ratio_vs_gensim",
    ):
        assert key in result.metrics
    assert result.metrics["tokens"] == 8_000
    assert 0 < result.metrics["analogy_coverage"] < 1
    assert result.metrics["speed_ratio_vs_gensim"] > 0
    assert set(result.tables) >= {"models", "neighbours", "sections", "examples"}
    json.dumps(result.to_dict())  # everything is JSON-able
    # the figures draw from it (the committed full run, if there is one, or this run)
    import matplotlib

    matplotlib.use("Agg")
    from airoad_book.figures import word2vec as figs

    for draw in (figs.projection, figs.ladder):
        fig = draw(result)
        assert fig.axes
        matplotlib.pyplot.close(fig)


def test_ptb_stream_rejects_a_tiny_cut():
    with pytest.raises(ValueError, match="tokens"):
        w2v.ptb_stream(1)


@pytest.mark.skipif(not FULL.exists(), reason="no committed full run yet")
def test_committed_full_run_agrees_with_gensim_within_the_stated_tolerance():
    data = json.loads(FULL.read_text(encoding="utf-8"))
    m = data["metrics"]
    assert (
        abs(m["spearman_wordsim"] - m["gensim_spearman_wordsim"]) <= m["tol_spearman"]
    )
    assert abs(m["analogy_acc"] - m["gensim_analogy_acc"]) <= m["tol_analogy"]
    assert data["provenance"]["command"].startswith("airoad-book run word2vec")
    # the gaps are much smaller than the stated tolerance (the page quotes them)
    assert abs(m["spearman_wordsim"] - m["gensim_spearman_wordsim"]) < 0.05
    assert abs(m["analogy_acc"] - m["gensim_analogy_acc"]) < 0.005
    # the full run learned something, if little: above random vectors' scores
    assert m["analogy_acc"] > 0 and m["spearman_wordsim"] > 0.05
    rows = {r[0]: r for r in data["tables"]["neighbours"]["rows"]}
    assert "could" in rows["would"][1]  # skip-gram's neighbours of a modal verb


@pytest.mark.skipif(not FULL.exists(), reason="no committed full run yet")
def test_committed_full_run_supports_what_the_page_says():
    data = json.loads(FULL.read_text(encoding="utf-8"))
    m, ladder = data["metrics"], data["series"]["ladder"]
    # "five passes lift the vectors clear of chance" (chance is about 1 in 10,000)
    assert m["analogy_acc"] > 0.01
    # "more text and more passes over the same text both help here"
    for key in ("share", "passes"):
        rungs = ladder[key]
        assert rungs[-1]["analogy_acc"] > rungs[0]["analogy_acc"]
        assert rungs[-1]["spearman_wordsim"] > rungs[0]["spearman_wordsim"]
    # "quadrupling d moves the analogies by a fraction of a point and leaves
    # WordSim-353 where it was"
    dims = ladder["dim"]
    assert abs(dims[-1]["analogy_acc"] - dims[0]["analogy_acc"]) < 0.01
    assert abs(dims[-1]["spearman_wordsim"] - dims[0]["spearman_wordsim"]) < 0.02
    # the frequency bias: the rarest answers are answered worst
    bands = data["tables"]["frequency"]["rows"]
    assert bands[0][2] > bands[-1][2]
    # the page says the hierarchical softmax, at 1,024 pairs per step, trains: after
    # one pass it is clear of chance and at least level with one-pass negative sampling
    one_pass = ladder["passes"][0]
    assert one_pass["epochs"] == 1
    assert m["sg_hs_spearman_wordsim"] >= one_pass["spearman_wordsim"] > 0.05


def test_ladder_sentence_is_written_from_the_numbers():
    ladder = {
        "dim": [{"dim": 25, "analogy_acc": 0.1}, {"dim": 50, "analogy_acc": 0.2}],
        "share": [
            {"tokens": 10, "analogy_acc": 0.3},
            {"tokens": 20, "analogy_acc": 0.2},
        ],
    }
    text = w2v.ladder_text(ladder)
    assert "rises at every step (10.00% → 20.00%)" in text
    assert "does not rise (30.00% → 20.00%)" in text
    assert "passes ladder" not in text
    ladder["passes"] = [
        {"epochs": 1, "analogy_acc": 0.01, "spearman_wordsim": 0.1},
        {"epochs": 3, "analogy_acc": 0.03, "spearman_wordsim": 0.2},
        {"epochs": 10, "analogy_acc": 0.02, "spearman_wordsim": 0.3},
    ]
    text = w2v.ladder_text(ladder)
    assert "(1 → 3 → 10 passes over all the text)" in text
    assert "rises overall, though not at every step (1.00% → 3.00% → 2.00%)" in text
    assert "ρ rises at every step (0.100 → 0.200 → 0.300)" in text


def test_a_small_run_with_every_ladder(monkeypatch):
    small = replace(
        w2v.CONFIGS["quick"],
        tokens=6_000,
        dim=8,
        epochs=2,
        variants=("cbow-ns",),
        side_epochs=1,
        dims=(4,),
        shares=(0.5,),
        passes=(1,),
    )
    monkeypatch.setitem(w2v.CONFIGS, "quick", small)
    monkeypatch.setattr(w2v, "recorded_run", lambda: None)
    result = w2v.run("quick", seed=0)
    ladder = result.series["ladder"]
    assert [r["dim"] for r in ladder["dim"]] == [4, 8]
    assert [r["epochs"] for r in ladder["dim"]] == [1, 1]  # at side_epochs
    # the d = 8, one-pass model is trained once and sits on two ladders
    assert ladder["dim"][1]["analogy_acc"] == ladder["passes"][0]["analogy_acc"]
    assert [r["tokens"] for r in ladder["share"]] == [3_000, 6_000]
    assert [r["epochs"] for r in ladder["passes"]] == [1, 2]
    rows = result.tables["ladder"].rows
    assert [r[0] for r in rows] == ["dimension"] * 2 + ["data"] * 2 + ["passes"] * 2
    models = {r[0]: r for r in result.tables["models"].rows}
    assert models["book: " + w2v.LABELS["sg-ns"]][2] == 2  # passes column
    assert models["book: " + w2v.LABELS["cbow-ns"]][2] == 1
    assert "passes ladder (1 → 2 passes" in result.text["ladder"]
    assert result.text["variants"].startswith("At 1 pass over the text, CBOW")
    assert result.text["sections"]


def test_sections_sentence_is_written_from_the_table():
    rows = [
        ["family", 506, 110, 0.25],
        ["gram1-adjective-to-adverb", 992, 40, 0.0],
        ["gram9-plural-verbs", 870, 300, 0.1],
    ]
    text = w2v.sections_text(rows)
    assert text.startswith(
        "The sections answered best are family (25.0% of 110), "
        "gram9-plural-verbs (10.0% of 300)"
    )
    assert "1 section gets nothing right (gram1-adjective-to-adverb)" in text
    assert "No section" in w2v.sections_text([["family", 506, 110, 0.0]])


def test_variants_sentence_compares_at_the_same_number_of_passes():
    models = [
        ["book: skip-gram, negative sampling", 100, 5, 100.0, 0.3, 0.2, 0.05],
        ["gensim: skip-gram, negative sampling", 100, 5, 20.0, 0.3, 0.2, 0.05],
        ["book: skip-gram, hierarchical softmax", 100, 1, 60.0, 0.2, 0.1, 0.02],
        ["NPLM (chapter 6), 3,000 Adam steps", 100, 0.7, 90.0, 0.2, 0.1, 0.0],
    ]
    ladder = {
        "passes": [
            {
                "epochs": 1,
                "spearman_wordsim": 0.1,
                "spearman_simlex": 0.05,
                "analogy_acc": 0.01,
            }
        ]
    }
    text = w2v.variants_text(models, ladder)
    assert text.startswith("At 1 pass over the text, skip-gram, hierarchical softmax")
    assert "(negative-sampling skip-gram: 0.100, 0.050, 1.00%)" in text
    assert "in 3.0 times its time per pass" in text  # 60 s against 100 s / 5
    assert "no passes ladder" in w2v.variants_text(models, {})
    models[2][4:6] = [math.nan, math.nan]
    assert "hierarchical softmax diverged" in w2v.variants_text(models, ladder)


def test_nplm_sentence_lists_the_sets_in_plain_english():
    m = {
        "spearman_wordsim": 0.2,
        "spearman_simlex": 0.12,
        "analogy_acc": 0.046,
        "nplm_spearman_wordsim": 0.24,
        "nplm_spearman_simlex": 0.05,
        "nplm_analogy_acc": 0.006,
        "nplm_seconds": 30.0,
        "seconds_ours": 60.0,
        "speed_ratio_vs_gensim": 7.0,
    }
    text = w2v.nplm_text(m)
    assert "on SimLex-999 and the analogies, and lower on WordSim-353" in text
    assert "0.5 times as long" in text
