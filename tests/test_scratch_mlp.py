"""Chapter 1's scratch package: every hand-written backward equals central differences,
the stable softmax survives huge logits, the optimizers equal torch's, and the MLP
learns."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from airoad_book.scratch.gradcheck import numerical_gradient, relative_error
from airoad_book.scratch.layers import (
    Dense,
    Dropout,
    ReLU,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
    init_weights,
    log_softmax,
)
from airoad_book.scratch.mlp import MLP, evaluate, fit, l2_penalty
from airoad_book.scratch.optim import SGD, Adam, Momentum

TOL = (
    1e-7  # relative error that central differences in float64 reach on smooth functions
)


def check_layer(layer, x, rng):
    """Compare backward's dL/dx and dL/d(params) with central differences of L = sum(r *
    y)."""
    r = rng.normal(size=layer.forward(x).shape)  # a random linear loss: dL/dy = r

    def loss():
        return float(np.sum(r * layer.forward(x)))

    loss()
    grad_x = layer.backward(r)
    assert relative_error(grad_x, numerical_gradient(loss, x)) < TOL
    for name, p in layer.params.items():
        loss()
        layer.backward(r)
        analytic = layer.grads[name].copy()
        assert relative_error(analytic, numerical_gradient(loss, p)) < TOL, name


def test_dense_backward_equals_finite_differences():
    rng = np.random.default_rng(0)
    layer = Dense(5, 3, init="xavier", rng=rng)
    layer.params["b"] += rng.normal(size=3)
    check_layer(layer, rng.normal(size=(4, 5)), rng)


@pytest.mark.parametrize("cls", [Sigmoid, Tanh, ReLU])
def test_activation_backward_equals_finite_differences(cls):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 7))
    x[np.abs(x) < 1e-3] = 0.5  # keep clear of ReLU's kink, where no derivative exists
    check_layer(cls(), x, rng)


def test_dropout_backward_equals_finite_differences_for_a_fixed_mask():
    rng = np.random.default_rng(2)
    layer = Dropout(0.4, rng=np.random.default_rng(3))
    x = rng.normal(size=(5, 8))
    layer.forward(x)
    mask = layer.mask.copy()
    layer.forward = lambda x, mask=mask: (
        x * mask
    )  # freeze the draw: dropout is linear given it
    layer.mask = mask
    check_layer(layer, x, rng)


def test_dropout_keeps_the_expected_value_and_is_off_in_evaluation():
    layer = Dropout(0.5, rng=np.random.default_rng(0))
    x = np.ones((200, 500))
    y = layer.forward(x)
    assert set(np.unique(y)) == {0.0, 2.0}
    assert abs(y.mean() - 1.0) < 0.01
    layer.training = False
    assert layer.forward(x) is x


def test_softmax_cross_entropy_gradient_is_p_minus_y_and_equals_finite_differences():
    rng = np.random.default_rng(4)
    z, y = rng.normal(size=(6, 5)), rng.integers(0, 5, size=6)
    ce = SoftmaxCrossEntropy()
    ce.forward(z, y)
    analytic = ce.backward()
    assert (
        relative_error(analytic, numerical_gradient(lambda: ce.forward(z, y), z)) < TOL
    )
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert np.allclose(analytic, (p - np.eye(5)[y]) / 6)


def test_softmax_cross_entropy_equals_torch_and_survives_huge_logits():
    rng = np.random.default_rng(5)
    z, y = (
        rng.normal(size=(8, 10)) * 1000,
        rng.integers(0, 10, size=8),
    )  # e^1000 overflows
    loss = SoftmaxCrossEntropy().forward(z, y)
    expected = F.cross_entropy(torch.from_numpy(z), torch.from_numpy(y)).item()
    assert np.isfinite(loss) and loss == pytest.approx(expected, rel=1e-12)
    assert np.allclose(np.exp(log_softmax(z)).sum(axis=1), 1.0)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        naive = np.log(np.exp(z) / np.exp(z).sum(axis=1, keepdims=True))
    assert not np.all(np.isfinite(naive))  # the reason for subtracting the maximum


def test_mlp_gradients_equal_finite_differences_through_every_layer():
    rng = np.random.default_rng(6)
    for act in ("sigmoid", "tanh", "relu"):
        model = MLP((4, 6, 5, 3), activation=act, init="xavier", seed=1)
        x, y = rng.normal(size=(7, 4)), rng.integers(0, 3, size=7)
        model.loss(x, y)
        model.backward()
        grads = [g.copy() for g in model.grads()]
        for p, g in zip(model.params(), grads):

            def loss(model=model, x=x, y=y):  # bound now: ruff's B023
                return model.loss(x, y)

            assert relative_error(g, numerical_gradient(loss, p)) < 1e-6, act


def test_l2_penalty_gradient_is_lambda_w():
    model = MLP((3, 4, 2), seed=0)
    W = model.params()[0]
    num = numerical_gradient(lambda: l2_penalty(model, 0.1), W)
    assert relative_error(num, 0.1 * W) < TOL


def test_initializations_have_their_stated_variance():
    rng = np.random.default_rng(0)
    assert init_weights(400, 600, "naive", rng).std() == pytest.approx(0.01, rel=0.01)
    assert init_weights(400, 600, "xavier", rng).var() == pytest.approx(
        2 / 1000, rel=0.01
    )
    assert init_weights(400, 600, "he", rng).var() == pytest.approx(2 / 400, rel=0.01)
    with pytest.raises(ValueError, match="init must be one of"):
        init_weights(2, 2, "lecun", rng)


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_optimizers_take_the_same_steps_as_torch(name):
    rng = np.random.default_rng(7)
    theta = rng.normal(size=(3, 4))
    target = rng.normal(size=(3, 4))
    t = torch.tensor(theta.copy(), requires_grad=True)
    ours = {"sgd": SGD(0.1), "momentum": Momentum(0.1, 0.9), "adam": Adam(0.01)}[name]
    theirs = {
        "sgd": lambda p: torch.optim.SGD(p, lr=0.1),
        "momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
        "adam": lambda p: torch.optim.Adam(p, lr=0.01),
    }[name]([t])
    for _ in range(5):
        ours.step([theta], [theta - target])  # gradient of ½‖θ − target‖²
        theirs.zero_grad()
        (0.5 * ((t - torch.from_numpy(target)) ** 2).sum()).backward()
        theirs.step()
    assert np.allclose(theta, t.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_mlp_maps_images_to_logits_and_lists_its_parameters():
    model = MLP((64, 16, 10), seed=0)
    assert model.forward(np.zeros((5, 8, 8))).shape == (5, 10)
    assert [p.shape for p in model.params()] == [(64, 16), (16,), (16, 10), (10,)]


def test_bad_configurations_are_clear_errors():
    with pytest.raises(ValueError, match="sizes"):
        MLP((10,))
    with pytest.raises(ValueError, match="activation"):
        MLP((4, 2), activation="gelu")
    with pytest.raises(ValueError, match="dropout"):
        Dropout(1.0)
    with pytest.raises(ValueError, match="learning rate"):
        SGD(0.0)
    with pytest.raises(ValueError, match="2 gradients"):
        SGD(0.1).step([np.zeros(2)], [np.zeros(2), np.zeros(2)])


def test_mlp_loss_falls_and_it_learns_mnist_digits():
    from airoad_book.data import digits

    d = digits("mnist")
    x, xt = (
        d.x_train[:800].reshape(800, -1).astype(np.float64),
        d.x_test.reshape(1000, -1),
    )
    model = MLP((784, 32, 10), seed=0)
    history = fit(model, Adam(2e-3), x, d.y_train[:800], epochs=4, batch_size=32)
    assert history.train_loss[-1] < 0.3 * history.train_loss[0]
    assert evaluate(model, xt, d.y_test)[1] > 0.8  # 800 images, 4 epochs; chance is 0.1


def test_early_stopping_restores_the_best_epoch():
    rng = np.random.default_rng(0)
    x, y = (
        rng.normal(size=(40, 5)),
        rng.integers(0, 2, size=40),
    )  # noise: valid loss soon rises
    xv, yv = rng.normal(size=(40, 5)), rng.integers(0, 2, size=40)
    model = MLP((5, 64, 2), seed=0)
    history = fit(
        model,
        Adam(0.05),
        x,
        y,
        epochs=60,
        batch_size=8,
        x_valid=xv,
        y_valid=yv,
        patience=3,
    )
    assert len(history.valid_loss) == history.best_epoch + 3 < 60
    assert evaluate(model, xv, yv)[0] == pytest.approx(min(history.valid_loss))
