r"""Chapter 11's second experiment: why scaled dot-product attention divides by
$\sqrt{d_k}$.

Vaswani et al. (2017), <https://arxiv.org/abs/1706.03762>, section 3.2.1: "We suspect
that for large values of $d_k$, the dot products grow large in magnitude, pushing the
softmax function into regions where it has extremely small gradients." Their footnote:
if the components of $q$ and $k$ are independent with mean 0 and variance 1, then $q
\cdot k = \sum_{i=1}^{d_k} q_i k_i$ has mean 0 and variance $d_k$. Dividing by
$\sqrt{d_k}$ brings the variance back to 1, whatever $d_k$.

This experiment checks both halves of the argument numerically, with no training: for
growing $d_k$ it draws random queries and keys, and measures

1. the spread (standard deviation) of the scores $q \cdot k_j$, raw and scaled;
2. how saturated the softmax over $n$ keys is: the mean largest weight (1/n is uniform,
   1 is one-hot) and the entropy;
3. how much gradient the softmax lets through: the Frobenius norm of its Jacobian
   $\partial \alpha / \partial e = \mathrm{diag}(\alpha) - \alpha \alpha^\top$, which
   falls to 0 as the weights become one-hot (mean and median over the queries);
4. the gradient that reaches the query, through the chain rule:
   $\partial \alpha / \partial q = (\partial \alpha / \partial e)\, K / s$ with $s = 1$
   raw and $s = \sqrt{d_k}$ scaled. The keys grow with $d_k$ while the Jacobian shrinks, so
   unscaled this gradient becomes heavy-tailed: most queries get almost none (the median
   collapses) while the few whose softmax is not saturated get a large one (the mean
   grows). Mean and median are both reported.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from airoad_book.experiments.budget import config_for
from airoad_book.results import Result, Table

NAME = "attention-scaling"
CHAPTER = 11
SUMMARY = "Why attention divides by sqrt(d_k): score spread, softmax saturation and its gradient against d_k"


@dataclass(frozen=True)
class Config:
    """Sizes of the draw: widths of a head, keys per query, queries per width."""

    d_ks: tuple[int, ...] = (
        1,
        4,
        16,
        64,
        256,
        1024,
    )  # d_k, the width of a query and a key
    n_keys: int = 32  # keys each query attends over (a sentence of 32 words)
    queries: int = 500  # random queries per d_k
    grad_queries: int = 250  # of them, how many also get ∂α/∂q (it costs n² d_k each)
    pe_length: int = 100  # positions drawn in the positional-encoding figure
    pe_d_model: int = 64  # its d_model


CONFIGS = {
    # 500 queries per width: the statistics settle well before the random draws'
    # cost (keys of 1,024 numbers each) does
    "quick": Config(),
    "full": Config(
        d_ks=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048),
        queries=20000,
        grad_queries=500,
    ),
}


def softmax_stats(scores: torch.Tensor) -> dict[str, float]:
    """Saturation of softmax over the last dim of scores (N, n): mean largest weight,
    mean entropy (nats) and the mean and median Frobenius norm of the Jacobian diag(α) -
    α α^T."""
    alpha = torch.softmax(scores, dim=-1)  # (N, n)
    entropy = -(alpha * torch.log(alpha.clamp_min(1e-30))).sum(-1)  # (N,)
    # ||diag(α) - α α^T||_F^2 = Σ α_i^2 - 2 Σ α_i^3 + (Σ α_i^2)^2, without forming the n
    # × n matrix
    s2, s3 = (alpha**2).sum(-1), (alpha**3).sum(-1)
    jacobian = (s2 - 2 * s3 + s2**2).clamp_min(0).sqrt()  # (N,)
    return {
        "max_weight": alpha.max(-1).values.mean().item(),
        "entropy": entropy.mean().item(),
        "jacobian": jacobian.mean().item(),
        "jacobian_median": jacobian.median().item(),
    }


def query_gradient_norms(
    q: torch.Tensor, k: torch.Tensor, scale: float
) -> torch.Tensor:
    """‖∂α/∂q‖_F per query for α = softmax(q·k_j / scale): q (N, 1, d), k (N, n, d) ->
    (N,).

    ∂α/∂q = J K / scale with J = diag(α) - α α^T (N, n, n); its squared Frobenius norm
    is Σ (J G) ⊙ J with G = K K^T (N, n, n), so the (N, n, d) product is never formed.
    """
    alpha = torch.softmax((q * k).sum(-1) / scale, dim=-1)  # (N, n)
    jac = torch.diag_embed(alpha) - alpha.unsqueeze(-1) * alpha.unsqueeze(
        -2
    )  # (N, n, n)
    gram = k @ k.transpose(1, 2)  # (N, n, n)
    return ((jac @ gram) * jac).sum((-2, -1)).clamp_min(0).sqrt() / scale


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Draw queries and keys with unit-variance components for each d_k and measure the
    softmax, raw and scaled."""
    g = torch.Generator().manual_seed(seed)
    rows, series = (
        [],
        {
            k: []
            for k in (
                "std_raw",
                "std_scaled",
                "max_raw",
                "max_scaled",
                "entropy_raw",
                "entropy_scaled",
                "jacobian_raw",
                "jacobian_scaled",
                "jacobian_median_raw",
                "jacobian_median_scaled",
                "dq_mean_raw",
                "dq_mean_scaled",
                "dq_median_raw",
                "dq_median_scaled",
            )
        },
    )
    for d_k in config.d_ks:
        q = torch.randn(
            config.queries, 1, d_k, generator=g, dtype=torch.float64
        )  # (N, 1, d_k)
        k = torch.randn(
            config.queries, config.n_keys, d_k, generator=g, dtype=torch.float64
        )  # (N, n, d_k)
        raw = (q * k).sum(-1)  # (N, n) q · k_j
        scaled = raw / math.sqrt(d_k)
        r, s = softmax_stats(raw), softmax_stats(scaled)
        qg, kg = q[: config.grad_queries], k[: config.grad_queries]
        dq_raw = query_gradient_norms(qg, kg, 1.0)  # (N',)
        dq_scaled = query_gradient_norms(qg, kg, math.sqrt(d_k))  # (N',)
        values = {
            "std_raw": raw.std().item(),
            "std_scaled": scaled.std().item(),
            "max_raw": r["max_weight"],
            "max_scaled": s["max_weight"],
            "entropy_raw": r["entropy"],
            "entropy_scaled": s["entropy"],
            "jacobian_raw": r["jacobian"],
            "jacobian_scaled": s["jacobian"],
            "jacobian_median_raw": r["jacobian_median"],
            "jacobian_median_scaled": s["jacobian_median"],
            "dq_mean_raw": dq_raw.mean().item(),
            "dq_mean_scaled": dq_scaled.mean().item(),
            "dq_median_raw": dq_raw.median().item(),
            "dq_median_scaled": dq_scaled.median().item(),
        }
        for key, value in values.items():
            series[key].append(value)
        rows.append(
            [
                d_k,
                values["std_raw"],
                values["std_scaled"],
                values["max_raw"],
                values["max_scaled"],
                values["jacobian_median_raw"],
                values["jacobian_median_scaled"],
                values["dq_median_raw"],
                values["dq_median_scaled"],
                values["dq_mean_raw"],
                values["dq_mean_scaled"],
            ]
        )
    last = config.d_ks[-1]
    metrics = {
        "d_k_max": last,
        "std_raw_max": series["std_raw"][-1],
        "std_scaled_max": series["std_scaled"][-1],
        "max_weight_raw_max": series["max_raw"][-1],
        "max_weight_scaled_max": series["max_scaled"][-1],
        "jacobian_raw_max": series["jacobian_raw"][-1],
        "jacobian_scaled_max": series["jacobian_scaled"][-1],
        "uniform_weight": 1 / config.n_keys,
        "n_keys": config.n_keys,
        "queries": config.queries,
        "grad_queries": config.grad_queries,
        "jacobian_median_raw_max": series["jacobian_median_raw"][-1],
        "jacobian_median_scaled_max": series["jacobian_median_scaled"][-1],
        "dq_mean_raw_max": series["dq_mean_raw"][-1],
        "dq_mean_scaled_max": series["dq_mean_scaled"][-1],
        "dq_median_raw_max": series["dq_median_raw"][-1],
        "dq_median_scaled_max": series["dq_median_scaled"][-1],
    }
    table = Table(
        columns=[
            "d_k",
            "std of q·k",
            "std of q·k/√d_k",
            "largest weight, raw",
            "largest weight, scaled",
            "median ‖∂α/∂e‖, raw",
            "median ‖∂α/∂e‖, scaled",
            "median ‖∂α/∂q‖, raw",
            "median ‖∂α/∂q‖, scaled",
            "mean ‖∂α/∂q‖, raw",
            "mean ‖∂α/∂q‖, scaled",
        ],
        rows=rows,
        formats=[
            "d",
            ".2f",
            ".2f",
            ".3f",
            ".3f",
            ".3g",
            ".3g",
            ".3g",
            ".3g",
            ".3g",
            ".3g",
        ],
    )
    return Result(
        metrics=metrics,
        tables={"scaling": table},
        series={"d_k": list(config.d_ks), **series, "config": asdict(config)},
        text={"verdict": verdict(metrics, series, config)},
    )


