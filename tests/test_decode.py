"""Claims about decoding: greedy is argmax, sampling follows the softmax, top-k and
temperature do what they say, and generation is reproducible and model-agnostic."""

import pytest
import torch

from airoad_book.decode import generate, greedy_next, sample_next


def random_logits(B: int = 64, V: int = 10, seed: int = 0) -> torch.Tensor:
    return (
        torch.randn(B, V, generator=torch.Generator().manual_seed(seed)) * 2.0
    )  # (B, V)


def test_greedy_is_argmax():
    logits = random_logits()
    assert torch.equal(greedy_next(logits), logits.argmax(dim=-1))


def test_low_temperature_approaches_argmax():
    logits = random_logits()
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        drawn = sample_next(logits, temperature=1e-4, generator=g)
        assert torch.equal(drawn, greedy_next(logits))


def test_high_temperature_approaches_uniform():
    logits = random_logits(B=1, V=4).expand(20_000, 4)  # (N, V)
    drawn = sample_next(
        logits, temperature=1e4, generator=torch.Generator().manual_seed(0)
    )
    freq = torch.bincount(drawn, minlength=4).double() / drawn.numel()  # (V,)
    assert torch.allclose(freq, torch.full((4,), 0.25, dtype=torch.double), atol=0.02)


def test_top_k_of_one_equals_greedy():
    logits = random_logits()
    drawn = sample_next(logits, top_k=1, generator=torch.Generator().manual_seed(0))
    assert torch.equal(drawn, greedy_next(logits))


def test_samples_only_among_the_top_k():
    logits = random_logits(B=256, V=20)
    k = 3
    top = torch.topk(logits, k, dim=-1).indices  # (B, k)
    g = torch.Generator().manual_seed(0)
    for _ in range(10):
        drawn = sample_next(logits, top_k=k, temperature=2.0, generator=g)  # (B,)
        assert (top == drawn[:, None]).any(dim=1).all()


