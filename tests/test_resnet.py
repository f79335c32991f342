"""The book's ResNet: equal to torchvision's ResNet-18, its blocks, shapes, weights on
disk, and training."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from airoad_book.models.resnet import (
    BasicBlock,
    PlainBlock,
    ResNet,
    ResNetConfig,
    load_weights,
    num_parameters,
    plain_net,
    save_weights,
    small_resnet,
)

torchvision = pytest.importorskip("torchvision")


@pytest.fixture(scope="module")
def pair():
    """torchvision's ResNet-18 and the book's with torchvision's weights loaded."""
    torch.manual_seed(0)
    tv = torchvision.models.resnet18(weights=None)
    ours = ResNet()
    ours.load_state_dict(tv.state_dict(), strict=True)  # every name and shape matches
    return tv, ours


def test_resnet18_has_torchvisions_parameters(pair):
    tv, ours = pair
    assert num_parameters(ours) == num_parameters(tv) == 11_689_512
    assert [k for k in ours.state_dict()] == [k for k in tv.state_dict()]


def test_resnet18_matches_torchvision_in_eval_and_train_mode(pair):
    tv, ours = pair
    x = torch.randn(2, 3, 64, 64)
    for train in (False, True):
        tv.train(train), ours.train(train)
        with torch.no_grad():
            torch.testing.assert_close(ours(x), tv(x), rtol=0, atol=1e-6)
    tv.eval(), ours.eval()


def test_resnet18_gradients_match_torchvision(pair):
    tv, ours = pair
    x, y = torch.randn(2, 3, 32, 32), torch.tensor([3, 7])
    for m in (tv, ours):
        m.zero_grad()
        F.cross_entropy(m(x), y).backward()
    for (name, a), (_, b) in zip(ours.named_parameters(), tv.named_parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-6, msg=name)


def test_torchvision_weights_path_loads_weights_the_book_saved(tmp_path, pair):
    """resnet18(weights=...) reads a file in the hub cache before it downloads
    anything: put the book's own weights there and it loads them, offline."""
    from torchvision.models import ResNet18_Weights, resnet18

    _, ours = pair
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path))
    try:
        weights = ResNet18_Weights.IMAGENET1K_V1
        name = weights.url.rsplit("/", 1)[-1]
        save_weights(ours, tmp_path / "checkpoints" / name)
        loaded = resnet18(weights=weights).eval()
    finally:
        torch.hub.set_dir(old)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), ours.eval()(x), rtol=0, atol=1e-6)


def test_save_and_load_weights_round_trip(tmp_path):
    torch.manual_seed(1)
    a, b = ResNet(small_resnet()), ResNet(small_resnet())
    path = save_weights(a, tmp_path / "w" / "small.pt")
    load_weights(b, path)
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k
    assert [p.name for p in path.parent.iterdir()] == ["small.pt"]  # no temp file


def test_save_weights_is_atomic(tmp_path, monkeypatch):
    path = save_weights(ResNet(small_resnet()), tmp_path / "w.pt")
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_weights(ResNet(small_resnet()), path)
    assert path.read_bytes() == before  # the old file is whole
    assert [p.name for p in tmp_path.iterdir()] == ["w.pt"]  # no temp file left


def test_load_weights_names_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no weights file"):
        load_weights(ResNet(small_resnet()), tmp_path / "nothing.pt")


def test_small_resnet_shapes_on_digits():
    model = ResNet(small_resnet(num_classes=7))
    x = torch.rand(5, 28, 28)  # grey digits without a channel axis
    assert model(x).shape == (5, 7)
    assert model.features(x).shape == (5, 128)
    assert model(x.unsqueeze(1)).shape == (5, 7)


def test_resnet_rejects_images_with_the_wrong_channels():
    with pytest.raises(ValueError, match=r"expected images \(B, 1, H, W\)"):
        ResNet(small_resnet())(torch.rand(2, 3, 28, 28))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"widths": (8, 16), "blocks": (1,)},
        {"widths": (), "blocks": ()},
        {"blocks": (2, 0, 2, 2)},
        {"num_classes": 0},
    ],
)
def test_config_rejects_bad_shapes(kwargs):
    with pytest.raises(ValueError):
        ResNetConfig(**kwargs)


def test_projection_shortcut_only_where_the_shape_changes():
    model = ResNet(small_resnet())
    with_projection = [
        name
        for name, m in model.named_modules()
        if isinstance(m, BasicBlock) and m.downsample is not None
    ]
    assert with_projection == ["layer2.0", "layer3.0", "layer4.0"]
    assert BasicBlock(8, 8, stride=2).downsample is not None


def test_identity_block_with_a_zero_residual_passes_its_input_through():
    block = BasicBlock(4, 4).eval()
    torch.nn.init.zeros_(block.bn2.weight)  # F(x) = 0
    x = torch.randn(2, 4, 6, 6)
    torch.testing.assert_close(block(x), torch.relu(x))


def test_plain_block_is_the_residual_branch_alone():
    torch.manual_seed(0)
    plain = PlainBlock(4, 8, stride=2).eval()
    assert plain.downsample is None
    x = torch.randn(2, 4, 6, 6)
    out = plain(x)
    assert out.shape == (2, 8, 3, 3)
    torch.testing.assert_close(out, torch.relu(plain.residual(x)))
    twin = plain_net(small_resnet())
    assert all(isinstance(b, PlainBlock) for s in twin.stages for b in s)


def test_basic_block_gradients_match_finite_differences():
    torch.manual_seed(0)
    block = BasicBlock(2, 3, stride=2).double().eval()
    x = torch.randn(1, 2, 5, 5, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(block, (x,))


def test_small_resnet_loss_falls_on_real_digits():
    from airoad_book.data import digits

    d = digits("mnist")
    x, y = torch.from_numpy(d.x_train[:64]), torch.from_numpy(d.y_train[:64])
    torch.manual_seed(0)
    model = ResNet(small_resnet((8, 16, 32, 64), (1, 1, 1, 1)))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0]
