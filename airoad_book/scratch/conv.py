"""Convolution and max-pooling in NumPy, forward and backward, by hand.

LeCun, Bottou, Bengio & Haffner (1998), "Gradient-based learning applied to document
recognition", Proc. IEEE 86(11): 2278-2324.

A convolutional layer slides one small filter over every position of an image. Written
as a loop over the filter's *offsets* (i, j) instead of over the image's positions, each
iteration is a single matrix product over the whole batch: the k_h * k_w products are
the only loop, and the code stays close to the equation

    y[n, f, p, q] = b[f] + sum_{c, i, j} w[f, c, i, j] * x_pad[n, c, s*p + i, s*q + j].

The backward pass runs the same loop and hands each output gradient back to the input
pixels that produced it. Arrays are NCHW, as in `torch.nn.functional`: x (N, C, H, W),
weights (F, C, k_h, k_w). Every function here is checked against torch and against
central differences in `tests/test_scratch_conv.py`.
"""

from __future__ import annotations

import numpy as np


# --8<-- [start:size]
def output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Positions a kernel of width ``kernel`` takes along an axis of ``size`` pixels.

    The padded axis has ``size + 2 * padding`` pixels; the kernel starts at 0, stride, 2
    * stride, ... while it still fits: floor((size + 2 padding - kernel) / stride) + 1.
    """
    if kernel < 1 or stride < 1 or padding < 0:
        raise ValueError(
            f"expected kernel >= 1, stride >= 1, padding >= 0; got {kernel}, {stride}, "
            f"{padding}"
        )
    out = (size + 2 * padding - kernel) // stride + 1
    if out < 1:
        raise ValueError(
            f"a kernel of {kernel} does not fit in {size} pixels padded by {padding}"
        )
    return out
    # --8<-- [end:size]


def _window(
    xp: np.ndarray, i: int, j: int, stride: int, h_out: int, w_out: int
) -> np.ndarray:
    """The pixels that kernel offset (i, j) meets at every output position: (N, C,
    H_out, W_out)."""
    return xp[:, :, i : i + stride * h_out : stride, j : j + stride * w_out : stride]


# --8<-- [start:conv-forward]
def conv2d_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, padding: int = 0
) -> np.ndarray:
    """2-D cross-correlation, as `torch.nn.functional.conv2d`: x (N, C, H, W) -> (N, F,
    H_out, W_out).

    w is (F, C, k_h, k_w), b is (F,). Zero padding of ``padding`` pixels on every side.
    """
    N, C, H, W = x.shape
    F, C_w, kh, kw = w.shape
    if C_w != C:
        raise ValueError(f"weights expect {C_w} input channels, x has {C}")
    h_out, w_out = (
        output_size(H, kh, stride, padding),
        output_size(W, kw, stride, padding),
    )
    xp = np.pad(
        x, ((0, 0), (0, 0), (padding, padding), (padding, padding))
    )  # (N, C, H+2p, W+2p)
    y = np.zeros(
        (N, F, h_out, w_out), dtype=np.result_type(x, w)
    )  # (N, F, H_out, W_out)
    for i in range(kh):
        for j in range(kw):
            patch = _window(xp, i, j, stride, h_out, w_out)  # (N, C, H_out, W_out)
            y += np.einsum(
                "nchw,fc->nfhw", patch, w[:, :, i, j]
            )  # every position at once
    return y + b[None, :, None, None]  # (N, F, H_out, W_out)
    # --8<-- [end:conv-forward]


# --8<-- [start:conv-backward]
def conv2d_backward(
    dy: np.ndarray, x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a loss through `conv2d_forward`: given dL/dy (N, F, H_out, W_out),
    return (dL/dx (N, C, H, W), dL/dw (F, C, k_h, k_w), dL/db (F,)).

    Offset (i, j) multiplied ``w[:, :, i, j]`` into one strided window of the padded
    input, so its gradient is that window against dy, and the window's gradient is dy
    against ``w[:, :, i, j]``, added back where the window came from (windows overlap
    when the stride is smaller than the kernel, hence +=).
    """
    _, _, H, W = x.shape
    _, _, kh, kw = w.shape
    h_out, w_out = dy.shape[2], dy.shape[3]
    xp = np.pad(
        x, ((0, 0), (0, 0), (padding, padding), (padding, padding))
    )  # (N, C, H+2p, W+2p)
    dxp = np.zeros_like(xp)  # (N, C, H+2p, W+2p)
    dw = np.zeros_like(w)  # (F, C, kh, kw)
    for i in range(kh):
        for j in range(kw):
            patch = _window(xp, i, j, stride, h_out, w_out)  # (N, C, H_out, W_out)
            dw[:, :, i, j] = np.einsum("nfhw,nchw->fc", dy, patch)
            _window(dxp, i, j, stride, h_out, w_out)[...] += np.einsum(
                "nfhw,fc->nchw", dy, w[:, :, i, j]
            )
    db = dy.sum(axis=(0, 2, 3))  # (F,): the bias is added at every position
    dx = dxp[
        :, :, padding : padding + H, padding : padding + W
    ]  # (N, C, H, W): drop the padding
    return dx, dw, db
    # --8<-- [end:conv-backward]


# --8<-- [start:pool-forward]
def maxpool2d_forward(
    x: np.ndarray, kernel: int = 2, stride: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Max over k x k windows, as `torch.nn.functional.max_pool2d`: x (N, C, H, W) -> y
    (N, C, H_out, W_out).

    ``stride`` defaults to ``kernel`` (windows side by side). Also returns, for every
    output, which of the k*k offsets held the maximum (N, C, H_out, W_out) ints: the
    backward pass needs it, because only the winner passes a gradient back.
    """
    stride = kernel if stride is None else stride
    _, _, H, W = x.shape
    h_out, w_out = output_size(H, kernel, stride), output_size(W, kernel, stride)
    windows = np.stack(
        [
            _window(x, i, j, stride, h_out, w_out)
            for i in range(kernel)
            for j in range(kernel)
        ],
        axis=-1,
    )  # (N, C, H_out, W_out, k*k)
    winner = windows.argmax(
        axis=-1
    )  # (N, C, H_out, W_out): offset i*k + j of the maximum
    y = np.take_along_axis(windows, winner[..., None], axis=-1)[
        ..., 0
    ]  # (N, C, H_out, W_out)
    return y, winner
    # --8<-- [end:pool-forward]


# --8<-- [start:pool-backward]
def maxpool2d_backward(
    dy: np.ndarray,
    x_shape: tuple[int, ...],
    winner: np.ndarray,
    kernel: int = 2,
    stride: int | None = None,
) -> np.ndarray:
    """dL/dx (N, C, H, W) from dL/dy (N, C, H_out, W_out): each output's gradient goes
    to the one input pixel that won its window (``winner`` from `maxpool2d_forward`),
    zero elsewhere."""
    stride = kernel if stride is None else stride
    h_out, w_out = dy.shape[2], dy.shape[3]
    dx = np.zeros(x_shape, dtype=dy.dtype)  # (N, C, H, W)
    for i in range(kernel):
        for j in range(kernel):
            won = (
                winner == i * kernel + j
            )  # (N, C, H_out, W_out): outputs this offset won
            _window(dx, i, j, stride, h_out, w_out)[...] += dy * won
    return dx
    # --8<-- [end:pool-backward]


__all__ = [
    "conv2d_backward",
    "conv2d_forward",
    "maxpool2d_backward",
    "maxpool2d_forward",
    "output_size",
]