def test_top_k_larger_than_vocab_is_no_restriction():
    logits = random_logits()
    a = sample_next(logits, top_k=1000, generator=torch.Generator().manual_seed(1))
    b = sample_next(logits, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


def test_frequencies_match_softmax_at_temperature_one():
    V, N = 6, 30_000
    logits = torch.tensor([[2.0, 1.0, 0.5, 0.0, -1.0, -3.0]])  # (1, V)
    drawn = sample_next(logits.expand(N, V), generator=torch.Generator().manual_seed(0))
    observed = torch.bincount(drawn, minlength=V).double()  # (V,)
    expected = torch.softmax(logits[0].double(), dim=0) * N  # (V,)
    chi2 = ((observed - expected) ** 2 / expected).sum().item()
    assert (
        chi2 < 20.5
    )  # the 99.9 % quantile of chi-square with V - 1 = 5 degrees of freedom


def test_fixed_generator_gives_identical_samples():
    logits = random_logits()
    a = sample_next(
        logits, temperature=0.8, top_k=5, generator=torch.Generator().manual_seed(7)
    )
    b = sample_next(
        logits, temperature=0.8, top_k=5, generator=torch.Generator().manual_seed(7)
    )
    assert torch.equal(a, b)


@pytest.mark.parametrize("temperature", [0, 0.0, -1.0, float("nan"), float("inf"), "1"])
def test_bad_temperature_is_a_clear_error(temperature):
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        sample_next(random_logits(), temperature=temperature)


@pytest.mark.parametrize("top_k", [0, -2, 1.5, True])
def test_bad_top_k_is_a_clear_error(top_k):
    with pytest.raises(ValueError, match="top_k must be None or an int >= 1"):
        sample_next(random_logits(), top_k=top_k)


def test_nucleus_keeps_the_smallest_set_reaching_top_p_and_renormalizes():
    # p = (0.5, 0.3, 0.15, 0.05): top_p = 0.7 needs the two most probable (0.8 >= 0.7),
    # top_p = 0.45 only the first, top_p = 0.81 the first three
    probs = torch.tensor([[0.15, 0.5, 0.05, 0.3]])
    logits = probs.log()
    for top_p, allowed in [(0.45, {1}), (0.7, {1, 3}), (0.81, {0, 1, 3})]:
        g = torch.Generator().manual_seed(0)
        drawn = sample_next(logits.expand(4000, 4), top_p=top_p, generator=g)  # (4000,)
        assert set(drawn.tolist()) == allowed
    g = torch.Generator().manual_seed(0)
    drawn = sample_next(logits.expand(20000, 4), top_p=0.7, generator=g)
    share = (drawn == 1).float().mean().item()
    assert share == pytest.approx(
        0.5 / 0.8, abs=0.015
    )  # renormalized inside the nucleus


def test_top_p_of_one_is_no_restriction():
    logits = random_logits()
    a = sample_next(logits, top_p=1.0, generator=torch.Generator().manual_seed(3))
    b = sample_next(logits, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


@pytest.mark.parametrize("top_p", [0.0, -0.1, 1.5, True, "0.9"])
def test_bad_top_p_is_a_clear_error(top_p):
    with pytest.raises(ValueError, match=r"top_p must be None or a number in \(0, 1\]"):
        sample_next(random_logits(), top_p=top_p)


def test_bad_logits_shape_is_a_clear_error():
    with pytest.raises(ValueError, match=r"shape \(B, V\).*got \(10,\)"):
        sample_next(torch.zeros(10))
    with pytest.raises(ValueError, match="floating-point logits"):
        greedy_next(torch.zeros(2, 10, dtype=torch.long))


def bigram_step(table: torch.Tensor):
    """A fixed-window model with a window of one id: the logits are a row of a table."""
    seen = []

    def step(ids: torch.Tensor) -> torch.Tensor:  # (1, k) -> (1, V)
        seen.append(tuple(ids.shape))
        return table[ids[:, -1]]  # (1, V) keeps only the last id: its fixed window

    return step, seen


def test_generate_is_autoregressive_and_sees_the_growing_history():
    V = 5
    table = torch.full((V, V), -1e9)
    for i in range(V):
        table[i, (i + 1) % V] = 0.0  # a deterministic cycle 0 -> 1 -> 2 -> ...
    step, seen = bigram_step(table)
    out = generate(step, [3, 2], steps=4, generator=torch.Generator().manual_seed(0))
    assert out == [3, 4, 0, 1]
    assert seen == [(1, 2), (1, 3), (1, 4), (1, 5)]


def test_generate_stops_after_stop_id():
    V = 5
    table = torch.full((V, V), -1e9)
    for i in range(V):
        table[i, (i + 1) % V] = 0.0
    step, _ = bigram_step(table)
    assert generate(step, [0], steps=10, stop_id=3, top_k=1) == [1, 2, 3]


def test_generate_passes_top_p_to_the_sampler():
    # two equally likely successors of every id; a nucleus of 0.4 keeps only the first
    # of them
    V = 6
    table = torch.full((V, V), -1e9)
    for i in range(V):
        table[i, (i + 1) % V] = 0.01
        table[i, (i + 2) % V] = 0.0
    step, _ = bigram_step(table)
    g = torch.Generator().manual_seed(0)
    assert generate(step, [0], steps=7, top_p=0.4, generator=g) == [1, 2, 3, 4, 5, 0, 1]


def test_generate_with_a_fixed_generator_is_reproducible():
    table = random_logits(B=8, V=8)
    step, _ = bigram_step(table)
    a = generate(
        step, [0], 30, temperature=1.5, generator=torch.Generator().manual_seed(3)
    )
    b = generate(
        step, [0], 30, temperature=1.5, generator=torch.Generator().manual_seed(3)
    )
    assert a == b and len(a) == 30


def test_generate_with_an_nplm_and_a_fixed_window():
    from airoad_book.models.bengio import NPLM, NPLMConfig

    torch.manual_seed(0)
    model = NPLM(NPLMConfig(vocab_size=12, context=3, embed_dim=4, hidden=8)).eval()
    out = generate(lambda ids: model(ids[:, -3:]), [0, 0, 5], steps=7)
    assert len(out) == 7 and all(0 <= i < 12 for i in out)


def test_generate_bad_arguments_are_clear_errors():
    step, _ = bigram_step(random_logits(B=4, V=4))
    with pytest.raises(ValueError, match="context must hold at least one id"):
        generate(step, [], 3)
    with pytest.raises(ValueError, match="steps must be an int >= 0"):
        generate(step, [0], -1)
    with pytest.raises(
        ValueError, match=r"step_fn must return logits of shape \(1, V\)"
    ):
        generate(lambda ids: torch.zeros(4), [0], 2)
