"""The word-vector chapter's experiment: skip-gram and CBOW (Mikolov et al. 2013a/b) on
the Penn Treebank, against gensim's Word2Vec and against the NPLM's vectors.

The corpus is all of the Penn Treebank the book ships (Mikolov's train, valid and test
splits run together: 1,085,779 tokens with an ``<eos>`` after each sentence, a 10,000
word vocabulary); the quick budget reads its first ``Config.tokens`` tokens. Every model
is scored by the same evaluator (`similarity`, `analogies`) on the sets inside the
gensim wheel (`airoad_book.data.word_benchmarks`):

- Spearman's ρ between cosine similarity and the human scores of WordSim-353 and
  SimLex-999, over the pairs whose two words are in the vocabulary;
- accuracy on Mikolov's analogy questions a : b :: c : ?, answered by the word whose
  unit vector is nearest to b̂ − â + ĉ (the three question words excluded), over the
  questions whose four words are all in the vocabulary (the coverage).

gensim's Word2Vec is trained on the same token stream with the same settings (window,
dimension, noise words, subsampling threshold, learning rate and its linear decay,
epochs), on one worker thread, so its scores and its time sit beside ours. The full
budget adds hierarchical softmax and CBOW, a dimension ladder, a data ladder and a
passes ladder, and the input vectors of a chapter-6 NPLM trained on the same text.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr
from torch.nn import functional as F

from airoad_book.data import Vocab, penn_treebank
from airoad_book.data.word_benchmarks import analogy_questions, word_pairs
from airoad_book.device import seed_everything
from airoad_book.experiments.budget import config_for
from airoad_book.models.bengio import NPLM, NPLMConfig
from airoad_book.models.word2vec import CBOW, SkipGram, TrainSettings, train
from airoad_book.results import Result, Table

NAME = "word2vec"
CHAPTER = "7b"
SUMMARY = (
    "skip-gram and CBOW with negative sampling and a hierarchical softmax on the Penn "
    "Treebank, against gensim's Word2Vec and the NPLM's vectors (Mikolov et al. 2013)"
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# the committed full run that the quick build's page and figures draw beside its own
READS = ("results/word2vec-full.json",)

# words whose nearest neighbours the tables list
PROBES = ("monday", "million", "would", "company", "he", "stock", "buy", "japan")
# words the 2-D projection labels, by group
WORD_GROUPS: dict[str, tuple[str, ...]] = {
    "days": ("monday", "tuesday", "wednesday", "thursday", "friday"),
    "months": ("january", "march", "april", "june", "july", "october", "december"),
    "amounts": ("million", "billion", "thousand", "hundred", "trillion"),
    "countries": ("japan", "china", "germany", "france", "britain", "canada"),
    "modal verbs": ("will", "would", "could", "can", "may", "might", "should"),
}


@dataclass(frozen=True)
class Config:
    """One budget. Sizes in tokens, dimensions, epochs or steps, as each comment
    says."""

    tokens: int | None = 200_000  # first tokens of the PTB stream; None: all
    dim: int = 50  # d, the vector length
    window: int = 5  # c
    negative: int = 5  # k, noise words per example
    sample: float = 1e-3  # t, the subsampling threshold
    epochs: int = 1  # passes over the text
    lr: float = 0.025  # skip-gram's starting rate (the C code's and gensim's)
    batch: int = 4096  # examples per SGD step of the book's trainer
    variants: tuple[str, ...] = ()  # more models: "sg-hs", "cbow-ns", "cbow-hs"
    # passes of the variants and of the dimension ladder; None: `epochs`
    side_epochs: int | None = None
    dims: tuple[int, ...] = ()  # the dimension ladder (all the data, `side_epochs`)
    shares: tuple[float, ...] = ()  # the data ladder (at `dim`, `epochs`)
    passes: tuple[int, ...] = ()  # the passes ladder (all the data, at `dim`)
    nplm_steps: int = 0  # Adam steps of the NPLM whose vectors are compared; 0: none
    nplm_dim: int = 50  # m of that NPLM
    # the agreement with gensim the tests hold a run to (absolute differences)
    tol_spearman: float = 0.1
    tol_analogy: float = 0.05


CONFIGS = {
    # ~0.45M skip-gram pairs, one pass, for the build: about 7 s of CPU time in all,
    # 3.5 s of which are imports and reading the corpus
    "quick": Config(tokens=100_000),
    # all of the PTB: five passes with the 2013b paper's small-corpus settings (k = 10
    # noise words, window 5, t = 1e-3, d = 100), beside gensim at the same settings;
    # the variants and the dimension ladder at one pass; the data ladder at five and a
    # passes ladder 1, 2, 5; the NPLM at 3,000 Adam steps. About 12 minutes of one
    # idle core (estimated from short runs); see the provenance for this run's time.
    "full": Config(
        tokens=None,
        dim=100,
        negative=10,
        epochs=5,
        variants=("sg-hs", "cbow-ns"),
        side_epochs=1,
        dims=(25, 50),
        shares=(0.1, 0.3),
        passes=(1, 2),
        nplm_steps=3000,
        nplm_dim=100,
    ),
}


# --------------------------------------------------------------------------- data


@dataclass
class Corpus:
    """The token stream as ids (N,), its vocabulary and every word's count (V,)."""

    vocab: Vocab
    ids: torch.Tensor  # (N,)
    counts: torch.Tensor  # (V,) occurrences in `ids`, at least 1

    @property
    def words(self) -> list[str]:
        """The stream as words (what gensim reads)."""
        return self.vocab.decode(self.ids.tolist())


