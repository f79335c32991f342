"""Chapter 13's experiment and figures, run at a tiny size: one budget, the same
characters, honest verdicts."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

from airoad_book.cost import parameter_count
from airoad_book.experiments import evolution as exp
from airoad_book.figures import registry
from airoad_book.figures.style import themed
from airoad_book.models.bengio import paper_parameter_count as nplm_count
from airoad_book.models.rnnlm import paper_parameter_count as rnn_count

TINY = exp.Config(
    params=12_000,
    seconds=0.4,
    train_chars=60_000,
    curve_chars=256,
    valid_chars=512,
    eval_points=3,
    kn_order=3,
    probe_steps=1,
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


@pytest.fixture(scope="module")
def result():
    return exp.run_config(TINY, seed=0)


@pytest.mark.parametrize(
    "config",
    [exp.CONFIGS["quick"], exp.CONFIGS["full"], TINY],
    ids=["quick", "full", "tiny"],
)
def test_every_network_is_within_ten_percent_of_the_parameter_budget(config):
    models = exp.build_models(86, config)
    assert set(models) == set(exp.NEURAL)
    for key, model in models.items():
        assert abs(model.num_parameters / config.params - 1) <= 0.10, (
            key,
            model.num_parameters,
        )


def test_the_counts_the_budget_is_solved_with_are_the_models_counts():
    models = exp.build_models(86, exp.CONFIGS["quick"])
    assert nplm_count(models["nplm"].config) == models["nplm"].num_parameters
    assert rnn_count(models["rnn"].config) == models["rnn"].num_parameters
    assert (
        parameter_count(models["transformer"].config)
        == models["transformer"].num_parameters
    )


@pytest.mark.parametrize("context", [8, 32, 128])
@pytest.mark.parametrize("chars", [None, 300, 4_096, 5_000])
def test_aligned_valid_leaves_the_gpt_windows_no_tail(context, chars):
    ids = torch.arange(6_001)
    v = exp.aligned_valid(ids, chars, context)
    scored, wanted = len(v) - 1, 6_000 if chars is None else chars
    assert (scored - context) % (
        context // 2
    ) == 0  # windows at 0, T/2, T, … end exactly at the end
    assert wanted - context // 2 < scored <= wanted
    assert torch.equal(v, ids[: len(v)])  # the first characters, in order


def test_aligned_valid_rejects_a_stream_shorter_than_a_context():
    with pytest.raises(ValueError, match="at least context"):
        exp.aligned_valid(torch.arange(20), None, 32)


def test_bad_settings_are_refused_at_the_edge():
    with pytest.raises(ValueError, match="params"):
        exp.Config(params=10)
    with pytest.raises(ValueError, match="seconds"):
        exp.Config(seconds=0)
    with pytest.raises(ValueError, match="expected one of"):
        exp.contestant(
            "cnn",
            None,
            torch.arange(100),
            0,
            TINY,
            torch.Generator(),
            torch.Generator(),
        )


def test_reports_every_metric_the_issue_names_for_every_model(result):
    m = result.metrics
    for key in exp.MODELS:
        for name in ("val_loss", "tokens_per_s", "params", "seconds", "bits_per_char"):
            assert math.isfinite(m[f"{key}_{name}"]) and m[f"{key}_{name}"] > 0, (
                key,
                name,
            )
        assert m[f"{key}_bits_per_char"] == pytest.approx(
            m[f"{key}_val_loss"] / math.log(2)
        )
        assert m[f"{key}_tokens_per_s"] == pytest.approx(
            m[f"{key}_tokens"] / m[f"{key}_seconds"]
        )
    assert m["kn_params"] == m["kn_ngrams"]  # the n-gram's size is its table


def test_every_model_learned_something_within_its_time(result):
    m = result.metrics
    for key in exp.MODELS:
        assert m[f"{key}_val_loss"] < m["uniform_nats"], key
    for key in exp.NEURAL:
        # the wall-clock caps training: it overshoots the cap by about one step at
        # most (a step can take seconds on a loaded machine: twice the mean allowed)
        step = m[f"{key}_seconds"] / m[f"{key}_steps"]
        assert m[f"{key}_seconds"] <= TINY.seconds + max(1.0, 2 * step), key


def test_all_models_score_the_same_validation_characters(result):
    m = result.metrics
    assert (
        m["valid_chars_scored"]
        == len(exp.aligned_valid(torch.arange(10_000), TINY.valid_chars, TINY.context))
        - 1
    )
    assert (
        m["curve_chars_scored"] < m["valid_chars_scored"]
    )  # the final score reads more than the curve


def test_curves_hold_one_point_per_evaluation(result):
    for key in exp.NEURAL:
        c = result.series["curves"][key]
        assert (
            len(c["eval_seconds"]) == len(c["eval_tokens"]) == len(c["valid_nats"]) >= 1
        )
        assert c["eval_tokens"] == sorted(c["eval_tokens"])
        assert (
            c["eval_tokens"][-1] == result.metrics[f"{key}_tokens"]
        )  # the last point is the final model


def test_table_has_one_row_per_model_in_the_books_order(result):
    table = result.tables["race"]
    assert [row[2] for row in table.rows] == [exp.PAPERS[k][2] for k in exp.MODELS]
    assert "n-grams" in table.rows[0][3]
    assert len(result.tables["claims"].rows) == 6


def _metrics(**losses):
    m = {f"{k}_val_loss": 2.0 for k in exp.MODELS}
    m |= {f"{k}_val_loss": v for k, v in losses.items()}
    m |= {"transformer_tokens_per_s": 20_000.0, "lstm_tokens_per_s": 10_000.0}
    return m


def test_claims_held_when_the_numbers_say_so():
    m = _metrics(kn=2.0, nplm=1.9, rnn=1.8, lstm=1.6, gru=1.62, transformer=1.5)
    assert "as Bengio et al. found" in exp.bengio_claim(m)
    assert "it beats both" in exp.mikolov_claim(m)
    assert "pay for themselves" in exp.lstm_claim(m)
    assert "comparable, as Chung" in exp.gru_claim(m)
    assert "2.0 times as fast" in exp.transformer_claim(
        m
    ) and "in line with Radford et al." in exp.transformer_claim(m)
    assert [row[3] for row in exp.claims_table(m).rows] == ["yes"] * 6


def test_claims_failed_when_the_numbers_say_so():
    m = _metrics(kn=1.5, nplm=1.9, rnn=2.0, lstm=2.1, gru=2.5, transformer=2.3)
    m["transformer_tokens_per_s"] = 5_000.0
    assert "did not hold" in exp.bengio_claim(m)
    assert "beats neither" in exp.mikolov_claim(m)
    assert "plain RNN is ahead" in exp.lstm_claim(m)
    assert "LSTM is ahead by 0.400" in exp.gru_claim(m)
    assert "not the faster reader" in exp.transformer_claim(
        m
    ) and "did not carry over" in exp.transformer_claim(m)
    assert [row[3] for row in exp.claims_table(m).rows] == ["no"] * 6


def test_a_gap_inside_the_tie_is_no_win():
    m = _metrics(kn=2.0, nplm=2.0 - exp.TIE / 2)
    assert "did not hold" in exp.bengio_claim(m)


@pytest.mark.parametrize("name", ["evolution-wallclock", "evolution-tokens"])
def test_figures_draw_in_both_themes(result, name):
    spec = registry()[name]
    assert spec.experiment == "evolution"
    for theme in ("light", "dark"):
        with themed(theme):
            fig = spec.draw(result)
        assert isinstance(fig, Figure)
        assert (
            len(fig.axes[0].lines) == len(exp.NEURAL) + 2
        )  # five curves, Kneser–Ney, uniform
        plt.close(fig)


def test_a_gru_well_ahead_of_the_lstm_is_still_comparable_or_better():
    m = _metrics(lstm=1.8, gru=1.7)
    assert "at least comparable" in exp.gru_claim(m)
    assert exp.claims_table(m).rows[3][3] == "yes"


def test_a_model_worse_than_a_uniform_guess_is_named_as_such():
    m = _metrics(rnn=5.0) | {"uniform_nats": 4.45, "valid_chars_scored": 4096.0}
    assert "RNN LM scores worse than the uniform guess" in exp.ranking_sentence(m)
    assert "worse than the uniform" not in exp.ranking_sentence(
        _metrics() | {"uniform_nats": 4.45, "valid_chars_scored": 4096.0}
    )


def test_the_whole_table_sentence_names_the_leader():
    counts_win = _metrics(kn=1.5, nplm=2.0, rnn=2.2, lstm=1.8, gru=1.7, transformer=2.5)
    assert "hardest to beat" in exp.whole_sentence(counts_win)
    assert "both gated recurrent models are ahead" in exp.whole_sentence(counts_win)
    assert "ranks 5 of 5" in exp.whole_sentence(counts_win)
    net_wins = _metrics(kn=1.5, transformer=1.2)
    assert "Transformer decoder (GPT) is the best model" in exp.whole_sentence(net_wins)


def test_rerender_rewrites_wording_from_the_recorded_metrics_and_keeps_the_numbers(
    result,
):
    recorded = result.to_dict()
    again = exp.rerender(recorded)
    assert again["metrics"] == recorded["metrics"]
    claims = again["tables"]["claims"]
    assert claims["columns"][-1] == "across scale"
    assert [row[-1] for row in claims["rows"]] == [
        f"[chapter 14](14-scaling.md#{anchor})" for anchor in exp.REGIMES
    ]
    assert again["text"]["bengio"] == exp.bengio_claim(recorded["metrics"])
