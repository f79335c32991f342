"""Appendix B's experiment: chapter 12's GPT data-parallel on this CPU, and the napkin
math.

- The same run twice, on the same global batches from the same seed: once as one plain
  process (in this process, with all of its threads) and once as ``world_size`` processes
  under DDP with the gloo backend, started by `airoad_book.distributed.launch` as torchrun
  would, the threads split between them (each process gets threads / world_size, at least
  one). Their per-step losses must agree to float rounding, and the replicas must end
  identical; their tokens per second say whether data parallelism pays on one CPU.
- The all-reduce itself, timed by the processes for a range of sizes (the GPT's gradient
  among them), against the ring's napkin formula: 2(p − 1) latencies plus 2(p − 1)/p × the
  bytes over a bandwidth, the latency read off the smallest size and the bandwidth off the
  largest.
- The napkin table: memory and time to train N parameters on D tokens, from
  `airoad_book.cost`: this run on this CPU (at its measured matmul peak, against the time
  it took), and GPT-2 small on 20 tokens per parameter on one A100, one H100 and eight
  H100s with DDP (datasheet peaks).

Data-parallel runs are counted in steps, not seconds (a rank that stopped on its own
clock would leave the others waiting in an all-reduce), so ``seconds`` is not used.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from airoad_book import cost
from airoad_book.distributed import DDPConfig, launch, train
from airoad_book.experiments.budget import config_for
from airoad_book.models.gpt import GPTConfig
from airoad_book.results import Result, Table

NAME = "scaling-out"
CHAPTER = "B"
SUMMARY = "chapter 12's GPT data-parallel (DDP, gloo): 1 vs 2 processes on this CPU, all-reduce time against size, napkin math for GPT-2 small"

GPT2_SMALL = GPTConfig(
    vocab_size=50_257, context=1024, d_model=768, num_heads=12, num_layers=12
)


@dataclass(frozen=True)
class Config:
    """One budget: the data-parallel run, the all-reduce sizes, the napkin's GPT-2
    example."""

    ddp: DDPConfig = field(default_factory=lambda: DDPConfig(steps=40))
    world_size: int = 2  # processes of the data-parallel run
    allreduce_sizes: tuple[int, ...] = (
        1,
        1_000,
        10_000,
        100_000,
        1_000_000,
        4_000_000,
    )  # floats
    allreduce_repeats: int = 5
    peak_size: int = 512  # the square matmul that measures this CPU's peak
    peak_repeats: int = 5
    gpt2_tokens_per_parameter: int = 20  # D = 20 N (Hoffmann et al. 2022)
    gpt2_batch_tokens: int = (
        524_288  # tokens per step: 512 × 1,024 (GPT-3's 125M model, Brown et al. 2020)
    )
    gpt2_gpus: int = 8  # the DDP row of the napkin


CONFIGS = {
    "quick": Config(),
    "full": Config(
        ddp=DDPConfig(
            steps=200,
            global_batch=32,
            context=128,
            d_model=128,
            num_layers=4,
            train_chars=None,
        ),
        allreduce_repeats=20,
    ),
}


def _run_processes(
    config: Config, threads: int, gradient_floats: int, dump_dir: Path | None = None
) -> tuple[dict, float]:
    """The data-parallel run, launched; its rank-0 summary and the wall seconds it took.
    With ``dump_dir`` every rank saves its final weights there (rank<r>.pt)."""
    c = config.ddp
    sizes = sorted({*config.allreduce_sizes, gradient_floats})
    with tempfile.TemporaryDirectory(prefix="airoad-scaling-") as tmp:
        out = Path(tmp) / "summary.json"
        args = [
            "--steps",
            c.steps,
            "--global-batch",
            c.global_batch,
            "--context",
            c.context,
            "--d-model",
            c.d_model,
            "--num-heads",
            c.num_heads,
            "--num-layers",
            c.num_layers,
            "--lr",
            c.lr,
            "--seed",
            c.seed,
            "--json",
            out,
            "--allreduce-sizes",
            *sizes,
        ]
        if c.train_chars is not None:
            args += ["--train-chars", c.train_chars]
        if dump_dir is not None:
            args += ["--dump-dir", dump_dir]
        started = time.perf_counter()
        launch(config.world_size, [str(a) for a in args], threads=threads)
        wall = time.perf_counter() - started
        return json.loads(out.read_text()), wall


def _fit_ring(sizes: list[int], seconds: list[float], p: int) -> tuple[float, float]:
    """(latency s, bandwidth bytes/s) of the ring formula from the smallest and largest
    sizes."""
    latency = seconds[0] / (2 * (p - 1))
    moved = cost.allreduce_bytes(4 * sizes[-1], p)
    return latency, moved / max(seconds[-1] - 2 * (p - 1) * latency, 1e-9)


def run_config(
    config: Config,
    seed: int = 0,
    seconds: float | None = None,
    *,
    dump_dir: Path | None = None,
) -> Result:
    """One process, then ``world_size`` processes, on the same batches; all-reduces; the
    napkin.

    With ``dump_dir`` each process of the data-parallel run saves its final weights
    there (``rank<r>.pt``), for a test to compare the replicas."""
    c = replace_seed(config, seed)
    p = c.world_size
    threads = torch.get_num_threads()
    per_process = max(1, threads // p)
    peak = cost.matmul_peak_gflops(
        c.peak_size, c.peak_repeats
    )  # GFLOP/s with `threads` threads

    started = time.perf_counter()
    model, one, _ = train(c.ddp)  # one plain process
    one_wall = time.perf_counter() - started
    N = model.num_parameters
    two, two_wall = _run_processes(c, per_process, N, dump_dir)

    tokens = one.steps_done * c.ddp.global_batch * c.ddp.context
    diffs = [abs(a - b) for a, b in zip(one.train_loss, two["train_loss"], strict=True)]
    sizes, times = two["allreduce_sizes"], two["allreduce_seconds"]
    latency, bandwidth = _fit_ring(sizes, times, p)
    napkin_times = [cost.allreduce_seconds(4 * n, p, bandwidth, latency) for n in sizes]
    grad_measured = times[sizes.index(N)]
    step_two = two["seconds"] / two["steps"]

    gcfg = model.config
    flops = cost.training_flops_per_token(gcfg) * tokens
    m = {
        "world_size": p,
        "threads": threads,
        "threads_per_process": per_process,
        "parameters": N,
        "steps": one.steps_done,
        "tokens": tokens,
        "seconds_1": one.seconds,
        "seconds_2": two["seconds"],
        "tokens_per_s_1": tokens / one.seconds,
        "tokens_per_s_2": two["tokens_per_s"],
        "speedup": two["tokens_per_s"] / (tokens / one.seconds),
        "wall_1": one_wall,
        "wall_2": two_wall,
        "loss_first": one.train_loss[0],
        "loss_last": one.train_loss[-1],
        "loss_last_2": two["train_loss"][-1],
        "loss_max_diff": max(diffs),
        "start_identical": float(two["start_identical"]),
        "end_identical": float(two["end_identical"]),
        "matmul_peak_gflops": peak,
        "train_flops": flops,
        "predicted_seconds_1": cost.training_seconds(flops, peak * 1e9),
        "utilisation_1": flops / one.seconds / (peak * 1e9),
        "gradient_bytes": 4 * N,
        "allreduce_grad_s": grad_measured,
        "allreduce_grad_napkin_s": cost.allreduce_seconds(4 * N, p, bandwidth, latency),
        "allreduce_scalar_s": times[0],
        "latency_s": latency,
        "bandwidth_bytes_per_s": bandwidth,
        "step_seconds_2": step_two,
        "comm_share_2": (grad_measured + times[0]) / step_two,
        "nvlink_over_measured": cost.DATASHEETS["H100"].link_bytes_per_s / bandwidth,
    }
    m |= _gpt2_metrics(c)
    metrics = {k: float(v) for k, v in m.items()}
    return Result(
        metrics=metrics,
        tables={
            "scaling": scaling_table(metrics, c),
            "allreduce": allreduce_table(sizes, times, napkin_times, p),
            "napkin": napkin_table(metrics, c, gcfg),
        },
        series={
            "loss_1": one.train_loss,
            "loss_2": two["train_loss"],
            "allreduce": {"floats": sizes, "seconds": times, "napkin": napkin_times},
            "config": asdict(c),
        },
        text={
            "same": same_sentence(metrics),
            "speed": speed_sentence(metrics),
            "comm": comm_sentence(metrics),
            "napkin": napkin_sentence(metrics),
        },
    )


def replace_seed(config: Config, seed: int) -> Config:
    """The config with its data-parallel run seeded by ``seed``."""
    return Config(
        **{
            **{f: getattr(config, f) for f in config.__dataclass_fields__},
            "ddp": DDPConfig(**{**asdict(config.ddp), "seed": seed}),
        }
    )


# --------------------------------------------------------------------------- GPT-2
# small, on paper


def _gpt2_metrics(c: Config) -> dict:
    """GPT-2 small on D = 20 N tokens: FLOPs, memory, and hours on each device of the
    napkin."""
    N = cost.parameter_count(GPT2_SMALL)
    D = c.gpt2_tokens_per_parameter * N
    flops = cost.training_flops_per_token(GPT2_SMALL) * D
    steps = D / c.gpt2_batch_tokens
    h100 = cost.DATASHEETS["H100"]
    per_step = (
        cost.training_flops_per_token(GPT2_SMALL) * c.gpt2_batch_tokens
    )  # FLOPs, global batch
    comm = cost.allreduce_seconds(4 * N, c.gpt2_gpus, h100.link_bytes_per_s)
    one_gpu_step = cost.training_seconds(per_step, h100.peak_flops, cost.PALM_MFU)
    out = {
        "gpt2_parameters": N,
        "gpt2_tokens": D,
        "gpt2_flops": flops,
        "gpt2_memory_bytes": cost.training_memory_bytes(GPT2_SMALL, batch=8)["total"],
        "gpt2_allreduce_s": comm,
        "gpt2_step_1gpu_s": one_gpu_step,
        "gpt2_ddp_hours": steps
        * cost.data_parallel_step_seconds(one_gpu_step, c.gpt2_gpus, comm)
        / 3600,
        "gpt2_ddp_comm_share": comm
        / cost.data_parallel_step_seconds(one_gpu_step, c.gpt2_gpus, comm),
    }
    for key, dev in cost.DATASHEETS.items():
        out[f"gpt2_{key.lower()}_hours"] = (
            cost.training_seconds(flops, dev.peak_flops, cost.PALM_MFU) / 3600
        )
        out[f"gpt2_{key.lower()}_peak_hours"] = (
            cost.training_seconds(flops, dev.peak_flops) / 3600
        )
    return out


# --------------------------------------------------------------------------- tables


def scaling_table(m: dict, c: Config) -> Table:
    """The two runs side by side."""
    b = c.ddp.global_batch
    return Table(
        columns=[
            "run",
            "threads per process",
            "blocks per process per step",
            "steps",
            "train seconds",
            "tokens / s",
            "last loss (nats/char)",
            "speed-up",
        ],
        rows=[
            [
                "1 process",
                int(m["threads"]),
                b,
                int(m["steps"]),
                m["seconds_1"],
                m["tokens_per_s_1"],
                m["loss_last"],
                1.0,
            ],
            [
                f"{int(m['world_size'])} processes, DDP (gloo)",
                int(m["threads_per_process"]),
                b // int(m["world_size"]),
                int(m["steps"]),
                m["seconds_2"],
                m["tokens_per_s_2"],
                m["loss_last_2"],
                m["speedup"],
            ],
        ],
        formats=["", "d", "d", "d", ".2f", ",.0f", ".4f", ".2f"],
    )


def allreduce_table(
    sizes: list[int], measured: list[float], napkin: list[float], p: int
) -> Table:
    """Each all-reduce timed, against the ring formula."""
    return Table(
        columns=[
            "floats",
            "gradient MiB",
            "sent per process (MiB)",
            "measured ms",
            "napkin ms",
        ],
        rows=[
            [n, 4 * n / 2**20, cost.allreduce_bytes(4 * n, p) / 2**20, 1e3 * t, 1e3 * q]
            for n, t, q in zip(sizes, measured, napkin, strict=True)
        ],
        formats=[",d", ".3f", ".3f", ".3f", ".3f"],
    )


def napkin_table(m: dict, c: Config, gcfg: GPTConfig) -> Table:
    """Memory and time to train N parameters on D tokens, on this CPU and on datasheet
    GPUs."""
    mem = cost.training_memory_bytes(
        gcfg, batch=c.ddp.global_batch, context=c.ddp.context
    )["total"]
    rows = [
        [
            f"this run's GPT, this CPU ({int(m['threads'])} "
            f"thread{'s' if m['threads'] > 1 else ''}, {m['matmul_peak_gflops']:.0f} "
            f"GFLOP/s measured)",
            f"{int(m['parameters']):,}",
            f"{m['tokens']:,.0f}",
            f"{m['train_flops']:.2e}",
            f"{mem / 2**20:,.0f} MiB",
            f"{m['predicted_seconds_1']:.2f} s",
            f"{m['seconds_1']:.2f} s measured ({m['utilisation_1']:.0%} of the peak)",
        ]
    ]
    gpt2 = f"{int(m['gpt2_parameters']):,}"
    for key, dev in cost.DATASHEETS.items():
        rows.append(
            [
                f"GPT-2 small, one {dev.name} ({dev.peak_flops / 1e12:,.0f} TFLOP/s "
                f"{dev.precision})",
                gpt2,
                f"{m['gpt2_tokens']:,.0f}",
                f"{m['gpt2_flops']:.2e}",
                f"{m['gpt2_memory_bytes'] / 2**30:.1f} GiB (batch 8)",
                f"{m[f'gpt2_{key.lower()}_peak_hours']:.2f} h",
                f"{m[f'gpt2_{key.lower()}_hours']:.2f} h at {cost.PALM_MFU:.1%} "
                f"utilisation",
            ]
        )
    rows.append(
        [
            f"GPT-2 small, {c.gpt2_gpus} × H100 with DDP",
            gpt2,
            f"{m['gpt2_tokens']:,.0f}",
            f"{m['gpt2_flops']:.2e}",
            "the same, on every GPU",
            f"{m['gpt2_h100_peak_hours'] / c.gpt2_gpus:.2f} h",
            f"{m['gpt2_ddp_hours']:.2f} h at {cost.PALM_MFU:.1%}, all-reduce "
            f"{1e3 * m['gpt2_allreduce_s']:.1f} ms per step",
        ]
    )
    return Table(
        columns=[
            "model and device",
            "parameters N",
            "tokens D",
            "training FLOPs",
            "memory to train (fp32, Adam)",
            "time at the peak",
            "time, realistically",
        ],
        rows=rows,
    )


# --------------------------------------------------------------------------- sentences


def same_sentence(m: dict) -> str:
    """Do the two runs train the same model? From the numbers."""
    agree = m["loss_max_diff"] < 1e-4
    ident = "identical" if m["end_identical"] else "NOT identical (a bug)"
    head = (
        f"Over {int(m['steps'])} steps the {int(m['world_size'])}-process run's loss "
        f"stays within "
        f"{m['loss_max_diff']:.1e} nats of the single process's at every step"
    )
    tail = (
        "float rounding, from summing the gradients in another order"
        if agree
        else "more than float rounding explains"
    )
    return f"{head} ({tail}), and its replicas end {ident} to the last bit."


def speed_sentence(m: dict) -> str:
    """Does data parallelism pay on this machine? From the numbers, saying which cores
    each run had."""
    p, t, tp = int(m["world_size"]), int(m["threads"]), int(m["threads_per_process"])
    same_cores = p * tp == t
    cores = (
        f"the same {t} threads split over {p} processes of {tp}"
        if same_cores
        else f"{p} processes of {tp} thread{'s' if tp > 1 else ''} each, {p * tp} in all, against {t}"
    )
    gain = m["speedup"]
    if gain > 1.1:
        what = f"{gain:.2f} times the single process's tokens per second"
    elif gain < 0.9:
        what = f"only {gain:.2f} times the single process's tokens per second: it is slower"
    else:
        what = f"{gain:.2f} times the single process's tokens per second: no gain"
    if same_cores:
        verdict = (
            "Even on the same cores the processes gain: one process did not keep its "
            "threads busy."
            if gain > 1.1
            else "On one machine the processes share its cores: data parallelism "
            "here only moves the work around, and adds the all-reduces."
        )
    else:
        verdict = (
            "The gain comes from the extra threads, not from parallelism itself: a "
            "fair comparison "
            "gives both runs the same cores."
            if gain > 1.1
            else "It had more threads and still did not gain: the all-reduces, and whatever else the "
            "machine was running, took the difference."
        )
    return f"With {cores}, the data-parallel run trains on {what}. {verdict}"


def comm_sentence(m: dict) -> str:
    """What the all-reduce costs per step, measured and on the napkin."""
    return (
        f"Averaging the GPT's gradient ({m['gradient_bytes'] / 2**20:.2f} MiB of fp32) "
        f"over gloo "
        f"takes {1e3 * m['allreduce_grad_s']:.2f} ms (the ring formula, from a latency "
        f"of "
        f"{1e6 * m['latency_s']:.0f} µs and {m['bandwidth_bytes_per_s'] / 1e9:.2f} "
        f"GB/s, says "
        f"{1e3 * m['allreduce_grad_napkin_s']:.2f} ms); with the loss's own all-reduce "
        f"that is "
        f"{m['comm_share_2']:.0%} of a {1e3 * m['step_seconds_2']:.0f} ms "
        f"data-parallel step. "
        f"An H100's NVLink moves {m['nvlink_over_measured']:,.0f} times as many bytes "
        f"per second "
        "by its datasheet."
    )


def napkin_sentence(m: dict) -> str:
    """The worked example's conclusions, from the numbers."""
    return (
        f"GPT-2 small ({m['gpt2_parameters'] / 1e6:.0f} M parameters) on "
        f"{m['gpt2_tokens'] / 1e9:.1f} "
        f"billion tokens is {m['gpt2_flops']:.1e} FLOPs: {m['gpt2_h100_hours']:.1f} "
        f"hours on one H100 "
        f"at PaLM's utilisation, {m['gpt2_ddp_hours']:.2f} hours on eight with DDP, "
        f"where the all-reduce over "
        f"NVLink is {m['gpt2_ddp_comm_share']:.1%} of a step. This CPU reached "
        f"{m['utilisation_1']:.0%} of its own matmul peak on the small GPT."
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full" (``seconds`` is not used: runs count
    steps)."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