def ptb_stream(tokens: int | None = None) -> list[str]:
    """All of the Penn Treebank, train + valid + test, cut to the first `tokens`."""
    if tokens is not None and tokens < 2:
        raise ValueError(f"tokens must be >= 2 or None; got {tokens}")
    stream = [t for split in ("train", "valid", "test") for t in penn_treebank(split)]
    return stream[:tokens]


def load_corpus(tokens: int | None) -> Corpus:
    """The PTB stream as ids; the vocabulary holds every word it has (10,000 at
    most)."""
    words = ptb_stream(tokens)
    vocab = Vocab.build(words)
    ids = vocab.encode(words)
    counts = torch.bincount(ids, minlength=len(vocab)).clamp(min=1)
    return Corpus(vocab, ids, counts)


# --------------------------------------------------------------------------- scoring


def similarity(
    vectors: np.ndarray, stoi: dict[str, int], name: str
) -> tuple[float, float]:
    """Spearman's ρ of cosine against human scores on a pair set, and its coverage."""
    pairs = word_pairs(name)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)
    cos, human = [], []
    for a, b, score in pairs:
        if a in stoi and b in stoi:
            cos.append(float(unit[stoi[a]] @ unit[stoi[b]]))
            human.append(score)
    if len(cos) < 3:
        return math.nan, len(cos) / len(pairs)
    return float(spearmanr(cos, human).statistic), len(cos) / len(pairs)


def analogies(
    vectors: np.ndarray, stoi: dict[str, int], batch: int = 1024
) -> tuple[np.ndarray, list[int]]:
    """Answer every covered question; (correct flags (Q,), indices of the questions).

    The answer is argmax_w cos(w, b̂ − â + ĉ) over the vocabulary, a, b, c excluded
    (3CosAdd, gensim's `most_similar(positive=[b, c], negative=[a])`).
    """
    questions = analogy_questions()
    covered = [
        i
        for i, q in enumerate(questions)
        if all(w in stoi for w in (q.a, q.b, q.c, q.d))
    ]
    unit = torch.from_numpy(
        vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)
    ).float()
    abcd = torch.tensor(
        [
            [
                stoi[w]
                for w in (
                    questions[i].a,
                    questions[i].b,
                    questions[i].c,
                    questions[i].d,
                )
            ]
            for i in covered
        ],
        dtype=torch.long,
    ).view(-1, 4)  # (Q, 4)
    correct = []
    for s in range(0, len(covered), batch):
        q = abcd[s : s + batch]  # (b, 4)
        target = unit[q[:, 1]] - unit[q[:, 0]] + unit[q[:, 2]]  # (b, d)
        sims = F.normalize(target, dim=1) @ unit.T  # (b, V)
        sims.scatter_(1, q[:, :3], -math.inf)
        correct.append(sims.argmax(1) == q[:, 3])
    flags = torch.cat(correct).numpy() if correct else np.zeros(0, bool)
    return flags, covered


