"""Chapter 8's experiments and figures, run at a tiny size: their contracts and their
claims."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

from airoad_book.decode import generate
from airoad_book.experiments import char_lm_shakespeare, long_lag, ptb_lstm
from airoad_book.experiments.recurrent_training import (
    CarriedStateLoss,
    StatefulStep,
    evaluate_streams,
)
from airoad_book.figures import registry
from airoad_book.figures.style import themed
from airoad_book.models.lstm import RecurrentLM

TINY_LAG = long_lag.Config(lags=(3, 6), max_steps=15, batch_size=32, test_size=100)
TINY_CHAR = char_lm_shakespeare.Config(
    train_chars=20_000,
    valid_chars=2_000,
    embed_dim=8,
    lstm_hidden=16,
    batch_size=8,
    bptt=16,
    seconds_each=None,
    max_steps=12,
    eval_every=6,
    sample_chars=20,
    trace_chars=300,
    show_chars=120,
)
TINY_PTB = ptb_lstm.Config(
    hidden=8, epochs=2, decay_after=1, train_tokens=2_000, eval_tokens=1_000
)


@pytest.fixture(scope="module")
def lag():
    return long_lag.run_config(TINY_LAG, seed=0)


@pytest.fixture(scope="module")
def char():
    return char_lm_shakespeare.run_config(TINY_CHAR, seed=0)


@pytest.fixture(scope="module")
def ptb():
    return ptb_lstm.run_config(TINY_PTB, seed=0)


def test_first_symbol_task_puts_the_answer_first_and_noise_after():
    x, y = long_lag.first_symbol_batch(
        50, 9, signals=4, noise=3, generator=torch.Generator().manual_seed(0)
    )
    assert x.shape == (50, 9) and torch.equal(x[:, 0], y)
    assert bool(((x[:, 1:] >= 4) & (x[:, 1:] < 7)).all())


def test_long_lag_reports_accuracy_of_every_model_at_the_longest_lag(lag):
    for kind in ("rnn", "lstm", "gru"):
        assert 0.0 <= lag.metrics[f"{kind}_acc_longest"] <= 1.0
        assert lag.series["accuracy"][kind][-1] == lag.metrics[f"{kind}_acc_longest"]
    counts = [lag.metrics[f"{k}_params"] for k in ("rnn", "lstm", "gru")]
    assert max(counts) / min(counts) < 1.05
    assert "T = 6" in lag.text["verdict"]


def test_gated_models_remember_a_short_lag_after_a_few_steps(lag):
    # at T = 3 the task is easy: the chrono-initialised LSTM and GRU get well above
    # chance
    assert (
        lag.series["accuracy"]["lstm"][0] > 0.5
        and lag.series["accuracy"]["gru"][0] > 0.5
    )


def test_char_lm_reports_bits_per_char_as_nats_over_ln2_for_equal_sized_models(char):
    m = char.metrics
    for kind in ("rnn", "lstm", "gru"):
        assert math.isclose(
            m[f"{kind}_valid_bpc"], m[f"{kind}_valid_nats"] / math.log(2)
        )
        assert m[f"{kind}_valid_bpc"] < m["uniform_bpc"]
        assert m[f"{kind}_steps"] == TINY_CHAR.max_steps
    counts = [m[f"{k}_params"] for k in ("rnn", "lstm", "gru")]
    assert max(counts) / min(counts) < 1.05
    assert len(char.tables["samples"].rows) == len(TINY_CHAR.temperatures)
    assert set(char.series["trace"]["features"]) == {
        "position in the line",
        "inside [brackets]",
    }


def test_line_position_and_brackets_features():
    text = "ab\n[cd]e"
    assert char_lm_shakespeare.line_position(text).tolist() == [1, 2, 0, 1, 2, 3, 4, 5]
    assert char_lm_shakespeare.in_brackets(text).tolist() == [0, 0, 0, 1, 1, 1, 1, 0]


def test_stateful_step_samples_the_same_as_rereading_the_whole_history():
    torch.manual_seed(0)
    model = RecurrentLM("lstm", 9, 4, 6).eval()

    def reread(ids):
        return model(ids)[0][:, -1]

    a = generate(
        StatefulStep(model), [1, 2], 15, generator=torch.Generator().manual_seed(3)
    )
    b = generate(reread, [1, 2], 15, generator=torch.Generator().manual_seed(3))
    assert a == b


def test_carried_state_equals_reading_the_streams_in_one_piece():
    torch.manual_seed(0)
    model = RecurrentLM("gru", 9, 4, 6).eval()
    streams = torch.randint(9, (3, 41))
    whole = torch.nn.functional.cross_entropy(
        model(streams[:, :-1])[0].reshape(-1, 9), streams[:, 1:].reshape(-1)
    )
    assert math.isclose(
        evaluate_streams(model, streams, bptt=7), whole.item(), rel_tol=1e-5
    )
    loss = CarriedStateLoss(sum_over_time=True)
    x, y = streams[:, :5], streams[:, 1:6]
    per_token = torch.nn.functional.cross_entropy(
        model(x)[0].reshape(-1, 9), y.reshape(-1)
    )
    assert math.isclose(loss(model, (x, y)).item(), 5 * per_token.item(), rel_tol=1e-5)
    assert loss.state is not None and not loss.state.requires_grad


def test_zaremba_schedule_is_one_for_four_epochs_then_halves():
    full = ptb_lstm.CONFIGS["full"]
    assert [ptb_lstm.learning_rate(e, full) for e in range(1, 8)] == [
        1,
        1,
        1,
        1,
        0.5,
        0.25,
        0.125,
    ]
    assert (
        full.hidden,
        full.layers,
        full.bptt,
        full.batch_size,
        full.epochs,
        full.clip_norm,
    ) == (200, 2, 20, 20, 13, 5.0)


def test_ptb_lstm_reports_perplexities_and_learns_something(ptb):
    m = ptb.metrics
    assert m["epochs_done"] == 2 and m["paper_test_ppl"] == 114.5
    assert 1 < m["test_ppl"] < 10_000  # below a uniform guess over the 10,000 words
    assert ptb.series["curve"]["lr"] == [1.0, 0.5]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_chapter_8_figures_draw_from_tiny_results(lag, char, ptb, theme):
    specs = {
        n: s for n, s in registry().items() if s.module == "airoad_book.figures.ch08"
    }
    assert {
        "long-lag-accuracy",
        "char-lm-curves",
        "lstm-cell-trace",
        "ptb-lstm-curve",
    } <= set(specs)
    results = {"long-lag": lag, "char-lm-shakespeare": char, "ptb-lstm": ptb}
    with themed(theme):
        for spec in specs.values():
            fig = spec.draw(results[spec.experiment])
            assert isinstance(fig, Figure)
            plt.close(fig)


def test_zaremba_medium_is_the_papers_regularised_setup():
    from airoad_book.experiments import ptb_lstm_dropout

    m = ptb_lstm_dropout.CONFIGS["full"]
    assert (m.hidden, m.layers, m.bptt, m.batch_size, m.epochs) == (650, 2, 35, 20, 39)
    assert (m.dropout, m.init_range, m.clip_norm) == (0.5, 0.05, 5.0)
    rates = [ptb_lstm.learning_rate(e, m) for e in range(1, 9)]
    assert rates[:6] == [1.0] * 6  # six epochs at 1, then divided by 1.2 each epoch
    assert rates[6:] == pytest.approx([1 / 1.2, 1 / 1.44])
    assert ptb_lstm.size_of(m, 10_000) == 19_780_400  # the table's reference row


def test_dropout_reaches_the_model_only_while_training():
    from airoad_book.experiments import ptb_lstm_dropout

    result = ptb_lstm_dropout.run("quick", seed=0, seconds=None)
    assert result.metrics["dropout"] == 0.5
    assert result.tables["test"].rows[1][-1] == 82.7
    torch.manual_seed(0)
    model = RecurrentLM("lstm", 50, 8, 8, layers=2, dropout=0.5)
    x = torch.randint(0, 50, (2, 5))
    model.train()
    a, b = model(x)[0], model(x)[0]
    assert not torch.equal(a, b)  # a fresh mask each call
    model.eval()
    assert torch.equal(model(x)[0], model(x)[0])
