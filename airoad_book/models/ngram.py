"""N-gram language models: add-one (Laplace) and interpolated modified Kneser–Ney.

- S. F. Chen and J. Goodman (1998). *An Empirical Study of Smoothing Techniques for
  Language Modeling.* Technical Report TR-10-98, Harvard University; shorter version in
  Computer Speech & Language 13(4):359–394, 1999. https://doi.org/10.1006/csla.1999.0128
- R. Kneser and H. Ney (1995). *Improved Backing-off for M-gram Language Modeling.*
  ICASSP 1995. https://doi.org/10.1109/ICASSP.1995.479394
- T. Mikolov, A. Deoras, S. Kombrink, L. Burget and J. Černocký (2011). *Empirical
  Evaluation and Combination of Advanced Language Modeling Techniques.* Interspeech 2011:
  the KN5 baseline on the Penn Treebank (test perplexity 141.2) that the neural models of
  this book are measured against.
- H. Ney, U. Essen and R. Kneser (1994). *On Structuring Probabilistic Dependences in
  Stochastic Language Modelling.* Computer Speech & Language 8(1):1–38 (absolute
  discounting; Ney and Essen 1991 before it).

An n-gram model predicts a word from the n−1 words before it by counting. Counting alone
gives zero probability to every n-gram the training text happens to lack, so the whole
craft is smoothing: moving probability mass from seen to unseen events. Add-one
smoothing moves far too much. Absolute discounting (Ney and Essen 1991; Ney, Essen and
Kneser 1994) subtracts a fixed discount from every seen count and gives the freed mass
to a lower-order model; Kneser and Ney (1995), in a back-off model, estimated that
lower-order model not from how often a word occurs but from how many different contexts
it follows ("Francisco" is frequent but follows only "San", so it should be an unlikely
guess after a novel context). Chen and Goodman (1998) compared the main smoothing
methods of the time, found Kneser–Ney best, and improved it with three discounts instead
of one (for counts 1, 2 and 3+) and with interpolation at every order instead of
back-off. Their *interpolated modified Kneser–Ney* is what `KneserNeyLM` implements, and
the baseline every neural language model had to beat.

The counting is done with numpy, one ``np.unique`` (or ``np.bincount``) per order: a
5-gram model of the Penn Treebank (930k tokens) fits in well under a second on a laptop
CPU.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


# --8<-- [start:counts]
@dataclass(frozen=True)
class Grams:
    """Every distinct k-gram of a token stream, for one order k.

    The k-gram w_1..w_k gets the integer key ``prefix * V + w_k``, where ``prefix`` is
    the index of its (k-1)-gram w_1..w_{k-1} among the order k-1 keys (0 when k = 1).
    Sorted keys group k-grams by their context, and a lookup is one ``np.searchsorted``.
    """

    keys: np.ndarray  # (G,) sorted int64 keys of the G distinct k-grams
    counts: np.ndarray  # (G,) c(w_1..w_k): how often each occurs in the stream
    ids: np.ndarray  # (N-k+1,) index into keys of the k-gram starting at each position


def count_ngrams(x: np.ndarray, order: int, vocab_size: int) -> list[Grams]:
    """Count all k-grams of the stream x for k = 1..order: one pass per order."""
    grams = []
    prefix = np.zeros(len(x), dtype=np.int64)  # (N,) the empty 0-gram at every position
    n_prefixes = 1  # distinct (k-1)-grams: the keys of order k lie in [0, n_prefixes V)
    for k in range(1, order + 1):
        starts = len(x) - k + 1  # k-grams start at positions 0..N-k
        keys = prefix[:starts] * vocab_size + x[k - 1 :]  # (N-k+1,)
        unique, ids, counts = unique_counts(keys, n_prefixes * vocab_size)
        grams.append(Grams(unique, counts, ids))
        prefix, n_prefixes = ids, len(unique)  # the k-gram at s begins the (k+1)-gram
    return grams


def unique_counts(keys: np.ndarray, key_range: int) -> tuple[np.ndarray, ...]:
    """np.unique(keys, return_inverse=True, return_counts=True) for keys in
    [0, key_range).

    Sorting is the slow part of np.unique; when the range is no larger than a few
    times the number of keys (short n-grams over a small vocabulary: characters), a
    bincount over the range gives the same three arrays without sorting.
    """
    if key_range > 4 * len(keys):
        unique, ids, counts = np.unique(keys, return_inverse=True, return_counts=True)
        return unique, ids.reshape(-1), counts
    every = np.bincount(keys, minlength=key_range)  # (key_range,) count of each key
    unique = np.flatnonzero(every)  # (G,) the keys that occur, sorted
    rank = np.cumsum(every > 0) - 1  # (key_range,) index of each key among unique
    return unique, rank[keys], every[unique]


# --8<-- [end:counts]


# --8<-- [start:lookup]
def find(keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Index of each query in the sorted keys, or -1 where it is absent."""
    i = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return np.where(keys[i] == query, i, -1)