def score(vectors: np.ndarray, stoi: dict[str, int]) -> dict[str, float]:
    """The four numbers of one set of vectors."""
    flags, covered = analogies(vectors, stoi)
    ws, ws_cov = similarity(vectors, stoi, "wordsim353")
    sl, sl_cov = similarity(vectors, stoi, "simlex999")
    return {
        "spearman_wordsim": ws,
        "spearman_simlex": sl,
        "analogy_acc": float(flags.mean()) if len(flags) else math.nan,
        "analogy_coverage": len(covered) / len(analogy_questions()),
        "wordsim_coverage": ws_cov,
        "simlex_coverage": sl_cov,
    }


# --------------------------------------------------------------------------- training

# The hierarchical softmax trains on smaller batches: every pair's path starts at the
# root of the tree, so a batch sums all its pairs' gradients into the root's vector, where
# the C code moves it one pair at a time. At 4,096 pairs that step blows the vectors up to
# NaN; at 1,024 it trains (tests/test_word2vec.py shows both on a small stream).
TREE_BATCH = 1024
VARIANTS = {  # name -> (class, output layer, starting rate, batch; None: the config's)
    "sg-ns": (SkipGram, "ns", None, None),
    "sg-hs": (SkipGram, "hs", None, TREE_BATCH),
    "cbow-ns": (CBOW, "ns", 0.05, None),  # the C code's CBOW rate
    "cbow-hs": (CBOW, "hs", 0.05, TREE_BATCH),
}
LABELS = {
    "sg-ns": "skip-gram, negative sampling",
    "sg-hs": "skip-gram, hierarchical softmax",
    "cbow-ns": "CBOW, negative sampling",
    "cbow-hs": "CBOW, hierarchical softmax",
}


def settings_for(config: Config, variant: str) -> TrainSettings:
    """The book trainer's settings for one variant."""
    _, _, lr, batch = VARIANTS[variant]
    return TrainSettings(
        window=config.window,
        epochs=config.epochs,
        lr=lr or config.lr,
        sample=config.sample,
        batch=min(batch or config.batch, config.batch),
    )


def train_ours(
    corpus: Corpus, config: Config, variant: str, dim: int, seed: int
) -> tuple[np.ndarray, float, list[float]]:
    """Train the book's model; (vectors (V, d), training seconds, loss per step)."""
    cls, loss, _, _ = VARIANTS[variant]
    torch.manual_seed(seed)
    model = cls(corpus.counts, dim, loss, config.negative)
    start = time.perf_counter()
    losses = train(
        model, corpus.ids, corpus.counts, settings_for(config, variant), seed
    )
    seconds = time.perf_counter() - start
    return model.vectors.numpy().copy(), seconds, losses