def verdict(m: dict, series: dict, config: Config) -> str:
    """What the numbers say about the footnote's argument."""
    first = config.d_ks[0]
    return (
        f"From d_k = {first} to {config.d_ks[-1]} the raw scores' standard deviation "
        f"grows from "
        f"{series['std_raw'][0]:.1f} to {m['std_raw_max']:.1f} (√d_k = "
        f"{math.sqrt(config.d_ks[-1]):.0f}), "
        f"while the scaled scores stay at "
        f"{min(series['std_scaled']):.2f}–{max(series['std_scaled']):.2f}. "
        f"Unscaled, the softmax over {config.n_keys} keys puts on average "
        f"{m['max_weight_raw_max']:.2f} of its weight "
        f"on one key at d_k = {config.d_ks[-1]}, and the norm of its Jacobian falls to "
        f"{m['jacobian_raw_max']:.3f}, "
        f"{m['jacobian_raw_max'] / m['jacobian_scaled_max']:.2f} of the scaled "
        f"softmax's {m['jacobian_scaled_max']:.3f}: "
        f"the gradient that reaches the scores has all but vanished. Scaled, the "
        f"largest weight stays at "
        f"{min(series['max_scaled']):.2f}–{max(series['max_scaled']):.2f} for every "
        f"d_k. "
        f"Carried through the chain rule to the query, the unscaled gradient is not "
        f"uniformly "
        f"small but heavy-tailed: at d_k = {config.d_ks[-1]} its median norm is "
        f"{m['dq_median_raw_max']:.3g} against the scaled "
        f"{m['dq_median_scaled_max']:.3g}, "
        f"while its mean is {m['dq_mean_raw_max']:.3g} against "
        f"{m['dq_mean_scaled_max']:.3g}: "
        f"most queries get almost nothing, a few get a large kick."
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """Run the experiment at `budget` (`quick` or `full`) with `seed`; nothing trains,
    so `seconds` is unused."""
    return run_config(config_for(CONFIGS, budget), seed=seed)
