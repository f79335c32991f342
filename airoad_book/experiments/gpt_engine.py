"""Chapter 12's engine, measured: where a training step of the GPT spends its time, and
what each choice of the engine buys.

Every variant trains chapter 12's GPT (L = 4, C = 128, H = 4, T = 128, batches of 16
blocks) on one thread, and is timed in *CPU time* (`time.process_time`), not wall-clock:
on a shared machine another process can take the core away mid-step, which stretches the
wall-clock but not the CPU time the step itself used. The yardstick is the same: the
best CPU time of a (1024, 1024) fp32 matmul, also on one thread. Variants are timed in
turns, round after round, and each keeps its best round, so a slow moment of the machine
hurts all of them alike and none for good.

- **engine now**: `make_optimizer`'s foreach AdamW, foreach clipping, PyTorch's fused
  attention (`F.scaled_dot_product_attention`, a flash-attention loop on the CPU);
- **for-loop optimizer and clipping**: one kernel per parameter tensor per operation,
  PyTorch's CPU default, the engine before;
- **attention unfused**: the same attention through SDPA's math backend (Q Kᵀ, mask,
  softmax, then V as separate operations, the (T, T) weights written to memory);
- **no biases**: linear layers and LayerNorms without biases (nanoGPT's ``bias=False``);
- **batch 32**: twice the rows in every matrix product.

A torch.profiler trace of the engine as it is sorts the step's CPU time by kind of work.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from airoad_book.cost import training_flops_per_token
from airoad_book.device import seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.models.gpt import GPT, GPTConfig
from airoad_book.results import Result, Table
from airoad_book.train import TrainConfig, make_optimizer, make_schedule, train_step

NAME = "gpt-engine"
CHAPTER = 12
SUMMARY = (
    "chapter 12's GPT step on one thread: its profile, and what each engine choice buys"
)

VARIANTS = (
    "engine now",
    "for-loop optimizer and clipping",
    "attention unfused",
    "no biases",
    "batch 32",
)
# profiler op names -> the kind of work they are
OP_KINDS = (
    ("matrix products", ("aten::mm", "aten::addmm", "aten::bmm")),
    (
        "attention kernel",
        (
            "aten::_scaled_dot_product_flash_attention_for_cpu",
            "aten::_scaled_dot_product_flash_attention_for_cpu_backward",
        ),
    ),
    ("GELU", ("aten::gelu", "aten::gelu_backward")),
    ("LayerNorm", ("aten::native_layer_norm", "aten::native_layer_norm_backward")),
    ("optimizer and clipping", ("aten::_foreach_",)),
)


@dataclass(frozen=True)
class Config:
    """How long to measure; the model is chapter 12's at every budget."""

    vocab_size: int = 86  # chapter 8's Shakespeare characters
    batch_size: int = 16
    rounds: int = 6  # turns through all the variants; each keeps its best
    steps: int = 3  # timed steps per variant per round (after one untimed step)
    profile_steps: int = 4
    peak_size: int = 1024


CONFIGS = {
    "quick": Config(rounds=2, steps=1, profile_steps=1, peak_size=512),
    "full": Config(rounds=8),
}


def gpt_shape(c: Config, bias: bool = True) -> GPTConfig:
    """Chapter 12's GPT."""
    return GPTConfig(
        vocab_size=c.vocab_size,
        context=128,
        d_model=128,
        num_heads=4,
        num_layers=4,
        bias=bias,
    )


