"""Appendix A's experiment and figures, run at a tiny size: their contracts and their
claims."""

import json
import math
from dataclasses import replace

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

from airoad_book.data import random_batches
from airoad_book.experiments import toolkit
from airoad_book.figures import registry
from airoad_book.figures.style import themed
from airoad_book.results import Result

TINY = toolkit.Config(
    train_chars=20_000,
    valid_chars=512,
    block=16,
    batch_size=4,
    embed_dim=8,
    hidden=16,
    steps=8,
    eval_every=4,
    warmup_steps=2,
    accumulate=2,
    accumulate_steps=3,
    bf16_steps=4,
    timed_steps=3,
    seeds=(0, 1),
)


@pytest.fixture(scope="module")
def result():
    return toolkit.run_config(TINY, seed=0)


def test_toolkit_reports_every_section_with_finite_numbers(result):
    m = result.metrics
    for key in (
        "schedule_constant_val",
        "schedule_warmup_val",
        "schedule_cosine_val",
        "decay_none_val",
        "decay_adam_l2_val",
        "decay_adamw_val",
        "clip_off_val",
        "clip_on_val",
        "accum_big_ms",
        "accum_micro_ms",
        "accum_small_ms",
        "fp32_ms",
        "bf16_ms",
        "bf16_speedup",
        "seed_spread",
        "seed_std",
        "params",
    ):
        assert math.isfinite(m[key]), key
    assert set(result.text) == {
        "setup",
        "schedule",
        "decay",
        "clipping",
        "accumulation",
        "bf16",
        "seeds",
    }
    sections = ("schedule", "decay", "clipping", "accumulation", "bf16", "seeds")
    assert [len(result.series[s]) for s in sections] == [3, 3, 2, 3, 2, len(TINY.seeds)]
    assert len(result.tables["runs"].rows) == 3 + 3 + 2 + 3 + 2 + len(TINY.seeds)


def test_accumulated_micro_batches_give_the_big_batch_updates(result):
    m = result.metrics
    assert m["accum_max_weight_diff"] < 1e-5
    assert m["accum_small_weight_diff"] > 100 * max(
        m["accum_max_weight_diff"], 1e-9
    )  # the check can tell
    big, accumulated, _ = result.series["accumulation"]
    assert accumulated["train_loss"] == pytest.approx(big["train_loss"], abs=1e-5)
    assert (
        len(accumulated["step"]) == TINY.accumulate_steps
    )  # steps count optimizer steps


def test_micro_batches_cut_each_big_batch_in_order():
    data = toolkit.load_data(TINY)
    big = random_batches(
        data.x, data.y, batch_size=6, generator=torch.Generator().manual_seed(3)
    )
    micro = toolkit.micro_batches(data, 2, 3, torch.Generator().manual_seed(3))
    for _ in range(2):
        x, y = next(big)
        parts = [next(micro) for _ in range(3)]
        assert torch.equal(torch.cat([p[0] for p in parts]), x)
        assert torch.equal(torch.cat([p[1] for p in parts]), y)


def test_seed_zero_again_under_deterministic_algorithms_is_bit_identical(result):
    m = result.metrics
    assert m["repeat_max_loss_diff"] == 0.0 and m["repeat_max_weight_diff"] == 0.0
    assert (
        m["deterministic_warnings"] == 0.0
    )  # no op of this CPU run lacks a deterministic kernel
    assert (
        not torch.are_deterministic_algorithms_enabled()
    )  # the global flag is put back
    seeds = {c["name"]: c for c in result.series["seeds"]}
    assert seeds["seed 0"]["val_loss"] != seeds["seed 1"]["val_loss"]


def test_each_schedule_run_used_its_schedule(result):
    runs = {c["name"]: c for c in result.series["schedule"]}
    lr, w = TINY.high_lr, TINY.warmup_steps
    assert runs["constant"]["lr"] == pytest.approx([lr] * TINY.steps)
    assert runs["warm-up + constant"]["lr"][:w] == pytest.approx(
        [lr * (s + 1) / w for s in range(w)]
    )
    assert runs["warm-up + constant"]["lr"][-1] == pytest.approx(lr)
    assert runs["warm-up + cosine"]["lr"][-1] == pytest.approx(0.0)


def test_adam_l2_shrinks_the_weights_more_than_adamw_at_the_same_coefficient(result):
    m = result.metrics
    assert (
        m["decay_adam_l2_norm"] < m["decay_adamw_norm"] <= m["decay_none_norm"] + 1e-9
    )


def test_clipping_run_clipped_and_the_unclipped_one_did_not():
    data = toolkit.load_data(TINY)
    runs = toolkit.clipping_runs(data, replace(TINY, clip_norm=1e-3), seed=0)
    off, on = runs.values()
    assert off.history.steps_done == on.history.steps_done == TINY.steps
    assert (
        off.history.train_loss[0] == on.history.train_loss[0]
    )  # same start, same first batch
    assert (
        off.history.train_loss[1] != on.history.train_loss[1]
    )  # the capped first update differs


def test_verdicts_quote_the_metrics(result):
    m, t = result.metrics, result.text
    assert f"{m['schedule_cosine_val']:.3f}" in t["schedule"]
    assert f"{m['decay_adam_l2_norm']:.1f}" in t["decay"]
    assert f"{m['clip_on_val']:.3f}" in t["clipping"]
    diff = m["accum_max_weight_diff"]
    assert ("bit-identical" if diff == 0 else f"{diff:.1e}") in t["accumulation"]
    assert f"{m['bf16_speedup']:.2f}" in t["bf16"] and "pay" in t["bf16"]
    assert "bit-identical" in t["seeds"]


def test_a_validation_slice_shorter_than_a_block_is_a_clear_error():
    with pytest.raises(ValueError, match=r"valid_chars must exceed block=16; got 16"):
        toolkit.load_data(replace(TINY, valid_chars=16))


def test_every_appendix_a_figure_draws_from_the_cached_result_in_run_order(result):
    cached = Result.from_dict(
        json.loads(json.dumps(result.to_dict(), sort_keys=True))
    )  # as the build caches it
    assert [c["name"] for c in cached.series["accumulation"]] == [
        "one batch of 8",
        "2 × 4, accumulated",
        "batches of 4",
    ]
    specs = [s for s in registry().values() if s.experiment == toolkit.NAME]
    assert {s.name for s in specs} == {
        "toolkit-schedule",
        "toolkit-weight-decay",
        "toolkit-clipping",
        "toolkit-accumulation",
        "toolkit-bf16",
        "toolkit-seeds",
    }
    for spec in specs:
        with themed("dark"):
            fig = spec.draw(cached)
        assert isinstance(fig, Figure) and fig.axes, spec.name
        plt.close(fig)
