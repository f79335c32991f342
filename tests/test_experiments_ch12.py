"""Chapter 12's experiment and figures, run at a tiny size: their contracts and their
claims."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from airoad_book.experiments import gpt_shakespeare as exp
from airoad_book.figures import registry
from airoad_book.figures.style import themed
from airoad_book.models.gpt import GPT, GPTConfig

TINY = exp.Config(
    train_chars=60_000,
    valid_chars=2_048,
    context=32,
    d_model=32,
    num_heads=2,
    num_layers=1,
    batch_size=8,
    seconds=0.6,
    eval_points=3,
    lstm_embed=8,
    lstm_batch=8,
    lstm_bptt=16,
    probe_steps=1,
    sample_chars=12,
    kv_repeats=1,
    peak_size=64,
    peak_repeats=1,
)


@pytest.fixture(scope="module")
def result():
    return exp.run_config(TINY, seed=0)


def test_reports_the_metrics_the_issue_names(result):
    m = result.metrics
    for key in (
        "val_loss",
        "seconds",
        "params",
        "tokens_per_s",
        "achieved_gflops",
        "matmul_peak_gflops",
        "lstm_val_loss",
        "kv_speedup",
    ):
        assert math.isfinite(m[key]) and m[key] > 0, key
    assert m["val_loss"] < m["uniform_nats"] + 0.5
    assert m["achieved_gflops"] == pytest.approx(
        m["train_tokens"] * m["flops_per_token"] / m["seconds"] / 1e9
    )
    assert m["seconds"] <= TINY.seconds + 1.0  # the time budget caps training


def test_the_two_models_have_about_the_same_number_of_parameters(result):
    m = result.metrics
    assert abs(m["lstm_params"] - m["params"]) / m["params"] < 0.05


def test_kv_cache_generates_the_same_tokens(result):
    assert result.metrics["kv_same_tokens"] == 1.0
    kv = result.series["kv"]
    assert len(kv["position"]) == len(kv["cached"]) == len(kv["recompute"]) > 0


def test_samples_come_in_every_decoding_strategy(result):
    assert list(result.series["samples"]) == [name for name, _ in exp.STRATEGIES]
    assert all(len(s) == TINY.sample_chars for s in result.series["samples"].values())
    assert len(result.tables["samples"].rows) == len(exp.STRATEGIES)


def test_verdict_names_the_leader_from_the_numbers(result):
    m, text = result.metrics, result.text["verdict"]
    assert f"{m['val_loss']:.3f}" in text and f"{m['lstm_val_loss']:.3f}" in text
    if m["lstm_val_loss"] - m["val_loss"] > 0.02:
        assert "Transformer decoder is ahead" in text
    elif m["val_loss"] - m["lstm_val_loss"] > 0.02:
        assert "LSTM is ahead" in text and "does not pay off" in text


def test_sliding_evaluation_scores_every_token_once_with_at_least_half_a_context():
    torch.manual_seed(0)
    model = GPT(
        GPTConfig(vocab_size=11, context=8, d_model=16, num_heads=2, num_layers=1)
    ).eval()
    ids = torch.randint(0, 11, (8 * 4 + 1,))
    total = 0.0
    with torch.no_grad():
        for p in range(len(ids) - 1):  # predict ids[p + 1]
            start = max(0, (p // 4 - 1) * 4)  # the window that scores position p
            logits = model(ids[start : start + 8][None])[0, p - start]
            total += F.cross_entropy(logits[None], ids[p + 1 : p + 2]).item()
    assert exp.evaluate_windows(model, ids) == pytest.approx(
        total / (len(ids) - 1), abs=1e-5
    )


@pytest.mark.parametrize("name", ["gpt-vs-lstm", "gpt-kv-cache"])
def test_figures_draw_in_both_themes(result, name):
    spec = registry()[name]
    assert spec.experiment == "gpt-shakespeare"
    for theme in ("light", "dark"):
        with themed(theme):
            fig = spec.draw(result)
        assert isinstance(fig, Figure)
        plt.close(fig)


def test_a_sample_of_blanks_only_is_shown_as_a_count_not_an_empty_cell():
    assert exp._cell_text("   ") == "␣ × 3 (blanks only)"
    assert exp._cell_text("a|b\nc") == "a¦b ↵ c"


def test_the_verdict_states_each_model_s_own_training_time(result):
    m, text = result.metrics, result.text["verdict"]
    assert f"{m['seconds']:.0f} s of training for the GPT" in text
    assert f"{m['lstm_seconds']:.0f} s for the LSTM" in text


def test_the_plan_sentence_reads_the_steps_against_the_plan(result):
    m, text = result.metrics, result.text["plan"]
    assert f"{m['steps']:,.0f} steps of the {m['planned_steps']:,.0f}" in text
    held = abs(1 - m["steps"] / m["planned_steps"]) <= 0.05
    assert text.startswith("The plan held") == held