def train_gensim(
    corpus: Corpus, config: Config, variant: str, dim: int, seed: int
) -> tuple[np.ndarray, float]:
    """gensim's Word2Vec on the same stream and settings, one worker thread.

    Returns its vectors in the book's vocabulary order (V, d) and its training seconds.
    gensim seeds its starting vectors with Python's string hash, so runs repeat exactly
    only under a fixed PYTHONHASHSEED.
    """
    from gensim.models import Word2Vec

    words = corpus.words
    sentences = [words[i : i + 10_000] for i in range(0, len(words), 10_000)]
    s = settings_for(config, variant)
    start = time.perf_counter()
    model = Word2Vec(
        sentences,
        vector_size=dim,
        window=s.window,
        min_count=1,
        sg=int(variant.startswith("sg")),
        hs=int(variant.endswith("hs")),
        negative=config.negative if variant.endswith("ns") else 0,
        ns_exponent=0.75,
        sample=s.sample,
        alpha=s.lr,
        min_alpha=s.lr * 1e-4,
        cbow_mean=1,
        workers=1,
        epochs=s.epochs,
        seed=seed,
    )
    seconds = time.perf_counter() - start
    kv = model.wv
    out = np.zeros((len(corpus.vocab), dim), dtype=np.float32)
    for i, w in enumerate(corpus.vocab.itos):
        if w in kv.key_to_index:
            out[i] = kv[w]
    return out, seconds


def train_nplm(corpus: Corpus, config: Config, seed: int) -> tuple[np.ndarray, float]:
    """Chapter 6's NPLM (n = 5, h = 100, no direct connections) on the same stream with
    Adam; its input vectors C (V, m) and its training seconds."""
    from airoad_book.data import context_windows

    torch.manual_seed(seed)
    V = len(corpus.vocab)
    model = NPLM(NPLMConfig(V, 4, config.nplm_dim, 100, direct=False))
    X, Y = context_windows(corpus.ids, 4)  # (N, 4), (N,)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    start = time.perf_counter()
    for _ in range(config.nplm_steps):
        rows = torch.randint(0, len(Y), (256,), generator=g)
        loss = F.cross_entropy(model(X[rows]), Y[rows])
        opt.zero_grad()
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - start
    return model.C.detach().numpy().copy(), seconds


# --------------------------------------------------------------------------- tables


def neighbours(
    vectors: np.ndarray, vocab: Vocab, word: str, k: int = 5, pool: int = 5000
) -> list[str]:
    """The k nearest words to `word` by cosine, among the `pool` most frequent."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)
    sims = unit[:pool] @ unit[vocab.stoi[word]]
    order = [i for i in np.argsort(-sims) if i != vocab.stoi[word]]
    return [vocab.itos[i] for i in order[:k]]


def projection(vectors: np.ndarray, vocab: Vocab) -> dict:
    """The chosen groups' words on the top two principal axes of the 1,000 most
    frequent words' vectors."""
    frequent = vectors[2:1002]
    mean = frequent.mean(0)
    _, _, vt = np.linalg.svd(frequent - mean, full_matrices=False)
    axes = vt[:2].T  # (d, 2)
    axes = axes * np.sign(axes[np.abs(axes).argmax(0), [0, 1]])  # fixed signs
    out = {}
    for group, words in WORD_GROUPS.items():
        ws = [w for w in words if w in vocab]
        xy = (vectors[[vocab.stoi[w] for w in ws]] - mean) @ axes  # (n, 2)
        out[group] = {"words": ws, "x": xy[:, 0].tolist(), "y": xy[:, 1].tolist()}
    return out


