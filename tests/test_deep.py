"""Claims about chapter 3's deep nets: the normalizations equal torch's, the blocks do
what they say."""

import pytest
import torch
import torch.nn.functional as F

from airoad_book.models.deep import (
    BatchNorm,
    DeepConfig,
    DeepNet,
    LayerNorm,
    PlainBlock,
    ResidualBlock,
)


def _same_affine(ours, theirs) -> None:
    with torch.no_grad():
        ours.gamma.normal_()
        ours.beta.normal_()
        theirs.weight.copy_(ours.gamma)
        theirs.bias.copy_(ours.beta)


def _output_and_grads(module, x: torch.Tensor, w: torch.Tensor):
    x = x.clone().requires_grad_(True)
    y = module(x)
    (y * w).sum().backward()  # a loss whose gradient is w, not all ones
    params = [p.grad for p in module.parameters()]
    return y.detach(), x.grad, params


def test_batchnorm_matches_torch_in_outputs_gradients_and_running_statistics():
    torch.manual_seed(0)
    ours, theirs = BatchNorm(6).double(), torch.nn.BatchNorm1d(6).double()
    _same_affine(ours, theirs)
    for step in range(3):  # several batches move the running statistics
        x = torch.randn(9, 6, dtype=torch.double) * 3 + step
        w = torch.randn(9, 6, dtype=torch.double)
        for module in (ours, theirs):
            module.zero_grad()
        y1, gx1, gp1 = _output_and_grads(ours, x, w)
        y2, gx2, gp2 = _output_and_grads(theirs, x, w)
        torch.testing.assert_close(y1, y2)
        torch.testing.assert_close(gx1, gx2)
        for a, b in zip(gp1, gp2, strict=True):
            torch.testing.assert_close(a, b)
    torch.testing.assert_close(ours.running_mean, theirs.running_mean)
    torch.testing.assert_close(ours.running_var, theirs.running_var)


def test_batchnorm_in_eval_mode_uses_running_statistics_like_torch():
    torch.manual_seed(1)
    ours, theirs = BatchNorm(4).double(), torch.nn.BatchNorm1d(4).double()
    _same_affine(ours, theirs)
    for _ in range(5):
        x = torch.randn(16, 4, dtype=torch.double) * 2 + 1
        ours(x), theirs(x)
    ours.eval(), theirs.eval()
    x, w = torch.randn(3, 4, dtype=torch.double), torch.randn(3, 4, dtype=torch.double)
    y1, gx1, gp1 = _output_and_grads(ours, x, w)
    y2, gx2, gp2 = _output_and_grads(theirs, x, w)
    torch.testing.assert_close(y1, y2)
    torch.testing.assert_close(gx1, gx2)
    for a, b in zip(gp1, gp2, strict=True):
        torch.testing.assert_close(a, b)
    # a single example is normalized by the running statistics, not by itself
    assert not torch.allclose(ours(x[:1]), torch.zeros(1, 4, dtype=torch.double))


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_layernorm_matches_torch_in_outputs_and_gradients(mode):
    torch.manual_seed(2)
    ours, theirs = LayerNorm(7).double(), torch.nn.LayerNorm(7).double()
    _same_affine(ours, theirs)
    ours.train(mode == "train"), theirs.train(mode == "train")
    x = torch.randn(5, 7, dtype=torch.double) * 4 - 2
    w = torch.randn(5, 7, dtype=torch.double)
    y1, gx1, gp1 = _output_and_grads(ours, x, w)
    y2, gx2, gp2 = _output_and_grads(theirs, x, w)
    torch.testing.assert_close(y1, y2)
    torch.testing.assert_close(gx1, gx2)
    for a, b in zip(gp1, gp2, strict=True):
        torch.testing.assert_close(a, b)


