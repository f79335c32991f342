"""One training loop for every model in the book.

``fit`` takes a model, any iterable of batches (often endless) and a ``loss_fn(model,
batch)`` that returns the scalar loss. Everything a chapter varies is in
``TrainConfig``: optimizer, learning-rate schedule, gradient clipping, evaluation, early
stopping and the step and time budgets. Because the loss is a closure, stateful models
fit too: an RNN carrying its hidden state across truncated-BPTT windows keeps that state
in its ``loss_fn``.

The time budget ``max_seconds`` counts *training* wall-clock only (fetching batches,
forward, backward, update); the time spent in ``evaluate`` is left out, so two models
given the same budget get the same training time however often, and however expensively,
they are evaluated. ``History.seconds`` is that training time; ``History.eval_seconds``
the time spent evaluating.
"""

from __future__ import annotations

import itertools
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from airoad_book.progress import progress
from airoad_book.session import begin_phase, safe_load

OPTIMIZERS = ("sgd", "adam", "adamw")
AUTOCASTS = ("bf16",)  # TrainConfig.autocast's choices besides None
SCHEDULES = ("constant", "cosine", "linear", "inverse_sqrt")
STOP_REASONS = ("max_steps", "max_seconds", "early_stop", "end_of_data", "diverged")

LossFn = Callable[[nn.Module, Any], Tensor]


# --8<-- [start:config]
@dataclass(frozen=True)
class TrainConfig:
    """How to train: budgets, optimizer, schedule, clipping, evaluation and early
    stopping."""

    max_steps: int = 1000  # optimizer steps
    max_seconds: float | None = (
        None  # cap on training wall-clock (s), eval excluded; None = none
    )
    lr: float = 1e-3  # peak learning rate, reached at the end of warm-up
    optimizer: str = "adam"  # "sgd" | "adam" | "adamw"
    momentum: float = 0.0  # sgd only
    weight_decay: float = 0.0  # L2 penalty for sgd/adam, decoupled decay for adamw
    warmup_steps: int = 0  # steps of linear warm-up from lr / warmup_steps to lr
    schedule: str = (
        "constant"  # "constant" | "cosine" | "linear" | "inverse_sqrt": after warm-up
    )
    min_lr: float = 0.0  # learning rate of the last step under "cosine" and "linear"
    clip_norm: float | None = (
        None  # clip the global gradient L2 norm to this; None = no clipping
    )
    betas: tuple[float, float] = (
        0.9,
        0.999,
    )  # adam/adamw: decay rates of the moment estimates
    accumulate: int = (
        1  # batches per optimizer step; the gradient is that of their mean loss
    )
    autocast: str | None = (
        None  # "bf16": loss_fn runs under bfloat16 autocast; None = fp32
    )
    eval_every: int = 100  # steps between evaluations
    patience: int | None = (
        None  # early stop after this many evaluations without improvement
    )
    restore_best: bool = True  # reload the best-evaluated weights at the end

    # --8<-- [end:config]

    def __post_init__(self) -> None:
        _check_budgets(self)
        _check_optimizer(self)
        _check_schedule(self)
        _check_evaluation(self)
        _check_toolkit(self)


