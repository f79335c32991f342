"""Part III's transfer experiment: a ResNet pretrained on five digits, moved to the
other five with a handful of labels.

Yosinski, Clune, Bengio & Lipson (2014), "How transferable are features in deep neural
networks?", <https://arxiv.org/abs/1411.1792>, split ImageNet's 1,000 classes into two
halves A and B, trained a network on A and measured how well its layers serve B. This
experiment makes the same split on the 4,000 real MNIST training digits the book ships
(`airoad_book.data.digits("mnist")`), with no download:

1. source task: digits 0-4, about 2,000 images, with light augmentation (a random small
   rotation and shift per batch); a small ResNet (`airoad_book.models.resnet`) learns
   them;
2. target task: digits 5-9, with only ``n`` labelled images per class drawn from the
   training split; scored on every 5-9 digit of the 1,000 held-out images;
3. four ways to learn the target, each given the same steps, batches and optimizer:
   from scratch (random weights), a linear probe (the pretrained backbone frozen, a new
   linear layer on top), fine-tuning everything from the pretrained weights, and
   gradual unfreezing (Howard & Ruder 2018: the new layer first, then one stage more
   from the top at each phase);
4. accuracy against ``n``, the curve of the chapter's figure.

The held-out digits choose nothing: no step count or setting is picked by them.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from airoad_book.data import digits
from airoad_book.data.corpora import require
from airoad_book.device import seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.models.resnet import ResNet, num_parameters, small_resnet
from airoad_book.results import Result, Table

NAME = "transfer-learning"
CHAPTER = 15
SUMMARY = (
    "ResNet pretrained on digits 0-4, transferred to 5-9 with few labels: scratch, "
    "probe, fine-tune, gradual unfreezing (He et al. 2015; Yosinski et al. 2014)"
)

SOURCE = (0, 1, 2, 3, 4)  # the classes the backbone is pretrained on
TARGET = (5, 6, 7, 8, 9)  # the classes it is transferred to
STRATEGIES = ("scratch", "probe", "finetune", "gradual")
EVAL_BATCH = 500  # test images scored at once
PROJECT_ROOT = Path(__file__).resolve().parents[2]
READS = ("results/transfer-learning-full.json",)  # bytes in the figure cache's key
RECORDED = READS[0]  # the committed full run


@dataclass(frozen=True)
class Config:
    """One budget's settings. Steps, images, pixels and degrees as each comment says."""

    widths: tuple[int, ...] = (8, 16, 32, 64)  # channels of the ResNet's four stages
    blocks: tuple[int, ...] = (1, 1, 1, 1)  # blocks per stage
    stem_stride: int = 2  # 2: the first stage sees a 14 x 14 grid, 1: 28 x 28
    pretrain_steps: int = 100  # optimizer steps on the source digits
    pretrain_batch: int = 32  # source images per step
    pretrain_lr: float = 3e-3  # Adam's learning rate on the source, cosine-decayed
    batch_size: int = 64  # target images per step (fewer when the set is smaller)
    labels: tuple[int, ...] = (2, 10)  # labelled target images per class, a curve
    target_steps: int = 30  # optimizer steps of every target run
    target_lr: float = 2e-3  # Adam's learning rate on the target, cosine-decayed
    head_lr: float = 2e-2  # the new linear layer's learning rate (10x: it starts cold)
    draws: int = 1  # independent draws of the labelled images per budget
    degrees: float = 10.0  # augmentation: largest rotation, degrees
    shift: float = 0.1  # augmentation: largest shift, as a fraction of the 28 pixels


CONFIGS = {
    # what the book's build runs: a tiny ResNet, seconds of training
    "quick": Config(),
    # ResNet-18's 2-2-2-2 blocks at an eighth of its width, longer, more budgets
    "full": Config(
        blocks=(2, 2, 2, 2),
        pretrain_steps=1000,
        labels=(1, 2, 5, 10, 25, 100),
        target_steps=100,
        draws=2,
    ),
}


