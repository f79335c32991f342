"""Regularising a recurrent language model: Zaremba et al.'s dropout, weight tying and
depth, measured on Penn Treebank.

Wojciech Zaremba, Ilya Sutskever and Oriol Vinyals (2014), *Recurrent Neural Network
Regularization*, <https://arxiv.org/abs/1409.2329>: dropout on the non-recurrent
connections of a stacked LSTM (the word vectors going in, the outputs of each layer
going up, the last layer's outputs going to the softmax), never on the h -> h path. Ofir
Press and Lior Wolf (2017), *Using the Output Embedding to Improve Language Models*,
<https://aclanthology.org/E17-2025/>, and Hakan Inan, Khashayar Khosravi and Richard
Socher (2017), *Tying Word Vectors and Word Classifiers*,
<https://arxiv.org/abs/1611.01462>: one matrix for the input embedding and the output
layer.

The same Zaremba-style training (plain SGD at a learning rate of 1, halved each epoch
after `decay_after`, gradients clipped at 5 on the loss summed over the window) trains
several variants of one LSTM language model on the same slice of the training text:

- ``no_dropout``: `layers` × `hidden`, no dropout (the setup of chapter 8);
- ``dropout``: the same model with Zaremba's dropout at rate `dropout`;
- ``tied``: with dropout, and the embedding tied to the output layer;
- ``one_layer``: with dropout, one layer instead of `layers` (depth in the LM);
- ``tied_no_dropout`` (full budget): tying alone, without dropout.

After every epoch each model is scored, in eval mode (no dropout), on the validation
text and on the first `eval_tokens` of its own training text: the gap between the two
curves is the over-fitting. The slice is small on purpose, so that an unregularised
model over-fits within the budget.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from airoad_book.data import Vocab, batchify, penn_treebank
from airoad_book.device import seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.experiments.recurrent_training import (
    CarriedStateLoss,
    endless_bptt,
    evaluate_streams,
)
from airoad_book.models.lstm import RecurrentLM
from airoad_book.results import Result, Table
from airoad_book.train import TrainConfig, fit

NAME = "rnn-dropout"
CHAPTER = "8a"
SUMMARY = (
    "Zaremba et al.'s dropout, weight tying and depth on a word-level PTB LSTM: "
    "train vs valid perplexity per epoch"
)

# Zaremba et al. (2014), table 1 (PTB word level; valid, test perplexity), and the
# tied rows of Press & Wolf (2017), tables 5 and 6 (train, valid, test).
PUBLISHED = {
    "small": {"valid": 120.7, "test": 114.5},  # 2 × 200, no dropout
    "medium": {"valid": 86.2, "test": 82.7},  # 2 × 650, dropout 0.5
    "large": {"valid": 82.2, "test": 78.4},  # 2 × 1500, dropout 0.65
    "small_tied": {"valid": 117.5, "test": 112.4},  # Press & Wolf, small + WT
    "large_tied": {"valid": 77.7, "test": 74.3},  # Press & Wolf, large + WT
}

# variant -> (label, uses dropout, ties the embedding, one layer instead of `layers`)
VARIANTS = {
    "no_dropout": ("no dropout", False, False, False),
    "dropout": ("dropout", True, False, False),
    "tied": ("dropout + tied embedding", True, True, False),
    "one_layer": ("dropout, one layer", True, False, True),
    "tied_no_dropout": ("tied embedding, no dropout", False, True, False),
}


@dataclass(frozen=True)
class Config:
    """One budget's settings. Training follows Zaremba et al.'s recipe; sizes are
    counts of units, tokens, epochs as each comment says."""

    hidden: int = 200  # units per layer, and the length of a word vector
    layers: int = 2  # LSTM layers of every variant but "one_layer"
    dropout: float = 0.5  # Zaremba's rate on the non-recurrent connections
    variants: tuple[str, ...] = ("no_dropout", "dropout", "tied", "one_layer")
    vocab_size: int | None = None  # keep the N most frequent PTB words; None: all 10k
    bptt: int = 20  # unroll: steps per window
    batch_size: int = 20  # parallel streams
    optimizer: str = "sgd"  # "sgd": Zaremba's (loss summed over the window); "adam"
    lr: float = 1.0  # the learning rate of the first epochs
    decay_after: int = 4  # epochs at the full rate; then halved after every epoch
    decay: float = 0.5
    epochs: int = 8
    clip_norm: float = 5.0  # on the gradient of the loss summed over the window
    init_range: float = 0.1  # weights uniform in [-init_range, init_range]
    train_tokens: int | None = 100_000  # the first N training tokens; None: all
    eval_tokens: int | None = 20_000  # valid/test tokens scored, and train tokens
    max_seconds: float | None = None  # cap on each variant's training wall-clock (s)

    def __post_init__(self) -> None:
        unknown = [v for v in self.variants if v not in VARIANTS]
        if unknown or not {"dropout", "no_dropout"} <= set(self.variants):
            raise ValueError(
                f"variants must include 'dropout' and 'no_dropout' and come from "
                f"{tuple(VARIANTS)}; got {self.variants!r}"
            )
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(
                f"optimizer must be 'sgd' or 'adam'; got {self.optimizer!r}"
            )
        if not 0.0 < self.dropout < 1.0:
            raise ValueError(f"dropout must be in (0, 1); got {self.dropout!r}")


CONFIGS = {
    # a 2 × 64 LSTM over the first 4,000 training tokens, the 1,000 commonest
    # words and five epochs of Adam: without dropout its validation perplexity turns
    # up within the budget (about 5 s of CPU for the four variants, measured on the
    # loaded shared 2-core machine; less on an idle core)
    "quick": Config(
        hidden=64,
        vocab_size=1_000,
        optimizer="adam",
        lr=1e-2,
        epochs=5,
        batch_size=10,
        bptt=10,
        train_tokens=4_000,
        eval_tokens=2_000,
    ),
    # five times the quick budget's words, twice its units and vocabulary, ten
    # epochs: 622 s for the four variants on one thread of the loaded shared machine
    "full": Config(
        hidden=128,
        vocab_size=2_000,
        optimizer="adam",
        lr=5e-3,
        epochs=10,
        batch_size=10,
        bptt=20,
        train_tokens=40_000,
        eval_tokens=5_000,
    ),
}


PTB_TRAIN_TOKENS = 929_589  # Mikolov's training split, <eos> included
MEDIUM = {"hidden": 650, "layers": 2, "epochs": 39}  # Zaremba's medium model


def training_flops(
    hidden: int, layers: int, vocab: int, tokens: int, epochs: int
) -> float:
    """FLOPs to train an LSTM language model: 6 per weight of its matrix products
    (multiply and add, forward and twice backward) per token per epoch. The weights
    are the gates' 4H(D + H) per layer and the output's H·V; the embedding is a
    lookup."""
    gates = sum(4 * hidden * (hidden + hidden) for _ in range(layers))
    return 6.0 * (gates + hidden * vocab) * tokens * epochs


def learning_rate(epoch: int, config: Config) -> float:
    """SGD's learning rate in epoch `epoch` (from 1): lr, then halved after each epoch
    past `decay_after`."""
    return config.lr * config.decay ** max(0, epoch - config.decay_after)


# --8<-- [start:variants]
def build_model(variant: str, vocab_size: int, config: Config) -> RecurrentLM:
    """The LSTM language model of `variant`, weights uniform in ±init_range."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {tuple(VARIANTS)}; got {variant!r}")
    _, drop, tie, one = VARIANTS[variant]
    c = config
    model = RecurrentLM(
        "lstm",
        vocab_size,
        c.hidden,
        c.hidden,
        layers=1 if one else c.layers,
        dropout=c.dropout if drop else 0.0,
        tie=tie,
    )
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-c.init_range, c.init_range)
    return model


