"""Chapter 2's autograd engine: its gradients equal chapter 1's hand-written backward,
torch's autograd and central differences; reused nodes accumulate; leaves keep adding
until zeroed; and a network trained with it learns."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from airoad_book.data import digits
from airoad_book.scratch.autograd import Tensor, cross_entropy, zero_grad
from airoad_book.scratch.gradcheck import numerical_gradient, relative_error
from airoad_book.scratch.mlp import MLP as NumpyMLP


def mlp_loss(params, x, y, activation):
    """Chapter 1's network, written as a forward pass of the engine's operations."""
    h = Tensor(x)
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]  # (B, D_out)
        if i + 2 < len(params):
            h = h.tanh() if activation == "tanh" else h.relu()
    return cross_entropy(h, y)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_engine_gradients_equal_chapter_1_hand_gradients(activation):
    d = digits("sklearn")
    x = d.x_train[:32].reshape(32, -1).astype(np.float64)  # (32, 64)
    y = d.y_train[:32]
    by_hand = NumpyMLP((64, 32, 16, 10), activation=activation, init="xavier", seed=0)
    for b in by_hand.params()[1::2]:
        b += np.random.default_rng(1).normal(scale=0.1, size=b.shape)  # nonzero biases
    loss_hand = by_hand.loss(x, y)
    by_hand.backward()
    params = [Tensor(p.copy()) for p in by_hand.params()]
    loss = mlp_loss(params, x, y, activation)
    loss.backward()
    assert abs(loss.data - loss_hand) < 1e-12
    for ours, theirs in zip(params, by_hand.grads()):
        assert relative_error(ours.grad, theirs) < 1e-10


def test_engine_gradients_equal_torch_on_a_graph_that_reuses_nodes():
    rng = np.random.default_rng(0)
    a_np, b_np = rng.normal(size=(3, 4)), rng.normal(size=(4,))
    w_np = rng.normal(size=(4, 2))
    a, b, w = Tensor(a_np), Tensor(b_np), Tensor(w_np)
    u = a * b + a  # a is used twice, b broadcast over rows
    loss = ((u @ w).tanh() * (u @ w)).sum()  # u @ w twice: a diamond in the graph
    loss.backward()
    ta, tb, tw = (torch.tensor(v, requires_grad=True) for v in (a_np, b_np, w_np))
    tu = ta * tb + ta
    tloss = ((tu @ tw).tanh() * (tu @ tw)).sum()
    tloss.backward()
    assert abs(loss.data - tloss.item()) < 1e-12
    for ours, theirs in [(a, ta), (b, tb), (w, tw)]:
        assert relative_error(ours.grad, theirs.grad.numpy()) < 1e-12


def test_cross_entropy_and_relu_gradients_equal_torch():
    rng = np.random.default_rng(2)
    z_np, y = rng.normal(size=(5, 7)), rng.integers(0, 7, size=5)
    z = Tensor(z_np)
    loss = cross_entropy(z.relu(), y)
    loss.backward()
    tz = torch.tensor(z_np, requires_grad=True)
    tloss = F.cross_entropy(tz.relu(), torch.from_numpy(y))
    tloss.backward()
    assert abs(loss.data - tloss.item()) < 1e-12
    assert relative_error(z.grad, tz.grad.numpy()) < 1e-12


def test_engine_gradient_equals_central_differences():
    rng = np.random.default_rng(3)
    x_np, w = rng.normal(size=(6, 5)), Tensor(rng.normal(size=(5, 3)))
    y = rng.integers(0, 3, size=6)

    def f():
        logits = (Tensor(x_np) @ w).tanh() @ Tensor(np.eye(3))
        return float(cross_entropy(logits, y).data)

    loss = cross_entropy((Tensor(x_np) @ w).tanh() @ Tensor(np.eye(3)), y)
    loss.backward()
    assert relative_error(w.grad, numerical_gradient(f, w.data)) < 1e-7


def test_leaves_accumulate_until_zeroed_and_intermediates_start_fresh():
    x = Tensor(np.array([1.0, -2.0, 3.0]))
    h = x * x  # an intermediate node: dh/dx = 2x
    loss = h.sum()
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * x.data)
    loss.backward()  # a second pass over the same graph: the leaf adds, h does not
    np.testing.assert_allclose(x.grad, 4 * x.data)
    np.testing.assert_allclose(h.grad, np.ones(3))
    zero_grad([x])
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * x.data)  # what zero_grad() is for


def test_a_network_trained_with_the_engine_learns():
    d = digits("sklearn")
    x = d.x_train[:256].reshape(256, -1).astype(np.float64)
    y = d.y_train[:256]
    rng = np.random.default_rng(0)
    params = [
        Tensor(rng.normal(scale=64**-0.5, size=(64, 32))),
        Tensor(np.zeros(32)),
        Tensor(rng.normal(scale=32**-0.5, size=(32, 10))),
        Tensor(np.zeros(10)),
    ]
    losses = []
    for _ in range(30):
        zero_grad(params)
        loss = mlp_loss(params, x, y, "tanh")
        loss.backward()
        for p in params:
            p.data -= 0.5 * p.grad
        losses.append(float(loss.data))
    assert losses[-1] < 0.5 * losses[0]


def test_numbers_mix_with_tensors_as_constants():
    x = Tensor(np.array([1.0, 2.0]))
    loss = (x * 3.0 + 1.0).sum()
    loss.backward()
    np.testing.assert_allclose(x.grad, [3.0, 3.0])
    assert loss.data == 11.0


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="scalar"):
        Tensor(np.ones(3)).backward()
    with pytest.raises(ValueError, match=r"logits \(B, K\) and labels \(B,\)"):
        cross_entropy(Tensor(np.ones((4, 3))), np.zeros(5, dtype=int))