def test_batchnorm_normalizes_columns_and_layernorm_normalizes_rows():
    torch.manual_seed(3)
    x = (
        torch.randn(32, 8) * torch.arange(1.0, 9.0) + 5
    )  # (B, C) features of different scales
    bn, ln = BatchNorm(8)(x), LayerNorm(8)(x)
    torch.testing.assert_close(bn.mean(0), torch.zeros(8), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        bn.var(0, unbiased=False), torch.ones(8), atol=1e-3, rtol=0
    )
    torch.testing.assert_close(ln.mean(1), torch.zeros(32), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        ln.var(1, unbiased=False), torch.ones(32), atol=1e-3, rtol=0
    )
    assert (
        bn.mean(1).abs().max() > 0.1 and ln.mean(0).abs().max() > 0.1
    )  # and not the other way


def test_deep_net_gradients_match_finite_differences():
    torch.manual_seed(4)
    for block in ("plain", "residual"):
        model = DeepNet(
            DeepConfig(
                in_features=5,
                width=4,
                depth=3,
                classes=3,
                activation="tanh",
                norm="layer",
                block=block,
            )
        ).double()
        x, y = torch.randn(6, 5, dtype=torch.double), torch.randint(3, (6,))
        x.requires_grad_(True)

        def loss(x, model=model, y=y):  # bound now: ruff's B023
            return F.cross_entropy(model(x), y)

        assert torch.autograd.gradcheck(loss, (x,), eps=1e-6, atol=1e-6)


def test_residual_block_adds_its_input_to_the_plain_blocks_output():
    torch.manual_seed(5)
    plain = PlainBlock(6, "relu", "none")
    residual = ResidualBlock(6, "relu", "none")
    residual.load_state_dict(plain.state_dict())  # the two share one layer's parameters
    h = torch.randn(4, 6)
    torch.testing.assert_close(residual(h), h + plain(h))


def test_residual_stack_passes_the_gradient_where_a_plain_sigmoid_stack_loses_it():
    torch.manual_seed(6)
    x, y = torch.randn(64, 64), torch.randint(10, (64,))
    ratios = {}
    for block in ("plain", "residual"):
        model = DeepNet(DeepConfig(depth=20, activation="sigmoid", block=block))
        _, hs = model.states(x)
        for h in hs:
            h.retain_grad()
        F.cross_entropy(model.head(hs[-1]), y).backward()
        ratios[block] = (hs[0].grad.norm() / hs[-1].grad.norm()).item()
    assert ratios["plain"] < 1e-6  # twenty factors of at most 1/4 each
    assert ratios["residual"] > 0.5  # the identity carries it through


def test_states_and_logits_have_the_documented_shapes():
    model = DeepNet(DeepConfig(depth=4, width=16, norm="batch", block="residual"))
    logits, hs = model.states(torch.zeros(3, 8, 8))
    assert logits.shape == (3, 10)
    assert len(hs) == 5 and all(h.shape == (3, 16) for h in hs)
    assert model(torch.zeros(3, 64)).shape == (3, 10)


@pytest.mark.parametrize("norm", ["none", "batch", "layer"])
@pytest.mark.parametrize("block", ["plain", "residual"])
def test_a_few_steps_of_training_lower_the_loss(norm, block):
    torch.manual_seed(7)
    x, y = torch.randn(64, 20), torch.randint(3, (64,))
    model = DeepNet(
        DeepConfig(in_features=20, width=32, depth=5, classes=3, norm=norm, block=block)
    )
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="DeepConfig.depth must be a positive integer"):
        DeepConfig(depth=0)
    with pytest.raises(
        ValueError, match="DeepConfig.norm must be one of none, batch, layer"
    ):
        DeepConfig(norm="group")
    with pytest.raises(
        ValueError, match="DeepConfig.block must be one of plain, residual"
    ):
        DeepConfig(block="dense")
    with pytest.raises(ValueError, match="expected 64 input features, got 784"):
        DeepNet()(torch.zeros(2, 28, 28))
    with pytest.raises(ValueError, match="num_features must be a positive integer"):
        BatchNorm(0)
    with pytest.raises(ValueError, match="momentum must be in"):
        BatchNorm(3, momentum=0.0)
    with pytest.raises(
        ValueError, match=r"expects input of shape \(B, 3\); got \(2, 4\)"
    ):
        LayerNorm(3)(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="batch of 2 or more"):
        BatchNorm(3)(torch.zeros(1, 3))
