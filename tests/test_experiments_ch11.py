"""Chapter 11's experiments and figures, run at a tiny size: their contracts and their
claims."""

import math
import types

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

from airoad_book import train
from airoad_book.experiments import attention_scaling, transformer_vs_rnn
from airoad_book.figures import registry
from airoad_book.figures.style import themed
from airoad_book.train import History, lr_at

TINY = transformer_vs_rnn.Config(
    max_digits=6,
    n_train=300,
    n_test=40,
    edges=(1, 6, 10, 30),
    seconds=1.0,  # a clock race, on the fake clock below
    batch_size=32,
    eval_every=2,
    embed_dim=8,
    attn_hidden=16,
    align_dim=8,
    maxout_dim=8,
    d_model=16,
    num_heads=2,
    d_ff=32,
    layers=1,
    warmup_steps=2,
    variants=("no_smoothing",),
    maps=2,
)
TINY_SCALING = attention_scaling.Config(d_ks=(1, 16, 256), queries=400)


TICK = 0.05  # seconds of the fake clock that each training step takes


@pytest.fixture(scope="module")
def race():
    """The race on a clock that moves TICK s per training step and stands still while
    the models are evaluated, so it stops after the same steps on a fast machine and a
    loaded one (a real 1 s race gave one step on a slow CI machine)."""
    steps = [0]
    loss = transformer_vs_rnn.teacher_forcing_loss

    def stepped(*args, **kwargs):
        steps[0] += 1
        return loss(*args, **kwargs)

    clock = types.SimpleNamespace(perf_counter=lambda: TICK * steps[0])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(train, "time", clock)
        mp.setattr(transformer_vs_rnn, "time", clock)
        mp.setattr(transformer_vs_rnn, "teacher_forcing_loss", stepped)
        return transformer_vs_rnn.run_config(TINY, seed=0)


@pytest.fixture(scope="module")
def scaling():
    return attention_scaling.run_config(TINY_SCALING, seed=0)


def test_race_reports_the_issue_s_metrics_for_both_models(race):
    m = race.metrics
    for key in (
        "bleu_transformer",
        "bleu_attn_rnn",
        "bleu_long_transformer",
        "bleu_long_attn_rnn",
    ):
        assert 0.0 <= m[key] <= 100.0, key
    assert m["tokens_per_s_transformer"] > 0 and m["tokens_per_s_attn_rnn"] > 0
    assert m["speedup"] == pytest.approx(
        m["tokens_per_s_transformer"] / m["tokens_per_s_attn_rnn"]
    )
    assert (
        m["params_transformer"] > 0
        and m["params_attn_rnn"] > 0
        and m["test_pairs"] == 40
    )
    assert race.tables["buckets"].rows[-1] == [
        "all",
        40,
        m["bleu_transformer"],
        m["bleu_attn_rnn"],
    ]
    assert "claim" in race.text["verdict"] and "BLEU" in race.text["verdict"]
    assert f"{int(m['steps_transformer'])} steps" in race.text["budget"]


def test_both_models_train_for_the_same_wall_clock_and_log_loss_against_seconds(race):
    for key in ("transformer", "attn_rnn"):
        assert (
            race.metrics[f"train_seconds_{key}"] >= TINY.seconds
        )  # stopped by the clock, not by steps
        c = race.series["curves"][key]
        assert len(c["seconds"]) == len(c["valid_loss"]) == len(c["step"]) >= 2
        assert c["seconds"] == sorted(c["seconds"]) and 0 < c["seconds"][0]
        assert (
            c["seconds"][-1] <= 1.05 * race.metrics[f"train_seconds_{key}"] + 0.05
        )  # evaluation time left out
        assert c["step"][-1] == race.metrics[f"steps_{key}"]


def test_the_transformer_follows_the_warmup_inverse_sqrt_schedule(race):
    tc = transformer_vs_rnn.train_config(TINY, "transformer", TINY.seconds)
    assert tc.schedule == "inverse_sqrt" and tc.warmup_steps == 2
    assert race.series["lr"] == pytest.approx(
        [lr_at(s, tc) for s in range(len(race.series["lr"]))]
    )
    assert max(race.series["lr"]) == pytest.approx(TINY.lr)


def test_variants_are_scored_and_tabled_against_the_recipe(race):
    m = race.metrics
    assert 0.0 <= m["bleu_no_smoothing"] <= 100.0 and m["valid_loss_no_smoothing"] > 0
    rows = race.tables["variants"].rows
    assert rows[0][2] == m["bleu_transformer"] and rows[1][0] == "no label smoothing"
    assert "no label smoothing" in race.text["variants"]


def test_attention_maps_have_every_head_and_rows_summing_to_one(race):
    maps = race.series["maps"]
    assert len(maps) == 2
    for ex in maps:
        enc, cross = torch.tensor(ex["encoder"]), torch.tensor(ex["cross"])
        S, T = len(ex["source"]), len(ex["output"]) + 1
        assert enc.shape == (2, S, S) and cross.shape == (2, T, S)
        assert torch.allclose(enc.sum(-1), torch.ones(2, S), atol=1e-5)
        assert torch.allclose(cross.sum(-1), torch.ones(2, T), atol=1e-5)


