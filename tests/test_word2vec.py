"""Claims about word2vec (Mikolov et al. 2013a/b): the Huffman tree, the two output
layers' losses and gradients, subsampling and noise, the example makers, and that
training lowers the loss."""

import math

import pytest
import torch
from torch.nn import functional as F

from airoad_book.models.word2vec import (
    CBOW,
    HierarchicalSoftmax,
    NegativeSampling,
    SkipGram,
    TrainSettings,
    cbow_windows,
    huffman_tree,
    keep_probability,
    noise_distribution,
    skipgram_pairs,
    train,
)

CLRS = [45, 13, 12, 16, 9, 5]  # Cormen et al.'s example: a … f, in thousands


def test_huffman_code_lengths_match_the_textbook_example():
    # the optimal prefix code of the example: a=0, b=101, c=100, d=111, e=1101, f=1100
    assert huffman_tree(CLRS).lengths.tolist() == [1, 3, 3, 3, 4, 4]


def test_huffman_codes_are_a_complete_prefix_code():
    counts = torch.randint(1, 1000, (57,), generator=torch.Generator().manual_seed(0))
    tree = huffman_tree(counts)
    codes = [
        "".join(map(str, tree.codes[w, : tree.lengths[w]].tolist())) for w in range(57)
    ]
    assert len(set(codes)) == 57
    assert not any(a != b and b.startswith(a) for a in codes for b in codes)
    assert sum(2.0 ** -len(c) for c in codes) == pytest.approx(1.0)  # Kraft: full tree
    # every path starts at the root, inner node |V| - 2
    assert (tree.points[:, 0] == 55).all()
    assert int(tree.points[tree.mask].max()) == 55


def test_huffman_tree_is_as_short_as_gensims():
    # Huffman trees may differ in their ties but all have the same (least) expected
    # code length; gensim builds its own from the same counts
    from gensim.models.word2vec import Word2Vec

    g = torch.Generator().manual_seed(1)
    counts = torch.randint(1, 500, (40,), generator=g)
    words = [f"w{i}" for i in range(40)]
    model = Word2Vec(vector_size=2, min_count=1, hs=1, negative=0, workers=1)
    model.build_vocab_from_freq(dict(zip(words, counts.tolist())))
    theirs = sum(
        c * len(model.wv.get_vecattr(w, "code")) for w, c in zip(words, counts.tolist())
    )
    ours = int((huffman_tree(counts).lengths * counts).sum())
    assert ours == theirs


def test_noise_distribution_is_the_three_quarter_power_unigram():
    p = noise_distribution([1, 16, 81])
    expected = torch.tensor([1.0, 8.0, 27.0]) / 36.0
    assert torch.allclose(p, expected)


def test_keep_probability_has_the_paper_and_the_code_variants():
    counts = [900, 100]
    t = 0.01  # f = 0.9 and 0.1
    paper = keep_probability(counts, t, "paper")
    code = keep_probability(counts, t, "code")
    assert paper.tolist() == pytest.approx([math.sqrt(t / 0.9), math.sqrt(t / 0.1)])
    assert code.tolist() == pytest.approx(
        [math.sqrt(t / 0.9) + t / 0.9, math.sqrt(t / 0.1) + t / 0.1]
    )
    assert keep_probability([1, 1], 0.5).tolist() == [1.0, 1.0]  # rare: always kept


def test_keep_probability_matches_gensims_sample_ints():
    from gensim.models.word2vec import Word2Vec

    counts = [5000, 2000, 700, 300, 60, 9, 1]
    words = [f"w{i}" for i in range(len(counts))]
    model = Word2Vec(vector_size=2, min_count=1, sample=1e-2, workers=1)
    model.build_vocab_from_freq(dict(zip(words, counts)))
    theirs = [model.wv.get_vecattr(w, "sample_int") / 2**32 for w in words]
    assert keep_probability(counts, 1e-2, "code").tolist() == pytest.approx(
        theirs, abs=1e-6
    )


def test_skipgram_pairs_are_the_neighbours_within_the_window():
    ids = torch.arange(6)
    c, o = skipgram_pairs(ids, 1, torch.Generator().manual_seed(0))
    got = sorted(zip(c.tolist(), o.tolist()))
    assert got == sorted(
        [(i, i + 1) for i in range(5)] + [(i + 1, i) for i in range(5)]
    )
    c, o = skipgram_pairs(torch.arange(200), 5, torch.Generator().manual_seed(0))
    assert ((c - o).abs() <= 5).all() and ((c - o).abs() >= 1).all()
    # each centre's window b is uniform in 1 … 5: on average 2·3 neighbours
    assert c.numel() / 200 == pytest.approx(6.0, rel=0.15)


