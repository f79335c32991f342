r"""Output layers for a word-level language model, and what the |V|-wide softmax costs.

Every word-level model of this book ends the same way: a hidden vector $h$ of size $H$
becomes a distribution over the $|V|$ words by a softmax,

$$P(w \mid h) = \frac{\exp(s_w)}{Z(h)}, \qquad s_w = u_w^\top h + b_w, \qquad
Z(h) = \sum_{v \in V} \exp(s_v),$$

and both the normaliser $Z(h)$ and its gradient touch all $|V|$ output vectors: $O(|V|
H)$ work per predicted word. From 2001 to 2015 a line of papers made that cost smaller.
This file holds five of them behind one interface, so that one language model body can
be trained with each:

- `FullSoftmax`: the exact softmax, $O(|V|)$ per word.
- `ClassSoftmax`: Goodman (2001), *Classes for fast maximum entropy training*,
  <https://arxiv.org/abs/cs/0108006>, with the frequency binning of Mikolov et al.
  (2011), *Extensions of recurrent neural network language model*, ICASSP 2011,
  <https://doi.org/10.1109/ICASSP.2011.5947611>: $P(w \mid h) = P(c(w) \mid h)\,
  P(w \mid c(w), h)$, two softmaxes of about $\sqrt{|V|}$ entries each.
- `HierarchicalSoftmax`: Morin & Bengio (2005), *Hierarchical probabilistic neural
  network language model*, AISTATS 2005,
  <https://proceedings.mlr.press/r5/morin05a.html>, on a binary Huffman tree as in
  Mikolov et al. (2013), <https://arxiv.org/abs/1310.4546>: a word is a path of binary
  decisions, $O(\log |V|)$ per word.
- `NCE`: noise-contrastive estimation, Gutmann & Hyvärinen (2010),
  <https://proceedings.mlr.press/v9/gutmann10a.html>, as Mnih & Teh (2012) use it for
  language models, <https://arxiv.org/abs/1206.6426>: tell the data word from $k$
  noise words with a logistic loss, and take $Z(h) = 1$.
- `SampledSoftmax`: importance sampling, Bengio & Senécal (2003, 2008),
  <https://proceedings.mlr.press/r4/bengio03a.html>, in the form of Jean et al. (2015),
  <https://arxiv.org/abs/1412.2007>: a softmax over the target and $k$ sampled words,
  each score corrected by $-\log Q(w)$.

Every layer has the same three methods: `loss(h, y)` is its training objective (mean
nats per predicted word); `log_prob(h, y)` is the exact, normalised $\log P(y \mid h)$
that perplexity is computed from; `log_probs(h)` is the whole table (N, |V|), for tests
and small vocabularies. The class and tree layers are normalised by construction, so
their training loss is their exact loss. NCE and the sampled softmax train on a sample;
they are scored with the full softmax of the very weights they trained.

Each output vector and its bias are stored as one row of a (|V|, H + 1) matrix, and $h$
gets a constant 1 appended, so $s_w = [u_w; b_w]^\top [h; 1]$. The approximate layers
gather the rows they need with a sparse gradient, so a training step with SGD touches
only those rows: the saving is real end to end, not only in the forward pass.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "OutputLayer",
    "FullSoftmax",
    "ClassSoftmax",
    "HierarchicalSoftmax",
    "NCE",
    "SampledSoftmax",
    "frequency_classes",
    "huffman_codes",
]


def _check_counts(counts: Sequence[int] | Tensor, least: int = 2) -> Tensor:
    """Word counts as a float tensor (V,), or a ValueError that says what was wrong."""
    c = torch.as_tensor(counts, dtype=torch.float64)
    if c.ndim != 1 or c.numel() < least:
        raise ValueError(
            f"counts must be one count per word, a 1-D sequence of at least {least}; "
            f"got shape {tuple(c.shape)}"
        )
    if not torch.isfinite(c).all() or (c < 0).any() or c.sum() <= 0:
        raise ValueError("counts must be finite, >= 0, and not all zero")
    return c


def _with_one(h: Tensor) -> Tensor:
    """[h; 1]: the hidden vectors with a constant 1 appended, (N, H + 1)."""
    return torch.cat([h, h.new_ones(h.shape[0], 1)], dim=1)  # (N, H + 1)


# --8<-- [start:base]
class OutputLayer(nn.Module):
    """What every output layer shares: its sizes and the checks on (h, y).

    h is (N, H) hidden vectors, y is (N,) target word ids in [0, |V|).
    """

    def __init__(self, hidden: int, vocab_size: int) -> None:
        super().__init__()
        for name, value, least in (
            ("hidden", hidden, 1),
            ("vocab_size", vocab_size, 2),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"{name} must be an int >= {least}; got {value!r}")
        self.hidden, self.vocab_size = hidden, vocab_size

    def check(self, h: Tensor, y: Tensor | None = None) -> None:
        """Raise ValueError unless h is (N, H) floats and y is (N,) ids in [0, |V|)."""
        if not isinstance(h, Tensor) or h.ndim != 2 or h.shape[1] != self.hidden:
            got = tuple(h.shape) if isinstance(h, Tensor) else type(h).__name__
            raise ValueError(f"expected h of shape (N, {self.hidden}); got {got}")
        if not h.dtype.is_floating_point:
            raise ValueError(f"expected floating-point h; got dtype {h.dtype}")
        if y is None:
            return
        if not isinstance(y, Tensor) or y.shape != (h.shape[0],):
            got = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
            raise ValueError(f"expected targets y of shape ({h.shape[0]},); got {got}")
        if y.dtype.is_floating_point or y.dtype == torch.bool:
            raise ValueError(f"expected integer word ids in y; got dtype {y.dtype}")
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= self.vocab_size):
            raise ValueError(
                f"expected word ids in [0, {self.vocab_size - 1}]; got ids from "
                f"{int(y.min())} to {int(y.max())}"
            )

    def loss(self, h: Tensor, y: Tensor) -> Tensor:
        """The training objective: mean nats per predicted word (a scalar)."""
        return -self.log_prob(h, y).mean()

    def log_prob(self, h: Tensor, y: Tensor) -> Tensor:
        """Exact normalised log P(y | h) in nats, (N,)."""
        self.check(h, y)
        return self.log_probs(h).gather(1, y[:, None]).squeeze(1)  # (N,)

    def log_probs(self, h: Tensor) -> Tensor:  # pragma: no cover - each layer has one
        """Exact log P(w | h) for every word w, (N, |V|)."""
        raise NotImplementedError


# --8<-- [end:base]


# --8<-- [start:full]
class FullSoftmax(OutputLayer):
    """The exact softmax over all |V| words: O(|V| H) per predicted word."""

    def __init__(self, hidden: int, vocab_size: int) -> None:
        super().__init__(hidden, vocab_size)
        # row w is [u_w; b_w]; zeros: the first prediction is uniform, loss ln |V|
        self.out = nn.Parameter(torch.zeros(vocab_size, hidden + 1))  # (V, H + 1)

    def log_probs(self, h: Tensor) -> Tensor:
        """log softmax(s), s_w = u_w·h + b_w for every w: (N, |V|)."""
        self.check(h)
        return F.log_softmax(_with_one(h) @ self.out.T, dim=1)  # (N, V)

    def loss(self, h: Tensor, y: Tensor) -> Tensor:
        """Cross-entropy of the full softmax, mean nats per word."""
        self.check(h, y)
        return F.cross_entropy(_with_one(h) @ self.out.T, y)


# --8<-- [end:full]


# --8<-- [start:classes]
def frequency_classes(counts: Sequence[int] | Tensor, n_classes: int) -> Tensor:
    """Mikolov et al. (2011)'s frequency binning: a class id per word, (V,).

    Words are taken from the most to the least frequent and dealt into classes so that
    each class holds about 1/n_classes of the running text: a few frequent words share
    the first classes, thousands of rare words the last. A word more frequent than one
    share fills a class alone, so fewer than n_classes classes can come out; ids are
    0 … C−1 with no gaps.
    """
    c = _check_counts(counts)
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
        raise ValueError(f"n_classes must be an int >= 1; got {n_classes!r}")
    order = sorted(range(c.numel()), key=lambda w: (-float(c[w]), w))
    share = c / c.sum()
    cls = torch.empty(c.numel(), dtype=torch.long)
    a, cum = 0, 0.0
    for w in order:
        cls[w] = a
        cum += float(share[w])
        if cum > (a + 1) / n_classes and a < n_classes - 1:
            a += 1  # this class has its share of the text: open the next one
    _, dense = torch.unique(cls, return_inverse=True)  # drop unused ids
    return dense


# --8<-- [end:classes]


# --8<-- [start:class]
class ClassSoftmax(OutputLayer):
    """P(w | h) = P(c(w) | h) · P(w | c(w), h) (Goodman 2001; Mikolov et al. 2011).

    A softmax over the C classes, then a softmax over the words of the target's class
    only. With C ≈ √|V| classes of about √|V| words, that is O(√|V| H) per word instead
    of O(|V| H). Exact: the probabilities of all |V| words sum to 1.
    """

    def __init__(self, hidden: int, counts: Sequence[int] | Tensor, n_classes: int):
        counts = _check_counts(counts)
        super().__init__(hidden, counts.numel())
        word_class = frequency_classes(counts, n_classes)  # (V,)
        C = int(word_class.max()) + 1
        # members of each class, contiguous: class c is members[start[c]: start[c+1]]
        members = torch.argsort(
            word_class * self.vocab_size + torch.arange(len(counts))
        )
        sizes = torch.bincount(word_class, minlength=C)  # (C,)
        start = torch.cat([sizes.new_zeros(1), sizes.cumsum(0)])  # (C + 1,)
        position = torch.empty_like(members)
        position[members] = torch.arange(len(members)) - start[word_class[members]]
        self.register_buffer("word_class", word_class)  # (V,) c(w)
        self.register_buffer("members", members)  # (V,) words grouped by class
        self.register_buffer("start", start)  # (C + 1,)
        self.register_buffer("position", position)  # (V,) w's index within c(w)
        self.n_classes = C
        self.class_out = nn.Parameter(torch.zeros(C, hidden + 1))  # (C, H + 1)
        self.out = nn.Parameter(torch.zeros(self.vocab_size, hidden + 1))  # (V, H + 1)

    def log_prob(self, h: Tensor, y: Tensor) -> Tensor:
        """log P(c(y) | h) + log P(y | c(y), h), (N,): only y's class is scored."""
        self.check(h, y)
        h1 = _with_one(h)  # (N, H + 1)
        cy = self.word_class[y]  # (N,)
        log_pc = F.log_softmax(h1 @ self.class_out.T, dim=1)  # (N, C)
        # Group the examples by their target's class, and gather the rows of the words
        # of those classes once (one sparse gradient); split both into per-class blocks.
        order = torch.argsort(cy, stable=True)  # (N,) examples sorted by class
        classes, n_per = torch.unique_consecutive(cy[order], return_counts=True)
        sizes = self.start[classes + 1] - self.start[classes]  # (C',) K_c words each
        words = torch.cat(
            [self.members[self.start[c] : self.start[c + 1]] for c in classes.tolist()]
        )  # (Σ K_c,)
        u = F.embedding(words, self.out, sparse=True)  # (Σ K_c, H + 1)
        pos = self.position[y[order]]  # (N,) targets' places in their classes
        log_pw = []
        for h_c, u_c, p_c in zip(
            h1[order].split(n_per.tolist()),
            u.split(sizes.tolist()),
            pos.split(n_per.tolist()),
        ):  # one small softmax per class present: (n_c, H+1) @ (H+1, K_c)
            lp = F.log_softmax(h_c @ u_c.T, dim=1)  # (n_c, K_c)
            log_pw.append(lp.gather(1, p_c[:, None])[:, 0])
        log_pw = torch.cat(log_pw)[torch.argsort(order)]  # (N,) back in batch order
        return log_pc.gather(1, cy[:, None]).squeeze(1) + log_pw  # (N,)

    def log_probs(self, h: Tensor) -> Tensor:
        """Every word's log P(c(w) | h) + log P(w | c(w), h): (N, |V|)."""
        self.check(h)
        h1 = _with_one(h)  # (N, H + 1)
        log_pc = F.log_softmax(h1 @ self.class_out.T, dim=1)  # (N, C)
        s = h1 @ self.out.T  # (N, V)
        out = torch.empty_like(s)
        for c in range(self.n_classes):
            words = self.members[self.start[c] : self.start[c + 1]]
            out[:, words] = F.log_softmax(s[:, words], dim=1) + log_pc[:, c : c + 1]
        return out