def _positive(value: float | None, name: str, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or not value > 0:
        expected = "a positive number or None" if allow_none else "a positive number"
        raise ValueError(f"TrainConfig.{name} must be {expected}; got {value!r}")


def _whole(
    value: int | None, name: str, *, minimum: int, allow_none: bool = False
) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        expected = f"an integer >= {minimum}" + (" or None" if allow_none else "")
        raise ValueError(f"TrainConfig.{name} must be {expected}; got {value!r}")


def _check_budgets(c: TrainConfig) -> None:
    _whole(c.max_steps, "max_steps", minimum=1)
    _positive(c.max_seconds, "max_seconds", allow_none=True)


def _check_optimizer(c: TrainConfig) -> None:
    if c.optimizer not in OPTIMIZERS:
        raise ValueError(
            f"TrainConfig.optimizer must be one of {OPTIMIZERS}; got {c.optimizer!r}"
        )
    _positive(c.lr, "lr")
    if not 0.0 <= c.momentum < 1.0:
        raise ValueError(f"TrainConfig.momentum must be in [0, 1); got {c.momentum!r}")
    if c.momentum and c.optimizer != "sgd":
        raise ValueError(
            f"TrainConfig.momentum applies to optimizer='sgd' only; got "
            f"momentum={c.momentum!r} "
            f"with optimizer={c.optimizer!r} (Adam's momentum is its betas)"
        )
    if not c.weight_decay >= 0.0:
        raise ValueError(
            f"TrainConfig.weight_decay must be >= 0; got {c.weight_decay!r}"
        )
    _positive(c.clip_norm, "clip_norm", allow_none=True)


def _check_schedule(c: TrainConfig) -> None:
    if c.schedule not in SCHEDULES:
        raise ValueError(
            f"TrainConfig.schedule must be one of {SCHEDULES}; got {c.schedule!r}"
        )
    _whole(c.warmup_steps, "warmup_steps", minimum=0)
    if c.warmup_steps > c.max_steps:
        raise ValueError(
            f"TrainConfig.warmup_steps must be <= max_steps={c.max_steps}; got "
            f"{c.warmup_steps}"
        )
    if not 0.0 <= c.min_lr <= c.lr:
        raise ValueError(
            f"TrainConfig.min_lr must be in [0, lr={c.lr}]; got {c.min_lr!r}"
        )
    if c.min_lr and c.schedule in ("constant", "inverse_sqrt"):
        raise ValueError(
            f"TrainConfig.min_lr applies to the 'cosine' and 'linear' schedules; "
            f"got min_lr={c.min_lr!r} with schedule={c.schedule!r}"
        )
    if c.schedule == "inverse_sqrt" and c.warmup_steps < 1:
        raise ValueError(
            "TrainConfig.schedule='inverse_sqrt' decays as sqrt(warmup_steps / step), "
            "so it "
            f"needs warmup_steps >= 1; got {c.warmup_steps}"
        )


def _check_evaluation(c: TrainConfig) -> None:
    _whole(c.eval_every, "eval_every", minimum=1)
    _whole(c.patience, "patience", minimum=1, allow_none=True)


def _check_toolkit(c: TrainConfig) -> None:
    betas = c.betas
    if (
        not isinstance(betas, tuple)
        or len(betas) != 2
        or not all(
            isinstance(b, (int, float)) and not isinstance(b, bool) for b in betas
        )
        or not all(0.0 <= b < 1.0 for b in betas)
    ):
        raise ValueError(
            f"TrainConfig.betas must be a tuple of two numbers in [0, 1); got {betas!r}"
        )
    if c.optimizer == "sgd" and betas != (0.9, 0.999):
        raise ValueError(
            f"TrainConfig.betas applies to optimizer='adam' or 'adamw' only; got "
            f"betas={betas!r} "
            "with optimizer='sgd' (SGD's momentum is TrainConfig.momentum)"
        )
    _whole(c.accumulate, "accumulate", minimum=1)
    if c.autocast is not None and c.autocast not in AUTOCASTS:
        raise ValueError(
            f"TrainConfig.autocast must be None or one of {AUTOCASTS}; got "
            f"{c.autocast!r}"
        )


# --------------------------------------------------------------------------------------------
# Optimizer and learning-rate schedule


# --8<-- [start:optimizer]
def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer ``config.optimizer`` over the model's trainable parameters.

    "adam" with ``weight_decay`` adds ``weight_decay * w`` to the gradient (an L2
    penalty, which Adam then rescales per coordinate); "adamw" shrinks the weights
    directly, ``w -= lr * weight_decay * w``, outside Adam's rescaling (Loshchilov &
    Hutter, 2019). Weight decay touches only the matrices (tensors of 2 or more
    dimensions: weights and embeddings); biases and normalisation gains are left alone,
    as in GPT-1 and nanoGPT.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(
            f"{type(model).__name__} has no trainable parameters to optimize"
        )
    c = config
    groups = decay_groups(params, c.weight_decay)
    # foreach: one kernel per operation over all the tensors, not one per tensor; the
    # same arithmetic (the weights come out bit for bit as without it), less overhead
    kw = {"lr": c.lr, "weight_decay": c.weight_decay, "foreach": True}
    if c.optimizer == "sgd":
        return torch.optim.SGD(groups, momentum=c.momentum, **kw)
    if c.optimizer == "adam":
        return torch.optim.Adam(groups, betas=c.betas, **kw)
    return torch.optim.AdamW(groups, betas=c.betas, **kw)


