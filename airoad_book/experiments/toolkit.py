"""Appendix A's experiment: each tool of the training loop, measured on one small model.

The model is chapter 8's character-level LSTM language model (`RecurrentLM("lstm",
...)`) on the book's Shakespeare split: random blocks of ``block`` characters from the
training text, each read from a zero state (no state carried between blocks, so every
batch is independent of the others), and a validation loss in nats per character on the
first characters of the validation split (plays never seen in training). One base recipe
— AdamW, a linear warm-up then a cosine decay to zero, no clipping, no weight decay — is
changed one knob at a time:

- **schedule**: at a high peak learning rate, a constant rate, warm-up then constant, and
  warm-up then cosine decay (the learning rate each step used, and the loss);
- **weight decay**: the same coefficient as Adam's L2 penalty (added to the gradient) and
  as AdamW's decoupled decay (Loshchilov & Hutter 2019), against none: the weights' norm and
  the loss;
- **gradient clipping**: plain SGD at a learning rate high enough to blow up, with and
  without clipping the global gradient norm (the norm each step, and the loss);
- **gradient accumulation**: one batch of ``k * B`` blocks against ``k`` micro-batches of
  ``B`` blocks holding the same rows, accumulated into one step (the weights agree to float
  rounding), and against plain batches of ``B``: the seconds each optimizer step costs;
- **bf16 autocast**: the same run in float32 and under bfloat16 autocast on this machine's
  device: seconds per step and the loss;
- **seeds and determinism**: the base recipe under a few seeds (the spread of the final
  loss, the yardstick for every difference above), and seed 0 again under
  ``torch.use_deterministic_algorithms(True)``: are the losses identical?

Every verdict sentence is computed from the numbers of the run.
"""

from __future__ import annotations

import copy
import math
import statistics
import time
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from airoad_book.data import Vocab, char_tokens, lm_windows, random_batches, shakespeare
from airoad_book.device import device, seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.models.lstm import RecurrentLM
from airoad_book.results import Result, Table
from airoad_book.train import (
    History,
    TrainConfig,
    evaluate_loss,
    fit,
    make_optimizer,
    make_schedule,
    train_step,
)

NAME = "training-toolkit"
CHAPTER = "A"
SUMMARY = (
    "warm-up + cosine, AdamW vs Adam-L2, clipping, gradient accumulation, bf16 "
    "autocast and "
    "seeds, each measured on chapter 8's char LSTM on Shakespeare"
)


@dataclass(frozen=True)
class Config:
    """One budget's settings: the model, the base recipe, and each section's changed
    knob."""

    train_chars: int | None = (
        300_000  # the first N characters of the training split; None: all
    )
    valid_chars: int = (
        4_096  # characters of the validation split every evaluation scores
    )
    block: int = 32  # T, characters per training block
    batch_size: int = 16  # B, blocks per step
    embed_dim: int = 32  # E of the LSTM
    hidden: int = 96  # H of the LSTM
    steps: int = 80  # optimizer steps of every run but the accumulation and bf16 ones
    eval_every: int = 10  # steps between validation evaluations
    lr: float = 3e-2  # the base recipe's peak learning rate (AdamW)
    warmup_steps: int = 8  # linear warm-up of the base recipe
    high_lr: float = 0.1  # the schedule section's peak learning rate
    weight_decay: float = (
        0.1  # the decay section's coefficient, for Adam (L2) and AdamW
    )
    sgd_lr: float = (
        50.0  # the clipping section's SGD learning rate, high enough to blow up
    )
    clip_norm: float = 0.5  # the clipping section's cap on the global gradient norm
    accumulate: int = 4  # k, micro-batches per step in the accumulation section
    accumulate_steps: int = 30  # optimizer steps of each accumulation run
    bf16_steps: int = 60  # optimizer steps of each of the fp32 and bf16 runs
    timed_steps: int = (
        20  # steps of each precision timed one by one, alternating, for the medians
    )
    seeds: tuple[int, ...] = (
        0,
        1,
        2,
    )  # the seeds section's seeds (the first is the base run)