# --8<-- [end:class]


# --8<-- [start:huffman]
def huffman_codes(
    counts: Sequence[int] | Tensor,
) -> tuple[list[list[int]], list[list[int]]]:
    """A binary Huffman tree over the words: for each word, the inner nodes on its path
    from the root and the bit (0 left, 1 right) taken at each.

    The two least frequent subtrees are merged until one tree is left, so a word of
    frequency f sits about log2(1/f) levels deep: frequent words get short paths. The
    |V| − 1 inner nodes are numbered 0 … |V|−2 in the order they are made; the root is
    the last. Ties are broken by creation order, so the tree is deterministic.
    """
    c = _check_counts(counts)
    V = c.numel()
    heap = [(float(c[w]), w, w) for w in range(V)]  # (count, tie-break, node id)
    heapq.heapify(heap)
    parent, bit = [0] * (2 * V - 1), [0] * (2 * V - 1)  # ids ≥ V are inner nodes
    for new in range(V, 2 * V - 1):
        c0, _, left = heapq.heappop(heap)
        c1, _, right = heapq.heappop(heap)
        parent[left], bit[left] = new, 0
        parent[right], bit[right] = new, 1
        heapq.heappush(heap, (c0 + c1, new, new))
    root = 2 * V - 2
    paths, codes = [], []
    for w in range(V):
        nodes, bits, n = [], [], w
        while n != root:
            nodes.append(parent[n] - V)  # inner node ids 0 … V−2
            bits.append(bit[n])
            n = parent[n]
        paths.append(nodes[::-1])  # root first
        codes.append(bits[::-1])
    return paths, codes