def make_step(c: Config, variant: str, seed: int):
    """A function running one training step of ``variant``; its GPTConfig and batch."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {VARIANTS}")
    gen = seed_everything(seed)
    gcfg = gpt_shape(c, bias=variant != "no biases")
    model = GPT(gcfg)
    batch = c.batch_size * (2 if variant == "batch 32" else 1)
    x = torch.randint(0, c.vocab_size, (batch, 128), generator=gen)
    y = torch.randint(0, c.vocab_size, (batch, 128), generator=gen)
    config = TrainConfig(max_steps=10**6, lr=1e-4, optimizer="adamw", clip_norm=1.0)
    optimizer = make_optimizer(model, config)
    schedule = make_schedule(optimizer, config)
    foreach = variant != "for-loop optimizer and clipping"
    for group in optimizer.param_groups:
        group["foreach"] = foreach

    def loss_fn(m, b):
        logits = m(b[0])  # (B, T, V)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), b[1].reshape(-1))

    def step() -> None:
        backend = (
            sdpa_kernel(SDPBackend.MATH)
            if variant == "attention unfused"
            else contextlib.nullcontext()
        )
        with backend:
            if foreach:
                train_step(model, (x, y), loss_fn, optimizer, schedule, config)
            else:  # the same step with torch's per-tensor clipping
                optimizer.zero_grad(set_to_none=True)
                loss_fn(model, (x, y)).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0, foreach=False)
                optimizer.step()
                schedule.step()

    return step, gcfg, batch


def cpu_peak_gflops(size: int, repeats: int) -> float:
    """The best CPU-time GFLOP/s of a (size, size) fp32 matmul."""
    gen = torch.Generator().manual_seed(0)
    a, b = (
        torch.randn(size, size, generator=gen),
        torch.randn(size, size, generator=gen),
    )
    out = torch.empty(size, size)
    torch.matmul(a, b, out=out)
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        torch.matmul(a, b, out=out)
        best = min(best, time.process_time() - started)
    return 2.0 * size**3 / max(best, 1e-9) / 1e9


def profile_shares(step, steps: int) -> dict[str, float]:
    """Share of the step's self CPU time per kind of work (OP_KINDS, and "other")."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    totals = {kind: 0.0 for kind, _ in OP_KINDS} | {"other": 0.0}
    for event in prof.key_averages():
        kind = next(
            (
                k
                for k, names in OP_KINDS
                if any(
                    event.key == n or (n.endswith("_") and event.key.startswith(n))
                    for n in names
                )
            ),
            "other",
        )
        totals[kind] += event.self_cpu_time_total
    whole = sum(totals.values()) or 1.0
    return {kind: t / whole for kind, t in totals.items()}


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Time every variant in turns on one thread; profile the engine as it is."""
    c = config
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        steps = {v: make_step(c, v, seed) for v in VARIANTS}
        best = {v: float("inf") for v in VARIANTS}
        peak = 0.0
        for _ in range(c.rounds):
            peak = max(peak, cpu_peak_gflops(c.peak_size, 2))
            for v, (step, _, _) in steps.items():
                step()  # untimed: caches, allocator
                started = time.process_time()
                for _ in range(c.steps):
                    step()
                best[v] = min(best[v], (time.process_time() - started) / c.steps)
        shares = profile_shares(steps["engine now"][0], c.profile_steps)
    finally:
        torch.set_num_threads(threads)
    rows, metrics = [], {"peak_gflops": peak}
    base = best["engine now"]
    for v, (_, gcfg, batch) in steps.items():
        tokens = batch * 128
        gflops = tokens * training_flops_per_token(gcfg) / best[v] / 1e9
        key = v.replace(" ", "_").replace("-", "_")
        metrics[f"{key}_ms"] = 1e3 * best[v]
        metrics[f"{key}_share"] = gflops / peak
        rows.append(
            [
                v,
                1e3 * best[v],
                tokens / best[v],
                gflops,
                gflops / peak,
                tokens / best[v] / (2048 / base),
            ]
        )
    for kind, share in shares.items():
        metrics[f"profile_{kind.replace(' ', '_')}"] = share
    tables = {
        "variants": Table(
            columns=[
                "engine",
                "ms per step (CPU)",
                "tokens / s",
                "GFLOP/s",
                "fraction of the 1-thread peak",
                "tokens / s vs now",
            ],
            rows=rows,
            formats=["", ".0f", ",.0f", ".1f", ".0%", ".2f"],
        ),
        "profile": Table(
            columns=["kind of work", "share of the step's CPU time"],
            rows=[[k, s] for k, s in shares.items()],
            formats=["", ".0%"],
        ),
    }
    now = metrics["engine_now_share"]
    text = (
        f"On one thread the engine as it is runs at {now:.0%} of the "
        f"{peak:.0f} GFLOP/s a large matmul reaches; matrix products are "
        f"{shares['matrix products']:.0%} of its CPU time and the attention kernel "
        f"{shares['attention kernel']:.0%}."
    )
    return Result(
        metrics=metrics,
        tables=tables,
        series={"config": asdict(c)},
        text={"summary": text},
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """Measure at budget "quick" (a few steps) or "full" (more rounds)."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
