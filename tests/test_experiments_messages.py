"""The experiments of chapters 9–11 on real translations, at tiny budgets: their
metrics, tables and verdicts, and the BLEU intervals against sacrebleu's own scores."""

from __future__ import annotations

import math

import pytest

from airoad_book.experiments import messages_length, messages_reversal, real_translation


@pytest.fixture(scope="module")
def race():
    c = real_translation.Config(steps=4, eval_every=2, bootstrap=50)
    return real_translation.run_config(c, seed=0)


def test_real_translation_reports_the_issue_s_metrics(race):
    m = race.metrics
    for key in ("bleu_transformer", "bleu_attn_rnn", "bleu_transformer_words"):
        assert m[f"{key}_lo"] <= m[key] + 1e-6 and m[key] <= m[f"{key}_hi"] + 1e-6
    # all four packages' catalogues: a group sharing a French sentence may carry the
    # test split a few pairs past 500
    assert 500 <= m["test_pairs"] < 510 and m["n_train"] >= 5000
    assert set(race.tables) == {"models", "buckets", "examples"}
    assert "BLEU" in race.text["verdict"] and "<unk>" in race.text["words"]
    assert "equal wall-clock" in race.text["verdict"]
    assert "BLEU" in race.text["headroom"]


def test_the_race_is_at_equal_steps_and_keeps_the_best_weights(race):
    m = race.metrics
    for key in real_translation.MODELS:
        assert m[f"steps_{key}"] == 4
        assert 1 <= m[f"best_step_{key}"] <= 4
        assert m[f"seconds_per_step_{key}"] > 0
    curves = race.series["curves"]
    for key in real_translation.MODELS:  # the weights of the best validation BLEU
        c = curves[key]
        assert len(c["bleu"]) == len(c["loss"]) == len(c["step"]) == 2
        assert m[f"valid_bleu_{key}"] == max(c["bleu"])
        best = c["step"].index(m[f"best_step_{key}"])
        assert c["bleu"][best] == max(c["bleu"])
        assert m[f"valid_loss_{key}"] == pytest.approx(c["loss"][best])


def test_select_loss_keeps_the_lowest_validation_loss_and_bad_select_is_an_error():
    c = real_translation.Config(
        steps=2, eval_every=1, bootstrap=20, max_output=3, select="loss"
    )
    out = real_translation.run_config(c)
    for key in real_translation.MODELS:
        curve = out.series["curves"][key]
        assert "bleu" not in curve
        assert out.metrics[f"valid_loss_{key}"] == pytest.approx(min(curve["loss"]))
    with pytest.raises(ValueError, match="select must be one of"):
        real_translation.run_config(real_translation.Config(steps=1, select="bleu!"))


def test_equal_seconds_reads_each_curve_at_the_faster_model_s_end():
    fast = {"step": [2, 4], "loss": [5.0, 4.0], "seconds": [1.0, 2.0]}
    slow = {"step": [2, 4], "loss": [4.5, 3.0], "seconds": [1.5, 3.0]}
    out = real_translation.equal_seconds(fast, slow)
    assert out["equal_seconds"] == 2.0
    assert out["equal_seconds_loss_transformer"] == 4.0
    assert out["equal_seconds_steps_transformer"] == 4
    assert out["equal_seconds_loss_attn_rnn"] == 4.5  # only its first evaluation
    assert out["equal_seconds_steps_attn_rnn"] == 2
    late = {"step": [4], "loss": [1.0], "seconds": [9.0]}
    assert math.isnan(
        real_translation.equal_seconds(fast, late)["equal_seconds_loss_attn_rnn"]
    )


def test_headroom_says_which_band_the_best_score_is_in():
    assert "below 15" in real_translation.headroom({"a": 3.0, "b": 9.9})
    assert "between 15 and 75" in real_translation.headroom({"a": 3.0, "b": 40.0})
    assert "(b)" in real_translation.headroom({"a": 3.0, "b": 40.0})
    assert "above 75" in real_translation.headroom({"a": 98.6, "b": 99.8})


def test_the_two_models_have_about_the_same_parameters(race):
    m = race.metrics
    assert (
        abs(m["params_attn_rnn"] - m["params_transformer"])
        < 0.1 * m["params_transformer"]
    )


