"""Chapter 14's experiment: the six language models of chapter 13 across compute, data
and context, on character-level Shakespeare (the book's split, one evaluator).

Four parts, in the order they run (each a deterministic program of seeded `fit` calls,
so a full run checkpoints and resumes like any other):

1. **Fair recipes** (`search_recipes`). At one rung of the ladder
   (``config.search_rung``) every network gets the same five trials: its chapter's peak
   learning rate times 1/2, 1, 2 and 4 at its chapter's shape (``config.lr_scales``; the
   quick run tries 1 and 2 only), then the best of those
   rates at one other shape (the GPT shallower and wider, L=2; the LSTM and GRU two
   layers deep; the NPLM a context of 8 characters instead of 16; the RNN LM a
   truncation window of 20 instead of 50). The winner (lowest validation loss) is the
   recipe the ladders use.
2. **Compute ladder** (`compute_ladder`). Rung k has a training budget of C_k =
   ``config.min_flops`` · 2^k FLOPs. Its networks have the parameter count that a fixed
   ratio of ``config.tokens_per_param`` characters per parameter gives at that compute,
   N_k = sqrt(C_k / (6 · ratio)) (Hoffmann et al. 2022's rule of thumb is about 20
   tokens per parameter), each family's free width chosen to land nearest to N_k
   (`evolution.build_model`); then it trains for round(C_k / FLOPs per step) steps, on
   batches cut (never below one row) where the chapter's batch would leave fewer than
   ``config.min_steps`` steps. FLOPs per step are
   `airoad_book.cost.training_flops_per_token` for the GPT (which counts attention) and
   6 × (parameters outside lookup tables) per character for the others, times the
   characters a step predicts. The Kneser–Ney rung k counts the characters a network of
   rung k reads, D_k = ratio · N_k, at order 2 + k (capped at ``config.kn_max_order``).
3. **Data ladder** (`data_ladder`). The model of rung ``config.data_rung`` (fixed size,
   fixed steps), trained on the first 1% … 100% of the training text (cycled when it is
   shorter than what the steps read); the n-gram at order ``config.kn_order`` on the
   same text.
4. **Loss by position** (`position_loss`): the per-character loss at each position t = 1
   … T of non-overlapping validation windows, for the top rung's GPT and for its LSTM
   run in the same windows from a fresh (zero) state: Kaplan et al. (2020)'s Figure 20
   idea.

Every loss is the mean nats per character on the same validation characters
(`evolution.aligned_valid`), each model scored its chapter's way. A power law L(C) =
a·C^(−α) + L∞ is fitted per family (`fit_power_law`); the crossovers between families
are found from the measured points (`crossings`, interpolated in log C) and from the
fits (`fit_crossings`, extrapolated).
"""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import OptimizeWarning, brentq, curve_fit
from torch import Tensor, nn
from torch.nn import functional as F

from airoad_book.cost import (
    DATASHEETS,
    PALM_MFU,
    training_flops_per_token,
    training_seconds,
)
from airoad_book.device import device, seed_everything
from airoad_book.experiments import evolution as evo
from airoad_book.experiments.budget import config_for
from airoad_book.models.gpt import GPT
from airoad_book.models.ngram import KneserNeyLM
from airoad_book.results import Result, Table