CONFIGS = {
    # about 1,100 LSTM steps of 512 characters in all: ~7 s on one core
    "quick": Config(),
    # ten times the steps, the whole training text, a longer validation slice, five
    # seeds
    "full": Config(
        train_chars=None,
        valid_chars=32_768,
        steps=2_000,
        eval_every=100,
        warmup_steps=100,
        accumulate_steps=200,
        bf16_steps=500,
        timed_steps=40,
        seeds=(0, 1, 2, 3, 4),
    ),
}


# --------------------------------------------------------------------------- data and
# model


@dataclass
class Data:
    """The training blocks `x`, `y` (N, T) and the validation blocks `vx`, `vy` (M, T),
    over `vocab`."""

    vocab: Vocab
    x: Tensor  # (N, T) character ids
    y: Tensor  # (N, T) the next character of each
    vx: Tensor  # (M, T)
    vy: Tensor  # (M, T)


def load_data(config: Config) -> Data:
    """Shakespeare as blocks of `config.block` characters; the vocabulary is the
    training text's."""
    if config.valid_chars <= config.block:
        raise ValueError(
            f"valid_chars must exceed block={config.block}; got {config.valid_chars}"
        )
    text = shakespeare("train")[: config.train_chars]
    vocab = Vocab.build(char_tokens(text))
    x, y = lm_windows(vocab.encode(char_tokens(text)), config.block)  # (N, T) each
    valid = vocab.encode(char_tokens(shakespeare("valid")[: config.valid_chars + 1]))
    vx, vy = lm_windows(valid, config.block)  # (M, T) each
    dev = device()
    return Data(vocab, x.to(dev), y.to(dev), vx.to(dev), vy.to(dev))


def lm_loss(model: RecurrentLM, batch: tuple[Tensor, Tensor]) -> Tensor:
    """Mean cross-entropy (nats per character) of the next character, each block from a
    zero state."""
    x, y = batch  # (B, T) each
    logits, _ = model(x)  # (B, T, V)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def make_model(vocab_size: int, config: Config) -> RecurrentLM:
    """Chapter 8's one-layer LSTM language model at this experiment's size, on the
    book's device."""
    return RecurrentLM("lstm", vocab_size, config.embed_dim, config.hidden).to(device())


def base_recipe(config: Config, **changes) -> TrainConfig:
    """The base TrainConfig (AdamW, warm-up then cosine to zero, no clipping, no decay),
    with `changes`."""
    base = TrainConfig(
        max_steps=config.steps,
        lr=config.lr,
        optimizer="adamw",
        warmup_steps=config.warmup_steps,
        schedule="cosine",
        eval_every=config.eval_every,
        restore_best=False,
    )
    return replace(base, **changes)


def weight_norm(model: nn.Module) -> float:
    """The L2 norm of all the model's parameters together, as one vector."""
    return math.sqrt(
        sum(float((p.detach().double() ** 2).sum()) for p in model.parameters())
    )


# --------------------------------------------------------------------------- one run


@dataclass
class Run:
    """One training run: its History, the weight norm at each evaluation, and the final
    weights."""

    history: History
    weight_norm: list[
        float
    ]  # at step 0, then at each evaluation (the entries of eval_step)
    state: dict[str, Tensor]  # the final weights

    @property
    def val_loss(self) -> float:
        """The last validation loss (nats per character)."""
        return self.history.eval_loss[-1]

    @property
    def ms_per_step(self) -> float:
        """Training milliseconds per optimizer step, evaluation excluded."""
        return 1000.0 * self.history.seconds / max(1, self.history.steps_done)


def train_run(
    data: Data,
    config: Config,
    train: TrainConfig,
    seed: int,
    batches=None,
    desc: str = "LSTM",
) -> Run:
    """Train a fresh model (initialised from `seed`) with `train`; record the weight
    norm at each evaluation.

    `batches` defaults to random batches of `config.batch_size` blocks drawn with the
    seed's generator, so two runs with the same seed see the same blocks in the same
    order.
    """
    gen = seed_everything(seed)
    model = make_model(len(data.vocab), config)
    if batches is None:
        batches = random_batches(
            data.x, data.y, batch_size=config.batch_size, generator=gen
        )
    norms = [weight_norm(model)]

    def evaluate(m: nn.Module) -> float:
        norms.append(weight_norm(m))
        return evaluate_loss(m, [(data.vx, data.vy)], lm_loss)

    history = fit(model, batches, lm_loss, train, evaluate=evaluate, desc=desc)
    return Run(
        history, norms, {k: v.detach().clone() for k, v in model.state_dict().items()}
    )