# --8<-- [end:huffman]


# --8<-- [start:hs]
class HierarchicalSoftmax(OutputLayer):
    """P(w | h) = ∏_j σ(±v_{n_j}·h): a product of binary decisions down a Huffman tree.

    Inner node n has a vector v_n (and bias); at n the walk goes left with probability
    σ(v_n·h) and right with σ(−v_n·h), so the two children's probabilities sum to their
    parent's and the leaves sum to 1. A word costs one dot product per node on its
    path: O(log |V| H) instead of O(|V| H) (Morin & Bengio 2005; Mikolov et al. 2013).
    """

    def __init__(self, hidden: int, counts: Sequence[int] | Tensor) -> None:
        counts = _check_counts(counts)
        super().__init__(hidden, counts.numel())
        paths, codes = huffman_codes(counts)
        L = max(len(p) for p in paths)  # the deepest leaf
        node = torch.zeros(self.vocab_size, L, dtype=torch.long)  # (V, L) padded
        sign = torch.zeros(self.vocab_size, L)  # (V, L) +1 left, −1 right, 0 padding
        for w, (p, code) in enumerate(zip(paths, codes)):
            node[w, : len(p)] = torch.tensor(p)
            sign[w, : len(p)] = 1.0 - 2.0 * torch.tensor(code, dtype=torch.float)
        self.register_buffer("node", node)
        self.register_buffer("sign", sign)
        self.register_buffer("depth", torch.tensor([len(p) for p in paths]))  # (V,)
        self.nodes = nn.Parameter(torch.zeros(self.vocab_size - 1, hidden + 1))

    def log_prob(self, h: Tensor, y: Tensor) -> Tensor:
        """Σ_j log σ(sign_j · v_{n_j}·h) along y's path, (N,)."""
        self.check(h, y)
        v = F.embedding(self.node[y], self.nodes, sparse=True)  # (N, L, H + 1)
        s = torch.einsum("nlh,nh->nl", v, _with_one(h))  # (N, L) node scores
        sign = self.sign[y]  # (N, L), 0 past the leaf
        return (F.logsigmoid(sign * s) * sign.abs()).sum(1)  # (N,)

    def log_probs(self, h: Tensor) -> Tensor:
        """Every word's log-probability, (N, |V|): all paths at once (small |V|)."""
        self.check(h)
        s = _with_one(h) @ self.nodes.T  # (N, V − 1) every node's score
        path_s = s[:, self.node]  # (N, V, L)
        return (F.logsigmoid(self.sign * path_s) * self.sign.abs()).sum(2)  # (N, V)


