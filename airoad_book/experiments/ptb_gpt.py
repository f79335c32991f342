"""Chapter 12's GPT on the word-level Penn Treebank: the GPT row of appendix C's table.

The same decoder-only model as `gpt-shakespeare` (pre-LN blocks, learned positions, tied
embedding), read one *word* at a time over Mikolov's 10,000-word vocabulary, with the
regularisation a corpus of under a million tokens needs: dropout on attention, residual
branches and embeddings, and AdamW's weight decay on the matrices (`make_optimizer`
leaves biases and LayerNorm gains alone). Training draws random blocks of ``context``
words; a linear warm-up and a cosine decay span the planned epochs; the weights of the
best validation evaluation are kept. Test perplexity is read with chapter 12's sliding
windows (`evaluate_windows`): every word but the first half-context is predicted from at
least half a context of words.

No paper reports a GPT on this corpus at this size; the row stands beside Zaremba et
al.'s small LSTM (114.5), the book's own neighbour at a similar parameter count.

    uv run airoad-book run ptb-gpt --budget full --record
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from airoad_book.cost import training_flops_per_token
from airoad_book.data import Vocab, lm_windows, penn_treebank, random_batches
from airoad_book.device import device, seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.experiments.gpt_shakespeare import evaluate_windows, gpt_loss
from airoad_book.models.gpt import GPT, GPTConfig
from airoad_book.results import Result, Table
from airoad_book.train import TrainConfig, fit

NAME = "ptb-gpt"
CHAPTER = 12
SUMMARY = "chapter 12's GPT on word-level Penn Treebank, with dropout and weight decay"


@dataclass(frozen=True)
class Config:
    """One budget's settings: the model's shape, its regularisers and the epochs."""

    context: int = 64  # T, words the model sees
    d_model: int = 128  # C
    num_heads: int = 4  # H
    num_layers: int = 4  # L
    dropout: float = 0.2  # on attention weights, residual branches and embeddings
    batch_size: int = 32  # blocks per step: 32 × 64 = 2,048 words
    lr: float = 1e-3  # AdamW's peak learning rate
    weight_decay: float = 0.1  # AdamW's decoupled decay, on the matrices only
    warmup: float = 0.05  # share of the steps spent warming up
    clip_norm: float = 1.0
    epochs: float = (
        8.0  # passes over the training text, in steps of batch × context words
    )
    evals: int = 8  # validation evaluations along the run (the best weights are kept)
    train_tokens: int | None = None  # the first N training tokens; None: all 929,589
    eval_tokens: int | None = None  # the first N valid and test tokens; None: all


CONFIGS = {
    "quick": Config(
        d_model=32,
        num_layers=1,
        num_heads=2,
        context=32,
        batch_size=16,
        lr=3e-3,
        epochs=1.0,
        evals=2,
        train_tokens=20_000,
        eval_tokens=4_000,
    ),
    "full": Config(),
}


def model_config(vocab_size: int, c: Config) -> GPTConfig:
    """The GPT's shape at ``c``, over a vocabulary of ``vocab_size`` words."""
    return GPTConfig(
        vocab_size=vocab_size,
        context=c.context,
        d_model=c.d_model,
        num_heads=c.num_heads,
        num_layers=c.num_layers,
        dropout=c.dropout,
    )


def steps_for(c: Config, train_tokens: int) -> int:
    """Optimizer steps that make ``c.epochs`` passes over ``train_tokens`` words."""
    return max(2, round(c.epochs * train_tokens / (c.batch_size * c.context)))


def training_flops(
    c: Config, vocab_size: int = 10_000, train_tokens: int = 929_589
) -> float:
    """Kaplan et al.'s count of the run's training FLOPs (`airoad_book.cost`)."""
    steps = steps_for(c, train_tokens)
    return float(
        steps
        * c.batch_size
        * c.context
        * training_flops_per_token(model_config(vocab_size, c))
    )


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train the GPT on PTB's train split; report valid and test perplexity."""
    c = config
    words = penn_treebank("train")
    vocab = Vocab.build(words)  # Mikolov's 10,000 words, from the whole training text
    dev = device()  # the CPU here; a GPU where there is one (AIROAD_DEVICE overrides)
    train = vocab.encode(words[: c.train_tokens]).to(dev)
    valid = vocab.encode(penn_treebank("valid")[: c.eval_tokens]).to(dev)
    test = vocab.encode(penn_treebank("test")[: c.eval_tokens]).to(dev)

    gen = seed_everything(seed)
    gcfg = model_config(len(vocab), c)
    model = GPT(gcfg).to(dev)
    steps = steps_for(c, len(train))
    tc = TrainConfig(
        max_steps=steps,
        max_seconds=seconds,
        lr=c.lr,
        optimizer="adamw",
        weight_decay=c.weight_decay,
        warmup_steps=max(1, round(c.warmup * steps)),
        schedule="cosine",
        min_lr=c.lr / 10,
        clip_norm=c.clip_norm,
        eval_every=max(1, steps // c.evals),
        restore_best=True,
    )
    history = fit(
        model,
        random_batches(
            *lm_windows(train, c.context), batch_size=c.batch_size, generator=gen
        ),
        gpt_loss,
        tc,
        evaluate=lambda m: evaluate_windows(m, valid),
        desc="GPT on PTB",
    )
    model.eval()
    valid_ppl = math.exp(evaluate_windows(model, valid))
    test_ppl = math.exp(evaluate_windows(model, test))
    tokens = history.steps_done * c.batch_size * c.context
    metrics = {
        "valid_ppl": valid_ppl,
        "test_ppl": test_ppl,
        "params": model.num_parameters,
        "steps": history.steps_done,
        "planned_steps": steps,
        "epochs_done": tokens / len(train),
        "train_seconds": history.seconds,
        "train_flops": tokens * training_flops_per_token(gcfg),
        "best_step": history.best_step or 0,
        "train_tokens": len(train),
    }
    metrics = {k: float(v) for k, v in metrics.items()}
    table = Table(
        columns=[
            "run",
            "L × C, heads, T",
            "parameters",
            "epochs",
            "valid ppl",
            "test ppl",
        ],
        rows=[
            [
                f"GPT, dropout {c.dropout}, weight decay {c.weight_decay}",
                f"{c.num_layers} × {c.d_model}, {c.num_heads}, {c.context}",
                model.num_parameters,
                metrics["epochs_done"],
                valid_ppl,
                test_ppl,
            ]
        ],
        formats=["", "", ",d", ".1f", ".1f", ".1f"],
    )
    curve = {
        "eval_step": history.eval_step,
        "valid_ppl": [math.exp(x) for x in history.eval_loss],
    }
    text = (
        f"The GPT reaches a test perplexity of {test_ppl:.1f} (valid {valid_ppl:.1f}) "
        f"after "
        f"{metrics['epochs_done']:.1f} epochs, keeping the weights of step "
        f"{metrics['best_step']:,.0f}."
    )
    return Result(
        metrics=metrics,
        tables={"test": table},
        series={"curve": curve, "config": asdict(c)},
        text={"verdict": text},
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full"; ``seconds`` caps the training."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