def analogy_breakdown(vectors: np.ndarray, vocab: Vocab) -> tuple[Table, Table, Table]:
    """Accuracy by section, by the answer's frequency band, and a few answered
    questions (right and wrong) with the model's answer."""
    questions = analogy_questions()
    flags, covered = analogies(vectors, vocab.stoi)
    sections: dict[str, list[bool]] = {}
    for ok, i in zip(flags, covered):
        sections.setdefault(questions[i].section, []).append(bool(ok))
    totals: dict[str, int] = {}
    for q in questions:
        totals[q.section] = totals.get(q.section, 0) + 1
    by_section = Table(
        ["section", "questions", "covered", "accuracy"],
        [[s, totals[s], len(v), float(np.mean(v))] for s, v in sections.items()],
        ["", "d", "d", ".1%"],
    )
    bands = ((0, 1000), (1000, 3000), (3000, len(vocab)))
    band_rows = []
    for lo, hi in bands:
        inside = [
            bool(ok)
            for ok, i in zip(flags, covered)
            if lo <= vocab.stoi[questions[i].d] < hi
        ]
        band_rows.append(
            [
                f"ranks {lo + 1:,}–{hi:,}",
                len(inside),
                float(np.mean(inside)) if inside else math.nan,
            ]
        )
    by_band = Table(
        ["answer's frequency rank", "questions", "accuracy"],
        band_rows,
        ["", "d", ".1%"],
    )
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)
    shown, seen = [], set()
    for ok, i in zip(flags, covered):
        q = questions[i]
        if (q.section, bool(ok)) in seen or len(shown) >= 10:
            continue  # one right and one wrong answer per section
        seen.add((q.section, bool(ok)))
        ids = [vocab.stoi[w] for w in (q.a, q.b, q.c)]
        sims = unit @ (unit[ids[1]] - unit[ids[0]] + unit[ids[2]])  # (V,)
        sims[ids] = -np.inf
        answer = vocab.itos[int(np.argmax(sims))]
        shown.append(
            [f"{q.a} : {q.b} :: {q.c} : ?", q.d, answer, "yes" if ok else "no"]
        )
    examples = Table(["question", "expected", "answer", "right"], shown)
    return by_section, by_band, examples


# --------------------------------------------------------------------------- run


def recorded_run() -> dict | None:
    """The committed full run (``READS``) as its JSON dict, or None before there is
    one."""
    path = PROJECT_ROOT / READS[0]
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def rises(values: list[float]) -> str:
    """'rises at every step', 'rises overall, not at every step', or 'does not rise'."""
    if all(b > a for a, b in zip(values, values[1:])):
        return "rises at every step"
    if values[-1] > values[0]:
        return "rises overall, though not at every step"
    return "does not rise"


def _arrow(values: list[float], fmt: str) -> str:
    return " → ".join(format(v, fmt) for v in values)


def ladder_text(ladder: dict) -> str:
    """Sentences on the ladders, written from their numbers."""
    if not ladder.get("dim") or not ladder.get("share"):
        return "This run has no ladder."
    dims = [r["dim"] for r in ladder["dim"]]
    by_dim = [r["analogy_acc"] for r in ladder["dim"]]
    toks = [r["tokens"] for r in ladder["share"]]
    by_data = [r["analogy_acc"] for r in ladder["share"]]
    passes = ladder["dim"][0].get("epochs")
    at = f", {passes} pass{'es' if passes != 1 else ''} each" if passes else ""
    text = (
        f"Along the dimension ladder (d = {', '.join(map(str, dims))}{at}) analogy "
        f"accuracy {rises(by_dim)} ({_arrow(by_dim, '.2%')}); "
        f"along the data ladder ({_arrow(toks, ',')} tokens) it "
        f"{rises(by_data)} ({_arrow(by_data, '.2%')})."
    )
    if ladder.get("passes"):
        eps = [r["epochs"] for r in ladder["passes"]]
        by_ep = [r["analogy_acc"] for r in ladder["passes"]]
        ws = [r["spearman_wordsim"] for r in ladder["passes"]]
        text += (
            f" Along the passes ladder ({_arrow(eps, 'd')} passes over all the text) "
            f"it {rises(by_ep)} ({_arrow(by_ep, '.2%')}), and WordSim-353 ρ "
            f"{rises(ws)} ({_arrow(ws, '.3f')})."
        )
    return text


def sections_text(rows: list[list]) -> str:
    """A sentence on which analogy sections the vectors answer, from the `sections`
    table's rows [section, questions, covered, accuracy]."""
    hit = sorted((r for r in rows if r[3] > 0), key=lambda r: -r[3])
    missed = [r[0] for r in rows if r[3] == 0]
    if not hit:
        return "No section of the covered questions gets a single answer right."
    text = "The sections answered best are " + ", ".join(
        f"{r[0]} ({r[3]:.1%} of {r[2]:,})" for r in hit[:4]
    )
    if missed:
        one = len(missed) == 1
        text += (
            f"; {len(missed)} section{'' if one else 's'} get{'s' if one else ''} "
            f"nothing right ({', '.join(missed)})"
        )
    return text + "."