@dataclass
class Split:
    """Source and target digits as tensors: images (N, 28, 28), labels 0..4 (N,)."""

    x_source: torch.Tensor
    y_source: torch.Tensor
    x_source_test: torch.Tensor
    y_source_test: torch.Tensor
    x_pool: torch.Tensor  # target training images the labels are drawn from
    y_pool: torch.Tensor
    x_test: torch.Tensor  # every held-out target digit
    y_test: torch.Tensor


def split_digits() -> Split:
    """Digits 0-4 as the source task and 5-9 as the target, each relabelled 0..4."""
    d = digits("mnist")

    def part(x: np.ndarray, y: np.ndarray, classes: tuple[int, ...]):
        keep = np.isin(y, classes)
        return torch.from_numpy(x[keep]), torch.from_numpy(y[keep] - classes[0])

    return Split(
        *part(d.x_train, d.y_train, SOURCE),
        *part(d.x_test, d.y_test, SOURCE),
        *part(d.x_train, d.y_train, TARGET),
        *part(d.x_test, d.y_test, TARGET),
    )


def draw_labels(y: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    """Indices of ``per_class`` images of each class of ``y`` (N,), drawn with
    ``seed``. A larger budget with the same seed keeps the smaller one's images."""
    gen = torch.Generator().manual_seed(seed)
    picks = []
    for c in y.unique().tolist():
        where = (y == c).nonzero().flatten()  # (N_c,)
        if per_class > len(where):
            raise ValueError(
                f"asked for {per_class} labels of class {c}, the pool has {len(where)}"
            )
        picks.append(where[torch.randperm(len(where), generator=gen)[:per_class]])
    return torch.cat(picks)  # (per_class * classes,)


def make_augment(config: Config):
    """Images (B, 28, 28) -> images (B, 28, 28): one random small rotation and shift
    per batch (torchvision's v2 transforms draw one set of parameters per call)."""
    require("torchvision", "torchvision", "transfer-learning's augmentation")
    from torchvision.transforms import v2

    affine = v2.RandomAffine(
        degrees=config.degrees, translate=(config.shift, config.shift)
    )
    return lambda x: affine(x.unsqueeze(1)).squeeze(1)  # v2 wants (B, 1, 28, 28)


def build(config: Config, classes: int = len(SOURCE)) -> ResNet:
    """The experiment's ResNet: ``small_resnet`` at the config's widths and stride."""
    c = small_resnet(config.widths, config.blocks, num_classes=classes)
    return ResNet(replace(c, stem_stride=config.stem_stride))


# --8<-- [start:groups]
def layer_groups(model: ResNet) -> list[list[nn.Module]]:
    """The network's parts from the top down: the classifier, then each stage from
    the last to the first, then the stem. Gradual unfreezing thaws them in order."""
    stem = [model.conv1, model.bn1]
    return [[model.fc], *[[s] for s in reversed(model.stages)], stem]


def thaw(model: ResNet, groups: list[list[nn.Module]]) -> None:
    """Train only the modules in ``groups``: the rest get no gradient and keep their
    batch-norm statistics from the source task (eval mode)."""
    model.requires_grad_(False)
    model.eval()
    for group in groups:
        for m in group:
            m.requires_grad_(True)
            m.train()


def trainable_at(strategy: str, step: int, steps: int, model: ResNet) -> list:
    """Which groups train at ``step`` (0-based) of ``steps`` under ``strategy``."""
    groups = layer_groups(model)
    if strategy == "probe":
        return groups[:1]  # the new linear layer only
    if strategy in ("scratch", "finetune"):
        return groups  # everything
    if strategy == "gradual":  # equal phases, one more group thawed in each
        return groups[: 1 + step * len(groups) // steps]
    raise ValueError(
        f"strategy must be one of {', '.join(STRATEGIES)}; got {strategy!r}"
    )
    # --8<-- [end:groups]


# --8<-- [start:transfer]
def start_from(pretrained: ResNet, strategy: str, config: Config) -> ResNet:
    """The target model: random weights for "scratch", else a copy of the pretrained
    backbone; either way a fresh linear layer for the five target classes."""
    model = build(config, classes=len(TARGET))
    if strategy != "scratch":
        backbone = {
            k: v for k, v in pretrained.state_dict().items() if not k.startswith("fc.")
        }
        model.load_state_dict(backbone, strict=False)  # all but the new fc
    return model


def train_target(
    model: ResNet, x: torch.Tensor, y: torch.Tensor, strategy: str, config: Config
) -> ResNet:
    """``config.target_steps`` Adam steps on the labelled images x (N, 28, 28), y
    (N,), thawing layers as ``strategy`` says; cosine-decayed learning rates, the
    new linear layer's ten times the rest's."""
    augment = make_augment(config)
    batch = min(config.batch_size, len(y))
    head = list(model.fc.parameters())
    body = [p for n, p in model.named_parameters() if not n.startswith("fc.")]
    opt = torch.optim.Adam(
        [{"params": body}, {"params": head, "lr": config.head_lr}], lr=config.target_lr
    )
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, config.target_steps)
    order = torch.randperm(len(y))
    for step in range(config.target_steps):
        thaw(model, trainable_at(strategy, step, config.target_steps, model))
        rows = order[(step * batch) % len(y) :][:batch]
        if len(rows) < batch:  # the epoch's end: a new order
            order = torch.randperm(len(y))
            rows = order[:batch]
        loss = F.cross_entropy(model(augment(x[rows])), y[rows])
        opt.zero_grad(set_to_none=True)
        loss.backward()  # frozen parameters get no .grad, so Adam skips them
        opt.step()
        sched.step()
    model.eval()
    return model
    # --8<-- [end:transfer]


def pretrain(split: Split, config: Config, seed: int) -> tuple[ResNet, list[float]]:
    """Train the ResNet on the source digits; return it and its loss every step."""
    seed_everything(seed)
    model = build(config)
    augment = make_augment(config)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=config.pretrain_lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, config.pretrain_steps)
    x, y = split.x_source, split.y_source
    losses = []
    model.train()
    for _ in range(config.pretrain_steps):
        rows = torch.randint(len(y), (config.pretrain_batch,), generator=gen)
        loss = F.cross_entropy(model(augment(x[rows])), y[rows])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
    model.eval()
    return model, losses


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of images (N, 28, 28) whose arg-max logit is the label (N,), in eval
    mode."""
    model.eval()
    pred = torch.cat(
        [model(x[s : s + EVAL_BATCH]).argmax(1) for s in range(0, len(x), EVAL_BATCH)]
    )
    return float((pred == y).float().mean())


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Pretrain on 0-4, then learn 5-9 four ways at each label budget; return the
    accuracies, curves and a verdict."""
    split = split_digits()
    start = time.perf_counter()
    pretrained, losses = pretrain(split, config, seed)
    source_acc = accuracy(pretrained, split.x_source_test, split.y_source_test)
    curve: dict[str, list[float]] = {s: [] for s in STRATEGIES}
    spread: dict[str, list[float]] = {s: [] for s in STRATEGIES}
    for n in config.labels:
        for strategy in STRATEGIES:
            accs = []
            for draw in range(config.draws):
                rows = draw_labels(split.y_pool, n, seed=1000 * seed + draw)
                seed_everything(seed + draw)
                model = start_from(pretrained, strategy, config)
                x, y = split.x_pool[rows], split.y_pool[rows]
                train_target(model, x, y, strategy, config)
                accs.append(accuracy(model, split.x_test, split.y_test))
            curve[strategy].append(float(np.mean(accs)))
            spread[strategy].append(float(np.std(accs)))
        if seconds is not None and time.perf_counter() - start > seconds:
            break  # the budgets measured so far stand
    done = len(curve["scratch"])
    labels = [n * len(TARGET) for n in config.labels[:done]]
    first = {s: curve[s][0] for s in STRATEGIES}
    last = {s: curve[s][-1] for s in STRATEGIES}
    metrics = {
        "target_labels": labels[0],
        **{f"{s}_acc": first[s] for s in STRATEGIES},
        "largest_labels": labels[-1],
        **{f"{s}_acc_largest": last[s] for s in STRATEGIES},
        "source_acc": source_acc,
        "source_images": len(split.y_source),
        "target_pool": len(split.y_pool),
        "target_test": len(split.y_test),
        "parameters": num_parameters(pretrained),
        "pretrain_steps": config.pretrain_steps,
        "target_steps": config.target_steps,
        "draws": config.draws,
    }
    names = {
        "scratch": "from scratch",
        "probe": "linear probe (frozen)",
        "finetune": "fine-tune everything",
        "gradual": "gradual unfreezing",
    }
    table = Table(
        columns=["target labels", *[names[s] for s in STRATEGIES]],
        rows=[[n, *[curve[s][i] for s in STRATEGIES]] for i, n in enumerate(labels)],
        formats=[",d", ".1%", ".1%", ".1%", ".1%"],
    )
    series = {
        "labels": labels,
        "accuracy": curve,
        "spread": spread,
        "pretrain_loss": losses,
        "config": asdict(config),
    }
    return Result(
        metrics=metrics,
        tables={"accuracy": table},
        series=series,
        text={"verdict": verdict(metrics)},
    )


