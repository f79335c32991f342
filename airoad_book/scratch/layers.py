"""Layers of a neural network in NumPy, each with its backward pass written by hand.

Rumelhart, Hinton & Williams (1986), "Learning representations by back-propagating
errors", Nature 323: 533-536, <https://doi.org/10.1038/323533a0>.

Every layer follows one contract:

- ``forward(x)`` computes the output and caches what the backward pass will need;
- ``backward(grad_out)`` takes dL/d(output), returns dL/d(input), and stores the gradient
  of each parameter in ``.grads`` under the parameter's name in ``.params``.

Arrays are rows of examples: ``x`` is (B, D) for B examples of D features. Layouts
follow the equations: a dense layer computes ``y = x @ W + b`` with ``W`` shaped (D_in,
D_out). (`torch.nn.Linear` stores the transpose, (D_out, D_in); chapter 2 converts
between them.)
"""

from __future__ import annotations

import numpy as np

INITS = ("naive", "xavier", "he")


# --8<-- [start:init]
def init_weights(
    n_in: int, n_out: int, scheme: str, rng: np.random.Generator
) -> np.ndarray:
    """A (n_in, n_out) weight matrix drawn from a zero-mean normal whose scale
    ``scheme`` sets.

    - ``"naive"``: standard deviation 0.01, whatever the width;
    - ``"xavier"`` (Glorot & Bengio 2010): variance 2 / (n_in + n_out), which keeps the
      variance of activations and of gradients about constant through tanh layers;
    - ``"he"`` (He et al. 2015): variance 2 / n_in, which makes up for ReLU zeroing half
      of its inputs.
    """
    if scheme == "naive":
        std = 0.01
    elif scheme == "xavier":
        std = np.sqrt(2.0 / (n_in + n_out))
    elif scheme == "he":
        std = np.sqrt(2.0 / n_in)
    else:
        raise ValueError(f"init must be one of {', '.join(INITS)}; got {scheme!r}")
    return rng.normal(0.0, std, size=(n_in, n_out))
    # --8<-- [end:init]


class Layer:
    """The contract every layer keeps: ``forward`` caches, ``backward`` returns
    dL/dx."""

    def __init__(self) -> None:
        self.params: dict[
            str, np.ndarray
        ] = {}  # name -> array, updated in place by optimizers
        self.grads: dict[
            str, np.ndarray
        ] = {}  # name -> dL/d(param), same shape, set by backward
        self.training = True  # dropout reads it; the others ignore it

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Map the input (B, D_in) to the output (B, D_out), caching what backward
        needs."""
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Map dL/d(output) (B, D_out) to dL/d(input) (B, D_in); fill ``self.grads``."""
        raise NotImplementedError


# --8<-- [start:dense]
class Dense(Layer):
    """y = x W + b: x (B, D_in), W (D_in, D_out), b (D_out,), y (B, D_out)."""

    def __init__(
        self,
        n_in: int,
        n_out: int,
        init: str = "he",
        rng: np.random.Generator | None = None,
        dtype: type = np.float64,
    ) -> None:
        super().__init__()
        if n_in < 1 or n_out < 1:
            raise ValueError(
                f"a dense layer needs positive widths, got n_in={n_in}, n_out={n_out}"
            )
        rng = rng if rng is not None else np.random.default_rng(0)
        self.params = {
            "W": init_weights(n_in, n_out, init, rng).astype(dtype),
            "b": np.zeros(n_out, dtype=dtype),
        }

    def forward(self, x: np.ndarray) -> np.ndarray:
        """y = x W + b, (B, D_out); caches x."""
        self.x = x  # (B, D_in): dL/dW needs it
        return x @ self.params["W"] + self.params["b"]  # (B, D_out)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """dL/dW = xᵀ g, dL/db = Σ_rows g, dL/dx = g Wᵀ, with g = dL/dy (B, D_out)."""
        self.grads["W"] = self.x.T @ grad_out  # (D_in, D_out): sums over the batch
        self.grads["b"] = grad_out.sum(axis=0)  # (D_out,)
        return grad_out @ self.params["W"].T  # (B, D_in)

    # --8<-- [end:dense]