def variants_text(models: list[list], ladder: dict) -> str:
    """A sentence setting the variants beside negative-sampling skip-gram at the same
    number of passes, from the `models` table's rows [model, d, passes, seconds, ws,
    sl, analogies] and the passes ladder."""
    rungs = {r["epochs"]: r for r in ladder.get("passes") or []}
    if not rungs or len(models[0]) != 7:
        return "This run has no passes ladder to set the variants beside."
    main = models[0]
    per_pass = main[3] / main[2]  # the book's negative sampling, seconds per pass
    parts = []
    for row in models[2:]:
        if not row[0].startswith("book: ") or row[2] not in rungs:
            continue
        ns = rungs[row[2]]
        if any(math.isnan(x) for x in row[4:6]):
            parts.append(
                f"{row[0][6:]} diverged: its vectors are not finite, so it scores "
                f"nothing (negative-sampling skip-gram: ρ {ns['spearman_wordsim']:.3f} "
                f"on WordSim-353, {ns['analogy_acc']:.2%} of the analogies)"
            )
            continue
        parts.append(
            f"{row[0][6:]} reaches WordSim-353 ρ {row[4]:.3f}, SimLex-999 ρ "
            f"{row[5]:.3f} and {row[6]:.2%} of the analogies (negative-sampling "
            f"skip-gram: {ns['spearman_wordsim']:.3f}, {ns['spearman_simlex']:.3f}, "
            f"{ns['analogy_acc']:.2%}) in {row[3] / row[2] / per_pass:.1f} times "
            f"its time per pass"
        )
    if not parts:
        return "This run trains no other variant."
    passes = next(r[2] for r in models[2:] if r[0].startswith("book: "))
    return (
        f"At {passes} pass{'es' if passes != 1 else ''} over the text, "
        + "; ".join(parts)
        + "."
    )


