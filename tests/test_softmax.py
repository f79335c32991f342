"""The output layers of `airoad_book.models.softmax`: exact probabilities, gradients
against finite differences, the limits the sampled losses reach, shapes, training and
bad input."""

import math

import pytest
import torch
import torch.nn.functional as F

from airoad_book.models.softmax import (
    NCE,
    ClassSoftmax,
    FullSoftmax,
    HierarchicalSoftmax,
    SampledSoftmax,
    frequency_classes,
    huffman_codes,
)

V, H, N = 40, 6, 9


def counts(seed: int = 0) -> list[int]:
    """Zipf-like counts with noise, so the tree and the classes are uneven."""
    g = torch.Generator().manual_seed(seed)
    r = torch.arange(1, V + 1, dtype=torch.float64)
    return (1000 / r * (1 + torch.rand(V, generator=g, dtype=torch.float64))).ceil()


def layers() -> dict:
    c = counts()
    return {
        "full": FullSoftmax(H, V),
        "class": ClassSoftmax(H, c, n_classes=6),
        "hs": HierarchicalSoftmax(H, c),
        "nce": NCE(H, c, k=7),
        "sampled": SampledSoftmax(H, c, k=7),
    }


def randomised(layer, seed: int = 1):
    """The layer in float64 with random weights (they start at zero)."""
    torch.manual_seed(seed)
    layer = layer.double()
    with torch.no_grad():
        for p in layer.parameters():
            p.normal_(0, 0.5)
    return layer


def batch(seed: int = 2):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(N, H, generator=g, dtype=torch.float64)
    y = torch.randint(0, V, (N,), generator=g)
    return h, y


@pytest.mark.parametrize("name", ["full", "class", "hs", "nce", "sampled"])
def test_every_layer_gives_probabilities_that_sum_to_one(name):
    layer = randomised(layers()[name])
    h, y = batch()
    lp = layer.log_probs(h)
    assert lp.shape == (N, V)
    torch.testing.assert_close(lp.exp().sum(1), torch.ones(N, dtype=torch.float64))
    torch.testing.assert_close(layer.log_prob(h, y), lp[torch.arange(N), y])


def test_full_softmax_loss_is_torch_cross_entropy():
    layer = randomised(FullSoftmax(H, V))
    h, y = batch()
    logits = h @ layer.out[:, :-1].T + layer.out[:, -1]
    torch.testing.assert_close(layer.loss(h, y), F.cross_entropy(logits, y))


def test_class_softmax_is_class_times_word_probability_computed_directly():
    layer = randomised(ClassSoftmax(H, counts(), n_classes=6))
    h, y = batch()
    h1 = torch.cat([h, torch.ones(N, 1, dtype=h.dtype)], 1)
    for i in range(N):
        c = int(layer.word_class[y[i]])
        p_class = torch.softmax(h1[i] @ layer.class_out.T, 0)[c]
        same = [w for w in range(V) if layer.word_class[w] == c]
        p_word = torch.softmax(h1[i] @ layer.out[same].T, 0)[same.index(int(y[i]))]
        assert math.isclose(
            float(layer.log_prob(h, y)[i]), math.log(p_class * p_word), rel_tol=1e-9
        )


def test_hierarchical_softmax_is_the_product_of_decisions_along_the_path():
    layer = randomised(HierarchicalSoftmax(H, counts()))
    paths, codes = huffman_codes(counts())
    h, y = batch()
    h1 = torch.cat([h, torch.ones(N, 1, dtype=h.dtype)], 1)
    for i in range(N):
        p = 1.0
        for node, bit in zip(paths[int(y[i])], codes[int(y[i])]):
            go_left = torch.sigmoid(h1[i] @ layer.nodes[node])
            p *= float(go_left if bit == 0 else 1 - go_left)
        assert math.isclose(float(layer.log_prob(h, y)[i]), math.log(p), rel_tol=1e-9)