# --8<-- [start:micro]
def micro_batches(
    data: Data, size: int, k: int, gen: torch.Generator
) -> Iterator[tuple[Tensor, Tensor]]:
    """Random batches of ``k * size`` blocks, each cut into ``k`` micro-batches of
    ``size``.

    With ``TrainConfig(accumulate=k)`` one optimizer step then sees exactly the rows
    that one batch of ``k * size`` from the same generator holds.
    """
    for x, y in random_batches(
        data.x, data.y, batch_size=k * size, generator=gen
    ):  # (kB, T)
        for i in range(k):
            yield (
                x[i * size : (i + 1) * size],
                y[i * size : (i + 1) * size],
            )  # (B, T) each


# --8<-- [end:micro]


def max_difference(a: dict[str, Tensor], b: dict[str, Tensor]) -> float:
    """The largest absolute difference between two state dicts with the same keys."""
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a)


# --------------------------------------------------------------------------- the
# sections


def schedule_runs(data: Data, config: Config, seed: int) -> dict[str, Run]:
    """At the high peak rate: constant from step 0, warm-up then constant, warm-up then
    cosine."""
    lr = config.high_lr
    variants = {
        "constant": base_recipe(config, lr=lr, warmup_steps=0, schedule="constant"),
        "warm-up + constant": base_recipe(config, lr=lr, schedule="constant"),
        "warm-up + cosine": base_recipe(config, lr=lr),
    }
    return {
        name: train_run(data, config, tc, seed, desc=f"schedule: {name}")
        for name, tc in variants.items()
    }


def decay_runs(data: Data, config: Config, seed: int, base: Run) -> dict[str, Run]:
    """The same coefficient as Adam's L2 penalty and as AdamW's decoupled decay; `base`
    has none."""
    wd = config.weight_decay
    return {
        "no decay": base,
        f"Adam + L2 {wd:g}": train_run(
            data,
            config,
            base_recipe(config, optimizer="adam", weight_decay=wd),
            seed,
            desc="Adam + L2",
        ),
        f"AdamW {wd:g}": train_run(
            data, config, base_recipe(config, weight_decay=wd), seed, desc="AdamW"
        ),
    }


def clipping_runs(data: Data, config: Config, seed: int) -> dict[str, Run]:
    """Plain SGD at `sgd_lr` (warm-up then cosine), without and with clipping at
    `clip_norm`."""
    sgd = base_recipe(config, optimizer="sgd", lr=config.sgd_lr)
    return {
        "no clipping": train_run(data, config, sgd, seed, desc="SGD"),
        f"clipped at {config.clip_norm:g}": train_run(
            data,
            config,
            replace(sgd, clip_norm=config.clip_norm),
            seed,
            desc="SGD, clipped",
        ),
    }


def accumulation_runs(data: Data, config: Config, seed: int) -> dict[str, Run]:
    """One batch of k·B blocks, k accumulated micro-batches of B (the same rows), and
    plain batches of B."""
    k, B = config.accumulate, config.batch_size
    tc = base_recipe(
        config,
        max_steps=config.accumulate_steps,
        warmup_steps=min(config.warmup_steps, config.accumulate_steps),
        eval_every=config.accumulate_steps,
    )
    big = random_batches(
        data.x, data.y, batch_size=k * B, generator=torch.Generator().manual_seed(seed)
    )
    micro = micro_batches(data, B, k, torch.Generator().manual_seed(seed))
    return {
        f"one batch of {k * B}": train_run(
            data, config, tc, seed, batches=big, desc="big batch"
        ),
        f"{k} × {B}, accumulated": train_run(
            data,
            config,
            replace(tc, accumulate=k),
            seed,
            batches=micro,
            desc="accumulated",
        ),
        f"batches of {B}": train_run(data, config, tc, seed, desc="small batch"),
    }


