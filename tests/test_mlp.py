"""The torch MLP: shapes, input checks and that a few steps of training lower the
loss."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from airoad_book.models.mlp import MLP, MLPConfig


def test_mlp_maps_images_to_logits():
    model = MLP(MLPConfig(sizes=(64, 32, 16, 10)))
    assert model(torch.zeros(5, 8, 8)).shape == (5, 10)
    assert (
        sum(p.numel() for p in model.parameters())
        == 64 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10
    )


def test_mlp_rejects_bad_configs_and_inputs():
    with pytest.raises(ValueError, match="activation"):
        MLPConfig(activation="gelu!")
    with pytest.raises(ValueError, match="sizes"):
        MLPConfig(sizes=(10,))
    with pytest.raises(ValueError, match="expected 64 input features"):
        MLP(MLPConfig(sizes=(64, 10)))(torch.zeros(2, 28, 28))


def test_mlp_loss_falls_in_a_few_steps():
    torch.manual_seed(0)
    x, y = torch.randn(64, 20), torch.randint(0, 3, (64,))
    model = MLP(MLPConfig(sizes=(20, 32, 3), activation="tanh"))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    losses = []
    for _ in range(30):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def _numpy_and_torch_twins(sizes, activation, seed=0):
    from airoad_book.models.mlp import load_numpy_params
    from airoad_book.scratch.mlp import MLP as NumpyMLP

    np_model = NumpyMLP(
        sizes, activation=activation, init="xavier", seed=seed
    )  # float64
    for b in np_model.params()[1::2]:
        b += 0.1 * np.random.default_rng(seed).normal(
            size=b.shape
        )  # non-zero biases, so they count
    torch_model = load_numpy_params(
        MLP(MLPConfig(sizes, activation)).double(), np_model.params()
    )
    return np_model, torch_model


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_numpy_and_torch_gradients_are_equal_in_float64(activation):
    # same weights, same batch: the hand-written backward and autograd agree to 1e-10
    # relative error in float64 (measured: ~1e-15, rounding only)
    from airoad_book.models.mlp import numpy_grads
    from airoad_book.scratch.gradcheck import relative_error

    sizes = (12, 9, 7, 4)
    np_model, torch_model = _numpy_and_torch_twins(sizes, activation)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 12)), rng.integers(0, 4, size=16)
    np_loss = np_model.loss(x, y)
    np_model.backward()
    loss = F.cross_entropy(torch_model(torch.from_numpy(x)), torch.from_numpy(y))
    loss.backward()
    assert loss.item() == pytest.approx(np_loss, rel=1e-12)
    for ours, theirs in zip(np_model.grads(), numpy_grads(torch_model)):
        assert ours.shape == theirs.shape
        assert relative_error(ours, theirs) < 1e-10


def test_loading_numpy_weights_transposes_them_into_nn_linear():
    from airoad_book.models.mlp import load_numpy_params

    np_model, torch_model = _numpy_and_torch_twins((5, 3, 2), "relu")
    W1 = np_model.params()[0]
    assert W1.shape == (5, 3) and torch_model.layers[0].weight.shape == (3, 5)
    assert np.array_equal(torch_model.layers[0].weight.detach().numpy(), W1.T)
    x = np.random.default_rng(0).normal(size=(4, 5))
    assert np.allclose(
        torch_model(torch.from_numpy(x)).detach().numpy(),
        np_model.forward(x),
        rtol=1e-13,
    )
    with pytest.raises(ValueError, match="expected 4 arrays"):
        load_numpy_params(MLP(MLPConfig((5, 3, 2))), np_model.params()[:2])
    with pytest.raises(ValueError, match=r"\(D_in, D_out\)"):
        load_numpy_params(MLP(MLPConfig((5, 3, 2))), [W1.T, *np_model.params()[1:]])