# --8<-- [end:variants]


def train_variant(
    variant: str,
    data: dict[str, torch.Tensor],
    vocab_size: int,
    config: Config,
    seed: int,
    seconds: float | None,
) -> dict:
    """Train one variant, scoring it after every epoch; its curves, final numbers and
    size.

    SGD follows Zaremba: one `fit` per epoch at that epoch's learning rate (plain SGD
    keeps no state, so this is exact). Adam runs as one `fit` over all the epochs, at a
    constant rate, scored at every epoch's end.
    """
    c = config
    seed_everything(seed)
    model = build_model(variant, vocab_size, c)
    sgd = c.optimizer == "sgd"
    loss = CarriedStateLoss(sum_over_time=sgd)  # SGD: Zaremba's scale, summed
    steps = math.ceil((data["train"].shape[1] - 1) / c.bptt)
    curve = {"epoch": [], "lr": [], "train_ppl": [], "valid_ppl": []}

    def score(m: RecurrentLM) -> float:  # called by fit, in eval mode, no gradient
        curve["epoch"].append(len(curve["epoch"]) + 1)
        curve["lr"].append(learning_rate(curve["epoch"][-1], c) if sgd else c.lr)
        curve["train_ppl"].append(
            math.exp(evaluate_streams(m, data["train_eval"], c.bptt))
        )
        valid = evaluate_streams(m, data["valid"], c.bptt)
        curve["valid_ppl"].append(math.exp(valid))
        return valid

    def train(epochs: int, lr: float, left: float | None, desc: str) -> float:
        history = fit(
            model,
            endless_bptt(data["train"], c.bptt, loss, epochs=epochs),
            loss,
            TrainConfig(
                max_steps=epochs * steps,
                max_seconds=left,
                lr=lr,
                optimizer=c.optimizer,
                clip_norm=c.clip_norm,
                eval_every=steps,
                restore_best=False,
            ),
            evaluate=score,
            desc=desc,
        )
        return history.seconds

    label, spent = VARIANTS[variant][0], 0.0
    if sgd:
        for epoch in range(1, c.epochs + 1):
            left = None if seconds is None else seconds - spent
            if left is not None and left <= 0:
                break
            lr = learning_rate(epoch, c)
            spent += train(1, lr, left, f"{label}, epoch {epoch}/{c.epochs}")
    else:
        spent = train(c.epochs, c.lr, seconds, f"{label}, {c.epochs} epochs")
    best = min(range(len(curve["epoch"])), key=lambda i: curve["valid_ppl"][i])
    model.eval()
    return {
        "curve": curve,
        "train_ppl": curve["train_ppl"][-1],
        "valid_ppl": curve["valid_ppl"][-1],
        "best_valid_ppl": curve["valid_ppl"][best],
        "best_epoch": curve["epoch"][best],
        "test_ppl": math.exp(evaluate_streams(model, data["test"], c.bptt)),
        "params": model.num_parameters,
        "layers": model.rnn.num_layers,
        "seconds": spent,
    }


