"""The chapter 4 models: shapes, agreement with the NumPy convolution, bad input, and
learning."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from airoad_book.data import digits
from airoad_book.models.cnn import (
    Autoencoder,
    AutoencoderConfig,
    ConvEncoder,
    DigitReader,
    DigitReaderConfig,
    LeNet,
    LeNetConfig,
    num_parameters,
)
from airoad_book.scratch.conv import conv2d_forward, maxpool2d_forward


def test_lenet_maps_images_to_logits_with_the_paper_shapes():
    torch.manual_seed(0)
    model = LeNet()
    x = torch.rand(3, 28, 28)
    maps = model.features(x)
    assert maps["conv1"].shape == (3, 6, 28, 28)
    assert maps["conv2"].shape == (3, 16, 10, 10)
    assert model(x).shape == (3, 10)
    assert model(x.unsqueeze(1)).shape == (3, 10)  # with or without the channel axis


def test_lenet_has_the_parameter_count_of_its_layers():
    # conv1 6*(25+1), conv2 16*(6*25+1), fc 400*120+120, 120*84+84, 84*10+10
    expected = 6 * 26 + 16 * 151 + 400 * 120 + 120 + 120 * 84 + 84 + 84 * 10 + 10
    assert num_parameters(LeNet()) == expected == 61_706


def test_lenet_first_layer_equals_the_numpy_convolution_and_pool():
    torch.manual_seed(1)
    model = LeNet()
    x = torch.rand(2, 1, 28, 28)
    w, b = (p.detach().double().numpy() for p in (model.conv1.weight, model.conv1.bias))
    ours = np.maximum(
        conv2d_forward(x.double().numpy(), w, b, stride=1, padding=2), 0
    )  # ReLU
    np.testing.assert_allclose(
        ours, model.features(x)["conv1"].detach().numpy(), atol=1e-5
    )
    pooled, _ = maxpool2d_forward(ours, 2)
    np.testing.assert_allclose(
        pooled, F.max_pool2d(model.features(x)["conv1"], 2).detach().numpy(), atol=1e-5
    )


def test_encoder_halves_the_side_twice():
    enc = ConvEncoder((4, 8), 12)
    assert enc.convs(torch.rand(5, 1, 28, 28)).shape == (5, 8, 7, 7)
    assert enc(torch.rand(5, 28, 28)).shape == (5, 12)


def test_reader_gives_a_digit_and_a_running_sum_per_position():
    config = DigitReaderConfig(length=3, channels=(4, 8), features=16, hidden=24)
    d, s = DigitReader(config)(torch.rand(2, 3, 28, 28))
    assert d.shape == (2, 3, 10)
    assert s.shape == (2, 3, config.max_sum + 1) == (2, 3, 28)


def test_autoencoder_codes_are_two_numbers_and_images_come_back_in_0_1():
    model = Autoencoder(AutoencoderConfig(channels=(4, 8), hidden=16))
    x = torch.rand(4, 28, 28)
    z = model.encode(x)
    assert z.shape == (4, 2)
    out = model(x)
    assert out.shape == (4, 1, 28, 28)
    assert out.min() >= 0 and out.max() <= 1
    assert torch.equal(model.decode(z), out)


@pytest.mark.parametrize(
    "make",
    [
        lambda: LeNetConfig(kernel=4),
        lambda: LeNetConfig(channels=(6, 0)),
        lambda: LeNetConfig(hidden=(120,)),
        lambda: DigitReaderConfig(length=0),
        lambda: AutoencoderConfig(latent=0),
        lambda: ConvEncoder((4, 8), 0),
    ],
)
def test_bad_configs_are_refused_with_a_value_error(make):
    with pytest.raises(ValueError):
        make()


def test_images_of_the_wrong_size_are_a_clear_error():
    with pytest.raises(ValueError, match="28, 28"):
        LeNet()(torch.rand(2, 32, 32))
    with pytest.raises(ValueError, match="image rows"):
        DigitReader(DigitReaderConfig(length=4))(torch.rand(2, 3, 28, 28))


def _loss_falls(model, loss_fn, steps=30, lr=3e-3):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    first = None
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    return first, loss_fn().item()


def test_lenet_loss_falls_on_one_batch_of_real_digits():
    torch.manual_seed(2)
    d = digits("mnist")
    model, x, y = (
        LeNet(),
        torch.from_numpy(d.x_train[:32]),
        torch.from_numpy(d.y_train[:32]),
    )
    first, last = _loss_falls(
        model, lambda: F.cross_entropy(model(x), y), steps=30, lr=3e-3
    )
    assert last < 0.5 * first


def test_reader_loss_falls_on_one_batch():
    torch.manual_seed(3)
    model = DigitReader(
        DigitReaderConfig(length=2, channels=(4, 8), features=16, hidden=32)
    )
    x, y = torch.rand(8, 2, 28, 28), torch.randint(0, 10, (8, 2))

    def loss():
        d, s = model(x)
        return F.cross_entropy(d.flatten(0, 1), y.flatten()) + F.cross_entropy(
            s.flatten(0, 1), y.cumsum(1).flatten()
        )

    first, last = _loss_falls(model, loss, steps=40, lr=1e-2)
    assert last < 0.5 * first


def test_autoencoder_reconstruction_error_falls_on_one_batch():
    torch.manual_seed(4)
    model = Autoencoder(AutoencoderConfig(channels=(4, 8), hidden=32))
    x = (torch.rand(8, 28, 28) > 0.7).float()
    first, last = _loss_falls(
        model,
        lambda: F.binary_cross_entropy_with_logits(
            model.decode_logits(model.encode(x)), x.unsqueeze(1)
        ),
        steps=40,
        lr=1e-2,
    )
    assert last < first