def decay_groups(
    params: list[Tensor], weight_decay: float
) -> list[Tensor] | list[dict]:
    """``params`` as one list when nothing decays, else two groups: matrices, the rest.

    The group of vectors and scalars (biases, LayerNorm gains) gets ``weight_decay=0``.
    """
    if weight_decay == 0.0:
        return (
            params  # one group, as before: runs without decay are bit for bit the same
        )
    matrices = [p for p in params if p.dim() >= 2]
    others = [p for p in params if p.dim() < 2]
    groups = [{"params": matrices}] if matrices else []
    return groups + ([{"params": others, "weight_decay": 0.0}] if others else [])


# --8<-- [end:optimizer]


# --8<-- [start:schedule]
def lr_at(step: int, config: TrainConfig) -> float:
    """The learning rate of optimizer step ``step`` (counted from 0).

    Warm-up climbs linearly, ``lr * (step + 1) / warmup_steps``, reaching ``lr`` on its
    last step. Then "constant" holds ``lr``; "linear" and "cosine" decay from ``lr`` to
    ``min_lr``, which the last step, ``max_steps - 1``, uses; "inverse_sqrt" is Vaswani
    et al.'s (2017) schedule, ``lr * sqrt(warmup_steps / (step + 1))``, which never
    ends: it ignores max_steps.
    """
    c = config
    if step < c.warmup_steps:
        return c.lr * (step + 1) / c.warmup_steps
    if c.schedule == "constant":
        return c.lr
    if c.schedule == "inverse_sqrt":
        return c.lr * math.sqrt(c.warmup_steps / (step + 1))
    decay_steps = c.max_steps - 1 - c.warmup_steps
    done = min(1.0, (step - c.warmup_steps) / decay_steps) if decay_steps > 0 else 1.0
    if c.schedule == "linear":
        left = 1.0 - done
    else:
        left = 0.5 * (
            1.0 + math.cos(math.pi * done)
        )  # cosine: 1 -> 0 along half a period
    return c.min_lr + (c.lr - c.min_lr) * left


# --8<-- [end:schedule]


def make_schedule(
    optimizer: torch.optim.Optimizer, config: TrainConfig
) -> torch.optim.lr_scheduler.LambdaLR:
    """A scheduler that sets step ``s``'s learning rate to ``lr_at(s, config)``.

    The optimizer's learning rate must be ``config.lr`` (as ``make_optimizer`` sets it):
    LambdaLR multiplies it by ``lr_at(s) / config.lr``.
    """
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_at(s, config) / config.lr
    )


# --------------------------------------------------------------------------------------------
# History