def context_sums(
    keys: np.ndarray, values: np.ndarray, V: int, n_contexts: int
) -> np.ndarray:
    """Sum ``values`` over the k-grams of each context h: the key's prefix, keys //
    V."""
    return np.bincount(keys // V, weights=values, minlength=n_contexts)  # (n_contexts,)


# --8<-- [end:lookup]


# --8<-- [start:ngram-lm]
class NGramLM:
    """What every n-gram model here shares: fit on a token stream, then predict.

    The training stream is one continuous sequence of token ids: n-grams run across
    sentence boundaries (``<eos>`` is just another word), the way the neural models of
    the later chapters read the same corpus. A subclass says how counts become
    P(w | h) in ``_fit_counts`` and ``_probs``.
    """

    def __init__(self, order: int, vocab_size: int):
        if not isinstance(order, (int, np.integer)) or order < 1:
            raise ValueError(
                f"order must be an integer >= 1 (1 = unigram), got {order!r}"
            )
        if not isinstance(vocab_size, (int, np.integer)) or vocab_size < 1:
            raise ValueError(f"vocab_size must be an integer >= 1, got {vocab_size!r}")
        self.order = int(order)  # n: predict each token from the n-1 before it
        self.vocab_size = int(vocab_size)  # V
        self._keys: list[np.ndarray] | None = None  # sorted k-gram keys, k = 1..n

    def fit(self, ids, grams: list[Grams] | None = None) -> NGramLM:
        """Count every k-gram (k = 1..n) of the training stream ``ids``, then smooth.

        ``ids`` is one continuous stream of token ids in [0, V): contexts cross
        sentence boundaries. ``grams``, from ``count_ngrams(ids, N, V)`` with N >= n,
        saves counting again when models of several orders fit one stream. Returns
        the model itself.
        """
        x = self._check_ids(ids, "ids")
        if len(x) < self.order:
            raise ValueError(
                f"fit needs a stream of at least order={self.order} tokens, got "
                f"{len(x)}"
            )
        if grams is None:
            grams = count_ngrams(x, self.order, self.vocab_size)
        elif len(grams) < self.order or len(grams[0].ids) != len(x):
            raise ValueError(
                f"grams must be count_ngrams(ids, N, V) of these {len(x)} ids, "
                f"N >= order={self.order}; got {len(grams)} orders over "
                f"{len(grams[0].ids) if grams else 0} positions"
            )
        grams = grams[: self.order]
        self._keys = [g.keys for g in grams]
        self._n_contexts = [1] + [
            len(g.keys) for g in grams[:-1]
        ]  # distinct h per order
        self._fit_counts(grams)
        return self

    # --8<-- [end:ngram-lm]

    @property
    def num_ngrams(self) -> int:
        """How many distinct 1..n-grams the fitted model stores: its size, as parameters
        are a net's."""
        self._check_fitted()
        return sum(len(keys) for keys in self._keys)

    # --8<-- [start:history]
    def _gram_ids(self, x: np.ndarray, longest: int) -> list[np.ndarray]:
        """ids[j][s] = index of the j-gram x[s:s+j] among the order-j keys, -1 if
        unseen."""
        ids = [np.zeros(len(x) + 1, dtype=np.int64)]  # (T+1,) the empty 0-gram, every s
        for j in range(1, longest + 1):
            starts = max(len(x) - j + 1, 0)  # j-grams start at s = 0..T-j
            prefix = ids[-1][:starts]  # (starts,) index of x[s:s+j-1]
            key = prefix * self.vocab_size + x[j - 1 : j - 1 + starts]  # (starts,)
            ids.append(np.where(prefix >= 0, find(self._keys[j - 1], key), -1))
        return ids

    # --8<-- [end:history]

    # --8<-- [start:predict]
    def next_distribution(self, context: Sequence[int] = ()) -> np.ndarray:
        """P(w | context) for every word w: shape (V,), sums to 1.

        Only the last n-1 tokens of ``context`` matter; a shorter one uses what it has.
        """
        self._check_fitted()
        c = self._check_ids(context, "context")
        m = min(len(c), self.order - 1)  # tokens of history used
        ids = self._gram_ids(c[len(c) - m :], m)
        w = np.arange(self.vocab_size)  # (V,) every candidate next word
        h = [
            np.full(self.vocab_size, ids[j][m - j]) for j in range(m + 1)
        ]  # m+1 x (V,)
        return self._probs(h, w)

    def token_log_probs(self, ids, max_history=None) -> np.ndarray:
        """ln P(x_t | x_{t-n+1} .. x_{t-1}) for every token of the stream: shape (T,).

        The first n-1 tokens have a shorter history, and use what they have.
        ``max_history`` (T,), if given, caps the tokens of history each position may
        use (to cut histories at sentence starts, say).
        """
        self._check_fitted()
        x = self._check_ids(ids, "ids")
        T, n = len(x), self.order
        ids = self._gram_ids(x, n - 1)
        # h[j][t] = index of x[t-j:t], the j tokens before t; -1 where t < j
        h = [
            np.concatenate([np.full(min(j, T), -1), g[: max(T - j, 0)]])  # (T,) each
            for j, g in enumerate(ids)
        ]
        m = np.minimum(np.arange(T), n - 1)  # (T,) tokens of history at each position
        if max_history is not None:
            m = np.minimum(m, np.maximum(np.asarray(max_history), 0))
        log_p = np.empty(T)  # (T,)
        for k in np.unique(m):  # the positions with k tokens of history, together
            at = np.flatnonzero(m == k)  # (T_k,)
            log_p[at] = np.log(self._probs([h_j[at] for h_j in h[: k + 1]], x[at]))
        return log_p

    # --8<-- [end:predict]

    # --8<-- [start:perplexity]
    def perplexity(self, ids) -> float:
        """exp(-(1/T) sum_t ln P(x_t | history)): the model's average branching factor.

        A model that spreads its bet evenly over k words has perplexity k; the uniform
        model over the vocabulary has perplexity V.
        """
        log_p = self.token_log_probs(ids)  # (T,)
        if len(log_p) == 0:
            raise ValueError("perplexity needs at least one token, got an empty stream")
        return float(np.exp(-log_p.mean()))

    # --8<-- [end:perplexity]

    def _fit_counts(self, grams: list[Grams]) -> None:
        raise NotImplementedError

    def _probs(self, h: list[np.ndarray], w: np.ndarray) -> np.ndarray:
        """P(w | h) for M queries: h[j] (M,) indexes the j words before w, j =
        0..k-1."""
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if self._keys is None:
            raise RuntimeError(
                f"{type(self).__name__} is not fitted yet: call fit(ids) on a training "
                f"stream first"
            )

    def _check_ids(self, ids, name: str) -> np.ndarray:
        x = np.asarray(ids)
        if x.ndim != 1:
            raise ValueError(
                f"{name} must be a 1-D sequence of token ids, got shape {x.shape}"
            )
        if x.size == 0:
            return x.astype(np.int64)
        if not np.issubdtype(x.dtype, np.integer):
            raise ValueError(f"{name} must hold integer token ids, got dtype {x.dtype}")
        bad = (x < 0) | (x >= self.vocab_size)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"{name} must hold token ids in [0, {self.vocab_size}) (vocab_size), "
                f"got {x[i]} at position {i}"
            )
        return x.astype(np.int64)


