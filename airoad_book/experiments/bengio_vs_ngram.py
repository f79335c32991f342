"""Chapter 6's experiment: does the NPLM beat Kneser–Ney on the Penn Treebank, and does
the mix?

Bengio et al. (2003), <https://www.jmlr.org/papers/v3/bengio03a.html>, claim two things
(section 4, Tables 1 and 2): the neural model reaches a lower test perplexity than the
best smoothed n-gram model, and mixing its probabilities with an n-gram's lowers it
further. This experiment puts both claims to the test on the word-level Penn Treebank
(Mikolov's split, the 10k vocabulary built from the training text):

1. fit an interpolated modified Kneser–Ney n-gram model (`KneserNeyLM`) on train;
2. train the NPLM with the book's one training loop (`airoad_book.train.fit`);
3. score every token of valid and test under both, and mix them token by token,
   p = λ p_NPLM + (1 − λ) p_KN, with λ chosen on valid from a grid that holds 0 and 1 —
   so the mixture can never be worse than the better model on valid;
4. report test perplexity of all three, the learning curves, and what the word vectors
   learned (a 2-D projection, nearest neighbours by cosine similarity).

The quick budget (what the book's build runs) trains for a fixed number of steps, about
a hundredth of an epoch, and scores the first 10,000 validation and test tokens; the full
budget trains for epochs with early stopping and scores every token.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from airoad_book.data import (
    EOS,
    UNK,
    Vocab,
    context_windows,
    penn_treebank,
    random_batches,
)
from airoad_book.device import device, seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.models.bengio import NPLM, NPLMConfig
from airoad_book.models.ngram import KneserNeyLM
from airoad_book.results import Result, Table
from airoad_book.train import TrainConfig, evaluate_loss, fit

NAME = "bengio-vs-ngram"
CHAPTER = 6
SUMMARY = "NPLM vs interpolated Kneser-Ney on the Penn Treebank, and their mixture (Bengio et al. 2003)"

# Words whose 2-D positions the embedding figure labels, by group: if the vectors
# learned
# anything about meaning, each group should gather in one place.
WORD_GROUPS: dict[str, tuple[str, ...]] = {
    "days": ("monday", "tuesday", "wednesday", "thursday", "friday"),
    "months": (
        "january",
        "february",
        "march",
        "april",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ),
    "modal verbs": ("will", "would", "could", "can", "may", "might", "should", "must"),
    "amounts": ("million", "billion", "thousand", "hundred", "trillion"),
    "pronouns": ("he", "she", "they", "we", "i", "it", "you"),
}
EVAL_BATCH = (
    256  # windows scored at once: (256, 10k) logits, 10 MB, measured fastest on 2 cores
)
NEIGHBOUR_WORDS = ("monday", "million", "would", "company", "he", "stock", "buy")


@dataclass(frozen=True)
class Config:
    """One budget's settings. Sizes are in tokens, steps or seconds as each comment
    says."""

    kn_order: int = 5  # n of the Kneser–Ney baseline (5: Mikolov's KN5)
    context: int = 4  # n - 1 of the NPLM: previous words it sees
    embed_dim: int = 30  # m, length of a word vector
    hidden: int = 100  # h, tanh hidden units
    direct: bool = (
        False  # direct connections W x (the paper's best Brown model has none)
    )
    batch_size: int = 256  # examples per step
    optimizer: str = "adam"  # TrainConfig.optimizer: "adam", or "sgd" (the paper's)
    lr: float = 3e-3  # the optimizer's learning rate
    schedule: str = "constant"  # learning-rate schedule of TrainConfig
    weight_decay: float = 0.0  # L2 penalty (the paper's regulariser R)
    max_steps: int = 800  # optimizer steps
    max_seconds: float | None = (
        None  # cap on training wall-clock (s); the CLI's --seconds
    )
    eval_every: int = 100  # steps between points of the validation curve
    patience: int | None = None  # early stopping, in evaluations without improvement
    curve_tokens: int | None = (
        5_000  # valid tokens the curve's evaluations score; None: all
    )
    train_tokens: int | None = (
        None  # use only the first N train tokens; None: all (tests)
    )
    eval_tokens: int | None = (
        None  # score only the first N valid and test tokens; None: all
    )
    vocab_size: int = 10_000  # cap on the vocabulary, built from train
    lambda_grid: int = 101  # λ = 0, 1/(g-1), ..., 1: always includes both pure models
    pca_words: int = 1000  # the frequent words the 2-D projection is fitted on
    plot_words: int = 300  # of which the figure draws this many as unlabelled points
    neighbours: int = 6  # nearest neighbours listed per chosen word
    neighbour_pool: int = (
        2000  # neighbours are searched among this many most frequent words
    )
    curve_points: int = (
        200  # at most this many points of the (binned) training-loss curve
    )


CONFIGS = {
    # the paper's shapes, 200 steps of 64 windows (0.014 epochs): seconds on one core.
    # Far too short for the network to catch up with KN5; the full run is the test.
    "quick": Config(
        batch_size=64,
        max_steps=200,
        eval_every=50,
        curve_tokens=2_000,
        eval_tokens=10_000,
    ),
    # the same shapes trained for up to 10 epochs with early stopping on the whole valid
    # set
    "full": Config(
        batch_size=128,
        lr=1e-3,
        schedule="linear",
        max_steps=10 * 7262,
        eval_every=3631,
        patience=2,
        curve_tokens=None,
    ),
}


# --------------------------------------------------------------------------- data


@dataclass
class Corpus:
    """The Penn Treebank as id tensors: `train` (N_train,), `valid` (N_valid,), `test`
    (N_test,), over `vocab`."""

    vocab: Vocab
    train: torch.Tensor  # (N_train,) ids
    valid: torch.Tensor  # (N_valid,)
    test: torch.Tensor  # (N_test,)


def load_corpus(config: Config) -> Corpus:
    """Penn Treebank ids; the vocabulary comes from train (Mikolov's 10k words)."""
    train = penn_treebank("train")[: config.train_tokens]
    vocab = Vocab.build(train, max_size=config.vocab_size)
    cut = config.eval_tokens
    return Corpus(
        vocab,
        vocab.encode(train),
        vocab.encode(penn_treebank("valid")[:cut]),
        vocab.encode(penn_treebank("test")[:cut]),
    )


# --------------------------------------------------------------------------- scoring


def lm_loss(model: NPLM, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy (nats) of the next word given its context window."""
    X, Y = batch  # (B, n-1), (B,)
    return F.cross_entropy(model(X), Y)


# --8<-- [start:scoring]
def padded_windows(
    ids: torch.Tensor, context: int, pad_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """A (context, next word) pair for *every* token of ``ids``, the first padded.

    The first tokens have fewer than n-1 words before them; we fill the window
    with ``pad_id`` (``<eos>`` for text: a stream starts where a sentence ended),
    so the model scores the same tokens as the n-gram model does.
    """
    pads = torch.full((context,), pad_id, dtype=torch.long)  # (k,)
    padded = torch.cat([pads, ids])  # (N + k,)
    return context_windows(padded, context)  # (N, k), (N,)


@torch.no_grad()
def nplm_log_probs(
    model: NPLM, ids: torch.Tensor, pad_id: int, batch: int = EVAL_BATCH
) -> np.ndarray:
    """ln P_NPLM(w_t | the n-1 words before it) for each token of ``ids``: (N,)."""
    X, Y = padded_windows(ids, model.config.context, pad_id)
    dev = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    for s in range(0, len(Y), batch):
        logits = model(X[s : s + batch].to(dev))  # (b, V)
        nll = F.cross_entropy(logits, Y[s : s + batch].to(dev), reduction="none")
        out.append(-nll.cpu())  # (b,)
    model.train(was_training)
    return torch.cat(out).double().numpy()  # (N,)


# --8<-- [end:scoring]


# --8<-- [start:mixture]
def mix_log_probs(
    log_p_a: np.ndarray,
    log_p_b: np.ndarray,
    lam: float,
) -> np.ndarray:
    """ln(λ p_a + (1 − λ) p_b) per token, in log space; λ = 1 gives p_a, 0 p_b."""
    with np.errstate(divide="ignore"):
        return np.logaddexp(np.log(lam) + log_p_a, np.log1p(-lam) + log_p_b)


def perplexity(log_p: np.ndarray) -> float:
    """exp of the mean negative log-probability per token."""
    return float(np.exp(-np.mean(log_p)))


def choose_lambda(
    log_p_nplm: np.ndarray, log_p_kn: np.ndarray, points: int
) -> tuple[float, np.ndarray]:
    """The grid's λ (0, 1/(points-1), …, 1) of lowest perplexity, and every λ's."""
    grid = np.linspace(0.0, 1.0, points)  # includes exactly 0.0 and 1.0
    mixed = (mix_log_probs(log_p_nplm, log_p_kn, lam) for lam in grid)
    ppl = np.array([perplexity(m) for m in mixed])  # (points,)
    return float(grid[int(np.argmin(ppl))]), ppl


# --8<-- [end:mixture]


# --------------------------------------------------------------------------- embeddings


def pca_2d(vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean and the top two principal directions of the rows of ``vectors``, (m,),
    (m, 2)."""
    mean = vectors.mean(0)  # (m,)
    _, _, Vt = torch.linalg.svd(vectors - mean, full_matrices=False)  # Vt (m, m)
    axes = Vt[:2].T  # (m, 2)
    # an SVD's signs are arbitrary: make each axis's largest entry positive (as sklearn
    # does),
    # so the same vectors always give the same picture
    biggest = axes.abs().argmax(0)  # (2,)
    signs = torch.sign(axes[biggest, torch.arange(2)])  # (2,)
    return mean, axes * signs


def frequent_ids(vocab: Vocab, count: int) -> list[int]:
    """The ids of the `count` most frequent words: a Vocab lists words by count,
    specials first."""
    return [i for i, w in enumerate(vocab.itos) if w not in (UNK, EOS)][:count]


def nearest_neighbours(
    vectors: torch.Tensor, vocab: Vocab, word: str, pool: list[int], k: int
) -> list[str]:
    """The k words of ``pool`` whose vectors have the highest cosine similarity to
    ``word``'s."""
    unit = F.normalize(vectors, dim=1)  # (V, m) every row scaled to length 1
    sims = unit[pool] @ unit[vocab.stoi[word]]  # (P,)
    order = [pool[i] for i in sims.argsort(descending=True).tolist()]
    return vocab.decode([i for i in order if i != vocab.stoi[word]][:k])


def word_vectors(model: NPLM) -> dict[str, torch.Tensor]:
    """Two vectors per word: the input feature vector C(w), and the output vector U_w.

    U_w is row w of U: the logit of w is b_w + U_w · tanh(d + H x) (+ W_w · x), so words
    with similar U rows are predicted in similar contexts.
    """
    return {"C": model.C.detach().cpu(), "U": model.U.detach().cpu()}


def projection(vectors: torch.Tensor, vocab: Vocab, config: Config) -> dict:
    """Frequent words and the chosen groups on the top two principal axes of
    ``vectors``."""
    frequent = frequent_ids(vocab, config.pca_words)
    mean, axes = pca_2d(vectors[frequent])
    xy = (vectors - mean) @ axes  # (V, 2) every word on the same two axes
    plotted = frequent[: config.plot_words]
    groups = {g: [w for w in words if w in vocab] for g, words in WORD_GROUPS.items()}
    return {
        "words": vocab.decode(plotted),
        "x": xy[plotted, 0].tolist(),
        "y": xy[plotted, 1].tolist(),
        "groups": {
            g: {
                "words": ws,
                "x": [float(xy[vocab.stoi[w], 0]) for w in ws],
                "y": [float(xy[vocab.stoi[w], 1]) for w in ws],
            }
            for g, ws in groups.items()
            if ws
        },
    }


def neighbour_table(model: NPLM, vocab: Vocab, config: Config) -> Table:
    """Nearest neighbours of a few words, by input vectors C and by output vectors U."""
    pool = frequent_ids(vocab, config.neighbour_pool)
    vectors = word_vectors(model)
    return Table(
        columns=[
            "word",
            "nearest by C(w), the input vectors",
            "nearest by U_w, the output vectors",
        ],
        rows=[
            [w]
            + [
                ", ".join(
                    nearest_neighbours(vectors[k], vocab, w, pool, config.neighbours)
                )
                for k in ("C", "U")
            ]
            for w in NEIGHBOUR_WORDS
            if w in vocab
        ],
    )


# --------------------------------------------------------------------------- the run


def binned(
    values: list[float], steps: list[int], points: int
) -> tuple[list[int], list[float]]:
    """The training-loss curve averaged over bins, so a long run keeps about ``points``
    points."""
    size = max(1, math.ceil(len(values) / points))
    out_steps, out_values = [], []
    for s in range(0, len(values), size):
        chunk = values[s : s + size]
        out_steps.append(steps[s + len(chunk) - 1])
        out_values.append(float(np.mean(chunk)))
    return out_steps, out_values


def train_nplm(config: Config, corpus: Corpus, seed: int, seconds: float | None):
    """Train the NPLM on the train stream with `fit`; return the model and its
    History."""
    gen = seed_everything(seed)
    dev = device()
    V = len(corpus.vocab)
    model = NPLM(
        NPLMConfig(
            vocab_size=V,
            context=config.context,
            embed_dim=config.embed_dim,
            hidden=config.hidden,
            direct=config.direct,
        )
    ).to(dev)
    X, Y = context_windows(corpus.train, config.context)  # (N, n-1), (N,)
    X, Y = X.to(dev), Y.to(dev)
    cX, cY = padded_windows(
        corpus.valid[: config.curve_tokens], config.context, corpus.vocab.eos_id
    )
    curve_batches = [
        (cX[s : s + EVAL_BATCH].to(dev), cY[s : s + EVAL_BATCH].to(dev))
        for s in range(0, len(cY), EVAL_BATCH)
    ]
    cap = min((s for s in (config.max_seconds, seconds) if s is not None), default=None)
    train_config = TrainConfig(
        max_steps=config.max_steps,
        max_seconds=cap,
        lr=config.lr,
        optimizer=config.optimizer,
        weight_decay=config.weight_decay,
        schedule=config.schedule,
        eval_every=min(config.eval_every, config.max_steps),
        patience=config.patience,
    )
    history = fit(
        model,
        random_batches(X, Y, batch_size=min(config.batch_size, len(Y)), generator=gen),
        lm_loss,
        train_config,
        evaluate=lambda m: evaluate_loss(m, curve_batches, lm_loss),
        desc="NPLM on PTB",
    )
    return model, history


def run_config(config: Config, seed: int = 0, seconds: float | None = None) -> Result:
    """Fit KN, train the NPLM, mix them, and measure all three on valid and test."""
    corpus = load_corpus(config)
    V, eos = len(corpus.vocab), corpus.vocab.eos_id

    kn = KneserNeyLM(config.kn_order, V).fit(corpus.train.numpy())
    kn_lp = {
        s: kn.token_log_probs(getattr(corpus, s).numpy()) for s in ("valid", "test")
    }

    model, history = train_nplm(config, corpus, seed, seconds)
    nplm_lp = {
        s: nplm_log_probs(model, getattr(corpus, s), eos) for s in ("valid", "test")
    }

    lam, lam_curve = choose_lambda(nplm_lp["valid"], kn_lp["valid"], config.lambda_grid)
    mix_lp = {s: mix_log_probs(nplm_lp[s], kn_lp[s], lam) for s in ("valid", "test")}
    ppl = {
        (m, s): perplexity(lp[s])
        for m, lp in (("kn", kn_lp), ("nplm", nplm_lp), ("mix", mix_lp))
        for s in ("valid", "test")
    }

    n_params = model.num_parameters
    kn_ngrams = kn.num_ngrams  # distinct 1..n-grams the model stores
    seen = history.steps_done * min(
        config.batch_size, len(corpus.train) - config.context
    )
    metrics = {
        "kn_ppl": ppl["kn", "test"],
        "nplm_ppl": ppl["nplm", "test"],
        "mix_ppl": ppl["mix", "test"],
        "mix_lambda": lam,
        "kn_valid_ppl": ppl["kn", "valid"],
        "nplm_valid_ppl": ppl["nplm", "valid"],
        "mix_valid_ppl": ppl["mix", "valid"],
        "kn_order": config.kn_order,
        "nplm_params": n_params,
        "kn_ngrams": kn_ngrams,
        "vocab_size": V,
        "train_steps": history.steps_done,
        "epochs": seen / max(1, len(corpus.train) - config.context),
        "valid_tokens": len(corpus.valid),
        "test_tokens": len(corpus.test),
        "mix_gain_percent": 100.0
        * (ppl["kn", "test"] - ppl["mix", "test"])
        / ppl["kn", "test"],
    }
    shapes = f"n={config.context + 1}, m={config.embed_dim}, h={config.hidden}" + (
        ", direct W" if config.direct else ""
    )
    tables = {
        "test": Table(
            columns=["model", "parameters", "valid ppl", "test ppl"],
            rows=[
                [
                    f"Kneser–Ney {config.kn_order}-gram (interpolated, modified)",
                    kn_ngrams,
                    ppl["kn", "valid"],
                    ppl["kn", "test"],
                ],
                [
                    f"NPLM ({shapes})",
                    n_params,
                    ppl["nplm", "valid"],
                    ppl["nplm", "test"],
                ],
                [
                    f"mixture (λ = {lam:.2f} on the NPLM)",
                    n_params + kn_ngrams + 1,
                    ppl["mix", "valid"],
                    ppl["mix", "test"],
                ],
            ],
            formats=["", ",d", ".1f", ".1f"],
        ),
        "neighbours": neighbour_table(model, corpus.vocab, config),
    }
    steps, train_loss = binned(history.train_loss, history.step, config.curve_points)
    curve_kn = -float(np.mean(kn_lp["valid"][: config.curve_tokens]))
    series = {
        "curve": {
            "step": steps,
            "train_loss": train_loss,
            "eval_step": history.eval_step,
            "valid_loss": history.eval_loss,
            "kn_valid_loss": curve_kn,
            "valid_tokens": len(corpus.valid[: config.curve_tokens]),
            "batch_size": config.batch_size,
        },
        "lambda": {
            "lambda": np.linspace(0.0, 1.0, config.lambda_grid).tolist(),
            "valid_ppl": lam_curve.tolist(),
        },
        "embedding": {
            k: projection(v, corpus.vocab, config)
            for k, v in word_vectors(model).items()
        },
        "config": {k: v for k, v in asdict(config).items()},
        # wall-clock differs from run to run, so it is kept out of the metrics
        "timing": {
            "train_seconds": history.seconds,
            "eval_seconds": history.eval_seconds,
            "stop_reason": history.stop_reason,
        },
    }
    return Result(
        metrics=metrics,
        tables=tables,
        series=series,
        text={
            "verdict": verdict(metrics),
            "budget": budget_sentence(metrics, config, history.seconds),
        },
    )


def verdict(m: dict) -> str:
    """Whether the paper's two claims held in this run, in one or two sentences from the
    numbers."""
    kn, nplm, mix, lam = m["kn_ppl"], m["nplm_ppl"], m["mix_ppl"], m["mix_lambda"]
    order = f"KN{int(m['kn_order'])}"
    first = (
        f"The NPLM alone reaches a test perplexity of {nplm:.1f} against {order}'s "
        f"{kn:.1f}: "
        + (
            "it beats the n-gram model, as the paper found."
            if nplm < kn
            else f"it does not beat the n-gram model after {m['epochs']:.2f} epochs of training, so the "
            "paper's first claim did not hold in this run."
        )
    )
    if 0.0 < lam < 1.0 and mix < min(kn, nplm):
        second = (
            f"Mixed with λ = {lam:.2f} (chosen on valid), the two reach {mix:.1f}, "
            f"{100 * (kn - mix) / kn:.1f}% below {order} and below both models: "
            "the paper's second claim held."
        )
    elif lam in (0.0, 1.0):
        second = (
            f"The best mixture on valid puts all its weight on one model (λ = "
            f"{lam:.0f}), "
            "so mixing added nothing: the paper's second claim did not hold here."
        )
    else:
        second = (
            f"Mixed with λ = {lam:.2f} (chosen on valid), the two reach {mix:.1f} on "
            f"test, "
            "not below both models: the paper's second claim did not hold here."
        )
    return f"{first} {second}"


def budget_sentence(m: dict, config: Config, seconds: float) -> str:
    """What the NPLM's training amounted to, for the page: steps, time, share of an
    epoch."""
    return (
        f"The NPLM trained for {int(m['train_steps']):,} steps of {config.batch_size} "
        f"windows "
        f"({m['epochs']:.2f} epochs of the training text) in {seconds:.0f} s, and all "
        f"three models are scored on the same {int(m['valid_tokens']):,} validation "
        f"and {int(m['test_tokens']):,} test tokens."
    )


def run(budget: str, seed: int, seconds: float | None) -> Result:
    """Run the experiment at `budget` (`quick` or `full`) with `seed`, training for at
    most `seconds` of wall-clock (s; None: no cap)."""
    return run_config(config_for(CONFIGS, budget), seed=seed, seconds=seconds)