# --8<-- [end:hs]


class _Sampling(OutputLayer):
    """What NCE and the sampled softmax share: k words drawn from a distribution q."""

    def __init__(self, hidden: int, q: Sequence[float] | Tensor, k: int) -> None:
        q = _check_counts(q)
        super().__init__(hidden, q.numel())
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k (samples per step) must be an int >= 1; got {k!r}")
        q = (q / q.sum()).float()
        if (q <= 0).any():
            raise ValueError("the sampling distribution must give every word q > 0")
        self.k = k
        self.register_buffer("log_q", q.log())  # (V,)
        self.register_buffer("cdf", q.cumsum(0))  # (V,) for inverse-CDF sampling
        self.out = nn.Parameter(torch.zeros(self.vocab_size, hidden + 1))  # (V, H + 1)

    def sample(self, k: int | None = None) -> Tensor:
        """k word ids drawn from q with replacement, shared by the whole batch: (k,)."""
        u = torch.rand(k or self.k, device=self.cdf.device) * self.cdf[-1]
        return torch.searchsorted(self.cdf, u).clamp_(max=self.vocab_size - 1)

    def log_probs(self, h: Tensor) -> Tensor:
        """Evaluation: the full softmax of the trained scores, (N, |V|)."""
        self.check(h)
        return F.log_softmax(_with_one(h) @ self.out.T, dim=1)  # (N, V)

    def log_prob(self, h: Tensor, y: Tensor) -> Tensor:
        """Evaluation: exact log-softmax of the trained scores at y, (N,)."""
        self.check(h, y)
        return self.log_probs(h).gather(1, y[:, None]).squeeze(1)

    def _scores(self, h1: Tensor, y: Tensor, samples: Tensor) -> tuple[Tensor, Tensor]:
        """s_y (N,) and s_x for the sampled words (N, k), gathered with sparse grads."""
        u_y = F.embedding(y, self.out, sparse=True)  # (N, H + 1)
        u_x = F.embedding(samples, self.out, sparse=True)  # (k, H + 1)
        return (h1 * u_y).sum(1), h1 @ u_x.T  # (N,), (N, k)

    def _samples(self, samples: Tensor | None) -> Tensor:
        if samples is None:
            return self.sample()
        if samples.ndim != 1 or samples.dtype.is_floating_point or not samples.numel():
            raise ValueError(f"samples must be a 1-D tensor of ids; got {samples!r}")
        return samples