def verdict(m: dict) -> str:
    """What the numbers say about transfer at the smallest and largest budgets."""
    n, big = int(m["target_labels"]), int(m["largest_labels"])
    s, p, f, g = (m[f"{k}_acc"] for k in STRATEGIES)
    best = max(p, f, g)
    head = (
        f"With {n} labelled target digits, training from scratch reaches {s:.1%}, "
        f"the linear probe {p:.1%}, fine-tuning {f:.1%} and gradual unfreezing "
        f"{g:.1%}: "
    )
    if best > s:
        head += (
            f"the pretrained features are worth {best - s:.1%} of accuracy, so "
            "transfer helps where labels are scarce."
        )
    else:
        head += "the pretrained features did not help in this run."
    sl, fl = m["scratch_acc_largest"], m["finetune_acc_largest"]
    if big > n:
        gap_small, gap_big = f - s, fl - sl
        trend = "narrows" if gap_big < gap_small else "does not narrow"
        head += (
            f" At {big} labels scratch reaches {sl:.1%} and fine-tuning {fl:.1%}: "
            f"the gap {trend} as labels grow."
        )
    return head


def recorded_series(path: Path | None = None) -> dict | None:
    """The series and metrics of the committed full run, or None if there is none."""
    path = PROJECT_ROOT / RECORDED if path is None else path
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return {"series": data["series"], "metrics": data["metrics"]}


