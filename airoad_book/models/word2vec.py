r"""Word2vec: skip-gram and CBOW, with negative sampling or a hierarchical softmax.

Tomas Mikolov, Kai Chen, Greg Corrado and Jeffrey Dean (2013a), *Efficient Estimation of
Word Representations in Vector Space*, <https://arxiv.org/abs/1301.3781>; and Tomas
Mikolov, Ilya Sutskever, Kai Chen, Greg Corrado and Jeffrey Dean (2013b), *Distributed
Representations of Words and Phrases and their Compositionality*,
<https://arxiv.org/abs/1310.4546>.

Bengio et al.'s NPLM (chapter 6) learns word vectors as a side effect of predicting the
next word through a hidden layer and a softmax over the vocabulary. Mikolov et al. kept
the vectors and dropped almost everything else. The *continuous bag of words* (CBOW)
predicts a word from the average of its neighbours' vectors; the *skip-gram* predicts
each neighbour from the word's own vector. Neither has a hidden non-linearity, so a
training example costs a few dot products, and the |V|-wide softmax is replaced by one
of two cheap objectives: a *hierarchical softmax* over a Huffman tree (log₂|V| binary
decisions per word) or *negative sampling*, which tells the true neighbour apart from k
words drawn from the unigram distribution raised to the power 3/4. The 2013b paper also
discards frequent words at random (*subsampling*). Trained on billions of words in
hours, the vectors answered analogy questions such as *king − man + woman ≈ queen*.

Symbols follow the papers: $v_w$ the input ("in") vector of word $w$, $v'_w$ its output
vector (or, in the hierarchical softmax, $v'_n$ the vector of inner node $n$), $k$ the
number of noise words, $c$ the window, $t$ the subsampling threshold.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = [
    "HuffmanTree",
    "huffman_tree",
    "noise_distribution",
    "keep_probability",
    "subsample",
    "skipgram_pairs",
    "cbow_windows",
    "NegativeSampling",
    "HierarchicalSoftmax",
    "SkipGram",
    "CBOW",
    "TrainSettings",
    "train",
    "linear_lr",
    "cosine_neighbours",
]


def _check_counts(counts: Sequence[int] | Tensor, least: int = 1) -> Tensor:
    counts = torch.as_tensor(counts, dtype=torch.float64)
    if counts.dim() != 1 or counts.numel() < least:
        raise ValueError(
            f"counts must be a 1-D sequence of at least {least} word counts; got shape "
            f"{tuple(counts.shape)}"
        )
    if (counts <= 0).any():
        raise ValueError("every word count must be positive; got a count <= 0")
    return counts


# --8<-- [start:huffman]
@dataclass(frozen=True)
class HuffmanTree:
    """Each word's path from the root of a Huffman tree over the vocabulary.

    `points[w, j]` is the j-th inner node on word w's path (ids 0 … |V|−2, the root is
    |V|−2) and `codes[w, j]` the branch taken there (0 or 1); `lengths[w]` is the depth
    L(w) − 1 of the leaf. Rows are padded to the longest path; `mask` marks the real
    steps. Shapes: (V, Lmax) for points, codes and mask; (V,) for lengths.
    """

    points: Tensor  # (V, Lmax) inner-node ids
    codes: Tensor  # (V, Lmax) 0/1 branch labels
    mask: Tensor  # (V, Lmax) True on the steps of the path
    lengths: Tensor  # (V,) code length of each word


def huffman_tree(counts: Sequence[int] | Tensor) -> HuffmanTree:
    """Build the Huffman tree of the word `counts` (one positive count per word id).

    Repeatedly merge the two least frequent nodes (ties broken by node id, so the tree
    is deterministic); the merged node's first child gets code 0 and its second code 1.
    Frequent words end near the root: a short code, few sigmoid units per example.
    """
    counts = _check_counts(counts, least=2)
    V = counts.numel()
    heap = [(float(c), w) for w, c in enumerate(counts.tolist())]
    heapq.heapify(heap)
    parent = [0] * (2 * V - 1)  # node ids: words 0 … V-1, inner nodes V … 2V-2
    branch = [0] * (2 * V - 1)
    next_id = V
    while len(heap) > 1:
        c0, n0 = heapq.heappop(heap)
        c1, n1 = heapq.heappop(heap)
        parent[n0], branch[n0] = next_id, 0
        parent[n1], branch[n1] = next_id, 1
        heapq.heappush(heap, (c0 + c1, next_id))
        next_id += 1
    root = 2 * V - 2
    paths = []
    for w in range(V):
        node, steps = w, []
        while node != root:
            steps.append((parent[node] - V, branch[node]))  # (inner id, branch)
            node = parent[node]
        paths.append(steps[::-1])  # root first
    Lmax = max(len(p) for p in paths)
    points = torch.zeros(V, Lmax, dtype=torch.long)
    codes = torch.zeros(V, Lmax, dtype=torch.long)
    mask = torch.zeros(V, Lmax, dtype=torch.bool)
    for w, steps in enumerate(paths):
        for j, (n, b) in enumerate(steps):
            points[w, j], codes[w, j], mask[w, j] = n, b, True
    lengths = mask.sum(1)
    return HuffmanTree(points, codes, mask, lengths)


# --8<-- [end:huffman]


# --8<-- [start:sampling]
def noise_distribution(counts: Sequence[int] | Tensor, power: float = 0.75) -> Tensor:
    """P_n(w) ∝ count(w)^power: the unigram distribution raised to 3/4 (2013b), (V,)."""
    counts = _check_counts(counts)
    p = counts**power
    return (p / p.sum()).float()


def keep_probability(
    counts: Sequence[int] | Tensor, t: float = 1e-3, variant: str = "code"
) -> Tensor:
    """The chance that one occurrence of each word survives subsampling, (V,).

    With f(w) = count(w) / total, the 2013b paper discards an occurrence with
    probability 1 − sqrt(t / f(w)) (``variant="paper"``); the released C code (and
    gensim) keeps it with probability sqrt(t / f) + t / f (``variant="code"``), which
    keeps more. Both are capped at 1: rare words are never dropped.
    """
    if variant not in ("paper", "code"):
        raise ValueError(f"variant must be 'paper' or 'code'; got {variant!r}")
    if not t > 0:
        raise ValueError(f"the subsampling threshold t must be > 0; got {t}")
    counts = _check_counts(counts)
    ratio = t / (counts / counts.sum())  # t / f(w)
    keep = ratio.sqrt() if variant == "paper" else ratio.sqrt() + ratio
    return keep.clamp(max=1.0).float()


def subsample(ids: Tensor, keep: Tensor, generator: torch.Generator | None) -> Tensor:
    """The tokens of `ids` (N,) that survive, each kept with probability keep[id]."""
    return ids[torch.rand(ids.shape, generator=generator) < keep[ids]]


# --8<-- [end:sampling]


# --8<-- [start:pairs]
def skipgram_pairs(
    ids: Tensor, window: int, generator: torch.Generator | None
) -> tuple[Tensor, Tensor]:
    """(centre, neighbour) pairs of a token stream (N,), as two (P,) tensors.

    Each centre word draws its own window b uniformly from 1 … `window` and pairs with
    the b words on each side, as the C code does: near neighbours are seen more often.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1; got {window}")
    N = ids.numel()
    b = torch.randint(1, window + 1, (N,), generator=generator)  # (N,)
    pos = torch.arange(N)
    centres, contexts = [], []
    for offset in range(1, window + 1):
        for sign in (-1, 1):
            j = pos + sign * offset
            ok = (offset <= b) & (j >= 0) & (j < N)
            centres.append(ids[pos[ok]])
            contexts.append(ids[j[ok]])
    return torch.cat(centres), torch.cat(contexts)