def test_cbow_windows_shapes_and_mask():
    ids = torch.arange(10, 20)
    contexts, mask, targets = cbow_windows(ids, 2, torch.Generator().manual_seed(0))
    assert contexts.shape == mask.shape == (10, 4)
    assert targets.tolist() == list(range(10, 20))
    for ctx, m, t in zip(contexts, mask, targets):
        assert all(1 <= abs(int(x) - int(t)) <= 2 for x in ctx[m])
    assert not mask[0, :2].any()  # nothing left of the first word


def _random_heads(V=11, d=4, seed=0):
    torch.manual_seed(seed)
    counts = torch.randint(1, 50, (V,))
    ns, hs = NegativeSampling(counts, d, k=3).double(), HierarchicalSoftmax(counts, d)
    hs = hs.double()
    with torch.no_grad():
        ns.out.weight.normal_()
        hs.out.weight.normal_()
    return counts, ns, hs


def test_negative_sampling_loss_matches_the_formula_term_by_term():
    _, ns, _ = _random_heads()
    h = torch.randn(5, 4, dtype=torch.double)
    target, noise = torch.randint(11, (5,)), torch.randint(11, (5, 3))
    U = ns.out.weight.detach()
    for b in range(5):
        direct = -math.log(torch.sigmoid(U[target[b]] @ h[b]))
        for k in range(3):
            direct -= math.log(torch.sigmoid(-(U[noise[b, k]] @ h[b])))
        assert ns.loss(h, target, noise)[b].item() == pytest.approx(direct)


def test_negative_sampling_gradient_matches_the_paper_update():
    # d loss / d h = (σ(u_o·h) − 1) u_o + Σ_k σ(u_k·h) u_k, the C code's update of h
    _, ns, _ = _random_heads()
    h = torch.randn(1, 4, dtype=torch.double, requires_grad=True)
    target, noise = torch.tensor([2]), torch.tensor([[5, 7, 5]])
    ns.loss(h, target, noise).sum().backward()
    U = ns.out.weight.detach()
    x = h.detach()[0]
    grad = (torch.sigmoid(U[2] @ x) - 1) * U[2]
    for k in (5, 7, 5):
        grad += torch.sigmoid(U[k] @ x) * U[k]
    assert torch.allclose(h.grad[0], grad)


@pytest.mark.parametrize("head", ["ns", "hs"])
def test_output_layer_gradients_match_finite_differences(head):
    _, ns, hs = _random_heads()
    layer = ns if head == "ns" else hs
    h = torch.randn(3, 4, dtype=torch.double, requires_grad=True)
    target, noise = torch.tensor([0, 4, 10]), torch.randint(11, (3, 3))
    assert torch.autograd.gradcheck(lambda x: layer.loss(x, target, noise), (h,))
    # and the output vectors: autograd's (sparse) gradient against central differences
    layer.loss(h, target, noise).sum().backward()
    grad = layer.out.weight.grad.to_dense()
    W = layer.out.weight.data
    for i, j in [(0, 0), (3, 1), (int(target[1]) % W.shape[0], 2), (W.shape[0] - 1, 3)]:
        old = W[i, j].item()
        W[i, j] = old + 1e-6
        up = layer.loss(h, target, noise).sum().item()
        W[i, j] = old - 1e-6
        down = layer.loss(h, target, noise).sum().item()
        W[i, j] = old
        assert grad[i, j].item() == pytest.approx((up - down) / 2e-6, abs=1e-6)


def test_hierarchical_softmax_matches_a_walk_down_the_tree():
    counts, _, hs = _random_heads()
    tree = huffman_tree(counts)
    h = torch.randn(11, 4, dtype=torch.double)
    words = torch.arange(11)
    for w in range(11):
        p = 1.0
        for j in range(int(tree.lengths[w])):
            n, code = int(tree.points[w, j]), int(tree.codes[w, j])
            s = torch.sigmoid(hs.out.weight[n] @ h[w]).item()
            p *= s if code == 0 else 1 - s
        assert hs.log_prob(h, words)[w].exp().item() == pytest.approx(p)


def test_hierarchical_softmax_probabilities_sum_to_one():
    torch.manual_seed(3)
    counts = torch.randint(1, 1000, (300,))
    hs = HierarchicalSoftmax(counts, 8).double()
    with torch.no_grad():
        hs.out.weight.normal_(0, 2.0)
    h = torch.randn(8, dtype=torch.double)
    words = torch.arange(300)
    log_p = hs.log_prob(h.expand(300, 8), words)  # (V,)
    assert torch.logsumexp(log_p, 0).item() == pytest.approx(0.0, abs=1e-10)