# --8<-- [start:nce]
class NCE(_Sampling):
    """Noise-contrastive estimation (Gutmann & Hyvärinen 2010; Mnih & Teh 2012).

    The model's unnormalised score exp(s_w) is treated as a probability (Z = 1). Each
    data word y and k noise words x_j ~ q make a two-class problem, data against
    noise, whose log-odds are Δ(w) = s_w − log(k q(w)):

        loss = −log σ(Δ(y)) − Σ_j log σ(−Δ(x_j)).

    Its optimum is s_w = log P(w | h): the model learns to normalise itself. The bias
    column starts at −log |V|, so Σ_w exp(s_w) = 1 from the first step.
    """

    def __init__(self, hidden: int, q: Sequence[float] | Tensor, k: int = 64) -> None:
        super().__init__(hidden, q, k)
        with torch.no_grad():
            self.out[:, -1] = -math.log(self.vocab_size)

    def loss(self, h: Tensor, y: Tensor, samples: Tensor | None = None) -> Tensor:
        """The NCE loss, mean nats per data word; `samples` (k,) overrides the draw."""
        self.check(h, y)
        x = self._samples(samples)
        log_kq = math.log(len(x)) + self.log_q
        s_y, s_x = self._scores(_with_one(h), y, x)  # (N,), (N, k)
        data = F.logsigmoid(s_y - log_kq[y])  # (N,) log P(data | y)
        noise = F.logsigmoid(-(s_x - log_kq[x])).sum(1)  # (N,) Σ_j log P(noise | x_j)
        return -(data + noise).mean()


# --8<-- [end:nce]


# --8<-- [start:sampled]
class SampledSoftmax(_Sampling):
    """A softmax over the target and k words sampled from Q, each score corrected by
    −log Q(w) (Bengio & Senécal 2003, 2008; Jean et al. 2015).

    exp(s_w)/Q(w) is the importance weight that makes a sample's sum an estimate of
    Z(h); subtracting log Q(w) from each logit puts that weight inside the softmax. A
    sampled word equal to the target ("accidental hit") is removed. With every word
    sampled once and Q uniform, the loss is exactly the full softmax's.
    """

    def loss(self, h: Tensor, y: Tensor, samples: Tensor | None = None) -> Tensor:
        """Cross-entropy over [y, x_1 … x_k] with corrected logits, mean nats."""
        self.check(h, y)
        x = self._samples(samples)
        s_y, s_x = self._scores(_with_one(h), y, x)  # (N,), (N, k)
        logits = torch.cat([(s_y - self.log_q[y])[:, None], s_x - self.log_q[x]], 1)
        hit = torch.cat(
            [torch.zeros_like(y[:, None], dtype=torch.bool), x == y[:, None]], 1
        )
        logits = logits.masked_fill(hit, float("-inf"))  # (N, 1 + k)
        return -F.log_softmax(logits, dim=1)[:, 0].mean()


# --8<-- [end:sampled]
