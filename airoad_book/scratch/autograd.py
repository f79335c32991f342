"""A small reverse-mode autograd engine over NumPy arrays: what `loss.backward()` does.

Linnainmaa (1970) and Rumelhart, Hinton & Williams (1986); the design follows Karpathy's
micrograd (<https://github.com/karpathy/micrograd>), lifted from scalars to arrays.

Each operation returns a new `Tensor` that remembers its inputs (its parents) and a
closure, ``_backward``, that turns the gradient of its output into gradients of its
inputs: the local vector-Jacobian product of chapter 2. ``Tensor.backward`` sorts the
graph so that every node comes after the nodes it was made from, then calls the closures
in reverse. Gradients are *added* (``+=``), so a node used twice receives both
contributions. Leaves keep adding across calls, as PyTorch's ``AccumulateGrad`` does,
which is why a training loop zeroes them; intermediate nodes start each backward pass at
zero. Chapter 1's hand gradients and torch's autograd check it (tests/test_autograd.py).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


# --8<-- [start:node]
class Tensor:
    """An array in a computation graph: ``data``, its gradient ``grad`` (same shape),
    the tensors it was made from and the closure that sends gradient back to them."""

    def __init__(self, data, parents: tuple[Tensor, ...] = (), op: str = "") -> None:
        self.data = np.asarray(data, dtype=np.float64)
        self.grad = np.zeros_like(self.data)  # dL/d(data), filled by backward()
        self.parents = parents  # the inputs of the operation that made this tensor
        self.op = op  # its name, for printing the graph
        self._backward = lambda: None  # a leaf sends nothing further back

    def __repr__(self) -> str:
        return f"Tensor(shape={self.data.shape}, op={self.op or 'leaf'!r})"

    # --8<-- [end:node]

    # --8<-- [start:ops]
    def __add__(self, other: Tensor | float) -> Tensor:
        other = as_tensor(other)
        out = Tensor(self.data + other.data, (self, other), "add")

        def _backward():  # d(a + b)/da = 1: pass the gradient through, unbroadcast
            self.grad += _unbroadcast(out.grad, self.data.shape)
            other.grad += _unbroadcast(out.grad, other.data.shape)

        out._backward = _backward
        return out

    def __mul__(self, other: Tensor | float) -> Tensor:
        other = as_tensor(other)
        out = Tensor(self.data * other.data, (self, other), "mul")

        def _backward():  # d(a b)/da = b, elementwise
            self.grad += _unbroadcast(out.grad * other.data, self.data.shape)
            other.grad += _unbroadcast(out.grad * self.data, other.data.shape)

        out._backward = _backward
        return out

    def __matmul__(self, other: Tensor | float) -> Tensor:
        other = as_tensor(other)
        out = Tensor(self.data @ other.data, (self, other), "matmul")

        def _backward():  # y = x W: dL/dx = g W^T, dL/dW = x^T g (chapter 1's Dense)
            self.grad += out.grad @ other.data.T
            other.grad += self.data.T @ out.grad

        out._backward = _backward
        return out

    def tanh(self) -> Tensor:
        """Elementwise tanh, same shape."""
        out = Tensor(np.tanh(self.data), (self,), "tanh")

        def _backward():  # d tanh(a)/da = 1 - tanh(a)^2, from the saved output
            self.grad += out.grad * (1.0 - out.data**2)

        out._backward = _backward
        return out

    def relu(self) -> Tensor:
        """Elementwise max(0, x), same shape."""
        out = Tensor(np.maximum(self.data, 0.0), (self,), "relu")

        def _backward():  # the mask of positive inputs
            self.grad += out.grad * (self.data > 0)

        out._backward = _backward
        return out

    def sum(self) -> Tensor:
        """The sum of all elements, a scalar (shape ())."""
        out = Tensor(self.data.sum(), (self,), "sum")

        def _backward():  # every element contributed with weight 1
            self.grad += np.ones_like(self.data) * out.grad

        out._backward = _backward
        return out

    # --8<-- [end:ops]

    # --8<-- [start:backward]
    def backward(self) -> None:
        """dL/d(node) for every node this scalar L was computed from, leaves too."""
        if self.data.shape != ():
            raise ValueError(f"backward() needs a scalar, got shape {self.data.shape}")
        order: list[Tensor] = []  # topological: each node after its parents
        seen: set[int] = set()

        def visit(node: Tensor) -> None:
            if id(node) not in seen:
                seen.add(id(node))
                for parent in node.parents:
                    visit(parent)
                order.append(node)

        visit(self)
        for node in order:  # intermediate gradients start at zero on every pass;
            if node.parents:  # leaves keep adding up (zero them with zero_grad)
                node.grad = np.zeros_like(node.data)
        self.grad = np.ones_like(self.data)  # dL/dL = 1
        for node in reversed(order):  # a node's gradient is complete before it is used
            node._backward()

    # --8<-- [end:backward]


# --8<-- [start:helpers]
def as_tensor(x: Tensor | float | np.ndarray) -> Tensor:
    """``x`` itself if it is a Tensor, else a new leaf holding it (a constant)."""
    return x if isinstance(x, Tensor) else Tensor(x)


def _unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes broadcasting added or stretched: back to ``shape``."""
    while grad.ndim > len(shape):  # axes added in front, e.g. a bias (D,) on (B, D)
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1:  # axes stretched from 1
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def cross_entropy(logits: Tensor, labels: np.ndarray) -> Tensor:
    """Mean cross-entropy (nats) of softmax(logits) (B, K) against labels (B,): one node
    whose local gradient is chapter 1's (p - onehot(y)) / B."""
    z = logits.data
    labels = np.asarray(labels)
    if z.ndim != 2 or labels.shape != (z.shape[0],):
        raise ValueError(
            f"expected logits (B, K) and labels (B,), got {z.shape} and {labels.shape}"
        )
    rows = np.arange(len(labels))
    log_p = z - z.max(axis=1, keepdims=True)  # (B, K), stable as in chapter 1
    log_p = log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    out = Tensor(-log_p[rows, labels].mean(), (logits,), "cross_entropy")

    def _backward():
        grad = np.exp(log_p)  # (B, K): p
        grad[rows, labels] -= 1.0
        logits.grad += out.grad * grad / len(labels)

    out._backward = _backward
    return out


def zero_grad(params: Iterable[Tensor]) -> None:
    """Set every leaf's gradient to zero: torch's ``optimizer.zero_grad()``."""
    for p in params:
        p.grad = np.zeros_like(p.data)
    # --8<-- [end:helpers]


__all__ = ["Tensor", "as_tensor", "cross_entropy", "zero_grad"]