def test_shapes_and_starting_vectors():
    counts = torch.randint(1, 20, (30,))
    sg = SkipGram(counts, dim=6, loss="ns", k=4)
    assert sg.vectors.shape == (30, 6)
    assert sg.vectors.abs().max() <= 0.5 / 6
    assert (sg.output.out.weight == 0).all()  # output vectors start at zero
    assert sg.output.sample(7, None).shape == (7, 4)
    loss = sg(torch.tensor([1, 2]), torch.tensor([3, 4]), sg.output.sample(2, None))
    assert loss.shape == () and loss.item() == pytest.approx(5 * math.log(2))
    cb = CBOW(counts, dim=6, loss="hs")
    ctx = torch.randint(30, (3, 4))
    mask = torch.ones(3, 4, dtype=torch.bool)
    assert cb.hidden(ctx, mask).shape == (3, 6)
    mean = cb.emb(ctx).mean(1)
    assert torch.allclose(cb.hidden(ctx, mask), mean)
    assert cb(ctx, mask, torch.tensor([0, 1, 2])).shape == ()


def _patterned(V=40, N=6000, seed=0):
    # a stream where each word's neighbours come from its own group of eight
    g = torch.Generator().manual_seed(seed)
    group = torch.randint(0, V // 8, (N // 4,), generator=g)
    return group.repeat_interleave(4) * 8 + torch.randint(0, 8, (N,), generator=g)


@pytest.mark.parametrize(
    "cls,loss", [(SkipGram, "ns"), (SkipGram, "hs"), (CBOW, "ns"), (CBOW, "hs")]
)
def test_training_lowers_the_loss(cls, loss):
    ids = _patterned()
    counts = torch.bincount(ids, minlength=40).clamp(min=1)
    torch.manual_seed(0)
    model = cls(counts, 16, loss)
    lr = 0.05 if cls is CBOW else 0.025
    losses = train(
        model,
        ids,
        counts,
        TrainSettings(window=2, epochs=3, lr=lr, sample=0, batch=256),
    )
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < first - 0.1
    # and the vectors learn the groups: a word's nearest neighbour shares its group
    unit = F.normalize(model.vectors, dim=1)
    sims = unit @ unit.T
    sims.fill_diagonal_(-2)
    same = (sims.argmax(1) // 8 == torch.arange(40) // 8).float().mean()
    assert same > 0.8


def test_the_summed_tree_diverges_at_a_large_batch_and_trains_at_a_smaller_one():
    # every pair's path starts at the root, so a batch sums all its pairs' gradients
    # into the root's vector: at 4,096 pairs a step that blows the vectors up to NaN, at
    # 1,024 a step that trains (the word2vec experiment's batch for the tree)
    ids = _patterned(N=120_000)
    counts = torch.bincount(ids, minlength=40).clamp(min=1)
    ends = {}
    for batch in (4096, 1024):
        torch.manual_seed(0)
        model = SkipGram(counts, 16, "hs")
        settings = TrainSettings(window=2, epochs=1, lr=0.025, sample=0, batch=batch)
        losses = train(model, ids, counts, settings)
        ends[batch] = (losses, torch.isfinite(model.vectors).all().item())
    assert not ends[4096][1]
    losses, finite = ends[1024]
    assert finite and sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.5


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="positive"):
        huffman_tree([3, 0, 2])
    with pytest.raises(ValueError, match="at least 2"):
        huffman_tree([3])
    with pytest.raises(ValueError, match="variant"):
        keep_probability([1, 2], variant="gensim")
    with pytest.raises(ValueError, match="threshold"):
        keep_probability([1, 2], t=0)
    with pytest.raises(ValueError, match="window"):
        skipgram_pairs(torch.arange(5), 0, None)
    with pytest.raises(ValueError, match="'ns'"):
        SkipGram([1, 2, 3], 4, loss="softmax")
    with pytest.raises(ValueError, match="dim"):
        SkipGram([1, 2, 3], 0)
    with pytest.raises(ValueError, match="k, the number"):
        NegativeSampling([1, 2, 3], 4, k=0)
    sg = SkipGram([1, 2, 3], 4)
    with pytest.raises(ValueError, match="0 … 2"):
        sg(torch.tensor([0, 3]), torch.tensor([1, 1]), sg.output.sample(2, None))
    with pytest.raises(ValueError, match="int64"):
        sg(torch.tensor([0.0]), torch.tensor([1]), None)
    cb = CBOW([1, 2, 3], 4)
    with pytest.raises(ValueError, match="mask"):
        cb(
            torch.zeros(2, 4, dtype=torch.long),
            torch.ones(2, 3, dtype=torch.bool),
            torch.tensor([0, 1]),
        )
    with pytest.raises(ValueError, match="1-D"):
        train(sg, torch.tensor([1]), [1, 2, 3])