@dataclass
class History:
    """What a run did. Per-step lists have one entry per step; eval lists one per
    evaluation."""

    step: list[int] = field(default_factory=list)  # 1-based number of each step
    train_loss: list[float] = field(
        default_factory=list
    )  # loss_fn's value at each step
    grad_norm: list[float] = field(
        default_factory=list
    )  # global gradient L2 norm, before clipping
    lr: list[float] = field(default_factory=list)  # learning rate each step used
    eval_step: list[int] = field(default_factory=list)  # steps done at each evaluation
    eval_loss: list[float] = field(default_factory=list)  # what evaluate() returned
    eval_seconds_at: list[float] = field(
        default_factory=list
    )  # training seconds done at each evaluation
    best_eval_loss: float | None = None
    best_step: int | None = None
    seconds: float = 0.0  # training wall-clock (s), evaluation excluded
    eval_seconds: float = 0.0  # wall-clock spent in evaluate() (s)
    steps_done: int = 0
    stop_reason: str = ""  # one of STOP_REASONS once fit returns

    def log_step(self, loss: float, grad_norm: float, lr: float) -> None:
        """Record one optimizer step: its training loss (nats per token), gradient norm
        and learning rate."""
        self.steps_done += 1
        self.step.append(self.steps_done)
        self.train_loss.append(loss)
        self.grad_norm.append(grad_norm)
        self.lr.append(lr)

    def to_dict(self) -> dict:
        """A JSON-able dict; NaN and infinite losses become None (JSON has no such
        numbers)."""
        return _json_floats(asdict(self))

    @classmethod
    def from_dict(cls, data: dict) -> History:
        """The inverse of ``to_dict`` (None in a float list reads back as NaN)."""
        return cls(**_nan_floats(data))


def _json_floats(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_floats(v) for v in value]
    return value


def _nan_floats(data: dict) -> dict:
    float_lists = ("train_loss", "grad_norm", "lr", "eval_loss", "eval_seconds_at")
    return {
        k: [math.nan if x is None else x for x in v] if k in float_lists else v
        for k, v in data.items()
    }


# --------------------------------------------------------------------------------------------
# One step


# --8<-- [start:step]
def train_step(
    model: nn.Module,
    batch: Any,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    config: TrainConfig,
) -> tuple[float, float]:
    """One update: zero the gradients, loss, backward, clip, step, schedule step.

    With ``config.accumulate = k > 1``, ``batch`` is a list of up to k micro-batches (as
    ``group_batches`` makes them): each one's loss, divided by their number, is
    back-propagated in turn, so the gradients add up to that of their mean loss, and one
    update follows. Returns (loss, gradient norm before clipping); the loss is the mean
    over the micro-batches. A loss that is not finite is returned without an update (the
    weights stay finite), and ``fit`` stops with ``stop_reason="diverged"``.
    """
    if config.accumulate > 1 and not isinstance(batch, list):
        raise ValueError(
            f"with TrainConfig.accumulate={config.accumulate}, train_step takes a list "
            f"of "
            f"micro-batches (as group_batches makes them); got {type(batch).__name__}"
        )
    optimizer.zero_grad(set_to_none=True)
    micro_batches = batch if config.accumulate > 1 else [batch]
    total = 0.0
    for micro in micro_batches:
        loss = forward_loss(model, micro, loss_fn, config.autocast)
        _check_scalar(loss)
        if not torch.isfinite(loss):
            return loss.item(), math.nan
        if len(micro_batches) > 1:
            loss = loss / len(
                micro_batches
            )  # sum of k backward passes = grad of the mean
        loss.backward()
        total += loss.item()
    grad_norm = clip_gradients(model, config.clip_norm)
    optimizer.step()
    schedule.step()
    return total, grad_norm


def clip_gradients(model: nn.Module, clip_norm: float | None) -> float:
    """Scale the gradients to a global L2 norm of at most ``clip_norm``; return the norm
    before."""
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    if not grads:
        return 0.0
    if clip_norm is None:
        norms = torch._foreach_norm(grads)  # one L2 norm per tensor, in one call
        return torch.linalg.vector_norm(torch.stack(norms)).item()
    return torch.nn.utils.clip_grad_norm_(
        model.parameters(), clip_norm, foreach=True
    ).item()


# --8<-- [end:step]


# --8<-- [start:autocast]
def forward_loss(
    model: nn.Module, batch: Any, loss_fn: LossFn, autocast: str | None
) -> Tensor:
    """``loss_fn(model, batch)``, under bfloat16 autocast when ``autocast == "bf16"``.

    Autocast runs matrix products (and the other ops torch lists as safe) in bfloat16 on
    the model's device type, keeps reductions such as softmax and the loss in float32,
    and leaves the weights and their gradients in float32: only the forward's arithmetic
    is cheaper.
    """
    if autocast is None:
        return loss_fn(model, batch)
    device_type = next(model.parameters()).device.type
    with torch.autocast(device_type=device_type, dtype=torch.bfloat16):
        return loss_fn(model, batch)