def test_step_for_step_losses_are_read_at_a_step_both_models_were_evaluated():
    a = History(eval_step=[10, 20, 30, 35], eval_loss=[3.0, 2.0, 1.0, 0.5])
    b = History(eval_step=[10, 20, 23], eval_loss=[2.5, 1.5, 1.2])
    same = transformer_vs_rnn.same_steps(a, b)
    assert same == {
        "same_step": 20,
        "same_step_loss_transformer": 2.0,
        "same_step_loss_attn_rnn": 1.5,
    }


@pytest.mark.parametrize("bleu_t, held", [(95.0, True), (60.0, False)])
def test_verdict_follows_the_numbers(bleu_t, held):
    m = {
        "bleu_transformer": bleu_t,
        "bleu_attn_rnn": 80.0,
        "speedup": 1.5,
        "tokens_per_s_transformer": 30000.0,
        "tokens_per_s_attn_rnn": 20000.0,
        "seconds_budget": 7.0,
        "same_step": 100,
        "same_step_loss_transformer": 0.5,
        "same_step_loss_attn_rnn": 0.1,
    }
    text = transformer_vs_rnn.verdict(m)
    assert ("held here" in text) is held and ("did not hold" in text) is (not held)
    assert "1.5 times as many" in text and "0.100" in text


@pytest.mark.parametrize(
    "exact_t, expected",
    [
        (0.98, "the two are level"),  # BLEU and exact match both close
        (
            0.90,
            "did not hold",
        ),  # BLEU close, but the RNN got far more numbers exactly right
        (
            1.00,
            "on that measure Vaswani et al.'s claim of more quality for the same "
            "compute held",
        ),
    ],
)
def test_a_bleu_tie_near_the_ceiling_is_broken_by_exact_match(exact_t, expected):
    m = {
        "bleu_transformer": 98.0,
        "bleu_attn_rnn": 99.0,
        "exact_transformer": exact_t,
        "exact_attn_rnn": 0.96,
        "speedup": 1.9,
        "tokens_per_s_transformer": 47000.0,
        "tokens_per_s_attn_rnn": 25000.0,
        "seconds_budget": 20.0,
        "same_step": 400,
        "same_step_loss_transformer": 0.15,
        "same_step_loss_attn_rnn": 0.01,
    }
    assert expected in transformer_vs_rnn.verdict(m)


def test_raw_scores_spread_as_sqrt_d_k_and_scaled_ones_stay_at_one(scaling):
    s = scaling.series
    for d_k, raw, scaled in zip(s["d_k"], s["std_raw"], s["std_scaled"]):
        assert raw == pytest.approx(
            math.sqrt(d_k), rel=0.05
        ) and scaled == pytest.approx(1.0, rel=0.05)
    assert (
        s["max_raw"] == sorted(s["max_raw"]) and s["max_raw"][-1] > 0.8
    )  # saturating towards one-hot
    assert (
        max(s["max_scaled"]) < 0.3
        and s["jacobian_raw"][-1] < 0.5 * s["jacobian_scaled"][-1]
    )
    assert "claim" not in scaling.text["verdict"] and "√d_k" in scaling.text["verdict"]


def test_softmax_jacobian_norm_equals_the_jacobian_written_out():
    e = torch.randn(3, 5, dtype=torch.float64)
    stats = attention_scaling.softmax_stats(e)
    norms = [
        torch.linalg.matrix_norm(
            torch.autograd.functional.jacobian(lambda x: torch.softmax(x, -1), row)
        )
        for row in e
    ]
    assert stats["jacobian"] == pytest.approx(
        float(torch.stack(norms).mean()), rel=1e-9
    )
    a = torch.softmax(e, -1)
    assert stats["max_weight"] == pytest.approx(float(a.max(-1).values.mean()))


@pytest.mark.parametrize(
    "name",
    [
        "transformer-positions",
        "attention-scaling",
        "transformer-lr-schedule",
        "transformer-vs-rnn-curves",
        "transformer-bleu-by-length",
        "transformer-attention-maps",
    ],
)
def test_chapter_11_figures_draw_from_their_results(name, race, scaling):
    spec = registry()[name]
    result = {"transformer-vs-rnn": race, "attention-scaling": scaling}[spec.experiment]
    with themed("dark"):
        fig = spec.draw(result)
    assert isinstance(fig, Figure) and fig.axes
    plt.close(fig)


def test_query_gradient_norm_equals_autograd():
    g = torch.Generator().manual_seed(3)
    q = torch.randn(4, 1, 8, generator=g, dtype=torch.float64)
    k = torch.randn(4, 5, 8, generator=g, dtype=torch.float64)
    for scale in (1.0, 8**0.5):
        got = attention_scaling.query_gradient_norms(q, k, scale)
        for i in range(4):
            jac = torch.autograd.functional.jacobian(
                lambda x, ki=k[i], s=scale: torch.softmax((x * ki).sum(-1) / s, -1),
                q[i, 0],
            )
            assert got[i].item() == pytest.approx(
                torch.linalg.matrix_norm(jac).item(), rel=1e-9
            )


def test_unscaled_query_gradient_is_heavy_tailed(scaling):
    s = scaling.series
    # TINY_SCALING: d_k = 1, 16, 256. Past d_k = 16 the raw median falls, the raw mean
    # rises.
    assert s["dq_median_raw"][-1] < 0.5 * s["dq_median_raw"][1]
    assert s["dq_mean_raw"][-1] > s["dq_mean_raw"][1]
    assert s["dq_mean_raw"][-1] > 2 * s["dq_mean_scaled"][-1]
    assert max(s["dq_median_scaled"]) < 1.5 * min(s["dq_median_scaled"])
