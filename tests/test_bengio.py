"""Claims about the NPLM of Bengio et al. (2003): its equations, its size, and that it
learns."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from airoad_book.models.bengio import NPLM, NPLMConfig, paper_parameter_count


def windows(stream: torch.Tensor, context: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (n-1 previous ids, next id) pair of a 1-D stream, oldest first."""
    X = stream.unfold(0, context + 1, 1)  # (N, n)
    return X[:, :-1], X[:, -1]  # (N, n-1), (N,)


def patterned_stream(V: int, length: int, seed: int = 0) -> torch.Tensor:
    """A stream where the next id is a fixed function of the previous two, plus some
    noise."""
    g = torch.Generator().manual_seed(seed)
    s = [0, 1]
    for _ in range(length - 2):
        if torch.rand((), generator=g) < 0.1:
            s.append(int(torch.randint(V, (), generator=g)))
        else:
            s.append((s[-1] + 2 * s[-2] + 1) % V)
    return torch.tensor(s)


def train(
    model: NPLM, X: torch.Tensor, Y: torch.Tensor, steps: int, lr: float
) -> list[float]:
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(X), Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    losses.append(F.cross_entropy(model(X), Y).item())
    return losses


@pytest.mark.parametrize("direct", [True, False])
def test_nplm_gradients_match_finite_differences(direct):
    torch.manual_seed(0)
    model = NPLM(
        NPLMConfig(vocab_size=7, context=3, embed_dim=2, hidden=3, direct=direct)
    )
    model = model.double()
    with torch.no_grad():  # non-zero output weights, so every gradient is exercised
        for p in (model.U, model.W, model.b):
            if p is not None:
                p.normal_(0.0, 0.5)
    X = torch.randint(7, (5, 3))
    Y = torch.randint(7, (5,))
    names = [name for name, _ in model.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in model.parameters())

    def loss(*ps):
        return F.cross_entropy(
            functional_call(model, dict(zip(names, ps, strict=True)), (X,)), Y
        )

    assert torch.autograd.gradcheck(loss, params, eps=1e-6, atol=1e-5)


def test_logits_shape():
    model = NPLM(NPLMConfig(vocab_size=11, context=4, embed_dim=5, hidden=6))
    X = torch.randint(11, (8, 4))
    assert model(X).shape == (8, 11)


@pytest.mark.parametrize("direct", [True, False])
def test_parameter_count_matches_paper_formula(direct):
    V, n, m, h = 50, 5, 30, 100
    config = NPLMConfig(
        vocab_size=V, context=n - 1, embed_dim=m, hidden=h, direct=direct
    )
    if direct:
        formula = V * (1 + n * m + h) + h * (1 + (n - 1) * m)
    else:
        formula = V * (1 + m + h) + h * (1 + (n - 1) * m)
    assert NPLM(config).num_parameters == formula == paper_parameter_count(config)


def test_direct_connections_absent_means_no_W():
    model = NPLM(
        NPLMConfig(vocab_size=9, context=2, embed_dim=3, hidden=4, direct=False)
    )
    assert model.W is None
    assert {name for name, _ in model.named_parameters()} == {"C", "H", "d", "U", "b"}


def test_initial_loss_is_log_vocab():
    torch.manual_seed(0)
    V = 101
    model = NPLM(NPLMConfig(vocab_size=V, context=4, embed_dim=30, hidden=100))
    X, Y = torch.randint(V, (64, 4)), torch.randint(V, (64,))
    loss = F.cross_entropy(model(X), Y).item()
    assert abs(loss - math.log(V)) < 0.01


def test_loss_falls_in_a_few_steps():
    torch.manual_seed(0)
    X, Y = windows(patterned_stream(V=12, length=600), context=3)
    model = NPLM(NPLMConfig(vocab_size=12, context=3, embed_dim=8, hidden=32))
    losses = train(model, X, Y, steps=30, lr=0.03)
    assert losses[-1] < 0.7 * losses[0]


def test_overfits_one_batch():
    torch.manual_seed(0)
    X, Y = torch.randint(20, (16, 3)), torch.randint(20, (16,))
    model = NPLM(NPLMConfig(vocab_size=20, context=3, embed_dim=8, hidden=32))
    losses = train(model, X, Y, steps=200, lr=0.03)
    assert losses[-1] < 0.05


def test_same_seed_gives_identical_loss_after_training():
    X, Y = windows(patterned_stream(V=12, length=300), context=3)

    def run() -> float:
        torch.manual_seed(123)
        model = NPLM(NPLMConfig(vocab_size=12, context=3, embed_dim=8, hidden=16))
        return train(model, X, Y, steps=10, lr=0.03)[-1]

    assert run() == run()


def test_position_in_the_context_matters():
    # x concatenates C(w) by position, so W and H see which word came when: swapping
    # two words changes the prediction (the order, oldest first, is part of the
    # contract)
    torch.manual_seed(0)
    model = NPLM(NPLMConfig(vocab_size=5, context=2, embed_dim=3, hidden=4))
    with torch.no_grad():
        model.W.normal_()
    a, b = model(torch.tensor([[1, 2]])), model(torch.tensor([[2, 1]]))
    assert not torch.allclose(a, b)


def test_bad_context_shape_is_a_clear_error():
    model = NPLM(NPLMConfig(vocab_size=10, context=3, embed_dim=4, hidden=5))
    with pytest.raises(ValueError, match=r"shape \(B, 3\).*got shape \(2, 4\)"):
        model(torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"got shape \(3,\)"):
        model(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="integer word ids.*float32"):
        model(torch.zeros(2, 3))


def test_out_of_range_id_is_a_clear_error():
    model = NPLM(NPLMConfig(vocab_size=10, context=3, embed_dim=4, hidden=5))
    with pytest.raises(ValueError, match=r"ids in \[0, 9\].*got ids from 0 to 10"):
        model(torch.tensor([[0, 5, 10]]))
    with pytest.raises(ValueError, match=r"got ids from -1 to 5"):
        model(torch.tensor([[-1, 5, 2]]))


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"vocab_size": 1}, "vocab_size"),
        ({"context": 0}, "context"),
        ({"embed_dim": 0}, "embed_dim"),
        ({"hidden": 0}, "hidden"),
        ({"context": 2.5}, "context"),
        ({"direct": 1}, "direct"),
    ],
)
def test_bad_config_is_a_clear_error(kwargs, field):
    with pytest.raises(ValueError, match=f"NPLMConfig.{field} must be"):
        NPLMConfig(**kwargs)