NAME = "scaling"
CHAPTER = 14
SUMMARY = (
    "KN, NPLM, RNN, LSTM, GRU and a GPT across a compute ladder (FLOPs), a data ladder "
    "and "
    "the positions of a context window, with power-law fits and crossovers"
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# the committed full run the quick build draws beside its own
RECORDED = "results/scaling-full.json"
READS = (
    "results/scaling-full.json",
)  # the same path, as a literal (the cache reads it)

FAMILIES = (
    "kn",
    "nplm",
    "rnn",
    "lstm",
    "gru",
    "gpt",
)  # the metrics' names, the book's order
NETWORKS = FAMILIES[1:]
EVO_KEY = {
    "nplm": "nplm",
    "rnn": "rnn",
    "lstm": "lstm",
    "gru": "gru",
    "gpt": "transformer",
}
NAMES = {
    "kn": "Kneser–Ney",
    "nplm": "NPLM",
    "rnn": "RNN LM",
    "lstm": "LSTM",
    "gru": "GRU",
    "gpt": "GPT",
}
LR_SCALES = (
    0.5,
    1.0,
    2.0,
    4.0,
)  # the search's learning rates, times each chapter's peak rate
# the one other shape each family tries (the same number of trials for every family)
OTHER_SHAPE = {
    "nplm": ("n=9", {"nplm_context": 8}),
    "rnn": ("BPTT 20", {"rnn_bptt": 20}),
    "lstm": ("2 layers", {"recurrent_layers": 2}),
    "gru": ("2 layers", {"recurrent_layers": 2}),
    "gpt": ("L=2", {"num_layers": 2}),
}
DEFAULT_SHAPE = {
    "nplm": "n=17",
    "rnn": "BPTT 50",
    "lstm": "1 layer",
    "gru": "1 layer",
    "gpt": "L=4",
}
DATA_SHARES = (
    0.01,
    0.03,
    0.1,
    0.3,
    1.0,
)  # the data ladder's shares of the training text


@dataclass(frozen=True)
class Config:
    """One budget: the ladder's rungs and the size of each part."""

    min_flops: float = 2e8  # C_0, the smallest rung's training FLOPs
    rungs: int = 4  # C_k = min_flops · 2^k, k = 0 … rungs − 1
    tokens_per_param: float = 20.0  # the ratio that sets each rung's parameter count
    search_rung: int = 0  # the rung where every family's recipe is searched
    data_rung: int = 0  # the rung whose model size and steps the data ladder uses
    data_shares: tuple[float, ...] = (0.01, 1.0)
    lr_scales: tuple[float, ...] = LR_SCALES  # the search's rates (× the chapter's)
    # a rung too small for this many steps at a chapter's batch gets smaller batches
    min_steps: int = 100
    kn_max_order: int = 8
    kn_order: int = 6  # the data ladder's n-gram order
    valid_chars: int = 4_096  # validation characters every model scores
    position_windows: int = (
        32  # validation windows of T characters for the position loss
    )
    base: evo.Config = (
        evo.Config()
    )  # the chapter-13 recipes and shapes the ladders start from

    def __post_init__(self) -> None:
        if self.min_flops <= 0:
            raise ValueError(f"Config.min_flops must be positive; got {self.min_flops}")
        if self.rungs < 2:
            raise ValueError(f"Config.rungs must be at least 2; got {self.rungs}")
        for name in ("search_rung", "data_rung"):
            if not 0 <= getattr(self, name) < self.rungs:
                raise ValueError(
                    f"Config.{name} must be a rung in [0, {self.rungs}); "
                    f"got {getattr(self, name)}"
                )
        if self.tokens_per_param <= 0:
            raise ValueError(
                f"Config.tokens_per_param must be positive; got {self.tokens_per_param}"
            )
        if not self.lr_scales or not all(s > 0 for s in self.lr_scales):
            raise ValueError(
                f"Config.lr_scales must be positive rates; got {self.lr_scales}"
            )
        if not all(0 < s <= 1 for s in self.data_shares):
            raise ValueError(
                f"Config.data_shares must lie in (0, 1]; got {self.data_shares}"
            )


CONFIGS = {
    # two short rungs (2x), a search of two rates, two shares of the first 500,000
    # training characters, 2,048 validation characters; sized by FLOPs and steps: the
    # page's findings come from the full run, the quick rungs are its hollow points
    "quick": Config(
        min_flops=5e7,
        rungs=2,
        lr_scales=(1.0, 2.0),
        min_steps=20,
        valid_chars=2_048,
        base=replace(evo.Config(), train_chars=500_000),
    ),
    # seven rungs (64x), five shares of text, 16,384 validation characters; sized by
    # FLOPs to
    # take about 35 minutes on one thread of a loaded 2-core machine
    "full": Config(
        min_flops=8e8,
        rungs=7,
        search_rung=2,
        data_rung=2,
        data_shares=DATA_SHARES,
        valid_chars=16_384,
        position_windows=128,
    ),
}


# --------------------------------------------------------------------------- the rungs


# --8<-- [start:rungs]
def rung_flops(config: Config) -> list[float]:
    """The training FLOPs of every rung, C_k = ``min_flops`` · 2^k."""
    return [config.min_flops * 2.0**k for k in range(config.rungs)]


def rung_params(flops: float, tokens_per_param: float) -> int:
    """The parameter count of a rung: C = 6·N·D with D = ratio·N gives N = sqrt(C /
    (6·ratio))."""
    if flops <= 0 or tokens_per_param <= 0:
        raise ValueError(
            f"need positive flops and tokens_per_param; got {flops}, {tokens_per_param}"
        )
    return max(1_000, round(math.sqrt(flops / (6 * tokens_per_param))))


# --8<-- [end:rungs]


def lookup_parameters(model: nn.Module) -> int:
    """Parameters a forward pass reads by index, not by a matrix product: embedding
    tables (`nn.Embedding`, the NPLM's C, the RNN LM's one-hot input rows U)."""
    n = sum(
        p.numel()
        for m in model.modules()
        if isinstance(m, nn.Embedding)
        for p in m.parameters()
    )
    for name in ("C", "U"):  # the NPLM's feature vectors, the RNN LM's input weights
        p = getattr(model, name, None)
        if isinstance(p, nn.Parameter):
            n += p.numel()
    return n


def flops_per_token(model: nn.Module) -> int:
    """Training FLOPs per predicted character: Kaplan et al.'s count for the GPT (which
    adds the attention), 6 × the parameters that take part in matrix products for the
    others."""
    if isinstance(model, GPT):
        return training_flops_per_token(model.config)
    return 6 * (sum(p.numel() for p in model.parameters()) - lookup_parameters(model))


# --------------------------------------------------------------------------- fits and
# crossovers


# --8<-- [start:fit]
def _saturating(
    logc: np.ndarray, log_a: float, alpha: float, floor: float
) -> np.ndarray:
    return np.exp(log_a - alpha * logc) + floor


def fit_power_law(flops, losses) -> dict:
    """Fit L(C) = a·C^(−α) + L∞ to points (C, L); fall back to the plain power law
    L = a·C^(−α) (a line in log-log) when the saturating fit is degenerate: it fails, it
    has fewer than 4 points, its floor is negative or not below every loss, or α ≤ 0.

    Returns {"a", "alpha", "floor" (0 for the plain form), "form"
    ("saturating"/"plain"), "c_min", "c_max"} (the fit range).
    """
    c = np.asarray(flops, dtype=float)
    y = np.asarray(losses, dtype=float)
    if c.shape != y.shape or len(c) < 2 or np.any(c <= 0) or np.any(y <= 0):
        raise ValueError(
            f"need at least 2 points with positive FLOPs and losses; got {len(c)}"
        )
    logc = np.log(c)
    slope, intercept = np.polyfit(logc, np.log(y), 1)
    out = {
        "a": float(np.exp(intercept)),
        "alpha": float(-slope),
        "floor": 0.0,
        "form": "plain",
        "c_min": float(c.min()),
        "c_max": float(c.max()),
    }
    if len(c) >= 4:
        try:
            with (
                warnings.catch_warnings()
            ):  # a degenerate fit is judged below, not warned about
                warnings.simplefilter("ignore", OptimizeWarning)
                p, _ = curve_fit(
                    _saturating,
                    logc - logc.mean(),
                    y,
                    p0=(
                        np.log(max(y.max() - 0.9 * y.min(), 1e-6)),
                        max(-slope, 0.05),
                        0.9 * y.min(),
                    ),
                    maxfev=20_000,
                )
            log_a, alpha, floor = (float(v) for v in p)
            if alpha > 0 and 0 <= floor < y.min():
                out = {
                    "a": float(np.exp(log_a + alpha * logc.mean())),
                    "alpha": alpha,
                    "floor": floor,
                    "form": "saturating",
                    "c_min": out["c_min"],
                    "c_max": out["c_max"],
                }
        except (RuntimeError, ValueError, FloatingPointError):
            pass
    return out


# --8<-- [end:fit]


def predict(fit: dict, flops) -> np.ndarray:
    """The fitted loss at ``flops`` (scalar or array)."""
    return fit["a"] * np.asarray(flops, dtype=float) ** (-fit["alpha"]) + fit["floor"]


# --8<-- [start:crossings]
def crossings(flops, loss_a, loss_b) -> list[float]:
    """The compute values where curve a and curve b, measured at the same rungs
    ``flops``, cross: the sign of L_a − L_b changes between two rungs, and the crossing
    is interpolated linearly in log C. Empty when one curve stays ahead throughout."""
    c = np.log(np.asarray(flops, dtype=float))
    d = np.asarray(loss_a, dtype=float) - np.asarray(loss_b, dtype=float)
    if not len(c) == len(d) >= 2:
        raise ValueError("need two curves at the same (at least 2) points")
    out = []
    for i in range(len(d) - 1):
        if d[i] == 0:
            out.append(float(np.exp(c[i])))
        elif d[i] * d[i + 1] < 0:
            t = d[i] / (d[i] - d[i + 1])
            out.append(float(np.exp(c[i] + t * (c[i + 1] - c[i]))))
    if d[-1] == 0:
        out.append(float(np.exp(c[-1])))
    return out


def fit_crossings(fit_a: dict, fit_b: dict, lo: float, hi: float) -> list[float]:
    """The compute values in [lo, hi] where two fitted laws cross (bracketed on a log
    grid, then solved by Brent's method)."""
    if not 0 < lo < hi:
        raise ValueError(f"need 0 < lo < hi; got {lo}, {hi}")

    def gap(logc: float) -> float:
        return float(predict(fit_a, np.exp(logc)) - predict(fit_b, np.exp(logc)))

    grid = np.linspace(np.log(lo), np.log(hi), 400)
    vals = [gap(g) for g in grid]
    return [
        float(np.exp(brentq(gap, grid[i], grid[i + 1])))
        for i in range(len(grid) - 1)
        if vals[i] * vals[i + 1] < 0
    ]


# --8<-- [end:crossings]


# --------------------------------------------------------------------------- one
# network, one rung


def network(key: str, params: int, vocab_size: int, base: evo.Config) -> nn.Module:
    """Family ``key`` (a name of NETWORKS) at ``params`` parameters, its shape from
    ``base``."""
    return evo.build_model(EVO_KEY[key], vocab_size, replace(base, params=params))


def train_one(
    key: str,
    params: int,
    flops: float,
    data: tuple[Tensor, Tensor, int, int],
    base: evo.Config,
    lr_scale: float,
    seed: int,
    desc: str,
    min_steps: int = 1,
) -> dict:
    """Build family ``key`` at ``params``, train it for ``flops`` FLOPs (as steps) on
    ``data`` = (train ids, scored ids, eos id, vocabulary size) and score it; returns
    the point and the trained model. A budget too small for ``min_steps`` steps at the
    chapter's batch trains on smaller batches (`small_batches`)."""
    train, score_ids, eos, V = data
    gen = seed_everything(seed)
    model = network(key, params, V, base)
    per_token = flops_per_token(model)
    base = small_batches(key, base, flops / per_token, min_steps)
    dev = device()  # the CPU here; a GPU where there is one (AIROAD_DEVICE overrides)
    model.to(dev)
    entry = evo.contestant(
        EVO_KEY[key],
        model,
        train.to(dev),  # the batches are cut on the model's device
        eos,
        base,
        gen,
        torch.Generator().manual_seed(seed + 1),
    )
    per_step = per_token * entry.recipe.tokens_per_step
    steps = max(1, round(flops / per_step))
    history = evo.train_steps(entry, steps, base, desc, lr_scale=lr_scale)
    model.eval()
    loss = entry.score(model, score_ids)
    return {
        "params": model.num_parameters,
        "steps": history.steps_done,
        "batch": getattr(base, BATCH_FIELD[key]),
        "flops": per_step * history.steps_done,
        "seconds": history.seconds,
        "loss": float(loss) if math.isfinite(loss) else float("inf"),
        "label": evo.shape_label(EVO_KEY[key], model),
        "model": model,
    }


BATCH_FIELD = {
    "nplm": "nplm_batch",
    "rnn": "rnn_batch",
    "lstm": "recurrent_batch",
    "gru": "recurrent_batch",
    "gpt": "gpt_batch",
}


# --8<-- [start:batches]
def small_batches(
    key: str, base: evo.Config, tokens: float, min_steps: int
) -> evo.Config:
    """``base`` with family ``key``'s batch (rows, streams or blocks) cut, never below
    one, so that ``tokens`` predicted characters make at least ``min_steps`` steps where
    they can."""
    field = BATCH_FIELD[key]
    batch = getattr(base, field)
    per_row = {
        "nplm": 1,
        "rnn": base.rnn_bptt,
        "lstm": base.recurrent_bptt,
        "gru": base.recurrent_bptt,
        "gpt": base.context,
    }[key]
    fits = max(1, int(tokens / (min_steps * per_row)))
    return replace(base, **{field: min(batch, fits)})


# --8<-- [end:batches]


def kn_point(order: int, train: Tensor, score_ids: Tensor, V: int) -> dict:
    """A Kneser–Ney model of ``order`` counted on ``train``, scored on ``score_ids``."""
    started = time.perf_counter()
    kn = KneserNeyLM(order, V).fit(train.numpy())
    seconds = time.perf_counter() - started
    return {
        "order": order,
        "chars": len(train),
        "ngrams": kn.num_ngrams,
        "seconds": seconds,
        "loss": evo.kn_nats(kn, score_ids),
    }


# --------------------------------------------------------------------------- the four
# parts


def search_recipes(config: Config, data: tuple, seed: int) -> dict:
    """``len(config.lr_scales) + 1`` trials per network at rung ``config.search_rung``:
    each learning rate of ``config.lr_scales`` at its chapter's shape (the full run: four),
    then the best rate at its other shape. Returns per family the
    trials and the winner {"lr_scale", "shape", "overrides"}."""
    flops = rung_flops(config)[config.search_rung]
    params = rung_params(flops, config.tokens_per_param)
    out = {}
    for key in NETWORKS:
        trials = []
        for s in config.lr_scales:
            p = train_one(
                key,
                params,
                flops,
                data,
                config.base,
                s,
                seed,
                f"search {key} lr x{s:g}",
                config.min_steps,
            )
            trials.append(
                {
                    "lr_scale": s,
                    "shape": DEFAULT_SHAPE[key],
                    "overrides": {},
                    "loss": p["loss"],
                    "label": p["label"],
                    "steps": p["steps"],
                }
            )
        best = min(trials, key=lambda t: t["loss"])
        shape, overrides = OTHER_SHAPE[key]
        p = train_one(
            key,
            params,
            flops,
            data,
            replace(config.base, **overrides),
            best["lr_scale"],
            seed,
            f"search {key} {shape}",
            config.min_steps,
        )
        trials.append(
            {
                "lr_scale": best["lr_scale"],
                "shape": shape,
                "overrides": overrides,
                "loss": p["loss"],
                "label": p["label"],
                "steps": p["steps"],
            }
        )
        winner = min(trials, key=lambda t: t["loss"])
        out[key] = {
            "trials": trials,
            "winner": winner,
            "flops": flops,
            "params": params,
        }
    return out


def compute_ladder(
    config: Config, recipes: dict, data: tuple, seed: int
) -> tuple[dict, dict]:
    """Every family at every rung; returns the points per family and the top rung's GPT
    and LSTM (for the position loss)."""
    train, valid, eos, V = data
    points: dict[str, list[dict]] = {}
    top: dict[str, nn.Module] = {}
    flops = rung_flops(config)
    for key in NETWORKS:
        w = recipes[key]["winner"]
        base = replace(config.base, **w["overrides"])
        points[key] = []
        for k, c in enumerate(flops):
            p = train_one(
                key,
                rung_params(c, config.tokens_per_param),
                c,
                data,
                base,
                w["lr_scale"],
                seed,
                f"ladder {key} rung {k}",
                config.min_steps,
            )
            model = p.pop("model")
            if k == len(flops) - 1 and key in ("gpt", "lstm"):
                top[key] = model
            points[key].append({"rung": k, "rung_flops": c, **p})
    points["kn"] = []
    counted: dict[tuple[int, int], dict] = {}  # rungs past the text's end and the
    # order's cap ask for the same model: it is counted once (its first seconds)
    for k, c in enumerate(flops):
        chars = min(
            len(train),
            round(config.tokens_per_param * rung_params(c, config.tokens_per_param)),
        )
        order = min(2 + k, config.kn_max_order)
        if (order, chars) not in counted:
            counted[order, chars] = kn_point(order, train[:chars], valid, V)
        p = counted[order, chars]
        points["kn"].append({"rung": k, "rung_flops": c, "flops": c, **p})
    return points, top


def data_ladder(config: Config, recipes: dict, data: tuple, seed: int) -> dict:
    """The rung-``data_rung`` model of every network, and the n-gram, on growing shares
    of the training text."""
    train, valid, eos, V = data
    c = rung_flops(config)[config.data_rung]
    params = rung_params(c, config.tokens_per_param)
    out: dict[str, list[dict]] = {key: [] for key in FAMILIES}
    for share in config.data_shares:
        chars = max(2_048, round(share * len(train)))
        out["kn"].append(
            {"share": share, **kn_point(config.kn_order, train[:chars], valid, V)}
        )
    for key in NETWORKS:
        w = recipes[key]["winner"]
        base = replace(config.base, **w["overrides"])
        for share in config.data_shares:
            chars = max(2_048, round(share * len(train)))
            p = train_one(
                key,
                params,
                c,
                (train[:chars], valid, eos, V),
                base,
                w["lr_scale"],
                seed,
                f"data {key} {share:g}",
                config.min_steps,
            )
            p.pop("model")
            out[key].append({"share": share, "chars": chars, **p})
    return out


# --8<-- [start:position]
@torch.no_grad()
def position_loss(
    model: nn.Module, ids: Tensor, context: int, windows: int
) -> np.ndarray:
    """Mean cross-entropy (nats) at each position t = 1 … T of up to ``windows``
    non-overlapping windows of ``ids`` (N,), each read from scratch: the GPT with no
    earlier context, a recurrent model from a zero state. Returns (T,)."""
    T = context
    n = min(windows, (len(ids) - 1) // T)
    if n < 1:
        raise ValueError(f"need at least context + 1 = {T + 1} ids; got {len(ids)}")
    dev = next(model.parameters()).device
    x = ids[: n * T].view(n, T).to(dev)
    y = ids[1 : n * T + 1].view(n, T).to(dev)
    model.eval()
    out = model(x)
    logits = (
        out[0] if isinstance(out, tuple) else out
    )  # recurrent models return (logits, state)
    loss = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none"
    )
    return loss.view(n, T).mean(0).double().cpu().numpy()


# --8<-- [end:position]


def position_gain(curve) -> float:
    """The loss at the first 10% of positions minus the loss at the last 10% (at least
    one each)."""
    c = np.asarray(curve, dtype=float)
    k = max(1, len(c) // 10)
    return float(c[:k].mean() - c[-k:].mean())


# --------------------------------------------------------------------------- the run


def run_config(config: Config, seed: int = 0) -> Result:
    """The four parts at one budget; metrics, tables, series and sentences from the
    numbers."""
    c = config
    vocab, train, valid_all = evo.load_data(c.base)
    valid = evo.aligned_valid(valid_all, c.valid_chars, c.base.context)
    data = (train, valid, vocab.eos_id, len(vocab))

    recipes = search_recipes(c, data, seed)
    points, top = compute_ladder(c, recipes, data, seed)
    shares = data_ladder(c, recipes, data, seed)
    T = c.base.context
    positions = {
        k: position_loss(top[k], valid, T, c.position_windows).tolist()
        for k in ("gpt", "lstm")
    }

    fits = {
        k: fit_power_law(
            [p["flops"] for p in points[k]], [p["loss"] for p in points[k]]
        )
        for k in FAMILIES
    }
    flops = rung_flops(c)
    metrics: dict[str, float] = {
        "rungs": c.rungs,
        "compute_span": flops[-1] / flops[0],
        "min_flops": flops[0],
        "max_flops": flops[-1],
        "tokens_per_param": c.tokens_per_param,
        "vocab_size": len(vocab),
        "valid_chars_scored": len(valid) - 1,
        "train_chars": len(train),
    }
    for k in FAMILIES:
        metrics |= {
            f"{k}_alpha": fits[k]["alpha"],
            f"{k}_loss_top": points[k][-1]["loss"],
            f"{k}_loss_bottom": points[k][0]["loss"],
            f"{k}_floor": fits[k]["floor"],
            f"{k}_saturating": float(fits[k]["form"] == "saturating"),
        }
        if k != "kn":
            metrics |= {
                f"{k}_params_top": points[k][-1]["params"],
                f"{k}_seconds_top": points[k][-1]["seconds"],
                f"{k}_flops_per_s": sum(p["flops"] for p in points[k])
                / max(1e-9, sum(p["seconds"] for p in points[k])),
                f"{k}_search_best": recipes[k]["winner"]["loss"],
                f"{k}_lr_scale": recipes[k]["winner"]["lr_scale"],
                f"{k}_data_gain": shares[k][0]["loss"] - shares[k][-1]["loss"],
            }
    metrics["kn_data_gain"] = shares["kn"][0]["loss"] - shares["kn"][-1]["loss"]
    metrics["kn_order_top"] = points["kn"][-1]["order"]
    metrics |= {
        "gpt_position_gain": position_gain(positions["gpt"]),
        "lstm_position_gain": position_gain(positions["lstm"]),
        "context": T,
        "search_flops": recipes["gpt"]["flops"],
        "search_rates": len(config.lr_scales),
        "search_params": recipes["gpt"]["params"],
        "data_flops": flops[c.data_rung],
        "data_points": len(c.data_shares),
    }
    best_top = min(FAMILIES, key=lambda k: points[k][-1]["loss"])
    metrics["best_top_is_network"] = float(best_top != "kn")

    cross = []
    for i, a in enumerate(FAMILIES):
        for b in FAMILIES[i + 1 :]:
            measured = crossings(
                [p["rung_flops"] for p in points[a]],
                [p["loss"] for p in points[a]],
                [p["loss"] for p in points[b]],
            )
            fitted = fit_crossings(fits[a], fits[b], flops[0], flops[-1] * 1e4)
            cross.append({"a": a, "b": b, "measured": measured, "fitted": fitted})

    series = {
        "points": points,
        "fits": fits,
        "data": shares,
        "positions": positions,
        "recipes": {k: {kk: v for kk, v in r.items()} for k, r in recipes.items()},
        "crossings": cross,
        "rung_flops": flops,
        "config": asdict(c),
    }
    tables = {
        "ladder": ladder_table(points, fits),
        "recipes": recipes_table(recipes),
        "data": data_table(shares),
        "crossings": crossings_table(cross, points),
    }
    text = {
        "fits": fits_sentence(metrics, fits),
        "positions": positions_sentence(metrics),
        "top": top_sentence(metrics),
        "data": data_sentence(metrics, shares),
        "crossings": crossings_sentence(cross),
        **claim_regimes(points, fits, metrics),
    }
    return Result(
        metrics={k: float(v) for k, v in metrics.items()},
        tables=tables,
        series=series,
        text=text,
    )


# --------------------------------------------------------------------------- tables and
# sentences


def ladder_table(points: dict, fits: dict) -> Table:
    """One row per family: its loss at the bottom and top rungs, the fitted law and its
    range."""
    rows = []
    for k in FAMILIES:
        f, lo, hi = fits[k], points[k][0], points[k][-1]
        size = (
            f"n={lo['order']}–{hi['order']}, {lo['chars']:,}–{hi['chars']:,} chars"
            if k == "kn"
            else f"{lo['params']:,}–{hi['params']:,}"
        )
        rows.append(
            [
                NAMES[k],
                size,
                lo["loss"],
                hi["loss"],
                f["alpha"],
                f"{f['floor']:.3f}" if f["form"] == "saturating" else "plain law",
                f"{f['c_min']:.1e}–{f['c_max']:.1e}",
            ]
        )
    return Table(
        columns=[
            "family",
            "parameters (or n-gram order, data)",
            "nats/char, bottom rung",
            "nats/char, top rung",
            "α",
            "L∞",
            "fit range (FLOPs)",
        ],
        rows=rows,
        formats=["", "", ".3f", ".3f", ".3f", "", ""],
    )


def recipes_table(recipes: dict) -> Table:
    """One row per trial of the recipe search: family, learning rate, shape, loss."""
    rows = []
    for k in NETWORKS:
        for t in recipes[k]["trials"]:
            rows.append(
                [
                    NAMES[k],
                    t["shape"],
                    t["lr_scale"],
                    t["label"],
                    t["loss"],
                    "best" if t is recipes[k]["winner"] else "",
                ]
            )
    return Table(
        columns=[
            "family",
            "shape",
            "learning rate × chapter's",
            "model",
            "valid nats/char",
            "",
        ],
        rows=rows,
        formats=["", "", "g", "", ".3f", ""],
    )


def data_table(data: dict) -> Table:
    """One row per family: its validation loss at each share of the training text."""
    shares = [p["share"] for p in data["kn"]]
    rows = [[NAMES[k], *[p["loss"] for p in data[k]]] for k in FAMILIES]
    return Table(
        columns=["family", *[f"{100 * s:g}% of the text" for s in shares]],
        rows=rows,
        formats=["", *[".3f"] * len(shares)],
    )


def crossings_table(cross: list[dict], points: dict) -> Table:
    """One row per pair of families that cross, between measured rungs or by their fits."""
    rows = []
    for x in cross:
        if not (x["measured"] or x["fitted"]):
            continue
        rows.append(
            [
                f"{NAMES[x['a']]} / {NAMES[x['b']]}",
                ", ".join(f"{v:.2e}" for v in x["measured"]) or "none measured",
                ", ".join(f"{v:.2e}" for v in x["fitted"]) or "none",
            ]
        )
    return Table(
        columns=[
            "pair",
            "crossing between rungs (FLOPs)",
            "crossing of the fits (FLOPs)",
        ],
        rows=rows or [["none", "none measured", "none"]],
    )


def fits_sentence(m: dict, fits: dict) -> str:
    """The fitted exponents, steepest first, and which families got the plain law."""
    order = sorted(FAMILIES, key=lambda k: -m[f"{k}_alpha"])
    parts = ", ".join(f"{NAMES[k]} {m[f'{k}_alpha']:.3f}" for k in order)
    plain = [NAMES[k] for k in FAMILIES if fits[k]["form"] == "plain"]
    out = (
        f"Fitted exponents α, steepest first: {parts}, over {m['compute_span']:.0f}× "
        f"in compute "
        f"({m['min_flops']:.1e} to {m['max_flops']:.1e} FLOPs)."
    )
    if plain:
        out += (
            f" For {', '.join(plain)} the saturating law was degenerate on these "
            f"points, so the "
            "exponent is the plain power law's."
        )
    return out


def top_sentence(m: dict) -> str:
    """The families at the top rung, best to worst."""
    order = sorted(FAMILIES, key=lambda k: m[f"{k}_loss_top"])
    return (
        "At the top rung, best to worst, in nats per character: "
        + ", ".join(f"{NAMES[k]} {m[f'{k}_loss_top']:.3f}" for k in order)
        + "."
    )


def positions_sentence(m: dict) -> str:
    """What the GPT and the LSTM gain from the first tenth of a window to its last."""
    g, l_ = m["gpt_position_gain"], m["lstm_position_gain"]
    more = "GPT" if g > l_ else "LSTM"
    return (
        f"From the first tenth of a {m['context']:.0f}-character window to its last "
        f"tenth, the "
        f"GPT's loss falls by {g:.3f} nats per character and the LSTM's by {l_:.3f}: "
        f"the {more} "
        "gains more from the context it has read."
    )


def data_sentence(m: dict, data: dict) -> str:
    """How much each family gains from the smallest share of the text to the whole."""
    lo, hi = data["kn"][0]["share"], data["kn"][-1]["share"]
    gains = sorted(FAMILIES, key=lambda k: -m[f"{k}_data_gain"])
    return (
        f"From {100 * lo:g}% to {100 * hi:g}% of the training text, the loss falls by "
        + ", ".join(f"{m[f'{k}_data_gain']:.3f} ({NAMES[k]})" for k in gains)
        + " nats per character."
    )


def crossings_sentence(cross: list[dict]) -> str:
    """The crossings between measured rungs, in words."""
    measured = [x for x in cross if x["measured"]]
    if not measured:
        return "No two families cross between the measured rungs: their order is the same at every rung."
    return (
        "Between the measured rungs: "
        + "; ".join(
            f"{NAMES[x['a']]} and {NAMES[x['b']]} cross at "
            f"{', '.join(f'{v:.1e}' for v in x['measured'])} FLOPs"
            for x in measured
        )
        + "."
    )


# --8<-- [start:napkin]
NET_SECONDS = (
    480.0  # the target: a top rung of 8 minutes per network on this machine
)
TINY_GPU_UTILISATION = (
    0.01  # an assumption, not a measurement: a model of ~10^4 parameters
)
# leaves a GPU's matrix units nearly idle (kernel launches dominate), so 1% of its peak
GPU_STEP_SECONDS = (
    0.003  # an assumption: an eager PyTorch step of a small model on a GPU is
)
# bound by its ~10^2 kernel launches of ~10 µs each, whatever its FLOPs


def napkin(
    metrics: dict, fits: dict, run_seconds: float, steps: int
) -> dict[str, float]:
    """What a longer ladder would take, from a full run's measured FLOP/s and fitted
    laws: the compute of 8 minutes per network at each family's measured rate, the
    fitted loss there, the hours the whole experiment would take with that top rung (its
    FLOPs scale with the top rung's), and those FLOPs on an H100 (`cost.DATASHEETS`) at
    PaLM's utilisation (`cost.PALM_MFU`, a best case) and at ``TINY_GPU_UTILISATION``,
    and the latency bound: the run's ``steps``, grown with the ladder, at
    ``GPU_STEP_SECONDS`` each."""
    out: dict[str, float] = {}
    for k in NETWORKS:
        c8 = NET_SECONDS * metrics[f"{k}_flops_per_s"]
        out[f"{k}_flops_8min"] = c8
        out[f"{k}_pred_8min"] = float(predict(fits[k], c8))
        out[f"{k}_pred_100x"] = float(predict(fits[k], 100 * metrics["max_flops"]))
    out["kn_pred_100x"] = float(predict(fits["kn"], 100 * metrics["max_flops"]))
    scale = max(out[f"{k}_flops_8min"] for k in NETWORKS) / metrics["max_flops"]
    out["scale_8min"] = scale
    out["hours_8min"] = run_seconds * scale / 3600
    flops = scale * run_flops(metrics)
    out["ladder_8min_flops"] = flops
    h100 = DATASHEETS["H100"].peak_flops
    out["h100_seconds_palm"] = training_seconds(flops, h100, PALM_MFU)
    out["h100_seconds_tiny"] = training_seconds(flops, h100, TINY_GPU_UTILISATION)
    out["tiny_gpu_utilisation"] = TINY_GPU_UTILISATION
    # steps grow as the characters read, D = ratio·N ∝ sqrt(C), at the same batches
    out["steps_8min"] = steps * math.sqrt(scale)
    out["gpu_seconds_steps"] = out["steps_8min"] * GPU_STEP_SECONDS
    out["gpu_step_ms"] = 1e3 * GPU_STEP_SECONDS
    out["palm_mfu"] = PALM_MFU
    return out


def run_flops(metrics: dict) -> float:
    """The training FLOPs of a whole run: the ladder (sum of the rungs), the search's
    five trials and the data ladder's shares, each at its rung, for the five
    networks."""
    rungs, c0 = int(metrics["rungs"]), metrics["min_flops"]
    ladder = c0 * (2.0**rungs - 1)
    search = (metrics.get("search_rates", len(LR_SCALES)) + 1) * metrics["search_flops"]
    data = metrics.get("data_points", len(DATA_SHARES)) * metrics.get(
        "data_flops", metrics["search_flops"]
    )
    return len(NETWORKS) * (ladder + search + data)


# --8<-- [end:napkin]


def total_steps(series: dict) -> int:
    """Optimizer steps of a whole run: the ladder's, the search's and the data
    ladder's."""
    n = sum(p["steps"] for k in NETWORKS for p in series["points"][k])
    n += sum(p["steps"] for k in NETWORKS for p in series["data"][k])
    return n + sum(
        t.get("steps", 0) for r in series["recipes"].values() for t in r["trials"]
    )


def recorded_series(path: Path | None = None) -> dict | None:
    """The series and metrics of the committed full run (``RECORDED``), or None if there
    is none."""
    path = PROJECT_ROOT / RECORDED if path is None else path
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return {
        "series": data["series"],
        "metrics": data["metrics"],
        "seconds": data["seconds"],
    }


TIE = evo.TIE  # nats/char: a smaller gap is a tie (chapter 13's)
REACH = 1e4  # how far past the top rung a fitted crossing is reported (× its FLOPs)


def regime(points: dict, fits: dict, a: str, b: str) -> str:
    """Where family ``a`` is ahead of family ``b`` (by more than a tie) along the
    ladder, and, where it never is at the top, whether their fits cross within ``REACH``
    × the top rung."""
    la, lb = [p["loss"] for p in points[a]], [p["loss"] for p in points[b]]
    c = [p["rung_flops"] for p in points[a]]
    ahead = [lb[k] - la[k] > TIE for k in range(len(c))]
    behind = [la[k] - lb[k] > TIE for k in range(len(c))]
    A, B = NAMES[a], NAMES[b]
    where = ", ".join(f"{c[k]:.1e}" for k in range(len(c)) if ahead[k])
    if ahead[-1]:
        first = len(c) - 1
        while first > 0 and ahead[first - 1]:
            first -= 1
        span = (
            "at every rung"
            if first == 0
            else f"from {c[first]:.1e} FLOPs up (rung {first} of {len(c) - 1})"
        )
        return f"{A} is ahead of {B} {span}: {la[-1]:.3f} against {lb[-1]:.3f} nats per character at the top rung."
    out = (
        f"At the top rung, {A} {la[-1]:.3f} against {B} {lb[-1]:.3f} nats per "
        f"character: " + ("a tie." if not behind[-1] else f"{A} is behind.")
    )
    if where:
        out += f" {A} was ahead at lower rungs ({where} FLOPs) and lost the lead as compute grew."
    top = c[-1]
    cross = [x for x in fit_crossings(fits[a], fits[b], top, top * REACH) if x > top]
    if cross and predict(fits[a], top * REACH) < predict(fits[b], top * REACH):
        out += (
            f" The fitted laws cross at {cross[0]:.1e} FLOPs, {cross[0] / top:,.0f} "
            f"times the top "
            "rung: that is where the trends say it flips, beyond this machine's reach."
        )
    else:
        out += (
            f" The fitted laws do not put {A} ahead within {REACH:,.0f} times the top "
            f"rung's "
            "compute: on these trends the verdict does not flip within reach."
        )
    return out


def claim_regimes(points: dict, fits: dict, m: dict) -> dict[str, str]:
    """Chapter 13's claims, each read along the compute ladder (text keys
    ``regime_<claim>``)."""
    out = {
        "regime_bengio": regime(points, fits, "nplm", "kn"),
        "regime_mikolov": regime(points, fits, "rnn", "kn")
        + " "
        + regime(points, fits, "rnn", "nplm"),
        "regime_lstm": regime(points, fits, "lstm", "rnn"),
        "regime_gru": regime(points, fits, "gru", "lstm"),
        "regime_radford": regime(points, fits, "gpt", "lstm"),
    }
    g, l_ = m["gpt_flops_per_s"], m["lstm_flops_per_s"]
    out["regime_vaswani"] = (
        f"Across the ladder the GPT does {g / 1e9:.2f} GFLOP/s of useful training "
        f"arithmetic against the LSTM's {l_ / 1e9:.2f} on this machine (one thread): "
        + (
            "the GPT turns seconds into FLOPs faster."
            if g > l_
            else "the LSTM turns seconds into FLOPs faster at these widths."
        )
    )
    return out


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full"; its rungs are FLOPs, so ``seconds``
    is ignored. The quick run also carries the committed full run's series
    (``series["recorded"]``, None before one is committed), so that the figures draw the
    long rungs beside the short ones."""
    result = run_config(config_for(CONFIGS, budget), seed=seed)
    if budget == "quick":
        recorded = recorded_series()
        result.series["recorded"] = recorded
        if recorded is not None:  # the napkin maths of the page, from the committed run
            result.metrics |= {
                f"full_{k}": v
                for k, v in napkin(
                    recorded["metrics"],
                    recorded["series"]["fits"],
                    recorded["seconds"],
                    total_steps(recorded["series"]),
                ).items()
            }
    return result