def probe_sentence(series: dict) -> str:
    """Where the frozen backbone stops keeping up, from a run's curves: the label
    count from which training from scratch stays ahead of the linear probe, and how
    the probe, scratch and fine-tuning end."""
    labels, acc = series["labels"], series["accuracy"]
    probe, scratch, tuned = acc["probe"], acc["scratch"], acc["finetune"]
    ahead = [s > p for p, s in zip(probe, scratch)]
    since = next(
        (i for i in range(len(labels)) if all(ahead[i:])), None
    )  # first budget from which scratch is ahead at every larger one
    if since is None:
        head = (
            "The linear probe stays ahead of training from scratch at the largest "
            "budget"
        )
    elif since == 0:
        head = "Training from scratch beats the linear probe at every budget"
    else:
        head = (
            f"The frozen backbone helps only while labels are scarce: from "
            f"{labels[since]} labels on, training from scratch beats the linear probe"
        )
    end = (
        f"; with {labels[-1]} labels the probe ends at {probe[-1]:.1%}, scratch at "
        f"{scratch[-1]:.1%} and fine-tuning at {tuned[-1]:.1%}."
    )
    if all(t > s for t, s in zip(tuned, scratch)):
        end += " Fine-tuning, which adapts the features, beats scratch at every budget."
    return head + end


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at a named budget ("quick" or "full"). The quick run also
    carries the committed full run (``series["recorded"]``, None before there is
    one), so the figure draws its longer curve beside the build's own."""
    result = run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
    if budget == "quick":
        recorded = recorded_series()
        result.series["recorded"] = recorded
        if recorded is not None:  # the page's sentence on the committed run
            result.text["full_probe"] = probe_sentence(recorded["series"])
    result.text["probe"] = probe_sentence(result.series)
    return result
