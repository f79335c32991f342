"""Tests for airoad_book.models.ngram: add-one and interpolated modified Kneser–Ney."""

from collections import Counter

import numpy as np
import pytest

from airoad_book.models.ngram import AddOneLM, KneserNeyLM

MODELS = [AddOneLM, KneserNeyLM]


def markov_stream(seed: int, V: int, N: int, alpha: float = 0.05) -> np.ndarray:
    """N tokens from a random first-order Markov chain with sparse rows: varied
    counts."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(V, alpha), size=V)  # (V, V) transition matrix
    x = [0]
    for _ in range(N - 1):
        x.append(int(rng.choice(V, p=P[x[-1]])))
    return np.array(x)


# A slow, obviously correct interpolated modified Kneser–Ney, straight from
# Chen & Goodman (1998): tuples and Counters, no shared code with the model.
class ReferenceKN:
    def __init__(self, x, n, V):
        x = [int(t) for t in x]
        grams = {
            k: Counter(tuple(x[s : s + k]) for s in range(len(x) - k + 1))
            for k in range(1, n + 1)
        }
        self.c = {n: grams[n]}  # raw counts at the highest order
        for k in range(1, n):  # N1+(• g): distinct words seen just before g
            self.c[k] = Counter(g[1:] for g in grams[k + 1])
        self.D = {k: self.chen_goodman_discounts(self.c[k]) for k in self.c}
        self.n, self.V = n, V

    @staticmethod
    def chen_goodman_discounts(c):
        n1, n2, n3, n4 = (sum(1 for v in c.values() if v == r) for r in (1, 2, 3, 4))
        assert min(n1, n2, n3, n4) > 0, (
            "the test corpus must have n1..n4 > 0 at every order"
        )
        Y = n1 / (n1 + 2 * n2)
        D = (1 - 2 * Y * n2 / n1, 2 - 3 * Y * n3 / n2, 3 - 4 * Y * n4 / n3)
        assert 0 < D[0] < 1 and 0 < D[1] < 2 and 0 < D[2] < 3, (
            f"discounts out of range: {D}"
        )
        return D

    def discount(self, k, count):
        return 0.0 if count == 0 else self.D[k][min(count, 3) - 1]

    def prob(self, w, h):
        """P(w | h) with h the tuple of up to n-1 previous words."""
        h = tuple(h)[len(h) - min(len(h), self.n - 1) :]
        k = len(h) + 1
        lower = 1 / self.V if k == 1 else self.prob(w, h[1:])
        c = self.c[k]
        c_h = sum(c[h + (v,)] for v in range(self.V))
        if c_h == 0:
            return lower
        freed = sum(self.discount(k, c[h + (v,)]) for v in range(self.V))
        return (c[h + (w,)] - self.discount(k, c[h + (w,)]) + freed * lower) / c_h


@pytest.mark.parametrize("model_class", MODELS)
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_kn_distribution_sums_to_one_for_random_contexts(model_class, order):
    V = 12
    x = markov_stream(seed=0, V=V, N=200)
    model = model_class(order, V).fit(x)
    rng = np.random.default_rng(1)
    seen = [
        x[s : s + L] for s, L in zip(rng.integers(0, 190, 20), rng.integers(0, 6, 20))
    ]
    unseen = [rng.integers(0, V, L) for L in rng.integers(0, 6, 20)]
    for context in seen + unseen:
        p = model.next_distribution(context)
        assert p.shape == (V,)
        assert np.all(p > 0)
        assert p.sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_kn_matches_reference_implementation(order):
    V = 30
    x = markov_stream(seed=1, V=V, N=400)
    model = KneserNeyLM(order, V).fit(x)
    reference = ReferenceKN(x, order, V)
    for k in range(1, order + 1):
        np.testing.assert_allclose(model.discounts[k], reference.D[k], rtol=1e-12)
    # contexts from the training stream, and a held-out stream full of unseen ones
    held_out = markov_stream(seed=2, V=V, N=60)
    for stream in (x[:60], held_out):
        for t in range(0, 60, 3):
            context = stream[max(0, t - order + 1) : t]
            expected = [reference.prob(w, context) for w in range(V)]
            np.testing.assert_allclose(
                model.next_distribution(context), expected, rtol=1e-10
            )
        expected = [
            np.log(reference.prob(stream[t], stream[max(0, t - order + 1) : t]))
            for t in range(60)
        ]
        np.testing.assert_allclose(model.token_log_probs(stream), expected, rtol=1e-10)


def test_add_one_known_answer():
    # bigrams of 0 1 0 2 0 1: (0,1) x2, (1,0), (0,2), (2,0); unigrams 0 x3, 1 x2, 2 x1
    model = AddOneLM(order=2, vocab_size=3).fit([0, 1, 0, 2, 0, 1])
    # P(w | 0) = (c(0, w) + 1) / (c(0) + V) with c(0) = 3: (0+1)/6, (2+1)/6, (1+1)/6
    np.testing.assert_allclose(model.next_distribution([0]), [1 / 6, 3 / 6, 2 / 6])
    np.testing.assert_allclose(model.next_distribution([2, 1]), [2 / 4, 1 / 4, 1 / 4])
    # first token: unigram (3+1)/(6+3); then P(1|0), P(0|1), P(2|0)
    expected = np.log([4 / 9, 3 / 6, 2 / 4, 2 / 6])
    np.testing.assert_allclose(model.token_log_probs([0, 1, 0, 2]), expected)


@pytest.mark.parametrize("model_class", MODELS)
def test_token_log_probs_agree_with_next_distribution(model_class):
    V, order = 15, 3
    model = model_class(order, V).fit(markov_stream(seed=3, V=V, N=300))
    seen, unseen = (
        markov_stream(seed=3, V=V, N=300)[:40],
        markov_stream(seed=4, V=V, N=40),
    )
    stream = np.concatenate([seen, unseen])
    expected = [
        np.log(model.next_distribution(stream[max(0, t - order + 1) : t])[stream[t]])
        for t in range(len(stream))
    ]
    np.testing.assert_allclose(model.token_log_probs(stream), expected, rtol=1e-12)


@pytest.mark.parametrize("model_class", MODELS)
def test_unigram_perplexity_on_uniform_stream_is_V(model_class):
    V = 50
    model = model_class(1, V).fit(np.tile(np.arange(V), 20))  # every word 20 times
    held_out = np.random.default_rng(0).integers(0, V, 500)
    assert model.perplexity(held_out) == pytest.approx(V, rel=1e-12)


def test_kn_lower_order_counts_contexts_not_occurrences():
    # "francisco" (1) is frequent but only ever follows "san" (0); "glasses" (2) is
    # rarer but follows five different words (3..7)
    stream = [0, 1] * 10 + [3, 2, 4, 2, 5, 2, 6, 2, 7, 2]
    model = KneserNeyLM(order=2, vocab_size=8).fit(stream)
    p = model.next_distribution([])  # the lower-order (continuation) distribution
    assert stream.count(1) > stream.count(2)
    assert p[1] < p[2]


def test_higher_order_fits_train_better():
    V = 20
    x = markov_stream(seed=5, V=V, N=2000, alpha=0.3)
    train_ppl = [KneserNeyLM(n, V).fit(x).perplexity(x) for n in (1, 2, 3, 4)]
    assert all(a > b for a, b in zip(train_ppl, train_ppl[1:])), train_ppl


def test_given_discounts_are_used_and_estimates_fall_back_on_tiny_corpora():
    x = np.tile(np.arange(5), 4)  # every word 4 times: n1 = n2 = n3 = 0 at order 1
    assert KneserNeyLM(1, 5).fit(x).discounts[1].tolist() == [0.5, 0.5, 0.5]
    given = {1: (0.1, 0.2, 0.3), 2: (0.4, 0.5, 0.6)}
    model = KneserNeyLM(2, 5, discounts=given).fit(x)
    for k, D in given.items():
        assert model.discounts[k].tolist() == list(D)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: KneserNeyLM(0, 10), "order must be an integer >= 1"),
        (lambda: AddOneLM(2, 0), "vocab_size must be an integer >= 1"),
        (
            lambda: KneserNeyLM(2, 10).fit([1, 2, 10]),
            r"ids in \[0, 10\).*got 10 at position 2",
        ),
        (lambda: KneserNeyLM(2, 10).fit([-1, 2, 3]), r"got -1 at position 0"),
        (
            lambda: KneserNeyLM(2, 10).fit([[1, 2], [3, 4]]),
            "1-D sequence of token ids, got shape",
        ),
        (
            lambda: KneserNeyLM(2, 10).fit([1.0, 2.0]),
            "integer token ids, got dtype float64",
        ),
        (lambda: KneserNeyLM(3, 10).fit([1, 2]), "at least order=3 tokens, got 2"),
        (
            lambda: KneserNeyLM(2, 10).fit([1, 2, 3]).next_distribution([11]),
            "context must hold",
        ),
        (lambda: AddOneLM(2, 10).fit([1, 2, 3]).perplexity([]), "at least one token"),
        (lambda: KneserNeyLM(2, 10, discounts={1: (0.5, 1, 1.5)}), "every order 1..2"),
        (
            lambda: KneserNeyLM(1, 10, discounts={1: (1.5, 1, 1)}),
            r"0 <= D1 <= 1.*got \[1.5",
        ),
    ],
)
def test_bad_inputs_raise_value_error_naming_expected_and_got(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("model_class", MODELS)
def test_predicting_before_fit_raises(model_class):
    model = model_class(2, 10)
    for call in (
        lambda: model.next_distribution([1]),
        lambda: model.perplexity([1, 2]),
    ):
        with pytest.raises(RuntimeError, match="not fitted yet: call fit"):
            call()


def test_counts_shared_across_orders_give_the_same_models():
    from airoad_book.models.ngram import count_ngrams

    rng = np.random.default_rng(0)
    x = rng.integers(0, 7, size=400)
    grams = count_ngrams(x, 4, 7)
    probe = rng.integers(0, 7, size=60)
    for cls in (AddOneLM, KneserNeyLM):
        for n in (1, 2, 3, 4):
            alone = cls(n, 7).fit(x).token_log_probs(probe)
            shared = cls(n, 7).fit(x, grams).token_log_probs(probe)
            np.testing.assert_array_equal(alone, shared)
    with pytest.raises(ValueError, match="grams must be count_ngrams"):
        KneserNeyLM(5, 7).fit(x, grams)  # counted to order 4 only
    with pytest.raises(ValueError, match="grams must be count_ngrams"):
        KneserNeyLM(2, 7).fit(x[:100], grams)  # counted on another stream