def load_data(config: Config) -> tuple[dict[str, torch.Tensor], int]:
    """The (B, L) streams of the training slice, a scoring prefix of it, valid and
    test; and the vocabulary's size."""
    c = config
    words = penn_treebank("train")
    vocab = Vocab.build(words, max_size=c.vocab_size)
    train_ids = vocab.encode(words[: c.train_tokens])
    data = {
        "train": batchify(train_ids, c.batch_size),
        "train_eval": batchify(train_ids[: c.eval_tokens], c.batch_size),
        "valid": batchify(
            vocab.encode(penn_treebank("valid")[: c.eval_tokens]), c.batch_size
        ),
        "test": batchify(
            vocab.encode(penn_treebank("test")[: c.eval_tokens]), c.batch_size
        ),
    }
    return data, len(vocab)


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Train every variant of `config` on the same data; compare their curves."""
    c = config
    data, vocab_size = load_data(c)
    cap = min((s for s in (c.max_seconds, seconds) if s is not None), default=None)
    runs = {v: train_variant(v, data, vocab_size, c, seed, cap) for v in c.variants}
    metrics: dict[str, float] = {}
    for v, r in runs.items():
        for key in ("train_ppl", "valid_ppl", "best_valid_ppl", "test_ppl", "params"):
            metrics[f"{key}_{v}"] = float(r[key])
        metrics[f"best_epoch_{v}"] = float(r["best_epoch"])
        metrics[f"epochs_done_{v}"] = float(len(r["curve"]["epoch"]))
        metrics[f"seconds_{v}"] = float(r["seconds"])
    flops = training_flops(
        c.hidden, c.layers, vocab_size, data["train"].numel(), c.epochs
    )
    rate = flops / max(runs["dropout"]["seconds"], 1e-9)  # FLOP/s of this machine
    medium = training_flops(
        MEDIUM["hidden"], MEDIUM["layers"], 10_000, PTB_TRAIN_TOKENS, MEDIUM["epochs"]
    )
    metrics |= {
        "train_flops_dropout": flops,
        "flops_per_second": rate,
        "medium_train_flops": medium,
        "medium_hours_at_this_rate": medium / rate / 3600,
        "train_tokens": float(data["train"].numel()),
        "eval_tokens": float(data["valid"].numel()),
        "vocab_size": float(vocab_size),
        "hidden": float(c.hidden),
        "dropout": float(c.dropout),
        "epochs": float(c.epochs),
        "paper_medium_test_ppl": PUBLISHED["medium"]["test"],
        "paper_small_test_ppl": PUBLISHED["small"]["test"],
    }
    rows = [
        [
            VARIANTS[v][0],
            f"{r['layers']} × {c.hidden}",
            r["params"],
            r["train_ppl"],
            r["best_valid_ppl"],
            r["best_epoch"],
            r["valid_ppl"],
            r["test_ppl"],
        ]
        for v, r in runs.items()
    ]
    table = Table(
        columns=[
            "variant",
            "layers × units",
            "parameters",
            "train ppl (last)",
            "best valid ppl",
            "at epoch",
            "valid ppl (last)",
            "test ppl (last)",
        ],
        rows=rows,
        formats=["", "", ",d", ".1f", ".1f", "d", ".1f", ".1f"],
    )
    published = Table(
        columns=["model (PTB, full training text)", "parameters", "valid", "test"],
        rows=[
            ["Zaremba et al. 2014, small, no dropout (2 × 200)", "4.65M", 120.7, 114.5],
            ["Press & Wolf 2017, small + tied", "2.65M", 117.5, 112.4],
            ["Zaremba et al. 2014, medium, dropout 0.5 (2 × 650)", "20M", 86.2, 82.7],
            ["Zaremba et al. 2014, large, dropout 0.65 (2 × 1500)", "66M", 82.2, 78.4],
            ["Press & Wolf 2017, large + tied", "51M", 77.7, 74.3],
        ],
        formats=["", "", ".1f", ".1f"],
    )
    return Result(
        metrics=metrics,
        tables={"variants": table, "published": published},
        series={
            "curves": {v: r["curve"] for v, r in runs.items()},
            "config": asdict(c),
        },
        text={
            "dropout": dropout_sentence(metrics),
            "tying": tying_sentence(metrics, c),
            "depth": depth_sentence(metrics, c),
        },
    )


def dropout_sentence(m: dict) -> str:
    """What dropout did here, from the numbers."""
    nd, d = "no_dropout", "dropout"
    gap_nd = m[f"valid_ppl_{nd}"] / m[f"train_ppl_{nd}"]
    gap_d = m[f"valid_ppl_{d}"] / m[f"train_ppl_{d}"]
    rose = m[f"valid_ppl_{nd}"] > m[f"best_valid_ppl_{nd}"] * 1.01
    head = (
        f"Without dropout the model ends at a train perplexity of "
        f"{m[f'train_ppl_{nd}']:.1f} and a validation perplexity of "
        f"{m[f'valid_ppl_{nd}']:.1f} (valid/train {gap_nd:.2f}); "
    )
    head += (
        f"its validation perplexity bottomed at {m[f'best_valid_ppl_{nd}']:.1f} in "
        f"epoch {m[f'best_epoch_{nd}']:.0f} and rose after: it over-fits. "
        if rose
        else "its validation perplexity did not rise within the budget. "
    )
    better = m[f"valid_ppl_{d}"] < m[f"valid_ppl_{nd}"]
    tail = (
        f"With dropout the train perplexity is {m[f'train_ppl_{d}']:.1f} and the "
        f"validation perplexity {m[f'valid_ppl_{d}']:.1f} (valid/train {gap_d:.2f}): "
    )
    tail += (
        f"dropout lowers the final validation perplexity by "
        f"{100 * (1 - m[f'valid_ppl_{d}'] / m[f'valid_ppl_{nd}']):.0f}%."
        if better
        else "here dropout does not lower the final validation perplexity."
    )
    return head + tail


def tying_sentence(m: dict, config: Config) -> str:
    """What tying did here, from the numbers."""
    if "tied" not in config.variants:
        return ""
    saved = m["params_dropout"] - m["params_tied"]
    change = m["valid_ppl_tied"] - m["valid_ppl_dropout"]
    word = "lowers" if change < 0 else "raises"
    return (
        f"Tying the embedding to the output layer removes {saved:,.0f} parameters "
        f"({100 * saved / m['params_dropout']:.0f}% of the model) and {word} the "
        f"final validation perplexity from {m['valid_ppl_dropout']:.1f} to "
        f"{m['valid_ppl_tied']:.1f}."
    )


def depth_sentence(m: dict, config: Config) -> str:
    """What the second layer did here, from the numbers."""
    if "one_layer" not in config.variants:
        return ""
    change = m["valid_ppl_dropout"] - m["valid_ppl_one_layer"]
    word = "better" if change < 0 else "worse"
    return (
        f"With dropout, {config.layers} layers reach a validation perplexity of "
        f"{m['valid_ppl_dropout']:.1f} against one layer's "
        f"{m['valid_ppl_one_layer']:.1f} ({abs(change):.1f} {word}), for "
        f"{m['params_dropout'] - m['params_one_layer']:,.0f} more parameters."
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """The experiment at budget "quick" or "full"; `seconds` caps each variant's
    training."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