def test_intervals_are_sacrebleu_scores_and_overlap_means_tied():
    refs = [
        "le chat est sur le tapis",
        "il fait beau aujourd'hui",
        "bonjour le monde",
    ] * 30
    good = ["le chat est sur le tapis", "il fait beau", "bonjour le monde"] * 30
    bad = ["le chien", "il pleut", "au revoir"] * 30
    out = real_translation.bleu_intervals(
        {"good": good, "bad": bad}, refs, n_samples=100
    )
    assert math.isclose(out["good"][0], real_translation.sacre_bleu(good, refs))
    assert out["good"][1] < out["good"][0] < out["good"][2]
    assert not real_translation.tied(out["good"], out["bad"])
    assert real_translation.tied((20.0, 18.0, 22.0), (23.0, 21.5, 24.0))


@pytest.fixture(scope="module")
def reversal():
    return messages_reversal.run_config(
        messages_reversal.Config(steps=2, eval_every=1, bootstrap=50)
    )


@pytest.fixture(scope="module")
def length():
    return messages_length.run_config(
        messages_length.Config(steps=2, eval_every=1, bootstrap=50)
    )


def test_reversal_and_length_experiments_report_their_metrics(reversal, length):
    r = reversal
    assert {
        "bleu_forward",
        "bleu_reversed",
        "bleu_forward_lo",
        "bleu_reversed_hi",
        "tied",
        "oov_source",
        "pieces_per_word",
    } <= set(r.metrics)
    assert 0 < r.metrics["oov_source"] < 0.2
    assert "Sutskever" in r.text["verdict"]
    assert "BLEU" in r.text["headroom"] and "BLEU" in length.text["headroom"]
    assert {"bleu_seq2seq", "bleu_attention", "bleu_long_attention"} <= set(
        length.metrics
    )
    assert (
        sum(row[1] for row in length.tables["buckets"].rows)
        == length.metrics["test_pairs"]
    )
    assert length.metrics["n_train"] >= 5000  # all four catalogues, as in chapter 11


@pytest.mark.parametrize(
    "name",
    ["messages-reversal-curves", "messages-length-curves", "real-translation-race"],
)
def test_the_figures_draw_from_their_results(name, race, reversal, length):
    import matplotlib.pyplot as plt

    from airoad_book.figures import registry

    spec = registry()[name]
    result = {
        "real-translation": race,
        "messages-reversal": reversal,
        "messages-length": length,
    }[spec.experiment]
    fig = spec.draw(result)
    assert fig.axes
    plt.close(fig)


def test_models_trained_at_once_match_those_trained_in_turn():
    c = real_translation.Config(steps=1, eval_every=1, bootstrap=20, max_output=3)
    alone = real_translation.run_config(c)
    together = real_translation.run_config(
        real_translation.Config(**{**c.__dict__, "workers": 3})
    )
    for key in real_translation.MODELS:
        for metric in ("bleu", "valid_loss", "params"):
            assert together.metrics[f"{metric}_{key}"] == pytest.approx(
                alone.metrics[f"{metric}_{key}"]
            )
    assert together.tables["examples"].rows == alone.tables["examples"].rows


def _buckets(seq2seq, attention):
    labels = ["1–3", "4–7", "8–11", "20–40"]
    return {
        "seq2seq": [(b, 10, s) for b, s in zip(labels, seq2seq)],
        "attention": [(b, 10, a) for b, a in zip(labels, attention)],
    }


@pytest.mark.parametrize(
    "seq2seq, attention, expected",
    [
        ([20, 18, 15, 4], [22, 21, 20, 18], "the shape of Bahdanau"),
        ([7, 11, 12, 0.8], [22, 21, 24, 2.3], "without attention's level curve"),
        ([7, 11, 12, 3.0], [22, 21, 24, 3.5], "no clear gap"),
    ],
)
def test_the_length_verdict_reads_the_shape_of_the_curves(seq2seq, attention, expected):
    text = messages_length.length_trend(_buckets(seq2seq, attention))
    assert expected in text and "(20–40 words)" in text
