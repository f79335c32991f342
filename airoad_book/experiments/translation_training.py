"""What the translation chapters (9-11) share: the teacher-forcing loss, training,
decoding, BLEU.

Every translation model of the book follows one protocol — ``forward(src, src_lengths,
tgt_in)`` for training, ``encode``/``init_state``/``step`` for decoding — so one set of
functions trains and scores them all:

- `teacher_forcing_loss` is the `loss_fn` for `airoad_book.train.fit`: the decoder reads
  the reference prefix ``<bos> y_1 .. y_{t-1}`` and is scored on ``y_t``;
- `train_translator` runs `fit` on a `TranslationTask`, evaluating the validation loss;
- `translate` turns source pairs into token tuples, greedily or with beam search;
- `corpus_bleu`, `bleu_by_length` and `bleu_by_buckets` score those against the exact references.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from airoad_book.data.translation import (
    Pair,
    TranslationBatch,
    TranslationTask,
    length_buckets,
    make_batch,
    translation_batches,
)
from airoad_book.decode import greedy_translate
from airoad_book.metrics import bleu
from airoad_book.train import History, TrainConfig, evaluate_loss, fit

__all__ = [
    "teacher_forcing_loss",
    "target_tokens",
    "valid_evaluator",
    "validation_loss",
    "train_translator",
    "translate",
    "corpus_bleu",
    "bleu_by_buckets",
    "bleu_by_length",
]


# --8<-- [start:loss]
def teacher_forcing_loss(
    model: nn.Module, batch: TranslationBatch, label_smoothing: float = 0.0
) -> Tensor:
    """Mean cross-entropy per target token in nats, padding left out (a `loss_fn` for
    `fit`).

    The model reads tgt_in (B, T) — the reference shifted right behind ``<bos>`` — and
    its logits (B, T, V) are scored against tgt_out (B, T), the reference followed by
    ``<eos>``. label_smoothing ε in [0, 1) scores against (1 - ε)·one-hot + ε/V instead
    of the one-hot (Szegedy et al. 2016; the Transformer trains with ε = 0.1). PyTorch
    spreads ε/V over every id, <pad> and <bos> included, though no target is ever
    either; ignore_index drops padded positions, not that share of the mass.
    """
    logits = model(batch.src, batch.src_lengths, batch.tgt_in)  # (B, T, V)
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]),
        batch.tgt_out.reshape(-1),
        ignore_index=0,
        label_smoothing=label_smoothing,
    )


# --8<-- [end:loss]


def target_tokens(batch: TranslationBatch) -> int:
    """The target tokens of a batch that the loss scores: tgt_out's non-padding
    entries."""
    return int((batch.tgt_out != 0).sum())


def valid_evaluator(
    task: TranslationTask, *, reverse_source: bool = False, batch_size: int = 256
) -> Callable[[nn.Module], float]:
    """An `evaluate` for `fit`: teacher-forced cross-entropy in nats per target token on
    task.valid, never smoothed. The validation batches are built once, here."""
    batches = list(
        translation_batches(
            task.valid,
            task,
            batch_size,
            shuffle=False,
            epochs=1,
            reverse_source=reverse_source,
        )
    )
    return lambda model: evaluate_loss(
        model, batches, teacher_forcing_loss, weight_fn=target_tokens
    )


def validation_loss(
    model: nn.Module,
    task: TranslationTask,
    pairs: Sequence[Pair] | None = None,
    *,
    reverse_source: bool = False,
    batch_size: int = 256,
) -> float:
    """Teacher-forced cross-entropy in nats per target token over `pairs` (default:
    task.valid)."""
    pairs = task.valid if pairs is None else pairs
    batches = list(
        translation_batches(
            pairs,
            task,
            batch_size,
            shuffle=False,
            epochs=1,
            reverse_source=reverse_source,
        )
    )
    return evaluate_loss(model, batches, teacher_forcing_loss, weight_fn=target_tokens)


def train_translator(
    model: nn.Module,
    task: TranslationTask,
    train_config: TrainConfig,
    *,
    batch_size: int,
    reverse_source: bool = False,
    seed: int = 0,
    desc: str = "translate",
    label_smoothing: float = 0.0,
    length_pool: int = 0,
    evaluate: Callable[[nn.Module], float] | None = None,
) -> History:
    """Train `model` on task.train with teacher forcing; evaluate the loss on
    task.valid.

    The budget (steps, seconds), optimizer, schedule and clipping come from
    `train_config`; `History.eval_loss` holds the validation losses in nats per target
    token. The training loss smooths its targets by `label_smoothing`; the validation
    loss never does, so it stays comparable between models trained with and without
    smoothing. length_pool > 0 batches pairs of similar length together (see
    `airoad_book.data.translation.translation_batches`). `evaluate` replaces the
    validation loss as what `fit` evaluates and keeps the best weights by (lower is
    better).
    """
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1); got {label_smoothing!r}")
    batches = translation_batches(
        task.train,
        task,
        batch_size,
        reverse_source=reverse_source,
        seed=seed,
        length_pool=length_pool,
    )
    if evaluate is None:
        evaluate = valid_evaluator(task, reverse_source=reverse_source)

    def loss_fn(m: nn.Module, batch: TranslationBatch) -> Tensor:
        return teacher_forcing_loss(m, batch, label_smoothing)

    return fit(model, batches, loss_fn, train_config, evaluate=evaluate, desc=desc)


# --8<-- [start:translate]
@torch.no_grad()
def translate(
    model: nn.Module,
    task: TranslationTask,
    pairs: Sequence[Pair],
    *,
    beam_size: int = 1,
    reverse_source: bool = False,
    max_len: int | None = None,
    batch_size: int = 256,
    **beam_kwargs,
) -> list[tuple[str, ...]]:
    """The model's translation of every source in `pairs`, as target tokens.

    beam_size 1 decodes greedily; larger beams call `airoad_book.decode.beam_search`
    (extra keyword arguments go to it). max_len caps the output; by default it is twice
    the source length plus 10 tokens. The model is put in eval mode and back.
    """
    if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"beam_size must be an int >= 1; got {beam_size!r}")
    was_training = model.training
    model.eval()
    outputs: list[list[int]] = []
    try:
        for start in range(0, len(pairs), batch_size):
            batch = make_batch(
                pairs[start : start + batch_size], task, reverse_source=reverse_source
            )
            limit = max_len or 2 * batch.src.shape[1] + 10
            ids = dict(bos_id=task.bos_id, eos_id=task.eos_id, max_len=limit)
            if beam_size == 1:
                outputs += greedy_translate(model, batch.src, batch.src_lengths, **ids)
            else:
                from airoad_book.decode import beam_search

                outputs += beam_search(
                    model,
                    batch.src,
                    batch.src_lengths,
                    beam_size=beam_size,
                    **ids,
                    **beam_kwargs,
                )
    finally:
        model.train(was_training)
    return [tuple(task.target_vocab.decode(row)) for row in outputs]


# --8<-- [end:translate]


def corpus_bleu(
    model: nn.Module, task: TranslationTask, pairs: Sequence[Pair], **kwargs
) -> float:
    """Corpus BLEU (0-100) of the model's translations of `pairs` against their
    targets."""
    hypotheses = translate(model, task, pairs, **kwargs)
    return bleu(hypotheses, [p.target for p in pairs])


def bleu_by_buckets(
    hypotheses: Sequence[Sequence[str]], pairs: Sequence[Pair], edges: Sequence[int]
) -> list[tuple[str, int, float]]:
    """BLEU of translations already made, per source-length bucket of their `pairs`.

    hypotheses[i] translates pairs[i]; edges are as in
    `airoad_book.data.length_buckets`. Returns (label, pairs in the bucket, BLEU; NaN if
    empty) per bucket.
    """
    if len(hypotheses) != len(pairs):
        raise ValueError(
            f"expected one hypothesis per pair; got {len(hypotheses)} and {len(pairs)} "
            f"pairs"
        )
    rows = []
    for label, indices in length_buckets(pairs, edges):
        if not indices:
            rows.append((label, 0, float("nan")))
            continue
        score = bleu(
            [hypotheses[i] for i in indices], [pairs[i].target for i in indices]
        )
        rows.append((label, len(indices), score))
    return rows


def bleu_by_length(
    model: nn.Module,
    task: TranslationTask,
    pairs: Sequence[Pair],
    edges: Sequence[int],
    **kwargs,
) -> list[tuple[str, int, float]]:
    """Translate `pairs`, then score BLEU per source-length bucket (see
    `bleu_by_buckets`)."""
    return bleu_by_buckets(translate(model, task, pairs, **kwargs), pairs, edges)