def test_huffman_tree_has_the_textbook_cost_and_is_prefix_free():
    freq = [45, 13, 12, 16, 9, 5]  # the classic example: 224 bits per 100 symbols
    paths, codes = huffman_codes(freq)
    assert sum(f * len(c) for f, c in zip(freq, codes)) == 224
    words = ["".join(map(str, c)) for c in codes]
    assert not any(a != b and b.startswith(a) for a in words for b in words)
    assert all(p[0] == len(freq) - 2 for p in paths)  # every path starts at the root
    assert len(codes[0]) == 1  # the most frequent symbol sits next to the root


def test_frequency_classes_share_the_text_evenly_and_order_by_frequency():
    c = counts()
    cls = frequency_classes(c, 6)
    assert sorted(set(cls.tolist())) == list(range(int(cls.max()) + 1))
    order = torch.argsort(-c, stable=True)
    assert (cls[order].diff() >= 0).all()  # frequent words come first
    mass = torch.zeros(int(cls.max()) + 1, dtype=torch.float64).index_add(0, cls, c)
    assert (mass / c.sum()).max() < 0.5  # no class takes most of the text


def finite_difference_check(layer, loss_of):
    """The autograd gradient of loss_of(layer, h) against central differences, for h
    and for a few entries of every parameter (sparse gradients densified)."""
    h, _ = batch()
    h.requires_grad_()
    loss_of(layer, h).backward()
    eps = 1e-6
    for i, j in [(0, 0), (3, 2), (N - 1, H - 1)]:
        with torch.no_grad():
            h[i, j] += eps
            up = float(loss_of(layer, h))
            h[i, j] -= 2 * eps
            down = float(loss_of(layer, h))
            h[i, j] += eps
        assert math.isclose(float(h.grad[i, j]), (up - down) / (2 * eps), abs_tol=1e-6)
    for p in layer.parameters():
        grad = p.grad.to_dense() if p.grad.is_sparse else p.grad
        for idx in [(0, 0), (p.shape[0] // 2, 1), (p.shape[0] - 1, H)]:
            with torch.no_grad():
                p[idx] += eps
                up = float(loss_of(layer, h))
                p[idx] -= 2 * eps
                down = float(loss_of(layer, h))
                p[idx] += eps
            assert math.isclose(float(grad[idx]), (up - down) / (2 * eps), abs_tol=1e-6)


@pytest.mark.parametrize("name", ["full", "class", "hs"])
def test_exact_layers_gradients_match_finite_differences(name):
    _, y = batch()
    finite_difference_check(randomised(layers()[name]), lambda m, h: m.loss(h, y))


@pytest.mark.parametrize("name", ["nce", "sampled"])
def test_sampled_layers_gradients_match_finite_differences(name):
    _, y = batch()
    x = torch.tensor([0, 3, 3, 7, 39, 12, 1])  # fixed samples, one repeated
    finite_difference_check(
        randomised(layers()[name]), lambda m, h: m.loss(h, y, samples=x)
    )


def test_sampled_softmax_with_every_word_and_uniform_q_is_the_full_softmax():
    sampled = randomised(SampledSoftmax(H, [1.0] * V, k=V))
    full = FullSoftmax(H, V).double()
    with torch.no_grad():
        full.out.copy_(sampled.out)
    h, y = batch()
    a = sampled.loss(h, y, samples=torch.arange(V))
    b = full.loss(h, y)
    torch.testing.assert_close(a, b)
    a.backward()
    b.backward()
    torch.testing.assert_close(sampled.out.grad.to_dense(), full.out.grad)


def test_nce_loss_is_the_formula_of_mnih_and_teh():
    layer = randomised(NCE(H, counts(), k=7))
    h, y = batch()
    x = torch.tensor([0, 3, 3, 7, 39, 12, 1])
    q = counts()
    q = q / q.sum()
    h1 = torch.cat([h, torch.ones(N, 1, dtype=h.dtype)], 1)
    total = 0.0
    for i in range(N):
        s = h1[i] @ layer.out.T  # (V,)
        delta = s - torch.log(len(x) * q)
        total -= math.log(torch.sigmoid(delta[y[i]]))
        total -= sum(math.log(1 - torch.sigmoid(delta[j])) for j in x)
    # q is kept in float32, as the layer stores it
    assert math.isclose(float(layer.loss(h, y, samples=x)), total / N, rel_tol=1e-6)


def test_nce_optimum_is_the_self_normalised_data_distribution():
    """Mnih & Teh (2012): NCE's objective is minimised at s_w = log p(w), so the
    unnormalised scores become probabilities. With the data words in the exact
    proportions of p and the noise words in the exact proportions k·q(w), the loss is
    the expected objective, and gradient descent on the biases finds its optimum."""
    p = torch.tensor([0.4, 0.25, 0.15, 0.1, 0.06, 0.04], dtype=torch.float64)
    y = torch.arange(6).repeat_interleave(torch.tensor([40, 25, 15, 10, 6, 4]))
    x = torch.arange(6).repeat(5)  # k = 30 noise words, q uniform: 5 of each
    layer = NCE(H, torch.ones(6), k=30).double()
    opt = torch.optim.SGD(layer.parameters(), lr=1.0)
    h = torch.zeros(len(y), H, dtype=torch.float64)  # no context: biases alone
    for _ in range(300):
        opt.zero_grad()
        layer.loss(h, y, samples=x).backward()
        opt.step()
    learned = layer.out[:, -1].detach().exp()  # exp(s_w), never normalised
    torch.testing.assert_close(learned, p, atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", ["full", "class", "hs", "nce", "sampled"])
def test_loss_falls_in_a_few_steps(name):
    """A fixed feature per example that determines its word: each layer learns it."""
    torch.manual_seed(0)
    layer = layers()[name]
    y = torch.randint(0, V, (64,))
    h = torch.randn(V, H)[y]  # (64, H): word y's own random feature vector
    opt = torch.optim.SGD(layer.parameters(), lr=0.5)
    before = float(-layer.log_prob(h, y).mean())
    for _ in range(30):
        opt.zero_grad()
        layer.loss(h, y).backward()
        opt.step()
    after = float(-layer.log_prob(h, y).mean())  # exact nats, whatever the loss
    assert after < before - 0.3


def test_exact_layers_start_uniform_and_nce_starts_normalised():
    h, y = batch()
    h = h.float()
    for name in ("full", "sampled"):
        loss = layers()[name].log_prob(h, y)
        torch.testing.assert_close(loss, torch.full((N,), -math.log(V)))
    nce = layers()["nce"]
    log_z = torch.logsumexp(nce.out[:, -1], 0)
    assert abs(float(log_z)) < 1e-5


def test_shapes_of_losses_and_class_sizes():
    for layer in layers().values():
        h, y = batch()
        assert layer.loss(h.float(), y).shape == ()
        assert layer.log_prob(h.float(), y).shape == (N,)
    cs = layers()["class"]
    assert int(cs.start[-1]) == V and cs.members.sort().values.equal(torch.arange(V))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: FullSoftmax(0, V), "hidden"),
        (lambda: FullSoftmax(H, 1), "vocab_size"),
        (lambda: ClassSoftmax(H, counts(), n_classes=0), "n_classes"),
        (lambda: HierarchicalSoftmax(H, [3, -1, 2]), "counts"),
        (lambda: HierarchicalSoftmax(H, [[1, 2]]), "counts"),
        (lambda: NCE(H, counts(), k=0), "k"),
        (lambda: SampledSoftmax(H, [1.0, 0.0, 2.0], k=2), "q > 0"),
    ],
)
def test_bad_construction_is_a_clear_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("name", ["full", "class", "hs", "nce", "sampled"])
def test_bad_input_is_a_clear_value_error(name):
    layer = layers()[name]
    h, y = batch()
    h = h.float()
    with pytest.raises(ValueError, match=r"shape \(N, 6\)"):
        layer.loss(h[:, :3], y)
    with pytest.raises(ValueError, match=r"in \[0, 39\]"):
        layer.loss(h, torch.full((N,), V))
    with pytest.raises(ValueError, match="integer"):
        layer.loss(h, y.float())
    with pytest.raises(ValueError, match="targets y of shape"):
        layer.loss(h, y[:3])
