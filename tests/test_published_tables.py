"""Appendix C's table: every word-level family, recorded runs beside the papers."""

from __future__ import annotations

import json

import pytest

from airoad_book.experiments import ptb_gpt
from airoad_book.experiments import published_tables as pt


def write(folder, name, metrics, seconds=60.0):
    data = {
        "metrics": metrics,
        "seconds": seconds,
        "provenance": {
            "command": f"airoad-book run {name} --budget full --record",
            "commit": "abc1234",
            "date": "2026-12-04 04:00 UTC",
            "machine": "2 CPU cores",
        },
    }
    (folder / f"{name}-full.json").write_text(json.dumps(data), encoding="utf-8")


def table_rows(result):
    return {row[0]: row for row in result.tables["runs"].rows}


def test_every_family_has_a_row():
    models = " ".join(run.model for run in pt.RUNS)
    for family in (
        "Kneser–Ney",
        "NPLM, Adam",
        "paper's SGD",
        "RNN LM",
        "LSTM",
        "GRU",
        "GPT",
    ):
        assert family in models, family
    for run in pt.RUNS:  # each row's file is one the figure cache watches
        assert f"results/{run.experiment}-full.json" in pt.READS


def test_missing_files_render_not_recorded_yet_with_the_command(tmp_path):
    result = pt.run_config(pt.Config(results_dir=str(tmp_path)))
    for run in pt.RUNS:
        row = table_rows(result)[run.model]
        assert row[3] == "not recorded yet"
        assert (
            row[5]
            == f"`uv run airoad-book run {run.experiment} --budget full --record`"
        )
    assert result.metrics["recorded_runs"] == 0.0
    assert "No full-budget run" in result.text["verdict"]


def test_recorded_files_fill_their_rows_and_neighbours_give_estimates(tmp_path):
    write(tmp_path, "ptb-lstm", {"test_ppl": 112.1}, seconds=4800.0)
    write(tmp_path, "bengio-paper-recipe", {"nplm_ppl": 160.0}, seconds=1500.0)
    write(tmp_path, "gpt-shakespeare", {"achieved_gflops": 50.0})
    result = pt.run_config(pt.Config(results_dir=str(tmp_path)))
    rows = table_rows(result)
    assert rows["small LSTM, no dropout (ch. 8)"][3] == "112.1"
    assert rows["NPLM, the paper's SGD + weight decay (ch. 6)"][3] == "160.0"
    assert result.metrics["bengio_paper_recipe_test_ppl"] == 160.0
    assert result.metrics["recorded_runs"] == 2.0  # gpt-shakespeare is read, not a row
    # the GRU's estimate: the LSTM's time scaled by FLOPs; the GPT's: FLOPs over rate
    gru = rows["GRU, the small LSTM's recipe (ch. 8)"]
    ratio = pt.recurrent_flops_ratio("gru", "lstm")
    assert 0.8 < ratio < 1.0
    assert gru[4] == f"≈ {pt.duration(4800.0 * ratio)} (estimate)"
    gpt_seconds = ptb_gpt.training_flops(ptb_gpt.CONFIGS["full"]) / 50e9
    assert (
        table_rows(result)["GPT, 4 × 128 (ch. 12)"][4]
        == f"≈ {pt.duration(gpt_seconds)} (estimate)"
    )
    assert "abc1234" in result.text["provenance"]
    assert "small LSTM, no dropout: 112.1 against 114.5" in result.text["verdict"]


def test_no_estimate_without_a_recorded_neighbour(tmp_path):
    assert pt.estimated_seconds("ptb-gru", {}) is None
    assert pt.estimated_seconds("rnn-lm", {"ptb-lstm": {"seconds": 1.0}}) is None


@pytest.mark.parametrize(
    "seconds, text", [(42, "42 s"), (1020, "17 min"), (11520, "3.2 h")]
)
def test_durations_read_as_people_say_them(seconds, text):
    assert pt.duration(seconds) == text


def test_the_recipe_sentence_compares_the_two_nplm_runs(tmp_path):
    result = pt.run_config(pt.Config(results_dir=str(tmp_path)))
    assert "not recorded yet" in result.text["recipes"]
    run = {"nplm_ppl": 150.0, "epochs": 9.0, "mix_ppl": 120.0}
    write(tmp_path, "bengio-vs-ngram", run)
    write(tmp_path, "bengio-paper-recipe", {**run, "nplm_ppl": 170.0, "mix_ppl": 125.0})
    text = pt.run_config(pt.Config(results_dir=str(tmp_path))).text["recipes"]
    assert "170.0" in text and "150.0" in text and "buys 20.0 points" in text


def test_times_ten_writes_one_significant_figure_with_a_superscript_power():
    from airoad_book.experiments.published_tables import times_ten

    assert times_ten(4.3e15) == "4 × 10¹⁵"
    assert times_ten(9.7e15) == "1 × 10¹⁶"  # rounding up carries into the power
    assert times_ten(0.0096) == "1 × 10⁻²"


def test_a_run_recorded_on_a_gpu_says_so_in_the_wall_clock_column():
    from airoad_book.experiments.published_tables import where

    gpu = "16 CPU cores (x86_64), Linux, torch 2.11, device cuda, NVIDIA H200"
    assert where({"machine": gpu}) == " on a GPU"
    assert where({"machine": "2 CPU cores (x86_64), Linux, device cpu"}) == ""
    assert where({}) == ""


def test_the_medium_lstms_cost_on_one_thread_comes_from_the_small_ones_speed(tmp_path):
    result = pt.run_config(pt.Config(results_dir=str(tmp_path)))
    assert result.text["medium"].endswith("training FLOPs.")  # nothing to scale from
    small = {"params": 1e6, "train_tokens": 1e6, "epochs_done": 10.0}
    write(tmp_path, "ptb-lstm", {**small, "train_seconds": 600.0, "test_ppl": 112.0})
    text = pt.run_config(pt.Config(results_dir=str(tmp_path))).text["medium"]
    assert "at the 100 GFLOP/s" in text  # 6 × 10^6 × 10^6 × 10 / 600 s
