r"""What training a Transformer costs: parameters, FLOPs, memory, and this machine's
peak.

Arithmetic from the shapes alone, before a single step is run, for the GPT of chapter 12
(`airoad_book.models.gpt.GPTConfig`) and for any model with the same parts; chapter 13
and the scaling-out appendix use the same helpers.

- **Parameters** (`parameter_counts`, `parameter_count`): every matrix and vector of the
  model, a tied embedding counted once; equal to ``sum(p.numel() for p in model.parameters())``.
- **FLOPs per token** (`forward_flops_per_token`, `training_flops_per_token`): the
  convention of Kaplan et al. (2020), *Scaling Laws for Neural Language Models*, Table 1,
  <https://arxiv.org/abs/2001.08361>. A matrix-vector product with an (m, n) matrix costs
  2mn FLOPs (a multiply and an add per weight), so the forward pass costs 2N for the N
  non-embedding weights, plus the attention itself, plus the output layer ("de-embed"),
  $C_\text{forward} = 2N + 2\,n_\text{layer}\, n_\text{ctx}\, d_\text{model} + 2\, d_\text{model}\, n_\text{vocab}$;
  and the backward pass costs about twice the forward (a gradient for the input and one for
  the weights), so training costs $C = 3 C_\text{forward} \approx 6N + 6\,n_\text{layer}\,
  n_\text{ctx}\, d_\text{model}$ per token. The attention term counts Q Kᵀ and the
  weighted sum of V (2·d FLOPs each per query–key pair) over the keys a *causal* query sees,
  n_ctx / 2 on average. Biases, LayerNorms, GELU, softmax and the optimizer's update are
  left out: they are a few FLOPs per parameter or activation, not per parameter per token.
- **Memory** (`training_memory_bytes`): weights, gradients, Adam's two moments (4 copies of
  the parameters in all) and an estimate of the activations autograd keeps for the backward
  pass, which grow with batch × context while the rest do not.
- **Peak** (`matmul_peak_gflops`): the fp32 matmul throughput this machine reaches on one
  big square product, the yardstick for "achieved FLOP/s": a training run's counted FLOPs
  divided by its seconds, as a share of this peak, is its model FLOPs utilisation.
- **Time on a device** (`Accelerator`, `DATASHEETS`, `training_seconds`): FLOPs over a
  device's peak FLOP/s times the share of it a run achieves; peaks from vendors' datasheets.
- **Data-parallel communication** (`allreduce_bytes`, `allreduce_seconds`,
  `data_parallel_step_seconds`): what the ring all-reduce of DDP sends per step,
  2(p − 1)/p × the gradient's bytes per process, and what that costs in time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from airoad_book.models.gpt import GPTConfig

__all__ = [
    "parameter_counts",
    "parameter_count",
    "non_embedding_parameters",
    "forward_flops_per_token",
    "training_flops_per_token",
    "dense_training_flops",
    "activation_floats_per_token",
    "training_memory_bytes",
    "matmul_peak_gflops",
    "Accelerator",
    "DATASHEETS",
    "PALM_MFU",
    "training_seconds",
    "allreduce_bytes",
    "allreduce_seconds",
    "data_parallel_step_seconds",
]


def _check_config(config: GPTConfig) -> None:
    if not isinstance(config, GPTConfig):
        raise ValueError(f"expected a GPTConfig; got {type(config).__name__}")


# --8<-- [start:params]
def parameter_counts(config: GPTConfig) -> dict[str, int]:
    """The parameters of a `GPT` built from ``config``, part by part.

    Keys: "token embedding" (V·C), "position embedding" (T_max·C), "attention" (per
    layer W_QKV 3C² and W_O C², with biases 3C + C), "mlp" (C·F + F·C, biases F + C),
    "layer norms" (2 per layer and the final one, each C gains and C biases), "output"
    (C·V, 0 when tied to the token embedding). With ``bias=False`` the linear layers and
    LayerNorms have no biases.
    """
    _check_config(config)
    V, T, C, F, L = (
        config.vocab_size,
        config.context,
        config.d_model,
        config.ff,
        config.num_layers,
    )
    b = 1 if config.bias else 0
    ln = C + b * C  # a LayerNorm's gain, and its bias
    return {
        "token embedding": V * C,
        "position embedding": T * C,
        "attention": L * (4 * C * C + b * 4 * C),
        "mlp": L * (2 * C * F + b * (F + C)),
        "layer norms": (2 * L + 1) * ln,
        "output": 0 if config.tie_weights else C * V,
    }


def parameter_count(config: GPTConfig) -> int:
    """All parameters of a `GPT` built from ``config``: the sum of
    `parameter_counts`."""
    return sum(parameter_counts(config).values())


def non_embedding_parameters(config: GPTConfig) -> int:
    """Kaplan et al.'s N: the weights of the blocks' matrices, L·(4C² + 2CF) = 12·L·C²
    when F = 4C. Embeddings, biases and LayerNorms are left out; these are the weights
    that each token multiplies once in the forward pass."""
    _check_config(config)
    C, F = config.d_model, config.ff
    return config.num_layers * (4 * C * C + 2 * C * F)


# --8<-- [end:params]


# --8<-- [start:flops]
def forward_flops_per_token(config: GPTConfig, context: int | None = None) -> int:
    """FLOPs of one forward pass per token, Kaplan et al.'s Table 1:
    2N + 2·L·n_ctx·C (causal attention) + 2·C·V (the output layer).

    ``context`` is n_ctx, the length of the sequences trained on (default:
    config.context).
    """
    _check_config(config)
    n_ctx = config.context if context is None else context
    if (
        isinstance(n_ctx, bool)
        or not isinstance(n_ctx, int)
        or not 1 <= n_ctx <= config.context
    ):
        raise ValueError(
            f"context must be an int in [1, {config.context}]; got {context!r}"
        )
    C, L = config.d_model, config.num_layers
    return (
        2 * non_embedding_parameters(config)
        + 2 * L * n_ctx * C
        + 2 * C * config.vocab_size
    )


def training_flops_per_token(config: GPTConfig, context: int | None = None) -> int:
    """FLOPs of a training step per token: forward + backward = 3 × forward, i.e.
    6N + 6·L·n_ctx·C + 6·C·V (the backward pass does twice the forward's matmuls)."""
    return 3 * forward_flops_per_token(config, context)


def dense_training_flops(parameters: int, tokens: int) -> float:
    """C ≈ 6·N·D: the training FLOPs of any model whose N parameters each take part in
    one multiply-add per token (an MLP, an LSTM, a Transformer without its attention
    term), over D tokens."""
    if parameters < 0 or tokens < 0:
        raise ValueError(
            f"parameters and tokens must be >= 0; got {parameters} and {tokens}"
        )
    return 6.0 * parameters * tokens


# --8<-- [end:flops]


# --8<-- [start:memory]
def activation_floats_per_token(config: GPTConfig) -> int:
    """The numbers autograd keeps per token of a batch for the backward pass (no
    dropout).

    Per block: LayerNorm inputs and their mean and 1/σ (2·(C + 2)), the inputs of the
    four linear layers (C, C, C, F), q, k, v and the attention output (4C) with its
    log-sum-exp per head (H), and the GELU's input (F): 9C + 2F + H + 4. Outside the
    blocks: the final LayerNorm's input (C + 2), the output layer's input (C) and the
    log-softmax (V). The fused attention never stores the (T, T) weights, so nothing
    here grows with T².
    """
    _check_config(config)
    C, F, H, L = config.d_model, config.ff, config.num_heads, config.num_layers
    return L * (9 * C + 2 * F + H + 4) + (2 * C + 2) + config.vocab_size


def training_memory_bytes(
    config: GPTConfig, batch: int, context: int | None = None, bytes_per_number: int = 4
) -> dict[str, int]:
    """Bytes to train a `GPT` with Adam on batches of ``batch`` × ``context`` tokens.

    Keys: "weights", "gradients", "adam" (the first and second moments: two numbers per
    parameter), "activations" (`activation_floats_per_token` × batch × context) and
    "total". ``bytes_per_number`` is 4 for fp32.
    """
    _check_config(config)
    n_ctx = config.context if context is None else context
    if batch < 1 or not 1 <= n_ctx <= config.context:
        raise ValueError(
            f"batch must be >= 1 and context in [1, {config.context}]; got {batch}, "
            f"{context}"
        )
    n = parameter_count(config) * bytes_per_number
    parts = {
        "weights": n,
        "gradients": n,
        "adam": 2 * n,
        "activations": activation_floats_per_token(config)
        * batch
        * n_ctx
        * bytes_per_number,
    }
    return parts | {"total": sum(parts.values())}


# --8<-- [end:memory]


# --8<-- [start:peak]
def matmul_peak_gflops(
    size: int = 2048, repeats: int = 5, dtype: torch.dtype = torch.float32
) -> float:
    """This machine's matmul throughput, in GFLOP/s (10⁹ FLOPs per second).

    Multiplies two random (size, size) matrices ``repeats`` times after one warm-up
    product and keeps the fastest: 2·size³ FLOPs over the best seconds. Uses torch's
    current number of threads, like the training it is compared with. A big square
    product is about as efficient as the machine gets, so this is the yardstick, not a
    theoretical peak.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 16:
        raise ValueError(f"size must be an int >= 16; got {size!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an int >= 1; got {repeats!r}")
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=gen).to(dtype)  # (n, n)
    b = torch.randn(size, size, generator=gen).to(dtype)  # (n, n)
    out = torch.empty(size, size, dtype=dtype)
    torch.matmul(a, b, out=out)  # warm-up: page in, pick the kernel
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - started)
    return 2.0 * size**3 / best / 1e9


# --8<-- [end:peak]


# --8<-- [start:devices]
@dataclass(frozen=True)
class Accelerator:
    """A device as its datasheet describes it: dense peak FLOP/s at a precision, memory
    in bytes, and the bandwidth (bytes/s, one direction) of its link to the other
    devices."""

    name: str
    peak_flops: float  # FLOP/s, dense (no 2:4 sparsity), at `precision`
    precision: str
    memory_bytes: float
    link_bytes_per_s: (
        float  # one direction: NVLink's datasheet figure counts both, so half of it
    )
    source: str


DATASHEETS = {
    "A100": Accelerator(
        "NVIDIA A100 SXM 80GB",
        312e12,
        "bf16",
        80e9,
        600e9 / 2,
        "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/"
        "nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf",
    ),
    "H100": Accelerator(
        "NVIDIA H100 SXM",
        989e12,
        "bf16",
        80e9,
        900e9 / 2,
        "https://resources.nvidia.com/en-us-tensor-core/"
        "nvidia-tensor-core-gpu-datasheet",
    ),
}

# The model FLOPs utilisation PaLM 540B reached in training, 46.2% (Chowdhery et al.
# 2022,
# Table 3, <https://arxiv.org/abs/2204.02311>): a well-tuned large run, not a promise.
PALM_MFU = 0.462


def training_seconds(
    flops: float, flops_per_second: float, utilisation: float = 1.0
) -> float:
    """Seconds to do ``flops`` FLOPs on a device of peak ``flops_per_second`` (FLOP/s)
    that a run uses at ``utilisation`` (its model FLOPs utilisation, in (0, 1])."""
    if flops < 0 or flops_per_second <= 0 or not 0 < utilisation <= 1:
        raise ValueError(
            f"need flops >= 0, flops_per_second > 0 and utilisation in (0, 1]; "
            f"got {flops}, {flops_per_second}, {utilisation}"
        )
    return flops / (flops_per_second * utilisation)


# --8<-- [end:devices]


# --8<-- [start:allreduce]
def allreduce_bytes(gradient_bytes: float, world_size: int) -> float:
    """Bytes each of ``world_size`` processes sends in a ring all-reduce of
    ``gradient_bytes``: 2(p − 1)/p × the gradient (p − 1 rounds of reduce-scatter, p − 1
    of all-gather, each a 1/p chunk). 0 alone; the gradient's size at p = 2; approaching
    twice it as p grows."""
    if (
        isinstance(world_size, bool)
        or not isinstance(world_size, int)
        or world_size < 1
    ):
        raise ValueError(f"world_size must be an int >= 1; got {world_size!r}")
    if gradient_bytes < 0:
        raise ValueError(f"gradient_bytes must be >= 0; got {gradient_bytes}")
    return 2 * (world_size - 1) / world_size * gradient_bytes


def allreduce_seconds(
    gradient_bytes: float,
    world_size: int,
    bytes_per_second: float,
    latency_s: float = 0.0,
) -> float:
    """Seconds of a ring all-reduce: 2(p − 1) messages, each paying ``latency_s``, and
    `allreduce_bytes` sent at ``bytes_per_second`` (every link busy at once)."""
    if bytes_per_second <= 0 or latency_s < 0:
        raise ValueError(
            f"need bytes_per_second > 0 and latency_s >= 0; got {bytes_per_second}, "
            f"{latency_s}"
        )
    return (
        2 * (world_size - 1) * latency_s
        + allreduce_bytes(gradient_bytes, world_size) / bytes_per_second
    )


def data_parallel_step_seconds(
    compute_seconds: float, world_size: int, comm_seconds: float, overlap: bool = False
) -> float:
    """One data-parallel step: the global batch's ``compute_seconds`` (on one device)
    split over ``world_size`` devices, plus the all-reduce's ``comm_seconds``; with
    ``overlap`` (DDP sends buckets while backward runs) the longer of the two instead of
    their sum."""
    if compute_seconds < 0 or comm_seconds < 0:
        raise ValueError(f"seconds must be >= 0; got {compute_seconds}, {comm_seconds}")
    allreduce_bytes(0, world_size)  # the same check of world_size
    share = compute_seconds / world_size
    return max(share, comm_seconds) if overlap else share + comm_seconds


# --8<-- [end:allreduce]
