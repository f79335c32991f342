"""The training engine under chapter 12's GPT: weight-decay groups, foreach optimizers,
the step planner of timed runs, and what `airoad-book run gpt-shakespeare --json` says.
"""

from __future__ import annotations

import json
import time

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from airoad_book.cli import main
from airoad_book.experiments import gpt_shakespeare as exp
from airoad_book.models.bengio import NPLM, NPLMConfig
from airoad_book.models.gpt import GPT, GPTConfig
from airoad_book.train import TimedReplan, TrainConfig, fit, lr_at, make_optimizer

SMALL = GPTConfig(vocab_size=20, context=8, d_model=16, num_heads=2, num_layers=2)


def ids_of(params) -> set[int]:
    return {id(p) for p in params}


# -- weight decay: matrices only -------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_decay_groups_hold_the_matrices_and_spare_biases_and_layernorm_gains(optimizer):
    model = GPT(SMALL)
    opt = make_optimizer(model, TrainConfig(optimizer=optimizer, weight_decay=0.1))
    decayed, spared = opt.param_groups
    assert decayed["weight_decay"] == 0.1 and spared["weight_decay"] == 0.0
    named = dict(model.named_parameters())
    matrices = {n for n, p in named.items() if p.dim() >= 2}
    assert ids_of(decayed["params"]) == {id(named[n]) for n in matrices}
    assert "tok_emb.weight" in matrices and "blocks.0.attn.qkv.weight" in matrices
    spared_names = {n for n, p in named.items() if id(p) in ids_of(spared["params"])}
    assert "blocks.0.ln1.weight" in spared_names and "ln_f.weight" in spared_names
    assert (
        "blocks.0.attn.qkv.bias" in spared_names
        and "blocks.1.mlp.fc.bias" in spared_names
    )
    assert all(named[n].dim() == 1 for n in spared_names)
    assert len(decayed["params"]) + len(spared["params"]) == len(
        list(model.parameters())
    )


def test_the_nplm_decays_its_word_vectors_and_weights_not_its_biases():
    """Bengio et al.'s R: weights and C, not the biases b and d."""
    model = NPLM(
        NPLMConfig(vocab_size=30, context=3, embed_dim=4, hidden=5, direct=True)
    )
    decayed, spared = make_optimizer(
        model, TrainConfig(optimizer="sgd", weight_decay=1e-4)
    ).param_groups
    assert id(model.C) in ids_of(decayed["params"]) and id(model.U) in ids_of(
        decayed["params"]
    )
    assert all(p.dim() == 1 for p in spared["params"]) and spared["params"]


def test_without_decay_there_is_one_group_as_before():
    opt = make_optimizer(GPT(SMALL), TrainConfig(optimizer="adamw"))
    assert len(opt.param_groups) == 1


def test_adamw_shrinks_the_matrices_and_leaves_the_gains_at_one():
    model = GPT(SMALL)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    zero_gradient = lambda m, ids: 0.0 * m(ids).sum()  # noqa: E731  only the decay moves weights
    config = TrainConfig(max_steps=3, optimizer="adamw", lr=0.1, weight_decay=0.5)
    fit(model, [torch.zeros(1, 4, dtype=torch.long)] * 3, zero_gradient, config)
    after = dict(model.named_parameters())
    assert torch.allclose(
        after["blocks.0.attn.qkv.weight"],
        before["blocks.0.attn.qkv.weight"] * (1 - 0.1 * 0.5) ** 3,
    )
    assert torch.equal(after["blocks.0.ln1.weight"], before["blocks.0.ln1.weight"])
    assert torch.equal(after["blocks.0.mlp.fc.bias"], before["blocks.0.mlp.fc.bias"])


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw"])
def test_foreach_optimizers_give_the_same_weights_bit_for_bit(name):
    """`make_optimizer`'s foreach kernels change the speed, not the arithmetic."""
    weights = []
    for foreach in (True, False):
        torch.manual_seed(0)
        model = GPT(SMALL)
        config = TrainConfig(optimizer=name, lr=1e-2, weight_decay=0.01)
        opt = make_optimizer(model, config)
        for group in opt.param_groups:
            group["foreach"] = foreach
        x = torch.randint(0, 20, (4, 8), generator=torch.Generator().manual_seed(1))
        for _ in range(5):
            opt.zero_grad()
            F.cross_entropy(model(x).reshape(-1, 20), x.reshape(-1)).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5, foreach=foreach)
            opt.step()
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(weights[0], weights[1])


# -- the planner -----------------------------------------------------------------------


def slow_loss(seconds: float):
    """A loss whose every evaluation takes ``seconds``: a model of known step time."""

    def loss(model, batch):
        time.sleep(seconds)
        return ((model(batch) - 1.0) ** 2).mean()

    return loss


def endless():
    while True:
        yield torch.ones(2, 3)


