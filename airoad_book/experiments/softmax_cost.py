"""The softmax's cost: one recurrent language model body on Penn Treebank (|V| =
10,000), trained with each output layer of `airoad_book.models.softmax`.

Two parts:

1. **Penn Treebank** (`train_methods`). Chapter 7's Elman network (a word embedding and
   a tanh recurrence of H units) reads B parallel streams in windows of T words, the
   state carried from window to window (truncated BPTT). Its output layer is, in turn,
   the full softmax, the class-based softmax (frequency binning into ≈√|V| classes),
   the hierarchical softmax on a Huffman tree, NCE and the sampled softmax (k noise or
   proposal words from the unigram distribution, shared by the batch). Same seed, same
   body initialisation, same batches, same plain SGD (sparse updates of the rows a step
   touches), same learning rate and clipping. Reported: milliseconds per training step
   (forward, backward and update of the whole model, timed over the training loop), and
   the test perplexity, every model scored with exact normalised probabilities (NCE and
   the sampled softmax with the full softmax of their own weights).
2. **The cost against |V|** (`time_sweep`). On synthetic data (Zipf's law, 1/rank), one
   training step of the output layer alone — loss, backward and the SGD update — for
   |V| from 1,000 up; a log-log slope per method says how its cost grows.

Timings depend on the machine and on its load; the ratios between methods, measured in
the same process, are what the page reads.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from airoad_book.data import Vocab, batchify, penn_treebank
from airoad_book.device import seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.models.softmax import (
    NCE,
    ClassSoftmax,
    FullSoftmax,
    HierarchicalSoftmax,
    OutputLayer,
    SampledSoftmax,
)
from airoad_book.progress import progress
from airoad_book.results import Result, Table

NAME = "softmax-cost"
CHAPTER = "7a"
SUMMARY = (
    "full, class-based, hierarchical, NCE and sampled softmax on one PTB RNN LM: "
    "ms/step, speed-up, exact test perplexity, and cost against |V|"
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RECORDED = "results/softmax-cost-full.json"
READS = ("results/softmax-cost-full.json",)  # the same path, as a literal (the cache)

METHODS = ("full", "class", "hs", "nce", "sampled")
NAMES = {
    "full": "full softmax",
    "class": "class-based",
    "hs": "hierarchical (Huffman)",
    "nce": "NCE",
    "sampled": "sampled softmax",
}


@dataclass(frozen=True)
class Config:
    """One budget. Sizes are counted in words and steps, not seconds."""

    hidden: int = 100  # H: word vectors and recurrent state
    bptt: int = 20  # T: words per window
    batch_size: int = 20  # B: parallel streams; a step predicts B·T words
    epochs: int = 1  # passes over the training words
    lr: float = 1.0  # SGD's rate on the mean loss per word, halved each later epoch
    clip_norm: float = 1.0  # on the gradient's global norm
    k: int = 64  # noise / proposal words per step (NCE, sampled softmax)
    train_tokens: int | None = None  # the first N training words; None: all 929,589
    eval_tokens: int | None = None  # the first N valid/test words; None: all
    sweep_vocab: tuple[int, ...] = (1_000, 3_000, 10_000, 30_000, 100_000)
    sweep_hidden: int = 128  # H of the timing sweep
    sweep_repeats: int = (
        5  # timed steps per point (the median is kept), after a warm-up
    )


CONFIGS = {
    "quick": Config(
        hidden=64,
        epochs=1,
        train_tokens=16_000,  # 40 steps of 400 words
        eval_tokens=4_000,
        sweep_vocab=(1_000, 3_000, 10_000),
        sweep_hidden=64,
        sweep_repeats=2,
    ),
    # two thirds of PTB's training words, once, and every valid and test word: about
    # half an hour of one shared core
    "full": Config(train_tokens=600_000),
}


class ElmanBody(nn.Module):
    """Chapter 7's recurrent body without its output layer: h(t) = tanh(U w(t) + W
    h(t−1) + b). Returns the hidden vectors (B, T, H) and the last state (1, B, H)."""

    def __init__(self, vocab_size: int, hidden: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, hidden, sparse=True)  # U, one row a word
        self.rnn = nn.RNN(hidden, hidden, batch_first=True, nonlinearity="tanh")
        with torch.no_grad():
            nn.init.normal_(self.embed.weight, std=0.1)
            for p in self.rnn.parameters():
                p.uniform_(-1 / math.sqrt(hidden), 1 / math.sqrt(hidden))

    def forward(self, x: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """x (B, T) word ids → hidden vectors (B, T, H), state (1, B, H)."""
        return self.rnn(self.embed(x), state)


def make_layer(method: str, hidden: int, counts: Tensor, k: int) -> OutputLayer:
    """The output layer called `method` for a vocabulary with these unigram counts."""
    V = len(counts)
    unigram = counts.clamp(min=1)  # a word never seen still gets some noise mass
    if method == "full":
        return FullSoftmax(hidden, V)
    if method == "class":
        return ClassSoftmax(hidden, counts, n_classes=round(math.sqrt(V)))
    if method == "hs":
        return HierarchicalSoftmax(hidden, counts)
    if method == "nce":
        return NCE(hidden, unigram, k=k)
    if method == "sampled":
        return SampledSoftmax(hidden, unigram, k=k)
    raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")


def clip_(params: list[nn.Parameter], max_norm: float) -> float:
    """Scale dense and sparse gradients together to a global norm ≤ max_norm."""
    grads = [p.grad for p in params if p.grad is not None]
    sq = [(g.coalesce().values() if g.is_sparse else g).pow(2).sum() for g in grads]
    norm = float(torch.stack(sq).sum().sqrt())
    if norm > max_norm:
        for g in grads:
            g.mul_(max_norm / norm)
    return norm


def windows(streams: Tensor, bptt: int):
    """Consecutive (x, y) windows of (B, T) ids over the streams (B, L)."""
    for i in range(0, streams.shape[1] - 1, bptt):
        n = min(bptt, streams.shape[1] - 1 - i)
        yield streams[:, i : i + n], streams[:, i + 1 : i + 1 + n]


@torch.no_grad()
def evaluate(body: ElmanBody, head: OutputLayer, streams: Tensor, bptt: int) -> float:
    """Mean exact negative log-probability per word (nats) over the streams."""
    body.eval()
    total, count, state = 0.0, 0, None
    for x, y in windows(streams, bptt):
        out, state = body(x, state)
        lp = head.log_prob(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        total, count = total - float(lp.sum()), count + y.numel()
    body.train()
    return total / count


def train_one(
    method: str, c: Config, data: dict, counts: Tensor, seed: int
) -> dict[str, float]:
    """Train body + output layer `method` on the training streams; time and score it."""
    seed_everything(seed)
    body = ElmanBody(len(counts), c.hidden)
    head = make_layer(method, c.hidden, counts, c.k)
    params = list(body.parameters()) + list(head.parameters())
    steps_per_epoch = math.ceil((data["train"].shape[1] - 1) / c.bptt)
    step_seconds, losses, valid = 0.0, [], []
    with progress(
        total=steps_per_epoch * c.epochs, desc=f"softmax-cost {method}"
    ) as bar:
        for epoch in range(c.epochs):
            opt = torch.optim.SGD(params, lr=c.lr * 0.5**epoch)
            state = None
            for x, y in windows(data["train"], c.bptt):
                start = time.perf_counter()
                out, state = body(x, state)  # (B, T, H)
                state = state.detach()  # truncated BPTT: the gradient stops here
                loss = head.loss(out.reshape(-1, c.hidden), y.reshape(-1))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                clip_(params, c.clip_norm)
                opt.step()
                step_seconds += time.perf_counter() - start
                losses.append(float(loss.detach()))
                bar.update(1)
            valid.append(math.exp(evaluate(body, head, data["valid"], c.bptt)))
            bar.set_postfix(valid_ppl=f"{valid[-1]:.1f}")
    steps = steps_per_epoch * c.epochs
    test_nats = evaluate(body, head, data["test"], c.bptt)
    out = {
        "ms_per_step": 1000 * step_seconds / steps,
        "test_ppl": math.exp(test_nats),
        "valid_ppl": valid[-1],
        "steps": steps,
        "first_loss": losses[0],
        "last_loss": float(np.mean(losses[-20:])),
        "valid_curve": valid,
    }
    if method in ("nce", "sampled"):  # how far from 1 is Z(h) = Σ_w exp(s_w)?
        out["mean_log_z"] = mean_log_z(body, head, data["test"], c.bptt)
    return out


@torch.no_grad()
def mean_log_z(body: ElmanBody, head: OutputLayer, streams: Tensor, bptt: int) -> float:
    """Mean log Σ_w exp(s_w) over the positions of the streams (0: self-normalised)."""
    total, count, state = 0.0, 0, None
    for x, _ in windows(streams, bptt):
        out, state = body(x, state)
        h1 = torch.cat([out.reshape(-1, out.shape[-1]), out.new_ones(x.numel(), 1)], 1)
        total += float(torch.logsumexp(h1 @ head.out.T, dim=1).sum())
        count += x.numel()
    return total / count


def zipf_counts(V: int, tokens: float = 1e7) -> Tensor:
    """Counts under Zipf's law, count(rank r) ∝ 1/r, summing to about `tokens`."""
    r = torch.arange(1, V + 1, dtype=torch.float64)
    return (tokens / r / (1 / r).sum()).ceil()