# --8<-- [end:autocast]


# --8<-- [start:accumulate]
def group_batches(batches: Iterable, accumulate: int) -> Iterable:
    """``batches`` unchanged when ``accumulate == 1``; else lists of ``accumulate``
    batches.

    One optimizer step consumes one item of the result. A finite ``batches`` whose
    length is not a multiple of ``accumulate`` ends with a shorter list (its mean loss
    is still a mean).
    """
    if accumulate == 1:
        return batches
    if (
        isinstance(accumulate, bool)
        or not isinstance(accumulate, int)
        or accumulate < 1
    ):
        raise ValueError(
            f"group_batches needs an integer accumulate >= 1; got {accumulate!r}"
        )
    return _groups(iter(batches), accumulate)


def _groups(it: Iterator, k: int) -> Iterator[list]:
    while group := list(itertools.islice(it, k)):
        yield group


# --8<-- [end:accumulate]


def _check_scalar(loss: Any) -> None:
    if not isinstance(loss, Tensor) or loss.ndim != 0:
        got = type(loss).__name__
        if isinstance(loss, Tensor):
            got = f"a tensor of shape {tuple(loss.shape)}"
        raise ValueError(
            f"loss_fn(model, batch) must return a scalar tensor; got {got}"
        )


# --------------------------------------------------------------------------------------------
# Evaluation: the best score, the best weights, patience


class _Evaluator:
    """Runs ``evaluate``, remembers the best score and weights, and counts evaluations
    since."""

    def __init__(
        self,
        model: nn.Module,
        evaluate: Callable[[nn.Module], float] | None,
        on_improve: Callable[[History], None] | None,
    ) -> None:
        self.model = model
        self.evaluate = evaluate
        self.on_improve = on_improve
        self.best_state: dict[str, Tensor] | None = None
        self.since_best = 0  # evaluations since the best one

    def __call__(self, history: History) -> float | None:
        if self.evaluate is None:
            return None
        started = time.perf_counter()
        loss = float(_run_in_eval_mode(self.model, self.evaluate))
        history.eval_step.append(history.steps_done)
        history.eval_seconds_at.append(history.seconds)
        history.eval_loss.append(loss)
        if history.best_eval_loss is None or loss < history.best_eval_loss:
            self._improved(history, loss)
        else:
            self.since_best += 1
        history.eval_seconds += time.perf_counter() - started
        return loss

    def _improved(self, history: History, loss: float) -> None:
        history.best_eval_loss, history.best_step = loss, history.steps_done
        self.best_state = {
            k: v.detach().clone() for k, v in self.model.state_dict().items()
        }
        self.since_best = 0
        if self.on_improve is not None:
            self.on_improve(history)

    def restore_best(self) -> None:
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)


