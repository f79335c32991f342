r"""Data-parallel training of chapter 12's GPT: DistributedDataParallel, launched by
torchrun.

Shen Li, Yanli Zhao, Rohan Varma, Omkar Salpekar, Pieter Noordhuis, Teng Li, Adam
Paszke, Jeff Smith, Brian Vaughan, Pritam Damania and Soumith Chintala (2020), *PyTorch
Distributed: Experiences on Accelerating Data Parallel Training*, VLDB,
<https://arxiv.org/abs/2006.15704>.

Data parallelism runs one copy of the model per process (a *replica*, one per GPU or CPU
socket), gives each its own slice of the global batch, and averages the gradients across
the replicas with an all-reduce before every optimizer step. Every replica then takes
the same step from the same weights, so they stay identical without ever sending a
weight: $p$ processes train like one process on a batch $p$ times as large, if the
all-reduce is cheap enough. ``DistributedDataParallel`` (DDP) does the averaging inside
``backward``, in buckets of gradients that are sent while the rest of the backward pass
is still running.

Run it with ``torchrun`` (one process per device; torchrun sets RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR and MASTER_PORT for each):

    uv run torchrun --nproc-per-node 2 -m airoad_book.distributed --steps 20

The same script uses the gloo backend on CPUs and NCCL when CUDA is there. Without
torchrun (no WORLD_SIZE in the environment) it trains one plain process, the reference
the tests hold the distributed run to. `launch` starts the processes the way torchrun
does for one machine, without torchrun's own process: the tests and the build use it.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from airoad_book.data import Vocab, char_tokens, lm_windows, random_batches, shakespeare
from airoad_book.device import device as pick_device
from airoad_book.device import seed_everything
from airoad_book.models.gpt import GPT, GPTConfig
from airoad_book.train import History, TrainConfig, fit, save_checkpoint

__all__ = [
    "DDPConfig",
    "Replica",
    "setup",
    "shard",
    "global_batches",
    "mean_loss_over_ranks",
    "replicas_agree",
    "train",
    "allreduce_seconds",
    "ring_allreduce",
    "free_port",
    "launch",
    "main",
]


# --8<-- [start:config]
@dataclass(frozen=True)
class DDPConfig:
    """One data-parallel run: chapter 12's GPT at a small size, a fixed number of steps.

    ``global_batch`` counts the blocks of ``context`` characters that one optimizer step
    learns from, over all processes together; each of p processes takes global_batch /
    p.
    """

    steps: int = (
        20  # optimizer steps (no time budget: every rank must take the same number)
    )
    global_batch: int = 16  # blocks per step, all ranks together
    context: int = 64  # T, characters per block
    d_model: int = 64  # C
    num_heads: int = 4  # H
    num_layers: int = 2  # L
    lr: float = 3e-3  # AdamW's learning rate, constant
    clip_norm: float = 1.0  # global gradient-norm clip (on the averaged gradient)
    seed: int = 0  # the same on every rank: same weights, same global batches
    train_chars: int | None = (
        200_000  # the first N characters of the training split; None: all
    )

    def __post_init__(self) -> None:
        for name in (
            "steps",
            "global_batch",
            "context",
            "d_model",
            "num_heads",
            "num_layers",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"DDPConfig.{name} must be an int >= 1; got {value!r}")
        if self.train_chars is not None and self.train_chars < 2 * self.context + 2:
            raise ValueError(
                f"DDPConfig.train_chars must hold at least two blocks of "
                f"{self.context} characters; got {self.train_chars}"
            )


# --8<-- [end:config]


# --8<-- [start:setup]
@dataclass(frozen=True)
class Replica:
    """Where this process stands: its rank in [0, world_size), the device it trains on
    and the backend ("gloo", "nccl", or "" with no process group: one plain process)."""

    rank: int
    world_size: int
    device: torch.device
    backend: str


def setup(timeout_s: float = 120.0) -> Replica:
    """Join the process group torchrun describes in the environment, or run alone.

    torchrun sets WORLD_SIZE, RANK and LOCAL_RANK for each process it starts, and
    MASTER_ADDR:MASTER_PORT, where rank 0 listens and the others find it (the "env://"
    rendezvous). With CUDA each process takes the GPU of its local rank and NCCL moves
    the gradients GPU to GPU; without it gloo moves them over local TCP sockets. With no
    WORLD_SIZE (a plain ``python -m``) there is no group and the run is one process.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    on = pick_device()
    if world_size == 1:
        return Replica(0, 1, on, "")
    if on.type == "cuda":
        local_rank = int(os.environ["LOCAL_RANK"])
        torch.cuda.set_device(local_rank)
        on, backend = torch.device("cuda", local_rank), "nccl"
    # gloo runs on CPU tensors (Apple's MPS has no collective backend: use the CPU)
    else:
        on, backend = torch.device("cpu"), "gloo"
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s))
    return Replica(dist.get_rank(), dist.get_world_size(), on, backend)