def bf16_runs(data: Data, config: Config, seed: int) -> dict[str, Run]:
    """The same run (weights, batches) in float32 and under bfloat16 autocast."""
    tc = base_recipe(
        config,
        max_steps=config.bf16_steps,
        warmup_steps=min(config.warmup_steps, config.bf16_steps),
    )
    return {
        "float32": train_run(data, config, tc, seed, desc="fp32"),
        "bf16 autocast": train_run(
            data, config, replace(tc, autocast="bf16"), seed, desc="bf16"
        ),
    }


def precision_step_ms(data: Data, config: Config, seed: int) -> dict[str, float]:
    """Median milliseconds of one training step in float32 and under bf16 autocast,
    timed alternately.

    Two copies of one model take turns, a float32 step then a bf16 step, on the same
    batches, so a busy moment on a shared machine slows both alike; the median ignores
    the outliers. The first step of each (a warm-up) is not counted.
    """
    gen = seed_everything(seed)
    batches = random_batches(
        data.x, data.y, batch_size=config.batch_size, generator=gen
    )
    first = make_model(len(data.vocab), config)
    runners = {}
    for name, autocast in (("float32", None), ("bf16 autocast", "bf16")):
        model = copy.deepcopy(first)
        tc = base_recipe(config, autocast=autocast)
        optimizer = make_optimizer(model, tc)
        runners[name] = (model, optimizer, make_schedule(optimizer, tc), tc)
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(config.timed_steps + 1):
        batch = next(batches)
        for name, (model, optimizer, schedule, tc) in runners.items():
            started = time.perf_counter()
            train_step(model, batch, lm_loss, optimizer, schedule, tc)
            times[name].append(1000.0 * (time.perf_counter() - started))
    return {name: statistics.median(t[1:]) for name, t in times.items()}