def _run_in_eval_mode(model: nn.Module, fn: Callable[[nn.Module], float]) -> float:
    """``fn(model)`` under ``torch.no_grad()`` and ``model.eval()``, restoring the mode
    after."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return fn(model)
    finally:
        model.train(was_training)


def evaluate_loss(
    model: nn.Module,
    batches: Iterable,
    loss_fn: LossFn,
    weight_fn: Callable[[Any], float] | None = None,
) -> float:
    """The mean of ``loss_fn`` over a finite iterable of batches, weighted by batch
    size.

    ``weight_fn(batch)`` replaces the batch size as the weight: for a language model
    whose loss is a mean over tokens, weight by the number of tokens (``lambda b:
    b[1].numel()``) to get the exact per-token mean over the whole set. Runs under
    ``torch.no_grad()`` and ``model.eval()``, and puts the model back in the mode it was
    in.
    """
    weigh = weight_fn or batch_size

    def mean_loss(m: nn.Module) -> float:
        total, weight = 0.0, 0.0
        for batch in batches:
            w = float(weigh(batch))
            total += loss_fn(m, batch).item() * w
            weight += w
        if weight <= 0:
            raise ValueError(
                f"evaluate_loss needs batches of positive total weight; got {weight}"
            )
        return total / weight

    return _run_in_eval_mode(model, mean_loss)


def batch_size(batch: Any) -> int:
    """The leading dimension of a tensor batch, or of the first tensor in a
    tuple/list/dict."""
    if isinstance(batch, Tensor) and batch.ndim > 0:
        return batch.shape[0]
    if isinstance(batch, dict):
        batch = list(batch.values())
    if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], Tensor):
        return batch_size(batch[0])
    raise ValueError(
        f"cannot tell the size of a batch of type {type(batch).__name__}; expected a "
        f"tensor, "
        "or a tuple/list/dict whose first item is one: pass weight_fn to evaluate_loss"
    )


# --------------------------------------------------------------------------------------------
# Checkpoints


_PLAIN = (str, int, float, bool, type(None), Tensor)


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    *,
    model_name: str,
    config: dict,
    extra: dict | None = None,
) -> Path:
    """Write the model's weights, its name and config to ``path``, atomically.

    The file holds only tensors and plain Python types, so ``load_checkpoint`` can read
    it with ``weights_only=True`` (no pickled code runs on load). It is written to a
    temporary file in the same folder and moved into place with ``os.replace``: a crash
    mid-write leaves the previous checkpoint whole.
    """
    payload = {
        "model_name": model_name,
        "config": _plain(config, "config"),
        "extra": _plain(extra or {}, "extra"),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_torch_save(payload, path)
    return path


def _atomic_torch_save(payload: dict, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _plain(value: Any, where: str) -> Any:
    """``value`` unchanged if it holds only plain types; else a ValueError naming
    where."""
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"checkpoint {where} keys must be strings; got {k!r}")
            _plain(v, f"{where}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _plain(v, f"{where}[{i}]")
    elif not isinstance(value, _PLAIN):
        raise ValueError(
            f"checkpoint {where} must hold only tensors and plain Python types "
            f"(str, int, float, bool, None, list, tuple, dict); got "
            f"{type(value).__name__}"
        )
    return value


def load_checkpoint(path: str | Path, *, model_name: str) -> dict:
    """Read a checkpoint written by ``save_checkpoint`` for a model called
    ``model_name``.

    Returns ``{"model_name", "config", "extra", "state_dict"}``; restore the weights
    with ``model.load_state_dict(ckpt["state_dict"])``. Tensors come back on the CPU.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    ckpt = safe_load(path)  # weights_only=True; ValueError if truncated or unsafe
    if (
        not isinstance(ckpt, dict)
        or "model_name" not in ckpt
        or "state_dict" not in ckpt
    ):
        raise ValueError(
            f"checkpoint {path} is not an airoad_book checkpoint (no model_name or "
            f"state_dict)"
        )
    if ckpt["model_name"] != model_name:
        raise ValueError(
            f"checkpoint {path} holds a {ckpt['model_name']!r} model, expected "
            f"{model_name!r}"
        )
    return ckpt


def _checkpoint_writer(
    model: nn.Module, path: str | Path, meta: dict | None, config: TrainConfig
) -> Callable[[History], None]:
    """A function that saves ``model`` to ``path`` with the run's step and best
    score."""
    meta = dict(meta or {})
    unknown = set(meta) - {"model_name", "config", "extra"}
    if unknown:
        raise ValueError(
            f"checkpoint_meta takes the keys 'model_name', 'config', 'extra'; got "
            f"{sorted(unknown)}"
        )
    name = meta.get("model_name", type(model).__name__)

    def write(history: History) -> None:
        extra = {
            "step": history.steps_done,
            "eval_loss": history.best_eval_loss,
            "train_config": asdict(config),
            **meta.get("extra", {}),
        }
        save_checkpoint(
            path, model, model_name=name, config=meta.get("config", {}), extra=extra
        )

    return write


# --------------------------------------------------------------------------------------------
# The loop