# --8<-- [end:setup]


# --8<-- [start:data]
def shard(batch: tuple[Tensor, ...], rank: int, world_size: int) -> tuple[Tensor, ...]:
    """This rank's rows of a global batch: rows [rank·b, (rank+1)·b) of each tensor (B,
    ...), b = B / world_size. Concatenated in rank order the shards are the global batch
    again."""
    B = batch[0].shape[0]
    if B % world_size:
        raise ValueError(
            f"the global batch of {B} rows does not split evenly over "
            f"{world_size} processes: use a multiple of {world_size}"
        )
    b = B // world_size
    return tuple(t[rank * b : (rank + 1) * b] for t in batch)


def global_batches(
    config: DDPConfig, generator: torch.Generator
) -> tuple[int, Iterator]:
    """The vocabulary size and an endless stream of global batches x, y (global_batch,
    T).

    Every rank builds the same stream from the same seeded generator and keeps its own
    `shard` of each batch: no rank ever needs another's data, and together they read
    exactly the batches one process would.
    """
    text = shakespeare("train")[: config.train_chars]
    vocab = Vocab.build(char_tokens(text))
    blocks = lm_windows(vocab.encode(char_tokens(text)), config.context)  # 2 × (N, T)
    return len(vocab), random_batches(
        *blocks, batch_size=config.global_batch, generator=generator
    )


# --8<-- [end:data]


# --8<-- [start:loss]
def mean_loss_over_ranks(model: nn.Module, batch: tuple[Tensor, Tensor]) -> Tensor:
    """Cross-entropy of this rank's shard (nats per token), reported as the global
    batch's.

    The gradient is that of this shard's mean loss; DDP averages those over the ranks,
    which with equal shards is the gradient of the global batch's mean loss. The *value*
    returned is that global mean (one all-reduce of a scalar): every rank logs the same
    loss, the loss one process would log, and makes the same decision if it is not
    finite.
    """
    x, y = batch
    logits = model(x)  # (b, T, V)
    local = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    if not dist.is_initialized():
        return local
    total = local.detach().clone()
    dist.all_reduce(total)  # sum over ranks
    return local + (
        total / dist.get_world_size() - local.detach()
    )  # value: mean; gradient: local's


# --8<-- [end:loss]


# --8<-- [start:agree]
@torch.no_grad()
def replicas_agree(model: nn.Module) -> bool:
    """True when every rank holds bit-for-bit the same parameters (always, alone).

    Two all-reduces of all the weights, one taking the elementwise maximum over ranks
    and one the minimum: they are equal everywhere only if every rank holds the same
    numbers.
    """
    if not dist.is_initialized():
        return True
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])  # (N,)
    high, low = flat.clone(), flat.clone()
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    return torch.equal(high, low)


# --8<-- [end:agree]


# --8<-- [start:train]
def train(
    config: DDPConfig, replica: Replica | None = None
) -> tuple[GPT, History, dict]:
    """Train the GPT on this rank's shards for ``config.steps`` steps with `train.fit`.

    Returns the bare model (not the DDP wrapper), the History (its train_loss is the
    global batch's loss at each step) and facts about the run: "start_identical" and
    "end_identical" (`replicas_agree` before the first and after the last step).
    ``replica`` defaults to one plain process.
    """
    r = replica or Replica(0, 1, torch.device("cpu"), "")
    generator = seed_everything(
        config.seed
    )  # same seed, every rank: same weights, same batches
    vocab_size, batches = global_batches(config, generator)
    model = GPT(
        GPTConfig(
            vocab_size=vocab_size,
            context=config.context,
            d_model=config.d_model,
            num_heads=config.num_heads,
            num_layers=config.num_layers,
        )
    ).to(r.device)
    start_identical = replicas_agree(model)
    if not start_identical:
        raise RuntimeError(
            "the replicas start from different weights: seed every rank alike"
        )
    net = model
    if dist.is_initialized():  # DDP also broadcasts rank 0's weights once, here
        net = DistributedDataParallel(
            model, device_ids=[r.device.index] if r.device.type == "cuda" else None
        )
    mine = (
        tuple(t.to(r.device) for t in shard(b, r.rank, r.world_size)) for b in batches
    )
    history = fit(
        net,
        mine,
        mean_loss_over_ranks,
        TrainConfig(
            max_steps=config.steps,
            lr=config.lr,
            optimizer="adamw",
            clip_norm=config.clip_norm,
            eval_every=config.steps,
            restore_best=False,
        ),
        desc=f"rank {r.rank} of {r.world_size}",
    )
    return (
        model,
        history,
        {"start_identical": start_identical, "end_identical": replicas_agree(model)},
    )