def deterministic_run(data: Data, config: Config, seed: int) -> tuple[Run, int]:
    """The base run again under ``torch.use_deterministic_algorithms(True)``; and how
    many warnings it raised.

    ``warn_only=True`` makes an op with no deterministic implementation warn instead of
    raise, so the count says how many such ops the run met. The global flags are
    restored.
    """
    was, was_warn_only = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    try:
        torch.use_deterministic_algorithms(True, warn_only=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run = train_run(
                data, config, base_recipe(config), seed, desc="deterministic"
            )
    finally:
        torch.use_deterministic_algorithms(was, warn_only=was_warn_only)
    return run, sum("deterministic" in str(w.message) for w in caught)


# --------------------------------------------------------------------------- the run


def _curve(run: Run) -> dict:
    h = run.history
    return {
        "step": h.step,
        "train_loss": h.train_loss,
        "grad_norm": h.grad_norm,
        "lr": h.lr,
        "eval_step": h.eval_step,
        "val_loss": h.eval_loss,
        "norm_step": [0] + h.eval_step,
        "weight_norm": run.weight_norm,
        "ms_per_step": run.ms_per_step,
        "seconds": h.seconds,
    }


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Run every section at `config`; `seconds` is ignored (the runs are sized in steps,
    not time)."""
    c = config
    data = load_data(c)
    started = time.perf_counter()
    seeds = (seed,) + tuple(s for s in c.seeds[1:] if s != seed)
    base = train_run(data, c, base_recipe(c), seeds[0], desc=f"seed {seeds[0]}")
    sections = {
        "schedule": schedule_runs(data, c, seed),
        "decay": decay_runs(data, c, seed, base),
        "clipping": clipping_runs(data, c, seed),
        "accumulation": accumulation_runs(data, c, seed),
        "bf16": bf16_runs(data, c, seed),
        "seeds": {
            f"seed {seeds[0]}": base,
            **{
                f"seed {s}": train_run(data, c, base_recipe(c), s, desc=f"seed {s}")
                for s in seeds[1:]
            },
        },
    }
    repeat, det_warnings = deterministic_run(data, c, seed)
    m = metrics(c, sections, repeat, det_warnings)
    timed = precision_step_ms(data, c, seed)
    m["fp32_ms"], m["bf16_ms"] = timed["float32"], timed["bf16 autocast"]
    m["bf16_speedup"] = m["fp32_ms"] / m["bf16_ms"]
    m["params"] = float(
        sum(p.numel() for p in make_model(len(data.vocab), c).parameters())
    )
    m["train_blocks"] = float(len(data.x))
    m["seconds_total"] = time.perf_counter() - started
    # each section's runs as a list, in the order they ran (a JSON cache may sort a
    # dict's keys)
    series = {
        name: [{"name": run_name, **_curve(run)} for run_name, run in runs.items()]
        for name, runs in sections.items()
    }
    series["repeat"] = {
        "name": f"seed {seeds[0]} again, deterministic",
        **_curve(repeat),
    }
    series["config"] = {
        k: list(v) if isinstance(v, tuple) else v for k, v in asdict(c).items()
    }
    series["device"] = str(device())
    return Result(
        metrics=m,
        tables={"runs": runs_table(sections)},
        series=series,
        text=sentences(m, c),
    )


def metrics(
    c: Config, sections: dict[str, dict[str, Run]], repeat: Run, det_warnings: int
) -> dict[str, float]:
    """The numbers the page quotes: final validation losses, norms, step times,
    differences."""
    sch, dec, clip = sections["schedule"], sections["decay"], sections["clipping"]
    acc, bf, seeds = sections["accumulation"], sections["bf16"], sections["seeds"]
    big, accumulated, small = acc.values()
    fp32, bf16 = bf.values()
    base = next(iter(seeds.values()))
    finals = [r.val_loss for r in seeds.values()]
    mean = sum(finals) / len(finals)
    clip_runs = list(clip.values())
    dec_runs = list(dec.values())
    return {
        "schedule_constant_val": sch["constant"].val_loss,
        "schedule_warmup_val": sch["warm-up + constant"].val_loss,
        "schedule_cosine_val": sch["warm-up + cosine"].val_loss,
        "decay_none_val": dec_runs[0].val_loss,
        "decay_adam_l2_val": dec_runs[1].val_loss,
        "decay_adamw_val": dec_runs[2].val_loss,
        "decay_none_norm": dec_runs[0].weight_norm[-1],
        "decay_adam_l2_norm": dec_runs[1].weight_norm[-1],
        "decay_adamw_norm": dec_runs[2].weight_norm[-1],
        "initial_norm": dec_runs[0].weight_norm[0],
        "clip_off_val": clip_runs[0].val_loss,
        "clip_on_val": clip_runs[1].val_loss,
        "clip_off_max_grad_norm": max(clip_runs[0].history.grad_norm),
        "clip_off_peak_val": max(clip_runs[0].history.eval_loss),
        "clip_on_peak_val": max(clip_runs[1].history.eval_loss),
        "clip_share_clipped": sum(
            g > c.clip_norm for g in clip_runs[1].history.grad_norm
        )
        / len(clip_runs[1].history.grad_norm),
        "accum_max_weight_diff": max_difference(big.state, accumulated.state),
        "accum_small_weight_diff": max_difference(big.state, small.state),
        "accum_max_loss_diff": max(
            abs(a - b)
            for a, b in zip(big.history.train_loss, accumulated.history.train_loss)
        ),
        "accum_big_ms": big.ms_per_step,
        "accum_micro_ms": accumulated.ms_per_step,
        "accum_small_ms": small.ms_per_step,
        "accum_big_val": big.val_loss,
        "accum_micro_val": accumulated.val_loss,
        "accum_small_val": small.val_loss,
        "fp32_val": fp32.val_loss,
        "bf16_val": bf16.val_loss,
        "bf16_max_loss_diff": max(
            abs(a - b) for a, b in zip(fp32.history.train_loss, bf16.history.train_loss)
        ),
        "seed_mean_val": mean,
        "seed_spread": max(finals) - min(finals),
        "seed_std": math.sqrt(
            sum((v - mean) ** 2 for v in finals) / max(1, len(finals) - 1)
        ),
        "seeds": float(len(finals)),
        "repeat_max_loss_diff": max(
            abs(a - b)
            for a, b in zip(base.history.train_loss, repeat.history.train_loss)
        ),
        "repeat_max_weight_diff": max_difference(base.state, repeat.state),
        "deterministic_warnings": float(det_warnings),
        "base_val": base.val_loss,
    }


def runs_table(sections: dict[str, dict[str, Run]]) -> Table:
    """Every run: its section, its variant, steps, final validation loss and
    milliseconds per step."""
    rows = [
        [section, name, run.history.steps_done, run.val_loss, run.ms_per_step]
        for section, runs in sections.items()
        for name, run in runs.items()
    ]
    return Table(
        columns=["section", "run", "steps", "valid nats/char", "ms per step"],
        rows=rows,
        formats=["", "", ",d", ".3f", ".1f"],
    )


# --------------------------------------------------------------------------- verdicts


def _against_noise(gain: float, spread: float) -> str:
    """How a difference of final losses compares with the spread across seeds."""
    if spread <= 0:
        return "the seeds did not spread at all"
    ratio = abs(gain) / spread
    if ratio >= 2:
        return f"{ratio:.0f} times the spread across seeds, well outside it"
    if ratio >= 1:
        return f"{ratio:.1f} times the spread across seeds, just outside it"
    return f"within the spread across seeds ({spread:.3f}): not a difference this run can tell"


def sentences(m: dict, c: Config) -> dict[str, str]:
    """One computed sentence or two per section, for the page."""
    spread = m["seed_spread"]
    const, warm, cos = (
        m["schedule_constant_val"],
        m["schedule_warmup_val"],
        m["schedule_cosine_val"],
    )
    warm_gain, decay_gain = const - warm, warm - cos
    schedule = (
        f"At a peak rate of {c.high_lr:g}, warm-up alone moved the final validation "
        f"loss from "
        f"{const:.3f} to {warm:.3f} nats/char "
        f"({'better' if warm_gain > 0 else 'worse'} by "
        f"{abs(warm_gain):.3f}, {_against_noise(warm_gain, spread)}), and the cosine "
        f"decay after it "
        f"moved it to {cos:.3f} ({'better' if decay_gain > 0 else 'worse'} by "
        f"{abs(decay_gain):.3f}, "
        f"{_against_noise(decay_gain, spread)})."
    )
    none, l2, adamw = m["decay_none_val"], m["decay_adam_l2_val"], m["decay_adamw_val"]
    decay = (
        f"With the same coefficient {c.weight_decay:g}, Adam's L2 penalty took the "
        f"weights' norm from "
        f"{m['initial_norm']:.1f} to {m['decay_adam_l2_norm']:.1f} and the validation "
        f"loss to {l2:.3f}; "
        f"AdamW's decoupled decay held the norm at {m['decay_adamw_norm']:.1f} (no "
        f"decay: "
        f"{m['decay_none_norm']:.1f}) and reached {adamw:.3f} (no decay: {none:.3f}). "
        + (
            "The L2 penalty cost far more than the decoupled decay: the same number is "
            "a much "
            "stronger regulariser under Adam's rescaling."
            if l2 - none > max(2 * spread, abs(adamw - none))
            else "The two decays cost about the same here."
        )
    )
    off, on = m["clip_off_val"], m["clip_on_val"]
    clipping = (
        f"Plain SGD at a learning rate of {c.sgd_lr:g} met gradient norms up to "
        f"{m['clip_off_max_grad_norm']:.1f}; its validation loss peaked at "
        f"{m['clip_off_peak_val']:.2f} "
        f"and ended at {off:.3f}. Clipped at {c.clip_norm:g} (which bound on "
        f"{100 * m['clip_share_clipped']:.0f}% of the steps), the same run ended at "
        f"{on:.3f}: "
        + (
            "clipping saved the run."
            if off - on > 2 * spread
            else "clipping changed little here."
        )
    )
    k, B = c.accumulate, c.batch_size
    diff, ratio = m["accum_max_weight_diff"], m["accum_micro_ms"] / m["accum_big_ms"]
    agree = (
        f"are bit-identical to those trained on one batch of {k * B}"
        if diff == 0.0
        else f"differ from those trained on one batch of {k * B} by at most {diff:.1e} (float rounding)"
    )
    cost = (
        f"and pays for it in time: {ratio:.1f}× the big batch's step"
        if ratio > 1.05
        else "at about the big batch's time per step"
    )
    accumulation = (
        f"After {c.accumulate_steps} steps, the weights trained on {k} accumulated "
        f"micro-batches of {B} "
        f"{agree}: the same updates, where batches of {B} alone end up as much as "
        f"{m['accum_small_weight_diff']:.2f} away. Each accumulated step took "
        f"{m['accum_micro_ms']:.1f} ms, "
        f"against {m['accum_big_ms']:.1f} ms for the one big batch and "
        f"{m['accum_small_ms']:.1f} ms for "
        f"a batch of {B}: accumulation gets a large batch's gradient with a small "
        f"batch's memory, {cost}."
    )
    speedup, loss_gap = m["bf16_speedup"], m["bf16_val"] - m["fp32_val"]
    if speedup > 1.1:
        pays = (
            "bf16 pays on this machine: the same loss, sooner."
            if loss_gap <= max(spread, 0.01)
            else (
                f"bf16 is faster on this machine, but its loss ended {loss_gap:.3f} "
                f"higher: "
                "whether it pays depends on what the extra steps buy."
            )
        )
    elif speedup >= 0.9:
        pays = (
            "bf16 does not pay on this machine: it changes the step time by less than "
            "10%, "
            "too little to be worth its coarser arithmetic."
        )
    else:
        pays = (
            "bf16 does not pay on this machine: a step is slower than in float32, "
            "so float32 is the right choice here."
        )
    bf16 = (
        f"Timed step by step, alternating the two ({c.timed_steps} steps each, the "
        f"median), a step "
        f"under bf16 autocast took {m['bf16_ms']:.2f} ms against {m['fp32_ms']:.2f} ms "
        f"in float32 "
        f"({speedup:.2f}× the speed); after {c.bf16_steps} steps the validation loss "
        f"was "
        f"{m['bf16_val']:.3f} against {m['fp32_val']:.3f}. {pays}"
    )
    same = m["repeat_max_loss_diff"] == 0.0 and m["repeat_max_weight_diff"] == 0.0
    seeds = (
        f"Across {int(m['seeds'])} seeds the base recipe ended at a validation loss of "
        f"{m['seed_mean_val']:.3f} ± {m['seed_std']:.3f} nats/char (mean ± standard "
        f"deviation; "
        f"{spread:.3f} from the best seed to the worst). "
        + (
            "Seed 0 run again, under torch.use_deterministic_algorithms(True), gave "
            "bit-identical losses "
            "at every step and bit-identical weights"
            if same
            else f"Seed 0 run again under torch.use_deterministic_algorithms(True) differed by up to "
            f"{m['repeat_max_loss_diff']:.1e} in the loss"
        )
        + f", and the flag flagged {int(m['deterministic_warnings'])} non-deterministic operations."
    )
    setup = (
        f"The testbed is chapter 8's one-layer LSTM with E = {c.embed_dim} and H = "
        f"{c.hidden} "
        f"({int(m['params']):,} parameters), on random blocks of {c.block} characters, "
        f"{c.batch_size} "
        f"blocks per step, drawn from the first {int(m['train_blocks']) * c.block:,} "
        f"characters of "
        f"the training plays; the validation loss is measured on the first "
        f"{c.valid_chars:,} characters "
        f"of the validation plays. The base recipe is AdamW at a peak rate of "
        f"{c.lr:g}, {c.warmup_steps} "
        f"steps of warm-up and a cosine decay to zero over {c.steps} steps."
    )
    return {
        "setup": setup,
        "schedule": schedule,
        "decay": decay,
        "clipping": clipping,
        "accumulation": accumulation,
        "bf16": bf16,
        "seeds": seeds,
    }


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """Run the experiment at `budget` (`quick` or `full`) with `seed`; `seconds` is
    ignored (runs are sized in steps)."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
