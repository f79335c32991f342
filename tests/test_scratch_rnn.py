"""BPTT by hand in NumPy: equal to central differences and to torch's autograd."""

import numpy as np
import pytest
import torch

from airoad_book.models.rnnlm import RNNLM, RNNLMConfig
from airoad_book.scratch.gradcheck import numerical_gradient, relative_error
from airoad_book.scratch.rnn import (
    backward,
    forward,
    init_params,
    state_gradient_norms,
    with_spectral_radius,
)

V, H, T = 7, 5, 6


@pytest.fixture
def net():
    rng = np.random.default_rng(0)
    p = init_params(V, H, rng)
    tokens, targets = rng.integers(0, V, T), rng.integers(0, V, T)
    s0 = rng.normal(0, 0.5, H)
    return p, tokens, targets, s0


def test_bptt_matches_central_differences_for_every_weight_and_the_first_state(net):
    p, tokens, targets, s0 = net
    _, cache = forward(p, tokens, targets, s0)
    grads, ds0 = backward(p, cache)
    for name in ("U", "W", "V", "b"):
        numeric = numerical_gradient(
            lambda: forward(p, tokens, targets, s0)[0], getattr(p, name)
        )
        assert relative_error(getattr(grads, name), numeric) < 1e-6, name
    numeric = numerical_gradient(lambda: forward(p, tokens, targets, s0)[0], s0)
    assert relative_error(ds0, numeric) < 1e-6


def test_bptt_matches_torch_autograd_through_the_rnn_lm(net):
    p, tokens, targets, s0 = net
    model = RNNLM(RNNLMConfig(vocab_size=V, hidden=H)).double()
    with torch.no_grad():
        for name in ("U", "W", "V", "b"):
            getattr(model, name).copy_(torch.from_numpy(getattr(p, name)))
    state = torch.tensor(s0).unsqueeze(0).requires_grad_()
    logits, _ = model(torch.from_numpy(tokens).unsqueeze(0), state)
    loss = torch.nn.functional.cross_entropy(logits[0], torch.from_numpy(targets))
    loss.backward()
    ours, cache = forward(p, tokens, targets, s0)
    grads, ds0 = backward(p, cache)
    assert ours == pytest.approx(loss.item(), abs=1e-12)
    for name in ("U", "W", "V", "b"):
        np.testing.assert_allclose(
            getattr(grads, name), getattr(model, name).grad.numpy(), atol=1e-12
        )
    np.testing.assert_allclose(ds0, state.grad[0].numpy(), atol=1e-12)


def test_state_gradient_norms_agree_with_autograd(net):
    p, tokens, _, s0 = net
    norms = state_gradient_norms(p, tokens, target=2, s0=s0)
    U, W, Vw, b = (torch.from_numpy(getattr(p, n)) for n in ("U", "W", "V", "b"))
    s, states = torch.tensor(s0, requires_grad=True), []
    for t in tokens:
        s = torch.tanh(U[t] + W @ s)
        s.retain_grad()
        states.append(s)
    loss = -torch.log_softmax(Vw @ s + b, dim=0)[2]
    loss.backward()
    expected = [states[T - 1 - k].grad.norm().item() for k in range(T)]
    np.testing.assert_allclose(norms, expected, rtol=1e-10)


def test_the_gradient_vanishes_for_a_small_radius_and_grows_for_a_large_one():
    rng = np.random.default_rng(1)
    p = init_params(V, 40, rng, scale=0.1)
    W = rng.normal(0, 1, (40, 40))
    tokens = rng.integers(0, V, 60)
    p.W = with_spectral_radius(W, 0.5)
    small = state_gradient_norms(p, tokens, 0, np.zeros(40))
    p.W = with_spectral_radius(W, 2.5)
    large = state_gradient_norms(p, tokens, 0, np.zeros(40))
    assert small[-1] < 1e-10 * small[0]
    assert large[-1] > 10 * large[0]


def test_spectral_radius_is_set_exactly():
    W = np.random.default_rng(2).normal(0, 1, (8, 8))
    assert np.max(
        np.abs(np.linalg.eigvals(with_spectral_radius(W, 1.3)))
    ) == pytest.approx(1.3)
    with pytest.raises(ValueError, match="radius 0"):
        with_spectral_radius(np.zeros((3, 3)), 1.0)
