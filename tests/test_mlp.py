"""The torch MLP: shapes, input checks and that a few steps of training lower the loss."""

import pytest
import torch
import torch.nn.functional as F

from airoad_book.models.mlp import MLP, MLPConfig


def test_mlp_maps_images_to_logits():
    model = MLP(MLPConfig(sizes=(64, 32, 16, 10)))
    assert model(torch.zeros(5, 8, 8)).shape == (5, 10)
    assert sum(p.numel() for p in model.parameters()) == 64 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10


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