def time_step(
    head: OutputLayer, counts: Tensor, n: int, repeats: int, seed: int
) -> float:
    """Median ms of one training step of the output layer alone: loss, backward, SGD."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(head.parameters(), lr=0.1)
    y = torch.multinomial(counts.float(), n, replacement=True, generator=g)  # (n,)
    h = torch.randn(n, head.hidden, generator=g).requires_grad_()  # (n, H)
    times = []
    for i in range(repeats + 1):  # the first is a warm-up
        start = time.perf_counter()
        loss = head.loss(h, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i:
            times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def time_sweep(c: Config, seed: int) -> dict:
    """ms per output-layer step for each method and |V|, and a log-log slope each."""
    n = c.batch_size * c.bptt
    ms = {m: [] for m in METHODS}
    with progress(total=len(c.sweep_vocab), desc="softmax-cost |V| sweep") as bar:
        for V in c.sweep_vocab:
            counts = zipf_counts(V)
            for m in METHODS:
                seed_everything(seed)
                head = make_layer(m, c.sweep_hidden, counts, c.k)
                ms[m].append(time_step(head, counts, n, c.sweep_repeats, seed))
            bar.update(1)
    slope = {
        m: float(np.polyfit(np.log(c.sweep_vocab), np.log(ms[m]), 1)[0])
        for m in METHODS
    }
    return {"vocab": list(c.sweep_vocab), "ms": ms, "slope": slope}


def table_of_sweep(sweep: dict) -> Table:
    """ms per output-layer step, one row per vocabulary size, one column per layer."""
    return Table(
        columns=["words"] + [NAMES[m] for m in METHODS],  # no "|" inside a cell
        rows=[
            [V] + [sweep["ms"][m][i] for m in METHODS]
            for i, V in enumerate(sweep["vocab"])
        ],
        formats=[",d"] + [".2f"] * len(METHODS),
    )


def run_config(config: Config, seed: int = 0) -> Result:
    """Train with each output layer, time the |V| sweep: metrics, tables, verdicts."""
    c = config
    train_words = penn_treebank("train")
    vocab = Vocab.build(train_words)  # Mikolov's 10,000 words
    ids = vocab.encode(train_words[: c.train_tokens])
    counts = torch.bincount(torch.as_tensor(ids), minlength=len(vocab)).double()
    data = {
        "train": batchify(ids, c.batch_size),
        "valid": batchify(vocab.encode(penn_treebank("valid")[: c.eval_tokens]), 10),
        "test": batchify(vocab.encode(penn_treebank("test")[: c.eval_tokens]), 10),
    }
    runs = {m: train_one(m, c, data, counts, seed) for m in METHODS}
    sweep = time_sweep(c, seed)
    full_ms = runs["full"]["ms_per_step"]
    metrics: dict[str, float] = {}
    for m in METHODS:
        metrics[f"{m}_ms_per_step"] = runs[m]["ms_per_step"]
        metrics[f"{m}_test_ppl"] = runs[m]["test_ppl"]
        metrics[f"{m}_valid_ppl"] = runs[m]["valid_ppl"]
        metrics[f"{m}_speedup"] = full_ms / runs[m]["ms_per_step"]
        metrics[f"{m}_sweep_slope"] = sweep["slope"][m]
        top = sweep["ms"]["full"][-1] / sweep["ms"][m][-1]
        metrics[f"{m}_sweep_speedup_top"] = top  # at the largest |V| of the sweep
    for m in ("nce", "sampled"):
        metrics[f"{m}_mean_log_z"] = runs[m]["mean_log_z"]
    metrics |= {
        "vocab_size": float(len(vocab)),
        "train_tokens": float(data["train"].numel()),
        "test_tokens": float(data["test"].numel()),
        "steps": float(runs["full"]["steps"]),
        "hidden": float(c.hidden),
        "k": float(c.k),
        "sweep_top_vocab": float(c.sweep_vocab[-1]),
        "n_classes": float(make_layer("class", 1, counts, c.k).n_classes),
        "hs_max_depth": float(make_layer("hs", 1, counts, c.k).node.shape[1]),
        "output_share": output_share(len(vocab), c.hidden),
    }
    ptb = Table(
        columns=["output layer", "ms / step", "speed-up", "valid ppl", "test ppl"],
        rows=[
            [
                NAMES[m],
                runs[m]["ms_per_step"],
                full_ms / runs[m]["ms_per_step"],
                runs[m]["valid_ppl"],
                runs[m]["test_ppl"],
            ]
            for m in METHODS
        ],
        formats=["", ".1f", ".1f", ".1f", ".1f"],
    )
    sweep_table = table_of_sweep(sweep)
    return Result(
        metrics={k: float(v) for k, v in metrics.items()},
        tables={"ptb": ptb, "sweep": sweep_table},
        series={"runs": runs, "sweep": sweep, "config": asdict(c)},
        text=texts(metrics),
    )


GOOD = 1.10  # a method within 10% of the full softmax's test perplexity "trains well"


def verdict(m: dict) -> str:
    """Sentences from the numbers: how much faster each layer is, and whether its test
    perplexity is lower than, within 10% of, or higher than the full softmax's."""
    full = m["full_test_ppl"]
    parts = []
    for k in METHODS[1:]:
        ratio = m[f"{k}_test_ppl"] / full
        if ratio < 1 / GOOD:
            good = f"{1 - ratio:.0%} lower than"
        elif ratio <= GOOD:
            good = "within 10% of"
        else:
            good = f"{ratio - 1:.0%} higher than"
        parts.append(
            f"{NAMES[k]}: {m[f'{k}_speedup']:.1f}× the full softmax's speed, "
            f"test perplexity {m[f'{k}_test_ppl']:.1f} ({good} the full softmax's "
            f"{full:.1f})"
        )
    return "; ".join(parts) + "."


