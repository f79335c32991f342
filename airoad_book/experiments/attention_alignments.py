"""Chapter 10's second experiment: what the attention weights look like, and which score
to use.

Bahdanau et al. (2015), <https://arxiv.org/abs/1409.0473>, show the weights α_ij of
their model as pictures (their Figure 3): for English→French they lie near the diagonal,
and where the languages order words differently ("European Economic Area" → "zone
économique européenne") the bright cells leave it. The dates task has a reordering in
every pair: a date written out in one of five languages ("mardi 5 mars 2024") becomes
ISO 8601 ("2 0 2 4 - 0 3 - 0 5"), so the year moves from the end of the source to the
front of the target. This experiment

1. trains the attention model on the dates task, once with each score: Bahdanau's
   additive score and Luong et al.'s (2015, <https://arxiv.org/abs/1508.04025>) dot and
   general scores, with the same sizes, data and number of steps;
2. reports test BLEU and exact match (the share of dates written entirely right) for
each; 3. draws the additive model's weights for a few test dates, and measures how much
weight
   the year's four target digits put on the source's year digits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from airoad_book.data import Pair, TranslationTask, dates_task, make_batch
from airoad_book.device import device, seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.experiments.translation_training import train_translator, translate
from airoad_book.metrics import bleu
from airoad_book.models.attention import SCORES, AttentionConfig, AttentionSeq2Seq
from airoad_book.results import Result, Table
from airoad_book.train import TrainConfig

NAME = "attention-alignments"
CHAPTER = 10
SUMMARY = "Attention on dates in five languages -> ISO: alignment heatmaps, additive vs dot vs general scores"


@dataclass(frozen=True)
class Config:
    """One budget's settings. Sizes are counts of pairs, units or steps as each comment
    says."""

    scores: tuple[str, ...] = (
        SCORES  # the scores compared; the first one's weights are drawn
    )
    n_train: int = 4000  # training pairs
    n_test: int = 200  # test pairs scored
    embed_dim: int = 32  # m
    hidden_dim: int = 64  # size of an annotation h_j and of the decoder state s_i
    align_dim: int = 32  # n' of the additive alignment model
    maxout_dim: int = 32  # l
    batch_size: int = 64  # pairs per step
    lr: float = 1e-2  # Adam's learning rate
    max_steps: int = 80  # optimizer steps per model
    max_seconds: float | None = (
        None  # cap on each model's training wall-clock (s); the CLI's --seconds
    )
    clip_norm: float = 1.0  # global gradient-norm clipping
    heatmaps: int = 4  # test dates whose weights are drawn


CONFIGS = {
    # sized by steps and pairs: 80 steps of 64 pairs per score
    "quick": Config(),
    # longer training, every score
    "full": Config(
        n_train=8000,
        n_test=500,
        max_steps=2000,
        lr=3e-3,
        hidden_dim=128,
        embed_dim=64,
        align_dim=64,
        maxout_dim=64,
    ),
}


def year_positions(source: tuple[str, ...]) -> list[int]:
    """Positions of the source's year: its last four digit tokens (every style ends with
    the year)."""
    digits = [j for j, token in enumerate(source) if token.isdigit()]
    return digits[-4:]


def build_model(task: TranslationTask, config: Config, score: str) -> AttentionSeq2Seq:
    """An attention model sized by `config` with alignment score `score`, for `task`'s
    vocabularies."""
    return AttentionSeq2Seq(
        AttentionConfig(
            len(task.source_vocab),
            len(task.target_vocab),
            embed_dim=config.embed_dim,
            hidden_dim=config.hidden_dim,
            align_dim=config.align_dim,
            maxout_dim=config.maxout_dim,
            score=score,
        )
    )


@torch.no_grad()
def forced_alignments(
    model: AttentionSeq2Seq,
    task: TranslationTask,
    sources: list[tuple[str, ...]],
    outputs: list[tuple[str, ...]],
) -> list[torch.Tensor]:
    """The weights α (len(output) + 1, len(source)) the model used to write each of its
    outputs.

    Feeding the model's own output back (``<bos>`` + output) reproduces its greedy
    decode, so row i is where it looked to write output word i (the last row: where it
    looked to stop).
    """
    pairs = [Pair(s, o) for s, o in zip(sources, outputs)]
    batch = make_batch(pairs, task)
    was_training = model.training
    model.eval()
    with torch.no_grad():  # read-only: no graph for 500 decodes
        alpha = model.alignments(
            batch.src, batch.src_lengths, batch.tgt_in
        )  # (B, T, S)
    model.train(was_training)
    return [
        alpha[b, : len(o) + 1, : len(s)].cpu()
        for b, (s, o) in enumerate(zip(sources, outputs))
    ]


def year_attention(
    alphas: list[torch.Tensor],
    sources: list[tuple[str, ...]],
    outputs: list[tuple[str, ...]],
) -> tuple[float, float]:
    """How the year was read: mean weight the first four output digits put on the
    source's year digits, and the share of those four whose largest weight sits on the
    matching year digit."""
    mass, hits, count = 0.0, 0, 0
    for alpha, source, output in zip(alphas, sources, outputs):
        years = year_positions(source)
        if len(years) < 4 or len(output) < 4:
            continue
        for k in range(4):
            mass += float(alpha[k, years].sum())
            hits += int(int(alpha[k].argmax()) == years[k])
            count += 1
    return mass / max(count, 1), hits / max(count, 1)


def pick_examples(pairs, count: int) -> list[int]:
    """Indices of `count` test dates with different first words and at least six
    tokens."""
    chosen, firsts = [], set()
    for i, pair in enumerate(pairs):
        if len(pair.source) >= 6 and pair.source[0] not in firsts:
            chosen.append(i)
            firsts.add(pair.source[0])
        if len(chosen) == count:
            break
    return chosen


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train one attention model per score on the dates task; score, align and compare
    them."""
    task = dates_task(n_train=config.n_train, n_valid=200, n_test=config.n_test)
    test = task.test
    references = [p.target for p in test]
    cap = min((s for s in (config.max_seconds, seconds) if s is not None), default=None)
    rows, metrics, curves = [], {}, {}
    drawn = {}
    for score in config.scores:
        seed_everything(seed)
        model = build_model(task, config, score).to(device())
        history = train_translator(
            model,
            task,
            TrainConfig(
                max_steps=config.max_steps,
                max_seconds=cap,
                lr=config.lr,
                clip_norm=config.clip_norm,
                eval_every=max(1, config.max_steps // 4),
            ),
            batch_size=config.batch_size,
            seed=seed,
            desc=f"dates, {score} score",
        )
        outputs = translate(model, task, test)
        score_bleu = bleu(outputs, references)
        exact = sum(o == r for o, r in zip(outputs, references)) / len(test)
        sources = [p.source for p in test]
        alphas = forced_alignments(model, task, sources, outputs)
        mass, argmax_hits = year_attention(alphas, sources, outputs)
        metrics |= {
            f"bleu_{score}": score_bleu,
            f"exact_{score}": exact,
            f"params_{score}": model.num_parameters,
            f"valid_loss_{score}": history.eval_loss[-1],
            f"year_mass_{score}": mass,
            f"year_argmax_{score}": argmax_hits,
        }
        rows.append(
            [
                score,
                model.num_parameters,
                history.eval_loss[-1],
                score_bleu,
                100 * exact,
                100 * mass,
            ]
        )
        curves[score] = {"step": history.eval_step, "valid_loss": history.eval_loss}
        if not drawn:
            drawn = {
                "score": score,
                "examples": [
                    {
                        "source": list(test[i].source),
                        "output": list(outputs[i]),
                        "reference": list(test[i].target),
                        "alpha": alphas[i].tolist(),
                    }
                    for i in pick_examples(test, config.heatmaps)
                ],
            }
    metrics |= {
        "train_steps": config.max_steps,
        "test_pairs": len(test),
        "n_train": len(task.train),
    }
    table = Table(
        columns=[
            "score",
            "parameters",
            "valid loss (nats/token)",
            "test BLEU",
            "exact match (%)",
            "year digits' weight on the source year (%)",
        ],
        rows=rows,
        formats=["", ",d", ".3f", ".1f", ".1f", ".0f"],
    )
    return Result(
        metrics=metrics,
        tables={"scores": table},
        series={"alignments": drawn, "curves": curves, "config": asdict(config)},
        text={
            "verdict": verdict(metrics, config),
            "year": year_sentence(metrics, config),
        },
    )


def verdict(m: dict, config: Config) -> str:
    """Which score did best here, from the numbers, and whether the differences are
    large."""
    scores = config.scores
    ranked = sorted(
        scores, key=lambda s: (m[f"exact_{s}"], m[f"bleu_{s}"]), reverse=True
    )
    best, worst = ranked[0], ranked[-1]
    parts = ", ".join(f"{s} {100 * m[f'exact_{s}']:.1f}%" for s in scores)
    gap = 100 * (m[f"exact_{best}"] - m[f"exact_{worst}"])
    closeness = (
        "within a few points of each other: at this size the score matters less than "
        "the attention itself"
        if gap < 5
        else f"{gap:.0f} points apart, with {best} ahead after the same {config.max_steps} steps"
    )
    return f"Dates written exactly right after {config.max_steps} steps: {parts} — {closeness}."


def year_sentence(m: dict, config: Config) -> str:
    """What the drawn model's weights did with the year, from the numbers."""
    score = config.scores[0]
    mass, hits = m[f"year_mass_{score}"], m[f"year_argmax_{score}"]
    return (
        f"Over the {int(m['test_pairs'])} test dates, the {score} model's first four "
        f"output words, the "
        f"year, put {100 * mass:.0f}% of their weight on the four year digits at the "
        f"end of the source, and "
        f"for {100 * hits:.0f}% of them the largest weight sits on exactly the "
        f"matching digit."
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """Run the experiment at `budget` (`quick` or `full`) with `seed`, training each
    model for at most `seconds` (s; None: no cap)."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