def fit(
    model: nn.Module,
    batches: Iterable,
    loss_fn: LossFn,
    config: TrainConfig,
    *,
    evaluate: Callable[[nn.Module], float] | None = None,
    desc: str = "train",
    checkpoint_path: str | Path | None = None,
    checkpoint_meta: dict | None = None,
    replan: Callable[[History], int | None] | None = None,
) -> History:
    """Train ``model`` on ``batches`` until a budget runs out; return the ``History``.

    ``evaluate(model)`` (a validation loss, lower is better) runs every
    ``config.eval_every`` steps and once at the end, under ``torch.no_grad()`` and
    ``model.eval()``. With ``config.patience`` the run stops early after that many
    evaluations without improvement; with ``config.restore_best`` the best-evaluated
    weights are loaded back at the end.

    With ``checkpoint_path``, the best weights are saved there whenever evaluation
    improves (without ``evaluate``: the final weights, at the end). ``checkpoint_meta``
    may give ``model_name`` (default: the class name), ``config`` (the model's, a plain
    dict) and ``extra``; the step, best loss and this ``TrainConfig`` are added to
    ``extra``.

    With ``config.accumulate = k > 1`` each optimizer step consumes k batches (see
    ``group_batches``); ``max_steps``, ``eval_every`` and ``History.steps_done`` count
    optimizer steps.

    ``replan(history)``, called after every step, may return a new ``max_steps`` (None:
    keep it): the schedule is stretched or squeezed to end there from the next step on,
    warm-up unchanged. A run timed by ``max_seconds`` uses it to fit its step budget to
    the step time it measures (see ``TimedReplan``).

    The run stops with ``History.stop_reason`` set to "max_steps", "max_seconds",
    "early_stop", "end_of_data" (a finite ``batches`` ran out) or "diverged" (a loss
    that is not finite; that step makes no update).

    Inside a run session (`airoad_book.session`, which the CLI opens) this call is one
    phase of the run: it is saved every few minutes and on Ctrl-C (then `RunInterrupted`
    is raised), and a resumed run continues it from its checkpoint, or returns it at
    once if it had finished. With no session (the default) none of this happens.
    """
    if config.patience is not None and evaluate is None:
        raise ValueError(
            "TrainConfig.patience needs an evaluate function; got evaluate=None"
        )
    phase = begin_phase(
        model, loss_fn, config, desc
    )  # a no-op unless a run session is active
    batches = group_batches(batches, config.accumulate)  # one item per optimizer step
    with phase:  # in a run session, Ctrl-C asks for a checkpoint at the end of the step
        if (
            phase.finished
        ):  # done in an earlier session of this run: its end state, at once
            return phase.finished_history(batches, History)
        save = None
        if checkpoint_path is not None:
            save = _checkpoint_writer(model, checkpoint_path, checkpoint_meta, config)
        optimizer = make_optimizer(model, config)
        schedule = make_schedule(optimizer, config)
        evaluator = _Evaluator(
            model, evaluate, on_improve=save if evaluate is not None else None
        )
        history = History(stop_reason="end_of_data")  # unless a budget runs out first
        batches = phase.start(
            batches, optimizer, schedule, evaluator, history
        )  # resume: fast-forward
        model.train()
        started = time.perf_counter() - history.seconds - history.eval_seconds
        with progress(
            config.max_steps,
            desc,
            initial=history.steps_done,
            max_seconds=config.max_seconds,
        ) as bar:
            # --8<-- [start:loop]
            for batch in batches:
                lr = optimizer.param_groups[0]["lr"]
                loss, grad_norm = train_step(
                    model, batch, loss_fn, optimizer, schedule, config
                )
                history.log_step(loss, grad_norm, lr)
                history.seconds = time.perf_counter() - started - history.eval_seconds
                bar.set_postfix(loss=loss)
                bar.update(seconds=history.seconds)
                if history.steps_done % config.eval_every == 0:
                    evaluator(history)
                if replan is not None and (planned := replan(history)) is not None:
                    config = _replanned(config, planned, optimizer, schedule, history)
                reason = _stop_reason(history, config, evaluator.since_best)
                if reason:
                    history.stop_reason = reason
                    break
                started += phase.step_done(
                    history
                )  # a checkpoint every few minutes, and on Ctrl-C
            # --8<-- [end:loop]
        _finish(history, evaluator, config, save)
        phase.finish(history)  # a resumed run returns this phase at once
    return history