def _and(names: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def nplm_text(m: dict) -> str:
    """A sentence comparing the NPLM's vectors with skip-gram's, from the metrics."""
    if "nplm_analogy_acc" not in m:
        return "This run trains no NPLM."
    better = [
        name
        for name, key in (
            ("WordSim-353", "spearman_wordsim"),
            ("SimLex-999", "spearman_simlex"),
            ("the analogies", "analogy_acc"),
        )
        if m[key] > m[f"nplm_{key}"]
    ]
    worse = {"WordSim-353", "SimLex-999", "the analogies"} - set(better)
    ratio = m["nplm_seconds"] / m["seconds_ours"]
    head = (
        f"Skip-gram's vectors score higher than the NPLM's on {_and(better)}"
        if better
        else "Skip-gram's vectors score higher than the NPLM's on none of the sets"
    )
    tail = f", and lower on {_and(sorted(worse))}" if worse and better else ""
    return (
        f"{head}{tail}; the NPLM took {ratio:.1f} times as long to train as the "
        f"book's skip-gram (which is itself "
        f"{m['speed_ratio_vs_gensim']:.0f} times slower than gensim's)."
    )


def run(budget: str = "quick", seed: int = 0, seconds: float | None = None) -> Result:
    """Train, score and compare; see the module docstring. `seconds` is not used: the
    budgets are counted in tokens and epochs. The quick run carries the committed full
    run's series too (``series["recorded"]``), for the figures."""
    config = config_for(CONFIGS, budget)
    recorded = recorded_run() if budget == "quick" else None
    seed_everything(seed)
    corpus = load_corpus(config.tokens)
    stoi = corpus.vocab.stoi
    ours, ours_s, losses = train_ours(corpus, config, "sg-ns", config.dim, seed)
    ref, ref_s = train_gensim(corpus, config, "sg-ns", config.dim, seed)
    mine, theirs = score(ours, stoi), score(ref, stoi)
    metrics = dict(mine)
    metrics.update(
        gensim_spearman_wordsim=theirs["spearman_wordsim"],
        gensim_spearman_simlex=theirs["spearman_simlex"],
        gensim_analogy_acc=theirs["analogy_acc"],
        seconds_ours=ours_s,
        seconds_gensim=ref_s,
        speed_ratio_vs_gensim=ours_s / ref_s,  # how many times longer ours takes
        tokens=float(corpus.ids.numel()),
        vocab=float(len(corpus.vocab)),
        tol_spearman=config.tol_spearman,
        tol_analogy=config.tol_analogy,
    )
    rows = [
        [
            "book: " + LABELS["sg-ns"],
            config.dim,
            config.epochs,
            ours_s,
            mine["spearman_wordsim"],
            mine["spearman_simlex"],
            mine["analogy_acc"],
        ],
        [
            "gensim: " + LABELS["sg-ns"],
            config.dim,
            config.epochs,
            ref_s,
            theirs["spearman_wordsim"],
            theirs["spearman_simlex"],
            theirs["analogy_acc"],
        ],
    ]
    vectors = {"book skip-gram": ours, "gensim skip-gram": ref}
    vconfig = replace(config, epochs=config.side_epochs or config.epochs)
    for variant in config.variants:
        vec, sec, _ = train_ours(corpus, vconfig, variant, config.dim, seed)
        sc = score(vec, stoi)
        rows.append(
            [
                "book: " + LABELS[variant],
                config.dim,
                vconfig.epochs,
                sec,
                sc["spearman_wordsim"],
                sc["spearman_simlex"],
                sc["analogy_acc"],
            ]
        )
        for key in ("spearman_wordsim", "spearman_simlex", "analogy_acc"):
            metrics[f"{variant.replace('-', '_')}_{key}"] = sc[key]
        metrics[f"{variant.replace('-', '_')}_seconds"] = sec
    if config.nplm_steps:
        vec, sec = train_nplm(corpus, config, seed)
        sc = score(vec, stoi)
        rows.append(
            [
                f"NPLM (chapter 6), {config.nplm_steps:,} Adam steps",
                config.nplm_dim,
                round(config.nplm_steps * 256 / corpus.ids.numel(), 2),
                sec,
                sc["spearman_wordsim"],
                sc["spearman_simlex"],
                sc["analogy_acc"],
            ]
        )
        metrics.update(
            nplm_spearman_wordsim=sc["spearman_wordsim"],
            nplm_spearman_simlex=sc["spearman_simlex"],
            nplm_analogy_acc=sc["analogy_acc"],
            nplm_seconds=sec,
        )
        vectors["NPLM"] = vec
    tables = {
        "models": Table(
            [
                "model",
                "d",
                "passes",
                "training (s)",
                "WordSim-353 ρ",
                "SimLex-999 ρ",
                "analogies",
            ],
            rows,
            ["", "d", "g", ".1f", ".3f", ".3f", ".1%"],
        ),
        "neighbours": Table(
            ["word", *vectors],
            [
                [
                    w,
                    *(
                        ", ".join(neighbours(v, corpus.vocab, w))
                        for v in vectors.values()
                    ),
                ]
                for w in PROBES
                if w in stoi
            ],
        ),
    }
    by_section, by_band, examples = analogy_breakdown(ours, corpus.vocab)
    tables.update(sections=by_section, frequency=by_band, examples=examples)
    ladder = {"dim": [], "share": [], "passes": []}
    done = {(config.dim, config.epochs): mine}  # sg-ns scores by (d, passes)

    def sg_ns(dim: int, epochs: int) -> dict[str, float]:
        """Skip-gram's scores on all the text at (d, passes), each trained once."""
        if (dim, epochs) not in done:
            conf = replace(config, epochs=epochs)
            done[dim, epochs] = score(
                train_ours(corpus, conf, "sg-ns", dim, seed)[0], stoi
            )
        return done[dim, epochs]

    for epochs in sorted({*config.passes, config.epochs}) if config.passes else ():
        sc = sg_ns(config.dim, epochs)
        ladder["passes"].append({"epochs": epochs, "tokens": corpus.ids.numel(), **sc})
    for dim in sorted({*config.dims, config.dim}) if config.dims else ():
        sc = sg_ns(dim, vconfig.epochs)
        ladder["dim"].append(
            {"dim": dim, "epochs": vconfig.epochs, "tokens": corpus.ids.numel(), **sc}
        )
    for share in sorted({*config.shares, 1.0}) if config.shares else ():
        if share == 1.0:
            sc = mine
            n = corpus.ids.numel()
        else:
            part = Corpus(
                corpus.vocab,
                corpus.ids[: int(share * corpus.ids.numel())],
                corpus.counts,
            )
            part.counts = torch.bincount(part.ids, minlength=len(corpus.vocab)).clamp(
                min=1
            )
            sc = score(train_ours(part, config, "sg-ns", config.dim, seed)[0], stoi)
            n = part.ids.numel()
        ladder["share"].append({"share": share, "tokens": n, **sc})
    if ladder["dim"] or ladder["passes"]:
        tables["ladder"] = Table(
            [
                "ladder",
                "tokens",
                "d",
                "passes",
                "WordSim-353 ρ",
                "SimLex-999 ρ",
                "analogies",
            ],
            [
                [
                    "dimension",
                    r["tokens"],
                    r["dim"],
                    r["epochs"],
                    r["spearman_wordsim"],
                    r["spearman_simlex"],
                    r["analogy_acc"],
                ]
                for r in ladder["dim"]
            ]
            + [
                [
                    "data",
                    r["tokens"],
                    config.dim,
                    config.epochs,
                    r["spearman_wordsim"],
                    r["spearman_simlex"],
                    r["analogy_acc"],
                ]
                for r in ladder["share"]
            ]
            + [
                [
                    "passes",
                    r["tokens"],
                    config.dim,
                    r["epochs"],
                    r["spearman_wordsim"],
                    r["spearman_simlex"],
                    r["analogy_acc"],
                ]
                for r in ladder["passes"]
            ],
            ["", ",d", "d", "d", ".3f", ".3f", ".1%"],
        )
    agree = (
        abs(mine["spearman_wordsim"] - theirs["spearman_wordsim"])
        <= config.tol_spearman
        and abs(mine["analogy_acc"] - theirs["analogy_acc"]) <= config.tol_analogy
    )
    metrics["agrees_with_gensim"] = float(agree)
    step = max(1, len(losses) // 200)
    return Result(
        metrics=metrics,
        tables=tables,
        series={
            "loss": [
                float(np.mean(losses[i : i + step]))
                for i in range(0, len(losses), step)
            ],
            "loss_step": step,
            "projection": projection(ours, corpus.vocab),
            "projection_nplm": projection(vectors["NPLM"], corpus.vocab)
            if "NPLM" in vectors
            else {},
            "ladder": ladder,
            "recorded": recorded["series"] if recorded else None,
        },
        text={
            "ladder": ladder_text(recorded["series"]["ladder"] if recorded else ladder),
            "nplm": nplm_text(recorded["metrics"] if recorded else metrics),
            "sections": sections_text(
                recorded["tables"]["sections"]["rows"] if recorded else by_section.rows
            ),
            "variants": variants_text(
                recorded["tables"]["models"]["rows"] if recorded else rows,
                recorded["series"]["ladder"] if recorded else ladder,
            ),
            "gensim": (
                f"The book's skip-gram and gensim's "
                f"{'agree' if agree else 'do NOT agree'} within the stated tolerance "
                f"(ρ within {config.tol_spearman}, analogy accuracy within "
                f"{config.tol_analogy * 100:.0f} percentage points)."
            ),
        },
    )
