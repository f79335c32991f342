"""The NumPy convolution and max-pool: equal to torch.nn.functional, and their backward
to finite differences."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from airoad_book.scratch.conv import (
    conv2d_backward,
    conv2d_forward,
    maxpool2d_backward,
    maxpool2d_forward,
    output_size,
)
from airoad_book.scratch.gradcheck import numerical_gradient, relative_error

CONV_CASES = [  # (N, C, H, W, F, k_h, k_w, stride, padding)
    (2, 3, 8, 8, 4, 3, 3, 1, 0),
    (2, 3, 9, 7, 5, 3, 3, 2, 1),
    (1, 2, 10, 10, 3, 5, 5, 1, 2),
    (3, 1, 11, 9, 2, 4, 2, 3, 2),
    (2, 2, 6, 6, 3, 1, 1, 2, 0),
]
POOL_CASES = [
    (2, 3, 8, 8, 2, None),
    (2, 2, 9, 7, 3, 2),
    (1, 3, 7, 10, 2, 1),
    (2, 1, 12, 12, 4, 3),
]


def _conv_inputs(case, seed=0):
    N, C, H, W, F_, kh, kw, stride, padding = case
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(N, C, H, W)),
        rng.normal(size=(F_, C, kh, kw)),
        rng.normal(size=F_),
        stride,
        padding,
    )


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_matches_torch_with_stride_and_padding(case):
    x, w, b, stride, padding = _conv_inputs(case)
    ours = conv2d_forward(x, w, b, stride, padding)
    theirs = F.conv2d(
        torch.from_numpy(x),
        torch.from_numpy(w),
        torch.from_numpy(b),
        stride=stride,
        padding=padding,
    )
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_backward_matches_torch_autograd(case):
    x, w, b, stride, padding = _conv_inputs(case, seed=1)
    dy = np.random.default_rng(2).normal(
        size=conv2d_forward(x, w, b, stride, padding).shape
    )
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    F.conv2d(tx, tw, tb, stride=stride, padding=padding).backward(torch.from_numpy(dy))
    dx, dw, db = conv2d_backward(dy, x, w, stride, padding)
    for ours, theirs in ((dx, tx.grad), (dw, tw.grad), (db, tb.grad)):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", [CONV_CASES[1], CONV_CASES[3]])
def test_conv2d_backward_equals_central_differences(case):
    x, w, b, stride, padding = _conv_inputs(case, seed=3)
    dy = np.random.default_rng(4).normal(
        size=conv2d_forward(x, w, b, stride, padding).shape
    )

    def loss() -> float:  # a scalar whose gradient w.r.t. y is dy
        return float(np.sum(conv2d_forward(x, w, b, stride, padding) * dy))

    dx, dw, db = conv2d_backward(dy, x, w, stride, padding)
    for analytic, param in ((dx, x), (dw, w), (db, b)):
        assert relative_error(analytic, numerical_gradient(loss, param)) < 1e-5


def test_a_flipped_kernel_backward_is_caught_by_the_check():
    # the classic slip: treating the layer as a true convolution (kernel flipped) in
    # backward
    x, w, b, stride, padding = _conv_inputs(CONV_CASES[1], seed=5)
    dy = np.random.default_rng(9).normal(
        size=conv2d_forward(x, w, b, stride, padding).shape
    )
    dx_wrong, _, _ = conv2d_backward(dy, x, w[:, :, ::-1, ::-1].copy(), stride, padding)
    numeric = numerical_gradient(
        lambda: float(np.sum(conv2d_forward(x, w, b, stride, padding) * dy)), x
    )
    assert relative_error(dx_wrong, numeric) > 0.1


@pytest.mark.parametrize("case", POOL_CASES)
def test_maxpool_matches_torch_with_stride(case):
    N, C, H, W, k, stride = case
    x = np.random.default_rng(6).normal(size=(N, C, H, W))
    ours, _ = maxpool2d_forward(x, k, stride)
    theirs = F.max_pool2d(torch.from_numpy(x), k, stride)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours, theirs.numpy())


@pytest.mark.parametrize("case", POOL_CASES)
def test_maxpool_backward_matches_torch_and_central_differences(case):
    N, C, H, W, k, stride = case
    x = np.random.default_rng(7).normal(size=(N, C, H, W))
    y, winner = maxpool2d_forward(x, k, stride)
    dy = np.random.default_rng(8).normal(size=y.shape)
    dx = maxpool2d_backward(dy, x.shape, winner, k, stride)
    tx = torch.tensor(x, requires_grad=True)
    F.max_pool2d(tx, k, stride).backward(torch.from_numpy(dy))
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    numeric = numerical_gradient(
        lambda: float(np.sum(maxpool2d_forward(x, k, stride)[0] * dy)), x
    )
    assert relative_error(dx, numeric) < 1e-5


def test_maxpool_passes_gradient_only_to_the_winner_of_each_window():
    x = np.array([[[[1.0, 5.0], [3.0, 2.0]]]])  # (1, 1, 2, 2): one window, 5 wins
    _, winner = maxpool2d_forward(x, 2)
    dx = maxpool2d_backward(np.array([[[[7.0]]]]), x.shape, winner, 2)
    np.testing.assert_array_equal(dx, [[[[0.0, 7.0], [0.0, 0.0]]]])


def test_output_size_follows_the_formula_and_refuses_a_kernel_that_does_not_fit():
    assert output_size(28, 5, 1, 2) == 28
    assert output_size(9, 3, 2, 1) == 5
    with pytest.raises(ValueError, match="does not fit"):
        output_size(3, 5)


def test_conv2d_refuses_mismatched_channels():
    with pytest.raises(ValueError, match="input channels"):
        conv2d_forward(np.zeros((1, 3, 5, 5)), np.zeros((2, 2, 3, 3)), np.zeros(2))