# --8<-- [start:activations]
class Sigmoid(Layer):
    """σ(x) = 1 / (1 + e^{-x}), elementwise; σ'(x) = σ(x)(1 − σ(x)) ≤ 1/4."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """σ(x), same shape as x; caches the output."""
        # two branches so that e^{-x} never overflows for very negative x
        e = np.exp(-np.abs(x))
        self.y = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return self.y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """dL/dx = dL/dy · y(1 − y), same shape as x."""
        return grad_out * self.y * (1.0 - self.y)


class Tanh(Layer):
    """tanh(x), elementwise; tanh'(x) = 1 − tanh(x)²."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """tanh(x), same shape as x; caches the output."""
        self.y = np.tanh(x)
        return self.y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """dL/dx = dL/dy · (1 − y²), same shape as x."""
        return grad_out * (1.0 - self.y**2)


class ReLU(Layer):
    """max(0, x), elementwise; its derivative is 1 where x > 0 and 0 elsewhere."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """max(0, x), same shape as x; caches where x was positive."""
        self.mask = x > 0
        return x * self.mask

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """dL/dx = dL/dy where x > 0, else 0 (the kink at 0 takes the derivative 0)."""
        return grad_out * self.mask

    # --8<-- [end:activations]


ACTIVATIONS: dict[str, type[Layer]] = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}


# --8<-- [start:dropout]
class Dropout(Layer):
    """Inverted dropout (Srivastava et al. 2014): in training, zero each unit with
    probability p and scale the survivors by 1/(1 − p), so that evaluation needs no
    change at all."""

    def __init__(self, p: float, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.rng = rng if rng is not None else np.random.default_rng(0)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x with a random share p of its entries zeroed and the rest scaled, same
        shape."""
        if not self.training or self.p == 0.0:
            self.mask = None
            return x
        keep = self.rng.random(x.shape) >= self.p  # (B, D) True for the survivors
        self.mask = keep / (1.0 - self.p)  # (B, D) 0 or 1/(1-p)
        return x * self.mask

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """dL/dx = dL/dy times the same mask, same shape."""
        return grad_out if self.mask is None else grad_out * self.mask

    # --8<-- [end:dropout]


# --8<-- [start:softmax]
def log_softmax(z: np.ndarray) -> np.ndarray:
    """log p_k = z_k − log Σ_j e^{z_j}, rowwise, for logits z (B, K); stable for any z.

    Subtracting the row maximum m first changes nothing mathematically, log Σ_j e^{z_j}
    = m + log Σ_j e^{z_j − m}, but keeps every exponent ≤ 0: no overflow, and the
    largest term is exactly e^0 = 1, so the sum never underflows to 0.
    """
    m = z.max(axis=1, keepdims=True)  # (B, 1)
    return z - (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))  # (B, K)


class SoftmaxCrossEntropy:
    """Mean cross-entropy of softmax(z) against integer labels, and its gradient p −
    y."""

    def forward(self, z: np.ndarray, labels: np.ndarray) -> float:
        """L = −(1/B) Σ_b log p_{b, y_b} for logits z (B, K) and labels (B,) in 0..K−1
        (nats)."""
        log_p = log_softmax(z)  # (B, K)
        self.p = np.exp(log_p)  # (B, K): each row sums to 1
        self.labels = labels
        return float(-log_p[np.arange(len(labels)), labels].mean())

    def backward(self) -> np.ndarray:
        """dL/dz = (p − onehot(y)) / B, (B, K): the whole softmax-and-log chain in one
        line."""
        grad = self.p.copy()  # (B, K)
        grad[np.arange(len(self.labels)), self.labels] -= 1.0
        return grad / len(self.labels)

    # --8<-- [end:softmax]


__all__ = [
    "ACTIVATIONS",
    "INITS",
    "Dense",
    "Dropout",
    "Layer",
    "ReLU",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "Tanh",
    "init_weights",
    "log_softmax",
]
