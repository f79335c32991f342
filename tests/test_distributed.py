"""Appendix B: chapter 12's GPT trained data-parallel by two real processes (gloo, CPU).

One module fixture runs the `scaling-out` experiment at a tiny size: one plain process
in this one, then two processes started as torchrun would start them, each dumping its
final weights. The tests hold the two-process run to the single process on the same
global batches, and check the experiment's contracts and figures.
"""

import math

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

from airoad_book import distributed
from airoad_book.distributed import DDPConfig, launch, ring_allreduce, shard, train
from airoad_book.experiments import scaling_out as exp
from airoad_book.figures import registry
from airoad_book.figures.style import themed

TINY = exp.Config(
    ddp=DDPConfig(
        steps=4,
        global_batch=4,
        context=16,
        d_model=16,
        num_heads=2,
        num_layers=1,
        train_chars=20_000,
    ),
    allreduce_sizes=(1, 1_000, 20_000),
    allreduce_repeats=1,
    peak_size=64,
    peak_repeats=1,
)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    dumps = tmp_path_factory.mktemp("replicas")
    result = exp.run_config(TINY, seed=0, dump_dir=dumps)
    return result, dumps


@pytest.fixture(scope="module")
def single():
    """The same training as one plain process in this one, for reference."""
    model, history, _ = train(TINY.ddp)
    return model, history


def test_two_replicas_hold_identical_weights_after_training(run):
    _, dumps = run
    zero, one = (torch.load(dumps / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert zero.keys() == one.keys()
    for name in zero:
        assert torch.equal(zero[name], one[name]), name
    assert run[0].metrics["start_identical"] == run[0].metrics["end_identical"] == 1.0


def test_two_processes_train_like_one_on_the_same_global_batch(run, single):
    result, dumps = run
    model, history = single
    assert len(result.series["loss_2"]) == TINY.ddp.steps
    for a, b in zip(result.series["loss_2"], history.train_loss, strict=True):
        assert a == pytest.approx(b, abs=1e-5)
    replica = torch.load(dumps / "rank0.pt", weights_only=True)
    for name, value in model.state_dict().items():
        torch.testing.assert_close(replica[name], value, atol=1e-5, rtol=1e-4)
    assert history.train_loss[-1] < history.train_loss[0]  # and it learns


def test_shards_split_the_global_batch_by_rank_and_rejoin_it():
    x = torch.arange(12).reshape(6, 2)
    parts = [shard((x, -x), rank, 3) for rank in range(3)]
    assert [tuple(p[0].shape) for p in parts] == [(2, 2)] * 3
    assert torch.equal(torch.cat([p[0] for p in parts]), x)
    assert torch.equal(parts[1][1], -x[2:4])
    with pytest.raises(ValueError, match="multiple of 4"):
        shard((x,), 0, 4)


def test_without_a_process_group_the_script_is_one_plain_process(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    replica = distributed.setup()
    assert (replica.rank, replica.world_size, replica.backend) == (0, 1, "")
    assert distributed.replicas_agree(torch.nn.Linear(2, 2))


def test_ring_allreduce_with_one_rank_sends_nothing():
    g = torch.randn(5)
    results, sent = ring_allreduce([g])
    assert torch.equal(results[0], g) and sent == 0


def test_config_and_launcher_reject_bad_input():
    with pytest.raises(ValueError, match="global_batch"):
        DDPConfig(global_batch=0)
    with pytest.raises(ValueError, match="nproc"):
        launch(0, [])


def test_when_one_process_fails_the_launcher_stops_the_others_and_shows_its_error(
    tmp_path,
):
    import subprocess
    import sys
    import time

    procs = []
    for code in (
        "import sys; sys.exit('rank 0 gave up')",
        "import time; time.sleep(60)",
    ):
        err = open(tmp_path / f"{len(procs)}.err", "w+")
        procs.append((subprocess.Popen([sys.executable, "-c", code], stderr=err), err))
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="rank 0 exited with 1:\\n.*rank 0 gave up"):
        distributed._wait_all(procs, timeout_s=60)
    assert time.monotonic() - started < 30  # the sleeper was stopped, not waited for
    assert procs[1][0].poll() is not None


def test_experiment_reports_speed_communication_and_the_napkin(run):
    result, _ = run
    m = result.metrics
    for key in (
        "tokens_per_s_1",
        "tokens_per_s_2",
        "speedup",
        "allreduce_grad_s",
        "bandwidth_bytes_per_s",
        "utilisation_1",
        "gpt2_h100_hours",
        "gpt2_ddp_hours",
    ):
        assert math.isfinite(m[key]) and m[key] > 0, key
    assert m["speedup"] == pytest.approx(m["tokens_per_s_2"] / m["tokens_per_s_1"])
    assert (
        m["parameters"] in result.series["allreduce"]["floats"]
    )  # the gradient's size is timed
    assert m["gpt2_ddp_hours"] < m["gpt2_h100_hours"]  # eight GPUs beat one
    assert f"{m['speedup']:.2f}" in result.text["speed"]
    assert "identical to the last bit" in result.text["same"]
    assert set(result.tables) == {"scaling", "allreduce", "napkin"}
    for table in result.tables.values():
        assert table.to_markdown().count("\n") >= 3


@pytest.mark.parametrize("name", ["ddp-same-loss", "ddp-allreduce", "ddp-throughput"])
def test_figures_draw_in_both_themes(run, name):
    spec = registry()[name]
    assert spec.experiment == "scaling-out"
    for theme in ("light", "dark"):
        with themed(theme):
            fig = spec.draw(run[0])
        assert isinstance(fig, Figure)
        plt.close(fig)
