"""The IDX writer: torchvision's own MNIST reader loads what it writes, exactly."""

import numpy as np
import pytest
import torch
from torchvision import datasets
from torchvision.datasets.mnist import read_image_file, read_label_file

from airoad_book.data import digits
from airoad_book.data.idx import write_idx, write_mnist


def test_torchvision_reads_the_written_mnist_exactly(tmp_path):
    d = digits("mnist")
    write_mnist(tmp_path, d)
    train = datasets.MNIST(tmp_path, train=True, download=False)
    test = datasets.MNIST(tmp_path, train=False, download=False)
    assert len(train) == len(d.x_train) == 4000 and len(test) == len(d.x_test) == 1000
    assert torch.equal(train.data, torch.from_numpy(np.rint(d.x_train * 255)).byte())
    assert torch.equal(test.targets, torch.from_numpy(d.y_test))


def test_an_idx_file_has_the_header_lecun_describes(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / "x-idx3-ubyte", a)
    raw = path.read_bytes()
    assert raw[:4] == bytes([0, 0, 0x08, 3])  # zero, zero, unsigned byte, 3 dims
    assert int.from_bytes(raw[4:8], "big") == 2 and len(raw) == 4 + 12 + 24
    assert torch.equal(read_image_file(str(path)), torch.from_numpy(a))
    labels = write_idx(tmp_path / "y-idx1-ubyte", np.array([3, 1, 4], dtype=np.uint8))
    assert read_label_file(str(labels)).tolist() == [3, 1, 4]


def test_write_idx_rejects_what_idx_ubyte_cannot_hold(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        write_idx(tmp_path / "x", np.zeros((2, 2), dtype=np.float32))