# --8<-- [start:add-one]
class AddOneLM(NGramLM):
    """Laplace (add-one) smoothing: P(w | h) = (c(h, w) + 1) / (c(h) + V).

    Every word gets one imaginary extra count after every context, so nothing has
    probability 0. c(h) = sum_w c(h, w); a context never seen gets the uniform 1/V.
    With V = 10,000 and most contexts seen a few times, the V imaginary counts swamp
    the real ones: the classic example of smoothing that moves too much mass.
    """

    def _fit_counts(self, grams: list[Grams]) -> None:
        V = self.vocab_size
        self._c_hw = [
            g.counts for g in grams
        ]  # c(h, w), aligned with each order's keys
        self._c_h = [  # c(h) = sum_w c(h, w), for each context h
            context_sums(g.keys, g.counts, V, n_h)
            for g, n_h in zip(grams, self._n_contexts)
        ]

    def _probs(self, h: list[np.ndarray], w: np.ndarray) -> np.ndarray:
        k = len(h)  # the order used: a history of k-1 words
        h = h[-1]  # (M,) index of the k-1 words before w; -1 if unseen
        e = find(self._keys[k - 1], h * self.vocab_size + w)  # (M,) the k-gram (h, w)
        # index -1 reads the last entry; np.where throws it away
        c_hw = np.where(e >= 0, self._c_hw[k - 1][e], 0)  # (M,)
        c_h = np.where(h >= 0, self._c_h[k - 1][h], 0)  # (M,)
        return (c_hw + 1) / (c_h + self.vocab_size)