def test_a_timed_run_lands_within_5_percent_of_the_steps_it_replanned():
    """The first plan is five times too many steps (a probe that ran fast); the re-plan
    from the run's own steps puts the end of the schedule where the time ends."""
    seconds, per_step = 0.8, 0.01
    config = TrainConfig(
        max_steps=400,
        max_seconds=seconds,
        lr=0.1,
        schedule="cosine",
        min_lr=0.01,
        warmup_steps=2,
    )
    replan = TimedReplan(seconds, at=(0.2, 0.5))
    history = fit(
        nn.Linear(3, 1), endless(), slow_loss(per_step), config, replan=replan
    )
    assert replan.planned is not None and replan.planned < 200
    assert history.steps_done >= 0.95 * replan.planned
    assert history.seconds >= 0.9 * seconds  # and the time is used, not left over
    # the schedule followed the new plan: the last steps ran near the cosine's floor
    new = TrainConfig(
        max_steps=replan.planned,
        max_seconds=seconds,
        lr=0.1,
        schedule="cosine",
        min_lr=0.01,
        warmup_steps=2,
    )
    assert history.lr[-1] == pytest.approx(lr_at(history.steps_done - 1, new))
    assert history.lr[-1] < 0.2 * 0.1


def test_without_a_replan_a_bad_first_plan_ends_the_run_early_in_its_schedule():
    seconds = 0.4
    config = TrainConfig(max_steps=400, max_seconds=seconds, lr=0.1, schedule="cosine")
    history = fit(nn.Linear(3, 1), endless(), slow_loss(0.01), config)
    assert history.stop_reason == "max_seconds" and history.steps_done < 0.5 * 400
    assert history.lr[-1] > 0.5 * 0.1  # the cosine had hardly begun to fall


def test_replan_must_return_a_number_of_steps():
    config = TrainConfig(max_steps=5)
    with pytest.raises(ValueError, match="int number of steps"):
        fit(nn.Linear(3, 1), endless(), slow_loss(0.0), config, replan=lambda h: 2.5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_seconds": 0.0},
        {"max_seconds": 1.0, "at": 1.0},
        {"max_seconds": 1.0, "at": ()},
    ],
)
def test_timed_replan_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError, match="TimedReplan"):
        TimedReplan(**kwargs)


# -- what the CLI reports --------------------------------------------------------------

TINY = exp.Config(
    train_chars=40_000,
    valid_chars=1_024,
    context=32,
    d_model=32,
    num_heads=2,
    num_layers=1,
    batch_size=8,
    seconds=1.0,
    eval_points=2,
    lstm_embed=8,
    lstm_batch=8,
    lstm_bptt=16,
    probe_steps=1,
    sample_chars=8,
    kv_repeats=1,
    peak_size=64,
    peak_repeats=1,
)


def test_cli_json_reports_the_engine_numbers(monkeypatch, capsys):
    monkeypatch.setitem(exp.CONFIGS, "quick", TINY)
    assert main(["run", "gpt-shakespeare", "--json", "--seconds", "1.0"]) == 0
    metrics = json.loads(capsys.readouterr().out)["metrics"]
    for key in (
        "achieved_gflops",
        "matmul_peak_gflops",
        "steps",
        "planned_steps",
        "probe_planned_steps",
        "peak_share",
    ):
        assert metrics[key] > 0, key
    assert metrics["peak_share"] == pytest.approx(
        metrics["achieved_gflops"] / metrics["matmul_peak_gflops"]
    )
    # the step planner: the schedule's plan and the steps made agree (a loose bound: the
    # run is a second long, on a machine that may be busy)
    assert (
        abs(metrics["steps"] - metrics["planned_steps"])
        <= 0.2 * metrics["planned_steps"] + 2
    )


# -- the engine, measured --------------------------------------------------------------


def test_gpt_engine_times_every_variant_and_profiles_the_step():
    from airoad_book.experiments import gpt_engine

    threads = torch.get_num_threads()
    result = gpt_engine.run_config(
        gpt_engine.Config(rounds=1, steps=1, profile_steps=1, peak_size=256)
    )
    names = [row[0] for row in result.tables["variants"].rows]
    assert names == list(gpt_engine.VARIANTS)
    shares = [row[1] for row in result.tables["profile"].rows]
    assert sum(shares) == pytest.approx(1.0) and all(s >= 0 for s in shares)
    m = result.metrics
    assert m["profile_matrix_products"] > 0.2  # a GPT step is mostly matrix products
    for v in gpt_engine.VARIANTS:
        key = v.replace(" ", "_").replace("-", "_")
        assert m[f"{key}_ms"] > 0 and 0 < m[f"{key}_share"] < 2
    assert torch.get_num_threads() == threads  # measured on one thread, then put back


def test_gpt_engine_rejects_an_unknown_variant():
    from airoad_book.experiments import gpt_engine

    with pytest.raises(ValueError, match="unknown variant"):
        gpt_engine.make_step(gpt_engine.CONFIGS["quick"], "turbo", seed=0)


def test_later_replans_follow_a_machine_that_slows_down():
    """Steps take 5 ms, then 15 ms from 40% of the time on: the re-plans after the
    change see the slower steps and shrink the budget; the schedule ends with the
    time."""
    seconds = 0.9
    started = time.perf_counter()

    def slowing(model, batch):
        late = time.perf_counter() - started > 0.4 * seconds
        time.sleep(0.015 if late else 0.005)
        return ((model(batch) - 1.0) ** 2).mean()

    config = TrainConfig(max_steps=1000, max_seconds=seconds, lr=0.1, schedule="cosine")
    replan = TimedReplan(seconds, at=(0.1, 0.5, 0.75))
    history = fit(nn.Linear(3, 1), endless(), slowing, config, replan=replan)
    assert history.steps_done >= 0.9 * replan.planned
    assert history.lr[-1] < 0.3 * 0.1  # near the end of the cosine, not cut off mid-way