def cbow_windows(
    ids: Tensor, window: int, generator: torch.Generator | None
) -> tuple[Tensor, Tensor, Tensor]:
    """CBOW examples of a token stream (N,): contexts (N, 2c), mask (N, 2c), targets
    (N,).

    Each position draws a window b from 1 … `window`; its context holds the b words on
    each side (fewer at the edges), padded with id 0 where `mask` is False.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1; got {window}")
    N = ids.numel()
    b = torch.randint(1, window + 1, (N,), generator=generator)  # (N,)
    offsets = torch.tensor([o for o in range(-window, window + 1) if o != 0])  # (2c,)
    j = torch.arange(N)[:, None] + offsets  # (N, 2c)
    mask = (offsets.abs() <= b[:, None]) & (j >= 0) & (j < N)  # (N, 2c)
    contexts = ids[j.clamp(0, N - 1)] * mask  # (N, 2c)
    keep = mask.any(1)  # a one-word stream has no context
    return contexts[keep], mask[keep], ids[keep]


# --8<-- [end:pairs]


# --8<-- [start:negative]
class NegativeSampling(nn.Module):
    """Negative sampling (2013b, eq. 4): the output layer as k + 1 logistic regressions.

    For a hidden vector h (the input word's vector in skip-gram, the context average in
    CBOW) and the true output word o, with k noise words w_i ~ P_n(w),

        loss = −log σ(v'_o · h) − Σ_i log σ(−v'_{w_i} · h).

    Output vectors start at zero, as in the C code.
    """

    def __init__(self, counts: Sequence[int] | Tensor, dim: int, k: int = 5):
        super().__init__()
        if k < 1:
            raise ValueError(f"k, the number of noise words, must be >= 1; got {k}")
        self.k = k
        self.register_buffer("noise", noise_distribution(counts))  # (V,)
        V = self.noise.numel()
        self.out = nn.Embedding(V, dim, sparse=True)  # v'_w, (V, d)
        nn.init.zeros_(self.out.weight)

    def sample(self, n: int, generator: torch.Generator | None) -> Tensor:
        """(n, k) noise word ids drawn from P_n."""
        flat = torch.multinomial(self.noise, n * self.k, True, generator=generator)
        return flat.view(n, self.k)

    def loss(self, h: Tensor, target: Tensor, noise: Tensor) -> Tensor:
        """Per-example loss (B,) for h (B, d), target (B,) and noise ids (B, k)."""
        pos = (self.out(target) * h).sum(-1)  # (B,) v'_o · h
        neg = torch.einsum("bkd,bd->bk", self.out(noise), h)  # (B, k) v'_w · h
        return -F.logsigmoid(pos) - F.logsigmoid(-neg).sum(-1)  # (B,)


# --8<-- [end:negative]


# --8<-- [start:hierarchical]
class HierarchicalSoftmax(nn.Module):
    """The hierarchical softmax (2013b, eq. 3) on a Huffman tree of the vocabulary.

    A word is the leaf at the end of its root-to-leaf path; at each inner node n the
    path turns one way with probability σ(v'_n · h) and the other with σ(−v'_n · h), so

        p(w | h) = Π_j σ(s_j · v'_{n(w,j)} · h),  s_j = +1 if code_j = 0 else −1,

    (the sign convention of the C code), and the probabilities of all the leaves sum to
    one by construction. Inner-node vectors start at zero.
    """

    def __init__(self, counts: Sequence[int] | Tensor, dim: int):
        super().__init__()
        tree = huffman_tree(counts)
        self.register_buffer("points", tree.points)  # (V, Lmax)
        self.register_buffer("signs", 1.0 - 2.0 * tree.codes.float())  # (V, Lmax)
        self.register_buffer("mask", tree.mask)  # (V, Lmax)
        V = tree.points.shape[0]
        self.out = nn.Embedding(V - 1, dim, sparse=True)  # v'_n, (V−1, d)
        nn.init.zeros_(self.out.weight)

    def log_prob(self, h: Tensor, target: Tensor) -> Tensor:
        """ln p(target | h), (B,), for h (B, d) and target (B,)."""
        mask = self.mask[target]  # (B, Lmax)
        L = int(mask.sum(1).max()) if target.numel() else 0  # the batch's longest path
        nodes = self.out(self.points[target, :L])  # (B, L, d)
        score = torch.einsum("bld,bd->bl", nodes, h) * self.signs[target, :L]  # (B, L)
        return (F.logsigmoid(score) * mask[:, :L]).sum(-1)  # (B,)

    def loss(self, h: Tensor, target: Tensor, noise: Tensor | None = None) -> Tensor:
        """Per-example loss −ln p(target | h), (B,). `noise` is ignored."""
        return -self.log_prob(h, target)

    def sample(self, n: int, generator: torch.Generator | None) -> None:
        """The hierarchical softmax draws no noise words."""
        return None


# --8<-- [end:hierarchical]


def _output_layer(
    counts: Sequence[int] | Tensor, dim: int, loss: str, k: int
) -> nn.Module:
    if loss == "ns":
        return NegativeSampling(counts, dim, k)
    if loss == "hs":
        return HierarchicalSoftmax(counts, dim)
    raise ValueError(f"loss must be 'ns' (negative sampling) or 'hs'; got {loss!r}")


class _Word2Vec(nn.Module):
    """The shared part: the input vectors v_w and an output layer."""

    def __init__(
        self, counts: Sequence[int] | Tensor, dim: int = 100, loss: str = "ns", k=5
    ):
        super().__init__()
        if dim < 1:
            raise ValueError(f"dim, the vector length, must be >= 1; got {dim}")
        counts = _check_counts(counts, least=2)
        V = counts.numel()
        self.vocab_size, self.dim = V, dim
        self.emb = nn.Embedding(V, dim, sparse=True)  # v_w, (V, d)
        # the C code's start: uniform in ±0.5/d
        nn.init.uniform_(self.emb.weight, -0.5 / dim, 0.5 / dim)
        self.output = _output_layer(counts, dim, loss, k)

    @property
    def vectors(self) -> Tensor:
        """The word vectors the method is known for: the input vectors v_w, (V, d)."""
        return self.emb.weight.detach()

    def _check_ids(self, ids: Tensor, name: str) -> None:
        if ids.dtype != torch.long:
            raise ValueError(f"{name} must be int64 word ids; got {ids.dtype}")
        if ids.numel() and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(
                f"{name} must hold ids in 0 … {self.vocab_size - 1}; got "
                f"{int(ids.min())} … {int(ids.max())}"
            )


# --8<-- [start:models]
class SkipGram(_Word2Vec):
    """Skip-gram (2013a, Fig. 1 right): predict a neighbour o from the word's vector."""

    def hidden(self, centre: Tensor) -> Tensor:
        """h = v_{w_I}, (B, d), for centre ids (B,)."""
        return self.emb(centre)

    def forward(self, centre: Tensor, target: Tensor, noise=None) -> Tensor:
        """Mean loss (nats) of the pairs (centre (B,), target (B,)); noise (B, k)."""
        self._check_ids(centre, "centre")
        self._check_ids(target, "target")
        return self.output.loss(self.hidden(centre), target, noise).mean()


class CBOW(_Word2Vec):
    """CBOW (2013a, Fig. 1 left): predict the word from its neighbours' mean vector."""

    def hidden(self, contexts: Tensor, mask: Tensor) -> Tensor:
        """h = mean of the context vectors, (B, d), for contexts and mask (B, 2c)."""
        m = mask.unsqueeze(-1).float()  # (B, 2c, 1)
        return (self.emb(contexts) * m).sum(1) / m.sum(1).clamp(min=1.0)

    def forward(
        self, contexts: Tensor, mask: Tensor, target: Tensor, noise=None
    ) -> Tensor:
        """Mean loss (nats) of the examples: contexts, mask (B, 2c), target (B,)."""
        self._check_ids(contexts, "contexts")
        self._check_ids(target, "target")
        if mask.shape != contexts.shape:
            raise ValueError(
                f"mask must have the shape of contexts {tuple(contexts.shape)}; got "
                f"{tuple(mask.shape)}"
            )
        h = self.hidden(contexts, mask)
        return self.output.loss(h, target, noise).mean()


# --8<-- [end:models]


def linear_lr(start: float, progress: float, floor: float = 1e-4) -> float:
    """The C code's schedule: the rate falls linearly from `start` to start·floor."""
    return start * max(1.0 - progress, floor)


def cosine_neighbours(
    vectors: Tensor, query: Tensor, n: int, exclude: Sequence[int] = ()
) -> tuple[list[int], list[float]]:
    """The `n` rows of `vectors` (V, d) most cosine-similar to `query` (d,)."""
    unit = F.normalize(vectors, dim=1)
    sims = unit @ F.normalize(query, dim=0)  # (V,)
    for w in exclude:
        sims[w] = -math.inf
    top = sims.topk(n)
    return top.indices.tolist(), top.values.tolist()


# --8<-- [start:train]
@dataclass(frozen=True)
class TrainSettings:
    """How `train` feeds the model: the C code's defaults except the batch."""

    window: int = 5  # c, the largest distance of a neighbour
    epochs: int = 1  # passes over the (subsampled) text
    lr: float = 0.025  # start of the linear decay (0.05 is the C code's for CBOW)
    sample: float = 1e-3  # t of the subsampling; 0 switches it off
    batch: int = 1024  # examples per SGD step; their gradients add, as in Hogwild
    max_steps: int | None = None  # stop early after this many steps (tests)


def train(
    model: SkipGram | CBOW,
    ids: Tensor,
    counts: Sequence[int] | Tensor,
    settings: TrainSettings = TrainSettings(),
    seed: int = 0,
) -> list[float]:
    """Train `model` on the token stream `ids` (N,) by plain SGD; the mean loss per
    step.

    Every step sums the loss of `batch` examples, so each example moves the vectors as
    much as one update of the C code does; the rate decays linearly to zero over all
    the steps.
    """
    if ids.dim() != 1 or ids.numel() < 2:
        raise ValueError(f"ids must be a 1-D stream of >= 2 tokens; got {ids.shape}")
    g = torch.Generator().manual_seed(seed)
    keep = keep_probability(counts, settings.sample) if settings.sample > 0 else None
    opt = torch.optim.SGD(model.parameters(), lr=settings.lr)
    # the steps of all epochs, estimated from the first epoch's, for the decay
    total, step, losses = None, 0, []
    for _ in range(settings.epochs):
        kept = subsample(ids, keep, g) if keep is not None else ids
        if isinstance(model, SkipGram):
            examples = skipgram_pairs(kept, settings.window, g)
        else:
            examples = cbow_windows(kept, settings.window, g)
        order = torch.randperm(examples[0].shape[0], generator=g)
        batches = order.split(settings.batch)
        total = total or len(batches) * settings.epochs
        for rows in batches:
            parts = [e[rows] for e in examples]
            noise = model.output.sample(rows.numel(), g)
            loss = model(*parts, noise)
            for group in opt.param_groups:
                group["lr"] = linear_lr(settings.lr, step / total)
            opt.zero_grad()
            (loss * rows.numel()).backward()  # the sum over the batch
            opt.step()
            losses.append(loss.item())
            step += 1
            if settings.max_steps is not None and step >= settings.max_steps:
                return losses
    return losses


# --8<-- [end:train]