# --8<-- [end:add-one]


# --8<-- [start:kneser-ney-discounts]
def estimate_discounts(c: np.ndarray) -> np.ndarray:
    """Chen & Goodman's discounts (D1, D2, D3+) from the counts c of one order.

    n_r is the number of distinct k-grams whose count is exactly r; with
    Y = n1 / (n1 + 2 n2):  D1 = 1 - 2Y n2/n1,  D2 = 2 - 3Y n3/n2,  D3+ = 3 - 4Y n4/n3.
    On a tiny corpus some n_r is 0 and a formula breaks down (or gives D_r outside
    (0, r)): that D_r falls back to Y, the single discount of Ney, Essen and Kneser
    (1994), or to 0.5 where Y is not in (0, 1) either.
    """
    n1, n2, n3, n4 = np.bincount(c, minlength=5)[1:5].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        Y = n1 / (n1 + 2 * n2)
        D = np.array([1 - 2 * Y * n2 / n1, 2 - 3 * Y * n3 / n2, 3 - 4 * Y * n4 / n3])
    r = np.array([1.0, 2.0, 3.0])
    fallback = Y if 0 < Y < 1 else 0.5
    return np.where(np.isfinite(D) & (D > 0) & (D < r), D, fallback)  # (3,)


def discount(c: np.ndarray, D: np.ndarray) -> np.ndarray:
    """D(c) for each count: D1, D2 or D3+ by c; 0 where c = 0 (nothing to take)."""
    return np.where(c > 0, D[np.clip(c, 1, 3) - 1], 0.0)


# --8<-- [end:kneser-ney-discounts]


# --8<-- [start:kneser-ney-continuation]
def continuation_counts(lower: Grams, upper: Grams) -> np.ndarray:
    """N1+(• h w): how many distinct words precede each k-gram h w in the stream.

    ``lower`` holds the k-grams, ``upper`` the (k+1)-grams. The (k+1)-gram starting at
    position s ends with the k-gram starting at s + 1, so each distinct (k+1)-gram
    names the one k-gram it extends to the left; counting the names gives N1+(• h w).
    A k-gram seen only at the very start of the stream has no left neighbour: 0.
    """
    suffix = np.empty(
        len(upper.keys), dtype=np.int64
    )  # (G_{k+1},) k-gram each one extends
    suffix[upper.ids] = lower.ids[1:]
    return np.bincount(suffix, minlength=len(lower.keys))  # (G_k,)


# --8<-- [end:kneser-ney-continuation]


# --8<-- [start:kneser-ney-model]
@dataclass(frozen=True)
class KneserNeyOrder:
    """What order k keeps for prediction."""

    kept: np.ndarray  # (G,) c_k(h w) - D_k(c_k(h w)), aligned with the order's keys
    c_h: np.ndarray  # (H,) c_k(h) = sum_w c_k(h w), for each context h
    freed: (
        np.ndarray
    )  # (H,) D_k1 N1(h•) + D_k2 N2(h•) + D_k3+ N3+(h•) = gamma_k(h) c_k(h)