# --8<-- [end:train]


# --8<-- [start:allreduce]
def allreduce_seconds(
    sizes: Sequence[int], repeats: int = 5, device: torch.device | None = None
) -> list[float]:
    """Seconds one all-reduce (sum) of a float32 tensor takes, for each number of floats
    in ``sizes``: the fastest of ``repeats``, after a barrier so that every rank starts
    together. Needs a process group (every rank calls it with the same arguments)."""
    if not dist.is_initialized():
        raise ValueError(
            "allreduce_seconds needs a process group: launch with torchrun"
        )
    out = []
    for n in sizes:
        x = torch.ones(int(n), device=device)  # (n,)
        dist.all_reduce(x)  # warm-up: connections, buffers
        best = float("inf")
        for _ in range(repeats):
            dist.barrier()
            started = time.perf_counter()
            dist.all_reduce(x)
            if x.is_cuda:
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - started)
        out.append(best)
    return out


# --8<-- [end:allreduce]


# --8<-- [start:ring]
def ring_allreduce(grads: Sequence[Tensor]) -> tuple[list[Tensor], int]:
    """The ring all-reduce, simulated in one process: p ranks' vectors (n,) in, each
    rank's result (n,) (the sum of all p) out, with the floats each rank sent.

    Each vector is cut into p chunks. Reduce-scatter: in p − 1 rounds every rank passes
    one chunk to its right-hand neighbour, which adds it to its own; after them rank i
    holds the full sum of chunk (i + 1) mod p. All-gather: in p − 1 more rounds the
    finished chunks travel once round the ring. Each rank sends 2(p − 1) chunks of n/p
    floats, 2(p − 1)/p · n in all: nearly 2n however many ranks there are.
    """
    p = len(grads)
    chunks = [
        list(g.clone().tensor_split(p)) for g in grads
    ]  # chunks[rank][c]: (≈ n/p,)
    sent = 0
    for step in range(p - 1):  # reduce-scatter
        outgoing = [
            (rank, (rank - step) % p, chunks[rank][(rank - step) % p].clone())
            for rank in range(p)
        ]
        for rank, c, chunk in outgoing:
            chunks[(rank + 1) % p][c] += chunk
            sent += chunk.numel()
    for step in range(p - 1):  # all-gather: rank i starts with the finished chunk i + 1
        outgoing = [
            (rank, (rank + 1 - step) % p, chunks[rank][(rank + 1 - step) % p].clone())
            for rank in range(p)
        ]
        for rank, c, chunk in outgoing:
            chunks[(rank + 1) % p][c] = chunk
            sent += chunk.numel()
    return [torch.cat(c) for c in chunks], sent // p


# --8<-- [end:ring]


# --------------------------------------------------------------------------- the script


def _parser() -> argparse.ArgumentParser:
    d = DDPConfig()
    p = argparse.ArgumentParser(
        prog="python -m airoad_book.distributed",
        description="Train chapter 12's GPT data-parallel (run under torchrun).",
    )
    for name in (
        "steps",
        "global_batch",
        "context",
        "d_model",
        "num_heads",
        "num_layers",
        "seed",
    ):
        p.add_argument(
            "--" + name.replace("_", "-"), type=int, default=getattr(d, name)
        )
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--train-chars", type=int, default=d.train_chars)
    p.add_argument("--json", type=Path, help="rank 0 writes the run's summary here")
    p.add_argument("--save", type=Path, help="rank 0 saves the trained weights here")
    p.add_argument(
        "--dump-dir", type=Path, help="every rank saves its weights here as rank<r>.pt"
    )
    p.add_argument(
        "--allreduce-sizes",
        type=int,
        nargs="*",
        default=[],
        help="after training, time an all-reduce of each of these numbers of floats",
    )
    return p