def _replanned(
    config: TrainConfig,
    max_steps: int,
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LambdaLR,
    history: History,
) -> TrainConfig:
    """``config`` with a new step budget; the schedule follows it from here on."""
    if isinstance(max_steps, bool) or not isinstance(max_steps, int):
        raise ValueError(
            f"replan must return an int number of steps or None; got {max_steps!r}"
        )
    new = replace(
        config, max_steps=max(max_steps, history.steps_done, config.warmup_steps, 1)
    )
    schedule.lr_lambdas = [lambda s: lr_at(s, new) / new.lr] * len(
        optimizer.param_groups
    )
    for group in optimizer.param_groups:  # the next step's rate, under the new plan
        group["lr"] = lr_at(history.steps_done, new)
    return new


class TimedReplan:
    """A ``replan`` for ``fit`` that re-plans the step budget from the run itself.

    When each share in ``at`` of ``max_seconds`` has passed, it divides the time left by
    the seconds per step since the last re-plan (every cost of the loop included,
    evaluation excluded, as ``max_seconds`` counts them) and returns the steps done plus
    the steps that fit, at most ``cap``. A plan from a few probe steps before the run
    can be off by half on a busy machine; these see hundreds of real steps, and the
    later ones follow the machine's load as it changes. The first comes while the cosine
    has barely begun to fall, and each later one moves the plan by little, so the
    learning rate hardly jumps. ``planned`` holds the latest budget once one is set.
    """

    def __init__(
        self,
        max_seconds: float,
        at: float | tuple[float, ...] = (0.1, 0.4, 0.7),
        cap: int | None = None,
    ) -> None:
        if not max_seconds > 0:
            raise ValueError(f"TimedReplan needs max_seconds > 0; got {max_seconds!r}")
        shares = (at,) if isinstance(at, (int, float)) else tuple(at)
        if not shares or not all(0.0 < a < 1.0 for a in shares):
            raise ValueError(f"TimedReplan's at must be shares in (0, 1); got {at!r}")
        self.max_seconds, self.at, self.cap = max_seconds, sorted(shares), cap
        self.planned: int | None = None
        self._since = (0, 0.0)  # (steps, seconds) at the last re-plan

    def __call__(self, history: History) -> int | None:
        due = [a for a in self.at if history.seconds >= a * self.max_seconds]
        if not due:
            return None
        self.at = [a for a in self.at if a not in due]
        steps, seconds = self._since
        if history.steps_done <= steps:
            return None
        per_step = (history.seconds - seconds) / (history.steps_done - steps)
        self._since = (history.steps_done, history.seconds)
        left = int(max(self.max_seconds - history.seconds, 0.0) / max(per_step, 1e-9))
        self.planned = history.steps_done + max(left, 1)
        if self.cap is not None:
            self.planned = min(self.planned, self.cap)
        return self.planned


def _finish(
    history: History,
    evaluator: _Evaluator,
    config: TrainConfig,
    save: Callable[[History], None] | None,
) -> None:
    """Evaluate the final weights (unless just done); save them if nothing evaluates;
    restore."""
    if evaluator.evaluate is not None and history.eval_step[-1:] != [
        history.steps_done
    ]:
        evaluator(history)
    if evaluator.evaluate is None and save is not None:
        save(history)
    if config.restore_best:
        evaluator.restore_best()


def _stop_reason(history: History, config: TrainConfig, evals_since_best: int) -> str:
    """Why to stop after this step, or "" to go on."""
    if not math.isfinite(history.train_loss[-1]):
        return "diverged"
    if config.patience is not None and evals_since_best >= config.patience:
        return "early_stop"
    if history.steps_done >= config.max_steps:
        return "max_steps"
    if config.max_seconds is not None and history.seconds >= config.max_seconds:
        return "max_seconds"
    return ""