class KneserNeyLM(NGramLM):
    """Interpolated modified Kneser–Ney (Chen & Goodman 1998, 1999).

    With h the k-1 words before w and h' the same without its oldest word::

        P_k(w | h) = (c_k(h w) - D_k(c_k(h w))) / c_k(h)  +  gamma_k(h) P_{k-1}(w | h')
        gamma_k(h) = (D_k1 N1(h•) + D_k2 N2(h•) + D_k3+ N3+(h•)) / c_k(h)
        P_0(w)     = 1 / V

    - c_n is the raw count at the highest order n; at every lower order k < n,
      c_k(h w) = N1+(• h w), the number of distinct words seen just before h w;
    - c_k(h) = sum_w c_k(h w), and N_r(h•) counts the words w with c_k(h w) = r
      (3+: >= 3);
    - three discounts (D_k1, D_k2, D_k3+) per order, from the count-of-counts of c_k
      (``estimate_discounts``), unless ``discounts`` gives them as {k: (D1, D2, D3+)};
    - a context with c_k(h) = 0 (unseen, or cut short at the start of a stream) backs
      off fully: P_k(w | h) = P_{k-1}(w | h').

    It is the model that SRILM's ``ngram-count -kndiscount -interpolate`` builds when
    no count cut-offs are applied (``-gt3min 1 -gt4min 1 ...``), here trained on one
    continuous stream. The discounts in use are ``model.discounts[k]``, k = 1..n.
    """

    def __init__(self, order: int, vocab_size: int, discounts: Mapping | None = None):
        super().__init__(order, vocab_size)
        self._given = None if discounts is None else self._check_discounts(discounts)
        self.discounts: dict[int, np.ndarray] = {}  # order k -> (D1, D2, D3+)

    # --8<-- [end:kneser-ney-model]

    # --8<-- [start:kneser-ney-fit]
    def _fit_counts(self, grams: list[Grams]) -> None:
        n, V = self.order, self.vocab_size
        self._orders = []
        for k in range(1, n + 1):
            g = grams[k - 1]
            c = (
                g.counts if k == n else continuation_counts(g, grams[k])
            )  # (G,) c_k(h w)
            D = self._given[k] if self._given else estimate_discounts(c)  # (3,)
            d = discount(c, D)  # (G,) D_k(c_k(h w))
            self.discounts[k] = D
            self._orders.append(
                KneserNeyOrder(
                    kept=c - d,
                    c_h=context_sums(g.keys, c, V, self._n_contexts[k - 1]),
                    freed=context_sums(g.keys, d, V, self._n_contexts[k - 1]),
                )
            )

    # --8<-- [end:kneser-ney-fit]

    # --8<-- [start:kneser-ney-prob]
    def _probs(self, h: list[np.ndarray], w: np.ndarray) -> np.ndarray:
        """Interpolate up from P_0 = 1/V through orders 1..k, k = len(h)."""
        V = self.vocab_size
        p = np.full(len(w), 1.0 / V)  # (M,) P_0(w)
        for k, h_k in enumerate(
            h, start=1
        ):  # h_k (M,): index of the k-1 words before w
            o = self._orders[k - 1]
            seen = h_k >= 0  # index -1 reads a wrong entry; np.where throws it away
            c_h = np.where(seen, o.c_h[h_k], 0.0)  # (M,) c_k(h)
            freed = np.where(seen, o.freed[h_k], 0.0)  # (M,) gamma_k(h) c_k(h)
            e = find(
                self._keys[k - 1], h_k * V + w
            )  # (M,) the k-gram (h, w); -1 unseen
            kept = np.where(e >= 0, o.kept[e], 0.0)  # (M,) c_k(h w) - D_k(c_k(h w))
            has_h = c_h > 0  # else back off fully: P_k = P_{k-1}
            p = np.where(has_h, (kept + freed * p) / np.where(has_h, c_h, 1.0), p)
        return p

    # --8<-- [end:kneser-ney-prob]

    def _check_discounts(self, discounts: Mapping) -> dict[int, np.ndarray]:
        orders = set(range(1, self.order + 1))
        if not isinstance(discounts, Mapping) or set(discounts) != orders:
            raise ValueError(
                f"discounts must map every order 1..{self.order} to (D1, D2, D3+), "
                f"got {discounts!r}"
            )
        checked = {}
        for k, D in discounts.items():
            D = np.asarray(D, dtype=float)
            if D.shape != (3,) or not np.all((D >= 0) & (D <= [1, 2, 3])):
                raise ValueError(
                    f"discounts[{k}] must be (D1, D2, D3+) with 0 <= D1 <= 1, 0 <= D2 "
                    f"<= 2, "
                    f"0 <= D3+ <= 3, got {D.tolist()}"
                )
            checked[k] = D
        return checked