def output_share(vocab_size: int, hidden: int) -> float:
    """The output layer's share of the multiply-adds that predict one word: |V|(H+1)
    against 2H² for the body's input and recurrent matrices (the lookup is free)."""
    out = vocab_size * (hidden + 1)
    return out / (out + 2 * hidden * hidden)


NORMALISED = 0.5  # nats: |mean log Z(h)| below this counts as close to normalised


def texts(m: dict) -> dict[str, str]:
    """The page's sentences, written from a run's metrics."""
    slopes = ", ".join(f"{NAMES[k]} {m[f'{k}_sweep_slope']:.2f}" for k in METHODS[1:])
    z_nce, z_sampled = m["nce_mean_log_z"], m["sampled_mean_log_z"]
    by_ppl = sorted(METHODS, key=lambda k: m[f"{k}_test_ppl"])
    by_speed = sorted(METHODS, key=lambda k: -m[f"{k}_speedup"])
    return {
        "verdict": verdict(m),
        "ranking": (
            f"Ranked by test perplexity, best first: "
            f"{', '.join(NAMES[k] for k in by_ppl)}. Ranked by speed, fastest first: "
            f"{', '.join(NAMES[k] for k in by_speed)}."
        ),
        "sweep": (
            f"From |V| = 1,000 to {m['sweep_top_vocab']:,.0f}, the full softmax's step "
            f"grows with a log-log slope of {m['full_sweep_slope']:.2f} (1 means in "
            f"proportion to |V|); the others' slopes are {slopes}. At |V| = "
            f"{m['sweep_top_vocab']:,.0f} one full-softmax step costs as much as "
            f"{m['hs_sweep_speedup_top']:,.0f} steps of the hierarchical softmax, "
            f"{m['class_sweep_speedup_top']:,.0f} of the class-based one and "
            f"{m['sampled_sweep_speedup_top']:,.0f} of the sampled softmax."
        ),
        "normalisation": (
            f"Scored without normalising, NCE's model is "
            f"{'close to' if abs(z_nce) < NORMALISED else 'far from'} normalised: the "
            f"mean log Z(h) over the test words is {z_nce:.2f} nats (0 would be "
            f"exact), so its raw scores are off by a factor of about "
            f"{math.exp(z_nce):.2f}. The sampled softmax's are "
            f"{'close to' if abs(z_sampled) < NORMALISED else 'far from'} it: mean "
            f"log Z(h) = {z_sampled:.2f} nats. Without Z, the sampled softmax's scores "
            f"are not probabilities: they need the full softmax that the method set "
            f"out to avoid."
        ),
    }


def recorded(path: Path | None = None) -> dict | None:
    """The metrics and series of the committed full run, or None before there is one."""
    path = PROJECT_ROOT / RECORDED if path is None else path
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return {"metrics": data["metrics"], "series": data["series"]}


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full" (sized in steps; `seconds` is
    ignored). The quick run carries the committed full run in ``series["recorded"]``
    (None before one is committed) for the figures."""
    result = run_config(config_for(CONFIGS, budget), seed=seed)
    if budget == "quick":
        full = recorded()
        result.series["recorded"] = full
        if full is not None:  # the page's sentences about the committed run
            result.text |= {f"full_{k}": v for k, v in texts(full["metrics"]).items()}
            hidden = full["series"]["config"]["hidden"]
            share = output_share(int(full["metrics"]["vocab_size"]), hidden)
            result.metrics["full_output_share"] = share
            result.tables["full_sweep"] = table_of_sweep(full["series"]["sweep"])
    return result