def main(argv: Sequence[str] | None = None) -> dict:
    """The script: join the group, train, time all-reduces if asked; rank 0 reports and
    saves.

    Returns the summary dict (rank 0's is also written to ``--json`` and printed as one
    line): world_size, backend, threads, steps, tokens, seconds, tokens_per_s,
    train_loss (per step), start_identical, end_identical, parameters, allreduce_sizes
    and allreduce_seconds.
    """
    args = _parser().parse_args(argv)
    fields = {
        f: getattr(args, f) for f in DDPConfig.__dataclass_fields__ if hasattr(args, f)
    }
    config = DDPConfig(**fields)
    replica = setup()
    try:
        model, history, facts = train(config, replica)
        timings = (
            allreduce_seconds(args.allreduce_sizes, device=replica.device)
            if args.allreduce_sizes
            else []
        )
        tokens = history.steps_done * config.global_batch * config.context
        summary = {
            "world_size": replica.world_size,
            "backend": replica.backend or "none",
            "threads": torch.get_num_threads(),
            "steps": history.steps_done,
            "tokens": tokens,
            "seconds": history.seconds,
            "tokens_per_s": tokens / history.seconds,
            "train_loss": history.train_loss,
            "parameters": model.num_parameters,
            "allreduce_sizes": list(args.allreduce_sizes),
            "allreduce_seconds": timings,
            "config": asdict(config),
            **facts,
        }
        if args.dump_dir is not None:
            args.dump_dir.mkdir(parents=True, exist_ok=True)
            torch.save(model.state_dict(), args.dump_dir / f"rank{replica.rank}.pt")
        if (
            replica.rank == 0
        ):  # one process reports and saves: the others hold the same weights
            if args.save is not None:
                save_checkpoint(
                    args.save,
                    model,
                    model_name="GPT",
                    config=asdict(model.config),
                    extra={"ddp": asdict(config), "world_size": replica.world_size},
                )
            if args.json is not None:
                args.json.write_text(json.dumps(summary))
            print(
                f"{replica.world_size} process(es), {replica.backend or 'no'} backend: "
                f"{history.steps_done} steps, loss {history.train_loss[0]:.3f} -> "
                f"{history.train_loss[-1]:.3f}, {summary['tokens_per_s']:,.0f} "
                f"tokens/s, "
                f"replicas identical: {facts['end_identical']}"
            )
        return summary
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


# --------------------------------------------------------------------------- a launcher


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --8<-- [start:launch]
def launch(
    nproc: int, args: Sequence[str], *, threads: int = 1, timeout_s: float = 300.0
) -> None:
    """Run ``python -m airoad_book.distributed ARGS`` as ``nproc`` processes on this
    machine, with the environment torchrun would give them, and wait for all of them.

    Each process gets RANK = LOCAL_RANK = its index, WORLD_SIZE = LOCAL_WORLD_SIZE =
    nproc, MASTER_ADDR = 127.0.0.1, a free MASTER_PORT, and OMP_NUM_THREADS =
    ``threads``. What torchrun adds (restarts, elastic membership, several machines) is
    left out; what it saves is torchrun's own Python process. If a process fails the
    others are stopped and a RuntimeError carries the failed one's stderr.
    """
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"nproc must be an int >= 1; got {nproc!r}")
    port = str(free_port())
    with tempfile.TemporaryDirectory(prefix="airoad-ddp-") as logs:
        procs = []
        for rank in range(nproc):
            env = os.environ | {
                "RANK": str(rank),
                "LOCAL_RANK": str(rank),
                "WORLD_SIZE": str(nproc),
                "LOCAL_WORLD_SIZE": str(nproc),
                "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": port,
                "OMP_NUM_THREADS": str(threads),
            }
            err = open(Path(logs) / f"rank{rank}.err", "w+")  # closed below
            procs.append(
                (
                    subprocess.Popen(
                        [sys.executable, "-m", "airoad_book.distributed", *args],
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=err,
                    ),
                    err,
                )
            )
        _wait_all(procs, timeout_s)


# --8<-- [end:launch]


def _wait_all(procs: list, timeout_s: float) -> None:
    """Wait for every process; on the first failure (or the timeout) stop the rest and
    raise."""
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            codes = [p.poll() for p, _ in procs]
            failed = [i for i, c in enumerate(codes) if c not in (None, 0)]
            if failed or time.monotonic() > deadline:
                for p, _ in procs:
                    if p.poll() is None:
                        p.kill()
                        p.wait()
                rank = failed[0] if failed else 0
                err = procs[rank][1]
                err.seek(0)
                why = (
                    f"rank {rank} exited with {codes[rank]}"
                    if failed
                    else f"timed out after {timeout_s} s"
                )
                raise RuntimeError(
                    f"distributed run failed: {why}:\n{err.read()[-4000:]}"
                )
            if all(c == 0 for c in codes):
                return
            time.sleep(0.02)
    finally:
        for _, err in procs:
            err.close()


if __name__ == "__main__":
    main()
